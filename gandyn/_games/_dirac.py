"""The Dirac-GAN of Mescheder, Geiger & Nowozin 2018 (arXiv 1801.04406), in any dimension."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key
from .._regularizers import AbstractRegularizer
from ..losses import AbstractLoss
from ._base import AbstractGAN, Players


CRITICS = ("linear", "normalized")


class DiracGAN(AbstractGAN):
    r"""The smallest GAN that shows the dynamics of the real thing.

    Real data is a point mass at `c ∈ R^d` (`real_point`, default 0); the generator is
    a point mass at θ ∈ R^d; the critic is linear, `C_ψ(x) = ψ·x`, or affine,
    `C(x) = w·x + b` with `ψ = (w, b)` when `bias=True`. With `critic="normalized"`
    it is `C(x) = x·w/‖w‖` (a unit-norm, so 1-Lipschitz, linear critic: the WGAN of
    Su Jianlin's "GAN的第三个阶段", 2019).

    `dim=1` is Mescheder et al.'s game, with scalar parameters. With the minimax SGAN
    loss and `c = 0` its field is `v = (ψσ(ψθ), −θσ(ψθ))`, with WGAN `v = (ψ, −θ)`; the
    Jacobian at the equilibrium is `[[0, a], [−a, 0]]` with `a = f'(0)`, a pure
    rotation. `dim=2` is Su's 2-D Dirac-GAN `D(x) = x·φ`: under the non-saturating
    loss its flow conserves `θ₁ψ₂ − θ₂ψ₁`. A bias (or `c ≠ 0`) is needed to tell SGAN
    and RSGAN apart: with a linear critic and `c = 0` the real logit is always 0.

    Parameters: `Players(generator=θ, discriminator=ψ)`, scalars for `dim=1` (ψ of
    shape `(2,)` with a bias) and vectors `(d,)` otherwise (ψ of shape `(d + 1,)` with
    a bias).
    """

    loss: AbstractLoss
    real_point: float | tuple[float, ...] = 0.0
    bias: bool = eqx.field(static=True, default=False)
    regularizers: tuple[AbstractRegularizer, ...] = ()
    dim: int = eqx.field(static=True, default=1)
    critic: str = eqx.field(static=True, default="linear")
    shared_forward: ClassVar[bool] = False

    def __check_init__(self):
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")
        if self.critic not in CRITICS:
            raise ValueError(f"unknown critic {self.critic!r}; choose from: {', '.join(CRITICS)}")
        if isinstance(self.real_point, tuple) and len(self.real_point) != self.dim:
            raise ValueError(f"real_point has {len(self.real_point)} coordinates, but dim is "
                             f"{self.dim}")

    @property
    def center(self) -> jax.Array:
        """The real point `c`: a scalar for `dim=1`, else a `(d,)` vector."""
        c = jnp.asarray(self.real_point, dtype=float)
        return c if self.dim == 1 else jnp.broadcast_to(c, (self.dim,))

    def init(self, key: Key | None = None) -> Players:
        del key
        return self.state(jnp.ones(self._shape()), jnp.ones(self._shape()))

    def coordinates(self) -> tuple[str, ...]:
        """`θ, ψ (, b)` for `dim=1`; `θ1…θd, ψ1…ψd (, b)` otherwise."""
        if self.dim == 1:
            return ("θ", "ψ", "b") if self.bias else ("θ", "ψ")
        names = [f"θ{i + 1}" for i in range(self.dim)] + [f"ψ{i + 1}" for i in range(self.dim)]
        return tuple(names + (["b"] if self.bias else []))

    def plane(self) -> tuple[int, int] | None:
        """`(θ, ψ)` for `dim=1`, the bias held at the equilibrium's; for `dim > 1` the
        leading eigenplane."""
        return (0, 1) if self.dim == 1 else None

    def _shape(self) -> tuple[int, ...]:
        return () if self.dim == 1 else (self.dim,)

    def state(self, theta, psi, b=0.0) -> Players:
        """`Players` from numbers: θ, ψ (and the bias `b` when the critic has one); for
        `dim > 1` θ and ψ are `(..., d)` arrays and `b` broadcasts against `(...)`."""
        theta = jnp.asarray(theta, dtype=float)
        psi = jnp.asarray(psi, dtype=float)
        if self.bias:
            batch = psi.shape if self.dim == 1 else psi.shape[:-1]
            b = jnp.broadcast_to(jnp.asarray(b, dtype=float), batch)
            psi = jnp.concatenate([jnp.atleast_1d(psi) if self.dim > 1 else psi[..., None],
                                   b[..., None]], axis=-1)
        return Players(theta, psi)

    def real_samples(self, key: Key):
        del key
        return jnp.reshape(self.center, (1,) + self._shape())

    def generate(self, generator, key: Key):
        del key
        return jnp.reshape(generator, (1,) + self._shape())

    def _weights(self, discriminator):
        """`(w, b)` of the critic; `w` normalized for the normalized critic."""
        if self.dim == 1:
            w, b = (discriminator[0], discriminator[1]) if self.bias else (discriminator, 0.0)
        else:
            w, b = (discriminator[:-1], discriminator[-1]) if self.bias else (discriminator, 0.0)
        if self.critic == "normalized":
            # √(‖w‖² + ε²): the direction, defined (and differentiable) at w = 0.
            w = w / jnp.sqrt(jnp.sum(w**2) + 1e-12)
        return w, b

    def discriminate(self, discriminator, samples):
        w, b = self._weights(discriminator)
        if self.dim == 1:
            return w * jnp.reshape(samples, (samples.shape[0],)) + b
        return jnp.reshape(samples, (samples.shape[0], self.dim)) @ w + b

    def field(self, players: Players, key: Key | None = None) -> Players:
        r"""The joint field `v = (−∇_θ L_G, −∇_ψ L_D)`. With a linear critic and no
        regularizers it is taken by hand through the critic: with logits `r = w·c + b`,
        `f = w·θ + b` and the loss's slopes `∂L/∂r`, `∂L/∂f`,

            v_θ = −(∂L_G/∂f) w,    v_w = −(∂L_D/∂r) c − (∂L_D/∂f) θ,
            v_b = −(∂L_D/∂r) − (∂L_D/∂f),

        the same numbers as automatic differentiation of the losses (to rounding), but
        each logit and its sigmoid computed once for both players, and the real term
        dropped where `c = 0` is known when the game is built (its slope would be
        multiplied by zero at every step: XLA keeps `0·x`, which is NaN for x = ∞)."""
        if self.regularizers or self.critic != "linear" or self.loss.uses_samples:
            return super().field(players, key)
        theta, psi = players.generator, players.discriminator
        w, b = self._weights(psi)
        real_logits = self.discriminate(psi, self.real_samples(key))
        fake_logits = self.discriminate(psi, self.generate(theta, key))
        slope_g = jax.grad(self.loss.generator, argnums=1)(real_logits, fake_logits)[0]
        slope_dr, slope_df = jax.grad(self.loss.discriminator, argnums=(0, 1))(
            real_logits, fake_logits
        )
        slope_dr, slope_df = slope_dr[0], slope_df[0]
        v_theta = -(slope_g * w)
        v_w = -(slope_df * theta)
        if not _is_static_zero(self.real_point):
            v_w = v_w - slope_dr * self.center
        if not self.bias:
            return Players(v_theta, v_w)
        v_b = -(slope_dr + slope_df)
        if self.dim == 1:
            return Players(v_theta, jnp.stack([v_w, v_b]))
        return Players(v_theta, jnp.concatenate([v_w, v_b[None]]))

    def equilibrium(self) -> Players | None:
        """θ = c, w = 0 and, with a bias, the critic's best constant output b*:
        `∂L_D/∂b = 0` at `r = f = b` (0 for most losses, ½ for LSGAN's 0/1 targets).
        `None` for the normalized critic, whose direction at θ = c is arbitrary."""
        if self.critic == "normalized":
            return None
        b = optimal_constant_logit(self.loss) if self.bias else 0.0
        return self.state(self.center, jnp.zeros(self._shape()), b)


def _is_static_zero(point) -> bool:
    """Whether the real point is 0 as a Python number (known when tracing)."""
    values = point if isinstance(point, tuple) else (point,)
    return all(isinstance(x, (int, float)) and x == 0 for x in values)


def optimal_constant_logit(loss: AbstractLoss) -> jax.Array:
    """The critic's best constant output b* where real and fake agree: `∂L_D/∂b = 0`
    at `r = f = b`, by Newton's method (0 for most losses, ½ for LSGAN's 0/1 targets;
    0 for losses flat in b, such as WGAN and the relativistic ones)."""
    one = jnp.ones((1,))
    # Real and fake samples at one point (for losses that see the samples, GAN-QP).
    same = {"real": jnp.zeros((1, 1)), "fake": jnp.zeros((1, 1))} if loss.uses_samples else {}
    slope = jax.grad(lambda b: loss.discriminator(b * one, b * one, **same))
    curvature = jax.grad(slope)

    def newton(b, _):
        c = curvature(b)
        return jnp.where(c > 0, b - slope(b) / jnp.where(c > 0, c, 1.0), b), None

    b, _ = jax.lax.scan(newton, jnp.asarray(0.0, dtype=float), None, length=20)
    return b

"""The Dirac-GAN of Mescheder, Geiger & Nowozin 2018 (arXiv 1801.04406)."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key
from .._regularizers import AbstractRegularizer
from ..losses import AbstractLoss
from ._base import AbstractGame, Players


class DiracGAN(AbstractGame):
    r"""The smallest GAN that shows the dynamics of the real thing.

    Real data is a point mass at `c` (`real_point`, default 0); the generator is a
    point mass at θ; the discriminator is linear, `C_ψ(x) = ψ·x`, or affine,
    `C(x) = w·x + b` with `ψ = (w, b)` when `bias=True`. The unique equilibrium is
    θ = c, ψ = 0 (for the affine critic, `w = 0` and `b` the loss's best constant
    output, see `equilibrium`).

    With the minimax SGAN loss and `c = 0` the field is `v = (ψσ(ψθ), −θσ(ψθ))`, with
    WGAN `v = (ψ, −θ)`; the Jacobian at the equilibrium is `[[0, a], [−a, 0]]` with
    `a = f'(0)`, a pure rotation. A bias (or `c ≠ 0`) is needed to tell SGAN and RSGAN
    apart: with a linear critic and `c = 0` the real logit is always 0.

    Parameters are scalars: `Players(generator=θ, discriminator=ψ)`, with `ψ` of
    shape `(2,)` when `bias=True`.
    """

    loss: AbstractLoss
    real_point: float = 0.0
    bias: bool = eqx.field(static=True, default=False)
    regularizers: tuple[AbstractRegularizer, ...] = ()
    shared_forward: ClassVar[bool] = False

    def init(self, key: Key | None = None) -> Players:
        del key
        return self.state(1.0, 1.0)

    def state(self, theta, psi, b=0.0) -> Players:
        """`Players` from numbers: θ, ψ (and the bias `b` when the critic has one)."""
        theta = jnp.asarray(theta, dtype=float)
        psi = jnp.asarray(psi, dtype=float)
        if self.bias:
            psi = jnp.stack([psi, jnp.broadcast_to(jnp.asarray(b, dtype=float), psi.shape)], axis=-1)
        return Players(theta, psi)

    def real_samples(self, key: Key):
        del key
        return jnp.full((1,), self.real_point, dtype=float)

    def generate(self, generator, key: Key):
        del key
        return jnp.reshape(generator, (1,))

    def discriminate(self, discriminator, samples):
        samples = jnp.reshape(samples, (samples.shape[0],))
        if self.bias:
            return discriminator[0] * samples + discriminator[1]
        return discriminator * samples

    def equilibrium(self) -> Players:
        """θ = c, w = 0 and, with a bias, the critic's best constant output b*:
        `∂L_D/∂b = 0` at `r = f = b` (0 for most losses, ½ for LSGAN's 0/1 targets)."""
        return self.state(self.real_point, 0.0, self._optimal_bias() if self.bias else 0.0)

    def _optimal_bias(self):
        one = jnp.ones((1,))
        slope = jax.grad(lambda b: self.loss.discriminator(b * one, b * one))
        curvature = jax.grad(slope)

        def newton(b, _):
            c = curvature(b)
            # Losses flat in b (WGAN, relativistic ones) have every b optimal: keep 0.
            return jnp.where(c > 0, b - slope(b) / jnp.where(c > 0, c, 1.0), b), None

        b, _ = jax.lax.scan(newton, jnp.asarray(0.0, dtype=float), None, length=20)
        return b

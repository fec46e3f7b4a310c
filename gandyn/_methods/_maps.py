"""Discrete training rules: the maps that real optimizers are."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax import lax

from .._games import Players
from ._base import AbstractStepMethod
from ._flows import Flow


def _axpy(a, x, y):
    """`a·x + y` over PyTrees."""
    return jax.tree_util.tree_map(lambda xi, yi: a * xi + yi, x, y)


def SimultaneousGD() -> Flow:
    """Simultaneous gradient descent, `y' = y + h·v(y)`: explicit Euler on the flow."""
    return Flow(diffrax.Euler())


class Extragradient(AbstractStepMethod):
    r"""Extragradient (Korpelevich 1976): look ahead, then step with the look-ahead field.

    y½ = y + h v(y),      y' = y + h v(y½).

    On `dy/dt = Jy` its amplification is `|1 + z + z²|` (z = hλ): it contracts a pure
    rotation when `0 < h|λ| < 1`. Both evaluations see the same minibatch.
    """

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        look_ahead = _axpy(h, game.field(y, key), y)
        return _axpy(h, game.field(look_ahead, key), y), state


class OptimisticGD(AbstractStepMethod):
    r"""Optimistic gradient descent (Daskalakis et al. 2018, arXiv 1711.00141).

    y_{n+1} = y_n + 2h v(y_n) − h v(y_{n−1}),

    with `v(y_{−1}) = v(y_0)`, so the first step is a plain gradient step. One field
    evaluation per step; converges on a pure rotation for small `h`.
    """

    def init(self, game, y0, h, key):
        return game.field(y0, key)

    def step(self, game, y, previous_field, t, h, key):
        v = game.field(y, key)
        y_new = _axpy(2 * h, v, _axpy(-h, previous_field, y))
        return y_new, v


class Optax(AbstractStepMethod):
    r"""Each player trained by an optax optimizer on its own loss.

    The optimizers are given with unit learning rate, e.g. `optax.adam(1.0, b1=0.5)`;
    the step `h` of `simulate` (times `generator_scale` or `discriminator_scale`, for
    two time-scale updates, TTUR) is the learning rate. Every stock optax optimizer ends
    in a multiplication by its learning rate, so `Optax(optax.adam(1.0))` with step `h`
    is exactly `optax.adam(h)`. `optax.sgd(1.0)` gives gradient descent.

    `alternating=False` updates both players from the same state and minibatch
    (simultaneous);
    `alternating=True` updates one player, then the other from the new state, with
    `discriminator_steps` discriminator updates per generator update, the generator
    first when `generator_first` (Mescheder et al. 2018's convention) and otherwise
    last (WGAN's `n_critic` convention). Each discriminator step draws a fresh
    minibatch.
    """

    generator: optax.GradientTransformation = eqx.field(static=True)
    discriminator: optax.GradientTransformation | None = eqx.field(static=True, default=None)
    alternating: bool = eqx.field(static=True, default=False)
    discriminator_steps: int = eqx.field(static=True, default=1)
    generator_first: bool = eqx.field(static=True, default=True)
    generator_scale: float = 1.0
    discriminator_scale: float = 1.0

    def __check_init__(self):
        if self.discriminator_steps < 1:
            raise ValueError(
                f"discriminator_steps must be a positive integer, got {self.discriminator_steps}"
            )
        if not self.alternating and self.discriminator_steps != 1:
            raise ValueError("discriminator_steps > 1 needs alternating=True")

    @property
    def _discriminator(self) -> optax.GradientTransformation:
        return self.generator if self.discriminator is None else self.discriminator

    def init(self, game, y0, h, key):
        return self.generator.init(y0.generator), self._discriminator.init(y0.discriminator)

    def _update_generator(self, game, y, opt_state, h, key, field=None):
        # optax descends a gradient; the player's gradient is minus its field.
        field = game.generator_field(y, key) if field is None else field
        grad = jax.tree_util.tree_map(jnp.negative, field)
        updates, opt_state = self.generator.update(grad, opt_state, y.generator)
        theta = _axpy(h * self.generator_scale, updates, y.generator)
        return Players(theta, y.discriminator), opt_state

    def _update_discriminator(self, game, y, opt_state, h, key, field=None):
        field = game.discriminator_field(y, key) if field is None else field
        grad = jax.tree_util.tree_map(jnp.negative, field)
        updates, opt_state = self._discriminator.update(grad, opt_state, y.discriminator)
        psi = _axpy(h * self.discriminator_scale, updates, y.discriminator)
        return Players(y.generator, psi), opt_state

    def step(self, game, y, state, t, h, key):
        g_state, d_state = state
        g_key, d_key = jax.random.split(key)
        if not self.alternating:
            # Both players see one minibatch: the joint field, one forward pass.
            v = game.field(y, key)
            y_g, g_state = self._update_generator(game, y, g_state, h, key, v.generator)
            y_d, d_state = self._update_discriminator(game, y, d_state, h, key, v.discriminator)
            return Players(y_g.generator, y_d.discriminator), (g_state, d_state)

        def discriminator_step(i, carry):
            y, d_state = carry
            return self._update_discriminator(game, y, d_state, h, jax.random.fold_in(d_key, i))

        def discriminator_steps(y, d_state):
            return lax.fori_loop(0, self.discriminator_steps, discriminator_step, (y, d_state))

        if self.generator_first:
            y, g_state = self._update_generator(game, y, g_state, h, g_key)
            y, d_state = discriminator_steps(y, d_state)
        else:
            y, d_state = discriminator_steps(y, d_state)
            y, g_state = self._update_generator(game, y, g_state, h, g_key)
        return y, (g_state, d_state)


# One shared instance: optax transformations hold fresh closures, and a method's static
# fields are part of the jit cache key, so a new `optax.sgd(1.0)` per call would recompile.
UNIT_SGD = optax.sgd(1.0)


def AlternatingGD(discriminator_steps: int = 1, generator_first: bool = True) -> Optax:
    """Alternating gradient descent: `θ' = θ + h v_θ(θ, ψ)`, then
    `ψ' = ψ + h v_ψ(θ', ψ)` (repeated `discriminator_steps` times).

    The semi-implicit (symplectic) Euler method of the partitioned flow; on the bilinear
    WGAN Dirac-GAN its update matrix has determinant 1, so iterates cycle on a closed
    curve instead of spiralling out.
    """
    return Optax(
        UNIT_SGD,
        alternating=True,
        discriminator_steps=discriminator_steps,
        generator_first=generator_first,
    )

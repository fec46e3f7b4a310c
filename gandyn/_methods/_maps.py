"""Discrete training rules: the maps that real optimizers are."""

from collections.abc import Callable

import diffrax
import equinox as eqx
import numpy as np
import jax
import jax.numpy as jnp
import optax
from jax import lax

from .._games import Players
from ._base import AbstractStepMethod, AbstractWrapper
from ._flows import Flow


def _axpy(a, x, y):
    """`a·x + y` over PyTrees (optax's `tree_add_scale`)."""
    return optax.tree_utils.tree_add_scale(y, a, x)


def _state_is_floating(optimizer: optax.GradientTransformation) -> bool:
    """Whether an optax optimizer's state is all floating point (moments, previous
    gradients) or flags: then one step is a smooth map of `(y, state)` and its Jacobian
    (`step_matrix`) describes it; a step counter (Adam's) makes it depend on time."""
    state = jax.eval_shape(lambda: optimizer.init(jnp.zeros(())))
    return all(jnp.issubdtype(x.dtype, jnp.inexact) or x.dtype == jnp.bool_
               for x in jax.tree_util.tree_leaves(state))


def SimultaneousGD() -> Flow:
    """Simultaneous gradient descent, `y' = y + h·v(y)`: explicit Euler on the flow."""
    return Flow(diffrax.Euler())


class Extragradient(AbstractStepMethod):
    r"""Extragradient (Korpelevich 1976): look ahead, then step with the look-ahead field.

    y½ = y + h v(y),      y' = y + h v(y½).

    On `dy/dt = Jy` its amplification is `|1 + z + z²|` (z = hλ): it contracts a pure
    rotation when `0 < h|λ| < 1`. Both evaluations see the same minibatch.
    """

    def evaluations(self):
        return 2

    def stability_function(self):
        return lambda z: np.abs(1 + np.asarray(z) + np.asarray(z) ** 2)

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        look_ahead = _axpy(h, game.field(y, key), y)
        return _axpy(h, game.field(look_ahead, key), y), state


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
    stability: Callable[[np.ndarray], np.ndarray] | None = eqx.field(static=True, default=None)
    linear: bool | None = eqx.field(static=True, default=None)

    def evaluations(self):
        # Alternating updates evaluate one player's gradient at a time: ½ each.
        return 1 if not self.alternating else (1 + self.discriminator_steps) / 2

    def stability_function(self):
        return self.stability

    def linear_analysis(self) -> bool:
        """`linear` if given; else whether the optimizer's state is all floating point
        (moments, previous gradients, flags): step counters (Adam's) make the update
        depend on time, and a step matrix would not describe it."""
        if self.linear is not None:
            return self.linear
        return all(_state_is_floating(t) for t in (self.generator, self._discriminator))

    def turns(self):
        if not self.alternating:
            return None
        moves = (("generator", 1), ("discriminator", self.discriminator_steps))
        return moves if self.generator_first else moves[::-1]

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


# Shared instances: optax transformations hold fresh closures, and a method's static
# fields are part of the jit cache key, so a new `optax.sgd(1.0)` per call would recompile.
UNIT_SGD = optax.sgd(1.0)
UNIT_OPTIMISTIC = optax.optimistic_gradient_descent(1.0)


def optimistic_stability(z):
    """The larger root modulus of `ξ² − (1 + 2z)ξ + z = 0`: optimistic GD on y' = λy."""
    z = np.asarray(z, dtype=complex)
    disc = np.sqrt((1 + 2 * z) ** 2 - 4 * z)
    return np.maximum(np.abs((1 + 2 * z + disc) / 2), np.abs((1 + 2 * z - disc) / 2))


def OptimisticGD() -> Optax:
    r"""Optimistic gradient descent (Daskalakis et al. 2018, arXiv 1711.00141), as
    optax's `optimistic_gradient_descent`:

        y_{n+1} = y_n + 2h v(y_n) − h v(y_{n−1}),

    the first step a plain gradient step. One field evaluation per step; converges on a
    pure rotation for small `h` (growth: the roots of `ξ² − (1 + 2z)ξ + z`)."""
    return Optax(UNIT_OPTIMISTIC, stability=optimistic_stability, linear=True)


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
        linear=True,
    )


class Averaged(AbstractWrapper):
    r"""Iterate averaging around any step method (Yazıcı et al. 2019, arXiv 1806.04498;
    the "weight moving average" of Su Jianlin's "GAN的第三个阶段", 2019).

    The wrapped method runs unchanged on the raw iterates y_n, kept in this method's
    state; what `simulate` follows, saves and reports is their average

        exponential (`decay = β`):  ȳ_{n+1} = β ȳ_n + (1 − β) y_{n+1},   ȳ_0 = y_0,
        uniform (`decay=None`):     ȳ_n = (y_0 + … + y_n) / (n + 1).

    On a pure rotation the raw iterates of a cycling method (alternating GD) stay on
    their orbit, while the uniform average converges to its centre like 1/n. Run the
    wrapped method alone to see the raw trajectory beside the averaged one. The
    average has no step-matrix analysis: it converges by cancellation, not contraction.
    """

    method: AbstractStepMethod
    decay: float | None = 0.999

    def __check_init__(self):
        if self.decay is not None and not 0 <= self.decay < 1:
            raise ValueError(f"decay must be in [0, 1) (or None for a uniform average), got {self.decay}")

    def linear_analysis(self) -> bool:
        return False

    def init(self, game, y0, h, key):
        return self._init_with_copy(game, y0, h, key)

    def step(self, game, y, state, t, h, key):
        inner, raw, count = state
        raw, inner = self.method.step(game, raw, inner, t, h, key)
        raw = game.project(raw)
        weight = 1 / (count + 2).astype(h.dtype) if self.decay is None else 1 - self.decay
        average = jax.tree_util.tree_map(lambda a, r: a + weight * (r - a), y, raw)
        return average, (inner, raw, count + 1)


class Frozen(AbstractWrapper):
    r"""Any step method with one player held fixed: after each step the frozen
    player's parameters are put back (its step size is 0), so the other player alone
    follows its field. `player="generator"` trains the discriminator against a fixed
    generator: the way to reach the optimal discriminator of a loss and check it
    against theory (e.g. `T* = log p/q` for SGAN)."""

    method: AbstractStepMethod
    player: str = eqx.field(static=True, default="generator")

    def __check_init__(self):
        if self.player not in ("generator", "discriminator"):
            raise ValueError(f"player must be 'generator' or 'discriminator', got {self.player!r}")

    def linear_analysis(self) -> bool:
        return self.method.linear_analysis()

    def init(self, game, y0, h, key):
        return self.method.init(game, y0, h, key)

    def step(self, game, y, state, t, h, key):
        y1, state = self.method.step(game, y, state, t, h, key)
        if self.player == "generator":
            return Players(y.generator, y1.discriminator), state
        return Players(y1.generator, y.discriminator), state

"""ODE-GAN's colab, exactly: regularizer penalties added once per step, explicitly.

The colab of Qin et al. 2020 (arXiv 2010.15040; `deepmind-research/ode_gan/
odegan_mog16.ipynb`) integrates each player's *unregularized* flow with the other
frozen, then adds `Δt·λ·∇ψ(−‖∇θ L_G‖²)` to the discriminator, evaluated at the start
of the step. `ExplicitPenalties` wraps any step method that way; `ColabEulerHeun` is
the colab's "euler_heun" tableau (first order, not Heun's method).
"""

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from diffrax import ButcherTableau, LocalLinearInterpolation

from .._games import AbstractGame, Players
from .._regularizers import AbstractRegularizer
from ._base import AbstractStepMethod, AbstractWrapper

_colab_euler_heun_tableau = ButcherTableau(
    a_lower=(np.array([0.5]),),
    b_sol=np.array([0.5, 0.5]),
    b_error=np.zeros(2),
    c=np.array([0.5]),
)


class ColabEulerHeun(diffrax.AbstractERK):
    r"""The ODE-GAN colab's `euler_heun_step`, as a diffrax solver:

    k₁ = f(y), k₂ = f(y + h k₁/2), y' = y + h (k₁ + k₂)/2.

    Its name says Heun, but Heun's method takes `k₂ = f(y + h k₁)`. With `c₂ = ½` the
    weights `b = (½, ½)` satisfy the first-order condition `Σb = 1` and miss the
    second, `Σ b c = ½` (here ¼): the method is first order. On `y' = −y` one step
    multiplies by `1 − h + h²/4` (Heun: `1 − h + h²/2`). On a rotation, `z = iy`,
    `|1 + z + z²/4|² = 1 + y²/2 + y⁴/16`: it expands at half Euler's rate `1 + y²` to
    leading order, where Heun expands only as `1 + y⁴/4`.
    """

    tableau: ClassVar[ButcherTableau] = _colab_euler_heun_tableau
    interpolation_cls: ClassVar[Callable[..., LocalLinearInterpolation]] = LocalLinearInterpolation

    def order(self, terms):
        return 1


def _overrides(regularizer: AbstractRegularizer, hook: str) -> bool:
    return getattr(type(regularizer), hook) is not getattr(AbstractRegularizer, hook)


def _without_regularizers(game: AbstractGame) -> AbstractGame:
    regularizers = getattr(game, "regularizers", ())
    if not regularizers:
        return game
    return eqx.tree_at(lambda g: g.regularizers, game, ())


def penalty_losses(game: AbstractGame, players: Players, key, *, step_minibatch: bool = False
                   ) -> tuple[jax.Array, jax.Array]:
    """`(P_G, P_D)`: the sum of the regularizers' generator and discriminator penalties
    at `players` on the minibatch of `key`, i.e. `losses − loss_terms` of a GAN,
    with the same samples and per-regularizer keys as `AbstractGAN.losses`.

    With `step_minibatch=True` every regularizer gets `key` itself instead of a key
    folded from it, so that a penalty that redraws a minibatch from its key
    (`GeneratorGradientPenalty`'s `‖∇_θ L_G‖²`) sees the step's own one, as the colab's
    does (`AbstractGAN.losses` hands it an independent one)."""
    regularizers = getattr(game, "regularizers", ())
    zero = jnp.zeros(())
    if not regularizers:
        return zero, zero
    key = jax.random.key(0) if key is None else key
    real, fake = game.samples(players, key)
    penalty_key = jax.random.fold_in(key, 1)  # as AbstractGAN.losses derives it
    generator_penalty, discriminator_penalty = zero, zero
    for i, regularizer in enumerate(regularizers):
        k = key if step_minibatch else jax.random.fold_in(penalty_key, i)
        generator_penalty += regularizer.generator_penalty(game, players, real, fake, k)
        discriminator_penalty += regularizer.discriminator_penalty(game, players, real, fake, k)
    return generator_penalty, discriminator_penalty


def penalty_field(game: AbstractGame, players: Players, key, *, step_minibatch: bool = False
                  ) -> Players:
    r"""`(−∇_θ P_G, −∇_ψ P_D)`: the part of the game's field its penalties add."""
    regularizers = getattr(game, "regularizers", ())
    with_generator = any(_overrides(r, "generator_penalty") for r in regularizers)

    def generator(theta):
        return penalty_losses(game, Players(theta, players.discriminator), key,
                              step_minibatch=step_minibatch)[0]

    def discriminator(psi):
        return penalty_losses(game, Players(players.generator, psi), key,
                              step_minibatch=step_minibatch)[1]

    neg = lambda tree: jax.tree_util.tree_map(jnp.negative, tree)  # noqa: E731
    g = (neg(jax.grad(generator)(players.generator)) if with_generator
         else jax.tree_util.tree_map(jnp.zeros_like, players.generator))
    return Players(g, neg(jax.grad(discriminator)(players.discriminator)))


class ExplicitPenalties(AbstractWrapper):
    r"""Regularizer penalties added once per step, as an explicit Euler term evaluated
    at the step's start (the placement of ODE-GAN's colab):

        y_{n+1} = Φ_h(y_n) + h·(−∇_θ P_G(y_n), −∇_ψ P_D(y_n)),

    where `Φ_h` is one step of `method` on the game *without* its regularizers and
    `P_G`, `P_D` are the penalties they add to the losses (`penalty_losses`). With the
    ODE-GAN penalty `P_D = λ‖∇_θ L_G‖²` and `method = PlayerwiseFlow(RK4())` this is
    the colab's `ode_update`, `ψ ← RK4_ψ + Δt·λ·∇ψ(−‖∇θ L_G‖²)`; a `Flow` or
    `PlayerwiseFlow` on the regularized game instead puts the penalty in every stage
    (four double-backward passes per RK4 step instead of one). All terms see the
    step's minibatch: with `step_minibatch=True` (default) the penalties get the step's
    key itself, so that `‖∇_θ L_G‖²` is taken on the very latents and data of the step,
    as in the colab (see `penalty_losses`). Regularizers that act through `perturb` or
    `adjust_field` are refused (they are not penalties); projections (`project`,
    weight clipping) still apply after the step.
    """

    method: AbstractStepMethod
    step_minibatch: bool = eqx.field(static=True, default=True, kw_only=True)

    def _check(self, game):
        for regularizer in getattr(game, "regularizers", ()):
            if _overrides(regularizer, "perturb") or regularizer.adjusts_field:
                raise ValueError(
                    f"ExplicitPenalties moves penalty terms only; {type(regularizer).__name__} "
                    "changes the samples or the field: use the wrapped method on the game directly"
                )

    def init(self, game, y0, h, key):
        self._check(game)
        return self.method.init(_without_regularizers(game), y0, h, key)

    def step(self, game, y, state, t, h, key):
        self._check(game)
        y1, state = self.method.step(_without_regularizers(game), y, state, t, h, key)
        v = penalty_field(game, y, key, step_minibatch=self.step_minibatch)
        y1 = jax.tree_util.tree_map(lambda a, b: a + h * b, y1, v)
        return y1, state

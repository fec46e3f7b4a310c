r"""Game optimisers that use the players' second derivatives: competitive gradient
descent, LookAhead, LOLA, stable opponent shaping and symplectic gradient adjustment.

Notation (Letcher et al. 2019, arXiv 1811.08469): player 1 has parameters x and loss
L₁, player 2 has y and L₂; the simultaneous gradient is `ξ = (∇ₓL₁, ∇_yL₂) = −v` and
the game's Hessian `H = ∇ξ` has the off-diagonal blocks

    H_o = [[0, D_xy L₁], [D_yx L₂, 0]],     D_xy L = ∂²L/∂x∂y.

Every second-order term is a mixed Hessian-vector product, `D_xy L·w` being the
derivative of `∇ₓL(x, y + εw)` in ε: one `jax.jvp` of a `jax.grad` (forward over
reverse), never a dense Hessian, so the methods run on neural games. The players'
parameters may be any PyTrees.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import optax

from .._games import AbstractGame, Players
from ._base import AbstractStepMethod
from ._maps import _axpy


_dot = optax.tree_utils.tree_vdot  # ⟨a, b⟩ over PyTrees


def _scale(a, tree):
    return jax.tree_util.tree_map(lambda x: a * x, tree)


class _Partials(eqx.Module):
    """The players' gradients and mixed Hessian-vector products at one point."""

    game: AbstractGame
    point: Players
    key: object

    def _loss(self, i, x, y):
        return self.game.losses(Players(x, y), self.key)[i]

    def gradients(self):
        """`(∇ₓL₁, ∇_yL₁), (∇ₓL₂, ∇_yL₂)` from one forward pass."""
        _, pullback = jax.vjp(lambda p: self.game.losses(p, self.key), self.point)
        one, zero = jnp.ones(()), jnp.zeros(())
        (g1,) = pullback((one, zero))
        (g2,) = pullback((zero, one))
        return (g1.generator, g1.discriminator), (g2.generator, g2.discriminator)

    def cross_x(self, i, w):
        """`D_xy Lᵢ·w` (in x's space) for a direction `w` in y's space."""
        x, y = self.point.generator, self.point.discriminator
        grad_x = lambda b: jax.grad(lambda a: self._loss(i, a, b))(x)  # noqa: E731
        return jax.jvp(grad_x, (y,), (w,))[1]

    def linearized_cross_x(self, i):
        """`(∇ₓLᵢ, w ↦ D_xy Lᵢ·w)`: the gradient and its derivative in y, linearised
        once (`jax.linearize`), so that repeated products reuse one forward pass."""
        x, y = self.point.generator, self.point.discriminator
        return jax.linearize(lambda b: jax.grad(lambda a: self._loss(i, a, b))(x), y)

    def linearized_cross_y(self, i):
        """`(∇_yLᵢ, u ↦ D_yx Lᵢ·u)`, linearised once."""
        x, y = self.point.generator, self.point.discriminator
        return jax.linearize(lambda a: jax.grad(lambda b: self._loss(i, a, b))(y), x)

    def cross_y(self, i, u):
        """`D_yx Lᵢ·u` (in y's space) for a direction `u` in x's space."""
        x, y = self.point.generator, self.point.discriminator
        grad_y = lambda a: jax.grad(lambda b: self._loss(i, a, b))(y)  # noqa: E731
        return jax.jvp(grad_y, (x,), (u,))[1]


def _descend(y: Players, h, direction: tuple) -> Players:
    """`y − h·d` for a descent direction `d = (dₓ, d_y)`."""
    return Players(_axpy(-h, direction[0], y.generator), _axpy(-h, direction[1], y.discriminator))


class CompetitiveGD(AbstractStepMethod):
    r"""Competitive gradient descent (Schäfer & Anandkumar 2019, arXiv 1905.12103):
    each player steps to the Nash equilibrium of the bilinear approximation of the game
    at the current point, with a quadratic penalty `1/(2h)` on its own move,

        (I + h H_o) d = ξ,      y' = y − h d,

    solved by block elimination: one matrix-free linear solve in x's space,

        (I − h² D_xy L₁ D_yx L₂) dₓ = ∇ₓL₁ − h D_xy L₁ ∇_yL₂,
        d_y = ∇_yL₂ − h D_yx L₂ dₓ,

    whose operator is applied by two Hessian-vector products. `solver` is any lineax
    iterative solver: GMRES (the default) for any game; for a zero-sum game
    (`L₂ = −L₁`) the operator is `I + h²BBᵀ`, symmetric positive definite, and
    `lineax.CG` applies (Schäfer's choice). On the bilinear game `L = xy` the step
    matrix has eigenvalues `(1 ± ih)/(1 + h²)`: contraction `1/√(1 + h²)` per step,
    for every step size."""

    solver: lx.AbstractLinearSolver = lx.GMRES(rtol=1e-6, atol=0.0, max_steps=100, restart=2)

    def __check_init__(self):
        if not isinstance(self.solver, _CGD_SOLVERS):
            raise ValueError(f"CompetitiveGD's solver must be one of lineax's "
                             f"{', '.join(c.__name__ for c in _CGD_SOLVERS)}, got "
                             f"{type(self.solver).__name__} (it needs a structure the reduced "
                             "operator does not have)")

    def evaluations(self):
        """`None`: it varies. A step costs the two players' gradients linearised (≈ 2
        evaluations), 2 Hessian-vector products and 2 per application of the reduced
        operator; the state counts the applications (`Solution.method_state`: the
        total over the run). GMRES's default restart of 2 keeps that near 4 per step
        when `h‖D_xy L‖` is small (lineax's GMRES runs at least two restarts)."""
        return None

    def init(self, game, y0, h, key):
        return jnp.zeros((), jnp.int32)

    def step(self, game, y, state, t, h, key):
        at = _Partials(game, y, key)
        # Both mixed derivatives are linearised once and applied at every iteration.
        g1x, d_xy_l1 = at.linearized_cross_x(0)
        g2y, d_yx_l2 = at.linearized_cross_y(1)
        rhs = _axpy(-h, d_xy_l1(g2y), g1x)

        def matvec(u):
            return _axpy(-(h * h), d_xy_l1(d_yx_l2(u)), u)

        tags = lx.positive_semidefinite_tag if isinstance(self.solver, lx.CG) else ()
        operator = lx.FunctionLinearOperator(matvec, jax.eval_shape(lambda: g1x), tags)
        solution = lx.linear_solve(operator, rhs, self.solver, throw=False)
        dy = _axpy(-h, d_yx_l2(solution.value), g2y)
        size = sum(x.size for x in jax.tree_util.tree_leaves(g1x))
        applied = _applications(self.solver, solution.stats.get("num_steps"), size)
        return _descend(y, h, (solution.value, dy)), state + applied.astype(state.dtype)


# The reduced operator is square, in general neither symmetric nor definite: iterative
# Krylov solvers (CG for a zero-sum game, where it is definite) and dense direct ones.
_CGD_SOLVERS = (lx.GMRES, lx.BiCGStab, lx.CG, lx.Normal, lx.LSMR, lx.LU, lx.QR, lx.SVD)


def _applications(solver, num_steps, size: int):
    """Operator applications behind lineax's `num_steps` for a solver: GMRES counts
    restarts of `min(restart, size)` applications, BiCGStab iterations of 2, CG and
    the others iterations of 1; a direct solver (no `num_steps`) builds the matrix
    from `size` applications."""
    if num_steps is None:
        return jnp.asarray(size)
    if isinstance(solver, lx.GMRES):
        return num_steps * min(solver.restart, size)
    if isinstance(solver, lx.BiCGStab):
        return 2 * num_steps
    return num_steps


class _OpponentShaping(AbstractStepMethod):
    """Shared by LookAhead, LOLA and SOS: the look-ahead rate α (`None`: the step h,
    as in Letcher et al.'s code) and the two shaping terms."""

    alpha: float | None = None

    def init(self, game, y0, h, key):
        return None

    def _rate(self, h):
        return h if self.alpha is None else jnp.asarray(self.alpha, dtype=jnp.result_type(h))

    @staticmethod
    def _terms(game, y, key):
        r"""`ξ`, `H_oξ` and `χ = (D_xy L₂ ∇_yL₁, D_yx L₁ ∇ₓL₂)`, the opponent-shaping
        term: how a player's move changes what the opponent's learning step does to
        its own loss."""
        at = _Partials(game, y, key)
        (g1x, g1y), (g2x, g2y) = at.gradients()
        xi = (g1x, g2y)
        h_o_xi = (at.cross_x(0, g2y), at.cross_y(1, g1x))
        chi = (at.cross_x(1, g1y), at.cross_y(0, g2x))
        return xi, h_o_xi, chi


class LookAheadOpponent(_OpponentShaping):
    r"""LookAhead (Zhang & Lesser 2010; Letcher et al. 2019): each player descends its
    loss at the opponent's anticipated next move, the opponent's step treated as
    fixed (no shaping), `ξ_LA = (I − αH_o)ξ`. It keeps every fixed point of the game."""

    def evaluations(self):
        return 2

    def step(self, game, y, state, t, h, key):
        xi, h_o_xi, _ = self._terms(game, y, key)
        a = self._rate(h)
        return _descend(y, h, jax.tree_util.tree_map(lambda g, s: g - a * s, xi, h_o_xi)), state


class LOLA(_OpponentShaping):
    r"""Learning with opponent-learning awareness (Foerster et al. 2018, arXiv
    1709.04326), in its first-order form: player 1 descends
    `L₁(x, y − α∇_yL₂(x, y))` differentiated through the opponent's step,

        ξ_LOLA = (I − αH_o)ξ − αχ,    χ = (D_xy L₂ ∇_yL₁, D_yx L₁ ∇ₓL₂).

    The shaping term χ need not vanish at a fixed point of the game: on the tandem game
    LOLA leaves the line of equilibria `x + y = 1` for `x + y = (1 − 2α)/(1 − 4α)`,
    where both players lose more (Letcher et al. 2019, Proposition 2)."""

    def evaluations(self):
        return 3

    def step(self, game, y, state, t, h, key):
        xi, h_o_xi, chi = self._terms(game, y, key)
        a = self._rate(h)
        direction = jax.tree_util.tree_map(lambda g, s, c: g - a * s - a * c, xi, h_o_xi, chi)
        return _descend(y, h, direction), state


class SOS(_OpponentShaping):
    r"""Stable opponent shaping (Letcher et al. 2019, arXiv 1811.08469, Algorithm 1):
    LOLA's shaping term scaled by `p ∈ [0, 1]`,

        ξ₀ = (I − αH_o)ξ,      ξ_SOS = ξ₀ − pαχ,      p = min(p₁, p₂),
        p₁ = 1 if ⟨−αχ, ξ₀⟩ ≥ 0 else min(1, −a‖ξ₀‖²/⟨−αχ, ξ₀⟩),
        p₂ = ‖ξ‖² if ‖ξ‖ < b else 1,

    so that shaping never points against LookAhead's direction (p₁) and fades near a
    fixed point (p₂), where SOS keeps the game's stable fixed points and LOLA does not.
    `a = ½`, `b = 0.1` as in the paper."""

    a: float = 0.5
    b: float = 0.1

    def evaluations(self):
        return 3

    def linear_analysis(self) -> bool:
        return False  # p switches with ‖ξ‖: not a smooth map at a fixed point

    def step(self, game, y, state, t, h, key):
        xi, h_o_xi, chi = self._terms(game, y, key)
        a = self._rate(h)
        xi_0 = jax.tree_util.tree_map(lambda g, s: g - a * s, xi, h_o_xi)
        dot = -a * _dot(chi, xi_0)
        safe = jnp.where(dot >= 0, -1.0, dot)
        p1 = jnp.where(dot >= 0, 1.0, jnp.minimum(1.0, -self.a * _dot(xi_0, xi_0) / safe))
        norm2 = _dot(xi, xi)
        p2 = jnp.where(norm2 < self.b**2, norm2, 1.0)
        p = jnp.minimum(p1, p2)
        direction = jax.tree_util.tree_map(lambda g, c: g - p * a * c, xi_0, chi)
        return _descend(y, h, direction), state


class SymplecticGradientAdjustment(AbstractStepMethod):
    r"""Symplectic gradient adjustment as a method on any game (Balduzzi et al. 2018,
    arXiv 1802.05642; Letcher et al. 2019, JMLR): descend

        ξ + λAᵀξ,     A = (H − Hᵀ)/2,     Aᵀξ = (Hᵀξ − Hξ)/2,

    with one JVP and one VJP through the field. With `align=True` the sign of λ
    follows the paper's alignment criterion, `sign(⟨ξ, Hᵀξ⟩⟨Aᵀξ, Hᵀξ⟩/d + ε)`, which
    points the adjustment towards stable fixed points and away from unstable ones
    (the regularizer `gandyn.SGA` is the fixed-sign form for GANs)."""

    lam: float = 1.0
    align: bool = eqx.field(static=True, default=True)
    epsilon: float = 0.1

    def evaluations(self):
        return 3

    def linear_analysis(self) -> bool:
        return not self.align  # the sign is piecewise constant: smooth where fixed

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        field = lambda p: game.field(p, key)  # noqa: E731
        v, pullback = jax.vjp(field, y)
        _, jv = jax.jvp(field, (y,), (v,))
        (jtv,) = pullback(v)
        # In ξ = −v terms: Hξ = Jv, Hᵀξ = Jᵀv, Aᵀξ = (Jᵀv − Jv)/2.
        a_t_xi = jax.tree_util.tree_map(lambda a, b: 0.5 * (a - b), jtv, jv)
        lam = self.lam
        if self.align:
            d = sum(x.size for x in jax.tree_util.tree_leaves(y))
            score = -_dot(v, jtv) * _dot(a_t_xi, jtv) / d + self.epsilon
            lam = lam * jnp.sign(score)
        direction = jax.tree_util.tree_map(lambda vi, s: vi - lam * s, v, a_t_xi)
        return _axpy(h, direction, y), state


__all__ = ["CompetitiveGD", "LOLA", "LookAheadOpponent", "SOS", "SymplecticGradientAdjustment"]

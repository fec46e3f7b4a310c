"""Continuous-time dynamics `dy/dt = v(y)` integrated with diffrax."""

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from diffrax import AbstractSolver, ButcherTableau, ThirdOrderHermitePolynomialInterpolation

from .._custom_types import Key, Scalar
from .._games import AbstractGame, Players
from ._base import AbstractMethod, AbstractStepMethod


_rk4_tableau = ButcherTableau(
    a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
    # Classic RK4 has no embedded lower-order method: it is for constant steps only.
    b_error=np.zeros(4),
    c=np.array([0.5, 0.5, 1.0]),
)


class RK4(diffrax.AbstractERK):
    r"""The classic fourth-order Runge–Kutta method, as a diffrax solver.

    k₁ = f(y), k₂ = f(y + h k₁/2), k₃ = f(y + h k₂/2), k₄ = f(y + h k₃),
    y' = y + h (k₁ + 2k₂ + 2k₃ + k₄)/6.

    Its stability function `1 + z + z²/2 + z³/6 + z⁴/24` has modulus below one on the
    imaginary axis for `0 < |z| < 2√2`: the reason ODE-GAN (Qin et al. 2020,
    arXiv 2010.15040) converges where gradient descent cycles out. No embedded error
    estimate: use it with constant steps.
    """

    tableau: ClassVar[ButcherTableau] = _rk4_tableau
    interpolation_cls: ClassVar[Callable[..., ThirdOrderHermitePolynomialInterpolation]] = (
        ThirdOrderHermitePolynomialInterpolation.from_k
    )

    def order(self, terms):
        return 4


def runge_kutta_stability(tableau: ButcherTableau) -> Callable[[np.ndarray], np.ndarray]:
    """`|R(z)|` with `R(z) = 1 + z bᵀ(I − zA)⁻¹𝟙` of a (diagonally implicit) Runge–Kutta
    tableau, for an array of z: one batched linear solve."""
    s = len(tableau.b_sol)
    a = np.zeros((s, s))
    for i, row in enumerate(tableau.a_lower, start=1):
        a[i, : len(row)] = row
    if tableau.a_diagonal is not None:
        a[np.diag_indices(s)] = tableau.a_diagonal
    b = np.asarray(tableau.b_sol, dtype=float)

    def stability(z):
        z = np.asarray(z, dtype=complex)
        flat = z.reshape(-1)
        systems = np.eye(s)[None] - flat[:, None, None] * a[None]
        stages = np.linalg.solve(systems, np.ones((flat.size, s, 1), dtype=complex))[..., 0]
        return np.abs(1 + flat * (stages @ b)).reshape(z.shape)

    return stability


def _solver_stability(solver: AbstractSolver) -> Callable[[np.ndarray], np.ndarray] | None:
    if isinstance(solver, diffrax.Euler):
        return lambda z: np.abs(1 + np.asarray(z, dtype=complex))
    if isinstance(solver, diffrax.ImplicitEuler):
        return lambda z: np.abs(1 / (1 - np.asarray(z, dtype=complex)))
    if isinstance(solver, diffrax.AbstractRungeKutta):
        return runge_kutta_stability(solver.tableau)
    return None


def _solver_stages(solver: AbstractSolver) -> int | None:
    if isinstance(solver, diffrax.Euler):
        return 1
    if isinstance(solver, diffrax.AbstractERK):
        return len(solver.tableau.b_sol)
    return None  # implicit: a nonlinear solve per step


def vector_field_term(game: AbstractGame) -> diffrax.ODETerm:
    """`dy/dt = v(y)`, with the minibatch key passed as diffrax's `args`."""
    return diffrax.ODETerm(lambda t, y, key: game.field(y, key))


def explicit_tableau(
    solver: AbstractSolver,
) -> tuple[tuple[tuple[float, ...], ...], tuple[float, ...]] | None:
    """`(a, b)` of a fixed-step explicit Runge–Kutta solver (rows `a_i` of the strictly
    lower triangle, weights `b`) as Python floats, or `None` for anything else:
    implicit solvers, and FSAL tableaus, whose diffrax state carries the last stage
    into the next step."""
    if type(solver) is diffrax.Euler:
        return (), (1.0,)
    if isinstance(solver, diffrax.AbstractERK) and isinstance(solver.tableau, ButcherTableau):
        tableau = solver.tableau
        if tableau.fsal:
            return None
        a = tuple(tuple(float(x) for x in row) for row in tableau.a_lower)
        return a, tuple(float(x) for x in tableau.b_sol)
    return None


def _combine(y0, h, coefficients, fs):
    """`y0 + h Σⱼ cⱼ fⱼ` over PyTrees, skipping zero coefficients (unit ones are not
    multiplied), so that XLA sees only the arithmetic the tableau asks for."""
    terms = [(c, f) for c, f in zip(coefficients, fs) if c != 0.0]
    if not terms:
        return y0

    def leaf(y, *parts):
        total = None
        for (c, _), part in zip(terms, parts):
            part = part if c == 1.0 else c * part
            total = part if total is None else total + part
        return y + h * total

    return jax.tree_util.tree_map(leaf, y0, *(f for _, f in terms))


def erk_step(field: Callable, y0, h, tableau) -> object:
    r"""One step of an explicit Runge–Kutta method on `dy/dt = field(y)` (autonomous),
    with its stages unrolled at trace time:

        fᵢ = field(y₀ + h Σⱼ<ᵢ aᵢⱼ fⱼ),    y₁ = y₀ + h Σᵢ bᵢ fᵢ.

    `tableau = (a, b)` as given by `explicit_tableau`. The same numbers as diffrax's
    generic step to rounding, at the cost of the stages alone: diffrax runs them in a
    `while` loop over stacked stage buffers, which XLA cannot fuse across."""
    a, b = tableau
    fs = [field(y0)]
    for row in a:
        fs.append(field(_combine(y0, h, row, fs)))
    return _combine(y0, h, b, fs)


class Flow(AbstractStepMethod):
    """A diffrax solver taking constant steps `h`: `Flow(diffrax.Euler())` is
    simultaneous gradient descent, `Flow(RK4())` is ODE-GAN's integrator,
    `Flow(diffrax.ImplicitEuler())` the proximal-point method.

    Explicit Runge–Kutta solvers without FSAL (Euler, Heun, Midpoint, Ralston, RK4, …)
    step through `erk_step`, at the cost of their stages; the others (implicit, FSAL)
    through diffrax's `solver.step`. `reference=True` sends every solver through
    diffrax: the reference the fast path is tested against.

    Every stage of a step sees the same minibatch (the step's `key`).
    """

    solver: AbstractSolver
    reference: bool = eqx.field(static=True, default=False, kw_only=True)

    def evaluations(self):
        return _solver_stages(self.solver)

    def stability_function(self):
        return _solver_stability(self.solver)

    def _tableau(self):
        return None if self.reference else explicit_tableau(self.solver)

    def init(self, game, y0, h, key):
        if self._tableau() is not None:
            return None
        return self.solver.init(vector_field_term(game), 0.0, h, y0, key)

    def step(self, game, y, state, t, h, key):
        tableau = self._tableau()
        if tableau is not None:
            return erk_step(lambda x: game.field(x, key), y, h, tableau), state
        # The field is autonomous, so every step runs over [0, h]: diffrax takes the step
        # size as t1 − t0, and with t = n·h that difference loses precision as n grows
        # (a relative error of ~1e-3 at t = 100 in float32).
        zero = jnp.zeros_like(h)
        y1, _, _, state, _ = self.solver.step(
            vector_field_term(game), zero, h, y, key, state, made_jump=False
        )
        return y1, state


class AdaptiveFlow(AbstractMethod):
    """The flow `dy/dt = v(y)` solved to a tolerance with adaptive steps
    (`diffrax.PIDController`); the step `h` given to `simulate` is the first step's
    size and the spacing of the saved times. Use it to see the continuous dynamics
    themselves; the minibatch is fixed for the whole solve (one key)."""

    solver: AbstractSolver = diffrax.Tsit5()
    rtol: float = 1e-6
    atol: float = 1e-8
    max_steps: int = eqx.field(static=True, default=1_000_000)

    def __check_init__(self):
        if isinstance(self.solver, RK4):
            raise ValueError("RK4 has no error estimate; use Flow(RK4()) for constant steps")

    def solve(
        self, game: AbstractGame, y0: Players, ts: jax.Array, h: Scalar, key: Key
    ) -> diffrax.Solution:
        """The diffrax solution saved at `ts` (never throws: failures are results)."""
        return diffrax.diffeqsolve(
            vector_field_term(game),
            self.solver,
            t0=ts[0],
            t1=ts[-1],
            dt0=h,
            y0=y0,
            args=key,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=self.rtol, atol=self.atol),
            max_steps=self.max_steps,
            throw=False,
        )


class PlayerwiseFlow(AbstractStepMethod):
    """ODE-GAN's integration (Qin et al. 2020, arXiv 2010.15040): each player takes one
    step of `solver` on its own flow with the other player frozen at the step's start,
    `dθ/dt = v_θ(θ, ψ_n)` and `dψ/dt = v_ψ(θ_n, ψ)`, on one minibatch for every stage.
    With a joint `Flow` the stages see both players move together; this is the
    variant of the paper's colab."""

    solver: AbstractSolver

    def evaluations(self):
        return _solver_stages(self.solver)

    def init(self, game, y0, h, key):
        return None

    def _player_step(self, field, x, h, key):
        tableau = explicit_tableau(self.solver)
        if tableau is not None:
            return erk_step(lambda x: field(x, key), x, h, tableau)
        term = diffrax.ODETerm(lambda t, x, key: field(x, key))
        zero = jnp.zeros_like(h)
        state = self.solver.init(term, zero, h, x, key)
        x1, _, _, _, _ = self.solver.step(term, zero, h, x, key, state, made_jump=False)
        return x1

    def step(self, game, y, state, t, h, key):
        theta = self._player_step(
            lambda th, k: game.generator_field(Players(th, y.discriminator), k), y.generator, h, key
        )
        psi = self._player_step(
            lambda ps, k: game.discriminator_field(Players(y.generator, ps), k), y.discriminator, h, key
        )
        return Players(theta, psi), state

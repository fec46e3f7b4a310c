r"""Modified equations (backward error analysis) of any step method, by automatic
differentiation of its step map in `h`.

A step method is a map `y ↦ Φ_h(y) = y + h d₁(y) + h² d₂(y) + h³ d₃(y) + …` (Taylor
coefficients in `h` at fixed `y`). Its *modified field* is the formal series

    f̃_h = F₀ + h F₁ + h² F₂ + …

whose exact flow over time `h` equals `Φ_h` order by order in `h`; truncated after
`h^k F_k` its flow follows the iterates with global error `O(h^{k+1})` over a fixed
time `T = n·h` (Hairer, Lubich & Wanner, *Geometric Numerical Integration*, IX.1).
Writing the flow of `f̃_h` over time `h` as `exp(h L_{f̃}) id`, with the Lie derivative
`L_a φ = φ' a`, and matching the powers of `h` gives the recursion

    F_k = d_{k+1} − Σ_{j≥2} (1/j!) Σ_{i₁+…+i_j = k+1−j} L_{F_{i₁}} ⋯ L_{F_{i_j}} id,

so `F₀ = d₁`, `F₁ = d₂ − ½ F₀'F₀`, `F₂ = d₃ − ½(F₁'F₀ + F₀'F₁) − ⅙(F₀''(F₀, F₀) +
F₀'F₀'F₀)`. Every `d_j` is a derivative of the method's own `step` in `h` (nested
`jax.jvp`), every Lie derivative a `jax.jvp` in `y`: nothing is written per method.
For simultaneous GD (`Φ_h = y + hv`) this is `v − (h/2) J v + …`, Rosca et al.'s
discretization drift (arXiv 2105.13922); Barrett & Dherin (arXiv 2009.11162) for one
player.
"""

import functools
import math
from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._custom_types import Key
from ._games import AbstractGame, Players
from ._methods import RK4, AbstractStepMethod
from ._methods._flows import erk_step, explicit_tableau
from ._regularizers import AbstractRegularizer

WORKING = ("SimultaneousGD", "AlternatingGD", "Extragradient", "OptimisticGD",
           "ExtrapolationFromThePast", "NegativeMomentum", "Optax(sgd, momentum)", "Flow",
           "PlayerwiseFlow", "HamiltonianGD", "Frozen")
"""Methods `modified_field` handles, for error messages (any stateless or
floating-state step method works; these are the stock ones)."""


def _derivative(g: Callable) -> Callable:
    """`h ↦ g'(h)` by one forward-mode product."""
    return lambda h: jax.jvp(g, (h,), (jnp.ones_like(h),))[1]


def taylor_coefficient(step: Callable, x: jax.Array, j: int) -> jax.Array:
    """`d_j(x) = (1/j!) ∂ʲ_h Φ_h(x)` at `h = 0`, the j-th Taylor coefficient in `h` of a
    flat map `step(x, h)`, by `j` nested `jax.jvp` in `h`."""
    g = lambda h: step(x, h)  # noqa: E731
    for _ in range(j):
        g = _derivative(g)
    return g(jnp.zeros((), x.dtype)) / math.factorial(j)


def _compositions(total: int, parts: int):
    """All tuples of `parts` integers ≥ 0 summing to `total`."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


def _lie(terms: list[Callable], sequence: tuple[int, ...]) -> Callable:
    """`x ↦ (L_{F_{i₁}} ⋯ L_{F_{i_j}} id)(x)` with `L_a φ = φ' a` (a `jax.jvp`)."""
    inner = terms[sequence[-1]]
    for i in reversed(sequence[:-1]):
        def lie(x, phi=inner, a=terms[i]):
            return jax.jvp(phi, (x,), (a(x),))[1]
        inner = lie
    return inner


def modified_terms(step: Callable, order: int) -> list[Callable]:
    """`[F₀, …, F_order]`, the modified field's terms of a flat map `step(x, h)`, each a
    function of the flat state `x` (see the module's docstring for the recursion)."""
    terms: list[Callable] = []
    for k in range(order + 1):
        def term(x, k=k, lower=tuple(terms)):
            out = taylor_coefficient(step, x, k + 1)
            for j in range(2, k + 2):
                for sequence in _compositions(k + 1 - j, j):
                    out = out - _lie(list(lower), sequence)(x) / math.factorial(j)
            return out
        terms.append(term)
    return terms


def _refuse(method, why: str) -> ValueError:
    return ValueError(f"modified_field cannot handle {type(method).__name__}: {why}; it works "
                      f"for {', '.join(WORKING)}")


def _flat_step(game: AbstractGame, method: AbstractStepMethod, like: Players, key: Key,
               iterations: int) -> tuple[Callable, Callable]:
    r"""`(step(x, h), unravel)`: the method's map on the flat parameters `x`, near `like`.

    A method with floating-point state `s` (momentum, the previous field of optimistic
    GD and extrapolation from the past) has the map `(y, s) ↦ (Y(y, s, h), S(y, s,
    h))`; its state is taken on the slow invariant manifold `s = σ_h(y)`, the state the
    iterates settle to (the parasitic part decays as the powers of `P = ∂S/∂s` at
    `h = 0`, which must have spectral radius < 1 and is taken at `like`, constant: the
    state's update must be affine in the state at `h = 0` with a constant slope, as
    every stock method's is). There the method is the one-step
    map `y ↦ Y(y, σ_h(y), h)` (its "underlying one-step method", Hairer, Lubich &
    Wanner XV.2). `σ₀` solves `s = S(y, s, 0)` by one Newton step; each iteration

        σ ← σ + (I − P)⁻¹ [S(y, σ(y), h) − σ(Y(y, σ(y), h))]

    gains one order in `h`, and `iterations` of them make the map exact to
    `O(h^{iterations+2})`. Boolean flags (optax's `is_initial_step`) are held at their
    value after one step: the steady regime, not the first step."""
    x0, unravel = ravel_pytree(like)
    zero = jnp.zeros((), x0.dtype)
    state = method.init(game, like, zero, key)
    leaves, treedef = jax.tree_util.tree_flatten(state)
    for leaf in leaves:
        dtype = jnp.asarray(leaf).dtype
        if not (jnp.issubdtype(dtype, jnp.inexact) or dtype == jnp.bool_):
            raise _refuse(method, f"its state holds {dtype} values (a step counter makes "
                                  "the map depend on time)")
    floating = [jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact) for leaf in leaves]

    def raw(x, state, h):
        y1, state1 = method.step(game, unravel(x), state, zero, h, key)
        return ravel_pytree(y1)[0], state1

    # Flags take their steady values, those after one step (its size does not matter).
    steady = jax.tree_util.tree_leaves(raw(x0, state, zero)[1]) if leaves else []
    s_flat0, unravel_s = ravel_pytree([leaf for leaf, f in zip(leaves, floating) if f])

    def assemble(s_flat):
        floats = iter(unravel_s(s_flat))
        return jax.tree_util.tree_unflatten(
            treedef, [next(floats) if f else flag for f, flag in zip(floating, steady)])

    def split(state):
        leaves = jax.tree_util.tree_leaves(state)
        return ravel_pytree([leaf for leaf, f in zip(leaves, floating) if f])[0]

    if not any(floating):
        return (lambda x, h: raw(x, assemble(s_flat0), h)[0]), unravel

    def full(x, s_flat, h):
        y1, state1 = raw(x, assemble(s_flat), h)
        return y1, split(state1)

    # The state's slope `P = ∂S/∂s` at h = 0, taken once at the evaluation point and
    # held constant (exact for momentum, optimistic GD, extrapolation from the past,
    # whose slopes are βI or 0 everywhere), so no Jacobian enters the nested products.
    p = jax.jacfwd(lambda s: full(x0, s, zero)[1])(s_flat0)
    relax = jax.lax.stop_gradient(jnp.linalg.inv(jnp.eye(s_flat0.size, dtype=p.dtype) - p))

    def sigma(x, h):
        return s_flat0 + relax @ (full(x, s_flat0, zero)[1] - s_flat0)

    for _ in range(iterations):
        def sigma(x, h, previous=sigma):
            s = previous(x, h)
            y1, s1 = full(x, s, h)
            return s + relax @ (s1 - previous(y1, h))

    return (lambda x, h: full(x, sigma(x, h), h)[0]), unravel


def has_modified_field(method) -> bool:
    """Whether the command line offers `modified:NAME` for `method`: a step method with
    a fixed number of field evaluations per step (an explicit map, smooth in `h`: no
    iterative solve such as implicit Euler's or LSS's GMRES, whose derivatives in `h`
    break down) whose state (on a one-parameter-per-player game) holds floating-point
    arrays and flags only. Remembered per method (equal methods, one answer): the
    registry asks it of every name it checks, hundreds of times for the explorer's list."""
    try:
        return _has_modified_field(method)
    except TypeError:  # a method that cannot be hashed (an array field): found each time
        return _has_modified_field.__wrapped__(method)


@functools.lru_cache(maxsize=1024)
def _has_modified_field(method) -> bool:
    if not isinstance(method, AbstractStepMethod) or method.evaluations() is None:
        return False
    from ._games import CustomGame

    game = CustomGame(lambda x, y: x * y, lambda x, y: -x * y, 0.0, 0.0)
    try:
        state = jax.eval_shape(lambda: method.init(game, game.init(), jnp.ones(()),
                                                   jax.random.key(0)))
    except Exception:  # noqa: BLE001 - a method that needs more of a game (a GAN's parts)
        return False
    return all(jnp.issubdtype(leaf.dtype, jnp.inexact) or leaf.dtype == jnp.bool_
               for leaf in jax.tree_util.tree_leaves(state))


class ModifiedField(eqx.Module):
    r"""The modified field `f̃_h = F₀ + hF₁ + … + h^k F_k` of a step method on a game, a
    function of the game's state (`Players` in, `Players` out): build it with
    `modified_field`. `terms(y)` gives `(F₀, …, F_k)` at `y` separately."""

    game: AbstractGame
    method: AbstractStepMethod
    h: jax.Array
    order: int = eqx.field(static=True)
    key: Key

    def _flat_terms(self, y: Players) -> tuple[list[Callable], Callable, jax.Array]:
        step, unravel = _flat_step(self.game, self.method, y, self.key, self.order)
        return modified_terms(step, self.order), unravel, ravel_pytree(y)[0]

    @eqx.filter_jit
    def terms(self, y: Players) -> tuple[Players, ...]:
        """`(F₀(y), …, F_k(y))`, independent of `h`."""
        terms, unravel, x = self._flat_terms(y)
        return tuple(unravel(term(x)) for term in terms)

    @eqx.filter_jit
    def __call__(self, y: Players) -> Players:
        terms, unravel, x = self._flat_terms(y)
        total = terms[0](x)
        for i, term in enumerate(terms[1:], start=1):
            total = total + self.h**i * term(x)
        return unravel(total)


def modified_field(game: AbstractGame, method: AbstractStepMethod, h, order: int = 1, *,
                   key: Key | None = None) -> ModifiedField:
    r"""The modified field of `method` with step `h` on `game`, to order `order`:

        f̃_h = F₀ + h F₁ + … + h^order F_order,

    the truncated formal series whose flow `dy/dt = f̃_h(y)` follows the method's
    iterates `y_n` at `t = n·h` with global error `O(h^{order+1})` over a fixed time.
    `order=0` is `F₀ = d₁`, the field the method discretises (the game's field for
    gradient descent; `v/(1 − β)` for heavy-ball momentum β). Computed from the
    method's own `step` by automatic differentiation in `h` and Lie derivatives in `y`
    (module docstring), so it works for any step method whose state is floating point:
    simultaneous and alternating GD (per-player rates and turns included),
    extragradient, optimistic GD and extrapolation from the past (state on its slow
    manifold, see `_flat_step`), momentum, Runge–Kutta flows. Steps with integer
    state (Adam's counter, averaging and lookahead) depend on time and are refused.

    On simultaneous GD `F₁ = −½ J v`: Rosca et al.'s drift (arXiv 2105.13922); with
    per-player rates (`Optax(..., generator_scale=α, discriminator_scale=λ)`) the
    drift is in the joint time `t = n·h` (see `drift_penalties` for theirs, in each
    player's own time). For momentum and optimistic methods the flow follows iterates
    whose state is on the slow manifold; from an optimizer's zero state the first
    steps add a transient that decays like the powers of `∂S/∂s` (β for momentum). A
    game's projection after each step (weight clipping) is not part of the map here.
    Every field evaluation sees the minibatch of `key` (default `jax.random.key(0)`).
    The cost grows quickly with the order (nested forward-mode products); orders ≤ 3
    are meant for small games.
    """
    if not isinstance(method, AbstractStepMethod):
        raise _refuse(method, "it has no step map (it solves the flow itself)")
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer ≥ 0, got {order!r}")
    key = jax.random.key(0) if key is None else key
    return ModifiedField(game, method, jnp.asarray(h, dtype=float), order, key)


_TIMES = ("rosca", "joint")


@jax.custom_jvp
def _held_dot(a: jax.Array, b: jax.Array) -> jax.Array:
    """`a · sg(b)` held to first order: the derivative of `a · b` sees `a` alone, but
    the derivative of that derivative sees `b` (a `lax.stop_gradient` would hide `b`
    from every order, so the Jacobian of a field with the penalty would be wrong)."""
    return jnp.vdot(a, b)


@_held_dot.defjvp
def _held_dot_jvp(primals, tangents):
    (a, b), (da, _) = primals, tangents
    return jnp.vdot(a, b), jnp.vdot(da, b)


def drift_penalties(game: AbstractGame, players: Players, h, *, alternating: bool = False,
                    generator_first: bool = True, rates=(1.0, 1.0), time: str = "rosca",
                    key: Key | None = None, terms: tuple[str, ...] | None = None
                    ) -> dict[str, jax.Array]:
    r"""Rosca et al.'s decomposition of the first-order drift of gradient descent
    (arXiv 2105.13922, Theorems 3.1–3.2 and their code's `get_dd_coeffs`) into
    penalties each player's loss implicitly carries: with rates `α_i h` and the other
    player `j`,

        self_i        = (α_i h/4) ‖∇_i L_i‖²,
        interaction_i = c_i (r_i h/2) ∇_j L_i · sg(∇_j L_j),

    so that player i follows `−α_i ∇_i (L_i + self_i + interaction_i)` (`sg`: held
    constant in that gradient, to first order only, so that the Jacobian of the
    drifted field is right; differentiate each player's two terms by its own
    parameters only).
    `c_i = 1` for simultaneous GD and for the first mover of alternating GD; for the
    second mover `c_i = −(2α_j/α_i − 1)` (`time="rosca"`) and `r_i = α_i`: Rosca et
    al. expand each player's flow over its own time `α_i h`. `time="joint"` expands
    both over the common time `t = n·h` of one flow, as `modified_field` does: then
    `r_i = α_j`, and the second mover's `c_i = −1`; its penalties' gradients add up to
    `h·F₁` exactly. The two agree when `α_1 = α_2`. Keys: `"generator self"`,
    `"generator interaction"`, `"discriminator self"`, `"discriminator interaction"`
    (generator = player 1, φ; discriminator = player 2); `terms`: those keys alone
    (default: all four). Uses `game.losses`; a game
    whose field is adjusted (consensus, SGA) is not described by them."""
    if time not in _TIMES:
        raise ValueError(f"time must be one of {', '.join(_TIMES)}, got {time!r}")
    rate = {"generator": rates[0], "discriminator": rates[1]}
    other = {"generator": "discriminator", "discriminator": "generator"}
    first = "generator" if generator_first else "discriminator"
    index = {"generator": 0, "discriminator": 1}

    def grad(loss_of: str, wrt: str):
        def loss(part):
            y = eqx.tree_at(lambda p: getattr(p, wrt), players, part)
            return game.losses(y, key)[index[loss_of]]
        return jax.grad(loss)(getattr(players, wrt))

    def dot(a, b):
        return sum(jnp.vdot(u, w) for u, w in zip(jax.tree_util.tree_leaves(a),
                                                   jax.tree_util.tree_leaves(b)))

    def held_dot(a, b):
        return _held_dot(ravel_pytree(a)[0], ravel_pytree(b)[0])

    out = {}
    for player in ("generator", "discriminator"):
        j = other[player]
        own, theirs = rate[player], rate[j]
        second = alternating and player != first
        if time == "rosca":
            c, r = (-(2 * theirs / own - 1) if second else 1.0), own
        else:
            c, r = (-1.0 if second else 1.0), theirs
        if terms is None or f"{player} self" in terms:
            mine = grad(player, player)
            out[f"{player} self"] = own * h / 4 * dot(mine, mine)
        if terms is None or f"{player} interaction" in terms:
            out[f"{player} interaction"] = c * r * h / 2 * held_dot(grad(player, j),
                                                                     grad(j, j))
    return out


class ModifiedFlow(AbstractStepMethod):
    r"""The modified flow of a step method, as a method: each step of size `h`
    integrates `dy/dt = f̃_h(y)`, the method's modified field to order `order`
    (`modified_field`), over time `h`, so `n` steps reach `t = n·h` and save where the
    method's own iterates are saved: map, plain flow (`order=0`) and modified flows
    side by side. The command line's `-m modified:NAME --opt order=k`.

    The solve is fixed-step: `substeps` steps of the diffrax solver `solver` (classic
    RK4, whose error over a fixed time is `O((h/substeps)⁴)`, far below the
    `O(h^{k+1})` by which the flow and the map part for `k ≤ 2`) per step of `h`. Every
    field evaluation of a step sees that step's minibatch; `key` is the step's. A step
    method whose state is not floating point (Adam's step counter) has no modified
    field and is refused when the first step is traced."""

    method: AbstractStepMethod
    order: int = eqx.field(static=True, default=1)
    substeps: int = eqx.field(static=True, default=4)
    solver: diffrax.AbstractSolver = RK4()

    def __check_init__(self):
        if not isinstance(self.method, AbstractStepMethod):
            raise _refuse(self.method, "it has no step map (it solves the flow itself)")
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 0:
            raise ValueError(f"order must be an integer ≥ 0, got {self.order!r}")
        if isinstance(self.substeps, bool) or not isinstance(self.substeps, int) \
                or self.substeps < 1:
            raise ValueError(f"substeps must be a positive integer, got {self.substeps!r}")
        if explicit_tableau(self.solver) is None:
            raise ValueError("ModifiedFlow takes an explicit Runge–Kutta solver without "
                             f"FSAL (Euler, Heun, Midpoint, RK4), got {self.solver!r}")

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        field = modified_field(game, self.method, h, self.order, key=key)
        tableau = explicit_tableau(self.solver)
        dt = h / self.substeps
        y1 = jax.lax.fori_loop(0, self.substeps,
                               lambda _, x: erk_step(field, x, dt, tableau), y)
        return y1, state

    def flow_eigenvalues(self, game, y, h, key=None):
        """The eigenvalues `λ̃` of the modified field's Jacobian at `y`: the map's growth
        per step near a fixed point is `|exp(hλ̃)|` to `O(h^{order+2})`."""
        field = modified_field(game, self.method, h, self.order, key=key)
        x, unravel = ravel_pytree(y)
        jacobian = jax.jacfwd(lambda z: ravel_pytree(field(unravel(z)))[0])(x)
        return np.linalg.eigvals(np.asarray(jacobian))


_PARTS = ("self", "interaction")


class DriftPenalty(AbstractRegularizer):
    r"""A part of gradient descent's first-order drift as an explicit penalty (Rosca et
    al., arXiv 2105.13922, Sec. 6; their code's `dd_coeffs_multiplier`): adds `c` times
    each player's `self_i` (`part="self"`) or `interaction_i` (`part="interaction"`)
    of `drift_penalties` at step `h` (Rosca et al.'s time) to that player's loss, with
    `c` the regularizer's `weight`:

        L_i + c·self_i,    self_i = (h/4)‖∇_i L_i‖²,
        L_i + c·interaction_i,    interaction_i = c_i (h/2) ∇_j L_i · sg(∇_j L_j).

    The map at step `h` follows `−∇_i(L_i + (1 + c)·part_i + other part_i)` to `O(h²)`:
    `c = −1` cancels that part (their "DD − IT" for the interaction terms), `c = 1`
    doubles it, `c = 0` leaves the implicit drift alone. `h` must be the run's step
    and `alternating`/`generator_first` its method's (simultaneous GD by default). The
    terms use the game's loss with every other regularizer's penalty but no
    `DriftPenalty`'s, on a minibatch drawn with the penalty's own key (the same as the
    step's for a deterministic game such as the Dirac-GAN)."""

    weight: float
    part: str = eqx.field(static=True, default="interaction")
    h: float = 0.1
    alternating: bool = eqx.field(static=True, default=False)
    generator_first: bool = eqx.field(static=True, default=True)
    signed: ClassVar[bool] = True

    def __check_init__(self):
        if self.part not in _PARTS:
            raise ValueError(f"part must be one of {', '.join(_PARTS)}, got {self.part!r}")

    def _term(self, game, players, key, player: str):
        others = tuple(r for r in game.regularizers if not isinstance(r, DriftPenalty))
        plain = eqx.tree_at(lambda g: g.regularizers, game, others)
        name = f"{player} {self.part}"
        terms = drift_penalties(plain, players, self.h, alternating=self.alternating,
                                generator_first=self.generator_first, key=key, terms=(name,))
        return self.weight * terms[name]

    def generator_penalty(self, game, players, real, fake, key):
        return self._term(game, players, key, "generator")

    def discriminator_penalty(self, game, players, real, fake, key):
        return self._term(game, players, key, "discriminator")

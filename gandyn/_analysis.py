r"""Local analysis of a game and of a method at a point: why training converges or not.

Near an equilibrium y*, `dy/dt = v(y)` behaves like `dy/dt = J(y − y*)` with
`J = ∂v/∂y`. A one-step method maps an eigenvalue λ of J to the amplification
`|R(hλ)|` of its stability function `R`: the iterates contract iff every `|R(hλ)| < 1`.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree

from ._custom_types import Key
from ._eigs import arnoldi, ritz, ritz_values
from ._games import AbstractGame, Players
from ._methods import AbstractMethod, AbstractStepMethod
from ._program_cache import arrays, kept


def _flat_field(game: AbstractGame, y: Players, key: Key | None):
    flat, unravel = ravel_pytree(y)
    return flat, lambda f: ravel_pytree(game.field(unravel(f), key))[0]


def jacobian(game: AbstractGame, y: Players, key: Key | None = None) -> jax.Array:
    """The dense Jacobian `J = ∂v/∂y` of the game's field at `y` (forward mode), over
    the flattened parameters (order of `jax.flatten_util.ravel_pytree`). Compiled once
    per game structure (op by op it took a tenth of a second for a 2 × 2 `J`)."""
    return _jacobian(game, y, key)


def _jacobian_program(game, y, key):
    flat, field = _flat_field(game, y, key)
    return jax.jacfwd(field)(flat)


_jacobian = kept(_jacobian_program, arrays(1))  # a later run loads it, untraced


def eigenvalues(game: AbstractGame, y: Players, key: Key | None = None) -> np.ndarray:
    """All eigenvalues of `J` at `y`, sorted by decreasing real part."""
    eig = np.linalg.eigvals(np.asarray(jacobian(game, y, key), dtype=float))
    return eig[np.lexsort((-eig.imag, -eig.real))]


def hamiltonian(game: AbstractGame, y: Players, key: Key | None = None) -> float:
    """The game's Hamiltonian `ℋ(y) = ½‖v(y)‖²` (Balduzzi et al. 2018): zero at the
    stationary points; Hamiltonian GD descends it, `∇ℋ = Jᵀv`."""
    flat, field = _flat_field(game, y, key)
    return float(0.5 * jnp.sum(field(flat) ** 2))


def jacobian_split(game: AbstractGame, y: Players, key: Key | None = None) -> dict:
    r"""The Jacobian's potential and Hamiltonian parts (Letcher et al. 2019, arXiv
    1811.08469, Section 2): `J = S + A` with

        S = (J + Jᵀ)/2   (symmetric: a gradient field's; real eigenvalues),
        A = (J − Jᵀ)/2   (antisymmetric: a rotation's; imaginary eigenvalues ±iσ),

    a potential game having `A = 0` and a Hamiltonian game (bilinear zero-sum)
    `S = 0`. Returns the two matrices, `S`'s eigenvalues (ascending, real), `A`'s
    eigenvalues' imaginary parts (descending) and the rotation share
    `‖A‖²_F/‖J‖²_F ∈ [0, 1]` (`‖J‖² = ‖S‖² + ‖A‖²`: the parts are orthogonal). Dense:
    for games up to a few thousand parameters."""
    jac = np.asarray(jacobian(game, y, key), dtype=float)
    symmetric, antisymmetric = (jac + jac.T) / 2, (jac - jac.T) / 2
    total = float(np.sum(jac**2))
    return {
        "symmetric": symmetric,
        "antisymmetric": antisymmetric,
        "symmetric_eigenvalues": np.linalg.eigvalsh(symmetric),
        "antisymmetric_eigenvalues": np.sort(np.linalg.eigvals(antisymmetric).imag)[::-1],
        "rotation_share": float(np.sum(antisymmetric**2)) / total if total else 0.0,
    }


def find_equilibrium(
    game: AbstractGame, y0: Players, key: Key | None = None, *, rtol=1e-10, atol=1e-10,
    max_steps: int = 256,
) -> Players:
    """A zero of the field near `y0`: `v(y*) = 0`, by Newton's method (optimistix).

    Raises `ValueError` where Newton's method does not converge from `y0`."""
    flat, field = _flat_field(game, y0, key)
    _, unravel = ravel_pytree(y0)
    sol = optx.root_find(
        lambda f, _: field(f), optx.Newton(rtol=rtol, atol=atol), flat, max_steps=max_steps,
        throw=False,
    )
    if sol.result != optx.RESULTS.successful:
        raise ValueError(f"no equilibrium found from the given start: {sol.result}")
    return unravel(sol.value)


_WHICH = {"real": "LR", "magnitude": "LM"}  # this module's words → `_eigs.order`'s


def top_eigenvalues(
    game: AbstractGame, y: Players, k: int = 6, *, which: str = "real",
    krylov: int | None = None, key: Key | None = None, seed: int = 0,
) -> np.ndarray:
    """The `k` eigenvalues of `J` of largest real part (`which="real"`) or magnitude
    (`which="magnitude"`), matrix-free: `m` Arnoldi steps on Jacobian-vector products
    (never forming J), then the Ritz values of the Hessenberg matrix (`_eigs`).

    `krylov` is `m` (default `max(3k, 40)`, at most the dimension); a larger `m`
    resolves clustered spectra better. Exact when `m` equals the dimension."""
    if which not in ("real", "magnitude"):
        raise ValueError(f"which must be 'real' or 'magnitude', got {which!r}")
    _, hessenberg, m = _krylov(game, y, k, krylov, key, seed)
    return ritz_values(hessenberg, m, k, _WHICH[which])


def top_eigenvectors(
    game: AbstractGame, y: Players, k: int = 6, *, which: str = "magnitude",
    krylov: int | None = None, key: Key | None = None, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(λ, X, r)`: the `k` leading eigenvalues of `J` (as `top_eigenvalues`), their
    Ritz vectors `X[:, i] = V_m s_i` (unit norm, complex; `H_m s_i = λ_i s_i` on the
    Arnoldi basis `V_m`) and residuals `r_i = ‖J x_i − λ_i x_i‖ = h_{m+1,m}|s_i[m]|`,
    matrix-free. A small `r_i / |λ_i|` says the pair has converged."""
    if which not in ("real", "magnitude"):
        raise ValueError(f"which must be 'real' or 'magnitude', got {which!r}")
    basis, hessenberg, m = _krylov(game, y, k, krylov, key, seed)
    return ritz(basis, hessenberg, m, k, _WHICH[which])


def _krylov(game, y, k, krylov, key, seed, *, with_field: bool = False):
    """`(V, H, m)`: `m` Arnoldi steps on `J` at `y` from a seeded random start (and the
    field `v(y)`, computed on the way, with `with_field`)."""
    flat = ravel_pytree(y)[0]
    m = min(flat.size, krylov or max(3 * k, 40))
    q0 = jax.random.normal(jax.random.key(seed), (flat.size,), flat.dtype)
    basis, hessenberg, value = _game_arnoldi(game, y, key, q0 / jnp.linalg.norm(q0), m)
    return (basis, hessenberg, m, value) if with_field else (basis, hessenberg, m)


def _game_arnoldi_program(game, y, key, q0, m):
    """Arnoldi on `u ↦ J u` at `y`, compiled once per game structure and `m` (a fresh
    `matvec` closure would recompile each call); `jax.linearize` evaluates the field
    once, every step then costs one tangent pass."""
    flat, field = _flat_field(game, y, key)
    value, matvec = jax.linearize(field, flat)
    return *arnoldi(matvec, q0, m), value


_game_arnoldi = kept(_game_arnoldi_program, arrays(3))


# --------------------------------------------------------------------------------------
# Methods: stability functions and one-step maps


def stability_function(method: AbstractMethod) -> Callable[[np.ndarray], np.ndarray]:
    r"""The growth per step `ρ(z)` of `method` on `dy/dt = λy`, `z = hλ`, as a NumPy
    function (`< 1` contracts), as the method declares it: `|R(z)|` for Runge–Kutta
    flows (`R(z) = 1 + z bᵀ(I − zA)⁻¹𝟙`: Euler `1 + z`, RK4 up to `z⁴/24`, implicit
    Euler `1/(1 − z)`), `|1 + z + z²|` for extragradient, the largest root modulus of
    `ξ² − (1 + 2z)ξ + z` for optimistic GD.

    Raises `ValueError` for a method without one (alternating GD and stateful optax
    optimizers act on the players separately): use `step_matrix` on the game."""
    rho = method.stability_function()
    if rho is None:
        raise ValueError(f"{type(method).__name__} has no scalar stability function; use step_matrix")
    return rho


def step_matrix(
    game: AbstractGame, method: AbstractStepMethod, y: Players, h: float, key: Key | None = None
) -> jax.Array:
    """The Jacobian of one step of `method` at a fixed point `y`, on `(y, state)` for a
    method with state (optimistic GD's previous gradient, momentum), with the state at
    its value at the fixed point (one step from `y` after `init`) and any non-float
    state (flags) held fixed. Its spectral radius is the local contraction per step."""
    key = jax.random.key(0) if key is None else key
    if not method.linear_analysis():
        raise ValueError(f"{type(method).__name__} has no local linear analysis (its update "
                         "depends on a step counter or a nonlinear state)")
    with _breakdown_named(type(method).__name__, game):
        return _step_matrix(game, method, y, jnp.asarray(h, dtype=ravel_pytree(y)[0].dtype), key)


class _breakdown_named:
    """Turns a runtime error raised inside a compiled step (a second-order method's
    linear solve breaking down on a singular game, `eqx.error_if`) into a one-line
    `ValueError` naming the method and the game."""

    def __init__(self, method: str, game: AbstractGame):
        self.method, self.game = method, game

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is not None and issubclass(kind, _Breakdown):  # named again, by the outer name
            reason = error.reason
        elif kind is not None and issubclass(kind, eqx.EquinoxRuntimeError):
            marker = "EquinoxRuntimeError: "
            lines = [line.split(marker, 1)[1] for line in str(error).splitlines() if marker in line]
            reason = (lines[-1] if lines else str(error).strip().splitlines()[-1]).strip()[:200]
        else:
            return False
        raise _Breakdown(f"method {self.method!r} cannot be linearised on game "
                         f"{type(self.game).__name__} at this point: {reason}", reason) from None


class _Breakdown(ValueError):
    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def _step_matrix_program(game, method, y, h, key):
    zero = jnp.zeros_like(h)
    _, state = method.step(game, y, method.init(game, y, h, key), zero, h, key)
    moving, fixed = eqx.partition(state, eqx.is_inexact_array)
    flat, unravel = ravel_pytree((y, moving))

    def one_step(f):
        yi, si = unravel(f)
        y1, s1 = method.step(game, yi, eqx.combine(si, fixed), zero, h, key)
        return ravel_pytree((game.project(y1), eqx.filter(s1, eqx.is_inexact_array)))[0]

    # Reverse mode: diffrax runs Runge–Kutta stages in a loop with a custom VJP.
    return jax.jacrev(one_step)(flat)


_step_matrix = kept(_step_matrix_program, arrays(1))


def spectral_radius(matrix) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=float)))))


def amplification(
    game: AbstractGame, method: AbstractStepMethod, y: Players, h: float, key: Key | None = None
) -> float:
    """Local contraction per step of `method` with step `h` near `y`: from the
    stability function on the spectrum of `J` where the method has one, else the
    spectral radius of its `step_matrix`."""
    rho = method.stability_function()
    if rho is None:
        return spectral_radius(step_matrix(game, method, y, h, key))
    return float(np.max(rho(h * eigenvalues(game, y, key))))


def amplifications(
    game: AbstractGame, method: AbstractStepMethod, y: Players, hs, key: Key | None = None
) -> np.ndarray:
    """`amplification` at every step size in `hs`, in one batched call: the step
    matrices of all of them in one compiled program (vmapped over h), their
    eigenvalues in one batched `eigvals`."""
    hs = np.asarray(hs, dtype=float)
    rho = method.stability_function()
    if rho is not None:
        return np.max(rho(hs[:, None] * eigenvalues(game, y, key)[None, :]), axis=-1)
    key = jax.random.key(0) if key is None else key
    if not method.linear_analysis():
        raise ValueError(f"{type(method).__name__} has no local linear analysis (its update "
                         "depends on a step counter or a nonlinear state)")
    dtype = ravel_pytree(y)[0].dtype
    matrices = _step_matrices(game, method, y, jnp.asarray(hs, dtype=dtype), key)
    return np.max(np.abs(np.linalg.eigvals(np.asarray(matrices, dtype=float))), axis=-1)


def _step_matrices_program(game, method, y, hs, key):
    with _breakdown_named(type(method).__name__, game):
        return jax.vmap(lambda h: _step_matrix(game, method, y, h, key))(hs)


_step_matrices = kept(_step_matrices_program, arrays(1))


def largest_stable_step(
    growth: Callable[[float], float], *, h_min: float = 1e-2, h_max: float = 1e3,
    tol: float = 1e-14, rtol: float = 1e-10, batched: bool = False,
) -> float:
    """The largest `h` such that `growth(h') ≤ 1 + tol` for every `h'` in
    `[h_min, h]`, by a geometric scan then bisection; 0 if even `h_min` is unstable,
    inf if `h_max` is stable. `growth(h)` is the contraction per step at step h (see
    `amplification`). Choose `h_min` so that `h_min·|λ|max` is about 1e-2: much
    smaller, and the leading term of `growth − 1` (e.g. `y⁴/8` for Heun on a rotation)
    is lost to rounding.

    `batched=True`: `growth` takes an array of step sizes and returns an array (see
    `amplifications`); the scan is one call, and the bracket is refined by scans of
    the same size (each narrows it 401-fold) instead of bisection: a few calls in all."""
    size = 400
    grid = np.geomspace(h_min, h_max, size)
    evaluate = growth if batched else (lambda hs: np.array([growth(h) for h in hs]))
    stable = np.asarray(evaluate(grid)) <= 1 + tol
    if not stable[0]:
        return 0.0
    if stable.all():
        return float("inf")
    first_bad = int(np.argmin(stable))
    lo, hi = grid[first_bad - 1], grid[first_bad]
    while hi - lo > rtol * hi:
        if batched:
            inner = np.linspace(lo, hi, size + 2)[1:-1]
            ok = np.asarray(growth(inner)) <= 1 + tol
            k = int(np.argmin(ok)) if not ok.all() else size
            lo, hi = (inner[k - 1] if k > 0 else lo), (inner[k] if k < size else hi)
            continue
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if growth(mid) <= 1 + tol else (lo, mid)
    return float(lo)


def stable_step_for_spectrum(method: AbstractStepMethod, eigs: np.ndarray, **kwargs) -> float:
    """`largest_stable_step` for a method with a stability function, on the
    eigenvalues `eigs` of J."""
    rho = stability_function(method)
    eigs = np.asarray(eigs)
    scale = float(np.max(np.abs(eigs)))
    if scale == 0:
        return float("inf")
    kwargs = {"h_min": 1e-2 / scale, "h_max": 1e3 / scale, **kwargs}
    return largest_stable_step(lambda hs: np.max(rho(hs[:, None] * eigs[None, :]), axis=-1),
                               batched=True, **kwargs)


def verdict(growth: float, tol: float = 1e-9) -> str:
    """`"converges"`, `"cycles"` (|growth − 1| ≤ tol) or `"diverges"`."""
    if growth < 1 - tol:
        return "converges"
    return "diverges" if growth > 1 + tol else "cycles"


def stability_report(
    game: AbstractGame, methods: dict[str, AbstractStepMethod], h: float,
    y: Players | None = None, key: Key | None = None,
) -> dict:
    """The spectrum of `J` at `y` (default: the game's equilibrium) and, per method,
    its growth per step at step `h`, the verdict and the largest stable step, and for a
    method that integrates a field of its own (a modified flow) that field's spectrum
    `flow_eigenvalues`. JSON-ready.
    """
    if y is None:
        y = game.equilibrium()
        if y is None:
            raise ValueError("the game knows no equilibrium: give a point y")
    eig = eigenvalues(game, y, key)
    split = jacobian_split(game, y, key)
    rows = {}
    for name, method in methods.items():
        if method.stability_function() is None and not method.linear_analysis():
            rows[name] = {"growth_per_step": None, "verdict": "no linear analysis",
                          "largest_stable_step": None, "unconditionally_stable": None}
            continue
        with _breakdown_named(name, game):
            growth = amplification(game, method, y, h, key)
            try:
                largest = stable_step_for_spectrum(method, eig)
            except ValueError:
                scale = float(np.max(np.abs(eig))) or 1.0
                largest = largest_stable_step(
                    lambda hs: amplifications(game, method, y, hs, key), h_min=1e-2 / scale,
                    h_max=1e3 / scale, batched=True,
                )
        rows[name] = {
            "growth_per_step": growth,
            "verdict": verdict(growth),
            "largest_stable_step": None if not np.isfinite(largest) else largest,
            "unconditionally_stable": bool(np.isinf(largest)),
        }
        flow = method.flow_eigenvalues(game, y, h, key)
        if flow is not None:  # a modified flow's spectrum: Re λ̃ > 0 where the map grows
            rows[name]["flow_eigenvalues"] = [[float(e.real), float(e.imag)] for e in flow]
    return {
        "point": [float(x) for x in ravel_pytree(y)[0]],
        "eigenvalues": [[float(e.real), float(e.imag)] for e in eig],
        "symmetric_eigenvalues": [float(e) for e in split["symmetric_eigenvalues"]],
        "antisymmetric_eigenvalues": [float(e) for e in split["antisymmetric_eigenvalues"]],
        "rotation_share": split["rotation_share"],
        "step": h,
        "methods": rows,
    }

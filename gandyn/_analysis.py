r"""Local analysis of a game and of a method at a point: why training converges or not.

Near an equilibrium y*, `dy/dt = v(y)` behaves like `dy/dt = J(y − y*)` with
`J = ∂v/∂y`. A one-step method maps an eigenvalue λ of J to the amplification
`|R(hλ)|` of its stability function `R`: the iterates contract iff every `|R(hλ)| < 1`.
"""

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree

from ._custom_types import Key
from ._games import AbstractGame, Players
from ._methods import AbstractStepMethod, Extragradient, Flow, OptimisticGD, Optax


def _flat_field(game: AbstractGame, y: Players, key: Key | None):
    flat, unravel = ravel_pytree(y)
    return flat, lambda f: ravel_pytree(game.field(unravel(f), key))[0]


def jacobian(game: AbstractGame, y: Players, key: Key | None = None) -> jax.Array:
    """The dense Jacobian `J = ∂v/∂y` of the game's field at `y` (forward mode), over
    the flattened parameters (order of `jax.flatten_util.ravel_pytree`)."""
    flat, field = _flat_field(game, y, key)
    return jax.jacfwd(field)(flat)


def eigenvalues(game: AbstractGame, y: Players, key: Key | None = None) -> np.ndarray:
    """All eigenvalues of `J` at `y`, sorted by decreasing real part."""
    eig = np.linalg.eigvals(np.asarray(jacobian(game, y, key), dtype=float))
    return eig[np.lexsort((-eig.imag, -eig.real))]


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


def top_eigenvalues(
    game: AbstractGame, y: Players, k: int = 6, *, which: str = "real",
    krylov: int | None = None, key: Key | None = None, seed: int = 0,
) -> np.ndarray:
    """The `k` eigenvalues of `J` of largest real part (`which="real"`) or magnitude
    (`which="magnitude"`), matrix-free: `m` Arnoldi steps on Jacobian-vector products
    (never forming J), then the Ritz values of the Hessenberg matrix.

    `krylov` is `m` (default `max(3k, 40)`, at most the dimension); a larger `m`
    resolves clustered spectra better. Exact when `m` equals the dimension."""
    if which not in ("real", "magnitude"):
        raise ValueError(f"which must be 'real' or 'magnitude', got {which!r}")
    flat, field = _flat_field(game, y, key)
    n = flat.size
    m = min(n, krylov or max(3 * k, 40))
    matvec = lambda u: jax.jvp(field, (flat,), (u,))[1]
    q0 = jax.random.normal(jax.random.key(seed), (n,), flat.dtype)
    hessenberg = np.asarray(_arnoldi(matvec, q0 / jnp.linalg.norm(q0), m))
    ritz = np.linalg.eigvals(hessenberg[:m, :m])
    order = np.argsort(-ritz.real if which == "real" else -np.abs(ritz), kind="stable")
    return ritz[order][:k]


@jax.jit(static_argnums=(0, 2))
def _arnoldi(matvec, q0, m):
    n = q0.size
    basis = jnp.zeros((m + 1, n), q0.dtype).at[0].set(q0)
    hess = jnp.zeros((m + 1, m), q0.dtype)

    def body(j, carry):
        basis, hess = carry
        w = matvec(basis[j])
        mask = (jnp.arange(m + 1) <= j)[:, None]
        for _ in range(2):  # classical Gram–Schmidt, twice: full reorthogonalisation
            coeffs = (basis * mask) @ w
            w = w - coeffs @ (basis * mask)
            hess = hess.at[:, j].add(coeffs)
        norm = jnp.linalg.norm(w)
        hess = hess.at[j + 1, j].set(norm)
        basis = basis.at[j + 1].set(jnp.where(norm > 1e-12, w / jnp.where(norm > 1e-12, norm, 1), 0))
        return basis, hess

    _, hess = jax.lax.fori_loop(0, m, body, (basis, hess))
    return hess


# --------------------------------------------------------------------------------------
# Methods: stability functions and one-step maps


def _rk_stability(tableau) -> Callable[[np.ndarray], np.ndarray]:
    """`R(z) = 1 + z bᵀ(I − zA)⁻¹𝟙` of a (diagonally implicit) Runge–Kutta tableau."""
    s = len(tableau.b_sol)
    a = np.zeros((s, s))
    for i, row in enumerate(tableau.a_lower, start=1):
        a[i, : len(row)] = row
    if tableau.a_diagonal is not None:
        a[np.diag_indices(s)] = tableau.a_diagonal
    b = np.asarray(tableau.b_sol, dtype=float)

    def stability(z):
        z = np.asarray(z, dtype=complex)
        eye = np.eye(s)
        solve = lambda zi: np.linalg.solve(eye - zi * a, np.ones(s))
        return 1 + z * np.vectorize(lambda zi: b @ solve(zi), otypes=[complex])(z)

    return stability


def stability_function(method: AbstractStepMethod) -> Callable[[np.ndarray], np.ndarray]:
    r"""The growth per step `ρ(z)` of `method` on `dy/dt = λy`, `z = hλ`, as a NumPy
    function: `|R(z)|` for one-step methods, the largest root modulus for multistep
    ones. `< 1` contracts.

    - Runge–Kutta flows (any diffrax RK solver, RK4): `R(z) = 1 + z bᵀ(I − zA)⁻¹𝟙`,
      so Euler `1 + z`, Heun `1 + z + z²/2`, RK4 up to `z⁴/24`; implicit Euler `1/(1 − z)`.
    - Extragradient: `1 + z + z²`.
    - Optimistic GD: the roots ξ of `ξ² − (1 + 2z)ξ + z = 0`.

    Alternating GD and optax optimizers act on the players separately (or keep
    state), so they have none: use `step_matrix` on the game instead."""
    if isinstance(method, Flow):
        solver = method.solver
        if isinstance(solver, diffrax.Euler):
            return lambda z: np.abs(1 + np.asarray(z, dtype=complex))
        if isinstance(solver, diffrax.ImplicitEuler):
            return lambda z: np.abs(1 / (1 - np.asarray(z, dtype=complex)))
        if isinstance(solver, diffrax.AbstractRungeKutta):
            r = _rk_stability(solver.tableau)
            return lambda z: np.abs(r(z))
    if isinstance(method, Extragradient):
        return lambda z: np.abs(1 + np.asarray(z) + np.asarray(z) ** 2)
    if isinstance(method, OptimisticGD):

        def optimistic(z):
            z = np.asarray(z, dtype=complex)
            disc = np.sqrt((1 + 2 * z) ** 2 - 4 * z)
            return np.maximum(np.abs((1 + 2 * z + disc) / 2), np.abs((1 + 2 * z - disc) / 2))

        return optimistic
    raise ValueError(
        f"{type(method).__name__} has no scalar stability function; use step_matrix"
    )


def step_matrix(
    game: AbstractGame, method: AbstractStepMethod, y: Players, h: float, key: Key | None = None
) -> jax.Array:
    """The Jacobian of one step of `method` at `y` (for a method with state, such as
    optimistic GD, of the map on `(y, state)`, with the state at its value at a fixed
    point). Its spectral radius is the local contraction per step near an equilibrium.
    """
    key = jax.random.key(0) if key is None else key
    if isinstance(method, Optax) and not _is_sgd_like(method):
        raise ValueError("step_matrix needs a stateless update; optax state has counters")
    return _step_matrix(game, method, y, jnp.asarray(h, dtype=ravel_pytree(y)[0].dtype), key)


@eqx.filter_jit
def _step_matrix(game, method, y, h, key):
    state = method.init(game, y, h, key)
    flat, unravel = ravel_pytree((y, state))

    def one_step(f):
        yi, si = unravel(f)
        y1, s1 = method.step(game, yi, si, jnp.zeros_like(h), h, key)
        return ravel_pytree((game.project(y1), s1))[0]

    # Reverse mode: diffrax runs Runge–Kutta stages in a loop with a custom VJP.
    return jax.jacrev(one_step)(flat)


def _is_sgd_like(method: Optax) -> bool:
    """Plain SGD (alternating GD included) keeps an empty state."""
    state = jax.eval_shape(method.init, None, Players(jnp.zeros(()), jnp.zeros(())), 1.0, None)
    return not jax.tree_util.tree_leaves(state)


def spectral_radius(matrix) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=float)))))


def amplification(
    game: AbstractGame, method: AbstractStepMethod, y: Players, h: float, key: Key | None = None
) -> float:
    """Local contraction per step of `method` with step `h` near `y`: from the
    stability function on the spectrum of `J` where the method has one, else the
    spectral radius of its `step_matrix`."""
    try:
        rho = stability_function(method)
    except ValueError:
        return spectral_radius(step_matrix(game, method, y, h, key))
    return float(np.max(rho(h * eigenvalues(game, y, key))))


def largest_stable_step(
    growth: Callable[[float], float], *, h_min: float = 1e-2, h_max: float = 1e3,
    tol: float = 1e-14, rtol: float = 1e-10,
) -> float:
    """The largest `h` such that `growth(h') ≤ 1 + tol` for every `h'` in
    `[h_min, h]`, by a geometric scan then bisection; 0 if even `h_min` is unstable,
    inf if `h_max` is stable. `growth(h)` is the contraction per step at step h (see
    `amplification`). Choose `h_min` so that `h_min·|λ|max` is about 1e-2: much
    smaller, and the leading term of `growth − 1` (e.g. `y⁴/8` for Heun on a rotation)
    is lost to rounding."""
    grid = np.geomspace(h_min, h_max, 400)
    stable = np.array([growth(h) <= 1 + tol for h in grid])
    if not stable[0]:
        return 0.0
    if stable.all():
        return float("inf")
    first_bad = int(np.argmin(stable))
    lo, hi = grid[first_bad - 1], grid[first_bad]
    while hi - lo > rtol * hi:
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
    return largest_stable_step(lambda h: float(np.max(rho(h * eigs))), **kwargs)


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
    its growth per step at step `h`, the verdict and the largest stable step. JSON-ready.
    """
    if y is None:
        y = game.equilibrium()
        if y is None:
            raise ValueError("the game knows no equilibrium: give a point y")
    eig = eigenvalues(game, y, key)
    rows = {}
    for name, method in methods.items():
        growth = amplification(game, method, y, h, key)
        try:
            largest = stable_step_for_spectrum(method, eig)
        except ValueError:
            scale = float(np.max(np.abs(eig))) or 1.0
            largest = largest_stable_step(
                lambda s: amplification(game, method, y, s, key), h_min=1e-2 / scale,
                h_max=1e3 / scale,
            )
        rows[name] = {
            "growth_per_step": growth,
            "verdict": verdict(growth),
            "largest_stable_step": None if not np.isfinite(largest) else largest,
            "unconditionally_stable": bool(np.isinf(largest)),
        }
    return {
        "point": [float(x) for x in ravel_pytree(y)[0]],
        "eigenvalues": [[float(e.real), float(e.imag)] for e in eig],
        "step": h,
        "methods": rows,
    }

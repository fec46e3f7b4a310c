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
from ._games import AbstractGame, Players
from ._methods import AbstractMethod, AbstractStepMethod


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
    return _step_matrix(game, method, y, jnp.asarray(h, dtype=ravel_pytree(y)[0].dtype), key)


@eqx.filter_jit
def _step_matrix(game, method, y, h, key):
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


class Plane(eqx.Module):
    """A 2-D slice of a game's parameter space: the points `origin + a·e1 + b·e2` of
    the flattened parameters (`ravel_pytree` order), with axis labels and what the
    plane is (`kind`)."""

    origin: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    labels: tuple[str, str] = eqx.field(static=True)
    kind: str = eqx.field(static=True)

    def project(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates `(a, b)` of flattened points (`(..., n)`) in the plane."""
        d = np.asarray(flat) - self.origin
        return d @ self.e1, d @ self.e2

    def lift(self, a, b) -> np.ndarray:
        """The flattened points `origin + a·e1 + b·e2` (`a`, `b` arrays of one shape)."""
        a, b = np.asarray(a)[..., None], np.asarray(b)[..., None]
        return self.origin + a * self.e1 + b * self.e2


def slice_plane(game: AbstractGame, origin: Players | None = None, *,
                coordinates: tuple[int, int] | None = None, key: Key | None = None) -> Plane:
    """The plane to draw a game's field in, through `origin` (default: the equilibrium,
    else the default initial point). A game of two parameters: their plane.
    Otherwise the two coordinates given (indices into the flattened parameters), or
    by default the plane of the leading eigenvectors of the Jacobian at `origin`: the
    real and imaginary parts of the leading complex pair (the plane the linearised
    flow rotates in), else the eigenvectors of the two eigenvalues of largest real
    part; the other coordinates stay at `origin`'s."""
    if origin is None:
        origin = game.equilibrium()
        origin = game.init() if origin is None else origin
    flat = np.asarray(ravel_pytree(origin)[0], dtype=float)
    names = game.coordinates()
    n = flat.size
    if n < 2:
        raise ValueError("a game of one parameter has no plane to draw")
    if coordinates is None and n == 2:
        coordinates = (0, 1)
    if coordinates is not None:
        i, j = coordinates
        if not (0 <= i < n and 0 <= j < n and i != j):
            raise ValueError(f"plane coordinates must be two different indices in 0..{n - 1}, "
                             f"got {coordinates}")
        eye = np.eye(n)
        return Plane(flat, eye[i], eye[j], (names[i], names[j]),
                     "coordinates" if n > 2 else "full")
    values, vectors = np.linalg.eig(np.asarray(jacobian(game, origin, key), dtype=float))
    order = np.lexsort((-np.abs(values.imag), -values.real))
    complex_pairs = [k for k in order if values[k].imag > 1e-9 * max(1.0, abs(values[k]))]
    if complex_pairs:
        v = vectors[:, complex_pairs[0]]
        basis, lam = np.stack([v.real, v.imag], axis=1), values[complex_pairs[0]]
        kind = f"rotation plane of λ = {lam.real + 0.0:.3g} ± {abs(lam.imag):.3g}i"
    else:
        basis = np.stack([vectors[:, order[0]].real, vectors[:, order[1]].real], axis=1)
        kind = f"eigenvectors of λ = {values[order[0]].real:.3g}, {values[order[1]].real:.3g}"
    q, _ = np.linalg.qr(basis)
    return Plane(flat, q[:, 0], q[:, 1], ("e₁", "e₂"), kind)

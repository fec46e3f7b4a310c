r"""The branch of equilibria `v(y*(p); p) = 0`: Newton from point to point,
pseudo-arclength round a fold (Keller 1977) and the fold point itself
(Moore–Spence), with the spectra (flow eigenvalues, step-map multipliers) along it."""


import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree

from .._analysis import _step_matrix


def _field_flat(game, unravel, flat, key):
    return ravel_pytree(game.field(unravel(flat), key))[0]


@eqx.filter_jit
def _newton(family, p, flat0, key, rtol, atol):
    """Newton (optimistix) on `v(y; p) = 0` from `flat0`: `(y, converged)`."""
    game, unravel = family.at(p)[0], family.unravel
    sol = optx.root_find(lambda f, _: _field_flat(game, unravel, f, key),
                         optx.Newton(rtol=rtol, atol=atol), flat0, max_steps=64, throw=False)
    residual = jnp.max(jnp.abs(_field_flat(game, unravel, sol.value, key)))
    ok = (sol.result == optx.RESULTS.successful) & jnp.isfinite(residual)
    return sol.value, ok, residual


@eqx.filter_jit
def _arclength(family, z0, tangent, ds, key, rtol, atol):
    """One pseudo-arclength corrector: Newton on `(v(y; p), tᵀ(z − z₀) − ds)` for
    `z = (y, p)`, from the predictor `z₀ + ds·t` (Keller 1977)."""

    unravel = family.unravel

    def residual(z, _):
        game = family.at(z[-1])[0]
        return jnp.concatenate([_field_flat(game, unravel, z[:-1], key),
                                (tangent @ (z - z0) - ds)[None]])

    sol = optx.root_find(residual, optx.Newton(rtol=rtol, atol=atol), z0 + ds * tangent,
                         max_steps=64, throw=False)
    return sol.value, sol.result == optx.RESULTS.successful


@eqx.filter_jit
def _extended_jacobian(family, z, key):
    """`[∂v/∂y, ∂v/∂p]` at `z = (y, p)`."""
    unravel = family.unravel
    return jax.jacfwd(lambda z: _field_flat(family.at(z[-1])[0], unravel, z[:-1], key))(z)


def _tangent(family, z, key, previous=None) -> np.ndarray:
    """The unit tangent of the branch at `z`: the null vector of `[∂v/∂y, ∂v/∂p]`,
    oriented along `previous`."""
    jac = np.asarray(_extended_jacobian(family, jnp.asarray(z), key), dtype=float)
    t = np.linalg.svd(jac)[2][-1]
    if previous is not None and t @ previous < 0:
        t = -t
    return t


@eqx.filter_jit
def _fold_point(family, z0, w0, key, rtol, atol):
    """A fold (limit point) of the branch: Newton on the Moore–Spence system
    `v(y; p) = 0, J(y; p) w = 0, w₀ᵀw = 1` for `(y, p, w)`."""
    n, unravel = w0.size, family.unravel

    def residual(u, _):
        y, p, w = u[:n], u[n], u[n + 1:]
        game = family.at(p)[0]
        f = lambda y: _field_flat(game, unravel, y, key)  # noqa: E731
        value, jw = jax.jvp(f, (y,), (w,))
        return jnp.concatenate([value, jw, (w0 @ w - 1)[None]])

    sol = optx.root_find(residual, optx.Newton(rtol=rtol, atol=atol),
                         jnp.concatenate([z0, w0]), max_steps=64, throw=False)
    return sol.value[: n + 1], sol.result == optx.RESULTS.successful


# --------------------------------------------------------------------------------------
# Spectra along the branch


@eqx.filter_jit
def _spectra_matrices(family, p, flat, key, with_step):
    game, method, h = family.at(p)
    unravel = family.unravel
    jac = jax.jacfwd(lambda f: _field_flat(game, unravel, f, key))(flat)
    if not with_step:
        return jac, None
    return jac, _step_matrix(game, method, unravel(flat), h, key)


def _spectra(family, ps, flats, key, analysis):
    """`(eigenvalues of J, multipliers or None, margin)` at each point (batched)."""
    with_step = analysis == "map"
    jacs, steps = _batched_matrices(family, jnp.asarray(ps), jnp.asarray(flats), key, with_step)
    eig = np.linalg.eigvals(np.asarray(jacs, dtype=float))
    mult = None if steps is None else np.linalg.eigvals(np.asarray(steps, dtype=float))
    margin = (np.max(np.abs(mult), axis=-1) - 1) if with_step else np.max(eig.real, axis=-1)
    return eig, mult, margin


@eqx.filter_jit
def _batched_matrices(family, ps, flats, key, with_step):
    return jax.vmap(lambda p, f: _spectra_matrices(family, p, f, key, with_step))(ps, flats)


def _leading(values: np.ndarray, analysis: str) -> complex:
    """The multiplier of largest modulus (maps) or eigenvalue of largest real part (flows),
    the one of positive imaginary part of a pair."""
    key = np.abs(values) if analysis == "map" else values.real
    top = values[np.isclose(key, key.max(), rtol=1e-9, atol=1e-12)]
    return complex(top[np.argmax(top.imag)])


def _kind(crossing: complex, analysis: str, scale: float) -> str:
    complex_pair = abs(crossing.imag) > 1e-7 * max(1.0, scale)
    if analysis == "flow":
        return "hopf" if complex_pair else "fold"
    if complex_pair:
        return "neimark-sacker"
    return "flip" if crossing.real < 0 else "fold"


def _follow(family, values, flat0, key, dtype, require=True) -> dict:
    """The branch over `values`: natural continuation (Newton from a secant predictor)
    while it works, pseudo-arclength round a fold."""
    rtol = atol = 1e-12 if dtype == jnp.float64 else 1e-6
    ps, points, on_grid, folds, lost = [], [], [], [], []
    guess = flat0
    i = 0
    while i < len(values):
        p = values[i]
        if len(points) >= 2 and on_grid[-1] and on_grid[-2]:
            slope = (points[-1] - points[-2]) / (ps[-1] - ps[-2])
            guess = points[-1] + slope * (p - ps[-1])
        y, ok, _ = _newton(family, jnp.asarray(p, dtype), jnp.asarray(guess, dtype),
                           key, rtol, atol)
        if bool(ok) and (not points or _near(y, points[-1], values)):
            ps.append(float(p))
            points.append(np.asarray(y))
            on_grid.append(True)
            guess = np.asarray(y)
            i += 1
            continue
        if not points:
            if require:
                raise ValueError(f"no equilibrium found at {p:g} from the given start (Newton "
                                 "did not converge); require_equilibrium=False measures the "
                                 "attractor alone")
            lost.extend(values)
            break
        # Newton failed (or jumped to another branch): follow the branch by arclength.
        turned = _round_the_fold(family, values, i, ps, points, on_grid, folds, key,
                                 dtype, rtol, atol)
        if turned:
            lost.extend(values[i:])
            break
        if on_grid[-1] and ps[-1] == float(values[i]):
            guess = points[-1]
            i += 1
            continue
        lost.extend(values[i:])  # arclength could not continue either
        break
    return {"values": np.asarray(ps), "points": np.asarray(points), "on_grid": on_grid,
            "folds": folds, "lost": lost}


def _near(y, previous, values) -> bool:
    """A Newton step landing far from the previous point jumped branches."""
    jump = float(np.max(np.abs(np.asarray(y) - previous)))
    return jump <= 10 * max(1.0, float(np.max(np.abs(previous))))


def _round_the_fold(family, values, i, ps, points, on_grid, folds, key, dtype, rtol,
                    atol) -> bool:
    """Pseudo-arclength from the last point towards `values[i]`. Appends the points it
    takes; if `p` reaches `values[i]`, appends the point there (on the grid) and returns
    False; if the branch turns back (a fold), locates the fold, follows the branch
    back until it leaves the range of `values` and returns True."""
    direction = np.sign(values[-1] - values[0])
    lo, hi = min(values[0], values[-1]), max(values[0], values[-1])
    spacing = abs(values[1] - values[0])
    z = np.concatenate([points[-1], [ps[-1]]])
    t = np.zeros_like(z)
    t[-1] = direction
    t = _tangent(family, z, key, t)
    ds = 0.25 * spacing
    turned = False
    for _ in range(400):
        z_new, ok = _arclength(family, jnp.asarray(z, dtype), jnp.asarray(t, dtype),
                               jnp.asarray(ds, dtype), key, rtol, atol)
        z_new = np.asarray(z_new, dtype=float)
        if not bool(ok) or not np.all(np.isfinite(z_new)):
            ds /= 2
            if ds < 1e-6 * spacing:
                return turned
            continue
        t_new = _tangent(family, z_new, key, t)
        if not turned and t_new[-1] * direction < 0 < t[-1] * direction:
            fold = _locate_fold(family, z, z_new, key, dtype, rtol, atol)
            if fold is not None:
                folds.append(fold)
            turned = True
        if not turned and (z_new[-1] - values[i]) * direction >= 0:
            # Reached the grid value: correct onto it by Newton from the arclength point.
            y, ok, _ = _newton(family, jnp.asarray(values[i], dtype),
                               jnp.asarray(z_new[:-1], dtype),
                               key, rtol, atol)
            if bool(ok):
                ps.append(float(values[i]))
                points.append(np.asarray(y))
                on_grid.append(True)
                return False
        ps.append(float(z_new[-1]))
        points.append(z_new[:-1])
        on_grid.append(False)
        z, t = z_new, t_new
        if turned and not lo - spacing <= z[-1] <= hi + spacing:
            return True
        ds = min(ds * 1.5, spacing)
    return turned


def _locate_fold(family, z0, z1, key, dtype, rtol, atol):
    """The fold between two arclength points: Moore–Spence from their midpoint, with
    the null vector of J there as the start."""
    mid = 0.5 * (z0 + z1)
    jac = np.asarray(_extended_jacobian(family, jnp.asarray(mid, dtype), key))[:, :-1]
    w0 = np.linalg.svd(jac)[2][-1]
    z, ok = _fold_point(family, jnp.asarray(mid, dtype), jnp.asarray(w0, dtype), key,
                        rtol, atol)
    z = np.asarray(z, dtype=float)
    if not bool(ok) or not np.all(np.isfinite(z)):
        return None
    return z

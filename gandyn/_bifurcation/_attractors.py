r"""Attractors beyond a bifurcation, by simulation from near the equilibrium, every
parameter value at once under `vmap`: converged, a cycle (amplitude, rotation
number), a period-k orbit, chaos (a positive Lyapunov exponent) or diverged."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._methods import carrying_game_state
from .._simulate import simulate, step
from ._branch import _spectra_matrices
from ._results import Attractor, Bifurcation


def _record_scan(game, method, y, state, h, key, start, steps, centre, plane, index, tangent,
                 blowup):
    """`steps` steps of the map from `(y, state)` (numbered from `start`, as `simulate`
    numbers them), recording per step the distance to `centre`, the coordinate `index`,
    the projection on `plane` (`(n, 2)`), and the largest Lyapunov exponent (Benettin:
    a tangent vector pushed forward by `jax.jvp`, renormalised each step)."""
    moving, fixed = eqx.partition(state, eqx.is_inexact_array)
    flat_y, unravel_y = ravel_pytree(y)
    flat_s, unravel_s = ravel_pytree(moving)
    n = flat_y.size

    def flat_step(flat, n_step):  # `simulate`'s step, on the flattened (y, state)
        yi, si = unravel_y(flat[:n]), unravel_s(flat[n:])
        y1, s1 = step(game, method, yi, eqx.combine(si, fixed), h, key, n_step)
        return ravel_pytree((y1, eqx.filter(s1, eqx.is_inexact_array)))[0]

    def body(carry, n_step):
        flat, u, log_sum, bad_at = carry
        flat1, u1 = jax.jvp(lambda f: flat_step(f, n_step), (flat,), (u,))
        norm = jnp.linalg.norm(u1)
        u1 = u1 / jnp.where(norm > 0, norm, 1.0)
        yv = flat1[:n]
        bad = ~jnp.all(jnp.abs(yv) <= blowup)
        bad_at = jnp.where((bad_at < 0) & bad, n_step + 1, bad_at)
        # A NaN tangent (a non-differentiable step: √ν at ν = 0 in Adam) makes the
        # exponent NaN, "undefined", rather than a silent 0.
        log_sum = log_sum + jnp.log(norm)
        d = yv - centre
        out = (jnp.linalg.norm(d), yv[index], d @ plane)
        return (flat1, u1, log_sum, bad_at), (out, yv)

    flat = jnp.concatenate([flat_y, flat_s])
    u = tangent[: flat.size] if tangent.size >= flat.size else jnp.concatenate(
        [tangent, jnp.zeros(flat.size - tangent.size, tangent.dtype)])
    u = u / jnp.linalg.norm(u)
    init = (flat, u, jnp.zeros((), flat.dtype), jnp.asarray(-1, jnp.int32))
    (_, _, log_sum, bad_at), ((dist, coord, proj), ys) = jax.lax.scan(
        body, init, start + jnp.arange(steps, dtype=jnp.int32))
    return dist, coord, proj, log_sum / steps, bad_at, jnp.mean(ys, axis=0)


def _one_attractor(family, p, y0, centre, plane, known, *, transient, record, index, key,
                   tangent, blowup):
    game, method, h = family.at(p)
    method = carrying_game_state(game, method)  # the state simulate returns
    h = jnp.asarray(h)
    sol = simulate(game, method, y0, h=h, steps=transient, save_every=max(1, transient // 10),
                   key=key, blowup=blowup)
    state = sol.method_state
    if state is None:  # adaptive flows keep no state
        state = method.init(game, sol.final, h, key)
    if not known:
        # No equilibrium: measure around the orbit's own mean (one pass to find it).
        mean = _record_scan(game, method, sol.final, state, h, key, transient, record,
                            centre, plane, index, tangent, blowup)[-1]
        centre = jnp.where(jnp.all(jnp.isfinite(mean)), mean, centre)
    dist, coord, proj, lyap, bad_at, _ = _record_scan(
        game, method, sol.final, state, h, key, transient, record, centre, plane, index, tangent,
        blowup)
    diverged_at = jnp.where(sol.diverged_at >= 0, sol.diverged_at, bad_at)
    return dist, coord, proj, lyap, diverged_at


def _attractors(family, values, branch, flats, flat0, key, coordinate, coordinates, transient,
                record, perturbation, seed, eig, mult, analysis, dtype):
    """Simulate at every grid value from near its equilibrium (the last one found past
    the branch's end) and classify the attractor."""
    if isinstance(coordinate, str):
        if coordinate not in coordinates:
            raise ValueError(f"unknown coordinate {coordinate!r}; choose from: "
                             f"{', '.join(coordinates)}")
        index = coordinates.index(coordinate)
    else:
        index = int(coordinate)
        if not 0 <= index < len(coordinates):
            raise ValueError(f"coordinate must be in 0..{len(coordinates) - 1}, got {coordinate}")
    ps, on_grid = branch["values"], np.asarray(branch["on_grid"], bool)
    grid_ps, grid_points = ps[on_grid], flats[on_grid]
    n = flats.shape[1]
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=n)
    direction /= np.linalg.norm(direction)
    tangent = rng.normal(size=4 * n + 8)
    starts, centres, planes, known = [], [], [], []
    for p in values:
        if not len(grid_ps):  # no equilibrium: from the start, around the orbit's mean
            starts.append(flat0)
            centres.append(flat0)
            known.append(False)
            planes.append(np.linalg.qr(rng.normal(size=(n, 2)))[0])
            continue
        at = np.flatnonzero(np.isclose(grid_ps, p, rtol=0, atol=1e-14 * max(1.0, abs(p))))
        k = int(at[0]) if at.size else len(grid_ps) - 1
        centre = grid_points[k]
        scale = max(1.0, float(np.max(np.abs(centre))))
        starts.append(centre + perturbation * scale * direction)
        centres.append(centre)
        known.append(bool(at.size))
        planes.append(_critical_plane(family, grid_ps[k], centre, key, analysis, n))
    starts = jax.vmap(family.unravel)(jnp.asarray(np.array(starts), dtype))
    args = (jnp.asarray(values, dtype), starts,
            jnp.asarray(np.array(centres), dtype), jnp.asarray(np.array(planes), dtype))
    static = dict(transient=transient, record=record, index=index, key=key,
                  tangent=jnp.asarray(tangent, dtype), blowup=1e6)
    all_known = all(known)
    try:
        out = eqx.filter_jit(eqx.filter_vmap(
            lambda p, y0, c, pl: _one_attractor(family, p, y0, c, pl, all_known, **static)))(*args)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerBoolConversionError,
            jax.errors.UnexpectedTracerError, TypeError):
        rows = [_one_attractor(family, float(v), jax.tree_util.tree_map(lambda x: x[i], args[1]),
                               args[2][i], args[3][i], known[i], **static)
                for i, v in enumerate(values)]
        out = tuple(jnp.stack(parts) for parts in zip(*rows))
    dist, coord, proj, lyap, diverged_at = (np.array(x) for x in out)
    return _classify(values, dist, coord, proj, lyap, diverged_at, coordinates[index],
                     "equilibrium" if all_known else "orbit mean", dtype)


def _critical_plane(family, p, flat, key, analysis, n) -> np.ndarray:
    """An orthonormal `(n, 2)` basis of the plane of the leading mode at the point:
    (Re x, Im x) of the eigenvector of the leading multiplier or eigenvalue (its
    rotation plane), else the two leading real eigenvectors."""
    if n < 2:
        return np.ones((n, 2)) / max(n, 1)
    jac, step = _spectra_matrices(family, jnp.asarray(p), jnp.asarray(flat), key,
                                  analysis == "map")
    matrix = np.asarray(step if step is not None else jac, dtype=float)
    values, vectors = np.linalg.eig(matrix)
    order = np.argsort(-(np.abs(values) if analysis == "map" else values.real), kind="stable")
    v = vectors[:n, order[0]]
    basis = np.stack([v.real, v.imag], axis=1)
    if np.linalg.norm(v.imag) < 1e-8 * np.linalg.norm(v.real):
        basis = np.stack([v.real, vectors[:n, order[1]].real], axis=1)
    q, r = np.linalg.qr(basis)
    if abs(r[1, 1]) < 1e-10:
        q = np.linalg.qr(np.stack([basis[:, 0], np.eye(n)[np.argmin(np.abs(basis[:, 0]))]], 1))[0]
    return q


def _classify(values, dist, coord, proj, lyap, diverged_at, coordinate, centre,
              dtype) -> Attractor:
    m = len(values)
    status = np.empty(m, dtype=object)
    amplitude = np.full((m, 3), np.nan)
    period = np.full(m, np.nan)
    rotation = np.full(m, np.nan)
    eps = 1e-9 if dtype == jnp.float64 else 1e-6  # periodicity and convergence: 1e3·eps
    keep = min(dist.shape[1], 400)
    for i in range(m):
        d = dist[i]
        if diverged_at[i] >= 0 or not np.all(np.isfinite(d)):
            status[i] = "diverged"
            coord[i] = np.nan
            continue
        amplitude[i] = (d.min(), d.mean(), d.max())
        features = np.column_stack([d, coord[i], proj[i]])
        if d.max() <= 1e3 * eps * max(1.0, float(np.max(np.abs(coord[i])))):
            status[i] = "converged"
            continue
        # Rounding allows 1e3·eps of the values' size; a small quasi-periodic orbit (a
        # slow spiral near the point) must not pass, so at most 1e-3 of its spread.
        spread = float(np.max(np.ptp(features, axis=0)))
        k = _period(features, min(1e3 * eps * max(1.0, float(np.max(np.abs(features)))),
                                  1e-3 * spread))
        half = len(d) // 2
        trend = d[half:].max() / max(d[:half].max(), 1e-300)
        if k == 1:
            status[i] = "converged"  # a fixed point (another than the equilibrium)
        elif k:
            status[i], period[i] = f"period-{k}", k
        elif lyap[i] > 5e-3:
            status[i] = "chaos"
        elif trend < 1 - 1e-3:
            status[i] = "converging"
        elif trend > 1 + 1e-3:
            status[i] = "diverging"
        else:
            status[i] = "cycle"
            angle = np.unwrap(np.arctan2(proj[i][:, 1], proj[i][:, 0]))
            rotation[i] = abs(angle[-1] - angle[0]) / (2 * np.pi * (len(angle) - 1))
            period[i] = 1 / rotation[i] if rotation[i] > 0 else np.nan
    return Attractor(values=np.asarray(values, float), status=status, amplitude=amplitude,
                     period=period, rotation=rotation, lyapunov=np.asarray(lyap, float),
                     diverged_at=np.asarray(diverged_at, int), orbit=coord[:, -keep:],
                     coordinate=coordinate, centre=centre)


def _period(features: np.ndarray, tol: float, k_max: int = 64) -> int:
    """The least k ≤ k_max with `features[n + k] = features[n]` (within `tol`) over the
    last half of the record; 0 if none."""
    tail = features[len(features) // 2:]
    for k in range(1, min(k_max, len(tail) // 4) + 1):
        if np.max(np.abs(tail[k:] - tail[:-k])) <= tol:
            return k
    return 0


def _simulated_criticality(bifurcation: Bifurcation, attractor: Attractor, grid_margin,
                           tol: float) -> Bifurcation:
    """The simulation's cross-check (`simulated`): supercritical if, going away from a
    Neimark–Sacker, flip, Hopf or pitchfork point on its unstable side (positive
    margin), the first settled outcome is a bounded orbit (cycle, period-k, chaos);
    subcritical if it is divergence. Runs still converging or growing slowly near the
    point, and neutral values (`|margin| ≤ tol`), are passed over. (A pitchfork's new
    equilibria count as converged runs: undecided.)"""
    if bifurcation.kind not in ("neimark-sacker", "flip", "hopf", "pitchfork"):
        return bifurcation
    values = attractor.values
    above = [i for i in np.argsort(values) if values[i] > bifurcation.value]
    below = [i for i in np.argsort(values)[::-1] if values[i] < bifurcation.value]
    above = [i for i in above if grid_margin[i] > tol]
    below = [i for i in below if grid_margin[i] > tol]
    side = above if above and (not below or values[above[0]] - bifurcation.value
                               <= bifurcation.value - values[below[0]]) else below
    for i in side:
        status = str(attractor.status[i])
        if status in ("converging", "diverging"):
            continue
        if status == "diverged":
            return dataclasses.replace(bifurcation, simulated="subcritical")
        if status == "converged":
            return bifurcation
        return dataclasses.replace(bifurcation, simulated="supercritical")
    return bifurcation

"""`continuation`: follow the branch, locate and name its bifurcations, measure the
attractors (the entry point; see the package's docstring for the mathematics)."""

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._games import AbstractGame, Players
from .._methods import AbstractMethod, AbstractStepMethod
from ._attractors import _attractors, _simulated_criticality
from ._branch import _follow, _kind, _leading, _newton, _spectra
from ._normal_forms import _normal_form_at
from ._parameters import _Family, _is_number, _resolve
from ._results import Bifurcation, Continuation


def continuation(
    game: AbstractGame,
    method: AbstractMethod,
    parameter: str | Callable,
    values: Sequence[float],
    *,
    h: float | None = None,
    y0: Players | None = None,
    key=None,
    analysis: str | None = None,
    attractor: bool = True,
    transient: int = 5000,
    record: int = 1000,
    coordinate: int | str = 0,
    perturbation: float = 1e-2,
    tol: float | None = None,
    seed: int = 0,
    require_equilibrium: bool = True,
) -> Continuation:
    r"""Follow an equilibrium of `game` along `parameter` over `values`, locate and
    name the bifurcations of `method`'s step map (or of the flow), and measure the
    attractor at every value.

    **Arguments:**
    - `parameter`: `"h"`, a regularizer's name (`"r1"`: its weight; the game's own is
      rebuilt at each p with the options it was built with, read back through the
      option table; added, with its default options, if the game has none), a numeric
      field of the game or method by name (see `numeric_parameters`), or a callable
      `p ↦ (game, method)`: for what lives in a closure rather than a field, e.g. Adam's
      β₁,
      `lambda b1: (game, gd.Optax(optax.adam(1.0, b1=b1), linear=False))`.
    - `values`: the parameter grid (ascending or descending).
    - `h`: the step size (every parameter but `"h"`).
    - `y0`: where to look for the first equilibrium (default: the game's known
      equilibrium, else its initial point); Newton (optimistix) from there, then from
      each previous point with a secant predictor; where Newton fails (a fold),
      pseudo-arclength steps on `(y, p)` follow the branch round the turn, whose
      tip is solved for exactly (Moore–Spence system).
    - `analysis`: `"map"` (multipliers of the step map, `max|μ| − 1`; the default for a
      step method with a linear analysis) or `"flow"` (`max Re λ`).
    - `attractor`: simulate from `y* + perturbation·u` (`u` a seeded unit vector) for
      `transient` steps, then record `record` steps: amplitude, period or rotation
      number, Lyapunov exponent, the orbit diagram of `coordinate` (an index or a name
      of `game.coordinates()`). All values in one `vmap` where the family's
      structure allows, else one by one.
    - `require_equilibrium`: where Newton finds no equilibrium at the first value,
      raise (default) or, if False, measure the attractor alone (from `y0`, around the
      orbit's mean), with an empty branch.
    - `tol`: the margin below which a point counts as stable (`|margin| ≤ tol`: neutral);
      default 1e-9 in float64, 1e-5 in float32.

    **Returns:** a `Continuation` (`.to_json()` for files).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2 or not np.all(np.isfinite(values)):
        raise ValueError(f"values must be at least two finite numbers, got {values!r}")
    if np.any(np.diff(values) == 0) or not (np.all(np.diff(values) > 0)
                                            or np.all(np.diff(values) < 0)):
        raise ValueError("values must be strictly increasing or strictly decreasing")
    if not isinstance(game, AbstractGame):
        raise ValueError(f"game must be an AbstractGame, got {type(game).__name__}")
    if not isinstance(method, AbstractMethod):
        raise ValueError(f"method must be an AbstractMethod, got {type(method).__name__}")
    if attractor and not isinstance(method, AbstractStepMethod):
        raise ValueError(f"{type(method).__name__} is an adaptive ODE solve, with no step map to "
                         f"iterate: the attractor needs a step method (or attractor=False)")
    setter, name = _resolve(game, method, parameter)
    if setter.owner == "h":
        if h is not None:
            raise ValueError("parameter 'h' is the step size: give no h")
        if np.any(values <= 0):
            raise ValueError(f"step sizes must be positive, got {values.min():g}")
    elif h is None:
        raise ValueError(f"parameter {name!r} is not the step size: give h")
    elif not (math.isfinite(h) and h > 0):
        raise ValueError(f"step size h must be positive and finite, got {h}")
    key = jax.random.key(0) if key is None else key
    dtype = jnp.result_type(float)
    h = None if h is None else jnp.asarray(h, dtype)
    if isinstance(getattr(game, "regularizers", None), tuple):
        # Weights as arrays, not Python floats (static to `jit`): games that differ only
        # in their regularizers' weights then share their compiled programs.
        game = eqx.tree_at(lambda g: g.regularizers, game, jax.tree_util.tree_map(
            lambda x: jnp.asarray(x, dtype) if _is_number(x) else x, game.regularizers))
    first_game, first_method, _ = setter(game, method, h, jnp.asarray(values[0], dtype))
    analysis = _analysis_kind(first_method, analysis)
    tol = (1e-9 if dtype == jnp.float64 else 1e-5) if tol is None else tol
    start = y0 if y0 is not None else first_game.equilibrium()
    start = first_game.init() if start is None else start
    start = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), start)
    family = _Family(game, method, h, start, setter)
    flat0 = ravel_pytree(start)[0]
    coordinates = tuple(first_game.coordinates())

    branch = _follow(family, values, flat0, key, dtype, require_equilibrium)
    ps, flats, on_grid = branch["values"], branch["points"], branch["on_grid"]
    flats = np.asarray(flats, dtype=float).reshape(len(ps), flat0.size)
    if len(ps):
        eig, mult, margin = _spectra(family, ps, flats, key, analysis)
    else:
        n = flat0.size
        eig, mult, margin = np.zeros((0, n), complex), None, np.zeros(0)
    bifurcations = _locate(family, ps, flats, on_grid, margin, branch["folds"], key,
                           analysis, tol, dtype)

    result = None
    if attractor:
        result = _attractors(family, values, branch, flats, np.asarray(flat0), key, coordinate,
                             coordinates, transient, record, perturbation, seed, eig, mult,
                             analysis, dtype)
        grid_margin = _margin_at(values, ps, margin, on_grid)
        bifurcations = tuple(_simulated_criticality(b, result, grid_margin, tol)
                             for b in bifurcations)
    return Continuation(
        parameter=name, analysis=analysis, grid=values, values=np.asarray(ps, dtype=float),
        points=flats, eigenvalues=eig,
        multipliers=mult, margin=margin, stable=margin < -tol, on_grid=np.asarray(on_grid, bool),
        bifurcations=tuple(bifurcations), attractor=result, coordinates=coordinates,
        lost=np.asarray(branch["lost"], dtype=float),
    )


def step_methods() -> tuple[str, ...]:
    """The registered methods whose step map a bifurcation diagram iterates: every one
    but the adaptive ODE solves (`AdaptiveFlow`: no fixed step, no state to carry)."""
    from .. import methods

    return tuple(name for name in methods.registry.names()
                 if isinstance(methods.registry.get(name), AbstractStepMethod))


def check_step_method(name: str, method: AbstractMethod, flag: str = "--method") -> None:
    """A one-line `ValueError` naming the step methods unless `method` is one."""
    if not isinstance(method, AbstractStepMethod):
        raise ValueError(f"{flag} {name!r} is an adaptive ODE solve, with no step map for a "
                         f"bifurcation diagram to iterate; choose a step method: "
                         f"{', '.join(step_methods())}")


def _margin_at(values, ps, margin, on_grid) -> np.ndarray:
    """The margin at each grid value (NaN where the branch was lost)."""
    grid = np.asarray(on_grid, bool)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        at = np.flatnonzero(grid & (np.asarray(ps) == v))
        if at.size:
            out[i] = margin[at[0]]
    return out


def _analysis_kind(method, analysis):
    linear = isinstance(method, AbstractStepMethod) and method.linear_analysis()
    if analysis is None:
        return "map" if linear else "flow"
    if analysis not in ("map", "flow"):
        raise ValueError(f"analysis must be 'map' or 'flow', got {analysis!r}")
    if analysis == "map" and not linear:
        raise ValueError(f"{type(method).__name__} has no step-matrix analysis; use "
                         "analysis='flow'")
    return analysis


def _locate(family, ps, flats, on_grid, margin, folds, key, analysis, tol, dtype):
    """Bifurcations between consecutive branch points where the margin changes sign
    (strictly: Brent's method; from or to neutral: bisection), and the folds."""
    from scipy.optimize import brentq

    rtol = atol = 1e-12 if dtype == jnp.float64 else 1e-6
    found = []

    def spectrum(p, guess):
        y, ok, _ = _newton(family, jnp.asarray(p, dtype), jnp.asarray(guess, dtype), key,
                           rtol, atol)
        e, m, g = _spectra(family, np.asarray([p]), np.asarray(y)[None], key, analysis)
        return np.asarray(y), e[0], (None if m is None else m[0]), float(g[0])

    # Brackets between grid points of the branch before any fold (past one, Newton at
    # an intermediate value may land on either side of the turn): a strict change of
    # sign (neutral points in between or not), or neutral points, then a strict sign.
    grid = np.flatnonzero(np.cumprod(np.asarray(on_grid, bool)))
    sign = np.where(margin > tol, 1, np.where(margin < -tol, -1, 0))
    strict = [i for i in grid if sign[i] != 0]
    brackets = [(j, k) for j, k in zip(strict[:-1], strict[1:]) if sign[j] != sign[k]]
    if strict and strict[0] > 0:
        brackets.append((strict[0] - 1, strict[0]))
    if strict and strict[-1] < grid[-1]:
        brackets.append((strict[-1], strict[-1] + 1))
    for j, k in brackets:
        a, b = ps[j], ps[k]
        guess = flats[j]
        if sign[j] * sign[k] < 0:
            root = brentq(lambda p: spectrum(p, guess)[3], a, b, xtol=1e-13, rtol=1e-15,
                          maxiter=200)
        else:  # neutral on one side: bisect on the side of the strict one
            target = sign[j] if sign[j] != 0 else sign[k]

            def inside(p):
                g = spectrum(p, guess)[3]
                return np.sign(g) == target and abs(g) > tol

            lo, hi = (a, b) if sign[j] != target else (b, a)
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if inside(mid):
                    hi = mid
                else:
                    lo = mid
            root = 0.5 * (lo + hi)
        target_unstable = sign[k] > sign[j]  # the unstable side lies towards b
        # The crossing multiplier: just beyond the root, on the unstable side.
        beyond = root + 1e-7 * (b - a) * (1 if target_unstable else -1)
        y, e, m, _ = spectrum(beyond, guess)
        crossing = _leading(m if analysis == "map" else e, analysis)
        scale = float(np.max(np.abs(e))) if e.size else 1.0
        point = spectrum(root, guess)[0]
        # The equilibrium exists on both sides of a margin crossing between branch
        # points: a real crossing through +1 (0) there is a branch point, not a fold.
        found.append(_named(family, float(root), _kind(crossing, analysis, scale), crossing,
                            point, key, analysis, True, dtype))
    spacing = float(np.min(np.abs(np.diff(ps[np.asarray(on_grid, bool)])), initial=1.0))
    for z in folds:
        e, m, _ = _spectra(family, z[-1:], z[None, :-1], key, analysis)
        crossing = _leading(m[0] if analysis == "map" else e[0], analysis)
        # The Moore–Spence fold replaces a margin crossing found at the same place.
        found = [b for b in found if abs(b.value - z[-1]) > 1e-6 * spacing]
        found.append(_named(family, float(z[-1]), "fold", crossing, z[:-1], key, analysis,
                            False, dtype))
    return sorted(found, key=lambda b: b.value)


def _named(family, value, kind, crossing, point, key, analysis, persists, dtype) -> Bifurcation:
    """The bifurcation with its normal form: the kind of a +1 (0) crossing from whether
    the equilibrium persists through it, the criticality from the coefficient."""
    form = _normal_form_at(family, value, point, key, analysis, kind, crossing, persists,
                           dtype)
    if form is None:
        kind = kind if kind != "fold" or not persists else "branch-point"
        return Bifurcation(value, kind, crossing, point)
    return Bifurcation(value, form.kind, crossing, point, criticality=form.criticality,
                       coefficient=form.coefficient)

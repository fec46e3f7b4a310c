r"""Bifurcations of training: where an equilibrium loses stability, how, and what
training does instead.

`continuation(game, method, parameter, values)` follows an equilibrium `y*(p)` of the
field, `v(y*; p) = 0`, as a parameter `p` varies (Newton from the previous point;
pseudo-arclength where the branch folds), with at each point the eigenvalues `λ` of
the flow's Jacobian `J = ∂v/∂y` and the multipliers `μ` of the step map (the
eigenvalues of `step_matrix`). Its stability margin

    maps:   m(p) = max |μ| − 1,        flows:   m(p) = max Re λ,

changes sign at a bifurcation, which is located by root finding on `m` (Brent's
method, to 1e-12 in `p`), not by the grid, and named from the crossing multiplier:
a complex pair leaving the unit disc is a **Neimark–Sacker** point (a small invariant
closed curve, a "cycle", appears), a real multiplier through −1 a **flip** (period
doubling); for flows a complex pair crossing the imaginary axis is a **Hopf** point.
A real multiplier through +1 (eigenvalue through 0) is named by what the branch does:
a **fold** where it turns back (pseudo-arclength, Moore–Spence), a **transcritical**
or **pitchfork** point where the equilibrium persists through it (the normal form's
quadratic coefficient nonzero, or zero as under a symmetry).

Criticality comes from the normal form at the point (Kuznetsov 2004): the first
Lyapunov coefficient of a Neimark–Sacker or Hopf point, the cubic coefficient of a
flip or pitchfork, from the second and third derivatives of the step map (or field)
by `jax.jvp`; "degenerate" where it is zero to rounding (a linear map). Beyond the
point the attractor is measured by simulation from near the equilibrium, all
parameter values at once under `vmap` (converged, a cycle with its amplitude and
rotation number, a period-k orbit, chaos by a positive Lyapunov exponent, or diverged
at a step), which cross-checks the criticality (`Bifurcation.simulated`).

The parameter is `"h"` (the step size), a regularizer's registry name (its weight:
`"r1"`), any numeric field of the game's or the method's PyTree found by name
(`"real_point"`, `"discriminator_scale"`, `"regularizers.0.weight"`), or a callable
`p ↦ (game, method)`.
"""

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.flatten_util import ravel_pytree

from ._analysis import _step_matrix
from ._games import AbstractGame, Players
from ._methods import AbstractMethod, AbstractStepMethod, carrying_game_state
from ._simulate import simulate


__all__ = ["Attractor", "Bifurcation", "Chart", "Continuation", "continuation",
           "numeric_parameters", "stability_chart"]


# --------------------------------------------------------------------------------------
# Parameters: names → a hashable setter `(game, method, h, p) → (game, method, h)`


def _get(tree, path):
    for part in path:
        tree = tree[part] if isinstance(part, int) else getattr(tree, part)
    return tree


def _is_number(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return True
    return (isinstance(x, (jax.Array, np.ndarray, np.generic)) and np.ndim(x) == 0
            and jnp.issubdtype(jnp.result_type(x), jnp.inexact))


def _numeric_paths(tree, path=()) -> list[tuple]:
    """Paths (attribute names, tuple indices) to the scalar numeric, non-static leaves
    of an equinox PyTree."""
    if _is_number(tree):
        return [path]
    found = []
    if isinstance(tree, eqx.Module):
        for field in dataclasses.fields(tree):
            if field.metadata.get("static", False):
                continue
            try:
                value = getattr(tree, field.name)
            except AttributeError:
                continue
            found += _numeric_paths(value, path + (field.name,))
    elif isinstance(tree, (tuple, list)):
        for i, value in enumerate(tree):
            found += _numeric_paths(value, path + (i,))
    return found


def _dotted(path) -> str:
    return ".".join(str(p) for p in path)


def numeric_parameters(game: AbstractGame, method: AbstractMethod) -> dict[str, tuple]:
    """The parameters `continuation` can vary on `(game, method)`, by name: `"h"`,
    every regularizer's registry name (its weight; one the game lacks is added with
    weight p), and the dotted path of every scalar numeric field of the two PyTrees
    (`"real_point"`, `"regularizers.0.weight"`, `"discriminator_scale"`), also
    reachable by its last name where that is unique. Values: `(owner, path)`."""
    from . import regularizers

    names: dict[str, tuple] = {"h": ("h", ())}
    for name in regularizers.names():
        names[name] = ("regularizer", (name,))
    by_last: dict[str, list] = {}
    for owner, tree in (("game", game), ("method", method)):
        for path in _numeric_paths(tree):
            names.setdefault(_dotted(path), (owner, path))
            names.setdefault(f"{owner}.{_dotted(path)}", (owner, path))
            by_last.setdefault(str(path[-1]), []).append((owner, path))
    for last, where in by_last.items():
        if len(where) == 1:
            names.setdefault(last, where[0])
    return names


@dataclasses.dataclass(frozen=True)
class _Setter:
    """`(game, method, h, p) → (game, method, h)` with the parameter at `p`. Hashable
    (a static argument of the compiled programs), so that equal settings share them."""

    owner: str
    path: tuple = ()
    function: Callable | None = None

    def __call__(self, game, method, h, p):
        if self.owner == "h":
            return game, method, p
        if self.owner == "callable":
            game, method = self.function(p)
            return game, method, h
        if self.owner == "regularizer":
            from . import regularizers

            name, index, options = self.path
            new = regularizers.build(name, p, dict(options))
            regs = tuple(game.regularizers)
            regs = regs[:index] + (new,) + regs[index + 1:]
            return eqx.tree_at(lambda g: g.regularizers, game, regs), method, h
        if self.owner == "game":
            return eqx.tree_at(lambda g: _get(g, self.path), game, p), method, h
        return game, eqx.tree_at(lambda m: _get(m, self.path), method, p), h


def _resolve(game, method, parameter) -> tuple[_Setter, str]:
    """The setter of `parameter` and its display name; a `ValueError` naming the
    valid parameters for an unknown one."""
    if callable(parameter) and not isinstance(parameter, str):
        return _Setter("callable", function=parameter), getattr(parameter, "__name__", "p")
    if not isinstance(parameter, str):
        raise ValueError(f"parameter must be a name or a callable p ↦ (game, method), got "
                         f"{parameter!r}")
    names = numeric_parameters(game, method)
    key = parameter.strip()
    if key not in names and key.lower() in names:
        key = key.lower()
    if key not in names:
        valid = [n for n in names if not n.startswith(("game.", "method."))]
        raise ValueError(f"unknown parameter {parameter!r}; valid numeric parameters of this "
                         f"game and method: {', '.join(valid)}")
    owner, path = names[key]
    if owner == "regularizer":
        name = path[0]
        if not hasattr(game, "regularizers"):
            raise ValueError(f"parameter {parameter!r} is a regularizer's weight, but "
                             f"{type(game).__name__} takes no regularizers")
        # The game's own `name` regularizer, its options read back through the option
        # table (`--opt lecam.decay=…` kept), rebuilt at each p; one the game lacks is
        # added, last, with its declared defaults.
        from . import regularizers

        regs = tuple(game.regularizers)
        found = ((i, regularizers.settings_of(name, r)) for i, r in enumerate(regs))
        index, (_, options) = next(((i, s) for i, s in found if s is not None),
                                   (len(regs), (None, {})))
        return _Setter("regularizer", (name, index, tuple(sorted(options.items())))), key
    return _Setter(owner, tuple(path)), key


class _Family(eqx.Module):
    """The game, method and step as functions of the parameter p."""

    game: AbstractGame
    method: AbstractMethod
    h: jax.Array | None
    template: Players
    setter: _Setter = eqx.field(static=True)

    def at(self, p):
        return self.setter(self.game, self.method, self.h, p)

    @property
    def unravel(self):
        """Flattened parameters → `Players` (built inside each compiled program: a
        closure passed in would be a new static argument, and recompile, every call)."""
        return ravel_pytree(self.template)[1]


# --------------------------------------------------------------------------------------
# Equilibria: Newton, pseudo-arclength, fold points


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


# --------------------------------------------------------------------------------------
# Normal forms: criticality from the derivatives of the map (or field) at the point


def _system(family, p, flat_y, key, analysis):
    """The map `F` of one step on `x = (y, method state)` and its fixed point `x*`
    (the state after one step from `y*`, as `step_matrix` takes it), or the field and
    `y*` for a flow analysis."""
    game, method, h = family.at(p)
    unravel = family.unravel
    if analysis == "flow":
        return (lambda f: _field_flat(game, unravel, f, key)), flat_y
    zero = jnp.zeros_like(h)
    y = unravel(flat_y)
    _, state = method.step(game, y, method.init(game, y, h, key), zero, h, key)
    moving, fixed = eqx.partition(state, eqx.is_inexact_array)
    flat, unravel_x = ravel_pytree((y, moving))

    def one_step(f):
        yi, si = unravel_x(f)
        y1, s1 = method.step(game, yi, eqx.combine(si, fixed), zero, h, key)
        return ravel_pytree((game.project(y1), eqx.filter(s1, eqx.is_inexact_array)))[0]

    return one_step, flat


def _directional(f, x, directions):
    """`∂ᵏF(x)[d₁, …, dₖ]` by nested forward-mode derivatives."""
    if not directions:
        return f(x)
    first, rest = directions[0], directions[1:]
    return jax.jvp(lambda z: _directional(f, z, rest), (x,), (first,))[1]


_ROWS = 8  # the forms are evaluated on 8 rows of directions (padded): one compilation


@eqx.filter_jit
def _forms(family, p, flat_y, key, analysis, u, v, w):
    """`(B(u, v), C(u, v, w))` of the step map (or field) at the point, row by row."""
    f, x = _system(family, p, flat_y, key, analysis)
    second = jax.vmap(lambda a, b: _directional(f, x, (a, b)))(u, v)
    return second, jax.vmap(lambda a, b, c: _directional(f, x, (a, b, c)))(u, v, w)


def _multilinear(form, *vectors) -> np.ndarray:
    """A real symmetric multilinear form at complex vectors, by expanding each into its
    real and imaginary parts (2ᵏ real evaluations, in one batched call)."""
    parts = [((np.real(v), 1.0), (np.imag(v), 1j)) for v in vectors]
    combos = list(itertools.product(*parts))
    rows = [np.stack([c[i][0] for c in combos]) for i in range(len(vectors))]
    weights = np.array([np.prod([c[i][1] for i in range(len(vectors))]) for c in combos])
    values = np.asarray(form(*rows), dtype=float)
    out = np.tensordot(weights, values, axes=1)
    return out.real if all(np.isrealobj(v) for v in vectors) else out


@dataclasses.dataclass(frozen=True)
class _NormalForm:
    kind: str
    coefficient: float
    criticality: str | None


def _critical_vectors(a: np.ndarray, target: complex):
    """The eigenvector `q` of `A` for the eigenvalue nearest `target` (`⟨q, q⟩ = 1`),
    the adjoint one `p`, `Aᵀp = μ̄p`, with `⟨p, q⟩ = p̄ᵀq = 1`, and the eigenvalue."""
    values, vectors = np.linalg.eig(a)
    i = int(np.argmin(np.abs(values - target)))
    mu, q = values[i], vectors[:, i]
    q = q / np.linalg.norm(q)
    values_t, vectors_t = np.linalg.eig(a.T)
    p = vectors_t[:, int(np.argmin(np.abs(values_t - np.conj(mu))))]
    p = p / np.conj(np.vdot(p, q))
    if abs(target.imag) == 0:  # a real eigenvalue: real vectors
        mu, q, p = mu.real, q.real, p.real
    return mu, q, p


def _normal_form(kind: str, a: np.ndarray, second, third, analysis: str, crossing: complex,
                 persists: bool, eps: float) -> _NormalForm:
    r"""The normal-form coefficient at a codimension-one point of a map `x ↦ F(x)` or a
    flow `ẋ = F(x)`, from `A = ∂F`, `B = ∂²F` (`second(u, v)`) and `C = ∂³F`
    (`third(u, v, w)`) at the point, with the critical eigenvectors `Aq = μq`,
    `Aᵀp = μ̄p`, `⟨q, q⟩ = ⟨p, q⟩ = 1` (Kuznetsov, *Elements of Applied Bifurcation
    Theory*, 3rd ed. 2004, chapters 3–5: the n-dimensional formulas on the centre
    manifold):

    - Neimark–Sacker (`μ = e^{iθ}`): the normal form `z ↦ e^{iθ}z(1 + d|z|²)`, first
      Lyapunov coefficient `Re d`,
      `d = ½e^{−iθ}⟨p, C(q,q,q̄) + 2B(q,(I−A)⁻¹B(q,q̄)) + B(q̄,(e^{2iθ}I−A)⁻¹B(q,q))⟩`;
      `Re d < 0`: supercritical (an attracting closed curve on the unstable side).
    - Hopf (`μ = iω`): `ℓ₁ = Re⟨p, C(q,q,q̄) − 2B(q,A⁻¹B(q,q̄)) +
      B(q̄,(2iωI−A)⁻¹B(q,q))⟩ / 2ω`; `ℓ₁ < 0`: supercritical.
    - flip (`μ = −1`): `w ↦ −(1+β)w + c w³`,
      `c = ⟨p, C(q,q,q)⟩/6 + ⟨p, B(q,(I−A)⁻¹B(q,q))⟩/2`; `c > 0`: supercritical (an
      attracting period-2 orbit on the unstable side).
    - `μ = +1` (map) or `0` (flow), `L = A − I` or `A`: on the centre manifold
      `w ↦ w + βw + a w² + b w³` (flow `ẇ = βw + a w² + b w³`), `a = ⟨p, B(q,q)⟩/2`.
      Where the branch turns (`persists=False`) a **fold**, coefficient `a`. Where the
      equilibrium persists through the point it is a branch point: **transcritical**
      (`a ≠ 0`: another branch crosses it, stability is exchanged) or **pitchfork**
      (`a = 0`, e.g. by a symmetry `F(−x) = −F(x)`), coefficient
      `b = ⟨p, C(q,q,q)⟩/6 + ⟨p, B(q,h₂)⟩/2` with `Lh₂ = −B(q,q)`, `⟨p, h₂⟩ = 0`;
      `b < 0`: supercritical.

    A coefficient that is zero to rounding (`≤ 1e3·eps` times the largest of its terms,
    or of 1) is **degenerate**: the cubic terms do not decide (a linear map: WGAN on the
    Dirac-GAN). The size of a coefficient depends on the normalisation `⟨q, q⟩ = 1`
    in the flattened coordinates; its sign does not."""
    n = a.shape[0]
    eye = np.eye(n)
    flow = analysis == "flow"

    def label(value, terms, negative_is_super=True):
        if abs(value) <= 1e3 * eps * max([1.0, *map(abs, terms)]):
            return "degenerate"
        return "supercritical" if (value < 0) == negative_is_super else "subcritical"

    if kind in ("neimark-sacker", "hopf"):
        mu, q, p = _critical_vectors(a, complex(crossing.real, abs(crossing.imag)))
        qc = np.conj(q)
        b_qqc = _multilinear(second, q, qc).real  # B(q, q̄) is real
        b_qq = _multilinear(second, q, q)
        c_term = np.vdot(p, _multilinear(third, q, q, qc))
        if flow:
            omega = mu.imag
            h11 = np.linalg.solve(a, b_qqc)
            h20 = np.linalg.solve(2j * omega * eye - a, b_qq)
            terms = (c_term, -2 * np.vdot(p, _multilinear(second, q, h11)),
                     np.vdot(p, _multilinear(second, qc, h20)))
            scale = 1 / (2 * omega)
            value = float(scale * sum(terms).real)
            terms = [scale * t for t in terms]
        else:
            rotation = mu / abs(mu)  # e^{iθ}
            h11 = np.linalg.solve(eye - a, b_qqc)
            h20 = np.linalg.solve(rotation**2 * eye - a, b_qq)
            terms = [0.5 * np.conj(rotation) * t for t in (
                c_term, 2 * np.vdot(p, _multilinear(second, q, h11)),
                np.vdot(p, _multilinear(second, qc, h20)))]
            value = float(sum(terms).real)
        return _NormalForm(kind, value, label(value, [abs(t) for t in terms]))
    if kind == "flip":
        _, q, p = _critical_vectors(a, -1.0 + 0j)
        h2 = np.linalg.solve(eye - a, _multilinear(second, q, q))
        terms = (p @ _multilinear(third, q, q, q) / 6, p @ _multilinear(second, q, h2) / 2)
        value = float(sum(terms))
        return _NormalForm(kind, value, label(value, terms, negative_is_super=False))
    # A real multiplier through +1 (an eigenvalue through 0).
    _, q, p = _critical_vectors(a, (0.0 if flow else 1.0) + 0j)
    b_qq = _multilinear(second, q, q)
    quadratic = float(p @ b_qq / 2)
    if not persists:
        return _NormalForm("fold", quadratic, None)
    if abs(quadratic) > 1e3 * eps * max(1.0, float(np.max(np.abs(b_qq)))):
        return _NormalForm("transcritical", quadratic, None)
    lin = a - (0 if flow else eye)
    bordered = np.block([[lin, q[:, None]], [p[None, :], np.zeros((1, 1))]])
    h2 = np.linalg.solve(bordered, np.concatenate([-b_qq, [0.0]]))[:n]
    terms = (p @ _multilinear(third, q, q, q) / 6, p @ _multilinear(second, q, h2) / 2)
    value = float(sum(terms))
    return _NormalForm("pitchfork", value, label(value, terms))


def _normal_form_at(family, p, flat_y, key, analysis, kind, crossing, persists, dtype):
    """`_normal_form` of the method's step map (or the field) at the point: `A` is the
    step matrix (or J) of the spectra, `B` and `C` nested `jax.jvp`s. None where they
    cannot be taken (a step that is not forward-differentiable)."""
    p = jnp.asarray(p, dtype)
    flat_y = jnp.asarray(flat_y, dtype)

    def evaluate(*rows):
        padded = [np.zeros((_ROWS, rows[0].shape[1])) for _ in range(3)]
        for i, r in enumerate(rows):
            padded[i][: len(r)] = r
        out = _forms(family, p, flat_y, key, analysis, *(jnp.asarray(x, dtype) for x in padded))
        return np.asarray(out[len(rows) - 2])[: len(rows[0])]

    try:
        jac, step = _spectra_matrices(family, p, flat_y, key, analysis == "map")
        a = np.asarray(step if analysis == "map" else jac, dtype=float)
        return _normal_form(kind, a, evaluate, evaluate, analysis, crossing, persists,
                            float(jnp.finfo(dtype).eps))
    except (TypeError, NotImplementedError, np.linalg.LinAlgError):
        return None


# --------------------------------------------------------------------------------------
# Results


@dataclasses.dataclass(frozen=True)
class Bifurcation:
    """A bifurcation of the branch: the parameter `value`, its `kind`
    (`"neimark-sacker"`, `"flip"`, `"hopf"`; for a multiplier through +1, an
    eigenvalue through 0: `"fold"` where the branch turns back, `"transcritical"` or
    `"pitchfork"` where the equilibrium persists through it), the crossing multiplier
    (maps) or eigenvalue (flows) there, the equilibrium (flattened), and:

    - `coefficient`: the normal form's (see `_normal_form`): the first Lyapunov
      coefficient (Neimark–Sacker, Hopf), the cubic one (flip, pitchfork) or the
      quadratic one (fold, transcritical); None where it could not be computed.
    - `criticality`, from the coefficient's sign: `"supercritical"` (an attracting
      cycle or orbit appears on the unstable side), `"subcritical"`, `"degenerate"`
      (the coefficient is zero to rounding: the cubic terms do not decide), or None
      (fold, transcritical; or unknown).
    - `simulated`: the cross-check by simulation, once the attractor beyond the point
      is measured: `"supercritical"` (the first settled runs beyond it are a bounded
      cycle or orbit), `"subcritical"` (they diverge) or None (undecided)."""

    value: float
    kind: str
    crossing: complex
    point: np.ndarray
    criticality: str | None = None
    coefficient: float | None = None
    simulated: str | None = None


@dataclasses.dataclass(frozen=True)
class Attractor:
    """What simulation from near the equilibrium settles on, per parameter value.

    `status`: `"converged"`, `"converging"` (still contracting: slow near a
    bifurcation), `"cycle"` (an invariant closed curve: `rotation` turns per step,
    `period` = 1/rotation steps), `"period-k"` (`period` = k), `"chaos"` (largest
    Lyapunov exponent per step `lyapunov` > 0), `"diverging"` (bounded so far but
    growing) or `"diverged"` (`diverged_at`: the step). `amplitude`: min/mean/max
    distance from the equilibrium (from the orbit's mean where none is known) over
    the last stretch (`(values, 3)`); `orbit`: the visited values of coordinate
    `coordinate` over the last stretch (the orbit diagram)."""

    values: np.ndarray
    status: np.ndarray
    amplitude: np.ndarray
    period: np.ndarray
    rotation: np.ndarray
    lyapunov: np.ndarray
    diverged_at: np.ndarray
    orbit: np.ndarray
    coordinate: str
    centre: str

    def to_json(self) -> list[dict]:
        rows = []
        for i, value in enumerate(self.values):
            rows.append({
                "value": float(value), "status": str(self.status[i]),
                "amplitude": {"min": self.amplitude[i, 0], "mean": self.amplitude[i, 1],
                              "max": self.amplitude[i, 2]},
                "period": self.period[i], "rotation_number": self.rotation[i],
                "lyapunov": self.lyapunov[i],
                "diverged_at": int(self.diverged_at[i]) if self.diverged_at[i] >= 0 else None})
        return rows


@dataclasses.dataclass(frozen=True)
class Continuation:
    """A branch of equilibria `points` (flattened, `(m, n)`) over the parameter
    `values` (`(m,)`, in the order followed; grid values where `on_grid`, arclength
    points past a fold otherwise), the eigenvalues of J there (`(m, n)`), the step
    map's multipliers (`(m, k)`, None for a flow analysis), the stability `margin`
    (`max|μ| − 1` or `max Re λ`) and `stable` (`margin < −tol`), the located
    `bifurcations` and the `attractor` simulated at the grid values (None if not
    asked). `grid`: the values asked for; `lost`: grid values with no equilibrium on
    the branch (past a fold)."""

    parameter: str
    analysis: str
    grid: np.ndarray
    values: np.ndarray
    points: np.ndarray
    eigenvalues: np.ndarray
    multipliers: np.ndarray | None
    margin: np.ndarray
    stable: np.ndarray
    on_grid: np.ndarray
    bifurcations: tuple[Bifurcation, ...]
    attractor: Attractor | None
    coordinates: tuple[str, ...]
    lost: np.ndarray

    def to_json(self) -> dict:
        pair = lambda z: [float(z.real), float(z.imag)]  # noqa: E731
        branch = []
        for i, value in enumerate(self.values):
            row = {"value": float(value), "point": [float(x) for x in self.points[i]],
                   "eigenvalues": [pair(e) for e in self.eigenvalues[i]],
                   "margin": float(self.margin[i]), "stable": bool(self.stable[i]),
                   "on_grid": bool(self.on_grid[i])}
            if self.multipliers is not None:
                row["multipliers"] = [pair(m) for m in self.multipliers[i]]
            branch.append(row)
        return {
            "parameter": self.parameter, "analysis": self.analysis,
            "coordinates": list(self.coordinates), "branch": branch,
            "bifurcations": [{"value": b.value, "kind": b.kind, "crossing": pair(b.crossing),
                              "criticality": b.criticality, "coefficient": b.coefficient,
                              "simulated_criticality": b.simulated,
                              "point": [float(x) for x in b.point]} for b in self.bifurcations],
            "lost": [float(v) for v in self.lost],
            "attractor": None if self.attractor is None else self.attractor.to_json(),
        }


# --------------------------------------------------------------------------------------
# continuation


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
      option table; added, with its default options, if the game has none), a numeric field of the game or method by name (see
      `numeric_parameters`), or a callable `p ↦ (game, method)`: for what lives in a
      closure rather than a field, e.g. Adam's β₁,
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
    from . import methods

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


# --------------------------------------------------------------------------------------
# Attractors




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

    def step(flat, n_step):
        yi, si = unravel_y(flat[:n]), unravel_s(flat[n:])
        t = n_step.astype(h.dtype) * h
        y1, s1 = method.step(game, yi, eqx.combine(si, fixed), t, h,
                             jax.random.fold_in(key, n_step))
        y1 = game.project(y1)
        return ravel_pytree((y1, eqx.filter(s1, eqx.is_inexact_array)))[0]

    def body(carry, n_step):
        flat, u, log_sum, bad_at = carry
        flat1, u1 = jax.jvp(lambda f: step(f, n_step), (flat,), (u,))
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


# --------------------------------------------------------------------------------------
# Two-parameter chart


@dataclasses.dataclass(frozen=True)
class Chart:
    """A two-parameter stability chart: the bifurcation `boundary` (rows `(x, y)`
    with their `kinds`), found by continuation in x at each y, over the simulated
    attractor `status` of the grid (`(len(y_values), len(x_values))`)."""

    x_parameter: str
    y_parameter: str
    x_values: np.ndarray
    y_values: np.ndarray
    boundary: np.ndarray
    kinds: tuple[str, ...]
    status: np.ndarray
    amplitude: np.ndarray

    def to_json(self) -> dict:
        return {"x_parameter": self.x_parameter, "y_parameter": self.y_parameter,
                "x_values": self.x_values, "y_values": self.y_values,
                "boundary": [{"x": float(x), "y": float(y), "kind": k}
                             for (x, y), k in zip(self.boundary, self.kinds)],
                "status": [[str(s) for s in row] for row in self.status]}


def stability_chart(
    game: AbstractGame, method: AbstractMethod, x: tuple[str, Sequence[float]],
    y: tuple[str, Sequence[float]], *, h: float | None = None, transient: int = 3000,
    record: int = 500, simulate_grid: bool = True, **kwargs,
) -> Chart:
    """The stability chart over two parameters `x = (name, values)` and
    `y = (name, values)` (e.g. `("h", …)` and `("r1", …)`): at each y value a
    `continuation` in x gives the bifurcation points (the boundary curve), and the
    grid's attractors (one `vmap` per row) the outcome underneath."""
    x_name, x_values = x
    y_name, y_values = y
    y_values = np.asarray(y_values, dtype=float)
    y_setter, _ = _resolve(game, method, y_name)
    if y_setter.owner == "h" and h is not None:
        raise ValueError("the y parameter is the step size: give no h")
    boundary, kinds, status, amplitude = [], [], [], []
    dtype = jnp.result_type(float)
    for value in y_values:
        g, m, hh = y_setter(game, method, None if h is None else jnp.asarray(h, dtype),
                            jnp.asarray(value, dtype))
        result = continuation(g, m, x_name, x_values, h=None if hh is None else float(hh),
                              attractor=simulate_grid, transient=transient, record=record,
                              **kwargs)
        for b in result.bifurcations:
            boundary.append((b.value, value))
            kinds.append(b.kind)
        if simulate_grid:
            status.append(result.attractor.status)
            amplitude.append(result.attractor.amplitude[:, 2])
    return Chart(x_name, y_name, np.asarray(x_values, float), y_values,
                 np.asarray(boundary, float).reshape(-1, 2), tuple(kinds),
                 np.asarray(status, dtype=object), np.asarray(amplitude, float))

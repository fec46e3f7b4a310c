r"""Normal forms at a bifurcation point: criticality from the second and third
derivatives of the step map (or field) by `jax.jvp` (Kuznetsov 2004): the first
Lyapunov coefficient of a Neimark–Sacker or Hopf point, the cubic coefficient of a
flip or pitchfork, the quadratic one of a transcritical point."""

import dataclasses
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._branch import _field_flat, _spectra_matrices


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

r"""Slices of a game's field around a point: what training looks like near an iterate.

Through a point `y₀` (a checkpoint of a run) and two orthonormal directions
`E = [e₁ e₂]`, the plane `y(a, b) = y₀ + a·e₁ + b·e₂` carries the projected field

    f(a, b) = Eᵀ v(y₀ + a·e₁ + b·e₂),

whose Jacobian at the origin is the game's Jacobian restricted to the plane,
`M = Eᵀ J(y₀) E` (two Jacobian-vector products). Its antisymmetric part
`A = (M − Mᵀ)/2` is the rotation in the plane (curl `M₂₁ − M₁₂`), its symmetric part
`S = (M + Mᵀ)/2` the potential part (divergence `tr M`: contraction where negative,
expansion where positive). In the rotation plane of a complex pair `λ = α ± iβ` of
`J`, `M` has exactly the eigenvalues `λ` and `λ̄`.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._analysis import _flat_field, eigenvalues, top_eigenvalues
from ._custom_types import Key
from ._games import AbstractGame, Players
from ._planes import DENSE_LIMIT, Plane, _slice_plane


class FieldSlice(eqx.Module):
    """The field of a game in a plane through `y₀` (see the module's docstring).

    `axis`: the offsets `a` (and `b`) of the grid from `y₀`; `field[..., 0]`,
    `field[..., 1]`: `f(a, b)` along `e₁`, `e₂` on the grid `(b, a)` (rows: `b`);
    `speed`: the full `‖v‖` there; `restricted`: `M = Eᵀ J(y₀) E`; `origin_field`:
    `Eᵀv(y₀)`; `origin_speed`: `‖v(y₀)‖`; `leading`: the leading eigenvalues of
    `J(y₀)` (empty if not computed); `step`: the training step of `y₀`, if known."""

    plane: Plane
    axis: np.ndarray
    field: np.ndarray
    speed: np.ndarray
    restricted: np.ndarray
    origin_field: np.ndarray
    origin_speed: float
    leading: np.ndarray
    step: int | None = eqx.field(static=True, default=None)

    @property
    def curl(self) -> float:
        """`∂f_b/∂a − ∂f_a/∂b = M₂₁ − M₁₂` at `y₀`: twice the rotation rate in the plane."""
        return float(self.restricted[1, 0] - self.restricted[0, 1])

    @property
    def divergence(self) -> float:
        """`∂f_a/∂a + ∂f_b/∂b = tr M` at `y₀`: < 0 contracts the plane, > 0 expands it."""
        return float(np.trace(self.restricted))

    @property
    def rotation(self) -> float:
        """`‖A‖²_F / ‖M‖²_F` in [0, 1]: the share of the restricted Jacobian that is
        rotation (1: a pure rotation, 0: a gradient field)."""
        total = float(np.sum(self.restricted**2))
        antisymmetric = (self.restricted - self.restricted.T) / 2
        return float(np.sum(antisymmetric**2)) / total if total else 0.0

    def grid_curl_divergence(self) -> tuple[float, float]:
        """Mean curl and divergence of `f` over the grid (central differences): the
        plane's character over the whole window, not only at `y₀`."""
        d = float(self.axis[1] - self.axis[0])
        du_db, du_da = np.gradient(self.field[..., 0], d)
        dw_db, dw_da = np.gradient(self.field[..., 1], d)
        return float(np.mean(dw_da - du_db)), float(np.mean(du_da + dw_db))

    def summary(self) -> dict:
        """The slice's numbers, JSON-ready."""
        curl, div = self.grid_curl_divergence()
        return {"step": self.step, "plane": self.plane.kind, "lim": float(self.axis[-1]),
                "curl": self.curl, "divergence": self.divergence, "rotation_share": self.rotation,
                "grid_curl": curl, "grid_divergence": div,
                "restricted_eigenvalues": [[float(e.real), float(e.imag)]
                                           for e in np.linalg.eigvals(self.restricted)],
                "leading_eigenvalues": [[float(e.real), float(e.imag)] for e in self.leading],
                "speed_at_origin": self.origin_speed,
                "projected_field_at_origin": [float(x) for x in self.origin_field]}


MAX_LIM = 1e6
"""The widest slice window: beyond ±1e6 a run counts as diverged (`simulate`), and the
grid's offsets must stay distinct numbers in float32."""


def field_slice(
    game: AbstractGame, y0: Players, plane: Plane | None = None, *, directions="eigen",
    lim: float | None = None, resolution: int = 21, key: Key | None = None,
    which: str = "magnitude", krylov: int | None = None, leading: int = 6,
    chunk: int | None = None, step: int | None = None,
) -> FieldSlice:
    r"""The field of `game` in a plane through `y0`: `f(a, b) = Eᵀ v(y₀ + a·e₁ + b·e₂)`
    on a `resolution × resolution` grid of `[−lim, lim]²`, in one compiled call
    (`lax.map` over the grid, `vmap` over `chunk` points at a time: default 1 on a CPU,
    where a scan of single evaluations of a network's field is as fast and compiles in
    half the time, 64 on an accelerator), with `M = Eᵀ J E` from two Jacobian-vector
    products and the `leading` eigenvalues of `J(y₀)`.

    `plane` defaults to `slice_plane(game, y0, directions=directions, which=which,
    krylov=krylov)`: `"eigen"` (the rotation plane of the leading complex pair,
    leading by `which`: `"magnitude"` (default) or `"real"`; matrix-free Arnoldi above
    `DENSE_LIMIT` parameters or when `krylov` is given), `"players"` (the generator's
    and discriminator's parts of `v(y₀)`) or two vectors. A game of two parameters is
    its full plane.

    `key` fixes the minibatch (default `jax.random.key(0)`): a stochastic game's slice
    is the field of one minibatch, the same at every point. `lim` defaults to
    `3‖c‖/σ_max(M)` with `c = Eᵀv(y₀)`, the distance at which the linear part of `f`
    is three times its value at `y₀` (between 10⁻³ and 1 × max(‖y₀‖, 1)), or 2.5 for a
    game of two parameters."""
    key = jax.random.key(0) if key is None else key
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 3:
        raise ValueError(f"resolution must be an integer of at least 3, got {resolution!r}")
    if chunk is None:
        chunk = 1 if jax.default_backend() == "cpu" else 64
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    if which not in ("real", "magnitude"):
        raise ValueError(f"which must be 'real' or 'magnitude', got {which!r}")
    if lim is not None and not (isinstance(lim, (int, float, np.floating)) and np.isfinite(lim)
                                and 0 < lim <= MAX_LIM):
        raise ValueError(f"lim must be a positive finite number, got {lim!r}; at most {MAX_LIM:g} "
                         f"(parameter units)")
    flat = ravel_pytree(y0)[0]
    values = linear = None
    if plane is None:
        plane, values, linear = _slice_plane(game, y0, directions=directions, which=which,
                                             krylov=krylov, key=key)
    elif plane.origin.size != flat.size:
        raise ValueError(f"the plane has {plane.origin.size} parameters, the game {flat.size}")
    plane = eqx.tree_at(lambda p: p.origin, plane, np.asarray(flat, dtype=float))
    basis = jnp.asarray(np.stack([plane.e1, plane.e2]), flat.dtype)
    if linear is None:
        linear = _linearisation(game, y0, basis, key)
    origin_field, origin_speed, restricted = (np.asarray(x, float) for x in linear)
    if lim is None:
        lim = _default_lim(flat, origin_field, restricted)
    if not (np.isfinite(lim) and lim > 0):
        raise ValueError(f"lim must be a positive finite number, got {lim}")
    axis = np.linspace(-lim, lim, resolution)
    a, b = np.meshgrid(axis, axis)
    offsets = jnp.asarray(np.stack([a.ravel(), b.ravel()], axis=-1), flat.dtype)
    projected, speed = _grid(game, y0, basis, offsets, key, chunk)
    if values is None and leading:
        values = (_sorted(eigenvalues(game, y0, key), which)
                  if flat.size <= DENSE_LIMIT and krylov is None
                  else top_eigenvalues(game, y0, leading, which=which, krylov=krylov or 60,
                                       key=key))
    leading_values = np.zeros(0, complex) if values is None else np.asarray(values)[:leading]
    return FieldSlice(plane, axis, np.asarray(projected, float).reshape(resolution, resolution, 2),
                      np.asarray(speed, float).reshape(resolution, resolution), restricted,
                      origin_field, float(origin_speed), leading_values, step)


def _sorted(values: np.ndarray, which: str) -> np.ndarray:
    order = (np.lexsort((-np.abs(values.imag), -values.real)) if which == "real"
             else np.argsort(-np.abs(values), kind="stable"))
    return values[order]


def _default_lim(flat, origin_field, restricted) -> float:
    if flat.size == 2:
        return 2.5
    scale = max(float(np.linalg.norm(flat)), 1.0)
    sigma = float(np.linalg.norm(restricted, 2))
    lim = 3 * float(np.linalg.norm(origin_field)) / sigma if sigma > 0 else scale
    return float(np.clip(lim, 1e-3 * scale, scale))


@eqx.filter_jit
def _linearisation(game, y0, basis, key):
    """`(Eᵀv(y₀), ‖v(y₀)‖, Eᵀ J(y₀) E)`: the projected field at `y₀`, the full speed
    there and the restricted Jacobian (two Jacobian-vector products)."""
    flat, field = _flat_field(game, y0, key)
    value, jv = jax.vmap(lambda e: jax.jvp(field, (flat,), (e,)), out_axes=(None, 0))(basis)
    return basis @ value, jnp.linalg.norm(value), basis @ jv.T


@eqx.filter_jit
def _grid(game, y0, basis, offsets, key, chunk):
    """`(Eᵀv(y), ‖v(y)‖)` at `y = y₀ + Eᵀ(a, b)` for every row of `offsets`: one
    compiled call, `vmap` over chunks of `chunk` points (bounded memory for big nets)."""
    flat, field = _flat_field(game, y0, key)

    def one(ab):
        v = field(flat + ab @ basis)
        return basis @ v, jnp.linalg.norm(v)

    return jax.lax.map(one, offsets, batch_size=chunk)

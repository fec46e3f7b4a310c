r"""Planes through a game's parameter space: the 2-D slices that portraits, the explorer
and `gandyn slice` draw a game of more than two parameters in — the rotation plane of
the Jacobian's leading complex pair (`eigen`), the players' plane (`players`), or two
named coordinates — and the projection of trajectories into them."""

import equinox as eqx
import numpy as np
from jax.flatten_util import ravel_pytree

from ._analysis import _krylov, jacobian
from ._custom_types import Key
from ._games import AbstractGame, Players


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


# Above this many parameters the eigenplane comes from Arnoldi, not a dense Jacobian.
DENSE_LIMIT = 1024
# The leading complex pair is sought among this many leading eigenvalues.
PAIR_CANDIDATES = 6


def slice_plane(game: AbstractGame, origin: Players | None = None, *,
                coordinates: tuple[int, int] | None = None, directions="eigen",
                which: str | None = None, krylov: int | None = None,
                key: Key | None = None) -> Plane:
    """The plane to draw a game's field in, through `origin` (default: the equilibrium,
    else the default initial point). A game of two parameters: their plane.
    Otherwise the two coordinates given (indices into the flattened parameters), or
    the plane of `directions` (orthonormalised; the other coordinates stay at
    `origin`'s):

    - `"eigen"` (default): the leading eigenvectors of the Jacobian at `origin`: the
      real and imaginary parts of the leading complex pair (the plane the linearised
      flow rotates in), else the eigenvectors of the two leading real eigenvalues.
      Leading: largest real part (`which="real"`, the default up to `DENSE_LIMIT`
      parameters, from the dense Jacobian) or largest modulus (`which="magnitude"`,
      the default beyond it, where `krylov` Arnoldi steps on Jacobian-vector products
      replace the dense Jacobian; give `krylov` to use Arnoldi on a small game too).
      The pair is sought among the `PAIR_CANDIDATES = 6` leading eigenvalues;
    - `"players"`: `(v_G(y₀), 0)/‖v_G‖` and `(0, v_D(y₀))/‖v_D‖`, the generator's and
      the discriminator's parts of the field at `origin` (orthogonal by construction);
    - two vectors `(d₁, d₂)`, flattened parameters or `Players` like `origin`."""
    return _slice_plane(game, origin, coordinates=coordinates, directions=directions,
                        which=which, krylov=krylov, key=key)[0]


def drawing_plane(game: AbstractGame, plane: str | tuple[int, int] | None = None) -> Plane:
    """The plane `portrait` and `explore` draw a game in, through its equilibrium (else
    its default start), chosen as `--plane` is (`parse_plane`):

    - `None`: the game's own (`game.plane()`: two coordinates, else `"eigen"`);
    - `"eigen"`: the rotation plane of the Jacobian's leading complex pair (`slice_plane`);
    - `"players"`: `(v_G, 0)/‖v_G‖` and `(0, v_D)/‖v_D‖` taken at the game's default
      start (at the equilibrium both parts of the field vanish): the directions in
      which each player first moves;
    - `(i, j)`: two coordinates, the others held at the origin's values.

    A game of two parameters is drawn in their plane whichever name is given."""
    if plane is None:
        return slice_plane(game, coordinates=game.plane())
    if isinstance(plane, str) and plane not in ("eigen", "players"):
        raise ValueError(f"unknown plane {plane!r}; choose from: eigen, players, or two "
                         f"coordinate indices")
    if not isinstance(plane, str):
        return slice_plane(game, coordinates=tuple(plane))
    through = slice_plane(game)
    if plane == "eigen" or through.kind == "full":
        return through
    try:
        start = slice_plane(game, game.init(), directions="players")
    except ValueError:
        raise ValueError("plane 'players': a player's field is zero at the game's default "
                         "start, so it gives that player no direction; choose eigen or two "
                         "parameters") from None
    return Plane(through.origin, start.e1, start.e2, start.labels,
                 "players' fields at the default start")


def _slice_plane(game, origin=None, *, coordinates=None, directions="eigen", which=None,
                 krylov=None, key=None) -> tuple[Plane, np.ndarray | None, tuple | None]:
    """`slice_plane`, with the leading eigenvalues it computed on the way and, from
    Arnoldi, the plane's linearisation `(Eᵀv(y₀), ‖v(y₀)‖, EᵀJE)` (each None if not)."""
    if origin is None:
        origin = game.equilibrium()
        origin = game.init() if origin is None else origin
    flat = np.asarray(ravel_pytree(origin)[0], dtype=float)
    n = flat.size
    if n < 2:
        raise ValueError("a game of one parameter has no plane to draw")
    if coordinates is None and n == 2 and isinstance(directions, str):
        coordinates = (0, 1)
    if coordinates is not None:
        i, j = coordinates
        if not (0 <= i < n and 0 <= j < n and i != j):
            raise ValueError(f"plane coordinates must be two different indices in 0..{n - 1}, "
                             f"got {coordinates}")
        names = game.coordinates()
        unit = lambda k: np.eye(1, n, k)[0]  # noqa: E731
        return Plane(flat, unit(i), unit(j), (names[i], names[j]),
                     "coordinates" if n > 2 else "full"), None, None
    if isinstance(directions, str) and directions == "players":
        v = game.field(origin, key)
        parts = [np.asarray(ravel_pytree(p)[0], dtype=float)
                 for p in (v.generator, v.discriminator)]
        if min(np.linalg.norm(p) for p in parts) == 0:
            raise ValueError("the generator's or the discriminator's field is zero at this point: "
                             "no players' plane; use directions='eigen'")
        e1 = np.concatenate([parts[0], np.zeros_like(parts[1])])
        e2 = np.concatenate([np.zeros_like(parts[0]), parts[1]])
        return Plane(flat, e1 / np.linalg.norm(e1), e2 / np.linalg.norm(e2), ("v_G", "v_D"),
                     "players' fields"), None, None
    if isinstance(directions, str):
        if directions != "eigen":
            raise ValueError(f"unknown directions {directions!r}; choose from: eigen, players, "
                             f"or two vectors")
        return _eigenplane(game, origin, flat, which, krylov, key)
    basis = _given_directions(directions, flat)
    return Plane(flat, basis[:, 0], basis[:, 1], ("d₁", "d₂"), "given directions"), None, None


def _given_directions(directions, flat: np.ndarray) -> np.ndarray:
    """Two direction vectors → an orthonormal basis `(n, 2)` of their span (Gram–Schmidt)."""
    try:
        d1, d2 = directions
    except (TypeError, ValueError):
        raise ValueError("directions must be 'eigen', 'players' or two vectors") from None
    vectors = [np.asarray(ravel_pytree(d)[0] if isinstance(d, Players) else d, dtype=float).ravel()
               for d in (d1, d2)]
    if any(v.size != flat.size for v in vectors):
        raise ValueError(f"each direction must have the game's {flat.size} parameters, got "
                         f"{[v.size for v in vectors]}")
    basis = np.stack(vectors, axis=1)
    if not np.all(np.isfinite(basis)):
        raise ValueError("directions must be finite")
    q, r = np.linalg.qr(basis)
    if abs(r[1, 1]) <= 1e-9 * max(abs(r[0, 0]), 1e-300):
        raise ValueError("the two directions are parallel (or one is zero): they span no plane")
    return q * np.sign(np.diag(r))  # same orientation as (d₁, d₂)


def _eigenplane(game, origin, flat, which, krylov, key):
    """`(plane, leading eigenvalues, linear)`: the plane of the leading complex pair
    (else of the two leading real eigenvectors). With Arnoldi, `linear` is
    `(Eᵀv(y₀), ‖v(y₀)‖, M)` with `M = EᵀJE = Cᵀ H_m C` by Rayleigh–Ritz (`E = V_m C`
    lies in the Krylov space, where `V_mᵀ J V_m = H_m`): no further Jacobian-vector
    products, nor their compilation. Dense: `linear` is None."""
    dense = krylov is None and flat.size <= DENSE_LIMIT
    which = ("real" if dense else "magnitude") if which is None else which
    if which not in ("real", "magnitude"):
        raise ValueError(f"which must be 'real' or 'magnitude', got {which!r}")
    if dense:
        values, vectors = np.linalg.eig(np.asarray(jacobian(game, origin, key), dtype=float))
    else:  # eigenvectors in the coordinates of the Arnoldi basis V_m
        krylov_basis, hessenberg, m, value = _krylov(game, origin, PAIR_CANDIDATES, krylov or 60,
                                                     key, 0, with_field=True)
        krylov_basis = np.asarray(krylov_basis, dtype=float)[:m]
        hessenberg = np.asarray(hessenberg, dtype=float)[:m, :m]
        values, vectors = np.linalg.eig(hessenberg)
    order = (np.lexsort((-np.abs(values.imag), -values.real)) if which == "real"
             else np.argsort(-np.abs(values), kind="stable"))
    values, vectors = values[order], vectors[:, order]
    # The pair is sought among the leading few only, dense or not, so that both find
    # the same plane (a pair far down the spectrum is not what drives the field).
    complex_pairs = [k for k in range(min(PAIR_CANDIDATES, len(values)))
                     if values[k].imag > 1e-9 * max(1.0, abs(values[k]))]
    if complex_pairs:
        # In the basis (Re x, −Im x) of λ = α + iβ (β > 0) the restricted Jacobian is
        # [[α, −β], [β, α]]: counter-clockwise, so the plane's curl is +2β > 0.
        v = vectors[:, complex_pairs[0]]
        basis, lam = np.stack([v.real, -v.imag], axis=1), values[complex_pairs[0]]
        kind = f"rotation plane of λ = {lam.real + 0.0:.3g} ± {abs(lam.imag):.3g}i"
    else:
        basis = np.stack([vectors[:, 0].real, vectors[:, 1].real], axis=1)
        kind = f"eigenvectors of λ = {values[0].real:.3g}, {values[1].real:.3g}"
    q, r = np.linalg.qr(basis)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # keep the orientation of `basis`
    linear = None
    if not dense:
        value = np.asarray(value, dtype=float)
        linear = (q.T @ (krylov_basis @ value), float(np.linalg.norm(value)),
                  q.T @ hessenberg @ q)
        q = krylov_basis.T @ q
        values = values[:PAIR_CANDIDATES]
    return Plane(flat, q[:, 0], q[:, 1], ("e₁", "e₂"), kind), values, linear


def oriented_plane(plane: Plane) -> Plane:
    """An eigenplane's axes with a fixed sign (each axis's largest component
    positive), so that the same start reads the same in every panel."""
    if plane.kind in ("full", "coordinates") or plane.kind.startswith("players"):
        return plane  # named axes (a coordinate, a player's field) keep their sign
    e1, e2 = (v * (1.0 if v[np.argmax(np.abs(v))] >= 0 else -1.0) for v in (plane.e1, plane.e2))
    return eqx.tree_at(lambda p: (p.e1, p.e2), plane, (e1, e2))


def axis_components(names, vector, count: int = 3) -> str:
    """The largest components of a unit vector by parameter, `0.71 θ1 − 0.71 ψ1 + …`."""
    order = np.argsort(-np.abs(vector), kind="stable")
    shown = [k for k in order[:count] if abs(vector[k]) > 1e-3]
    text = ""
    for i, k in enumerate(shown):
        sign = "−" if vector[k] < 0 else ("" if i == 0 else "+")
        text += f"{' ' if i else ''}{sign}{' ' if i and sign else ''}{abs(vector[k]):.2f}·{names[k]}"
    return text + (" + …" if np.sum(np.abs(vector) > 1e-3) > len(shown) else "")

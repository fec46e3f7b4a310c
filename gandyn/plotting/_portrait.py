"""Phase portraits of any game: its field in a plane of its parameters, with trajectories."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jax.flatten_util import ravel_pytree  # noqa: E402

from .._analysis import Plane, slice_plane  # noqa: E402
from .._games import AbstractGame, Players  # noqa: E402
from .._simulate import Solution, Status  # noqa: E402


_STATUS_COLOURS = {
    Status.CONVERGED: "tab:green",
    Status.CONVERGING: "tab:green",
    Status.CYCLING: "tab:blue",
    Status.DIVERGING: "tab:orange",
    Status.DIVERGED: "tab:red",
    Status.STALLED: "tab:purple",
    Status.MAX_STEPS: "tab:gray",
}


def dirac_coordinates(players: Players) -> tuple[np.ndarray, np.ndarray]:
    """`(θ, ψ)` of scalar Dirac-GAN states; ψ is the critic's weight (its bias is dropped)."""
    theta = np.asarray(players.generator)
    psi = np.asarray(players.discriminator)
    if psi.ndim > theta.ndim:
        psi = psi[..., 0]
    return theta, psi


def flatten_states(ys: Players, batch_ndim: int) -> np.ndarray:
    """States with `batch_ndim` leading axes → `(*batch, n)` flattened parameters, in
    `ravel_pytree` order."""
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(ys)]
    batch = leaves[0].shape[:batch_ndim]
    return np.concatenate([x.reshape(batch + (-1,)) for x in leaves], axis=-1)


def _field_on_plane(game: AbstractGame, plane: Plane, lim: float, n: int):
    """The field at the `n × n` grid of the plane's `[−lim, lim]²`, projected on its
    axes: `(axis, v·e1, v·e2)`."""
    axis = np.linspace(-lim, lim, n)
    a, b = np.meshgrid(axis, axis)
    template = game.init()
    points = jnp.asarray(plane.lift(a.ravel(), b.ravel()), dtype=ravel_pytree(template)[0].dtype)
    v = np.asarray(_field_at_points(game, template, points))
    return axis, (v @ plane.e1).reshape(a.shape), (v @ plane.e2).reshape(a.shape)


@eqx.filter_jit
def _field_at_points(game: AbstractGame, template: Players, points: jax.Array) -> jax.Array:
    """`v` at a batch of flattened states (rows of `points`, `template`'s layout), in
    one compiled call, kept between calls: every portrait of a game shares it."""
    _, unravel = ravel_pytree(template)
    return jax.vmap(lambda f: ravel_pytree(game.field(unravel(f), jax.random.key(0)))[0])(points)


def portrait(
    ax: plt.Axes,
    game: AbstractGame,
    solution: Solution | None = None,
    *,
    lim: float = 2.5,
    title: str | None = None,
    density: float = 1.0,
    plane: Plane | None = None,
) -> plt.Axes:
    """Draw the field of `game` in `plane` (default: `slice_plane(game)`, the two
    parameters of a 2-parameter game, else the leading eigenplane at the equilibrium)
    as streamlines coloured by speed `‖v‖`, the equilibrium as a star, and the
    trajectories of `solution` (batched or not) projected into the plane, each coloured
    by its status, starting at a dot. Axes are offsets from the plane's origin, plus
    the origin's own coordinates for a coordinate plane."""
    plane = slice_plane(game, coordinates=game.plane()) if plane is None else plane
    axis, u, w = _field_on_plane(game, plane, lim, 41)
    shift = _axis_shift(plane)
    speed = np.hypot(u, w)
    ax.streamplot(
        axis + shift[0], axis + shift[1], u, w, color=speed, cmap="Greys", density=density,
        linewidth=0.6, arrowsize=0.7,
    )
    if solution is not None:
        status = np.atleast_1d(np.asarray(solution.status))
        batch_ndim = np.ndim(solution.status) + 1
        flat = flatten_states(solution.ys, batch_ndim).reshape(len(status), -1, plane.origin.size)
        for path, code in zip(flat, status):
            a, b = plane.project(path)
            colour = _STATUS_COLOURS[Status(int(code))]
            ax.plot(a + shift[0], b + shift[1], color=colour, lw=1.2)
            ax.plot(a[0] + shift[0], b[0] + shift[1], "o", color=colour, ms=4)
    equilibrium = game.equilibrium()
    if equilibrium is not None:
        a, b = plane.project(np.asarray(ravel_pytree(equilibrium)[0], dtype=float))
        ax.plot([a + shift[0]], [b + shift[1]], marker="*", color="gold", mec="black", ms=12, zorder=5)
    ax.set_xlim(shift[0] - lim, shift[0] + lim)
    ax.set_ylim(shift[1] - lim, shift[1] + lim)
    ax.set_xlabel(_axis_label(game, plane, 0))
    ax.set_ylabel(_axis_label(game, plane, 1))
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def _axis_shift(plane: Plane) -> tuple[float, float]:
    """A coordinate plane is drawn in the coordinates' own values; an eigenplane in
    offsets from its origin."""
    if plane.kind in ("full", "coordinates"):
        return float(plane.origin @ plane.e1), float(plane.origin @ plane.e2)
    return 0.0, 0.0


_ROLES = {"θ": "generator", "ψ": "discriminator"}


def _axis_label(game: AbstractGame, plane: Plane, which: int) -> str:
    label = plane.labels[which]
    role = _ROLES.get(label)
    if role:
        return f"{label} ({role})"
    if plane.kind not in ("full", "coordinates"):
        return f"{label}: {plane.kind}" if which == 0 else label
    return label


def panel_grid(panels, draw, *, panel_size: float) -> plt.Figure:
    """A figure with one axes per entry of the ragged list of rows `panels`, each drawn
    by `draw(ax, *entry)`; unused cells are hidden."""
    rows, cols = len(panels), max(len(r) for r in panels)
    fig, axes = plt.subplots(
        rows, cols, figsize=(panel_size * cols, panel_size * rows), squeeze=False,
        layout="constrained",
    )
    for i, row in enumerate(panels):
        for j in range(cols):
            if j < len(row):
                draw(axes[i, j], *row[j])
            else:
                axes[i, j].axis("off")
    return fig


def portrait_grid(
    panels: Sequence[Sequence[tuple[AbstractGame, Solution | None, str]]],
    *,
    lim: float = 2.5,
    panel_size: float = 3.2,
    plane: Plane | None = None,
) -> plt.Figure:
    """A grid of portraits: `panels[row][col] = (game, solution, title)`, each in
    `plane` (default: each game's own, see `portrait`)."""
    fig = panel_grid(
        panels,
        lambda ax, game, solution, title: portrait(ax, game, solution, lim=lim, title=title,
                                                   plane=plane),
        panel_size=panel_size,
    )
    handles = [
        matplotlib.lines.Line2D([], [], color=c, label=s.label)
        for s, c in _STATUS_COLOURS.items() if s != Status.CONVERGING
    ]
    handles[0].set_label("converged / converging")
    columns = max(len(row) for row in panels)
    fig.legend(handles=handles, loc="outside lower center", fontsize=8,
               ncols=len(handles) if columns >= 3 else 3)
    return fig

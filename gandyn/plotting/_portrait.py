"""Phase portraits of any game: its field in a plane of its parameters, with trajectories."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

from .._games import AbstractGame, Players  # noqa: E402
from .._planes import (  # noqa: E402
    Plane as Plane,
    axis_components as axis_components,
    oriented_plane as oriented_plane,
    slice_plane,
)
from .._simulate import Solution, Status  # noqa: E402
from ._streamlines import draw_streamlines  # noqa: E402
from ._style import OKABE_ITO, STATUS_STYLE, fit_suptitle, outcome_text, status_handles, styled  # noqa: E402


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
    colorbar: bool = True,
) -> plt.Axes:
    """Draw the field of `game` in `plane` (default: `slice_plane(game)`, the two
    parameters of a 2-parameter game, else the leading eigenplane at the equilibrium)
    as streamlines coloured by speed `‖v‖` (with a colour bar), the equilibrium as a
    star, and the trajectories of `solution` (batched or not) projected into the
    plane, each drawn in its status's colour, line style and marker (a filled marker
    at the start, a hollow one at the end, an arrow for the direction); the outcome
    is written in the corner. The view widens (up to 3×) to keep every trajectory's
    finite part inside, or zooms in on trajectories that stay within a third of it. Axes are offsets from the plane's origin, plus the origin's
    own coordinates for a coordinate plane."""
    plane = oriented_plane(slice_plane(game, coordinates=game.plane()) if plane is None else plane)
    shift = _axis_shift(plane)
    paths = []
    if solution is not None:
        status = np.atleast_1d(np.asarray(solution.status))
        batch_ndim = np.ndim(solution.status) + 1
        flat = flatten_states(solution.ys, batch_ndim).reshape(len(status), -1, plane.origin.size)
        paths = [(plane.project(path), Status(int(code))) for path, code in zip(flat, status)]
        reach = [np.nanmax(np.abs(np.concatenate([a, b]))) for (a, b), _ in paths
                 if np.any(np.isfinite(a))]
        if reach:
            farthest = max(reach)
            # Widen (up to 3×) to keep every path in view, or zoom in on paths that
            # stay within a third of it (else a start near the equilibrium is a blob).
            lim = float(1.3 * farthest if 0 < farthest < lim / 3
                        else min(3 * lim, max(lim, 1.05 * farthest)))
    axis, u, w = _field_on_plane(game, plane, lim, 41)
    speed = np.hypot(u, w)
    lines = draw_streamlines(
        ax, axis + shift[0], axis + shift[1], u, w, color=speed, cmap="Greys", density=density,
        linewidth=0.6, arrowsize=0.7, norm=matplotlib.colors.Normalize(0, max(float(speed.max()), 1e-12) * 1.15),
    )
    if colorbar:
        ax.figure.colorbar(lines, ax=ax, shrink=0.8, pad=0.02, label="speed ‖v‖")
    alpha = 1.0 if len(paths) <= 3 else 0.8
    width = 1.4 if len(paths) <= 3 else 0.9
    equilibrium = game.equilibrium()
    centre = None if equilibrium is None else plane.project(
        np.asarray(ravel_pytree(equilibrium)[0], dtype=float))
    view = (shift[0] - lim, shift[0] + lim, shift[1] - lim, shift[1] + lim)
    for (a, b), code in paths:
        colour, style, marker = STATUS_STYLE[code]
        first, last_turn = _first_and_last_turn(a, b, centre)
        a, b = a + shift[0], b + shift[1]
        if first is None:
            ax.plot(a, b, color=colour, ls=style, lw=width, alpha=alpha, zorder=3)
        else:
            # Many turns (a slow spiral or a cycle): every turn drawn would fill an
            # annulus solid; the first and last turn are drawn in full, the ones between
            # faintly, in the same line style.
            ax.plot(a[first:last_turn + 1], b[first:last_turn + 1], color=colour, ls=style,
                    lw=0.5, alpha=0.3, zorder=2.5)
            ax.plot(a[:first + 1], b[:first + 1], color=colour, ls=style, lw=width, alpha=alpha,
                    zorder=3)
            ax.plot(a[last_turn:], b[last_turn:], color=colour, ls=style, lw=width, alpha=alpha,
                    zorder=3)
        ax.plot(a[0], b[0], marker, color=colour, mec="black", mew=0.5, ms=6, zorder=4)
        finite = np.flatnonzero(np.isfinite(a) & np.isfinite(b))
        if finite.size > 1:
            last = finite[-1]
            ax.plot(a[last], b[last], marker, mfc="white", mec=colour, mew=1.2, ms=6, zorder=4)
            k = _arrow_index(a, b, finite, view, before=first)
            if k is not None:
                ax.annotate("", xy=(a[k], b[k]), xytext=(a[k - 1], b[k - 1]),
                            arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.2,
                                        "mutation_scale": 14}, zorder=4, annotation_clip=True)
    if paths:
        counts = {}
        for _, code in paths:
            counts[code.label] = counts.get(code.label, 0) + 1
        outcome_text(ax, ", ".join(f"{n} {label}" if len(paths) > 1 else label
                                   for label, n in counts.items()))
    if equilibrium is not None:
        a, b = plane.project(np.asarray(ravel_pytree(equilibrium)[0], dtype=float))
        ax.plot([a + shift[0]], [b + shift[1]], marker="*", color=OKABE_ITO["yellow"], mec="black",
                ms=13, zorder=5, ls="none")
    ax.set_xlim(shift[0] - lim, shift[0] + lim)
    ax.set_ylim(shift[1] - lim, shift[1] + lim)
    ax.set_xlabel(_axis_label(game, plane, 0))
    ax.set_ylabel(_axis_label(game, plane, 1))
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def _first_and_last_turn(a: np.ndarray, b: np.ndarray, centre, turns: float = 2.5,
                         spread: float = 0.05):
    """For a path that winds more than `turns` times round `centre` (default: its own
    mean) with its turns close together (their radius changing by less than `spread`,
    relative, per turn: a slow spiral or a cycle, which drawn whole fills an annulus):
    the index where its first full turn ends and the one where its last full turn
    starts; `(None, None)` for any other path."""
    finite = np.isfinite(a) & np.isfinite(b)
    if finite.sum() < 3:
        return None, None
    ca, cb = (np.nanmean(a[finite]), np.nanmean(b[finite])) if centre is None else centre
    angle = np.full(a.shape, np.nan)
    angle[finite] = np.unwrap(np.arctan2(b[finite] - cb, a[finite] - ca))
    seen = angle[finite]
    wound = abs(seen[-1] - seen[0]) / (2 * np.pi)
    if wound < turns:
        return None, None
    first = int(np.flatnonzero(finite & (np.abs(angle - seen[0]) >= 2 * np.pi))[0])
    last = int(np.flatnonzero(finite & (np.abs(seen[-1] - angle) >= 2 * np.pi))[-1])
    if first >= last:
        return None, None
    radius = np.hypot(a - ca, b - cb)
    inner, outer = np.nanmedian(radius[:first + 1]), np.nanmedian(radius[last:])
    if min(inner, outer) <= 0 or abs(np.log(outer / inner)) > spread * (wound - 1):
        return None, None
    return first, last


def _arrow_index(a: np.ndarray, b: np.ndarray, finite: np.ndarray, view,
                 before: int | None = None) -> int | None:
    """Where to draw a path's direction arrow: about an eighth of the way along (half
    way round the first turn of a path of many, `before`), at a segment whose both ends
    lie well inside the view (an arrowhead at the frame would be clipped); None if the
    path has no such segment."""
    x0, x1, y0, y1 = view
    margin = 0.06 * (x1 - x0)
    inside = ((a > x0 + margin) & (a < x1 - margin) & (b > y0 + margin) & (b < y1 - margin))
    candidates = [k for k in finite[1:] if inside[k] and inside[k - 1]
                  and (a[k], b[k]) != (a[k - 1], b[k - 1])]
    if not candidates:
        return None
    target = finite[max(1, min(finite.size // 8, finite.size - 1))]
    if before is not None:
        target = min(target, max(1, before // 2))
    return min(candidates, key=lambda k: (k < target, abs(k - target)))


def shared_plane(games: Sequence[AbstractGame]) -> Plane | None:
    """One plane for panels of games with the same parameters and equilibrium, when the
    first game's eigenplane is invariant under each game's Jacobian there (so a start
    reads the same in every panel); None otherwise (each panel its own plane)."""
    from .._analysis import jacobian

    first = games[0]
    if len(first.coordinates()) <= 2 or first.equilibrium() is None:
        return None
    plane = oriented_plane(slice_plane(first, coordinates=first.plane()))
    basis = np.stack([plane.e1, plane.e2], axis=1)
    for game in games[1:]:
        eq = game.equilibrium()
        if eq is None or game.coordinates() != first.coordinates():
            return None
        if not np.allclose(np.asarray(ravel_pytree(eq)[0], float), plane.origin, atol=1e-9):
            return None
        image = np.asarray(jacobian(game, eq), dtype=float) @ basis
        residual = image - basis @ (basis.T @ image)
        if np.linalg.norm(residual) > 1e-6 * max(np.linalg.norm(image), 1e-12):
            return None
    return plane


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
        vector = plane.e1 if which == 0 else plane.e2
        return f"{label} = {axis_components(game.coordinates(), vector)}"
    return label


def panel_grid(panels, draw, *, panel_size: float, min_width: float = 6.0,
               extra_height: float = 0.0, gap: float = 0.75, right: float = 0.15,
               cell_aspect: float | None = None) -> plt.Figure:
    """A figure with one axes per entry of the ragged list of rows `panels`, each drawn
    by `draw(ax, *entry)`; unused cells are hidden. At least `min_width` inches wide,
    so that a title and a legend fit above and below a single column. Laid out with
    fixed margins (`gap` inches between panels; `fit_margins` fits the title's and the
    legend's room; `right` inches on the right; `cell_aspect`: each cell's height over
    its width, the figure's height then fitted to it), not by a layout engine:
    constrained layout measured every tick label of every panel twice, seconds for a
    3 × 3 grid."""
    rows, cols = len(panels), max(len(r) for r in panels)
    width = max(panel_size * cols, min_width)
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_size * rows + extra_height),
                             squeeze=False)
    fig._gandyn_grid = (rows, cols, gap, right, cell_aspect)
    fit_margins(fig, top=0.5, bottom=0.55 + extra_height)
    for i, row in enumerate(panels):
        for j in range(cols):
            if j < len(row):
                draw(axes[i, j], *row[j])
            else:
                axes[i, j].axis("off")
    return fig


LEFT = 0.8  # inches: the y label and tick labels


def fit_margins(fig: plt.Figure, *, top: float | None = None, bottom: float | None = None,
                legend=None) -> None:
    """Set a `panel_grid` figure's margins in inches: `top` (default: room for the
    suptitle), `bottom` (default: room for `legend`, placed at the bottom centre,
    and the x labels)."""
    rows, cols, gap, right, cell_aspect = fig._gandyn_grid
    width, height = fig.get_size_inches()
    renderer = None
    if top is None or (bottom is None and legend is not None):
        renderer = fig.canvas.get_renderer()
    if top is None:
        title = fig._suptitle
        # The suptitle sits 2% below the top; each panel's title above its axes.
        top = 0.45 + (0.02 * height + title.get_window_extent(renderer).height / fig.dpi
                      if title else 0.0)
    if bottom is None:
        bottom = 0.55 + (legend.get_window_extent(renderer).height / fig.dpi + 0.1
                         if legend is not None else 0.0)
    cell_w = (width - LEFT - right - (cols - 1) * gap) / cols
    if cell_aspect is not None:
        height = top + bottom + rows * cell_aspect * cell_w + (rows - 1) * gap
        fig.set_size_inches(width, height)
    cell_h = (height - top - bottom - (rows - 1) * gap) / rows
    fig.subplots_adjust(left=LEFT / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=gap / cell_w, hspace=gap / cell_h)


@styled
def portrait_grid(
    panels: Sequence[Sequence[tuple[AbstractGame, Solution | None, str]]],
    *,
    lim: float = 2.5,
    panel_size: float = 3.6,
    plane: Plane | None = None,
    suptitle: str | None = None,
) -> plt.Figure:
    """A grid of portraits: `panels[row][col] = (game, solution, title)`, each in
    `plane` (default: one plane shared by all panels where it can be, see
    `shared_plane`, else each game's own), under `suptitle` (the run's settings), with
    a legend of the outcomes that occur."""
    if plane is None:
        plane = shared_plane([entry[0] for row in panels for entry in row])
    fig = panel_grid(
        panels,
        lambda ax, game, solution, title: portrait(ax, game, solution, lim=lim, title=title,
                                                   plane=plane),
        panel_size=panel_size, extra_height=0.8, gap=0.95, right=0.7,
        cell_aspect=0.8,  # a square panel beside its colour bar
    )
    statuses = [np.asarray(entry[1].status).ravel() for row in panels for entry in row
                if entry[1] is not None]
    handles = status_handles(np.concatenate(statuses)) if statuses else []
    star = matplotlib.lines.Line2D([], [], marker="*", color=OKABE_ITO["yellow"], mec="black",
                                   ms=12, ls="none", label="equilibrium")
    handles = handles + [star] if any(e[0].equilibrium() is not None for r in panels for e in r) \
        else handles
    legend = None
    if handles:
        width = fig.get_figwidth()
        legend = fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                            ncols=max(1, min(len(handles), int(width // 1.9))), handlelength=3.2,
                            title="outcome (● start, ○ end)" if statuses else None)
    if suptitle:
        fit_suptitle(fig, suptitle)
    fit_margins(fig, legend=legend)
    return fig

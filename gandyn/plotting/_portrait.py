"""Phase portraits of the Dirac-GAN in the (θ, ψ) plane."""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._games import DiracGAN, Players  # noqa: E402
from .._simulate import Solution, Status  # noqa: E402


_STATUS_COLOURS = {
    Status.CONVERGED: "tab:green",
    Status.CONVERGING: "tab:green",
    Status.CYCLING: "tab:blue",
    Status.DIVERGING: "tab:orange",
    Status.DIVERGED: "tab:red",
    Status.STALLED: "tab:purple",
}


def dirac_coordinates(players: Players) -> tuple[np.ndarray, np.ndarray]:
    """`(θ, ψ)` of Dirac-GAN states; ψ is the critic's weight (its bias is dropped)."""
    theta = np.asarray(players.generator)
    psi = np.asarray(players.discriminator)
    if psi.ndim > theta.ndim:
        psi = psi[..., 0]
    return theta, psi


def _field_on_grid(game: DiracGAN, lim: float, n: int):
    axis = np.linspace(game.real_point - lim, game.real_point + lim, n)
    psi_axis = np.linspace(-lim, lim, n)
    theta, psi = np.meshgrid(axis, psi_axis)
    states = game.state(jnp.asarray(theta.ravel()), jnp.asarray(psi.ravel()))
    v = jax.vmap(lambda y: game.field(y, jax.random.key(0)))(states)
    u, w = dirac_coordinates(v)
    return axis, psi_axis, u.reshape(theta.shape), w.reshape(theta.shape)


def portrait(
    ax: plt.Axes,
    game: DiracGAN,
    solution: Solution | None = None,
    *,
    lim: float = 2.5,
    title: str | None = None,
    density: float = 1.0,
) -> plt.Axes:
    """Draw the field of `game` as streamlines coloured by speed `‖v‖` on `ax`, the
    equilibrium as a star, and the trajectories of `solution` (batched or not), each
    coloured by its status, starting at a dot."""
    theta_axis, psi_axis, u, w = _field_on_grid(game, lim, 41)
    speed = np.hypot(u, w)
    ax.streamplot(
        theta_axis, psi_axis, u, w, color=speed, cmap="Greys", density=density,
        linewidth=0.6, arrowsize=0.7,
    )
    if solution is not None:
        theta, psi = dirac_coordinates(solution.ys)
        status = np.atleast_1d(np.asarray(solution.status))
        theta, psi = np.atleast_2d(theta), np.atleast_2d(psi)
        for th, ps, code in zip(theta, psi, status):
            colour = _STATUS_COLOURS[Status(int(code))]
            ax.plot(th, ps, color=colour, lw=1.2)
            ax.plot(th[0], ps[0], "o", color=colour, ms=4)
    ax.plot([game.real_point], [0.0], marker="*", color="gold", mec="black", ms=12, zorder=5)
    ax.set_xlim(game.real_point - lim, game.real_point + lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("θ (generator)")
    ax.set_ylabel("ψ (discriminator)")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


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
    panels: Sequence[Sequence[tuple[DiracGAN, Solution | None, str]]],
    *,
    lim: float = 2.5,
    panel_size: float = 3.2,
) -> plt.Figure:
    """A grid of portraits: `panels[row][col] = (game, solution, title)`."""
    fig = panel_grid(
        panels,
        lambda ax, game, solution, title: portrait(ax, game, solution, lim=lim, title=title),
        panel_size=panel_size,
    )
    handles = [
        matplotlib.lines.Line2D([], [], color=c, label=s.label)
        for s, c in _STATUS_COLOURS.items() if s != Status.CONVERGING
    ]
    handles[0].set_label("converged / converging")
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8)
    return fig

"""Stability regions of methods with the scaled spectrum on top, and eigenvalue paths."""

from collections.abc import Sequence

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._analysis import stability_function  # noqa: E402
from ._portrait import fit_margins, panel_grid  # noqa: E402
from ._style import REGION_EDGE, REGION_FILL, VERDICT_STYLE, fit_suptitle, outcome_text, styled  # noqa: E402


def stability_region(
    ax: plt.Axes, method, scaled_eigenvalues: np.ndarray | None = None, *,
    extent: float = 3.5, title: str | None = None,
) -> plt.Axes:
    """Shade where the method contracts (`ρ(z) < 1`) in the complex `z = hλ` plane,
    draw its boundary, and mark each `hλ`: green inside (that mode contracts), red
    outside (it grows). Euler's region is the disc |1 + z| < 1, which the imaginary
    axis only touches; RK4's contains `[−2√2 i, 2√2 i]`.

    `method=None`: the points are the eigenvalues μ of a method's step matrix (for a
    method with no scalar stability function, such as alternating GD), drawn against
    the unit disc |μ| < 1, where they contract."""
    if method is None:
        return _multipliers(ax, np.asarray(scaled_eigenvalues), title)
    rho = stability_function(method)
    x = np.linspace(-extent, extent / 2, 301)
    y = np.linspace(-extent, extent, 401)
    zr, zi = np.meshgrid(x, y)
    growth = rho(zr + 1j * zi)
    ax.contourf(zr, zi, growth, levels=[0, 1], colors=[REGION_FILL])
    ax.contour(zr, zi, growth, levels=[1], colors=REGION_EDGE, linewidths=1.2)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    if scaled_eigenvalues is not None:
        z = np.asarray(scaled_eigenvalues)
        _mark(ax, z, rho(z))
    return _label(ax, "Re(hλ)", "Im(hλ)", title)


def _mark(ax: plt.Axes, points: np.ndarray, growth: np.ndarray, tol: float = 1e-6) -> None:
    """Each point by its growth per step, in colour and marker: blue circle contracts
    (< 1), purple square is neutral (= 1, cycles), vermillion triangle grows (> 1).
    The legend lists only the kinds that occur."""
    for mask, label in ((growth < 1 - tol, "contracts"),
                        (np.abs(growth - 1) <= tol, "neutral (cycles)"),
                        (growth > 1 + tol, "grows")):
        colour, marker = VERDICT_STYLE[label]
        if np.any(mask):
            ax.scatter(points.real[mask], points.imag[mask], c=colour, marker=marker,
                       edgecolors="k", zorder=3, s=36, label=label)
    ax.legend(loc="lower left", framealpha=0.9)


def _label(ax: plt.Axes, xlabel: str, ylabel: str, title: str | None) -> plt.Axes:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def _multipliers(ax: plt.Axes, mu: np.ndarray, title: str | None) -> plt.Axes:
    angle = np.linspace(0, 2 * np.pi, 400)
    ax.fill(np.cos(angle), np.sin(angle), color=REGION_FILL)
    ax.plot(np.cos(angle), np.sin(angle), color=REGION_EDGE, lw=1.2)
    _mark(ax, mu, np.abs(mu))
    lim = max(1.3, 1.1 * float(np.max(np.abs(mu), initial=0)))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    return _label(ax, "Re μ (step-matrix eigenvalue)", "Im μ", title)


@styled
def stability_grid(
    panels: Sequence[Sequence[tuple]], *, extent: float = 3.5, panel_size: float = 3.2,
    columns: int = 4, suptitle: str | None = None,
) -> plt.Figure:
    """A grid of `stability_region` panels: `panels[row] = [(method, hλ, title[,
    outcome]), …]`, one row per game, wrapped after `columns` panels (so seven
    methods make two rows of four, not a strip); `outcome` (e.g. the verdict and the
    largest stable step) is written in the panel's corner."""
    wrapped = [list(row[i:i + columns]) for row in panels for i in range(0, len(row), columns)]

    def draw(ax, method, z, title, outcome=None):
        stability_region(ax, method, z, extent=extent, title=title)
        if outcome:
            outcome_text(ax, outcome)

    fig = panel_grid(wrapped, draw, panel_size=panel_size, extra_height=0.6, gap=0.7,
                     cell_aspect=1.0)
    if suptitle:
        fit_suptitle(fig, suptitle)
    fit_margins(fig, bottom=0.55)
    return fig


def eigenvalue_paths(
    ax: plt.Axes, weights: np.ndarray, eigenvalues: np.ndarray, *, label: str = "γ",
    title: str | None = None,
) -> plt.Axes:
    """Eigenvalues (`eigenvalues[i]` at `weights[i]`) as paths in the complex plane,
    coloured by the weight; where the paths meet on the real axis the system is
    critically damped."""
    eig = np.asarray(eigenvalues)
    weights = np.asarray(weights)
    for k in range(eig.shape[1]):
        points = ax.scatter(eig[:, k].real, eig[:, k].imag, c=weights, cmap="viridis", s=12)
    ax.figure.colorbar(points, ax=ax, label=label)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    if title:
        ax.set_title(title)
    return ax

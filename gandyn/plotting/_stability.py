"""Stability regions of methods with the scaled spectrum on top, and eigenvalue paths."""

from collections.abc import Sequence

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._analysis import stability_function  # noqa: E402
from ._portrait import panel_grid  # noqa: E402


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
    ax.contourf(zr, zi, growth, levels=[0, 1], colors=["#cfe8cf"])
    ax.contour(zr, zi, growth, levels=[1], colors="darkgreen", linewidths=1)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    if scaled_eigenvalues is not None:
        z = np.asarray(scaled_eigenvalues)
        _mark(ax, z, rho(z))
    return _label(ax, "Re(hλ)", "Im(hλ)", title)


def _mark(ax: plt.Axes, points: np.ndarray, growth: np.ndarray, tol: float = 1e-6) -> None:
    """Each point coloured by its growth per step: green contracts (< 1), blue is
    neutral (= 1, cycles), red grows (> 1)."""
    for mask, colour, label in ((growth < 1 - tol, "tab:green", "contracts"),
                                (np.abs(growth - 1) <= tol, "tab:blue", "neutral (cycles)"),
                                (growth > 1 + tol, "tab:red", "grows")):
        if np.any(mask):
            ax.scatter(points.real[mask], points.imag[mask], c=colour, edgecolors="k", zorder=3,
                       s=30, label=label)
    ax.legend(fontsize=6, loc="lower left")


def _label(ax: plt.Axes, xlabel: str, ylabel: str, title: str | None) -> plt.Axes:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def _multipliers(ax: plt.Axes, mu: np.ndarray, title: str | None) -> plt.Axes:
    angle = np.linspace(0, 2 * np.pi, 400)
    ax.fill(np.cos(angle), np.sin(angle), color="#cfe8cf")
    ax.plot(np.cos(angle), np.sin(angle), color="darkgreen", lw=1)
    _mark(ax, mu, np.abs(mu))
    lim = max(1.3, 1.1 * float(np.max(np.abs(mu), initial=0)))
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    return _label(ax, "Re μ (step-matrix eigenvalue)", "Im μ", title)


def stability_grid(
    panels: Sequence[Sequence[tuple[object, np.ndarray, str]]], *, extent: float = 3.5,
    panel_size: float = 3.0,
) -> plt.Figure:
    """A grid of `stability_region` panels: `panels[row][col] = (method, hλ, title)`."""
    return panel_grid(
        panels,
        lambda ax, method, z, title: stability_region(ax, method, z, extent=extent, title=title),
        panel_size=panel_size,
    )


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
        ax.set_title(title, fontsize=9)
    return ax

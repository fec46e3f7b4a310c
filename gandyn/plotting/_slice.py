"""Slices of a game's field through a point of training: streamlines in a plane."""

from collections.abc import Sequence

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .._slice import FieldSlice  # noqa: E402
from ._streamlines import draw_streamlines  # noqa: E402
from ._style import fit_suptitle  # noqa: E402

_ROLES = {"v_G": "generator", "v_D": "discriminator", "θ": "generator", "ψ": "discriminator"}


def _shift(s: FieldSlice) -> tuple[float, float]:
    """A plane of coordinates is drawn in their own values (as `portrait` draws it);
    any other plane in offsets from `y₀`."""
    if s.plane.kind in ("full", "coordinates"):
        return float(s.plane.origin @ s.plane.e1), float(s.plane.origin @ s.plane.e2)
    return 0.0, 0.0


def _caption(s: FieldSlice) -> str:
    """Two lines: the plane, and its character in numbers (rotation share of
    `M = EᵀJE`, curl `M₂₁ − M₁₂`, divergence `tr M`)."""
    kind = "the full plane of both parameters" if s.plane.kind == "full" else s.plane.kind
    return (f"{kind}\nrotation {s.rotation:.0%} of M = EᵀJE\ncurl {s.curl:.3g} · "
            f"div {s.divergence:.3g}")


def _leading_text(s: FieldSlice, count: int = 4, per_line: int = 2) -> str:
    if s.leading.size == 0:
        return ""
    shown = []
    for lam in s.leading[:count]:
        tol = 1e-6 * max(1.0, abs(lam))
        if abs(lam.imag) > tol and any(abs(np.conj(lam) - x) < tol for x in shown):
            continue  # the other half of a pair already shown
        shown.append(lam)
    values = [f"{x.real:.3g} ± {abs(x.imag):.3g}i" if abs(x.imag) > 1e-12 else f"{x.real:.3g}"
              for x in shown]
    lines = [", ".join(values[k:k + per_line]) for k in range(0, len(values), per_line)]
    return "leading λ(J):\n" + ",\n".join(lines)


def slice_portrait(ax: plt.Axes, s: FieldSlice, *, title: str | None = None,
                   density: float = 1.0, colorbar: bool = True, legend: bool = True) -> plt.Axes:
    """Draw `s` as streamlines of `f(a, b) = Eᵀv` coloured by the projected speed
    `‖f‖` (with a colour bar), the checkpoint `y₀` at the origin and, where it falls
    in the window, the zero `−M⁻¹f(0)` of the linearised field (the centre the
    plane's flow turns around or heads to). The title states the plane and its
    rotation vs potential character; the leading eigenvalues of `J(y₀)` are written
    in the corner; `legend`: a legend of the markers below the axes."""
    field = np.where(np.isfinite(s.field), s.field, 0.0)
    speed = np.hypot(field[..., 0], field[..., 1])
    x0, y0 = _shift(s)
    lines = draw_streamlines(ax, s.axis + x0, s.axis + y0, field[..., 0], field[..., 1],
                             color=speed, cmap="viridis", density=density, linewidth=0.8,
                             arrowsize=0.8)
    if colorbar:  # beside the axes, exactly as tall (an equal-aspect panel is shorter
        # than its grid cell, which a colour bar with `ax=` would span)
        bar = ax.figure.colorbar(lines, cax=ax.inset_axes((1.04, 0.0, 0.05, 1.0)),
                                 label="projected speed ‖Eᵀv‖")
        bar.ax.tick_params(labelsize=9)
    ax.plot([x0], [y0], "o", color="#D55E00", mec="black", ms=6, zorder=5, label="y₀ (checkpoint)")
    lim = float(s.axis[-1])
    try:
        centre = -np.linalg.solve(s.restricted, s.origin_field)
    except np.linalg.LinAlgError:
        centre = None
    if centre is not None and np.all(np.abs(centre) <= lim):
        ax.plot([centre[0] + x0], [centre[1] + y0], "x", color="black", ms=8, mew=2, zorder=5,
                label="zero of the linearised field")
    ax.set_xlim(x0 - lim, x0 + lim)
    ax.set_ylim(y0 - lim, y0 + lim)
    ax.set_aspect("equal")
    for which, setter in enumerate((ax.set_xlabel, ax.set_ylabel)):
        label = s.plane.labels[which]
        role = f" ({_ROLES[label]})" if label in _ROLES else ""
        if s.plane.kind in ("full", "coordinates"):
            setter(f"{label}{role}", fontsize=9)
        else:
            setter(f"{'ab'[which]}: offset along {label}{role} from y₀", fontsize=9)
    ax.tick_params(labelsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, symmetric=True))
    heading = title if title is not None else ("" if s.step is None else f"step {s.step}")
    ax.set_title((heading + "\n" if heading else "") + _caption(s), fontsize=9)
    text = _leading_text(s)
    if text:
        ax.text(0.02, 0.02, text, transform=ax.transAxes, fontsize=9, va="bottom",
                bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8, "lw": 0.3})
    if legend:
        # Below the axes and their label: inside, it would hide part of the field.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=9,
                  frameon=False)
    return ax


def _legend_handles(axes) -> list:
    """One handle per marker label that occurs in any of `axes`."""
    handles = {}
    for ax in axes:
        for line in ax.get_lines():
            if not line.get_label().startswith("_"):
                handles.setdefault(line.get_label(), line)
    return list(handles.values())


def slice_figure(slices: Sequence[FieldSlice], titles: Sequence[str] | None = None, *,
                 columns: int = 3, panel_size: float = 4.2,
                 suptitle: str | None = None) -> plt.Figure:
    """A grid of `slice_portrait`s, one per slice (e.g. three points of a run)."""
    slices = list(slices)
    if not slices:
        raise ValueError("no slices to draw")
    titles = [None] * len(slices) if titles is None else list(titles)
    columns = min(columns, len(slices))
    rows = -(-len(slices) // columns)
    size = (panel_size * columns, 0.9 * panel_size * rows + 0.7)
    fig, axes = plt.subplots(rows, columns, figsize=size, squeeze=False, layout="constrained")
    # Room between panels for each one's colour bar and its ticks.
    fig.get_layout_engine().set(wspace=0.12)
    for k, ax in enumerate(axes.ravel()):
        if k < len(slices):
            slice_portrait(ax, slices[k], title=titles[k], legend=False)
        else:
            ax.axis("off")
    # One legend for every panel, below them all.
    fig.legend(handles=_legend_handles(axes.ravel()), loc="outside lower center", ncols=2,
               fontsize=9, frameon=False)
    if suptitle:
        fit_suptitle(fig, suptitle, fontsize=10)
    return fig


def slice_gif(path, slices: Sequence[FieldSlice], titles: Sequence[str] | None = None, *,
              fps: int = 2, suptitle: str | None = None) -> None:
    """An animation of `slice_portrait` over `slices` (one frame per checkpoint), as a
    GIF: how the local field changes during training. Each frame is in its own plane,
    under `suptitle` (the run's settings)."""
    slices = list(slices)
    titles = [None] * len(slices) if titles is None else list(titles)
    fig = plt.figure(figsize=(5.6, 6.4), layout="constrained")

    def frame(i):
        fig.clear()
        slice_portrait(fig.add_subplot(), slices[i], title=titles[i])
        if suptitle:
            fit_suptitle(fig, suptitle, fontsize=9)

    FuncAnimation(fig, frame, frames=len(slices)).save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)

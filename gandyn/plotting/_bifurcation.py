"""Bifurcation diagrams: attractor extent, orbit diagram and multipliers over a
parameter; two-parameter stability charts."""

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ._style import MIN_POINTS, OKABE_ITO, fit_suptitle, styled  # noqa: E402


# The house palette (Okabe & Ito, colour-blind safe), one colour per attractor outcome.
OUTCOME_COLOURS = {
    "converged": OKABE_ITO["blue"],
    "converging": OKABE_ITO["sky"],
    "cycle": OKABE_ITO["green"],
    "period-k": OKABE_ITO["orange"],
    "chaos": OKABE_ITO["vermillion"],
    "diverging": OKABE_ITO["purple"],
    "diverged": OKABE_ITO["black"],
}
KIND_NAMES = {"neimark-sacker": "Neimark–Sacker", "flip": "flip", "fold": "fold", "hopf": "Hopf",
              "transcritical": "transcritical", "pitchfork": "pitchfork",
              "branch-point": "branch point"}
# The normal-form coefficient of each kind: first Lyapunov (ℓ₁), cubic (c₃), quadratic (a₂).
COEFFICIENT_NAMES = {"neimark-sacker": "ℓ₁", "hopf": "ℓ₁", "flip": "c₃", "pitchfork": "c₃",
                     "fold": "a₂", "transcritical": "a₂"}
_FONT = MIN_POINTS


def _axis_label(name: str) -> str:
    """`h` → "step size h"; a regularizer's name → "its weight"; else the name."""
    from .. import regularizers

    if name == "h":
        return "step size h"
    if name in regularizers.registry:
        return f"{name} weight"
    return name


def _outcome(status: str) -> str:
    return "period-k" if str(status).startswith("period-") else str(status)


def _mark_bifurcations(ax, continuation, label: bool) -> None:
    for k, b in enumerate(continuation.bifurcations):
        ax.axvline(b.value, color="#555555", ls="--", lw=1)
        if label:
            text = f"{KIND_NAMES.get(b.kind, b.kind)}\n{continuation.parameter} = {b.value:.6g}"
            if b.coefficient is not None:  # the normal form's verdict, then the runs'
                name = COEFFICIENT_NAMES.get(b.kind, "coefficient")
                value = (f"{name} ≈ 0" if b.criticality == "degenerate"
                         else f"{name} = {b.coefficient:.3g}")
                text += f"\n{b.criticality} ({value})" if b.criticality else f"\n{value}"
            elif b.criticality:
                text += f"\n({b.criticality})"
            if b.simulated:
                text += f"\nruns: {b.simulated}"
            # Staggered heights, so that labels of nearby points do not overlap.
            ax.annotate(text, (b.value, 1 - 0.3 * (k % 2)), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", va="top", ha="left",
                        fontsize=_FONT, color="#333333",
                        bbox={"boxstyle": "round", "fc": "white", "ec": "#999999", "alpha": 0.85})


@styled
def bifurcation_diagram(continuation, *, title: str | None = None,
                        figsize=(8.0, 9.0)) -> plt.Figure:
    """Three panels over the parameter, sharing its axis:

    1. the attractor's extent: min–max distance from the equilibrium over the last
       stretch (bar) and its mean (dot), coloured by the outcome; diverged runs as ×
       at the top;
    2. the orbit diagram: the visited values of one coordinate after transients,
       with the equilibrium's (solid where stable, dashed where not);
    3. the step map's multipliers' moduli |μ| (unstable above 1), or for a flow
       analysis the real parts of J's eigenvalues (unstable above 0).

    Bifurcation points are dashed vertical lines, named with their value."""
    c, a = continuation, continuation.attractor
    fig, axes = plt.subplots(3 if a is not None else 1, 1, sharex=True, figsize=figsize,
                             layout="constrained", squeeze=False)
    axes = axes[:, 0]
    name = c.parameter
    if a is not None:
        ax = axes[0]
        finite = np.isfinite(a.amplitude[:, 2])
        top = float(np.max(a.amplitude[finite, 2])) if finite.any() else 1.0
        # At least the start's offset (1e-2): converged runs then sit visibly at 0.
        top = max(top * 1.15, 1e-2)
        seen = set()
        for i, v in enumerate(a.values):
            outcome = _outcome(a.status[i])
            colour = OUTCOME_COLOURS.get(outcome, "#999999")
            seen.add(outcome)
            if outcome == "diverged":
                ax.plot(v, top, marker="x", color=colour, ms=7, mew=1.5, clip_on=False)
                continue
            lo, mean, hi = a.amplitude[i]
            ax.plot([v, v], [lo, hi], color=colour, lw=3, alpha=0.6, solid_capstyle="butt")
            ax.plot(v, mean, "o", color=colour, ms=4)
        ax.set_ylim(0, top * 1.02)
        ax.set_ylabel(f"distance from the {a.centre}\n(min–max, dot: mean)", fontsize=_FONT)
        handles = [Line2D([], [], color=OUTCOME_COLOURS[o], lw=3,
                          marker="x" if o == "diverged" else "o", ls="none" if o == "diverged"
                          else "-", label=o) for o in OUTCOME_COLOURS if o in seen]
        ax.legend(handles=handles, fontsize=_FONT, loc="best", title="outcome",
                  title_fontsize=_FONT, framealpha=0.9)
        _mark_bifurcations(ax, c, True)

        ax = axes[1]
        index = list(c.coordinates).index(a.coordinate)
        for i, v in enumerate(a.values):
            orbit = a.orbit[i]
            orbit = orbit[np.isfinite(orbit)]
            ax.plot(np.full(orbit.size, v), orbit, ",", color="#333333", alpha=0.6)
            ax.plot(np.full(min(orbit.size, 60), v), orbit[-60:], ".", color="#333333", ms=1.5)
        eq = c.points[:, index]
        for mask, style, label in ((c.stable, "-", "equilibrium, stable"),
                                   (~c.stable, "--", "equilibrium, unstable")):
            shown = np.where(mask, eq, np.nan)
            if np.any(mask):
                ax.plot(c.values, shown, style, color="#0072B2", lw=1.5, label=label)
        shown = np.concatenate([a.orbit[np.isfinite(a.orbit)], eq[np.isfinite(eq)]])
        if shown.size:
            lo, hi = float(shown.min()), float(shown.max())
            half = max(0.55 * (hi - lo), 1e-2)
            ax.set_ylim(0.5 * (lo + hi) - half, 0.5 * (lo + hi) + half)
        ax.set_ylabel(f"{a.coordinate} after transients\n(orbit diagram)", fontsize=_FONT)
        if len(c.values):
            ax.legend(fontsize=_FONT, loc="upper left", framealpha=0.9)
        _mark_bifurcations(ax, c, False)
    ax = axes[-1]
    if not len(c.values):
        ax.text(0.5, 0.5, "no equilibrium found (Newton did not converge from the start):\n"
                "the attractor alone, measured around the orbit's mean", ha="center",
                va="center", transform=ax.transAxes, fontsize=_FONT + 1)
        ax.set_yticks([])
    elif c.analysis == "map" and c.multipliers is not None:
        moduli = np.abs(c.multipliers)
        ax.axhline(1, color="#D55E00", lw=1, label="|μ| = 1 (stability boundary)")
        for k in range(moduli.shape[1]):
            ax.plot(c.values, moduli[:, k], ".", color="#0072B2", ms=3,
                    label="|μ|, multipliers of the step map" if k == 0 else None)
        ax.set_ylabel("|μ| (step-map multipliers)", fontsize=_FONT)
    else:
        ax.axhline(0, color="#D55E00", lw=1, label="Re λ = 0 (stability boundary)")
        for k in range(c.eigenvalues.shape[1]):
            ax.plot(c.values, c.eigenvalues[:, k].real, ".", color="#0072B2", ms=3,
                    label="Re λ, eigenvalues of J" if k == 0 else None)
        ax.set_ylabel("Re λ (eigenvalues of J)", fontsize=_FONT)
    if len(c.values):
        ax.legend(fontsize=_FONT, loc="best", framealpha=0.9)
    _mark_bifurcations(ax, c, a is None)
    for upper in axes[:-1]:  # the shared axis is named once, under the last panel
        upper.set_xlabel(_axis_label(name), fontsize=_FONT + 1)
        upper.xaxis.label.set_visible(False)
    ax.set_xlabel(_axis_label(name), fontsize=_FONT + 1)
    lo, hi = float(np.min(c.grid)), float(np.max(c.grid))
    ratios = np.diff(np.log(np.sort(c.grid))) if lo > 0 else np.zeros(0)
    if ratios.size > 1 and hi / lo > 20 and np.allclose(ratios, ratios[0], rtol=1e-6):
        # A geometric grid (step sizes over decades): a log axis.
        ax.set_xscale("log")
        ax.set_xlim(lo / 1.15, hi * 1.15)
    else:
        pad = 0.02 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
    if title:
        fit_suptitle(fig, title, fontsize=_FONT + 1)
    return fig


@styled
def stability_chart_figure(chart, *, title: str | None = None, figsize=(7.5, 5.5)) -> plt.Figure:
    """The simulated outcome over the two-parameter grid (cells coloured by outcome)
    with the computed bifurcation boundary on top (markers by kind)."""
    outcomes = [o for o in OUTCOME_COLOURS]
    codes = np.vectorize(lambda s: outcomes.index(_outcome(s)) if _outcome(s) in outcomes
                         else -1, otypes=[float])(chart.status) if chart.status.size else None
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    if codes is not None:
        cmap = ListedColormap([OUTCOME_COLOURS[o] for o in outcomes])
        x, y = chart.x_values, chart.y_values
        ax.pcolormesh(_edges(x), _edges(y), np.ma.masked_less(codes, 0), cmap=cmap,
                      vmin=-0.5, vmax=len(outcomes) - 0.5, alpha=0.85, shading="flat")
        present = sorted({int(v) for v in codes.ravel() if v >= 0})
        handles = [Line2D([], [], color=OUTCOME_COLOURS[outcomes[k]], lw=8, alpha=0.85,
                          label=f"simulated: {outcomes[k]}") for k in present]
    else:
        handles = []
    markers = {"neimark-sacker": "o", "flip": "s", "fold": "^", "hopf": "D",
               "transcritical": "v", "pitchfork": "P", "branch-point": "X"}
    for kind in dict.fromkeys(chart.kinds):
        sel = np.array([k == kind for k in chart.kinds])
        pts = chart.boundary[sel]
        order = np.argsort(pts[:, 1])
        ax.plot(pts[order, 0], pts[order, 1], "-", marker=markers.get(kind, "o"), color="white",
                mec="black", mfc="white", lw=2.5, ms=6, zorder=3)
        handles.append(Line2D([], [], color="black", marker=markers.get(kind, "o"), mfc="white",
                              label=f"computed {KIND_NAMES.get(kind, kind)} boundary"))
    ax.set_xlabel(_axis_label(chart.x_parameter), fontsize=_FONT + 1)
    ax.set_ylabel(_axis_label(chart.y_parameter), fontsize=_FONT + 1)
    fig.legend(handles=handles, fontsize=_FONT, loc="outside lower center", ncol=3, framealpha=0.9)
    if title:
        fit_suptitle(fig, title, fontsize=_FONT + 1)
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])

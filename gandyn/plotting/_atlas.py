"""The stability atlas: heat maps of a sweep's outcome over step size × regularizer."""

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._metrics import FINAL_METRICS  # noqa: E402
from ._style import fit_suptitle, readable_on, styled  # noqa: E402

VMIN, VMAX = -8.0, 3.0


@styled
def atlas(rows: list[dict], *, panel_size: float = 3.2, title: str | None = None) -> plt.Figure:
    """One panel per loss (rows) × method (columns): the median over seeds of
    log₁₀(final distance to equilibrium), over step size (x) × regularizer (y), in
    cividis (readable under every colour vision deficiency); a cell where the median
    run diverged is hatched white. Each cell reads `k/n`: k of its n seeds converged
    (a seed still converging is told by the colour, its distance), in black or white,
    whichever contrasts with the cell. Each row is labelled on the right with the
    largest step at which every seed converged or is converging, at that step and every
    smaller one (`none`, a step, or `all`); the panel's title gives the unregularized
    row's and the best row's."""
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    regs = list(dict.fromkeys(r["regularizer"] for r in rows))
    steps = sorted({r["step"] for r in rows})
    height = max(2.2, 0.45 * len(regs) + 1.4)
    fig, axes = plt.subplots(len(losses), len(methods), squeeze=False, layout="constrained",
                             figsize=(max(panel_size * len(methods) + 1.2, 6.5),
                                      height * len(losses) + 1.2))
    cmap = mpl.colormaps["cividis"].with_extremes(over="white")
    norm = mpl.colors.Normalize(VMIN, VMAX)
    image = None
    for i, loss in enumerate(losses):
        for j, method in enumerate(methods):
            grid = np.full((len(regs), len(steps)), np.nan)
            good = np.zeros_like(grid, dtype=int)
            total = np.zeros_like(good)
            cells = {}
            for r in rows:
                if (r["loss"], r["method"]) == (loss, method):
                    cells.setdefault((regs.index(r["regularizer"]), steps.index(r["step"])), []).append(r)
            for (a, b), cell in cells.items():
                values = [np.inf if r["status"] == "diverged" or r["final_distance"] is None
                          else np.log10(max(r["final_distance"], 1e-30)) for r in cell]
                grid[a, b] = np.median(values)
                good[a, b] = sum(r["status"] == "converged" for r in cell)
                total[a, b] = len(cell)
            ax = axes[i, j]
            shown = np.where(np.isinf(grid), VMAX + 1, np.clip(grid, VMIN, VMAX))
            image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto", origin="lower",
                              interpolation="nearest")
            for a in range(len(regs)):
                for b in range(len(steps)):
                    if np.isnan(grid[a, b]):
                        continue
                    if np.isinf(grid[a, b]):
                        ax.add_patch(mpl.patches.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False,
                                                           hatch="///", ec="0.55", lw=0))
                    colour = readable_on(cmap(norm(shown[a, b])) if np.isfinite(grid[a, b])
                                         else "white")
                    ax.text(b, a, f"{good[a, b]}/{total[a, b]}", ha="center", va="center",
                            fontsize=9, color=colour)
            ax.set_xticks(range(len(steps)), [f"{h:.2g}" for h in steps], rotation=45)
            ax.set_yticks(range(len(regs)), regs if j == 0 else [""] * len(regs))
            limits = [_row_limit(cells, steps, a) for a in range(len(regs))]
            ax.set_title(f"{loss} · {method}\n{_limits_summary(limits, regs, steps)}")
            ax.set_xlabel("step size h")
            ax.set_ylabel("regularizer" if j == 0 else "(same rows)")
            right = ax.secondary_yaxis("right")
            right.set_yticks(range(len(regs)), [_limit_text(k, steps) for k in limits])
            right.tick_params(labelsize=9, length=0)
            if j == len(methods) - 1:
                right.set_ylabel("every seed stable up to h")
    bar = fig.colorbar(image, ax=axes, extend="max", shrink=0.8,
                       label="median final log₁₀ ‖y − y*‖")
    bar.ax.tick_params(labelsize=9)
    note = ("cell text k/n: k of n seeds converged (reached the equilibrium) · colour: median "
            "final log₁₀ distance to the equilibrium (lower is better) · white, hatched: "
            "diverged · right: every seed stable (converged or converging) up to h")
    fit_suptitle(fig, (title + "\n" if title else "") + note)
    return fig


def _row_limit(cells: dict, steps: list[float], row: int) -> int:
    """The index of the largest grid step `h` such that every seed of regularizer
    `row` converged (or is converging) at every grid step up to `h`; −1 if not even at
    the smallest."""
    k = -1
    for b in range(len(steps)):
        cell = cells.get((row, b), [])
        if not cell or not all(r["status"] in ("converged", "converging") for r in cell):
            break
        k = b
    return k


def _limit_text(k: int, steps: list[float]) -> str:
    """A row's limit as its right-hand label: `none`, `0.14`, or `all` (every grid step)."""
    return "none" if k < 0 else "all" if k == len(steps) - 1 else f"{steps[k]:.2g}"


def _limits_summary(limits: list[int], regs: list[str], steps: list[float]) -> str:
    """A panel's second title line from the rows' limits that occur: the unregularized
    row's (where the sweep has one) and the best row's, e.g. `none: never stable · best
    r1=1: all h`."""
    def said(k):
        return ("never stable" if k < 0 else "all h" if k == len(steps) - 1
                else f"h ≤ {steps[k]:.2g}")

    best = max(range(len(regs)), key=lambda a: limits[a])
    parts = []
    if "none" in regs:
        parts.append(f"none: {said(limits[regs.index('none')])}")
    if regs[best] != "none" or not parts:
        parts.append(f"best {regs[best]}: {said(limits[best])}")
    return " · ".join(parts)


@styled
def training_atlas(rows: list[dict], metric: str | None, *, panel_size: float = 3.2,
                   title: str | None = None) -> plt.Figure:
    """A training sweep's atlas: one panel per loss (× data, width, depth when the sweep
    varies them; rows) × method (columns), over step size (x) × regularizer (y); colour:
    the median over seeds of the final metric (log₁₀ KL for a toy target, log₁₀ FD for
    images; lower is better); a cell whose every seed diverged is hatched white. Each
    cell reads `k/n`: k of its n seeds trained (every mode or class covered). `metric`:
    the rows' column to draw (`gandyn.sweeps.final_metric(rows)`: `kl` or `fd`), or any
    other numeric column, e.g. a recorded `dynamics/max_re_eig_J`, drawn on a linear
    scale (the final metrics, positive and lower-is-better, on a log scale)."""
    log = metric in FINAL_METRICS

    def shown_value(r):
        return np.log10(max(r[metric], 1e-12)) if log else float(r[metric])

    nets = list(dict.fromkeys((r["data"], r["width"], r["depth"]) for r in rows))
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    panels = [(loss, net) for net in nets for loss in losses]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    regs = list(dict.fromkeys(r["regularizer"] for r in rows))
    steps = sorted({r["step"] for r in rows})
    height = max(2.2, 0.45 * len(regs) + 1.4)
    fig, axes = plt.subplots(len(panels), len(methods), squeeze=False, layout="constrained",
                             figsize=(max(panel_size * len(methods) + 1.4, 6.5),
                                      height * len(panels) + 1.4))
    values = [shown_value(r) for r in rows
              if metric and r.get(metric) is not None and r["status"] != "diverged"]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-6:
        low, high = low - 0.5, high + 0.5
    # As the Dirac atlas: dark is a small (good) value, yellow a large one.
    cmap = mpl.colormaps["cividis"].with_extremes(over="white")
    norm = mpl.colors.Normalize(low, high)
    image = None
    for i, (loss, net) in enumerate(panels):
        for j, method in enumerate(methods):
            grid = np.full((len(regs), len(steps)), np.nan)
            cells: dict[tuple, list[dict]] = {}
            for r in rows:
                if (r["loss"], (r["data"], r["width"], r["depth"]), r["method"]) == (loss, net, method):
                    cells.setdefault((regs.index(r["regularizer"]), steps.index(r["step"])), []).append(r)
            for (a, b), cell in cells.items():
                good = [shown_value(r) for r in cell
                        if metric and r.get(metric) is not None and r["status"] != "diverged"]
                grid[a, b] = np.median(good) if good else np.inf
            ax = axes[i, j]
            shown = np.where(np.isinf(grid), high + 1, grid)
            image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto", origin="lower",
                              interpolation="nearest")
            for (a, b), cell in cells.items():
                if np.isinf(grid[a, b]):
                    ax.add_patch(mpl.patches.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False,
                                                       hatch="///", ec="0.55", lw=0))
                colour = readable_on(cmap(norm(shown[a, b])) if np.isfinite(grid[a, b]) else "white")
                trained = sum(r["status"] == "trained" for r in cell)
                ax.text(b, a, f"{trained}/{len(cell)}", ha="center", va="center", fontsize=9,
                        color=colour)
            ax.set_xticks(range(len(steps)), [f"{h:.2g}" for h in steps], rotation=45)
            ax.set_yticks(range(len(regs)), regs if j == 0 else [""] * len(regs))
            data, width, depth = net
            ax.set_title(f"{loss} · {method}" + (f"\n{data}, width {width}, depth {depth}"
                                                  if len(nets) > 1 or i == 0 else ""))
            ax.set_xlabel("learning rate")
            ax.set_ylabel("regularizer" if j == 0 else "(same rows)")
    name = {"kl": "KL(target ‖ generated)", "fd": "Fréchet distance", "fd_pixels": "pixel FD",
            "energy": "energy distance", "dynamics/max_re_eig_J": "max Re λ(J)",
            "dynamics/max_im_eig_J": "max Im λ(J)", "dynamics/hamiltonian": "½‖v‖²",
            "dynamics/path_cosine": "path cosine"}.get(metric, str(metric))
    what = f"log₁₀ {name}" if log else name
    bar = fig.colorbar(image, ax=axes, extend="max", shrink=0.8,
                       label=f"median final {what}")
    bar.ax.tick_params(labelsize=9)
    note = (f"cell text k/n: k of n seeds trained (every mode / class covered) · colour: median "
            f"final {what} over non-diverged seeds{' (lower is better)' if log else ''} · "
            "white, hatched: every seed diverged")
    fit_suptitle(fig, (title + "\n" if title else "") + note)
    return fig

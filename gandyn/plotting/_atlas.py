"""The stability atlas: heat maps of a sweep's outcome over step size × regularizer."""

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def atlas(rows: list[dict], *, panel_size: float = 3.0) -> plt.Figure:
    """One panel per loss (rows) × method (columns): the median over seeds of
    log₁₀(final distance to equilibrium), over step size (x) × regularizer (y).
    Diverged runs count as +∞ (darkest); each cell is annotated with how many seeds
    converged or are converging."""
    losses = list(dict.fromkeys(r["loss"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    regs = list(dict.fromkeys(r["regularizer"] for r in rows))
    steps = sorted({r["step"] for r in rows})
    fig, axes = plt.subplots(len(losses), len(methods), squeeze=False, layout="constrained",
                             figsize=(panel_size * len(methods) + 1, 0.5 * panel_size * len(losses) + 0.3 * len(regs) * len(losses)))
    cmap = plt.get_cmap("RdYlGn_r").with_extremes(over="black")
    vmin, vmax = -8.0, 3.0
    image = None
    for i, loss in enumerate(losses):
        for j, method in enumerate(methods):
            grid = np.full((len(regs), len(steps)), np.nan)
            good = np.zeros_like(grid, dtype=int)
            for a, reg in enumerate(regs):
                for b, h in enumerate(steps):
                    cell = [r for r in rows if (r["loss"], r["method"], r["regularizer"], r["step"]) == (loss, method, reg, h)]
                    if not cell:
                        continue
                    values = [np.inf if r["status"] == "diverged" or r["final_distance"] is None
                              else np.log10(max(r["final_distance"], 1e-30)) for r in cell]
                    grid[a, b] = np.median(values)
                    good[a, b] = sum(r["status"] in ("converged", "converging") for r in cell)
            ax = axes[i, j]
            image = ax.imshow(np.clip(grid, vmin, vmax + 1), cmap=cmap, vmin=vmin, vmax=vmax,
                              aspect="auto", origin="lower")
            for a in range(len(regs)):
                for b in range(len(steps)):
                    if not np.isnan(grid[a, b]):
                        ax.text(b, a, str(good[a, b]), ha="center", va="center", fontsize=6,
                                color="white" if grid[a, b] > vmax - 1 else "black")
            ax.set_xticks(range(len(steps)), [f"{h:.2g}" for h in steps], fontsize=6, rotation=45)
            ax.set_yticks(range(len(regs)), regs if j == 0 else [""] * len(regs), fontsize=7)
            ax.set_title(f"{loss} · {method}", fontsize=8)
            if i == len(losses) - 1:
                ax.set_xlabel("step h", fontsize=7)
    fig.colorbar(image, ax=axes, extend="max", shrink=0.6,
                 label="median log₁₀ distance to equilibrium (black: diverged)")
    return fig

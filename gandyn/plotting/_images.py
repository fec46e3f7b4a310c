"""Image figures: sample grids (PNG) and their animation over training."""

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._io import atomic_path  # noqa: E402
from ._style import STYLE, fit_suptitle, history_row, row_text, styled  # noqa: E402


def tile(images, columns: int = 8, gap: int = 1) -> np.ndarray:
    """Images `(n, C, H, W)` in `[−1, 1]` → one `(rows·(H+gap), columns·(W+gap)[, 3])`
    array in `[0, 1]`, a grid with `gap` white pixels between cells (one channel:
    grey levels; three: RGB)."""
    x = np.clip((np.asarray(images, float) + 1) / 2, 0, 1)
    n, c, h, w = x.shape
    rows = -(-n // columns)
    grid = np.ones((rows * (h + gap) - gap, columns * (w + gap) - gap, c))
    for k in range(n):
        r, q = divmod(k, columns)
        grid[r * (h + gap) : r * (h + gap) + h, q * (w + gap) : q * (w + gap) + w] = x[k].transpose(1, 2, 0)
    return grid[..., 0] if c == 1 else grid


def save_image_grid(path, images, columns: int = 8, scale: int = 4) -> None:
    """`tile` written as a PNG, each pixel enlarged `scale`×; via a temporary file
    and a rename, so the PNG is whole or absent."""
    grid = np.repeat(np.repeat(tile(images, columns), scale, axis=0), scale, axis=1)
    with atomic_path(path) as tmp:
        plt.imsave(tmp, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1, format="png")


@styled
def sample_figure(images, *, step: int, seed: int = 0, row: dict | None = None,
                  settings: str | None = None, columns: int = 8) -> plt.Figure:
    """A grid of samples `(n, C, H, W)` in a figure titled with the step, the seed, the
    logged Fréchet distance (and classes covered) and the run's settings."""
    grid = tile(images, columns)
    fig = plt.figure(figsize=(5.2, 5.9), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(" · ".join(p for p in (f"step {step:,}", f"seed {seed}", row_text(row)) if p))
    if settings:
        fit_suptitle(fig, settings, fontsize=9)
    return fig


@styled
def image_grids(samples: dict[int, np.ndarray], *, seed: int = 0, columns: int = 5,
                per_step: int = 16, history=None, suptitle: str | None = None) -> plt.Figure:
    """Sample grids of one seed at (up to `columns`) evenly spaced log points, each
    titled with its step and logged Fréchet distance."""
    steps = sorted(samples)
    chosen = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, columns).astype(int))]
    fig, axes = plt.subplots(1, len(chosen), figsize=(max(2.6 * len(chosen), 6.5), 3.6),
                             squeeze=False, layout="constrained")
    for ax, step in zip(axes[0], chosen):
        grid = tile(samples[step][seed][:per_step], columns=int(np.sqrt(per_step)))
        ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1)
        fd = row_text(history_row(history, step, seed))
        ax.set_title(f"step {step:,}" + (f"\n{fd}" if fd else ""))
        ax.axis("off")
    if suptitle:
        fit_suptitle(fig, f"{suptitle} · seed {seed}")
    return fig


def image_gif(path, samples: dict[int, np.ndarray], *, seed: int = 0, fps: int = 4,
              history=None, suptitle: str | None = None) -> None:
    """An animation of one seed's sample grid over the log points, as a GIF, each frame
    under `suptitle` (the run's settings): one image and one title, changed in place
    from frame to frame (`write_animation`)."""
    from ._animate import write_animation

    steps = sorted(samples)
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(4.2, 4.0 if suptitle is None else 5.0),
                               layout="constrained")
        if suptitle:
            fit_suptitle(fig, suptitle, fontsize=9)
        first = tile(samples[steps[0]][seed])
        image = ax.imshow(first, cmap="gray" if first.ndim == 2 else None, vmin=0, vmax=1)
        ax.axis("off")

        def frame(i):
            image.set_data(tile(samples[steps[i]][seed]))
            fd = row_text(history_row(history, steps[i], seed))
            ax.set_title(f"step {steps[i]:,} · seed {seed}" + (f"\n{fd}" if fd else ""))

        write_animation(path, fig, len(steps), frame, fps=fps, dynamic=[image, ax.title])
    plt.close(fig)

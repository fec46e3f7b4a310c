"""TensorBoard event files of a training run (written with tensorboardX, the optional
extra `gandyn[tensorboard]`), so that `tensorboard --logdir runs` compares runs.

Per seed a folder `tensorboard/seed_<s>` of the run folder: the recorder's scalars
under their own names (`dynamics/max_re_eig_J`, …; the logged rotation share as
`dynamics/rotation_share`), every other logged number under `metrics/<name>`, and each
player's Hessian spectral density as a histogram (`dynamics/hessian_density_G`, `…_D`)
and, for images, the kept samples of every log point as a grid (`samples`)."""

import shutil
import sys
from pathlib import Path

import numpy as np

from ._recorder import PREFIX, density_on_grid

FOLDER = "tensorboard"
MISSING = ("TensorBoard event files skipped: tensorboardX is not installed "
           "(pip install 'gandyn[tensorboard]')")
_NOT_SCALARS = {"step", "seed"}


def tag(key: str) -> str:
    """The TensorBoard name of a logged key."""
    if key.startswith(PREFIX):
        return key
    if key == "rotation_share":
        return PREFIX + key
    return f"metrics/{key}"


def _histogram(writer, name: str, nodes, weights, step: int, size: int, bins: int = 40) -> None:
    """The SLQ density as a TensorBoard histogram: counts are eigenvalues (weight ×
    the player's number of parameters `size`)."""
    nodes, weights = np.asarray(nodes, float), np.asarray(weights, float)
    if not nodes.size:
        return
    low, high = float(nodes.min()), float(nodes.max())
    if high <= low:
        high = low + 1e-12
    edges = np.linspace(low, high, bins + 1)
    counts = density_on_grid(nodes, weights, edges) * size
    writer.add_histogram_raw(name, min=low, max=high, num=float(size),
                             sum=float(size * weights @ nodes),
                             sum_squares=float(size * weights @ nodes**2),
                             bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(),
                             global_step=step)


def write_events(run_dir: Path, history: list[dict], densities: dict[int, dict],
                 sizes: dict[str, int], images: dict[int, np.ndarray] | None = None) -> bool:
    """Write the run's event files into `run_dir/tensorboard` (a complete new folder
    replaces the old one: written aside, then renamed). `sizes`: each player's number
    of parameters (`{"G": …, "D": …}`); `images[step]`: generated images `(seeds, n, C,
    H, W)` in `[−1, 1]`, drawn as 8-wide grids of the first 64. Returns False, after one
    line on stderr saying how to get them, without tensorboardX."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        print(MISSING, file=sys.stderr)
        return False
    final, aside = Path(run_dir) / FOLDER, Path(run_dir) / f".{FOLDER}.tmp"
    shutil.rmtree(aside, ignore_errors=True)
    for seed in sorted({row["seed"] for row in history}):
        writer = SummaryWriter(logdir=str(aside / f"seed_{seed}"), flush_secs=3600)
        try:
            for row in (r for r in history if r["seed"] == seed):
                for key, value in row.items():
                    if key in _NOT_SCALARS or isinstance(value, bool) \
                            or not isinstance(value, (int, float)):
                        continue  # None (not finite), text
                    writer.add_scalar(tag(key), float(value), global_step=row["step"])
            for step in sorted(densities):
                for player, density in densities[step].items():
                    if seed < len(density["nodes"]):
                        _histogram(writer, f"{PREFIX}hessian_density_{player}",
                                   density["nodes"][seed], density["weights"][seed], step,
                                   sizes[player])
            for step, batch in sorted((images or {}).items()):
                if seed < len(batch) and len(batch[seed]):
                    from .plotting import tile

                    grid = tile(np.asarray(batch[seed][:64]))
                    writer.add_image("samples", grid, global_step=step,
                                     dataformats="HW" if grid.ndim == 2 else "HWC")
        finally:
            writer.close()
    shutil.rmtree(final, ignore_errors=True)
    aside.rename(final)
    return True

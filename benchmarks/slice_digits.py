"""Time to slice the default digits run at a checkpoint (target: under 30 s on 2 cores).

The default image GAN of `gandyn train --data digits` (DCGAN-style ConvGAN, width 32,
latent 32, batch 64, NS-GAN, Adam 1e-3): `gandyn slice RUN_DIR --step N` end to end, as a
user runs it (a fresh process: loading the checkpoint, compiling, Arnoldi on
Jacobian-vector products for the rotation plane, the 21 × 21 grid of field evaluations
in one batched call, the figure and slices.json), then the same steps timed one by one
in this process, cold (with compilation) and warm. The end-to-end time is taken with
the persistent compilation cache off (`GANDYN_COMPILE_CACHE=0`: a first use) and on,
once it holds the programs (every later use).

    python benchmarks/slice_digits.py [--run RUN_DIR] [--step N] [--train-steps 500]

Without `--run` it first trains the default digits run for `--train-steps` steps (the
slice's cost does not depend on how long the run trained: the parameters have the same
size at every step) into a temporary folder.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine  # noqa: E402


def gandyn(*args: str, cache: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds of `gandyn ARGS` in a fresh process (it must succeed);
    `cache=False` turns off the persistent compilation cache (everything is compiled).
    CPU seconds (all threads) say what the work costs whatever else the machine runs."""
    env = {**os.environ, "GANDYN_COMPILE_CACHE": "1" if cache else "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from gandyn.cli import main; main()", *args],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode:
        raise SystemExit(f"gandyn {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a digits run folder (default: train one)")
    parser.add_argument("--step", type=int, help="the checkpoint to slice (default: the last)")
    parser.add_argument("--train-steps", type=int, default=500)
    args = parser.parse_args()
    scratch = tempfile.TemporaryDirectory(prefix="gandyn-slice-bench-")
    run = args.run
    if run is None:
        seconds, _ = gandyn("train", "--data", "digits", "--steps", str(args.train_steps),
                            "--no-gif", "--out", scratch.name)
        run = next(Path(scratch.name).glob("*-train"))
        print(f"trained the default digits run for {args.train_steps} steps in {seconds:.0f} s")

    import jax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from jax.flatten_util import ravel_pytree

    from gandyn._slice import field_slice
    from gandyn._train_runs import kept_points as _load
    from gandyn.plotting import slice_portrait

    start = time.perf_counter()
    game, points, key = _load(run, None if args.step is None else [args.step], 0)
    step = max(points) if args.step is None else args.step
    loaded = time.perf_counter() - start
    y = points[step]
    size = ravel_pytree(y)[0].size

    out = Path(scratch.name) / "slices"
    command = ("slice", str(run), "--step", str(step), "--no-gif", "--out", str(out))
    end_to_end, end_to_end_cpu = gandyn(*command, cache=False)
    gandyn(*command)  # fills the persistent compilation cache (if it was empty)
    cached, cached_cpu = gandyn(*command)

    def timed():
        start = time.perf_counter()
        s = field_slice(game, y, krylov=60, step=step, key=jax.random.fold_in(key, step))
        return s, time.perf_counter() - start

    s, cold = timed()
    _, warm = timed()
    start = time.perf_counter()
    fig, ax = plt.subplots(figsize=(5.6, 5.2), layout="constrained")
    slice_portrait(ax, s)
    fig.savefig(Path(scratch.name) / "figure.png", dpi=100)
    figure = time.perf_counter() - start

    print(machine())
    print(f"default digits ConvGAN, {size:,} parameters, step {step}")
    print(f"gandyn slice RUN --step {step}, end to end (fresh process, compiling everything): "
          f"{end_to_end:.1f} s wall, {end_to_end_cpu:.1f} s CPU (target < 30 s: "
          f"{'met' if end_to_end < 30 else 'NOT met'}); with the compilation cache filled: "
          f"{cached:.1f} s wall, {cached_cpu:.1f} s CPU")
    print(f"  load settings + checkpoint: {loaded:.1f} s; field_slice cold {cold:.1f} s, "
          f"warm {warm:.1f} s (Arnoldi 60 steps + 21 × 21 grid); figure {figure:.1f} s")
    print(f"  plane: {s.plane.kind}; rotation {s.rotation:.0%}, curl {s.curl:.3g}, "
          f"divergence {s.divergence:.3g}")
    scratch.cleanup()


if __name__ == "__main__":
    main()

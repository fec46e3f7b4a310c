"""A ring-8 training sweep (`gandyn sweep --data ring8`) on 1 process against 2 processes
(`--processes 2`, `jax.distributed` on this machine), and its cost per run against one
`gandyn train` run of the same settings, as ratios, all from whole commands (start-up,
compiling from a warm compile cache, training, metrics, merging). The grid: `--lrs`
learning rates × {none, r1=1} × `--seeds` seeds trained at once per configuration, with
the networks of `--width` × `--depth`.

    python benchmarks/distributed_sweep.py [--steps 2000] [--seeds 8] [--lrs 4] [--width 32]

The default is the issue's 64 runs × 2,000 steps; `--steps 300 --seeds 2 --lrs 2` is a
small version (8 runs)."""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def gandyn(args, env) -> float:
    """Wall seconds of one `gandyn` command (which must succeed)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from gandyn.cli import main; main()", *map(str, args)],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"gandyn {' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--lrs", type=int, default=4, help="learning rates, from 3e-4 to 3e-3")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=2)
    args = parser.parse_args()
    lrs = [float(f"{x:.2g}") for x in np.geomspace(3e-4, 3e-3, args.lrs)]
    common = ["--data", "ring8", "--width", args.width, "--depth", args.depth, "--steps", args.steps,
              "--log-every", args.steps, "--loss", "nsgan", "--method", "adam"]
    sweep = ["sweep", *common, "--seeds", args.seeds, "--reg", "none", "--reg", "r1=1",
             *[x for h in lrs for x in ("--step", h)]]
    runs = len(lrs) * 2 * args.seeds
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GANDYN_CACHE_DIR": f"{tmp}/cache", "PYTHONPATH": str(ROOT)}
        out = Path(tmp)
        print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}, "
              f"{os.cpu_count()} CPUs")
        print(f"{runs} runs: {len(lrs)} learning rates × 2 regularizers × {args.seeds} seeds, "
              f"{args.steps:,} steps, MLPs {args.width} × {args.depth}")
        # Fill the compile cache (a process of a multi-process run compiles programs of its
        # own: their keys name the processes' devices).
        gandyn([*sweep, "--out", out / "warm"], env)
        gandyn([*sweep, "--out", out / "warm2", "--processes", 2], env)
        one = gandyn([*sweep, "--out", out / "one"], env)
        two = gandyn([*sweep, "--out", out / "two", "--processes", 2], env)
        gandyn(["train", *common, "--step", lrs[0], "--seeds", 1, "--no-gif", "--out", out / "warm-train"], env)
        train = gandyn(["train", *common, "--step", lrs[0], "--seeds", 1, "--no-gif", "--out",
                        out / "train"], env)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"1 process: {one:.1f} s ({one / runs:.2f} s per run); 2 processes: {two:.1f} s")
    print(f"speed-up of 2 processes over 1: {one / two:.2f}×")
    print(f"one `gandyn train` run of the same settings: {train:.1f} s")
    print(f"cost per run in the sweep / one train run: {one / runs / train:.3f}× "
          f"(2 processes: {two / runs / train:.3f}×)")


if __name__ == "__main__":
    main()

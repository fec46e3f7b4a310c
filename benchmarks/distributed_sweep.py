"""A ring-8 training sweep (`gandyn sweep --data ring8`) on 1 process against N processes
(`--processes 2`, `jax.distributed` on this machine; more than the machine's cores are
started by hand, `--coordinator … --num-processes N --process-id i`, as a cluster's
launcher would), and its cost per run against one `gandyn train` run of the same
settings, as ratios, all from whole commands (start-up, loading the compiled programs
from the compile cache, training, metrics, merging). The grid: `--lrs` learning rates
× {none, r1=1} × `--seeds` seeds trained at once per configuration (one unit of work),
with the networks of `--width` × `--depth`.

    python benchmarks/distributed_sweep.py [--steps 2000] [--seeds 8] [--lrs 4] [--width 32]
                                           [--processes 2 4] [--repeats 2]

The compile cache is filled by one 1-process run first: the N-process runs load what
it compiled (each worker is a single-process JAX, with the keys of a lone process).
Each measurement prints the load average beside it. The default is the issue's 64 runs
× 2,000 steps (units of ≈ 8 s on a quiet machine); `--steps 8000 --lrs 2` gives 4
units of ≥ 30 s; `--steps 300 --seeds 2 --lrs 2` is a small version (8 runs)."""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _command(args) -> list[str]:
    return [sys.executable, "-c", "from gandyn.cli import main; main()", *map(str, args)]


def _load() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def gandyn(args, env) -> float:
    """Wall seconds of one `gandyn` command (which must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(_command(args), env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"gandyn {' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return elapsed


def by_hand(args, processes: int, env) -> float:
    """Wall seconds of `processes` workers started here, joined through a coordinator."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        coordinator = f"127.0.0.1:{s.getsockname()[1]}"
    start = time.perf_counter()
    workers = [subprocess.Popen(_command([*args, "--coordinator", coordinator, "--num-processes",
                                          processes, "--process-id", i, "--timeout", 120]),
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True) for i in range(processes)]
    errors = [w.communicate()[1] for w in workers]
    elapsed = time.perf_counter() - start
    for w, err in zip(workers, errors):
        if w.returncode != 0:
            sys.exit(f"a worker of {processes} failed:\n{err[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--lrs", type=int, default=4, help="learning rates, from 3e-4 to 3e-3")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--processes", type=int, nargs="+", default=[2],
                        help="process counts to compare with 1")
    parser.add_argument("--repeats", type=int, default=1, help="measurements of each count")
    parser.add_argument("--no-train", action="store_true", help="skip the `gandyn train` run")
    args = parser.parse_args()
    lrs = [float(f"{x:.2g}") for x in np.geomspace(3e-4, 3e-3, args.lrs)]
    common = ["--data", "ring8", "--width", args.width, "--depth", args.depth,
              "--steps", args.steps, "--log-every", args.steps, "--loss", "nsgan",
              "--method", "adam"]
    sweep = ["sweep", *common, "--seeds", args.seeds, "--reg", "none", "--reg", "r1=1",
             *[x for h in lrs for x in ("--step", h)]]
    runs, units = len(lrs) * 2 * args.seeds, len(lrs) * 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    times: dict[int, list[float]] = {1: [], **{n: [] for n in args.processes}}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GANDYN_CACHE_DIR": f"{tmp}/cache", "PYTHONPATH": str(ROOT)}
        out = Path(tmp)
        print(f"{_load()} before, {cores} cores")
        print(f"{runs} runs in {units} units: {len(lrs)} learning rates × 2 regularizers × "
              f"{args.seeds} seeds, {args.steps:,} steps, MLPs {args.width} × {args.depth}")
        warm = gandyn([*sweep, "--out", out / "warm"], env)  # fills the compile cache
        print(f"1 process, cold compile cache: {warm:.1f} s ({_load()})", flush=True)
        for repeat in range(args.repeats):
            for n in times:
                where = out / f"{n}-{repeat}"
                if n == 1:
                    took = gandyn([*sweep, "--out", where], env)
                elif n <= cores:
                    took = gandyn([*sweep, "--out", where, "--processes", n], env)
                else:
                    took = by_hand([*sweep, "--out", where], n, env)
                times[n].append(took)
                print(f"{n} process{'es' if n > 1 else ''}: {took:.1f} s "
                      f"({took * n / units:.1f} s per unit and process; {_load()})", flush=True)
        train = None
        if not args.no_train:
            train_args = ["train", *common, "--step", lrs[0], "--seeds", 1, "--no-gif"]
            gandyn([*train_args, "--out", out / "warm-train"], env)
            train = gandyn([*train_args, "--out", out / "train"], env)
    one = min(times[1])
    print(f"{_load()} after")
    print(f"1 process: best {one:.1f} s of {', '.join(f'{t:.1f}' for t in times[1])} "
          f"({one / runs:.2f} s per run, {one / units:.1f} s per unit)")
    for n in args.processes:
        best = min(times[n])
        print(f"{n} processes: best {best:.1f} s of {', '.join(f'{t:.1f}' for t in times[n])}: "
              f"speed-up {one / best:.2f}× (pairwise: "
              f"{', '.join(f'{a / b:.2f}×' for a, b in zip(times[1], times[n]))})")
    if train is not None:
        print(f"one `gandyn train` run of the same settings: {train:.1f} s; cost per run in the "
              f"sweep / one train run: {one / runs / train:.3f}×")


if __name__ == "__main__":
    main()

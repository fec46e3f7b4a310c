"""The cost of the flight recorder (`gandyn train --dynamics`, issue 36): the same run
with and without it, each a fresh `gandyn train` process, wall and CPU seconds (CPU:
the child's user + system time, less sensitive to a shared machine's load).

The runs are the defaults of each data set (ring-8: 4×128 MLPs, batch 256, a log point
every 250 steps; digits: the 8×8 convnets, batch 64, every 500) for `--steps` steps,
without the GIF; the recorder at its defaults (every log point, 256 samples, 20
Arnoldi / Lanczos steps, 4 SLQ probes per player). Compiling its program is part of
its cost, so a short run overstates it.

    python benchmarks/recorder_cost.py [--steps 1000] [--data ring8 digits]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(arguments: list[str]) -> tuple[float, float]:
    """`(wall, CPU)` seconds of one `gandyn train` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gandyn.cli", "train", *arguments], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--data", nargs="+", default=["ring8", "digits"])
    args = parser.parse_args()
    print(f"{'data':8} {'recorder':>9} {'wall s':>8} {'CPU s':>8}")
    with tempfile.TemporaryDirectory() as out:
        for data in args.data:
            times = {}
            for flag in ("--dynamics", "--no-dynamics"):
                times[flag] = timed(["--data", data, "--steps", str(args.steps), "--no-gif",
                                     flag, "--out", out])
                wall, cpu = times[flag]
                print(f"{data:8} {flag.lstrip('-'):>9} {wall:8.1f} {cpu:8.1f}")
            on, off = times["--dynamics"], times["--no-dynamics"]
            print(f"{data:8} {'extra':>9} {on[0] / off[0] - 1:8.0%} {on[1] / off[1] - 1:8.0%}")


if __name__ == "__main__":
    main()

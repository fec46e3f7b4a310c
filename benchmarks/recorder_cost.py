"""The cost of the flight recorder (`gandyn train --dynamics`, issue 36): the same run
with and without it, in one process (`gandyn train` through its CLI, in-process), wall
and CPU seconds of this process (all its threads: less sensitive to a shared machine's
load than wall time).

Per data set, four runs in this order: off (cold: compiles the training programs), on
(the training programs compiled, the recorder's not: its compilation and execution),
off again and on again (everything compiled). Then

- cold extra = (on₁ − off₂) / off₁: a first run on a machine, JAX's persistent
  compilation cache off (`GANDYN_COMPILE_CACHE=0`, set here);
- warm extra = on₂ / off₂ − 1: every program compiled (a later run in the same process,
  or with the persistent cache `gandyn train` keeps by default, nearly so).

The runs are each data set's defaults (ring-8: 4×128 MLPs, batch 256, a log point every
250 steps; digits and mnist5k: the DCGAN-style convnets, batch 64, every 500), without
the GIF, for `--steps` steps; the recorder at its defaults unless `--dynamics-every` or
`--dynamics-samples` are given.

    python benchmarks/recorder_cost.py [--steps 1000] [--data ring8 digits mnist5k]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["GANDYN_COMPILE_CACHE"] = "0"
sys.path.insert(0, str(Path(__file__).parents[1]))


def timed(arguments: list[str]) -> tuple[float, float]:
    """`(wall, CPU)` seconds of one in-process `gandyn train`."""
    from typer.testing import CliRunner

    from gandyn.cli import app

    wall, cpu = time.perf_counter(), time.process_time()
    result = CliRunner().invoke(app, ["train", *arguments])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--data", nargs="+", default=["ring8", "digits", "mnist5k"])
    parser.add_argument("--dynamics-every", type=int, default=None)
    parser.add_argument("--dynamics-samples", type=int, default=None)
    args = parser.parse_args()
    recorder = ["--dynamics"]
    if args.dynamics_every:
        recorder += ["--dynamics-every", str(args.dynamics_every)]
    if args.dynamics_samples:
        recorder += ["--dynamics-samples", str(args.dynamics_samples)]
    print(f"load average at the start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print(f"{'data':8} {'run':>6} {'wall s':>8} {'CPU s':>8}", flush=True)
    with tempfile.TemporaryDirectory() as out:
        for data in args.data:
            base = ["--data", data, "--steps", str(args.steps), "--no-gif", "--out", out]
            times = {}
            for name, flags in (("off1", ["--no-dynamics"]), ("on1", recorder),
                                ("off2", ["--no-dynamics"]), ("on2", recorder)):
                times[name] = timed(base + flags)
                print(f"{data:8} {name:>6} {times[name][0]:8.1f} {times[name][1]:8.1f}",
                      flush=True)
            for i, what in ((0, "wall"), (1, "CPU")):
                cold = (times["on1"][i] - times["off2"][i]) / times["off1"][i]
                warm = times["on2"][i] / times["off2"][i] - 1
                print(f"{data:8} {what:>6} extra: cold {cold:+.0%}, warm {warm:+.0%}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

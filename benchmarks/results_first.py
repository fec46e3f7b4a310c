"""Results as soon as they exist (issue 40): how long the quick start (`gandyn train
--data digits`, 5,000 steps) takes after its last step to write its numbers (the table
is printed then) and then its figures, each as a share of its training time. Goal:
the results written in ≤ 10 % of the training time.

One process, the run as `gandyn train` runs it (`gandyn.run` with the command line's
settings); wall and CPU seconds (the process's, all threads) of: the training (from
the start of the run to the last step's log), the numbers (params.npz, metrics.csv,
TensorBoard events, metrics.json: from the last log to `on_numbers`) and the figures
(curves, progress, GIF, samples: from `on_numbers` to the end).

    python benchmarks/results_first.py [--data digits] [--steps 5000] [--log-every 500]

The results' work depends on the number of log points (11 here: the samples, the GIF's
frames), not on the steps: `--steps 500 --log-every 50` has the quick start's results
and a tenth of its training.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--steps", type=int, default=None, help="default: the command's")
    parser.add_argument("--log-every", type=int, default=None, help="default: the command's")
    args = parser.parse_args()

    import gandyn as gd
    from gandyn import RunSpec
    from gandyn.cli._common import use_compile_cache

    use_compile_cache()  # as the command does

    given = {"data": args.data} | ({"steps": args.steps} if args.steps else {}) | (
        {"log_every": args.log_every} if args.log_every else {})
    settings = RunSpec.train(**given)
    marks = {}

    def now():
        return time.perf_counter(), time.process_time()

    def progress(description, done, total):
        if total and done >= total:
            marks.setdefault("last step", now())

    with tempfile.TemporaryDirectory() as out:
        marks["start"] = now()
        try:
            gd.run(settings, Path(out) / "run", progress=progress,
                   on_numbers=lambda outcome: marks.setdefault("numbers", now()))
        except TypeError:  # a gandyn from before `on_numbers`: numbers and figures together
            gd.run(settings, Path(out) / "run", progress=progress)
        marks["end"] = now()
        files = sorted(p.name for p in (Path(out) / "run").iterdir())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"gandyn train --data {settings.options["data"]} ({settings.steps:,} steps, a log point every "
          f"{settings.log_every}); load average "
          f"after the run {load} on {os.cpu_count()} CPUs")
    print(f"files: {', '.join(files)}")
    phases = [("training", "start", "last step"), ("numbers", "last step", "numbers"),
              ("figures", "numbers", "end"), ("results (both)", "last step", "end")]
    training = [marks["last step"][i] - marks["start"][i] for i in (0, 1)]
    print(f"{'phase':16} {'wall s':>8} {'CPU s':>8} {'wall %':>8} {'CPU %':>8}  (of training)")
    for name, a, b in phases:
        if a not in marks or b not in marks:
            continue
        wall, cpu = (marks[b][i] - marks[a][i] for i in (0, 1))
        print(f"{name:16} {wall:8.1f} {cpu:8.1f} {wall / training[0]:8.1%} "
              f"{cpu / training[1]:8.1%}")


if __name__ == "__main__":
    main()

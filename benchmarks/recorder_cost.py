"""The cost of the flight recorder (issue 36): on by default (`gandyn train` at the
cadence of its cost model, `gandyn._train_spec.default_cadence`) against `--no-dynamics`.

Two measurements, each in one process (JAX's persistent compilation cache off,
`GANDYN_COMPILE_CACHE=0`, set here), the load average printed beside every number:

- *runs* (default): `gandyn train --data D --no-gif [--steps N]` through its CLI,
  in-process, alternating off, on, off, on, … (`--repeats` pairs). The first pair is
  *cold*: cold extra = (on₁ − off₂) / off₁ (a first run on a machine: the recorder's
  compilation and execution against a run that compiles its training programs); the
  later pairs are *warm* (every program compiled, as a later run with `gandyn train`'s
  compile cache nearly is): warm extra = median of onᵢ / offᵢ − 1. Wall seconds and CPU
  seconds of this process (all its threads: less sensitive to a shared machine's load).
- *per point* (`--per-point`): the recorder's cost per recorded point in training steps
  (one `record` call against one step of a 50-step `simulate` chunk, both compiled,
  alternated `--repeats` times, CPU seconds), and what it makes of a default run: that
  many steps × the points recorded at the default cadence / the run's steps, beside the
  cost model's figure. For data sets whose full runs take too long to time here (mnist5k).
  It also prints the process's peak resident memory after the training chunk and after
  the first record (one data set per process for a clean reading).

    python benchmarks/recorder_cost.py [--data ring8 digits] [--steps N] [--repeats 2]
    python benchmarks/recorder_cost.py --per-point --data mnist5k
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["GANDYN_COMPILE_CACHE"] = "0"
sys.path.insert(0, str(Path(__file__).parents[1]))


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def timed(arguments: list[str]) -> tuple[float, float]:
    """`(wall, CPU)` seconds of one in-process `gandyn train`."""
    from typer.testing import CliRunner

    from gandyn.cli import app

    wall, cpu = time.perf_counter(), time.process_time()
    result = CliRunner().invoke(app, ["train", *arguments])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return time.perf_counter() - wall, time.process_time() - cpu


def runs(data: str, steps: int | None, repeats: int) -> None:
    from gandyn import RunSpec
    from gandyn._train_runs import recorder_line

    given = {"data": data} if steps is None else {"data": data, "steps": steps}
    settings = RunSpec.train(**given)
    print(f"{data}: {settings.steps} steps, {recorder_line(settings)}", flush=True)
    times = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as out:
        base = ["--data", data, "--no-gif", "--out", out]
        if steps is not None:
            base += ["--steps", str(steps)]
        for i in range(repeats):
            for name, flags in (("off", ["--no-dynamics"]), ("on", [])):
                times[name].append(timed(base + flags))
                wall, cpu = times[name][-1]
                print(f"{data:8} {name}{i + 1:<3} wall {wall:7.1f} s  CPU {cpu:7.1f} s  "
                      f"load {load()}", flush=True)
    for k, what in ((0, "wall"), (1, "CPU")):
        off, on = [t[k] for t in times["off"]], [t[k] for t in times["on"]]
        text = f"{data:8} {what:>4} extra:"
        if repeats > 1:
            text += f" cold {(on[0] - off[1]) / off[0]:+.0%},"
            warm = [b / a - 1 for a, b in zip(off[1:], on[1:])]
            each = ", ".join(f"{w:+.0%}" for w in warm)
            text += f" warm {statistics.median(warm):+.0%} ({each})"
        else:
            text += f" first pair {on[0] / off[0] - 1:+.0%}"
        print(text, flush=True)


def peak_mib() -> float:
    """This process's peak resident memory so far (Linux: `ru_maxrss` in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def per_point(data: str, repeats: int) -> None:
    import jax
    import numpy as np

    from gandyn._recorder import Recorder, point_cost, recorded_points, record
    from gandyn._simulate import simulate
    from gandyn._train import _init_state
    from gandyn import RunSpec
    from gandyn._train_runs import build

    settings = RunSpec.train(data=data)
    game, method, _ = build(settings)
    y = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 1))
    key, n = jax.random.key(1), 50
    state = _init_state(game, method, y, settings.step, key)
    recorder = Recorder(samples=settings.dynamics_samples)

    def train_chunk():
        sol = simulate(game, method, y, h=settings.step, steps=n, save_every=n, key=key,
                       method_state=state, start_step=0)
        jax.block_until_ready(sol.final)

    def one_record():
        record(game, y, y, key, jax.random.key(2), recorder)

    def cpu(f):
        t = time.process_time()
        f()
        return time.process_time() - t

    first = cpu(train_chunk), peak_mib(), cpu(one_record), peak_mib()
    print(f"{data:8} compile and first call: training chunk {first[0]:.1f} s, recorder "
          f"{first[2]:.1f} s CPU, load {load()}; peak resident memory after training "
          f"{first[1]:.0f} MiB, after recording {first[3]:.0f} MiB", flush=True)
    ratios = []
    for _ in range(repeats):
        step = cpu(train_chunk) / n
        point = cpu(one_record)
        ratios.append(point / step)
        print(f"{data:8} step {step * 1e3:.2f} ms, recorded point {point:.2f} s: "
              f"{ratios[-1]:.0f} steps, load {load()}", flush=True)
    measured = float(np.median(ratios))
    points = recorded_points(settings.dynamics_every, settings.log_every, settings.steps)
    print(f"{data:8} a recorded point costs {measured:.0f} training steps (model "
          f"{point_cost(recorder, settings.options["batch"]):.0f}); the default run ({settings.steps} "
          f"steps, every {settings.dynamics_every} log points, {points} points): "
          f"{points * measured / settings.steps:+.1%} of its training steps (model "
          f"{points * point_cost(recorder, settings.options["batch"]) / settings.steps:+.1%})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["ring8", "digits"])
    parser.add_argument("--steps", type=int, default=None, help="default: the data's (5,000)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--per-point", action="store_true")
    args = parser.parse_args()
    print(f"load average at the start: {load()} ({os.cpu_count()} CPUs)", flush=True)
    for data in args.data:
        if args.per_point:
            per_point(data, args.repeats)
        else:
            runs(data, args.steps, args.repeats)
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()

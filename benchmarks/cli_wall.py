"""Wall time of the command line as a user meets it, beside the import floor.

The floor is Python plus `import jax, matplotlib.pyplot` (`python -c "import jax,
matplotlib.pyplot"`, the best of three), measured in the same run: every command pays
it, and everything above it is gandyn's. Each command runs in a fresh process, in a
temporary cache folder (`GANDYN_CACHE_DIR`):

- "second run": the command once to fill JAX's persistent compilation cache (and, for
  `train`, the metrics' classifier cache), then timed on its second run (a user's usual
  case); the compile cache's hits and misses in that run are counted;
- "first run, empty cache": the command timed on its first run in a new cache folder.

Wall and CPU time (user + system, every thread: steadier on a shared machine) are
both printed, each with its ratio to the floor's; "met" is judged on wall time.

Goals (issue 29, a quiet 2-core CPU), as a ratio to the floor:

| what | goal |
|---|---|
| second run of `simulate`, `eigen`, `portrait` (defaults) | ≤ 2× |
| second run of `sweep` (default 2,048 runs), `train --data ring8 --steps 1000`, a diverging `train` | ≤ 3× |
| first run of `simulate` with an empty cache | ≤ 4× |

    python benchmarks/cli_wall.py [--only simulate,eigen,...]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from _common import machine

# name → (arguments, goal as a multiple of the floor, which run is timed)
COMMANDS = {
    "simulate": (["simulate"], 2.0, "second"),
    "eigen": (["eigen"], 2.0, "second"),
    "portrait": (["portrait"], 2.0, "second"),
    "sweep": (["sweep"], 3.0, "second"),
    "train-ring8": (["train", "--data", "ring8", "--steps", "1000"], 3.0, "second"),
    "train-diverging": (["train", "--data", "gaussian", "-m", "simgd", "--step", "3",
                         "--steps", "500"], 3.0, "second"),
    "simulate-first": (["simulate"], 4.0, "first"),
}

# Runs a command with listeners on JAX's compile-cache events; prints the counts last.
RUNNER = """
import atexit, sys
import jax
counts = {"hits": 0, "misses": 0}
def listen(event, **kwargs):
    if event == "/jax/compilation_cache/cache_hits":
        counts["hits"] += 1
    elif event == "/jax/compilation_cache/cache_misses":
        counts["misses"] += 1
jax.monitoring.register_event_listener(listen)
atexit.register(lambda: print(f"@cache {counts['hits']} {counts['misses']}", file=sys.stderr))
from gandyn.cli import main
sys.argv = ["gandyn", *sys.argv[1:]]
main()
"""


def cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args, env, cwd) -> tuple[float, float, int, int]:
    """Wall and CPU seconds of one run of `gandyn args`, its compile-cache hits and
    misses."""
    command = [sys.executable, "-c", RUNNER, *args]
    start, start_cpu = time.perf_counter(), cpu()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed, used = time.perf_counter() - start, cpu() - start_cpu
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip().splitlines()[-1:]}")
    hits = misses = 0
    for line in result.stderr.splitlines():
        if line.startswith("@cache "):
            hits, misses = map(int, line.split()[1:])
    return elapsed, used, hits, misses


def floor(cwd) -> tuple[float, float]:
    """Best of three, wall and CPU seconds: `python -c "import jax, matplotlib.pyplot"`."""
    walls, cpus = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), cpu()
        subprocess.run([sys.executable, "-c", "import jax, matplotlib.pyplot"], cwd=cwd, check=True)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu() - start_cpu)
    return min(walls), min(cpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(COMMANDS),
                        help=f"comma-separated rows among {', '.join(COMMANDS)}")
    args = parser.parse_args()
    chosen = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in COMMANDS]
    if unknown:
        raise SystemExit(f"unknown row {unknown[0]!r}; choose from: {', '.join(COMMANDS)}")
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        base, base_cpu = floor(tmp)
        print(f"import floor (python -c 'import jax, matplotlib.pyplot'): {base:.2f} s wall, "
              f"{base_cpu:.2f} s CPU")
        print(f"{'command':58s}{'run':>7s}{'wall':>7s}{'× floor':>8s}{'CPU':>7s}{'× floor':>8s}"
              f"{'goal':>6s}  met  cache hits/misses")
        for name in chosen:
            command, goal, which = COMMANDS[name]
            env = {**os.environ, "GANDYN_CACHE_DIR": os.path.join(tmp, f"cache-{name}")}
            out = ["--out", os.path.join(tmp, "runs")]
            if which == "second":
                run([*command, *out], env, tmp)
            elapsed, used, hits, misses = run([*command, *out], env, tmp)
            ratio, cpu_ratio = elapsed / base, used / base_cpu
            print(f"gandyn {' '.join(command):51s}{which:>7s}{elapsed:6.1f}s{ratio:7.1f}×"
                  f"{used:6.1f}s{cpu_ratio:7.1f}×{goal:5.0f}×  {'yes' if ratio <= goal else 'no ':3s}"
                  f"  {hits}/{misses}", flush=True)
        print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Wall time of the default CLI commands, run a second time (a user's usual case).

Each command runs three times in a fresh process, in a temporary cache folder
(`GANDYN_CACHE_DIR`): once to fill the persistent compilation cache (and, for `train`,
the metrics' classifier cache), once more with the compilation cache (the timed
"second run"), and once with `--no-compile-cache` (the same work compiled afresh: the
baseline the cache is measured against). Python's start-up and imports are included.

    python benchmarks/cli_wall.py [--only simulate,eigen,sweep,train]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _common import machine

COMMANDS = {
    "simulate": (["simulate"], 3.0),
    "eigen": (["eigen"], 3.0),
    "sweep": (["sweep"], 10.0),
    "train": (["train", "--data", "digits", "--steps", "1000"], None),
}


def run(args, env, cwd) -> float:
    command = [sys.executable, "-c", "from gandyn.cli import main; main()", *args]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip().splitlines()[-1:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(COMMANDS),
                        help=f"comma-separated commands among {', '.join(COMMANDS)}")
    args = parser.parse_args()
    chosen = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in COMMANDS]
    if unknown:
        raise SystemExit(f"unknown command {unknown[0]!r}; choose from: {', '.join(COMMANDS)}")
    print(machine())
    print(f"{'command':44s}{'1st run':>9s}{'2nd run':>9s}{'no cache':>10s}{'ratio':>7s}   goal")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GANDYN_CACHE_DIR": os.path.join(tmp, "cache")}
        for name in chosen:
            command, goal = COMMANDS[name]
            out = ["--out", os.path.join(tmp, "runs")]
            first = run([*command, *out], env, tmp)
            second = run([*command, *out], env, tmp)
            fresh = run(["--no-compile-cache", *command, *out], env, tmp)
            target = f"< {goal:g} s" if goal else "compile < 5 s"
            print(f"gandyn {' '.join(command):37s}{first:8.1f}s{second:8.1f}s{fresh:9.1f}s"
                  f"{second / fresh:6.2f}×   {target}", flush=True)


if __name__ == "__main__":
    main()

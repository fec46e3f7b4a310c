"""A sweep's work in shards, for one process or many (`jax.distributed`).

A sweep spec (`SweepSpec`, `TrainSweepSpec`) splits into units (`spec.units()`): one
compiled program each (a group of game runs; a training configuration's seeds), fixed by
the spec alone. Process `p` of `n` runs the units `i` with `i mod n = p` and writes each
unit's rows atomically to its own shard, `shards/unit-00012.json`, the moment it
finishes; shards on disk are the record of what is done (a resumed sweep runs only the
units without one, with any number of processes). After a barrier, process 0 merges every
shard, in unit order, into `results.csv` and `results.json`. A unit's rows do not depend on
which process ran it, nor on how many there were: the same rows, bit for bit, from 1
process or from N.

Across processes nothing is home-made: `jax.distributed.initialize` finds the others
(from the arguments, or SLURM / Open MPI's environment), and its coordination service
gives the barrier and shares the sweep folder's name (its key-value store); its
heartbeats end every process when one is lost.
"""

import csv
import io
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

from ._budget import release_compiled_programs
from ._io import atomic_write, read_json, write_json

SHARDS = "shards"


def shard_path(out: Path, index: int) -> Path:
    return Path(out) / SHARDS / f"unit-{index:05d}.json"


def _read_shard(spec, out: Path, index: int, keys: list[tuple]) -> list[dict] | None:
    """The rows of unit `index`'s shard (None if it has none yet); a one-line
    `ValueError` naming the file if it is not that unit's rows."""
    path = shard_path(out, index)
    if not (path.exists() or path.is_symlink()):
        return None
    again = "remove it to run its unit again"
    try:
        data = read_json(path, what="shard")
    except ValueError as e:  # damaged (cut short, not JSON, a FIFO, …): said, never waited on
        raise ValueError(f"{e}; {again}") from None
    rows = data.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"shard {str(path)!r} holds no list of rows; {again}")
    try:
        found = [spec.row_key(r) for r in rows]
    except (KeyError, TypeError, ValueError):
        found = None
    if found != [tuple(k) for k in keys]:
        raise ValueError(f"shard {str(path)!r} does not hold the rows of unit {index} of this sweep "
                         f"(written by another sweep?); {again}")
    for number, row in enumerate(rows):
        problem = check_row(row, spec)
        if problem:
            raise ValueError(f"shard {str(path)!r} row {number}: {problem}; {again}")
    return rows


def _number(value, *, integer: bool = False, low: float = -math.inf, high: float = math.inf,
            optional: bool = False) -> bool:
    """Whether `value` (from JSON) is a finite number in `[low, high]` (an integer), or
    None where `optional` (a non-finite number is written as `null`)."""
    if value is None:
        return optional
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        return False
    return math.isfinite(value) and low <= value <= high


def check_row(row: dict, spec) -> str | None:
    """What is wrong with a shard's `row` for `spec` (a game sweep's or a training
    sweep's: a known status, numbers of their type and range), or None."""
    from ._sweep import SweepSpec
    from ._sweep_results import STATUSES
    from ._train_sweep import KEY_COLUMNS

    if isinstance(spec, SweepSpec):
        statuses = STATUSES
        rules = {"diverged_at": dict(integer=True, low=0, high=spec.steps, optional=True),
                 "final_distance": dict(optional=True), "final_speed": dict(optional=True),
                 "rate": dict(optional=True)}
        init = row.get("init")
        if not (isinstance(init, list) and init and all(_number(x) for x in init)):
            return f"init {json.dumps(init)[:60]} is not a list of finite numbers"
    else:
        statuses = ("trained", "partial", "failed", "diverged")
        rules = {"diverged_at": dict(integer=True, low=0, high=spec.steps, optional=True),
                 "steps_done": dict(integer=True, low=0, high=spec.steps)}
        for name, value in row.items():  # the metrics: numbers, flags or null
            if name not in (*KEY_COLUMNS, "status", *rules) and not (
                    value is None or isinstance(value, bool) or _number(value)):
                return f"metric {name!r} is {json.dumps(value)[:60]}, not a number"
    if row.get("status") not in statuses:
        return f"status {json.dumps(row.get('status'))[:60]} is not one of: {', '.join(statuses)}"
    for name, rule in rules.items():
        if not _number(row.get(name), **rule):
            return f"{name} {json.dumps(row.get(name))[:60]} is out of its range or type"
    return None


def progress(spec, out: Path, process: int = 0, processes: int = 1) -> tuple[int, int]:
    """`(rows done, rows)` of process `process`'s share."""
    units = spec.units()
    mine = range(process, len(units), processes)
    total = sum(len(units[i][0]) for i in mine)
    done = sum(len(units[i][0]) for i in mine if shard_path(out, i).exists())
    return done, total


def run_share(spec, out: Path, *, process: int = 0, processes: int = 1,
              on_unit: Callable[[int, int], None] | None = None) -> int:
    """Run the units of process `process` of `processes` that have no shard in `out`
    yet, writing each one's shard atomically as it finishes; `on_unit(rows done,
    rows)` after each. Returns the number of units run."""
    units = spec.units()
    (Path(out) / SHARDS).mkdir(parents=True, exist_ok=True)
    mine = list(range(process, len(units), processes))
    todo = [i for i in mine if _read_shard(spec, out, i, units[i][0]) is None]
    total = sum(len(units[i][0]) for i in mine)
    done = total - sum(len(units[i][0]) for i in todo)
    for i in todo:
        keys, run = units[i]
        rows = run()
        release_compiled_programs()  # a long sweep compiles thousands of programs
        write_json(shard_path(out, i), {"unit": i, "process": process, "processes": processes,
                                        "rows": rows})
        done += len(keys)
        if on_unit is not None:
            on_unit(done, total)
    return len(todo)


def missing_units(spec, out: Path) -> list[int]:
    units = spec.units()
    return [i for i, (keys, _) in enumerate(units) if _read_shard(spec, out, i, keys) is None]


def merge(spec, out: Path) -> list[dict]:
    """Every shard's rows in unit order, written to `results.csv` and `results.json`
    (each atomically). A `ValueError` naming the units without a shard."""
    from ._sweep_results import _format

    out = Path(out)
    units = spec.units()
    rows, missing = [], []
    for i, (keys, _) in enumerate(units):
        shard = _read_shard(spec, out, i, keys)
        if shard is None:
            missing.append(i)
        else:
            rows += shard
    if missing:
        raise ValueError(f"{len(missing)} of {len(units)} units of the sweep in {str(out)!r} have no "
                         f"shard (first: {shard_path(out, missing[0]).name}); continue it with "
                         f"--resume {str(out)!r}")
    columns = spec.columns(rows)
    text = io.StringIO()
    writer = csv.writer(text)  # as `run_sweep` writes it: the same file from either
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_format(row.get(c)) for c in columns])
    atomic_write(out / "results.csv", text.getvalue())
    write_json(out / "results.json", {"spec": spec.to_dict(), "rows": rows})
    return rows


# --------------------------------------------------------------------------------------
# JAX's distributed runtime


def initialize(coordinator: str | None = None, processes: int | None = None,
               process: int | None = None, *, timeout: int = 60) -> tuple[int, int]:
    """Join a multi-process run (`jax.distributed.initialize`; with no arguments, the
    cluster's environment, e.g. SLURM's): `(this process's index, process count)`.
    `timeout` seconds bound both reaching the coordinator and noticing a lost process
    (heartbeats); past them JAX's runtime ends the process. SIGTERM ends a worker (JAX's
    preemption service, which would catch it, is off): a launcher can stop one. JAX
    itself stays single-process (`gandyn._coordination.join`): the processes share
    compiled programs through the persistent compile cache."""
    from ._coordination import join

    joined = join(coordinator, processes, process, timeout=timeout)
    return joined.process, joined.processes


def barrier(name: str) -> None:
    """Wait until every process gets here (`gandyn._coordination.barrier`)."""
    from ._coordination import barrier as wait

    wait(name)


def broadcast_text(text: str | None, key: str = "gandyn/sweep-folder") -> str:
    """Process 0's `text` on every process (`gandyn._coordination.broadcast_text`)."""
    from ._coordination import broadcast_text as share

    return share(text, key)


class Rate:
    """An ETA from the rate of rows done since construction (`done` rows then)."""

    def __init__(self, done: int = 0):
        self.start, self.done = time.monotonic(), done

    def eta(self, done: int, total: int) -> str:
        if done >= total:
            return "done"
        if done <= self.done:
            return "ETA —"
        seconds = (time.monotonic() - self.start) * (total - done) / (done - self.done)
        return f"ETA {seconds:.0f} s" if seconds < 120 else f"ETA {seconds / 60:.1f} min"

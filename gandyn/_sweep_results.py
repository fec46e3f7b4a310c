"""A sweep's results: its rows' columns, `results.csv` (appended a group at a time,
flushed and fsynced, read back with every field checked) and the ranking of its
configurations.

`results.csv` on resume: a row counts only if its line ends with the newline (each
group's rows are appended, flushed and fsynced together, so a crash leaves at most one
unterminated last line, which is dropped and run again). Every field of every
terminated row is checked (known status, finite numbers, a configuration of the spec);
a terminated row that fails is not crash damage but a foreign or edited file, and is
refused with an error naming the file and line rather than silently dropped.
"""

import csv
import math
import os
from pathlib import Path

import numpy as np

from ._io import atomic_path, read_bytes
from ._options import _show
from ._simulate import Status
from ._spec import NO_REGULARIZER as NO_REGULARIZER  # the regularizer column of a run without one

COLUMNS = [
    "loss", "regularizer", "method", "step", "seed", "init", "status",
    "diverged_at", "final_distance", "final_speed", "rate",
]
STATUSES = tuple(s.label for s in Status)
MAX_CSV_BYTES = 256 << 20


def _key(row) -> tuple:
    return (row["loss"], row["regularizer"], row["method"], float(row["step"]), int(row["seed"]))


def _format(value) -> str:
    if isinstance(value, list):  # a point: its coordinates, separated by spaces
        return " ".join(repr(float(x)) for x in value)
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _append_csv(path: Path, rows: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_format(row[c]) for c in COLUMNS])
        f.flush()
        os.fsync(f.fileno())


def _rewrite_csv(path: Path, rows: list[dict]) -> None:
    if not path.exists():
        return
    with atomic_path(path) as tmp:
        _append_csv(tmp, rows)


def _finite(text: str, *, optional: bool = False, positive: bool = False) -> float | None:
    if optional and text == "":
        return None
    value = float(text)  # ValueError for anything but a number
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError
    return value


def _point(text: str) -> list[float]:
    values = [_finite(part) for part in text.split(" ")]
    if not text or not values:
        raise ValueError
    return values


def _natural(text: str, *, optional: bool = False) -> int | None:
    if optional and text == "":
        return None
    if not (text.isascii() and text.isdigit()):
        raise ValueError
    return int(text)


_FIELD_RULES = {
    "step": (lambda t: _finite(t, positive=True), "a positive finite number"),
    "seed": (_natural, "an integer ≥ 0"),
    "init": (lambda t: _point(t), "finite numbers separated by spaces"),
    "diverged_at": (lambda t: _natural(t, optional=True), "empty or an integer ≥ 0"),
    "final_distance": (lambda t: _finite(t, optional=True), "empty or a finite number"),
    "final_speed": (lambda t: _finite(t, optional=True), "empty or a finite number"),
    "rate": (lambda t: _finite(t, optional=True), "empty or a finite number"),
}


def _parse_fields(fields: list[str]) -> dict:
    """One CSV row's fields → a row; a `ValueError` naming the first bad field."""
    if len(fields) != len(COLUMNS):
        raise ValueError(f"has {len(fields)} fields, expected {len(COLUMNS)}")
    row = dict(zip(COLUMNS, fields))
    for column, (parse, rule) in _FIELD_RULES.items():
        try:
            row[column] = parse(row[column])
        except (ValueError, OverflowError):
            raise ValueError(f"{column} {_show(row[column])} is not {rule}") from None
    if row["status"] not in STATUSES:
        raise ValueError(f"status {_show(row['status'])} is not one of: {', '.join(STATUSES)}")
    return row


def _read_rows(path: Path, spec) -> tuple[list[dict], bool]:
    """`(rows, damaged)`: the finished rows of `path`, and whether a line cut short by
    an interruption (or a blank line) was left out."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return [], False
    what = f"results file {str(path)!r}"
    data = read_bytes(path, "results file", max_bytes=MAX_CSV_BYTES)
    *lines, tail = data.split(b"\n")  # `tail`: after the last newline, a line cut short
    damaged = tail != b""
    if not lines:  # nothing terminated: empty, or cut within the header
        return [], damaged
    try:
        text = b"\n".join(lines).decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{what} line {line} is not UTF-8 text: is it a binary file?") from None

    def fields(line: str, number: int) -> list[str]:
        try:
            return next(csv.reader([line.removesuffix("\r")]), [])
        except csv.Error as e:
            raise ValueError(f"{what} line {number} is not a CSV row: {e}") from None

    lines = text.split("\n")
    if fields(lines[0], 1) != COLUMNS:
        raise ValueError(f"{what} does not start with the header of a sweep's results "
                         f"({','.join(COLUMNS)}): got {_show(lines[0].removesuffix(chr(13)))}")
    keys = spec.keys() if spec is not None else None
    size = len(spec.template().coordinates()) if spec is not None else None
    rows, seen = [], {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            damaged = True
            continue
        try:
            row = _parse_fields(fields(line, number))
        except ValueError as e:
            raise ValueError(f"{what} line {number}: {e}") from None
        key = _key(row)
        if keys is not None:
            if key not in keys:
                raise ValueError(f"{what} line {number} is a run that is not in the sweep's spec "
                                 f"({', '.join(map(str, key))}): was it written by another sweep?")
            if len(row["init"]) != size:
                raise ValueError(f"{what} line {number}: init has {len(row['init'])} coordinates, "
                                 f"but the game has {size}")
            if row["diverged_at"] is not None and row["diverged_at"] > spec.steps:
                raise ValueError(f"{what} line {number}: diverged_at {row['diverged_at']} is past "
                                 f"the sweep's {spec.steps} steps")
        if key in seen:
            raise ValueError(f"{what} line {number} repeats the run of line {seen[key]} "
                             f"({', '.join(map(str, key))})")
        seen[key] = number
        rows.append(row)
    return rows, damaged


def read_rows(path: Path, spec = None) -> list[dict]:
    """The finished rows of a sweep's CSV.

    A row counts only if its line ends with a newline: a last line cut short by an
    interruption is left out (a cut row can still parse, `0.0001` cut to `0.00`).
    Every other line must be a valid row (known status, finite numbers or empty where
    allowed, a run of `spec` when given, no run twice); otherwise a one-line
    `ValueError` naming the file and line."""
    return _read_rows(path, spec)[0]


def ranking(rows: list[dict]) -> list[dict]:
    """Per loss × regularizer × method: the share of runs that converged (or are
    converging), the largest step size at which every seed did, the largest step up
    to which every seed did at every grid step (`stable_up_to`; equal to
    `grid_largest_step` when the grid never found the limit), and the median rate
    over those runs; best first."""
    table = {}
    for row in rows:
        table.setdefault((row["loss"], row["regularizer"], row["method"]), []).append(row)
    ranked = []
    for (loss, reg, method), group in table.items():
        good = [r for r in group if r["status"] in ("converged", "converging")]
        by_step = {}
        for r in group:
            by_step.setdefault(r["step"], []).append(r["status"] in ("converged", "converging"))
        stable_steps = [h for h, ok in by_step.items() if all(ok)]
        up_to = None  # every seed converged at this step and at every smaller one
        for h in sorted(by_step):
            if not all(by_step[h]):
                break
            up_to = h
        rates = [r["rate"] for r in good if r["rate"] is not None]
        ranked.append({
            "loss": loss, "regularizer": reg, "method": method,
            "converged_share": len(good) / len(group),
            "largest_converging_step": max(stable_steps) if stable_steps else None,
            "stable_up_to": up_to, "grid_largest_step": max(by_step),
            "median_rate": float(np.median(rates)) if rates else None,
        })
    ranked.sort(key=lambda r: (-r["converged_share"], r["median_rate"] if r["median_rate"] is not None else 2.0))
    return ranked

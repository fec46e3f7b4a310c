"""Shared parsing, validation and progress for the CLI commands."""

import datetime
import math
import os
import sys
from pathlib import Path

import typer
from rich.console import Console


err_console = Console(stderr=True)


class InputError(ValueError):
    """Bad user input: reported as one line, exit code 2."""


def fail(message: str) -> None:
    """Print `Error: message` on one line to stderr and exit with code 2."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def set_precision(float64: bool) -> None:
    import jax

    if float64:
        jax.config.update("jax_enable_x64", True)


def check_step(h: float) -> float:
    if not (math.isfinite(h) and h > 0):
        raise InputError(f"--step must be a positive finite number, got {h}")
    return h


def check_positive(name: str, value: int) -> int:
    if value < 1:
        raise InputError(f"{name} must be a positive integer, got {value}")
    return value


def parse_init(text: str, bias: bool, flag: str = "--init") -> tuple[float, ...]:
    """`"θ,ψ"` (or `"θ,ψ,b"` with a critic bias) → floats."""
    expected = "θ,ψ,b" if bias else "θ,ψ"
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) not in ((2, 3) if bias else (2,)) or not all(map(math.isfinite, values)):
        raise InputError(f"malformed {flag} {text!r}: expected finite numbers {expected}")
    return values


def resolve_names(kind: str, given: list[str] | None, default: list[str], valid) -> list[str]:
    """Validate `--loss`/`--method` values against `valid` (a tuple of names)."""
    names = given or default
    for name in names:
        if name.lower() not in valid:
            raise InputError(f"unknown {kind} {name!r}; choose from: {', '.join(valid)}")
    return [n.lower() for n in names]


def run_directory(out: Path, command: str) -> Path:
    """A new timestamped run directory path under `out` (not created yet); checks
    that `out` can be written to."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot write to --out {str(out)!r}: {e.strerror or e}") from None
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to --out {str(out)!r}: not a writable directory")
    return out / f"{stamp}-{command}"


def progress_bar():
    """A rich progress bar on stderr, hidden when stderr is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def parse_regularizers(texts: list[str] | None) -> tuple:
    """`--reg NAME=WEIGHT` values → regularizer objects."""
    from .. import regularizers

    try:
        return tuple(regularizers.parse(t) for t in (texts or []))
    except ValueError as e:
        raise InputError(str(e).replace("malformed regularizer", "malformed --reg")) from None


def describe_regularizers(texts: list[str] | None) -> str:
    return " + ".join(texts) if texts else ""

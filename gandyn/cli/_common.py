"""Shared parsing, validation and progress for the CLI commands."""

import datetime
import os
import sys
import time
import warnings
from pathlib import Path

import typer
from rich.console import Console

from .._spec import (  # noqa: F401 - the checks live in the library; re-exported for the commands
    MAX_SEED,
    MAX_STEP,
    MAX_STEPS,
    InputError,
    check_int,
    check_seed,
    check_step,
    parse_options,
    parse_regularizers,
    resolve_names,
)


err_console = Console(stderr=True)


def fail(message: str) -> None:
    """Print `Error: message` on one line to stderr and exit with code 2."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


# Compiled XLA programs are kept on disk between runs (JAX's persistent compilation
# cache), and the hot ones also as exported programs (`gandyn._program_cache`: no
# tracing on a repeat): a command run a second time skips most of its compiling. Off
# with `gandyn --no-compile-cache …` or `GANDYN_COMPILE_CACHE=0`.
COMPILE_CACHE_ENV = "GANDYN_COMPILE_CACHE"


def use_compile_cache(enabled: bool = True) -> Path | None:
    """Turn on JAX's persistent compilation cache in `xla/` of gandyn's cache folder
    (where the metrics' classifier is kept: `$GANDYN_CACHE_DIR`, else
    `$XDG_CACHE_HOME/gandyn`, else `~/.cache/gandyn`), unless `enabled` is False
    or `$GANDYN_COMPILE_CACHE` is `0`; and gandyn's program cache in `programs/` beside
    it (`gandyn._program_cache`). Every program is cached, however quick to
    compile: a command compiles dozens of 0.1–0.5 s programs. Returns the folder, or
    None when off. A cache that cannot be written only costs the compiling."""
    if not enabled or os.environ.get(COMPILE_CACHE_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    import jax

    from .._image_metrics import cache_dir

    folder = cache_dir() / "xla"
    if not _clear_special_files(folder):
        return None
    from .. import _program_cache

    _program_cache.enable(cache_dir() / "programs")
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    # JAX would point XLA's GPU autotuning cache into the folder and hash that path into
    # every key: a copied or moved cache would never hit. Keys without it are the same
    # wherever the folder is.
    jax.config.update("jax_persistent_cache_enable_xla_caches", "none")
    # An unreadable or damaged entry only costs compiling again: no warning per entry.
    warnings.filterwarnings("ignore", message=r"Error (reading|writing) persistent compilation cache")
    return folder


def _clear_special_files(folder: Path) -> bool:
    """Remove what is not a regular file or a folder from the compile cache `folder`
    (JAX reads an entry with `read_bytes`: a FIFO there would block every run). False,
    with one line on stderr, when one cannot be removed: the cache is then not used."""
    import stat

    try:
        entries = list(os.scandir(folder))
    except OSError:
        return True  # none yet, or unreadable: JAX creates it or fails quietly
    for entry in entries:
        try:
            mode = os.stat(entry.path).st_mode
            special = not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))
        except OSError:  # a dangling link or a loop of them
            special = True
        if special:
            try:
                os.unlink(entry.path)
            except OSError:
                print(f"gandyn: not using the compile cache {str(folder)!r}: {entry.name!r} in it "
                      f"is not a regular file and cannot be removed", file=sys.stderr)
                return False
    return True


def interruptible(work, *args, **kwargs):
    """`work(*args, **kwargs)`, run in a thread while the main thread waits in Python,
    so that Ctrl-C (SIGINT, which Python handles in the main thread only) ends the
    command within a fraction of a second, even while a compiled program runs for
    minutes (XLA does not return to Python until it ends): `Error: interrupted` on
    stderr and exit code 130, as click reports it elsewhere. For commands that write
    their results only once complete: nothing is left behind."""
    import threading

    outcome: dict = {}

    def run():
        try:
            outcome["result"] = work(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = e

    thread = threading.Thread(target=run, name="gandyn-work", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)  # the thread is inside XLA: no clean way to stop it, nothing to keep
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def set_precision(float64: bool) -> None:
    import jax

    if float64:
        jax.config.update("jax_enable_x64", True)


def check_positive(name: str, value: int) -> int:
    return check_int(name, value)


def check_writable(path: Path, flag: str = "--out") -> None:
    """That `path` (a folder, existing or not) could be created and written to
    (`_io.check_writable_folder`). Creates nothing."""
    from .._io import check_writable_folder

    try:
        check_writable_folder(path, flag)
    except ValueError as e:
        raise InputError(str(e)) from None


def run_directory(out: Path, command: str) -> Path:
    """A new timestamped run directory path under `out`. Nothing is created yet (a
    command that then fails leaves no empty `out` behind); checks that `out` could be
    written to."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    check_writable(out)
    return Path(out) / f"{stamp}-{command}"


class LineProgress:
    """Progress for a log or a pipe (stderr not a terminal): one line on stderr when a
    task starts, then one at most every `interval` seconds and one at the end, so a
    long command is never silent in CI or under `nohup`."""

    def __init__(self, interval: float = 10.0):
        self.interval = interval
        self.tasks: dict[int, dict] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.stop()
        return False

    def stop(self) -> None:
        """Print each task's last state (once): what comes next is the command's table."""
        for task in self.tasks.values():
            if task["printed"] != (task["completed"], task["description"]):
                self._print(task)

    def add_task(self, description: str, total=None, completed: int = 0) -> int:
        index = len(self.tasks)
        self.tasks[index] = {"description": description, "total": total, "completed": completed,
                             "start": time.monotonic(), "last": time.monotonic(), "printed": None}
        self._print(self.tasks[index])
        return index

    def update(self, index: int, *, completed=None, total=None, description=None, advance=None):
        task = self.tasks[index]
        for key, value in (("completed", completed), ("total", total), ("description", description)):
            if value is not None:
                task[key] = value
        if advance:
            task["completed"] += advance
        if time.monotonic() - task["last"] >= self.interval:
            self._print(task)

    def advance(self, index: int, advance: int = 1) -> None:
        self.update(index, advance=advance)

    def _print(self, task: dict) -> None:
        done, total = task["completed"], task["total"]
        count = f"{done}/{total} ({done / total:.0%})" if total else f"{done}"
        elapsed = time.monotonic() - task["start"]
        label, _, detail = task["description"].partition(" · ")
        detail = f" · {detail}" if detail else ""
        print(f"{label}: {count}, {elapsed:.0f} s{detail}", file=sys.stderr, flush=True)
        task["last"] = time.monotonic()
        task["printed"] = (done, task["description"])


def progress_bar(interval: float = 10.0):
    """A rich progress bar on stderr when it is a terminal; otherwise `LineProgress`
    (a line now and then)."""
    if not sys.stderr.isatty():
        return LineProgress(interval)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def numbers_printer(bar, show):
    """`on_numbers` for `gandyn.run`: stop `bar` (`progress_bar()`), then `show(outcome)`
    (the command's table) — printed once the numbers are written, before the figures
    are drawn."""
    def on_numbers(outcome) -> None:
        bar.stop()
        show(outcome)
        sys.stdout.flush()

    return on_numbers


def progress_callback(bar):
    """A library `progress(description, done, total)` drawn on `bar` (`progress_bar()`):
    one task per description."""
    tasks = {}

    def progress(description: str, done: int, total: int | None) -> None:
        key = description.split(" · ")[0]
        if key not in tasks:
            tasks[key] = bar.add_task(description, total=total, completed=done)
        else:
            bar.update(tasks[key], completed=done, total=total, description=description)

    return progress


def describe_regularizers(texts: list[str] | None) -> str:
    return " + ".join(texts) if texts else ""

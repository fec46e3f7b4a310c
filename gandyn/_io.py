"""Files: atomic writes, JSON that survives NaN, and checked reads of untrusted files.

Every result gandyn writes goes through here. A file is written to a temporary name in
its own folder, flushed to disk, then renamed over the target (`os.replace` is atomic
on POSIX), so a reader — or a run resumed after a crash — sees the old file or the new
one, never a half-written one. A folder of results is built under a temporary name and
renamed into place the same way.

JSON convention: non-finite floats (NaN, ±inf) are written as `null`, everywhere, so
that a diverged run's metrics are valid JSON (`allow_nan=False` holds).
"""

import contextlib
import json
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any


__all__ = ["atomic_directory", "atomic_figure", "atomic_path", "atomic_write", "check_regular_file",
           "finite_or_none", "jsonable", "make_parents", "read_json", "remove_empty", "write_json"]


def finite_or_none(x) -> float | None:
    """`float(x)` if it is finite, else `None` (JSON `null`)."""
    x = float(x)
    return x if math.isfinite(x) else None


def jsonable(data: Any) -> Any:
    """`data` with every non-finite float replaced by `None`, NumPy scalars and arrays
    turned into Python numbers and lists, tuples into lists, and dict keys into strings."""
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return data
    if isinstance(data, dict):
        return {str(k): jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [jsonable(v) for v in data]
    if hasattr(data, "tolist"):  # NumPy / JAX arrays and scalars
        return jsonable(data.tolist())
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return finite_or_none(data)
    if isinstance(data, Path):
        return str(data)
    raise TypeError(f"cannot write {type(data).__name__} as JSON")


def umask() -> int:
    """The process's file-mode creation mask (read from /proc where it can be, so no
    other thread sees it changed; else set and restored at once)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _usual_mode(path, folder: bool = False) -> None:
    """Give `path` the mode an ordinary `open`/`mkdir` would (0666 / 0777 less the
    umask): `mkstemp` and `mkdtemp` make 0600 / 0700, unreadable to colleagues
    sharing a results folder."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


@contextlib.contextmanager
def _temporary_beside(path: Path, mode: str) -> Iterator[IO]:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        _usual_mode(tmp)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix, so writers that choose a format by
    it still do), renamed over `path` when the block succeeds and removed if it fails:
    for writers that take a file name (matplotlib animations, PIL)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        _usual_mode(tmp)
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path, write: Callable[[IO], None] | bytes | str) -> None:
    """Write `path` atomically: `write(f)` fills a temporary file beside it (or `write`
    is the bytes / text itself), which is then renamed over `path`."""
    if isinstance(write, (bytes, str)):
        content = write
        write = lambda f: f.write(content)  # noqa: E731
        mode = "wb" if isinstance(content, bytes) else "w"
    else:
        mode = "wb"
    with _temporary_beside(Path(path), mode) as f:
        write(f)


def atomic_figure(path, figure) -> None:
    """Save a matplotlib figure atomically, in the format of `path`'s suffix."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    atomic_write(path, lambda f: figure.savefig(f, format=fmt, dpi=figure.dpi))


def write_json(path, data) -> None:
    """Write `data` as indented JSON, atomically; NaN and ±inf become `null`."""
    atomic_write(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def read_json(path, *, expect: type = dict, what: str = "file") -> Any:
    """The JSON in `path`, which must hold a `expect` (dict or list); `ValueError` naming
    the file otherwise (missing, unreadable, not JSON, wrong shape)."""
    path = Path(path)
    check_regular_file(path, what)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON: {_short(e)}") from None
    if not isinstance(data, expect):
        raise ValueError(f"{what} {str(path)!r} holds a JSON {type(data).__name__}, expected a "
                         f"{'JSON object' if expect is dict else 'JSON ' + expect.__name__}")
    return data


def check_regular_file(path, what: str = "file", *, max_bytes: int | None = None) -> Path:
    """`path` if it names a regular file (of at most `max_bytes`); a `ValueError` naming
    it otherwise. Checked with `stat` before anything opens it: a FIFO or a device
    (`/dev/zero`) would block or never end."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist") from None
    except OSError as e:
        raise ValueError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{what} {str(path)!r} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{what} {str(path)!r} is not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ValueError(f"{what} {str(path)!r} has {info.st_size:,} bytes, more than the "
                         f"{max_bytes:,} allowed")
    return path


@contextlib.contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary directory beside `final`; on success rename it to `final`,
    on any failure delete it, so no half-written result is ever left behind. Parent
    folders created for it are removed again if the run fails."""
    final = Path(final)
    if final.exists():
        raise FileExistsError(f"output directory {str(final)!r} already exists")
    created = make_parents(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        _usual_mode(tmp, folder=True)
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise


def make_parents(path: Path) -> list[Path]:
    """Create the missing parent folders of `path`; return those created, deepest first."""
    missing = []
    parent = Path(path).parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove each folder of `folders` (deepest first) that is empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _short(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__

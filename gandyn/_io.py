"""Files: atomic writes, JSON that survives NaN, and checked reads of untrusted files.

Every result gandyn writes goes through here. A file is written to a temporary name in
its own folder, flushed to disk, then renamed over the target (`os.replace` is atomic
on POSIX), so a reader — or a run resumed after a crash — sees the old file or the new
one, never a half-written one. A folder of results is built under a temporary name and
renamed into place the same way.

JSON convention: non-finite floats (NaN, ±inf) are written as `null`, everywhere, so
that a diverged run's metrics are valid JSON (`allow_nan=False` holds).

Everything gandyn reads back (run folders, shards, settings, caches, data files) is
untrusted and read through here: `open_regular` opens a path without blocking
(`O_NONBLOCK`, then `fstat` on what was opened: a FIFO, a device or a folder is
refused, and a file swapped for one after a check cannot slip through) and bounds its
size; `read_bytes`, `read_json`, `read_npz` and `BoundedReader` (a gzip stream that
refuses to inflate past a bound) build on it.
"""

import contextlib
import io
import json
import math
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np


__all__ = ["MAX_JSON_BYTES", "BoundedReader", "atomic_directory", "atomic_figure", "atomic_path",
           "atomic_write", "check_regular_file", "check_writable_file", "check_writable_folder",
           "finite_or_none", "jsonable", "make_parents", "open_regular", "read_bytes", "read_json",
           "read_npz", "remove_empty", "write_json"]


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


MAX_JSON_BYTES = 32 * 2**20
"""The largest JSON file read back (settings, metrics, shards): 32 MiB. gandyn's own
are far smaller; parsed, JSON takes up to ~20 times its size in Python objects."""


def read_json(path, *, expect: type = dict, what: str = "file",
              max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The JSON in `path`, which must hold a `expect` (dict or list) in at most
    `max_bytes`; `ValueError` naming the file otherwise (missing, special, too large,
    unreadable, not JSON, wrong shape)."""
    path = Path(path)
    content = read_bytes(path, what, max_bytes=max_bytes)
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON: {_short(e)}") from None
    if not isinstance(data, expect):
        raise ValueError(f"{what} {str(path)!r} holds a JSON {type(data).__name__}, expected a "
                         f"{'JSON object' if expect is dict else 'JSON ' + expect.__name__}")
    return data


_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


def _check_status(path: Path, info: os.stat_result, what: str, max_bytes: int | None) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{what} {str(path)!r} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
        raise ValueError(f"{what} {str(path)!r} is not a regular file ({kind})")
    if max_bytes is not None and info.st_size > max_bytes:
        raise ValueError(f"{what} {str(path)!r} has {info.st_size:,} bytes, more than the "
                         f"{max_bytes:,} allowed")


def _status(path: Path, what: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ValueError(f"cannot read {what} {str(path)!r}: {reason}") from None


def check_regular_file(path, what: str = "file", *, max_bytes: int | None = None) -> Path:
    """`path` if it names a regular file (of at most `max_bytes`); a `ValueError` naming
    it otherwise. Checked with `stat` before anything opens it: a FIFO or a device
    (`/dev/zero`) would block or never end. To then read it, `open_regular` (which
    checks what it opened) closes the gap between the check and the opening."""
    path = Path(path)
    _check_status(path, _status(path, what), what, max_bytes)
    return path


def open_regular(path, what: str = "file", *, max_bytes: int | None = None) -> IO[bytes]:
    """`path` opened for reading in binary, if it is a regular file of at most
    `max_bytes`; a one-line `ValueError` naming it otherwise. Checked before opening
    (`stat`: a device is never opened) and on what was opened (`fstat` of a descriptor
    opened with `O_NONBLOCK`, so a FIFO put in its place meanwhile is refused, not
    waited on); the descriptor is made blocking again for the caller."""
    path = check_regular_file(path, what, max_bytes=max_bytes)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist") from None
    except OSError as e:
        raise ValueError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from None
    try:
        _check_status(path, os.fstat(fd), what, max_bytes)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path, what: str = "file", *, max_bytes: int) -> bytes:
    """The content of the regular file `path` (`open_regular`), at most `max_bytes` of
    it, however it grows while read; a one-line `ValueError` otherwise."""
    path = Path(path)
    with open_regular(path, what, max_bytes=max_bytes) as f:
        try:
            content = f.read(max_bytes + 1)
        except OSError as e:
            raise ValueError(f"cannot read {what} {str(path)!r}: {e.strerror or e}") from None
    if len(content) > max_bytes:
        raise ValueError(f"{what} {str(path)!r} has more than the {max_bytes:,} bytes allowed")
    return content


class BoundedReader(io.RawIOBase):
    """A readable stream of `stream` that raises a one-line `ValueError` (`what`) once
    more than `max_bytes` are read from it: for decompressed streams, whose size a
    small file (a gzip bomb) does not bound."""

    def __init__(self, stream, max_bytes: int, what: str):
        self.stream, self.left, self.what, self.max_bytes = stream, max_bytes, what, max_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        with memoryview(buffer) as view:
            count = self.stream.readinto(view[: self.left + 1])
        self.left -= count
        if self.left < 0:
            from ._budget import format_bytes

            raise ValueError(f"{self.what} inflates to more than the "
                             f"{format_bytes(self.max_bytes)} allowed")
        return count

    def close(self) -> None:
        self.stream.close()
        super().close()


_NPY_HEADER = 65_536  # the most bytes an .npy header (magic, length, dict, padding) may take


def read_npz(path, what: str = "file", *, max_bytes: int,
             check: Callable[[str, tuple, np.dtype], str | None] | None = None,
             ) -> dict[str, np.ndarray]:
    """The arrays of an `.npz`, read as untrusted input: `path` must be a regular file
    (`open_regular`); before anything is inflated, every entry's size as the
    archive declares it (`ZipInfo.file_size`) and their total must be at most
    `max_bytes`, and every entry must be an `.npy` whose header (read, bounded, by
    numpy) declares a plain real dtype (booleans, integers, floats: no objects, no
    complex numbers) and a data size that matches the entry's size; `check(name,
    shape, dtype)` may refuse an entry by returning the reason. Reading stops at the
    declared size (zipfile checks each entry's CRC). A `ValueError` naming the file
    and the entry otherwise."""
    path = Path(path)
    with open_regular(path, what) as file:
        return _npz_arrays(file, f"{what} {str(path)!r}", max_bytes, check)


def _npz_arrays(file, where: str, max_bytes: int, check) -> dict[str, np.ndarray]:
    arrays = {}
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            total = sum(info.file_size for info in entries)
            if total > max_bytes:
                from ._budget import format_bytes

                raise _Refused(f"its entries inflate to {format_bytes(total)}, more than the "
                               f"{format_bytes(max_bytes)} it may hold")
            for info in entries:
                name = info.filename.removesuffix(".npy")
                if not info.filename.endswith(".npy") or name in arrays:
                    raise _Refused(f"entry {info.filename!r} is not one .npy array")
                with archive.open(info) as member:
                    shape, fortran, dtype, header = _npy_header(member)
                    if dtype.kind not in "biuf" or dtype.hasobject:
                        raise _Refused(f"array {name!r} has dtype {dtype}, not real numbers")
                    nbytes = math.prod(shape) * dtype.itemsize
                    if not nbytes <= info.file_size - header <= nbytes + _NPY_HEADER:
                        raise _Refused(f"array {name!r} declares {nbytes:,} bytes of shape {shape} "
                                       f"but its entry holds {info.file_size - header:,}")
                    reason = check(name, shape, dtype) if check is not None else None
                    if reason:
                        raise _Refused(f"array {name!r} {reason}")
                    arrays[name] = _read_exactly(member, nbytes, shape, fortran, dtype, name)
    except _Refused as e:
        raise ValueError(f"{where} is refused: {e}") from None
    except Exception as e:  # noqa: BLE001 - any failure to parse means a bad file
        raise ValueError(f"{where} is damaged or incomplete ({type(e).__name__}: "
                         f"{_short(e)})") from None
    return arrays


class _Refused(Exception):
    """An entry of an untrusted file that is well-formed but not admitted."""


def _read_exactly(member, nbytes: int, shape: tuple, fortran: bool, dtype: np.dtype, name: str):
    """The `nbytes` of data after an `.npy` header, read into one buffer, as an array."""
    buffer, got = bytearray(nbytes), 0
    with memoryview(buffer) as view:
        while got < nbytes:
            count = member.readinto(view[got : got + 2**24])
            if not count:
                raise _Refused(f"array {name!r} is truncated ({got:,} of {nbytes:,} bytes)")
            got += count
    return np.frombuffer(buffer, dtype).reshape(shape, order="F" if fortran else "C")


def _npy_header(member) -> tuple[tuple, bool, np.dtype, int]:
    """`(shape, fortran order, dtype, header length)` of an `.npy` stream (numpy caps
    the header's length)."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise _Refused(f"an .npy entry has format version {version}")
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    return tuple(shape), fortran, dtype, member.tell()


def check_writable_folder(path, what: str = "--out") -> Path:
    """`path` if it names a folder (existing or not) that could be created and written
    to, checked before any work and creating nothing; a one-line `ValueError` naming
    it otherwise: a file in the way, a name longer than the file system allows, a
    dangling symbolic link or a loop of them, or no writable folder to create it in."""
    path = Path(path)
    text = str(path)
    if "\0" in text:
        raise ValueError(f"cannot write to {what} {text!r}: it contains a NUL byte")
    for part in path.parts:
        if len(os.fsencode(part)) > 255:
            raise ValueError(f"cannot write to {what} {text[:80]!r}…: a name in it has "
                             f"{len(os.fsencode(part))} bytes, more than the 255 a file system "
                             f"allows")
    ancestor = path
    while True:
        try:
            info = os.stat(ancestor)
            break
        except FileNotFoundError:
            if os.path.islink(ancestor):
                raise ValueError(f"cannot write to {what} {text!r}: {str(ancestor)!r} is a "
                                 f"symbolic link to nothing") from None
        except NotADirectoryError:  # a file on the way: named below, as the folder it is not
            pass
        except OSError as e:  # a loop of links (ELOOP), …
            raise ValueError(f"cannot write to {what} {text!r}: {str(ancestor)!r}: "
                             f"{e.strerror or e}") from None
        if ancestor == ancestor.parent:
            raise ValueError(f"cannot write to {what} {text!r}: no existing folder above it")
        ancestor = ancestor.parent
    if ancestor == path and not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"cannot write to {what} {text!r}: it is a file, not a folder")
    if not stat.S_ISDIR(info.st_mode) or not _can_create_in(ancestor):
        raise ValueError(f"cannot write to {what} {text!r}: {str(ancestor)!r} is not a "
                         f"writable folder")
    return path


def check_writable_file(path, what: str = "--out") -> Path:
    """`path` if a file could be written there (not a folder, `check_writable_folder`
    of its folder, and a name the file system allows); a one-line `ValueError` otherwise."""
    path = Path(path)
    if len(os.fsencode(path.name)) > 255:
        raise ValueError(f"cannot write to {what} {str(path)[:80]!r}…: its name has "
                         f"{len(os.fsencode(path.name))} bytes, more than the 255 a file system allows")
    try:
        folder = stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):  # none yet (or a bad name: said below)
        folder = False
    if folder:
        raise ValueError(f"cannot write to {what} {str(path)!r}: it is a folder; give a "
                         f"file's name")
    check_writable_folder(path.parent, what)
    return path


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in `folder`, by trying (and removing it): `os.access`
    says yes to root even on a read-only file system."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".gandyn-probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


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

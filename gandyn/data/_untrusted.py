"""Files handed to gandyn are untrusted: the caps and the checks every image loader
shares (a regular file, bounded reads, pixel ranges, labels, memory)."""

import math
import os
import stat
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .._io import open_regular
from ._images import DataError


# ---------------------------------------------------------------- user files
#
# Files handed to gandyn are untrusted: every loader refuses a file it cannot read
# safely with a one-line `DataError` before it reads much, allocates much or runs
# anything. The caps (module constants, so a test or a user may change them):

MAX_BYTES = 2 * 2**30
"""The most data one file may hold once decoded (an IDX body after gunzipping, one
array of an `.npz`, a CIFAR batch's arrays), and the most pixels a PNG folder or a
set of CIFAR batches may add up to: 2 GiB, 14 times CIFAR-10's 150 MB (and 8 GiB
once converted to float32 images)."""

MAX_PICKLE_BYTES = 256 * 2**20
"""The largest CIFAR batch file read: 256 MiB (the largest real one, CIFAR-100's
training set, is 155 MB); a pickle's references can multiply its size in memory."""

MAX_CLASSES = 65_536
"""Labels must be integers in `[0, MAX_CLASSES)`: one class per label value is
allocated by the metrics' classifier and its histograms."""

_MAX_IDX_DIMS = 16
_CHUNK = 16 * 2**20


_PIXELS = "images must be integers 0–255 or floats in [0, 1] or [0, 255]"
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


def _bytes(n: int) -> str:
    """`n` bytes in words: `2 GiB`, `1.5 MiB`, `12 bytes`."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _labels_rule() -> str:
    """What labels may be, for messages."""
    return f"labels must be integers 0..{MAX_CLASSES - 1}"


def _reason(e: Exception) -> str:
    """An exception's message on one line, at most 200 characters."""
    text = " ".join(str(e).split())
    return text if len(text) <= 200 else text[:199] + "…"


def _stat(path: Path, expected: str) -> os.stat_result:
    """`path`'s status (following links), or `DataError` if it is missing or unreadable."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{str(path)!r} does not exist; expected {expected}") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise DataError(f"{str(path)!r} cannot be read ({reason}); expected {expected}") from None


def _regular_file(path: Path, expected: str) -> os.stat_result:
    """`path`'s status if it is a regular file. A device (`/dev/zero` never ends) or a
    FIFO (opening one blocks) is refused before it is opened."""
    status = _stat(path, expected)
    if not stat.S_ISREG(status.st_mode):
        kind = _KINDS.get(stat.S_IFMT(status.st_mode), "a special file")
        raise DataError(f"{str(path)!r} is not a regular file ({kind}); expected {expected}")
    return status


def _open_regular(path: Path, expected: str, max_bytes: int | None = None):
    """`path` opened for reading in binary (`_io.open_regular`: checked before opening
    and on the opened descriptor, so a FIFO is refused, never waited on)."""
    _regular_file(path, expected)
    try:
        return open_regular(path, "data file", max_bytes=max_bytes)
    except ValueError as e:
        raise DataError(f"{e}; expected {expected}") from None


def _fill(f, n: int) -> tuple[bytearray, int]:
    """The first `n` bytes of `f`, read into one buffer in chunks, and how many there were."""
    buffer, got = bytearray(n), 0
    with memoryview(buffer) as view:
        while got < n:
            count = f.readinto(view[got : got + _CHUNK])
            if not count:
                break
            got += count
    return buffer, got


def _check_image_memory(shape: tuple, nbytes: int, where: str) -> None:
    """Refuse, from a header, images whose pixels and their float32 copy (what training
    holds) exceed the memory budget (`gandyn._budget`), before reading them."""
    from .._budget import MemoryBudgetError, check_memory

    images = math.prod(shape) * 4
    try:
        check_memory(nbytes + images, f"{where} (shape {tuple(shape)})",
                     {"pixels read": nbytes, "float32 images": images})
    except MemoryBudgetError as e:
        raise DataError(str(e)) from None


def _pixel_scale(pixels: np.ndarray, where: str) -> float:
    """The value of white in `pixels`: 255 for integers in 0–255 and for floats in
    [0, 255] above 1, 1 for floats in [0, 1]; any other dtype or value is refused."""
    kind = pixels.dtype.kind
    if kind not in "uif":
        raise DataError(f"{where} has dtype {pixels.dtype}; {_PIXELS}")
    low, high = pixels.min(), pixels.max()  # NaN propagates to both
    if np.isnan(low) or np.isnan(high):
        raise DataError(f"{where} holds NaN; {_PIXELS}")
    if np.isinf(low) or np.isinf(high):
        raise DataError(f"{where} holds infinite values; {_PIXELS}")
    if low >= 0 and high <= (1 if kind == "f" else 255):
        return 1.0 if kind == "f" else 255.0
    if kind == "f" and low >= 0 and high <= 255:
        return 255.0
    raise DataError(f"{where} has values {low:g}..{high:g}; {_PIXELS}")


def _check_images(shape: tuple, where: str, expected: str) -> None:
    """Refuse a set of no images, or of images with a side of 0 pixels."""
    if shape[0] == 0:
        raise DataError(f"{where} holds no images (shape {shape}); expected {expected}")
    if 0 in shape[1:]:
        raise DataError(f"{where} holds empty images (shape {shape}); expected {expected}")


def _labels(values: np.ndarray, where: str) -> jax.Array:
    """`values` as int32 class labels, refused unless integers in `[0, MAX_CLASSES)`."""
    kind, rule = values.dtype.kind, _labels_rule()
    if kind not in "uif":
        raise DataError(f"{where} has dtype {values.dtype}; {rule}")
    if values.size == 0:
        return jnp.asarray(values, jnp.int32)
    if kind == "f":
        if np.isnan(values).any():
            raise DataError(f"{where} holds label NaN; {rule}")
        fractional = values[np.isfinite(values) & (values != np.round(values))]
        if fractional.size:
            raise DataError(f"{where} holds label {fractional[0]:g}, not an integer; {rule}")
    for value in (values.min(), values.max()):
        if not 0 <= value < MAX_CLASSES:
            shown = int(value) if np.isfinite(value) and float(value).is_integer() else value
            raise DataError(f"{where}: label {shown} out of range; {rule}")
    return jnp.asarray(values.astype(np.int64), jnp.int32)

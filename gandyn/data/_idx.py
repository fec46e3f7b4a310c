"""MNIST-style IDX files (gzipped or not), their labels beside them."""

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from . import _untrusted
from ._images import DataError, ImageData, _scale
from ._untrusted import (
    _bytes,
    _reason,
    _open_regular,
    _fill,
    _check_image_memory,
    _pixel_scale,
    _check_images,
    _labels,
    _MAX_IDX_DIMS,
)


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _idx_array(f, path: Path, expected: str) -> np.ndarray:
    """The array of an open IDX stream, its size checked against the header and the
    cap before it is read."""
    head = f.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] == 0:
        raise DataError(f"{str(path)!r} is not {expected}: bad magic number")
    ndim = head[3]
    if ndim > _MAX_IDX_DIMS:
        raise DataError(f"{str(path)!r} is not {expected}: header says {ndim} dimensions "
                        f"(at most {_MAX_IDX_DIMS})")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{str(path)!r} is not {expected}: truncated header")
    shape = struct.unpack(f">{ndim}I", sizes)
    dtype = np.dtype(_IDX_TYPES[head[2]])
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _untrusted.MAX_BYTES:
        raise DataError(f"{str(path)!r}: header says shape {shape}, {_bytes(nbytes)} of data, over "
                        f"gandyn's cap of {_bytes(_untrusted.MAX_BYTES)} per file")
    if ndim >= 3:
        _check_image_memory(shape, nbytes, repr(str(path)))
    body, got = _fill(f, nbytes)
    if got < nbytes:
        raise DataError(f"{str(path)!r} is not {expected}: header says shape {shape}, "
                        f"but the file holds {got} bytes of data")
    if f.read(1):
        raise DataError(f"{str(path)!r} is not {expected}: header says shape {shape}, "
                        f"but the file holds more than its {nbytes} bytes of data")
    return np.frombuffer(body, dtype).reshape(shape)


def read_idx(path) -> np.ndarray:
    """An IDX array (MNIST's format: magic `0 0 type ndim`, big-endian int32 sizes,
    then the data), gzipped or not; at most `MAX_BYTES` of data, read no further."""
    path = Path(path)
    expected = "an IDX file (MNIST format, optionally gzipped)"
    try:
        with _open_regular(path, expected) as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            # Inflated if gzipped: the header bounds what is read (a gzip bomb is not read on).
            with gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw as f:
                return _idx_array(f, path, expected)
    except (OSError, EOFError, zlib.error) as e:  # unreadable, or a truncated or corrupt gzip
        raise DataError(f"{str(path)!r} cannot be read as {expected}: {_reason(e)}") from None


def _labels_beside(images_path: Path) -> Path | None:
    """MNIST's naming: `…-images-idx3-ubyte[.gz]` has `…-labels-idx1-ubyte[.gz]`."""
    name = images_path.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
    candidate = images_path.with_name(name)
    return candidate if name != images_path.name and candidate.exists() else None


def load_idx(path, labels=None) -> ImageData:
    """MNIST / Fashion-MNIST images from an IDX file `(n, h, w)` with 0–255 pixels
    (or floats in [0, 1]); labels from `labels` or the file named like MNIST's beside
    it, if present."""
    path = Path(path)
    expected = "IDX images of shape (n, height, width)"
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"{str(path)!r}: expected {expected}, got {images.shape}")
    _check_images(images.shape, repr(str(path)), expected)
    maximum = _pixel_scale(images, repr(str(path)))
    labels = _labels_beside(path) if labels is None else Path(labels)
    y = None
    if labels is not None:
        y = read_idx(labels)
        if y.shape != images.shape[:1]:
            raise DataError(f"{str(labels)!r}: expected {images.shape[0]} labels, got shape {y.shape}")
        y = _labels(y, repr(str(labels)))
    return ImageData(_scale(images[:, None], maximum), y, name=path.name)

"""`.npz` files of images (and labels), each array checked from its header."""

import math
import zipfile
from pathlib import Path

import numpy as np

from . import _untrusted
from ._images import DataError, ImageData, _scale
from ._untrusted import (
    _bytes,
    _labels_rule,
    _reason,
    _open_regular,
    _check_image_memory,
    _pixel_scale,
    _check_images,
    _labels,
    _PIXELS,
)


def _npy_header(member, where: str) -> tuple[tuple, np.dtype]:
    """The shape and dtype in a `.npy` member's header (read, bounded, by numpy)."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise DataError(f"{where} is in .npy format version {version}; gandyn reads 1.0 and 2.0")
    return shape, dtype


def _npz_array(archive: zipfile.ZipFile, key: str, where: str, kinds: str, valid: str) -> np.ndarray:
    """The array `key` of an `.npz`, its dtype and size checked from its header first."""
    with archive.open(f"{key}.npy") as member:
        shape, dtype = _npy_header(member, where)
    if dtype.kind not in kinds or dtype.hasobject:
        raise DataError(f"{where} has dtype {dtype}; {valid}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _untrusted.MAX_BYTES:
        raise DataError(f"{where} has shape {shape}, {_bytes(nbytes)}, over gandyn's cap of "
                        f"{_bytes(_untrusted.MAX_BYTES)} per array")
    if key == "images":
        _check_image_memory(shape, nbytes, where)
    with archive.open(f"{key}.npy") as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _read_npz(path: Path, expected: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The `images` and `labels` (or None) of an `.npz`; no other array is read."""
    file = _open_regular(path, expected)
    try:
        with file, zipfile.ZipFile(file) as archive:
            keys = sorted(n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy"))
            if "images" not in keys:
                raise DataError(f"{str(path)!r} has arrays {keys}; expected {expected}")
            images = _npz_array(archive, "images", f"{str(path)!r}: 'images'", "uif", _PIXELS)
            labels = None
            if "labels" in keys:
                labels = _npz_array(archive, "labels", f"{str(path)!r}: 'labels'", "uif", _labels_rule())
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - any reading failure is a format error
        raise DataError(f"{str(path)!r} is not {expected}: {type(e).__name__}: {_reason(e)}") from None
    return images, labels


def load_npz(path) -> ImageData:
    """An `.npz` with `images` `(n, h, w)`, `(n, h, w, c)` or `(n, c, h, w)` (c ≤ 4;
    integers 0–255, or floats in [0, 1] — or in [0, 255] when any exceeds 1) and
    optionally integer `labels` `(n,)`. Arrays are read without pickles, each at most
    `MAX_BYTES`, checked from its header before it is read."""
    path = Path(path)
    expected = "an .npz with an 'images' array (n, h, w[, c]) and optional 'labels'"
    raw, labels = _read_npz(path, expected)
    images = raw
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] <= 4 < images.shape[1]:
        images = images.transpose(0, 3, 1, 2)
    if images.ndim != 4 or images.shape[1] > 4:
        raise DataError(f"{str(path)!r}: 'images' has shape {raw.shape}; expected {expected}")
    _check_images(raw.shape, f"{str(path)!r}: 'images'", expected)
    maximum = _pixel_scale(images, f"{str(path)!r}: 'images'")
    if labels is not None and labels.shape != images.shape[:1]:
        raise DataError(f"{str(path)!r}: {images.shape[0]} images but 'labels' has shape {labels.shape}")
    labels = None if labels is None else _labels(labels, f"{str(path)!r}: 'labels'")
    return ImageData(_scale(images, maximum), labels, name=path.stem)

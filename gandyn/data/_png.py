"""Folders of PNG images, each checked from its header before it is decoded."""

import stat
import struct
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from . import _untrusted
from ._images import DataError, ImageData, _scale
from ._untrusted import (
    _bytes,
    _reason,
    _stat,
    _open_regular,
)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height from its header, before anything is decoded."""
    expected = "a PNG image"
    with _open_regular(path, expected) as f:
        head = f.read(24)
    if len(head) < 24 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise DataError(f"{str(path)!r} is not a readable PNG: no PNG signature and header")
    return struct.unpack(">II", head[16:24])


def _describe(image: np.ndarray) -> str:
    """`8×8 with 3 channels` for an `(8, 8, 3)` image."""
    h, w, c = image.shape
    return f"{w}×{h} with {c} channel{'' if c == 1 else 's'}"


def load_png_folder(folder) -> ImageData:
    """Every PNG in `folder`, all of one size; with one subfolder per class
    (`folder/<class>/*.png`) the subfolder names, sorted, give the labels. At most
    `MAX_BYTES` of float32 pixels, checked from each PNG's header before decoding."""
    import matplotlib.image

    folder = Path(folder)
    expected = "a folder of PNG images of one size (optionally one subfolder per class)"
    if not stat.S_ISDIR(_stat(folder, expected).st_mode):
        raise DataError(f"{str(folder)!r} is not a directory; expected {expected}")
    files = sorted(folder.glob("*.png"))
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*.png")))
    labels = None
    if not files and classes:
        files, labels = [], []
        for index, sub in enumerate(classes):
            members = sorted(sub.glob("*.png"))
            files += members
            labels += [index] * len(members)
    if not files:
        raise DataError(f"{str(folder)!r} holds no images (no .png files); expected {expected}")
    images, total = [], 0
    for f in files:
        width, height = _png_size(f)
        if total + width * height * 16 > _untrusted.MAX_BYTES:  # at most 4 float32 channels
            raise DataError(f"{str(f)!r} is {width}×{height}: the PNGs in {str(folder)!r} would take more "
                            f"than gandyn's cap of {_bytes(_untrusted.MAX_BYTES)}")
        try:
            with _open_regular(f, "a PNG image") as png:
                image = matplotlib.image.imread(png, format="png")  # floats in [0, 1]
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - any decoding failure is a format error
            raise DataError(f"{str(f)!r} is not a readable PNG: {type(e).__name__}: {_reason(e)}") from None
        image = image[:, :, None] if image.ndim == 2 else image[:, :, :3]
        if images and image.shape != images[0].shape:
            raise DataError(f"{str(f)!r} is {_describe(image)}, but {str(files[0])!r} is "
                            f"{_describe(images[0])}; expected {expected}")
        images.append(image)
        total += image.nbytes
    pixels = np.stack(images).transpose(0, 3, 1, 2)
    return ImageData(_scale(pixels, 1.0), None if labels is None else jnp.asarray(labels, jnp.int32),
                     name=folder.name)

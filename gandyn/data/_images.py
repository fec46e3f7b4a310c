"""Image data, the types: `ImageData` (images and labels), `StackedImages`, their
`fingerprint`, and the `DataError` every loader raises. The loaders:
`_embedded` (digits, stacked digits, MNIST-5k), `_idx`, `_cifar`, `_png`, `_npz`
(user files, checked by `_untrusted`), and `_load` (`load`, by name or path).

Images are held as `(n, channels, height, width)` float arrays scaled to `[−1, 1]`
(the range of a `tanh` generator), with integer class labels where the data has
them. Loaders read MNIST-style IDX files (gzipped or not), CIFAR-10 python batches,
folders of PNGs and `.npz` files. Files are untrusted: a missing, malformed, huge,
special (a device, a FIFO) or hostile file raises a one-line `DataError` naming the
file and what was expected, before much is read; CIFAR pickles are unpickled with
only data admitted; sizes are capped by `MAX_BYTES`, `MAX_PICKLE_BYTES` and
`MAX_CLASSES` (in `_untrusted`).
"""

import abc
import hashlib

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


def fingerprint(data: AbstractImageData) -> str:
    """A hash of the images and labels (of the base set, for stacked data)."""
    base = data.base if isinstance(data, StackedImages) else data
    digest = hashlib.sha256(np.asarray(base.images).tobytes())
    digest.update(str(base.images.shape).encode())
    if base.labels is not None:
        digest.update(np.asarray(base.labels).tobytes())
    return digest.hexdigest()[:16]

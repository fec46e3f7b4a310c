"""Data: seeded toy target distributions (`get(name)`) and image data (`load(name or
path)`: the embedded 8×8 digits, stacked digits, user image files)."""

from ._cifar import load_cifar as load_cifar
from ._embedded import digits as digits, mnist5k as mnist5k, stacked_digits as stacked_digits
from ._idx import load_idx as load_idx, read_idx as read_idx
from ._images import (
    AbstractImageData as AbstractImageData,
    DataError as DataError,
    fingerprint as fingerprint,
    ImageData as ImageData,
    StackedImages as StackedImages,
)
from ._load import IMAGE_DATA as IMAGE_DATA, load as load
from ._npz import load_npz as load_npz
from ._png import load_png_folder as load_png_folder
from ._toy import (
    AbstractTarget as AbstractTarget,
    Gaussian1D as Gaussian1D,
    Grid as Grid,
    Mixture1D as Mixture1D,
    Ring as Ring,
    Spiral as Spiral,
    describe as describe,
    get as get,
    names as names,
    register as register,
    registry as registry,
)

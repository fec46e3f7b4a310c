"""Data: seeded toy target distributions (`get(name)`) and image data (`load(name or
path)`: the embedded 8×8 digits, stacked digits, user image files)."""

from ._images import (
    AbstractImageData as AbstractImageData,
    DataError as DataError,
    digits as digits,
    fingerprint as fingerprint,
    IMAGE_DATA as IMAGE_DATA,
    ImageData as ImageData,
    load as load,
    load_cifar as load_cifar,
    load_idx as load_idx,
    load_npz as load_npz,
    load_png_folder as load_png_folder,
    mnist5k as mnist5k,
    read_idx as read_idx,
    stacked_digits as stacked_digits,
    StackedImages as StackedImages,
)
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

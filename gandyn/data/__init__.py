"""Data: seeded toy target distributions (`get(name)`); image loaders live in
`gandyn.data.images` and are imported only when used."""

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
)

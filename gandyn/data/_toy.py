"""Toy targets: Gaussian mixtures that know their mode centres and spread."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Key, Samples
from .._registry import Registry


class AbstractTarget(eqx.Module):
    """A distribution to learn. `sample(key, n)` draws `(n, dim)` samples; mixtures
    also give their mode `centres` `(modes, dim)` and per-mode standard deviation
    `std`, which the mode-coverage metrics use (`centres` is `None` otherwise)."""

    @abc.abstractmethod
    def sample(self, key: Key, n: int) -> Samples: ...

    @property
    @abc.abstractmethod
    def dim(self) -> int: ...

    @property
    def centres(self) -> np.ndarray | None:
        return None

    std: eqx.AbstractVar[float]


class _Mixture(AbstractTarget):
    """Equal-weight isotropic Gaussian mixture on fixed centres. With
    `stratified=True` a draw of `n` holds every mode equally often (up to one), as
    ODE-GAN's colab builds its real batches, instead of a random mode per sample."""

    stratified: bool = eqx.field(default=False, kw_only=True, static=True)

    def sample(self, key, n):
        centres = jnp.asarray(self.centres)
        which_key, noise_key = jax.random.split(key)
        if self.stratified:
            which = jnp.arange(n) % centres.shape[0]
        else:
            which = jax.random.randint(which_key, (n,), 0, centres.shape[0])
        noise = jax.random.normal(noise_key, (n, centres.shape[1]))
        return centres[which] + self.std * noise

    @property
    def dim(self):
        return self.centres.shape[1]


class Gaussian1D(_Mixture):
    """N(mean, std²) in one dimension."""

    mean: float = 0.0
    std: float = 1.0

    @property
    def centres(self):
        return np.array([[self.mean]])


class Mixture1D(_Mixture):
    """Two equal 1-D Gaussians at ±separation/2 (a bimodal target)."""

    separation: float = 4.0
    std: float = 0.5

    @property
    def centres(self):
        return np.array([[-self.separation / 2], [self.separation / 2]])


class Ring(_Mixture):
    r"""`modes` Gaussians on a circle of `radius`, centres
    `r·(cos 2πk/n, sin 2πk/n)`, k = 0..n−1: the angles exclude the endpoint 2π (with
    `linspace(0, 2π, n)` the first and last modes coincide, leaving n − 1)."""

    modes: int = 8
    radius: float = 2.0
    std: float = 0.02

    @property
    def centres(self):
        angles = 2 * np.pi * np.arange(self.modes) / self.modes
        return self.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


class Grid(_Mixture):
    """`side × side` Gaussians on a square grid of `spacing`, centred at the origin:
    side 5, spacing 2 gives {−4, −2, 0, 2, 4}² (grid-25); side 4, spacing 1 gives
    ODE-GAN's {±0.5, ±1.5}²."""

    side: int = 5
    spacing: float = 2.0
    std: float = 0.05

    @property
    def centres(self):
        axis = (np.arange(self.side) - (self.side - 1) / 2) * self.spacing
        x, y = np.meshgrid(axis, axis)
        return np.stack([x.ravel(), y.ravel()], axis=1)


class Spiral(AbstractTarget):
    """A 2-D spiral (swiss roll): `r = θ/(2π)·scale`, θ ~ U(π/2, 4π), plus noise.
    A continuum: no modes to count."""

    scale: float = 0.5
    std: float = 0.05

    def sample(self, key, n):
        angle_key, noise_key = jax.random.split(key)
        theta = jax.random.uniform(angle_key, (n,), minval=0.5 * jnp.pi, maxval=4 * jnp.pi)
        r = theta / (2 * jnp.pi) * self.scale * 2
        points = jnp.stack([r * jnp.cos(theta), r * jnp.sin(theta)], axis=1)
        return points + self.std * jax.random.normal(noise_key, (n, 2))

    @property
    def dim(self):
        return 2


registry: Registry[AbstractTarget] = Registry("data", AbstractTarget)
register, names, describe, get = registry.register, registry.names, registry.describe, registry.get

for _name, _factory, _description in (
    ("gaussian", Gaussian1D, "1-D Gaussian N(0, 1)"),
    ("bimodal", Mixture1D, "1-D mixture of two Gaussians at ±2, σ = 0.5"),
    ("ring8", Ring, "8 Gaussians on a circle of radius 2, σ = 0.02"),
    ("grid25", Grid, "5×5 grid at {−4..4}², σ = 0.05"),
    ("grid16", lambda: Grid(side=4, spacing=1.0, std=0.02), "ODE-GAN's 4×4 grid {±0.5, ±1.5}², σ = 0.02"),
    ("spiral", Spiral, "2-D spiral (swiss roll), no discrete modes"),
):
    register(_name, _description, _factory)

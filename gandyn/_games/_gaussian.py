"""The smallest GAN that must match a mean and a spread: Gaussian data, a quadratic critic."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from .._custom_types import Key
from .._regularizers import AbstractRegularizer
from ..data._toy import Gaussian1D
from ..losses import AbstractLoss
from ._base import AbstractGAN, Players
from ._dirac import optimal_constant_logit


def gaussian_nodes(count: int, dtype=float) -> jax.Array:
    """`count` symmetric standard-normal quantiles rescaled to unit variance: a
    deterministic stand-in for `z ~ N(0, 1)` that matches its first four moments
    closely (odd moments exactly)."""
    q = ndtri((jnp.arange(count, dtype=dtype) + 0.5) / count)
    return q / jnp.sqrt(jnp.mean(q**2))


class GaussianGAN(AbstractGAN):
    r"""1-D Gaussian data `N(μ*, σ*²)`, a generator `G(z) = μ + σz` with `z ~ N(0, 1)`
    and a quadratic critic `C(x) = w₁x + w₂x² (+ b)`.

    A linear critic (the Dirac-GAN's) can only see the mean; the quadratic term sees
    the second moment, so the equilibrium `μ = μ*`, `σ = ±σ*`, `w = 0` (and `b` the
    loss's best constant logit) asks the generator to match both. With `nodes=K` the
    expectations over data and latent noise are taken on K fixed quantiles (a
    deterministic field, exact Jacobians); with `nodes=None` each step draws
    `batch_size` samples of each from its key.

    Parameters: `Players(generator=(μ, σ), discriminator=(w₁, w₂[, b]))`.
    """

    loss: AbstractLoss
    mean: float = 0.0
    std: float = 1.0
    bias: bool = eqx.field(static=True, default=False)
    regularizers: tuple[AbstractRegularizer, ...] = ()
    nodes: int | None = eqx.field(static=True, default=64)
    batch_size: int = eqx.field(static=True, default=256)

    def __check_init__(self):
        if not self.std > 0:
            raise ValueError(f"std must be positive, got {self.std}")

    @property
    def target(self) -> Gaussian1D:
        """The data distribution, for sample metrics."""
        return Gaussian1D(mean=self.mean, std=self.std)

    def init(self, key: Key | None = None) -> Players:
        del key
        critic = jnp.zeros(3 if self.bias else 2).at[0].set(0.5)
        return Players(jnp.array([self.mean + 1.0, 0.5 * self.std]), critic)

    def coordinates(self) -> tuple[str, ...]:
        return ("μ", "σ", "w1", "w2") + (("b",) if self.bias else ())

    def _noise(self, key, dtype=float):
        if self.nodes is not None:
            return gaussian_nodes(self.nodes, dtype)
        return jax.random.normal(key, (self.batch_size,), dtype)

    def real_samples(self, key):
        return (self.mean + self.std * self._noise(key))[:, None]

    def generate(self, generator, key, n: int | None = None):
        z = self._noise(key) if n is None else jax.random.normal(key, (n,))
        return (generator[0] + generator[1] * z)[:, None]

    def discriminate(self, discriminator, samples):
        x = jnp.reshape(samples, (samples.shape[0],))
        logits = discriminator[0] * x + discriminator[1] * x**2
        return logits + discriminator[2] if self.bias else logits

    def equilibrium(self) -> Players:
        critic = [0.0, 0.0] + ([optimal_constant_logit(self.loss)] if self.bias else [])
        return Players(jnp.array([self.mean, self.std]), jnp.stack([jnp.asarray(c, float) for c in critic]))

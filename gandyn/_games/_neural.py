"""GANs with MLP generator and discriminator on toy targets."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Key
from .._regularizers import AbstractRegularizer
from ..data._toy import AbstractTarget
from ..losses import AbstractLoss
from ._base import AbstractGame, Players


_ACTIVATIONS = {"relu": jax.nn.relu, "leaky_relu": jax.nn.leaky_relu, "tanh": jnp.tanh,
                "elu": jax.nn.elu, "softplus": jax.nn.softplus}


def _spectral_normalize(weight: jax.Array, iterations: int = 5) -> jax.Array:
    """`W / σ_max(W)`, σ_max by power iteration from a fixed start (stateless, so the
    parameters stay a plain PyTree and the field a pure function of them)."""
    u = jnp.ones((weight.shape[0],), weight.dtype) / np.sqrt(weight.shape[0])

    def body(_, u):
        v = weight.T @ u
        v = v / (jnp.linalg.norm(v) + 1e-12)
        u = weight @ v
        return u / (jnp.linalg.norm(u) + 1e-12)

    u = jax.lax.fori_loop(0, iterations, body, u)
    sigma = u @ weight @ (weight.T @ u) / (jnp.linalg.norm(weight.T @ u) + 1e-12)
    return weight / sigma


class MLPGAN(AbstractGame):
    r"""A GAN of two MLPs on a toy target.

    `G_θ: z ~ N(0, I_latent) → x` and `C_ψ: x → logit`, each with `depth` hidden layers
    of `width` units and `activation`; the discriminator's weights can be spectrally
    normalized (`spectral_norm=True`). Each minibatch has `batch_size` real and fake
    samples, drawn from the step's key. Parameters are array PyTrees (the MLPs with
    their static parts held by the game), so a batch of seeds is a `vmap` away.
    """

    loss: AbstractLoss
    target: AbstractTarget
    width: int = eqx.field(static=True, default=128)
    depth: int = eqx.field(static=True, default=4)
    latent_size: int = eqx.field(static=True, default=2)
    batch_size: int = eqx.field(static=True, default=512)
    activation: str = eqx.field(static=True, default="relu")
    spectral_norm: bool = eqx.field(static=True, default=False)
    regularizers: tuple[AbstractRegularizer, ...] = ()

    def __check_init__(self):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from: "
                             f"{', '.join(_ACTIVATIONS)}")

    def _networks(self, key):
        g_key, d_key = jax.random.split(key)
        act = _ACTIVATIONS[self.activation]
        generator = eqx.nn.MLP(self.latent_size, self.target.dim, self.width, self.depth,
                               activation=act, key=g_key)
        discriminator = eqx.nn.MLP(self.target.dim, "scalar", self.width, self.depth,
                                   activation=act, key=d_key)
        return generator, discriminator

    def _static(self):
        # Only the structure is used: any key builds the same static parts.
        generator, discriminator = self._networks(jax.random.key(0))
        return eqx.partition(generator, eqx.is_array)[1], eqx.partition(discriminator, eqx.is_array)[1]

    def init(self, key: Key | None = None) -> Players:
        """Fresh MLP parameters (equinox's default initialisation) from `key`."""
        key = jax.random.key(0) if key is None else key
        generator, discriminator = self._networks(key)
        return Players(eqx.filter(generator, eqx.is_array), eqx.filter(discriminator, eqx.is_array))

    def real_samples(self, key):
        return self.target.sample(key, self.batch_size)

    def generate(self, generator, key, n: int | None = None):
        z = jax.random.normal(key, (self.batch_size if n is None else n, self.latent_size))
        model = eqx.combine(generator, self._static()[0])
        return jax.vmap(model)(z)

    def discriminate(self, discriminator, samples):
        if self.spectral_norm:
            discriminator = jax.tree_util.tree_map(
                lambda w: _spectral_normalize(w) if w.ndim == 2 else w, discriminator
            )
        model = eqx.combine(discriminator, self._static()[1])
        return jax.vmap(model)(samples)

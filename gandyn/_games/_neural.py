"""GANs of neural networks: MLPs on toy targets, small DCGAN-style convnets on images."""

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Key
from .._nn import Conv, UpConv, haiku_initialize
from .._regularizers import AbstractRegularizer
from ..data._images import AbstractImageData
from ..data._toy import AbstractTarget
from ..losses import AbstractLoss
from ._base import AbstractGAN, Players


_INITS = ("equinox", "haiku")
_ACTIVATIONS = {"relu": jax.nn.relu, "leaky_relu": jax.nn.leaky_relu, "tanh": jnp.tanh,
                "elu": jax.nn.elu, "softplus": jax.nn.softplus}


SPECTRAL_NORM_ITERATIONS = 100
"""Power iterations per call of `spectral_normalize`: from a fixed start, enough for
σ_max to 10⁻³ on the default conv discriminator, whose two largest singular values
at initialisation are within 2 % of each other (the rate is (σ₂/σ₁)²)."""


def spectral_normalize(weight: jax.Array, iterations: int = SPECTRAL_NORM_ITERATIONS
                       ) -> jax.Array:
    r"""`W / σ_max(W)` (Miyato et al. 2018, arXiv 1802.05957), a kernel
    `(out, in, kh, kw)` normalized as the matrix `(out, in·kh·kw)` as PyTorch's
    `spectral_norm` does. `σ = uᵀWv` with the singular vectors `u, v` from
    `iterations` power iterations under `stop_gradient`, so the gradient is
    PyTorch's, `∂σ/∂W = uvᵀ`.

    Where it differs from PyTorch (and `eqx.nn.SpectralNorm`): they carry `u` from one
    call to the next as state and do one iteration per call, so σ lags the weights by
    the training steps; here the iterations start afresh from a fixed vector at every
    call, so the discriminator and the field stay pure functions of the parameters
    (which the game Jacobian, the path-angle and a rerun need) and σ is the converged
    value at the parameters where it is evaluated."""
    shape = weight.shape
    matrix = weight.reshape(shape[0], -1)
    frozen = jax.lax.stop_gradient(matrix)
    u = jax.random.normal(jax.random.key(0), (matrix.shape[0],), matrix.dtype)
    u = u / jnp.linalg.norm(u)

    def body(_, uv):
        u, _ = uv
        v = frozen.T @ u
        v = v / (jnp.linalg.norm(v) + 1e-12)
        u = frozen @ v
        return u / (jnp.linalg.norm(u) + 1e-12), v

    u, v = jax.lax.fori_loop(0, iterations, body, (u, jnp.zeros((matrix.shape[1],),
                                                                 matrix.dtype)))
    sigma = u @ matrix @ v
    return (matrix / sigma).reshape(shape)


class AbstractNetworkGAN(AbstractGAN):
    """A game of two equinox networks `G_θ: z ~ N(0, I) → x` and `C_ψ: x → logit`.

    Parameters are array PyTrees (the networks' static parts are rebuilt from the
    game's settings), so a batch of seeds is a `vmap` away. Each minibatch has
    `batch_size` real and fake discriminator inputs, drawn from the step's key; the
    discriminator's weight matrices and kernels can be spectrally normalized.

    Packing (PacGAN, Lin et al. 2018, arXiv 1712.04086): with `pack = m > 1` the
    discriminator scores `m` samples at once, `C_ψ(x_1 ⊕ … ⊕ x_m)`, their
    concatenation (along the features of a vector, the channels of an image). A
    minibatch is then `batch_size` packs of `m` independent samples, all real or all
    fake: `samples` returns `(batch_size, m, *sample_shape)` arrays, which every loss
    and regularizer sees as its samples (R1's `∇_x C` is the gradient with respect to
    the whole pack, WGAN-GP interpolates pack by pack).
    """

    loss: eqx.AbstractVar[AbstractLoss]
    latent_size: eqx.AbstractVar[int]
    batch_size: eqx.AbstractVar[int]
    spectral_norm: eqx.AbstractVar[bool]
    pack: eqx.AbstractVar[int]
    regularizers: eqx.AbstractVar[tuple[AbstractRegularizer, ...]]

    @abc.abstractmethod
    def _networks(self, key: Key) -> tuple[eqx.Module, eqx.Module]:
        """Fresh `(generator, discriminator)` networks."""

    @property
    @abc.abstractmethod
    def _sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample."""

    def _check_pack(self):
        if not (isinstance(self.pack, int) and self.pack >= 1):
            raise ValueError(f"pack must be a positive integer (samples per discriminator input), "
                             f"got {self.pack!r}")

    def _static(self):
        # Only the structure is used: any key builds the same static parts.
        generator, discriminator = self._networks(jax.random.key(0))
        return eqx.partition(generator, eqx.is_array)[1], eqx.partition(discriminator, eqx.is_array)[1]

    def init(self, key: Key | None = None) -> Players:
        """Fresh parameters from `key` (the networks' initialisation, see `init`)."""
        key = jax.random.key(0) if key is None else key
        generator, discriminator = self._networks(key)
        return Players(eqx.filter(generator, eqx.is_array), eqx.filter(discriminator, eqx.is_array))

    def working_bytes(self) -> int:
        """About how many bytes one evaluation of the field holds on a minibatch (for
        the memory budget): every layer's activations of both networks, forward and
        backward (×4), for `batch_size·pack` real and as many fake samples, float32."""
        n = 2 * self.batch_size * self.pack
        width = getattr(self, "width", 1)
        pixels = math.prod(self._sample_shape)
        if isinstance(self, MLPGAN):
            per_sample = 2 * self.depth * width + self.latent_size + 2 * pixels
        else:  # ConvGAN: 2w channels at a quarter, w at a half, C at full resolution, both nets
            per_sample = 2 * (pixels // self._sample_shape[0]) * (width // 4 + width // 2 + 1) + self.latent_size
        return 4 * 4 * n * per_sample

    def pack_samples(self, samples):
        """`(m·n, *shape) → (n, m, *shape)`: consecutive samples grouped into packs of
        `m = pack` (the identity when `pack = 1`)."""
        if self.pack == 1:
            return samples
        return jnp.reshape(samples, (-1, self.pack) + samples.shape[1:])

    def samples(self, players, key=None):
        """`(x_real, G_θ(z))` on the minibatch drawn with `key` (after every
        regularizer's `perturb`), packed: `(batch_size, pack, *shape)` when
        `pack > 1`."""
        real, fake = super().samples(players, key)
        return self.pack_samples(real), self.pack_samples(fake)

    def real_samples(self, key):
        return self.target.sample(key, self.batch_size * self.pack)

    def generate(self, generator, key, n: int | None = None):
        """`n` samples `G_θ(z)`, `z ~ N(0, I)` (default: one minibatch, `batch_size·pack`)."""
        n = self.batch_size * self.pack if n is None else n
        return self.generate_from(generator, jax.random.normal(key, (n, self.latent_size)))

    def generate_from(self, generator, z):
        """`G_θ(z)` for given latents `z` of shape `(n, latent_size)` (fixed latents: a
        quadrature of the expected game, a fixed evaluation sample)."""
        model = eqx.combine(generator, self._static()[0])
        return jax.vmap(model)(z)

    def discriminate(self, discriminator, samples):
        """The logits of a batch: of samples `(n, *shape)`, or with `pack = m > 1` of
        packs `(n, m, *shape)`, each scored as the concatenation of its `m` samples."""
        if self.pack > 1:
            if samples.ndim != len(self._sample_shape) + 2 or samples.shape[1] != self.pack:
                raise ValueError(
                    f"a packed discriminator (pack={self.pack}) scores packs of shape "
                    f"(n, {self.pack}, {', '.join(map(str, self._sample_shape))}), got "
                    f"{tuple(samples.shape)}; group samples with `game.pack_samples`"
                )
            # (n, m, d) → (n, m·d); (n, m, C, H, W) → (n, m·C, H, W): concatenation.
            samples = jnp.reshape(samples, (samples.shape[0], -1) + samples.shape[3:])
        if self.spectral_norm:
            discriminator = jax.tree_util.tree_map(
                lambda w: spectral_normalize(w) if w.ndim >= 2 else w, discriminator
            )
        model = eqx.combine(discriminator, self._static()[1])
        return jax.vmap(model)(samples)


class MLPGAN(AbstractNetworkGAN):
    r"""A GAN of two MLPs on a toy target.

    `G_θ: z ~ N(0, I_latent) → x` and `C_ψ: x → logit`, each with `depth` hidden layers
    of `width` units and `activation`; the discriminator's weights can be spectrally
    normalized (`spectral_norm=True`). `init_scheme="haiku"` initialises both as
    haiku's `hk.Linear` does (`haiku_initialize`: truncated normal, σ = 1/√fan_in, zero
    biases; ODE-GAN's colab) instead of equinox's uniform default; `pack = m` makes
    the discriminator score packs of m samples (PacGAN, see `AbstractNetworkGAN`).
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
    pack: int = eqx.field(static=True, default=1, kw_only=True)
    init_scheme: str = eqx.field(static=True, default="equinox", kw_only=True)

    def __check_init__(self):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from: "
                             f"{', '.join(_ACTIVATIONS)}")
        if self.init_scheme not in _INITS:
            raise ValueError(f"unknown init_scheme {self.init_scheme!r}; choose from: "
                             f"{', '.join(_INITS)}")
        self._check_pack()

    @property
    def _sample_shape(self):
        return (self.target.dim,)

    def _networks(self, key):
        g_key, d_key = jax.random.split(key)
        act = _ACTIVATIONS[self.activation]
        generator = eqx.nn.MLP(self.latent_size, self.target.dim, self.width, self.depth,
                               activation=act, key=g_key)
        discriminator = eqx.nn.MLP(self.pack * self.target.dim, "scalar", self.width, self.depth,
                                   activation=act, key=d_key)
        if self.init_scheme == "haiku":
            generator = haiku_initialize(generator, jax.random.fold_in(g_key, 1))
            discriminator = haiku_initialize(discriminator, jax.random.fold_in(d_key, 1))
        return generator, discriminator


class _Generator(eqx.Module):
    """`z → Linear → ReLU → (2w, H/4, W/4) → UpConv → ReLU → (w, H/2, W/2) → UpConv → tanh`."""

    linear: eqx.nn.Linear
    up1: UpConv
    up2: UpConv
    start: tuple[int, int, int] = eqx.field(static=True)

    def __call__(self, z):
        x = jax.nn.relu(self.linear(z)).reshape(self.start)
        x = jax.nn.relu(self.up1(x))
        return jnp.tanh(self.up2(x))


class _Discriminator(eqx.Module):
    """`x → Conv(4, stride 2) → LeakyReLU(0.2) → Conv(4, stride 2) → LeakyReLU → Linear → logit`."""

    down1: Conv
    down2: Conv
    linear: eqx.nn.Linear

    def __call__(self, x):
        x = jax.nn.leaky_relu(self.down1(x), 0.2)
        x = jax.nn.leaky_relu(self.down2(x), 0.2)
        return self.linear(x.ravel())[0]


class ConvGAN(AbstractNetworkGAN):
    r"""A small DCGAN-style GAN on images `(C, H, W)`, with `H` and `W` divisible by 4.

    The generator maps `z ~ N(0, I_latent)` by a linear layer to `2·width` channels at
    `(H/4, W/4)`, then doubles the resolution twice (sub-pixel 3×3 convolutions, a
    superset of DCGAN's 4×4 stride-2 transposed ones) with ReLU, ending in `C`
    channels and `tanh`; the discriminator mirrors it with two 4×4 stride-2
    convolutions, LeakyReLU(0.2) and a linear logit. No batch normalization, so the
    field stays a pure function of the parameters.

    `icnr`: start the sub-pixel layers as nearest-neighbour upsampling (ICNR, see
    `UpConv`); by default for images of side 16 or more. Measured here with NS-GAN and
    Adam: at 28×28 (mnist5k, 1,000 steps) without it the generator sticks in a dotted
    grid (Fréchet distance 10,860, 6/10 classes) and with it draws strokes (2,483,
    10/10); at 8×8 (digits, 5,000 steps, three seeds) with it one seed collapsed to one
    class (3,469) and two covered all ten (63, 141), so 8×8 keeps the independent
    kernels it was calibrated with (all seeds tried cover the ten classes).
    """

    loss: AbstractLoss
    target: AbstractImageData
    width: int = eqx.field(static=True, default=32)
    latent_size: int = eqx.field(static=True, default=32)
    batch_size: int = eqx.field(static=True, default=64)
    spectral_norm: bool = eqx.field(static=True, default=False)
    regularizers: tuple[AbstractRegularizer, ...] = ()
    pack: int = eqx.field(static=True, default=1, kw_only=True)
    icnr: bool | None = eqx.field(static=True, default=None, kw_only=True)

    def __check_init__(self):
        channels, height, width = self.target.shape
        if height % 4 or width % 4:
            raise ValueError(f"ConvGAN needs image sides divisible by 4, got {height}×{width}")
        self._check_pack()

    @property
    def _sample_shape(self):
        return tuple(self.target.shape)

    def _networks(self, key):
        keys = jax.random.split(key, 6)
        channels, height, width = self.target.shape
        start = (2 * self.width, height // 4, width // 4)
        icnr = min(height, width) >= 16 if self.icnr is None else self.icnr
        generator = _Generator(
            eqx.nn.Linear(self.latent_size, int(np.prod(start)), key=keys[0]),
            UpConv(2 * self.width, self.width, key=keys[1], icnr=icnr),
            UpConv(self.width, channels, key=keys[2], icnr=icnr),
            start,
        )
        discriminator = _Discriminator(
            Conv(self.pack * channels, self.width, 4, stride=2, padding=1, key=keys[3]),
            Conv(self.width, 2 * self.width, 4, stride=2, padding=1, key=keys[4]),
            eqx.nn.Linear(int(np.prod(start)), 1, key=keys[5]),
        )
        return generator, discriminator

r"""GAN losses, each returned as the scalar its player **minimizes**.

Every loss takes the critic's logits on a batch of real samples, `r = C(x_real)`, and on
a batch of generated samples, `f = C(G(z))`; the discriminator's probability is
`D(x) = σ(C(x))`. The softplus identities

    −log σ(t) = softplus(−t),        −log(1 − σ(t)) = softplus(t)

keep every sigmoid loss finite (with finite gradients) for logits of any size.

```python
from gandyn.losses import rsgan

d_loss = rsgan.discriminator(real_logits, fake_logits)
g_loss = rsgan.generator(real_logits, fake_logits)
```

`get(name)` looks a loss up by name and `names()` lists them; `register(name,
description, factory)` adds one (see `gandyn._registry.Registry`).
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.nn import relu

from ._custom_types import Logits, Scalar
from ._options import Option
from ._registry import Registry


__all__ = [
    "AbstractLoss",
    "GENERATOR_H",
    "GANQP",
    "ganqp",
    "Hinge",
    "LSGAN",
    "RaLSGAN",
    "RaSGAN",
    "RSGAN",
    "SGANMinimax",
    "SGANNonSaturating",
    "WGAN",
    "get",
    "hinge",
    "lsgan",
    "names",
    "register",
    "registry",
    "describe",
    "softplus",
    "nsgan",
    "ralsgan",
    "rasgan",
    "rsgan",
    "sgan",
    "wgan",
]


@jax.custom_jvp
def softplus(x):
    """`softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|})`, finite for any x.

    Its derivative is `σ(x)`, given directly (custom JVP) so that the gradient of a
    loss is a sigmoid and nothing more: the hot path of every vector field.
    """
    return jnp.maximum(x, 0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return softplus(x), jax.nn.sigmoid(x) * dx


class AbstractLoss(eqx.Module):
    """A two-player GAN loss.

    Subclasses implement `discriminator` and `generator`; both map
    `(real_logits, fake_logits)` to the scalar that player minimizes. `name` is the
    registry key, `description` a one-line summary.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    # A loss that also needs the samples themselves (GAN-QP's distance ‖x_r − x_f‖)
    # sets this; its methods then take `real=` and `fake=` keyword arguments.
    uses_samples: ClassVar[bool] = False

    @abc.abstractmethod
    def discriminator(self, real_logits: Logits, fake_logits: Logits) -> Scalar:
        """The discriminator's (critic's) loss `L_D(r, f)`, to be minimized."""

    @abc.abstractmethod
    def generator(self, real_logits: Logits, fake_logits: Logits) -> Scalar:
        """The generator's loss `L_G(r, f)`, to be minimized."""


def _sgan_discriminator(r: Logits, f: Logits) -> Scalar:
    # −E log D(x) − E log(1 − D(G(z))) = E softplus(−r) + E softplus(f).
    return jnp.mean(softplus(-r)) + jnp.mean(softplus(f))


class SGANMinimax(AbstractLoss):
    r"""The original minimax GAN (Goodfellow et al. 2014, arXiv 1406.2661).

    L_D = E softplus(−r) + E softplus(f),      L_G = −L_D.

    A zero-sum game: the generator maximizes the discriminator's loss. Its generator
    gradient vanishes when the discriminator confidently rejects fakes (saturation).
    """

    name: ClassVar[str] = "sgan"
    description: ClassVar[str] = "minimax GAN, L_G = −L_D (Goodfellow 2014)"

    def discriminator(self, real_logits, fake_logits):
        return _sgan_discriminator(real_logits, fake_logits)

    def generator(self, real_logits, fake_logits):
        return -_sgan_discriminator(real_logits, fake_logits)


# Su Jianlin's family of generator losses `E h(·)` ("RSGAN:对抗模型中的'图灵测试'思想",
# 2018): with the optimal critic the generator minimises the f-divergence of
# `f(t) = h(log t)`, which needs `h(log t)` convex.
GENERATOR_H = {
    "logsigmoid": (lambda t: softplus(-t), "h(t) = −log σ(t): the non-saturating loss"),
    "linear": (lambda t: -t, "h(t) = −t: f(u) = −log u, a KL divergence"),
    "saturating": (lambda t: -softplus(t), "h(t) = log(1 − σ(t)): the minimax loss"),
}


def _h(name: str):
    if name not in GENERATOR_H:
        raise ValueError(f"unknown h {name!r}; choose from: {', '.join(GENERATOR_H)}")
    return GENERATOR_H[name][0]


class SGANNonSaturating(AbstractLoss):
    r"""The non-saturating GAN (Goodfellow et al. 2014, arXiv 1406.2661).

    L_D = E softplus(−r) + E softplus(f),      L_G = E h(f),

    with `h(t) = −log σ(t) = softplus(−t)` by default, `L_G = −E log D(G(z))`. With the
    optimal critic `f = log p/q`, `L_G = ∫ q h(log p/q)`: the f-divergence of
    `f(u) = h(log u)` (`GENERATOR_H` lists the choices; `h="linear"` gives KL(q‖p)).
    """

    name: ClassVar[str] = "nsgan"
    description: ClassVar[str] = "non-saturating GAN, L_G = −E log D(G(z))"
    h: str = eqx.field(static=True, default="logsigmoid")

    def __check_init__(self):
        _h(self.h)

    def discriminator(self, real_logits, fake_logits):
        return _sgan_discriminator(real_logits, fake_logits)

    def generator(self, real_logits, fake_logits):
        return jnp.mean(_h(self.h)(fake_logits))


class RSGAN(AbstractLoss):
    r"""Relativistic standard GAN (Jolicoeur-Martineau 2018, arXiv 1807.00734).

    L_D = E softplus(−(r − f)),      L_G = E h(f − r),

    with `h(t) = softplus(−t)` by default. `pairs="aligned"` takes the expectation over
    the pairs `(r_i, f_i)` of a minibatch (a batch of one on either side is
    broadcast); `pairs="all"` over every pair `(r_i, f_j)`, the exact expectation over
    independent real and fake samples when the batches are quadrature nodes. Depends on
    logit differences only. With the optimal critic, `T = log p/q + const`, and the
    generator minimises the f-divergence (`f(u) = h(log u)`) between `p(x_r)q(x_f)` and
    `p(x_f)q(x_r)`: Su Jianlin's "Turing test" (2018); `h="linear"` gives
    `KL(p‖q) + KL(q‖p)`.
    """

    name: ClassVar[str] = "rsgan"
    description: ClassVar[str] = "relativistic GAN, D judges real minus fake"
    h: str = eqx.field(static=True, default="logsigmoid")
    pairs: str = eqx.field(static=True, default="aligned")

    def __check_init__(self):
        _h(self.h)
        if self.pairs not in ("aligned", "all"):
            raise ValueError(f"pairs must be 'aligned' or 'all', got {self.pairs!r}")

    def _differences(self, r, f):
        return r[:, None] - f[None, :] if self.pairs == "all" else r - f

    def discriminator(self, real_logits, fake_logits):
        return jnp.mean(softplus(-self._differences(real_logits, fake_logits)))

    def generator(self, real_logits, fake_logits):
        return jnp.mean(_h(self.h)(-self._differences(real_logits, fake_logits)))


class RaSGAN(AbstractLoss):
    r"""Relativistic average standard GAN (Jolicoeur-Martineau 2018, arXiv 1807.00734).

    L_D = E softplus(−(r − E f)) + E softplus(f − E r),
    L_G = E softplus(−(f − E r)) + E softplus(r − E f).
    """

    name: ClassVar[str] = "rasgan"
    description: ClassVar[str] = "relativistic average GAN, against the mean logit"

    def discriminator(self, real_logits, fake_logits):
        r, f = real_logits, fake_logits
        return jnp.mean(softplus(-(r - jnp.mean(f)))) + jnp.mean(softplus(f - jnp.mean(r)))

    def generator(self, real_logits, fake_logits):
        r, f = real_logits, fake_logits
        return jnp.mean(softplus(-(f - jnp.mean(r)))) + jnp.mean(softplus(r - jnp.mean(f)))


class RaLSGAN(AbstractLoss):
    r"""Relativistic average least-squares GAN (Jolicoeur-Martineau 2018, arXiv 1807.00734).

    L_D = E (r − E f − 1)² + E (f − E r + 1)²,
    L_G = E (f − E r − 1)² + E (r − E f + 1)².
    """

    name: ClassVar[str] = "ralsgan"
    description: ClassVar[str] = "relativistic average least-squares GAN"

    def discriminator(self, real_logits, fake_logits):
        r, f = real_logits, fake_logits
        return jnp.mean((r - jnp.mean(f) - 1) ** 2) + jnp.mean((f - jnp.mean(r) + 1) ** 2)

    def generator(self, real_logits, fake_logits):
        r, f = real_logits, fake_logits
        return jnp.mean((f - jnp.mean(r) - 1) ** 2) + jnp.mean((r - jnp.mean(f) + 1) ** 2)


class WGAN(AbstractLoss):
    r"""Wasserstein GAN (Arjovsky et al. 2017, arXiv 1701.07875).

    L_D = E f − E r,      L_G = −E f.

    The critic is meant to be 1-Lipschitz; without a constraint (clipping or a gradient
    penalty) the loss is unbounded below.
    """

    name: ClassVar[str] = "wgan"
    description: ClassVar[str] = "Wasserstein GAN, linear critic loss (Arjovsky 2017)"

    def discriminator(self, real_logits, fake_logits):
        return jnp.mean(fake_logits) - jnp.mean(real_logits)

    def generator(self, real_logits, fake_logits):
        return -jnp.mean(fake_logits)


class LSGAN(AbstractLoss):
    r"""Least-squares GAN with 0/1 targets (Mao et al. 2017, arXiv 1611.04076).

    L_D = ½ E (r − 1)² + ½ E f²,      L_G = ½ E (f − 1)².
    """

    name: ClassVar[str] = "lsgan"
    description: ClassVar[str] = "least-squares GAN, 0/1 targets (Mao 2017)"

    def discriminator(self, real_logits, fake_logits):
        return 0.5 * jnp.mean((real_logits - 1) ** 2) + 0.5 * jnp.mean(fake_logits**2)

    def generator(self, real_logits, fake_logits):
        return 0.5 * jnp.mean((fake_logits - 1) ** 2)


class Hinge(AbstractLoss):
    r"""Hinge loss (Lim & Ye 2017, arXiv 1705.02894; Miyato et al. 2018).

    L_D = E relu(1 − r) + E relu(1 + f),      L_G = −E f.
    """

    name: ClassVar[str] = "hinge"
    description: ClassVar[str] = "hinge loss for D, −E f for G (SNGAN, BigGAN)"

    def discriminator(self, real_logits, fake_logits):
        return jnp.mean(relu(1 - real_logits)) + jnp.mean(relu(1 + fake_logits))

    def generator(self, real_logits, fake_logits):
        return -jnp.mean(fake_logits)


class GANQP(AbstractLoss):
    r"""GAN-QP, the quadratic-potential GAN (Su 2018, arXiv 1811.07296).

    L_D = E[f − r] + E[(r − f)² / (2λ‖x_r − x_f‖)],      L_G = E[r − f],

    over the pairs `(x_r, x_f)` of a minibatch (a batch of one on either side is
    broadcast against the other). The quadratic term bounds the critic's optimum
    without a Lipschitz constraint: on a pair it is `T(x_r) − T(x_f) = λ‖x_r − x_f‖`.
    `scale` is λ; `‖·‖` is the Euclidean norm of the flattened samples (1e-8 added so
    that it is defined where real and fake coincide).
    """

    name: ClassVar[str] = "ganqp"
    description: ClassVar[str] = "GAN-QP: E(f − r) + E(r − f)²/(2λ‖x_r − x_f‖) (Su 2018)"
    uses_samples: ClassVar[bool] = True
    scale: float = 1.0

    @staticmethod
    def _distance(real, fake):
        real = jnp.reshape(real, (real.shape[0], -1))
        fake = jnp.reshape(fake, (fake.shape[0], -1))
        return jnp.sqrt(jnp.sum((real - fake) ** 2, axis=-1) + 1e-16) + 1e-8

    def discriminator(self, real_logits, fake_logits, *, real=None, fake=None):
        if real is None or fake is None:
            raise ValueError("GAN-QP's critic loss needs the samples: pass real= and fake=")
        difference = real_logits - fake_logits
        quadratic = difference**2 / (2 * self.scale * self._distance(real, fake))
        return -jnp.mean(difference) + jnp.mean(quadratic)

    def generator(self, real_logits, fake_logits, *, real=None, fake=None):
        return jnp.mean(real_logits - fake_logits)


sgan = SGANMinimax()
nsgan = SGANNonSaturating()
rsgan = RSGAN()
rasgan = RaSGAN()
ralsgan = RaLSGAN()
wgan = WGAN()
lsgan = LSGAN()
hinge = Hinge()
ganqp = GANQP()

registry: Registry[AbstractLoss] = Registry("loss", AbstractLoss)
register, names, describe, get = registry.register, registry.names, registry.describe, registry.get
_H = Option("h", str, "logsigmoid", choices=tuple(GENERATOR_H),
            help="the generator's h(t): " + "; ".join(d for _, d in GENERATOR_H.values()))
for _loss, _options in (
    (SGANMinimax, ()),
    (SGANNonSaturating, (_H,)),
    (RSGAN, (_H, Option("pairs", str, "aligned", choices=("aligned", "all"),
                        help="expectation over a minibatch's aligned pairs or all pairs"))),
    (RaSGAN, ()), (RaLSGAN, ()), (WGAN, ()), (LSGAN, ()), (Hinge, ()),
    (GANQP, (Option("scale", float, 1.0, low=1e-6, high=1e6,
                    help="λ of the quadratic potential"),)),
):
    register(_loss.name, _loss.description, _loss, options=_options)


class _LossSwitch(AbstractLoss):
    """`losses[index]`, with `index` traced: one program serves several losses. Under
    `vmap` over `index` every branch is computed and the member's selected, the same
    numbers as that loss alone."""

    losses: tuple[AbstractLoss, ...] = eqx.field(static=True)
    index: jax.Array
    name: ClassVar[str] = "switch"
    description: ClassVar[str] = "one of several losses, chosen by a traced index"

    def discriminator(self, real_logits, fake_logits):
        branches = [loss.discriminator for loss in self.losses]
        return jax.lax.switch(self.index, branches, real_logits, fake_logits)

    def generator(self, real_logits, fake_logits):
        branches = [loss.generator for loss in self.losses]
        return jax.lax.switch(self.index, branches, real_logits, fake_logits)

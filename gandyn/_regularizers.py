r"""Regularizers: composable changes to a game, through autodiff on its PyTrees.

A regularizer acts through one or more of four hooks, which the game applies:

- `perturb(real, fake, key)`: change the samples both losses see (instance noise);
- `discriminator_penalty` / `generator_penalty`: a term added to that player's loss
  (gradient penalties, weight decay, the ODE-GAN penalty);
- `adjust_field(field, y, v)`: change the joint field itself (consensus, SGA);
- `project(y)`: map the parameters back to a feasible set after every step (clipping).

Each weight is the constant that multiplies the term exactly as written in its
docstring. Conventions: the field is `v = −(gradient)`, its Jacobian is `J = ∂v/∂y`.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtri

from ._custom_types import Key, Samples, Scalar


__all__ = [
    "AbstractRegularizer",
    "Consensus",
    "DRAGAN",
    "GeneratorGradientPenalty",
    "InstanceNoise",
    "L2",
    "LeCam",
    "R1",
    "R2",
    "SGA",
    "WGANGP",
    "WeightClipping",
]


class AbstractRegularizer(eqx.Module):
    """A change to a game; see the module docstring for the hooks. Every hook does
    nothing unless a subclass overrides it."""

    adjusts_field: ClassVar[bool] = False
    signed: ClassVar[bool] = False
    """Whether its weight may be negative (a drift penalty: −1 cancels the drift)."""

    def perturb(self, real: Samples, fake: Samples, key: Key) -> tuple[Samples, Samples]:
        return real, fake

    def discriminator_penalty(self, game, players, real, fake, key) -> Scalar:
        return jnp.zeros(())

    def generator_penalty(self, game, players, real, fake, key) -> Scalar:
        return jnp.zeros(())

    def adjust_field(self, field, players, v):
        return v

    def project(self, players):
        return players


def _input_gradients(game, discriminator, samples: Samples) -> Samples:
    """`∇_x C_ψ(x)` for every sample of a batch."""
    logit = lambda x: game.discriminate(discriminator, x[None])[0]
    return jax.vmap(jax.grad(logit))(samples)


def _squared_norms(grads: Samples) -> jax.Array:
    return jnp.sum(jnp.reshape(grads, (grads.shape[0], -1)) ** 2, axis=1)


class R1(AbstractRegularizer):
    r"""Zero-centred gradient penalty on real data (Mescheder et al. 2018, arXiv 1801.04406).

    Adds `(γ/2)·E_real ‖∇_x C_ψ(x)‖²` to `L_D`. On the Dirac-GAN this is `(γ/2)ψ²`:
    the field gains `−γψ`, the eigenvalues become `−γ/2 ± √(γ²/4 − a²)`.
    """

    weight: float

    def discriminator_penalty(self, game, players, real, fake, key):
        grads = _input_gradients(game, players.discriminator, real)
        return 0.5 * self.weight * jnp.mean(_squared_norms(grads))


class R2(AbstractRegularizer):
    r"""Zero-centred gradient penalty on generated data (Mescheder et al. 2018).

    Adds `(γ/2)·E_fake ‖∇_x C_ψ(x)‖²` to `L_D`; the fake samples are held fixed
    (no gradient flows to the generator through the penalty).
    """

    weight: float

    def discriminator_penalty(self, game, players, real, fake, key):
        grads = _input_gradients(game, players.discriminator, jax.lax.stop_gradient(fake))
        return 0.5 * self.weight * jnp.mean(_squared_norms(grads))


class WGANGP(AbstractRegularizer):
    r"""Gradient penalty on interpolates (Gulrajani et al. 2017, arXiv 1704.00028),
    centered at `c` (`center`, default 1).

    Adds `λ·E (‖∇_x C_ψ(x̂)‖ − c)²` to `L_D`, with `x̂ = εx_real + (1 − ε)x_fake`,
    `ε ~ U(0, 1)` per pair. The norm is `√(‖g‖² + 1e-12)`, so that its gradient is
    defined at `g = 0`. The paper's λ is 10 and `c = 1`; `c = 0` is Su Jianlin's
    zero-centered variant ("GAN的第三个阶段", 2019), which converges on the Dirac-GAN
    where `c = 1` ends on the circle ‖ψ‖ = 1.

    Constants: gandyn's `λ` is Gulrajani et al.'s λ. Mescheder et al.'s code
    (GAN_stability, the Dirac-GAN notebook) adds the field term
    `−reg·(|ψ| − target)·sign ψ`, the gradient of `reg/2·(‖∇C‖ − target)²`: their
    `reg` is `2λ` here.
    """

    weight: float = 10.0
    center: float = 1.0

    def discriminator_penalty(self, game, players, real, fake, key):
        fake = jax.lax.stop_gradient(fake)
        eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
        mixed = eps * real + (1 - eps) * fake
        norms = jnp.sqrt(_squared_norms(_input_gradients(game, players.discriminator, mixed)) + 1e-12)
        return self.weight * jnp.mean((norms - self.center) ** 2)


class DRAGAN(AbstractRegularizer):
    r"""DRAGAN's gradient penalty around the data (Kodali et al. 2017, arXiv
    1705.07215): adds

        λ·E_{x, δ} (‖∇_x C_ψ(x + δ)‖ − k)²,      δ ~ N(0, σ²I),

    to `L_D`, on the real minibatch perturbed by Gaussian noise of standard deviation
    `std` (σ), `k = centre` (1). The norm is `√(‖g‖² + 1e-12)`, as in `WGANGP`. The
    constants follow ChristophReich1996/Dirac-GAN (`dra_w = 0.1`, σ = 0.1; the paper
    uses λ ≈ 10 and a noise scale c ≈ 10 on its data): that code adds the per-sample
    penalty to the loss without averaging; here it is the mean over the minibatch.
    On the Dirac-GAN (`C(x) = ψx`) the penalty is `λ(|ψ| − k)²` for any noise: the
    field gains `−2λ(|ψ| − k) sign ψ`."""

    weight: float = 10.0
    std: float = 0.1
    centre: float = 1.0

    def discriminator_penalty(self, game, players, real, fake, key):
        noisy = real + self.std * jax.random.normal(key, real.shape, real.dtype)
        norms = jnp.sqrt(_squared_norms(_input_gradients(game, players.discriminator, noisy)) + 1e-12)
        return self.weight * jnp.mean((norms - self.centre) ** 2)


class LeCam(AbstractRegularizer):
    r"""LeCam regularization (RLC; Tseng et al. 2021, arXiv 2104.03310): adds

        λ·(E (C_ψ(x) − α_F)² + E (C_ψ(G(z)) − α_R)²)

    to `L_D`: real logits are pulled towards the anchor `α_F` and fake logits towards
    `α_R`, which bounds the discriminator's outputs. The paper's anchors are moving
    averages of the fake and real logits; gandyn's regularizers are stateless, so the
    anchors are constants, as in ChristophReich1996/Dirac-GAN (`rlc_af = rlc_ar = 1`,
    `rlc_w = 0.15`, the defaults here). On the Dirac-GAN (real point mass at 0,
    `C(x) = ψx`) it is `λ(α_F² + (ψθ − α_R)²)`: the field gains `−2λθ(ψθ − α_R)` in ψ."""

    weight: float = 0.15
    real_anchor: float = 1.0
    fake_anchor: float = 1.0

    def discriminator_penalty(self, game, players, real, fake, key):
        real_logits = game.discriminate(players.discriminator, real)
        fake_logits = game.discriminate(players.discriminator, fake)
        return self.weight * (jnp.mean((real_logits - self.real_anchor) ** 2)
                              + jnp.mean((fake_logits - self.fake_anchor) ** 2))


class L2(AbstractRegularizer):
    r"""Weight decay: adds `(λ/2)‖ψ‖²` to `L_D` (and `(λ/2)‖θ‖²` to `L_G` when
    `generator=True`)."""

    weight: float
    generator: bool = eqx.field(static=True, default=False)

    def discriminator_penalty(self, game, players, real, fake, key):
        return 0.5 * self.weight * _tree_sq_norm(players.discriminator)

    def generator_penalty(self, game, players, real, fake, key):
        if not self.generator:
            return jnp.zeros(())
        return 0.5 * self.weight * _tree_sq_norm(players.generator)


def _tree_sq_norm(tree) -> Scalar:
    return sum(jnp.sum(x**2) for x in jax.tree_util.tree_leaves(tree))


class GeneratorGradientPenalty(AbstractRegularizer):
    r"""ODE-GAN's penalty (Qin et al. 2020, arXiv 2010.15040): adds `λ‖∇_θ L_G‖²` to
    `L_D`, the generator's loss without regularizers, on the same minibatch. The
    discriminator is pushed towards where the generator's gradient is small. The
    paper's λ is 0.07 (the ODE-GAN colab's value on the 4×4 grid).
    """

    weight: float = 0.07

    def discriminator_penalty(self, game, players, real, fake, key):
        grad = jax.grad(
            lambda theta: game.loss_terms(eqx.tree_at(lambda p: p.generator, players, theta), key)[0]
        )(players.generator)
        return self.weight * _tree_sq_norm(grad)


class InstanceNoise(AbstractRegularizer):
    r"""Instance noise (Sønderby et al. 2016; Arjovsky & Bottou 2017): both losses see
    `x + σε`, `ε ~ N(0, I)`, on real and fake samples alike.

    With `nodes=K` the expectation over ε is taken deterministically: every sample is
    repeated at K symmetric Gaussian quantiles, rescaled to unit variance, so the field
    is the expected field up to fourth moments and its Jacobian at an equilibrium is
    exact (Mescheder et al. 2018: eigenvalues `f''(0)σ² ± √(f''(0)²σ⁴ − f'(0)²)`).
    With `nodes=None` each step draws one ε per sample from its key (for large games).
    """

    std: float
    nodes: int | None = eqx.field(static=True, default=32)

    def _nodes(self, dtype):
        k = self.nodes
        q = ndtri((jnp.arange(k, dtype=dtype) + 0.5) / k)
        return q / jnp.sqrt(jnp.mean(q**2))

    def perturb(self, real, fake, key):
        if self.nodes is None:
            real_key, fake_key = jax.random.split(key)
            return (
                real + self.std * jax.random.normal(real_key, real.shape, real.dtype),
                fake + self.std * jax.random.normal(fake_key, fake.shape, fake.dtype),
            )
        eps = self._nodes(real.dtype)

        def spread(x):  # (batch, ...) → (nodes · batch, ...)
            noisy = x[None] + self.std * jnp.reshape(eps, (-1,) + (1,) * x.ndim)
            return jnp.reshape(noisy, (-1,) + x.shape[1:])

        return spread(real), spread(fake)


class Consensus(AbstractRegularizer):
    r"""Consensus optimization (Mescheder et al. 2017, arXiv 1705.10461).

    `v ← v − γ ∇_y (½‖v‖²) = v − γ Jᵀv`: both players also descend the squared norm of
    the field. At the Dirac-GAN equilibrium the eigenvalues become `−γa² ± ia`.
    """

    weight: float
    adjusts_field: ClassVar[bool] = True

    def adjust_field(self, field, players, v):
        _, vjp = jax.vjp(field, players)
        (jtv,) = vjp(v)
        return jax.tree_util.tree_map(lambda vi, gi: vi - self.weight * gi, v, jtv)


class SGA(AbstractRegularizer):
    r"""Symplectic gradient adjustment (Balduzzi et al. 2018, arXiv 1802.05642).

    With the game's simultaneous gradient `ξ = −v` and its Jacobian `H = ∂ξ/∂y`,
    SGA descends `ξ + λAᵀξ`, `A = (H − Hᵀ)/2`. In field terms
    `v ← v − (λ/2)(Jᵀv − Jv)`, with `J = ∂v/∂y` (one JVP and one VJP). A fixed λ
    (the paper's sign alignment is not applied). On the Dirac-GAN it equals
    consensus: eigenvalues `−λa² ± ia`.
    """

    weight: float
    adjusts_field: ClassVar[bool] = True

    def adjust_field(self, field, players, v):
        _, jv = jax.jvp(field, (players,), (v,))
        _, vjp = jax.vjp(field, players)
        (jtv,) = vjp(v)
        return jax.tree_util.tree_map(
            lambda vi, a, b: vi - 0.5 * self.weight * (a - b), v, jtv, jv
        )


class WeightClipping(AbstractRegularizer):
    r"""WGAN's weight clipping (Arjovsky et al. 2017): after every step each
    discriminator parameter is clipped to `[−c, c]`. The paper's c is 0.01."""

    clip: float = 0.01

    def project(self, players):
        clipped = jax.tree_util.tree_map(
            lambda x: jnp.clip(x, -self.clip, self.clip), players.discriminator
        )
        return eqx.tree_at(lambda p: p.discriminator, players, clipped)


r"""Regularizers: composable changes to a game, through autodiff on its PyTrees.

A regularizer acts through one or more of four hooks, which the game applies:

- `perturb(real, fake, key)`: change the samples both losses see (instance noise);
- `discriminator_penalty` / `generator_penalty`: a term added to that player's loss
  (gradient penalties, weight decay, the ODE-GAN penalty);
- `adjust_field(field, y, v)`: change the joint field itself (consensus, SGA);
- `project(y)`: map the parameters back to a feasible set after every step (clipping).

A regularizer may also keep state from one training step to the next (LeCam's
moving-average anchors): see `AbstractRegularizer`.

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
    nothing unless a subclass overrides it.

    A regularizer with state that lasts across training steps (LeCam's moving-average
    anchors) says so with `carries_state()`, and gives `init_state(game, players)`,
    `next_state(game, players, real, fake, state)` (after a step on that minibatch) and
    `with_state(state)` (itself, using it). The game collects them
    (`AbstractGame.init_game_state`, …) and `simulate` carries them beside the
    method's state (`CarryGameState`)."""

    adjusts_field: ClassVar[bool] = False
    signed: ClassVar[bool] = False
    """Whether its weight may be negative (a drift penalty: −1 cancels the drift)."""

    def carries_state(self) -> bool:
        return False

    def init_state(self, game, players):
        return None

    def next_state(self, game, players, real, fake, state):
        return state

    def with_state(self, state) -> "AbstractRegularizer":
        return self

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
    1705.07215), as the authors' code computes it (kodalinaveen3/DRAGAN): adds

        λ·E (‖∇_x C_ψ(x̂)‖ − k)²,     x̂ = x + α·c·std(x)·u,

    to `L_D`, on the real minibatch: `u ~ U[0, 1)` per coordinate, `α ~ U[0, 1]` per
    sample (their `get_perturbed_batch`, `x + 0.5·x.std()·U[0, 1)`, then a random point
    between x and the perturbed x), `std(x)` the standard deviation of all the
    minibatch's entries, `c = scale` (0.5), `k = centre` (1), λ = 10 as theirs. The
    norm is `√(‖g‖² + 1e-12)`, as in `WGANGP`. (compare_gan's `dragan_penalty` takes
    `x + std(x)·(U[0, 1) − ½)`, clipped to the data range, without the interpolation.)
    On the Dirac-GAN (`C(x) = ψx`) the penalty is `λ(|ψ| − k)²` for any perturbation:
    the field gains `−2λ(|ψ| − k) sign ψ`."""

    weight: float = 10.0
    scale: float = 0.5
    centre: float = 1.0

    def points(self, real: Samples, key: Key) -> Samples:
        """The perturbed real points x̂ at which the penalty takes the gradient."""
        noise_key, mix_key = jax.random.split(key)
        noise = jax.random.uniform(noise_key, real.shape, real.dtype)
        mix = jax.random.uniform(mix_key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
        return real + mix * (self.scale * jnp.std(real) * noise)

    def discriminator_penalty(self, game, players, real, fake, key):
        grads = _input_gradients(game, players.discriminator, self.points(real, key))
        norms = jnp.sqrt(_squared_norms(grads) + 1e-12)
        return self.weight * jnp.mean((norms - self.centre) ** 2)


class LeCam(AbstractRegularizer):
    r"""LeCam regularization (RLC; Tseng et al. 2021, arXiv 2104.03310), as the official
    code computes it (google/lecam-gan, `lecam_reg`): adds to `L_D`

        λ·(E relu(C_ψ(x) − α_F)² + E relu(α_R − C_ψ(G(z)))²),

    the *real* logits pulled down towards the anchor of the *fake* ones, `α_F`, and the
    fake logits up towards the real ones' anchor `α_R`, each only from its own side.
    `one_sided=False` is the paper's two-sided form (its Eq. 3),
    `λ·(E (C_ψ(x) − α_F)² + E (C_ψ(G(z)) − α_R)²)`.

    The anchors are exponential moving averages of the minibatches' mean real and fake
    logits, updated once a training step before the penalty is taken (as their
    `ema_losses.update` in the hinge loss, then `lecam_reg`), held fixed (no gradient):

        α ← d·α + (1 − d)·mean logits,     d = `decay` (0.99, the paper's),

    and set to the first step's means at the first step (their EMA before its start
    iteration). They are state that lasts across steps: `simulate` and `train` carry it
    beside the method's state (`Solution.method_state`, checkpoints). Where no state is
    carried (`game.field` alone, eigenvalues, adaptive flows) the anchors are the current
    minibatch's means, the first step's. λ = 0.3 is the official CIFAR-10 setting
    (`--LC 0.3`); the BigGAN code's `ema_losses` defaults to d = 0.9, its StyleGAN2 code
    (`lecamreg`) uses 0.99 with a zero-debiased EMA.

    `fixed_anchors=(α_R, α_F)` keeps constant anchors and no state instead
    (ChristophReich1996/Dirac-GAN: `rlc_af = rlc_ar = 1`, `rlc_w = 0.15`, two-sided).
    On the Dirac-GAN (real point mass at 0, `C(x) = ψx`) the two-sided penalty is
    `λ(α_F² + (ψθ − α_R)²)`: the field gains `−2λθ(ψθ − α_R)` in ψ."""

    weight: float = 0.3
    decay: float = 0.99
    one_sided: bool = eqx.field(static=True, default=True)
    fixed_anchors: tuple[float, float] | None = None
    anchors: tuple[jax.Array, jax.Array] | None = None

    def carries_state(self) -> bool:
        return self.fixed_anchors is None

    def init_state(self, game, players):
        zero = jnp.zeros((), jnp.result_type(*jax.tree_util.tree_leaves(players)))
        return zero, zero, jnp.zeros((), jnp.int32)

    def with_state(self, state):
        real_anchor, fake_anchor, _ = state
        return eqx.tree_at(lambda r: r.anchors, self, (real_anchor, fake_anchor),
                           is_leaf=lambda x: x is None)

    def next_state(self, game, players, real, fake, state):
        """The anchors after a step whose minibatch is `(real, fake)` at `players`."""
        real_anchor, fake_anchor, count = state
        real_mean, fake_mean = self._means(game, players, real, fake)
        decay = jnp.where(count == 0, 0.0, self.decay)
        return (decay * real_anchor + (1 - decay) * real_mean,
                decay * fake_anchor + (1 - decay) * fake_mean, count + 1)

    @staticmethod
    def _means(game, players, real, fake):
        disc = jax.lax.stop_gradient(players.discriminator)
        return (jnp.mean(game.discriminate(disc, real)),
                jnp.mean(game.discriminate(disc, jax.lax.stop_gradient(fake))))

    def discriminator_penalty(self, game, players, real, fake, key):
        real_logits = game.discriminate(players.discriminator, real)
        fake_logits = game.discriminate(players.discriminator, fake)
        if self.fixed_anchors is not None:
            real_anchor, fake_anchor = self.fixed_anchors
        elif self.anchors is not None:
            real_anchor, fake_anchor = jax.lax.stop_gradient(self.anchors)
        else:
            real_anchor, fake_anchor = self._means(game, players, real, fake)
        below = real_logits - fake_anchor  # real logits above the fake anchor
        above = real_anchor - fake_logits  # fake logits below the real anchor
        if self.one_sided:
            below, above = jax.nn.relu(below), jax.nn.relu(above)
        return self.weight * (jnp.mean(below**2) + jnp.mean(above**2))


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


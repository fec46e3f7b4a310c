"""A GAN as a two-player differentiable game, and its joint vector field."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key, Params, Samples, Scalar
from ..losses import AbstractLoss


class Players(eqx.Module):
    """The joint state of a game: the generator's parameters θ and the
    discriminator's parameters ψ, each any PyTree of arrays."""

    generator: Params
    discriminator: Params


class AbstractGame(eqx.Module):
    r"""A GAN as a differentiable two-player game.

    A concrete game says how to draw real samples, how the generator maps its
    parameters θ (and latent noise) to fake samples, and how the discriminator with
    parameters ψ scores samples with logits. From these and a loss the game builds each
    player's loss and the joint vector field of simultaneous gradient play,

        v(θ, ψ) = (−∇_θ L_G(θ, ψ), −∇_ψ L_D(θ, ψ)),

    by automatic differentiation: any loss (and later any regularizer) plugs in
    without a hand-written field. Training by gradient descent with step h is the
    explicit Euler discretisation of `dy/dt = v(y)`.
    """

    loss: eqx.AbstractVar[AbstractLoss]

    @abc.abstractmethod
    def init(self, key: Key | None = None) -> Players:
        """Default initial parameters (a single state, no batch axis)."""

    @abc.abstractmethod
    def real_samples(self, key: Key) -> Samples:
        """A minibatch of real data, shape `(batch, *sample_shape)`."""

    @abc.abstractmethod
    def generate(self, generator: Params, key: Key) -> Samples:
        """A minibatch of fake samples `G_θ(z)`, shape `(batch, *sample_shape)`."""

    @abc.abstractmethod
    def discriminate(self, discriminator: Params, samples: Samples) -> Samples:
        """The logits `C_ψ(x)` of a minibatch, shape `(batch,)`."""

    def equilibrium(self) -> Players | None:
        """The equilibrium, where the game knows it in closed form; else `None`."""
        return None

    def logits(self, players: Players, key: Key | None = None) -> tuple[Samples, Samples]:
        """`(C_ψ(x_real), C_ψ(G_θ(z)))` on one minibatch drawn with `key` (default:
        `jax.random.key(0)`; deterministic games ignore it)."""
        real_key, fake_key = jax.random.split(jax.random.key(0) if key is None else key)
        real = self.real_samples(real_key)
        fake = self.generate(players.generator, fake_key)
        disc = players.discriminator
        return self.discriminate(disc, real), self.discriminate(disc, fake)

    def losses(self, players: Players, key: Key | None = None) -> tuple[Scalar, Scalar]:
        """`(L_G, L_D)` on the minibatch drawn with `key`; each is minimized by its player."""
        real_logits, fake_logits = self.logits(players, key)
        return (
            self.loss.generator(real_logits, fake_logits),
            self.loss.discriminator(real_logits, fake_logits),
        )

    def generator_field(self, players: Players, key: Key | None = None) -> Params:
        """`−∇_θ L_G(θ, ψ)`: the generator's part of the vector field."""

        def generator_loss(theta):
            return self.losses(Players(theta, players.discriminator), key)[0]

        return _negate(jax.grad(generator_loss)(players.generator))

    def discriminator_field(self, players: Players, key: Key | None = None) -> Params:
        """`−∇_ψ L_D(θ, ψ)`: the discriminator's part of the vector field."""

        def discriminator_loss(psi):
            return self.losses(Players(players.generator, psi), key)[1]

        return _negate(jax.grad(discriminator_loss)(players.discriminator))

    def field(self, players: Players, key: Key | None = None) -> Players:
        """The joint vector field `v = (−∇_θ L_G, −∇_ψ L_D)` at `players`."""
        return Players(
            self.generator_field(players, key), self.discriminator_field(players, key)
        )


def _negate(tree: Params) -> Params:
    return jax.tree_util.tree_map(jnp.negative, tree)

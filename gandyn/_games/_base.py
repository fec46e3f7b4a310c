"""A GAN as a two-player differentiable game, and its joint vector field."""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key, Params, Samples, Scalar
from .._regularizers import AbstractRegularizer
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
    explicit Euler discretisation of `dy/dt = v(y)`. Regularizers (a tuple of
    `AbstractRegularizer`) change the samples, the losses, the field or the
    parameters after each step.
    """

    loss: eqx.AbstractVar[AbstractLoss]
    regularizers: eqx.AbstractVar[tuple[AbstractRegularizer, ...]]
    # Compute both players' gradients from one forward pass (a VJP pulled back twice):
    # worth it when the networks are costly; a scalar game fuses better without.
    shared_forward: ClassVar[bool] = True

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

    def samples(self, players: Players, key: Key | None = None) -> tuple[Samples, Samples]:
        """`(x_real, G_θ(z))` on the minibatch drawn with `key`, after every
        regularizer's `perturb` (e.g. instance noise). `key` defaults to
        `jax.random.key(0)`; deterministic games ignore it."""
        key = jax.random.key(0) if key is None else key
        real_key, fake_key, noise_key = jax.random.split(key, 3)
        real = self.real_samples(real_key)
        fake = self.generate(players.generator, fake_key)
        for i, regularizer in enumerate(self.regularizers):
            real, fake = regularizer.perturb(real, fake, jax.random.fold_in(noise_key, i))
        return real, fake

    def logits(self, players: Players, key: Key | None = None) -> tuple[Samples, Samples]:
        """`(C_ψ(x_real), C_ψ(G_θ(z)))` on the minibatch of `samples`."""
        real, fake = self.samples(players, key)
        disc = players.discriminator
        return self.discriminate(disc, real), self.discriminate(disc, fake)

    def loss_terms(self, players: Players, key: Key | None = None) -> tuple[Scalar, Scalar]:
        """`(L_G, L_D)` of the loss alone, without regularizer penalties."""
        real_logits, fake_logits = self.logits(players, key)
        return (
            self.loss.generator(real_logits, fake_logits),
            self.loss.discriminator(real_logits, fake_logits),
        )

    def losses(self, players: Players, key: Key | None = None) -> tuple[Scalar, Scalar]:
        """`(L_G, L_D)` with every regularizer's penalties; each is minimized by its
        player."""
        generator_loss, discriminator_loss = self.loss_terms(players, key)
        if self.regularizers:
            real, fake = self.samples(players, key)
            penalty_key = jax.random.fold_in(jax.random.key(0) if key is None else key, 1)
            for i, regularizer in enumerate(self.regularizers):
                k = jax.random.fold_in(penalty_key, i)
                generator_loss += regularizer.generator_penalty(self, players, real, fake, k)
                discriminator_loss += regularizer.discriminator_penalty(
                    self, players, real, fake, k
                )
        return generator_loss, discriminator_loss

    def _gradient_field(self, players: Players, key: Key | None, which: str) -> Params:
        if which == "generator":
            fn = lambda theta: self.losses(Players(theta, players.discriminator), key)[0]
            return _negate(jax.grad(fn)(players.generator))
        fn = lambda psi: self.losses(Players(players.generator, psi), key)[1]
        return _negate(jax.grad(fn)(players.discriminator))

    def _adjusts_field(self) -> bool:
        return any(r.adjusts_field for r in self.regularizers)

    def generator_field(self, players: Players, key: Key | None = None) -> Params:
        """`−∇_θ L_G(θ, ψ)`: the generator's part of the vector field."""
        if self._adjusts_field():
            return self.field(players, key).generator
        return self._gradient_field(players, key, "generator")

    def discriminator_field(self, players: Players, key: Key | None = None) -> Params:
        """`−∇_ψ L_D(θ, ψ)`: the discriminator's part of the vector field."""
        if self._adjusts_field():
            return self.field(players, key).discriminator
        return self._gradient_field(players, key, "discriminator")

    def field(self, players: Players, key: Key | None = None) -> Players:
        """The joint vector field `v = (−∇_θ L_G, −∇_ψ L_D)` at `players`, then
        changed by every field-adjusting regularizer (consensus, SGA) in turn."""

        def gradient_field(y):
            if not self.shared_forward:
                return Players(
                    self._gradient_field(y, key, "generator"),
                    self._gradient_field(y, key, "discriminator"),
                )
            # One forward pass shared by both players' gradients.
            _, pullback = jax.vjp(lambda p: self.losses(p, key), y)
            one, zero = jnp.ones(()), jnp.zeros(())
            (g,) = pullback((one, zero))
            (d,) = pullback((zero, one))
            return Players(_negate(g.generator), _negate(d.discriminator))

        v = gradient_field(players)
        for regularizer in self.regularizers:
            v = regularizer.adjust_field(gradient_field, players, v)
        return v

    def project(self, players: Players) -> Players:
        """Every regularizer's projection (e.g. weight clipping), applied after a step."""
        for regularizer in self.regularizers:
            players = regularizer.project(players)
        return players


def _negate(tree: Params) -> Params:
    return jax.tree_util.tree_map(jnp.negative, tree)

"""A third-party plugin, as a package would ship it: one file that adds a method, a loss
with an option, a regularizer and a game with an option to gandyn (installed for the
tests by tests/test_plugins.py through an entry point of the group `gandyn.plugins`)."""

from typing import Annotated, ClassVar

import jax
import jax.numpy as jnp

import gandyn as gd


@gd.methods.register("demo-alt", "plugin: alternating GD with d_steps discriminator steps")
def demo_alt(d_steps: Annotated[int, gd.Option(low=1, high=10, help="critic steps")] = 1):
    return gd.AlternatingGD(discriminator_steps=d_steps)


class ScaledWGAN(gd.losses.AbstractLoss):
    """The WGAN loss times `scale`: its field is `scale` times WGAN's."""

    name: ClassVar[str] = "demo-wgan"
    description: ClassVar[str] = "plugin: the WGAN loss times scale"
    scale: float = 1.0

    def discriminator(self, real_logits, fake_logits):
        return self.scale * (jnp.mean(fake_logits) - jnp.mean(real_logits))

    def generator(self, real_logits, fake_logits):
        return -self.scale * jnp.mean(fake_logits)


gd.losses.register("demo-wgan", ScaledWGAN.description, ScaledWGAN,
                   options=[gd.Option("scale", float, 1.0, low=0.01, high=100, help="factor")])


class CriticDecay(gd.AbstractRegularizer):
    """(weight/2)‖ψ‖² on the critic."""

    weight: float = 1.0

    def discriminator_penalty(self, game, players, real, fake, key):
        return 0.5 * self.weight * sum(jnp.sum(x**2) for x in
                                       jax.tree_util.tree_leaves(players.discriminator))


gd.regularizers.register("demo-l2", "plugin: (λ/2)‖ψ‖² on the critic", CriticDecay)


@gd.games.register("demo-dirac", "plugin: the Dirac-GAN with its real point at c")
def demo_dirac(loss: gd.losses.AbstractLoss = gd.losses.wgan, regularizers: tuple = (),
               c: Annotated[float, gd.Option(low=-5, high=5, help="the real point")] = 0.5):
    return gd.DiracGAN(loss, real_point=c, regularizers=tuple(regularizers))

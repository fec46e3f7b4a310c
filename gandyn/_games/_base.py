"""Two-player differentiable games and their joint vector field; GANs as the main case."""

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._custom_types import Key, Params, Samples, Scalar


if TYPE_CHECKING:
    from .._regularizers import AbstractRegularizer
    from ..losses import AbstractLoss


class Players(eqx.Module):
    """The joint state of a two-player game, each player's parameters any PyTree of
    arrays: `generator` is player 1 (x, the generator θ of a GAN) and `discriminator`
    player 2 (y, the critic ψ). `first`/`second` name them for games that are not GANs."""

    generator: Params
    discriminator: Params

    @property
    def first(self) -> Params:
        return self.generator

    @property
    def second(self) -> Params:
        return self.discriminator


class AbstractGame(eqx.Module):
    r"""A two-player differentiable game: player 1 with parameters x, player 2 with y,
    each minimizing its own loss,

        L_1(x, y),    L_2(x, y)    (zero-sum: L_2 = −L_1).

    The game's vector field is simultaneous gradient play,

        v(x, y) = (−∇_x L_1(x, y), −∇_y L_2(x, y)),

    built by automatic differentiation; gradient descent with step h is its explicit
    Euler discretisation. A concrete game implements `init` and `losses`, and may give
    its `equilibrium` in closed form and a `project`ion onto its feasible set (applied
    after every step).
    """

    # Compute both players' gradients from one forward pass (a VJP pulled back twice):
    # worth it when the losses share costly work (networks); scalar games fuse better
    # with two separate gradients.
    shared_forward: ClassVar[bool] = True

    @abc.abstractmethod
    def init(self, key: Key | None = None) -> Players:
        """Default initial parameters (a single state, no batch axis)."""

    @abc.abstractmethod
    def losses(self, players: Players, key: Key | None = None) -> tuple[Scalar, Scalar]:
        """`(L_1, L_2)` at `players`; each is minimized by its player. `key` draws any
        randomness (minibatches); deterministic games ignore it."""

    def equilibrium(self) -> Players | None:
        """The equilibrium, where the game knows it in closed form; else `None`."""
        return None

    def coordinates(self) -> tuple[str, ...]:
        """Names of the flattened parameters (the order of `jax.flatten_util.ravel_pytree`
        on `init()`), for tables, CSV columns and axis labels: `x`, `y` for scalars,
        `x1…xn`, `y1…ym` for vectors, by default."""
        return _player_names(self.init(), ("x", "y"))

    def plane(self) -> tuple[int, int] | None:
        """The two coordinates a phase portrait should show by default (indices into
        `coordinates()`), or `None` for the leading eigenplane (see `slice_plane`)."""
        return None

    @staticmethod
    def from_losses(first_loss, second_loss, x0, y0, equilibrium=None) -> "AbstractGame":
        """Any two-player game from its two loss functions `L_1(x, y)`, `L_2(x, y)` and
        initial parameters: a `CustomGame`."""
        return CustomGame(first_loss, second_loss, x0, y0, equilibrium)

    def project(self, players: Players) -> Players:
        """Map parameters back onto the feasible set after a step (default: none)."""
        return players

    def adjust_field(self, field, players: Players, v: Players) -> Players:
        """Change the gradient field `v` at `players` (`field` computes the plain
        gradient field at any point); default: unchanged."""
        return v

    def _adjusts_field(self) -> bool:
        return False

    def carries_state(self) -> bool:
        """Whether the game keeps state from one training step to the next (a GAN's
        LeCam anchors): then `simulate` carries `init_game_state`, advanced by
        `next_game_state` before every step and used through `with_game_state`."""
        return False

    def init_game_state(self, players: Players, key: Key | None = None):
        """The state before the first step (default: none)."""
        return None

    def next_game_state(self, state, players: Players, key: Key | None = None):
        """The state once a step at `players` has drawn its minibatch from `key`."""
        return state

    def with_game_state(self, state) -> "AbstractGame":
        """The game using `state`."""
        return self

    def _gradient_field(self, players: Players, key: Key | None, which: str) -> Params:
        if which == "generator":
            fn = lambda x: self.losses(Players(x, players.discriminator), key)[0]
            return _negate(jax.grad(fn)(players.generator))
        fn = lambda y: self.losses(Players(players.generator, y), key)[1]
        return _negate(jax.grad(fn)(players.discriminator))

    def generator_field(self, players: Players, key: Key | None = None) -> Params:
        """`−∇_x L_1(x, y)`: player 1's (the generator's) part of the vector field."""
        if self._adjusts_field():
            return self.field(players, key).generator
        return self._gradient_field(players, key, "generator")

    def discriminator_field(self, players: Players, key: Key | None = None) -> Params:
        """`−∇_y L_2(x, y)`: player 2's (the discriminator's) part of the vector field."""
        if self._adjusts_field():
            return self.field(players, key).discriminator
        return self._gradient_field(players, key, "discriminator")

    def field(self, players: Players, key: Key | None = None) -> Players:
        """The joint vector field `v = (−∇_x L_1, −∇_y L_2)` at `players`, then
        `adjust_field` (e.g. a GAN's consensus or SGA regularizers)."""

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
        if self._adjusts_field():
            v = self.adjust_field(gradient_field, players, v)
        return v


class AbstractGAN(AbstractGame):
    r"""A GAN as a two-player game: the generator θ maps latent noise to fake samples,
    the discriminator ψ scores samples with logits, and a loss (see `gandyn.losses`)
    turns the logits on real and fake minibatches into `(L_G, L_D)`.

    Regularizers (a tuple of `AbstractRegularizer`) change the samples, the losses, the
    field or the parameters after each step. A GAN that learns a distribution declares
    it as `target` (toy targets, image data): metrics and plots read it there.
    """

    loss: eqx.AbstractVar["AbstractLoss"]
    regularizers: eqx.AbstractVar[tuple["AbstractRegularizer", ...]]

    @abc.abstractmethod
    def real_samples(self, key: Key) -> Samples:
        """A minibatch of real data, shape `(batch, *sample_shape)`."""

    @abc.abstractmethod
    def generate(self, generator: Params, key: Key) -> Samples:
        """A minibatch of fake samples `G_θ(z)`, shape `(batch, *sample_shape)`."""

    @abc.abstractmethod
    def discriminate(self, discriminator: Params, samples: Samples) -> Samples:
        """The logits `C_ψ(x)` of a minibatch, shape `(batch,)`."""

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
        """`(L_G, L_D)` of the loss alone, without regularizer penalties. A loss that
        declares `uses_samples` (GAN-QP) also gets the samples, as `real=`, `fake=`."""
        real, fake = self.samples(players, key)
        disc = players.discriminator
        real_logits, fake_logits = self.discriminate(disc, real), self.discriminate(disc, fake)
        extra = {"real": real, "fake": fake} if getattr(self.loss, "uses_samples", False) else {}
        return (
            self.loss.generator(real_logits, fake_logits, **extra),
            self.loss.discriminator(real_logits, fake_logits, **extra),
        )

    def losses(self, players: Players, key: Key | None = None) -> tuple[Scalar, Scalar]:
        """`(L_G, L_D)` with every regularizer's penalties; each is minimized by its
        player."""
        real, fake = self.samples(players, key)
        return self.losses_on(players, real, fake, key)

    def losses_on(self, players: Players, real: Samples, fake: Samples,
                  key: Key | None = None) -> tuple[Scalar, Scalar]:
        """`(L_G, L_D)` with every regularizer's penalties on given samples `(x_real,
        G_θ(z))` (as `samples(players, key)` draws them): `losses` is
        `losses_on(players, *samples(players, key), key)`. Lets a method that evaluates
        many discriminators against one generator (unrolling) draw the samples once."""
        disc = players.discriminator
        real_logits, fake_logits = self.discriminate(disc, real), self.discriminate(disc, fake)
        extra = {"real": real, "fake": fake} if getattr(self.loss, "uses_samples", False) else {}
        generator_loss = self.loss.generator(real_logits, fake_logits, **extra)
        discriminator_loss = self.loss.discriminator(real_logits, fake_logits, **extra)
        if self.regularizers:
            penalty_key = jax.random.fold_in(jax.random.key(0) if key is None else key, 1)
            for i, regularizer in enumerate(self.regularizers):
                k = jax.random.fold_in(penalty_key, i)
                generator_loss += regularizer.generator_penalty(self, players, real, fake, k)
                discriminator_loss += regularizer.discriminator_penalty(
                    self, players, real, fake, k
                )
        return generator_loss, discriminator_loss

    def _adjusts_field(self) -> bool:
        return any(r.adjusts_field for r in self.regularizers)

    def carries_state(self) -> bool:
        return any(r.carries_state() for r in self.regularizers)

    def init_game_state(self, players: Players, key: Key | None = None):
        """Every regularizer's `init_state` (None for one without state)."""
        if not self.carries_state():
            return None
        return tuple(r.init_state(self, players) if r.carries_state() else None
                     for r in self.regularizers)

    def next_game_state(self, state, players: Players, key: Key | None = None):
        """Every regularizer's `next_state` on the minibatch the step's losses see
        (`samples(players, key)`)."""
        if state is None:
            return None
        real, fake = self.samples(players, key)
        return tuple(r.next_state(self, players, real, fake, s) if s is not None else None
                     for r, s in zip(self.regularizers, state))

    def with_game_state(self, state) -> "AbstractGAN":
        if state is None:
            return self
        regularizers = tuple(r.with_state(s) if s is not None else r
                             for r, s in zip(self.regularizers, state))
        return eqx.tree_at(lambda g: g.regularizers, self, regularizers)

    def adjust_field(self, field, players: Players, v: Players) -> Players:
        """Every field-adjusting regularizer (consensus, SGA) in turn."""
        for regularizer in self.regularizers:
            v = regularizer.adjust_field(field, players, v)
        return v

    def project(self, players: Players) -> Players:
        """Every regularizer's projection (e.g. weight clipping), applied after a step."""
        for regularizer in self.regularizers:
            players = regularizer.project(players)
        return players


def _player_names(players: Players, symbols: tuple[str, str]) -> tuple[str, ...]:
    names = []
    for symbol, params in zip(symbols, (players.generator, players.discriminator)):
        size = sum(int(jnp.size(x)) for x in jax.tree_util.tree_leaves(params))
        names += [symbol] if size == 1 else [f"{symbol}{i + 1}" for i in range(size)]
    return tuple(names)


def _negate(tree: Params) -> Params:
    return optax.tree_utils.tree_scale(-1.0, tree)


class CustomGame(AbstractGame):
    r"""A game from a user's two functions: `L_1(x, y)` and `L_2(x, y)` (each returning
    the scalar its player minimizes), the initial parameters `x0`, `y0` (any PyTrees
    of arrays) and, optionally, a known equilibrium. Build it with `Game.from_losses`
    (or `CustomGame(l1, l2, x0, y0)`):

    ```python
    game = gd.CustomGame(lambda x, y: x * y, lambda x, y: -x * y, 1.0, 1.0)
    ```
    """

    first_loss: Callable = eqx.field(static=True)
    second_loss: Callable = eqx.field(static=True)
    x0: object
    y0: object
    known_equilibrium: Players | None = None

    def __init__(self, first_loss, second_loss, x0, y0, equilibrium=None):
        if not (callable(first_loss) and callable(second_loss)):
            raise ValueError("CustomGame needs two callables L_1(x, y) and L_2(x, y)")
        self.first_loss, self.second_loss = first_loss, second_loss
        as_array = lambda tree: jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=float), tree)  # noqa: E731
        self.x0, self.y0 = as_array(x0), as_array(y0)
        self.known_equilibrium = None if equilibrium is None else Players(
            *as_array(tuple(equilibrium)))

    def init(self, key: Key | None = None) -> Players:
        del key
        return Players(self.x0, self.y0)

    def losses(self, players, key=None):
        x, y = players.generator, players.discriminator
        return jnp.asarray(self.first_loss(x, y)), jnp.asarray(self.second_loss(x, y))

    def equilibrium(self) -> Players | None:
        return self.known_equilibrium


"""Interfaces for the ways a game's dynamics are followed: flows and discrete maps."""

import abc
from collections.abc import Callable
from typing import Generic, TypeVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._custom_types import Key, Scalar
from .._games import AbstractGame, Players


_State = TypeVar("_State")


class AbstractMethod(eqx.Module):
    """Anything `simulate` can drive: a discrete training rule or an ODE solver.

    A method carries what is known about it, as a diffrax solver carries its `order`:
    `evaluations()` (field evaluations per step, for comparisons at equal cost),
    `stability_function()` (its growth per step `ρ(z)` on `dy/dt = λy`, `z = hλ`, where
    it has one) and `linear_analysis()` (whether the Jacobian of one step, `step_matrix`,
    tells its local behaviour). `eigen`, `sweep` and the CLI ask the method; nothing
    outside it keeps a list of which methods are which."""

    def evaluations(self) -> float | None:
        """Field evaluations per step (a player's gradient alone counts ½); `None` where
        it varies (implicit or adaptive solves)."""
        return None

    def stability_function(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """The growth per step `ρ(z) = |R(z)|` on `dy/dt = λy`, `z = hλ`, as a NumPy
        function (vectorised over an array of z), or `None` where the method has no
        scalar one (it acts on the players separately, or keeps a nonlinear state)."""
        return None

    def linear_analysis(self) -> bool:
        """Whether the Jacobian of one step at a fixed point (`gandyn.step_matrix`)
        gives the method's local contraction there."""
        return False

    def flow_eigenvalues(self, game: AbstractGame, y: Players, h: float,
                         key: Key | None = None) -> np.ndarray | None:
        """The eigenvalues at `y` of the Jacobian of the field whose flow the method
        integrates, where it integrates one that depends on `h` (a modified flow);
        `None` otherwise. `eigen` reports them beside the game's spectrum."""
        return None

    def turns(self) -> tuple[tuple[str, int], ...] | None:
        """The players' moves within one step when they move in turns, each from the
        other's latest parameters: `(("generator", 1), ("discriminator", k))` for a
        generator step then `k` discriminator steps (or the reverse order); `None` when
        both move from one state. Between two consecutive steps `y_n → y_{n+1}` the
        first mover alone has moved at `(first's part of y_{n+1}, other's of y_n)`."""
        return None


class AbstractStepMethod(AbstractMethod, Generic[_State]):
    """A method that advances the game by one step of size `h` at a time.

    `init` makes the method's state (optimizer moments, the previous field, a solver's
    cache); `step` is the pure map `(y_n, state_n) → (y_{n+1}, state_{n+1})`.
    `simulate` runs it under `lax.scan` and vmaps it over initial conditions.
    """

    @abc.abstractmethod
    def init(self, game: AbstractGame, y0: Players, h: Scalar, key: Key) -> _State:
        """The method's state before the first step."""

    @abc.abstractmethod
    def step(
        self, game: AbstractGame, y: Players, state: _State, t: Scalar, h: Scalar, key: Key
    ) -> tuple[Players, _State]:
        """One step from time `t` to `t + h`; `key` draws this step's minibatches."""

    def linear_analysis(self) -> bool:
        return True


class AbstractWrapper(AbstractStepMethod):
    """A step method around another (`method`), whose state it keeps beside its own:
    averaging, lookahead, a frozen player. It costs what the wrapped method costs."""

    method: eqx.AbstractVar[AbstractStepMethod]

    def evaluations(self):
        return self.method.evaluations()

    def _init_with_copy(self, game, y0, h, key):
        """`(wrapped state, a copy of y0, a step counter at 0)`."""
        return self.method.init(game, y0, h, key), y0, jnp.zeros((), jnp.int32)


class CarryGameState(AbstractWrapper):
    """`method` on a game that keeps state across steps (`AbstractGame.carries_state`,
    e.g. LeCam's anchors): the state is `(method's state, game's state)`; each step
    first advances the game's state at `y` on the step's minibatch, then takes the
    method's step on the game using it. `simulate` and `train` wrap a step method so
    (`carrying_game_state`); results and checkpoints hold the wrapped state. The state
    advances at the `y` the step starts from: for a method that reports another point
    than it trains (`Averaged`), at the reported one."""

    method: AbstractStepMethod

    def linear_analysis(self) -> bool:
        return False  # the game's state is part of the dynamics

    def turns(self):
        return self.method.turns()

    def init(self, game, y0, h, key):
        return self.method.init(game, y0, h, key), game.init_game_state(y0, key)

    def step(self, game, y, state, t, h, key):
        inner, game_state = state
        game_state = game.next_game_state(game_state, y, key)
        y, inner = self.method.step(game.with_game_state(game_state), y, inner, t, h, key)
        return y, (inner, game_state)


def carrying_game_state(game: AbstractGame, method: AbstractMethod) -> AbstractMethod:
    """`CarryGameState(method)` where `game` keeps state and `method` is a step method
    not yet wrapped; otherwise `method` itself."""
    if (isinstance(method, AbstractStepMethod) and not isinstance(method, CarryGameState)
            and game.carries_state()):
        return CarryGameState(method)
    return method

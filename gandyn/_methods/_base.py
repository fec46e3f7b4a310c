"""Interfaces for the ways a game's dynamics are followed: flows and discrete maps."""

import abc
from typing import Any, Generic, TypeVar

import equinox as eqx

from .._custom_types import Key, Scalar
from .._games import AbstractGame, Players


_State = TypeVar("_State")


class AbstractMethod(eqx.Module):
    """Anything `simulate` can drive: a discrete training rule or an ODE solver."""


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

    def evaluations(self) -> Any:
        """Field evaluations per step (for comparing methods at equal cost)."""
        return None

"""Bifurcation parameters by name: `"h"`, a regularizer (rebuilt through the option
table), a numeric field of the game or method, or a callable; `_Family`, the game,
method and step as functions of p."""

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._games import AbstractGame, Players
from .._methods import AbstractMethod


def _get(tree, path):
    for part in path:
        tree = tree[part] if isinstance(part, int) else getattr(tree, part)
    return tree


def _is_number(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return True
    return (isinstance(x, (jax.Array, np.ndarray, np.generic)) and np.ndim(x) == 0
            and jnp.issubdtype(jnp.result_type(x), jnp.inexact))


def _numeric_paths(tree, path=()) -> list[tuple]:
    """Paths (attribute names, tuple indices) to the scalar numeric, non-static leaves
    of an equinox PyTree."""
    if _is_number(tree):
        return [path]
    found = []
    if isinstance(tree, eqx.Module):
        for field in dataclasses.fields(tree):
            if field.metadata.get("static", False):
                continue
            try:
                value = getattr(tree, field.name)
            except AttributeError:
                continue
            found += _numeric_paths(value, path + (field.name,))
    elif isinstance(tree, (tuple, list)):
        for i, value in enumerate(tree):
            found += _numeric_paths(value, path + (i,))
    return found


def _dotted(path) -> str:
    return ".".join(str(p) for p in path)


def numeric_parameters(game: AbstractGame, method: AbstractMethod) -> dict[str, tuple]:
    """The parameters `continuation` can vary on `(game, method)`, by name: `"h"`,
    every regularizer's registry name (its weight; one the game lacks is added with
    weight p), and the dotted path of every scalar numeric field of the two PyTrees
    (`"real_point"`, `"regularizers.0.weight"`, `"discriminator_scale"`), also
    reachable by its last name where that is unique. Values: `(owner, path)`."""
    from .. import regularizers

    names: dict[str, tuple] = {"h": ("h", ())}
    for name in regularizers.names():
        names[name] = ("regularizer", (name,))
    by_last: dict[str, list] = {}
    for owner, tree in (("game", game), ("method", method)):
        for path in _numeric_paths(tree):
            names.setdefault(_dotted(path), (owner, path))
            names.setdefault(f"{owner}.{_dotted(path)}", (owner, path))
            by_last.setdefault(str(path[-1]), []).append((owner, path))
    for last, where in by_last.items():
        if len(where) == 1:
            names.setdefault(last, where[0])
    return names


@dataclasses.dataclass(frozen=True)
class _Setter:
    """`(game, method, h, p) → (game, method, h)` with the parameter at `p`. Hashable
    (a static argument of the compiled programs), so that equal settings share them."""

    owner: str
    path: tuple = ()
    function: Callable | None = None

    def __call__(self, game, method, h, p):
        if self.owner == "h":
            return game, method, p
        if self.owner == "callable":
            game, method = self.function(p)
            return game, method, h
        if self.owner == "regularizer":
            from .. import regularizers

            name, index, options = self.path
            new = regularizers.build(name, p, dict(options))
            regs = tuple(game.regularizers)
            regs = regs[:index] + (new,) + regs[index + 1:]
            return eqx.tree_at(lambda g: g.regularizers, game, regs), method, h
        if self.owner == "game":
            return eqx.tree_at(lambda g: _get(g, self.path), game, p), method, h
        return game, eqx.tree_at(lambda m: _get(m, self.path), method, p), h


def _resolve(game, method, parameter) -> tuple[_Setter, str]:
    """The setter of `parameter` and its display name; a `ValueError` naming the
    valid parameters for an unknown one."""
    if callable(parameter) and not isinstance(parameter, str):
        return _Setter("callable", function=parameter), getattr(parameter, "__name__", "p")
    if not isinstance(parameter, str):
        raise ValueError(f"parameter must be a name or a callable p ↦ (game, method), got "
                         f"{parameter!r}")
    names = numeric_parameters(game, method)
    key = parameter.strip()
    if key not in names and key.lower() in names:
        key = key.lower()
    if key not in names:
        valid = [n for n in names if not n.startswith(("game.", "method."))]
        raise ValueError(f"unknown parameter {parameter!r}; valid numeric parameters of this "
                         f"game and method: {', '.join(valid)}")
    owner, path = names[key]
    if owner == "regularizer":
        name = path[0]
        if not hasattr(game, "regularizers"):
            raise ValueError(f"parameter {parameter!r} is a regularizer's weight, but "
                             f"{type(game).__name__} takes no regularizers")
        # The game's own `name` regularizer, its options read back through the option
        # table (`--opt lecam.decay=…` kept), rebuilt at each p; one the game lacks is
        # added, last, with its declared defaults.
        from .. import regularizers

        regs = tuple(game.regularizers)
        found = ((i, regularizers.settings_of(name, r)) for i, r in enumerate(regs))
        index, (_, options) = next(((i, s) for i, s in found if s is not None),
                                   (len(regs), (None, {})))
        return _Setter("regularizer", (name, index, tuple(sorted(options.items())))), key
    return _Setter(owner, tuple(path)), key


class _Family(eqx.Module):
    """The game, method and step as functions of the parameter p."""

    game: AbstractGame
    method: AbstractMethod
    h: jax.Array | None
    template: Players
    setter: _Setter = eqx.field(static=True)

    def at(self, p):
        return self.setter(self.game, self.method, self.h, p)

    @property
    def unravel(self):
        """Flattened parameters → `Players` (built inside each compiled program: a
        closure passed in would be a new static argument, and recompile, every call)."""
        return ravel_pytree(self.template)[1]

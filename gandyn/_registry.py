"""One registry idiom for every open family: losses, regularizers, methods, games, data.

A registry maps a name to a *factory* (a class or a function returning a fresh object)
and a one-line description. Registering is one call, from anywhere — gandyn's own
modules or a user's file — and the CLI's choices and help text, `eigen`, `sweep` and the
docs all read the registry:

```python
import gandyn as gd

@gd.methods.register("my-method", "one line for the CLI's help")
def my_method():
    return MyMethod()

gd.methods.get("my-method")     # a fresh MyMethod()
```

A factory's keyword arguments of a plain type are its *options* (see
`gandyn._options`): `registry.options(name)` lists them, and `--opt NAME=VALUE`, the
explorer's form and a sweep's TOML reach them. `register(..., options=[Option(...)])`
declares them for a factory whose signature cannot (a lambda, a class).
"""

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ._options import Option, infer


T = TypeVar("T")


class Registry(Generic[T]):
    """Names → factories of `kind` objects (`"loss"`, `"method"`, …), in the order
    registered. `get(name, *args, **kwargs)` calls the factory; an object that is
    already a `base` instance is returned unchanged; an unknown name is a `ValueError`
    naming the valid choices."""

    def __init__(self, kind: str, base: type | None = None):
        self.kind = kind
        self.base = base
        self._entries: dict[str, tuple[Callable[..., T], str]] = {}
        self._options: dict[str, tuple[Option, ...]] = {}
        self._families: dict[str, str] = {}

    def register(self, name: str, description: str, factory: Callable[..., T] | None = None,
                 *, options: tuple[Option, ...] = (), family: str | None = None,
                 replace: bool = False):
        """Register `factory` under `name` (lower case); usable as a decorator when
        `factory` is omitted. `options`: declarations over those read from the
        factory's signature; `family`: the group it belongs to (the explorer lists
        methods by family). Registering a taken name raises unless `replace`."""
        key = self._normalise(name)
        if not key or any(c.isspace() for c in key) or "=" in key or "," in key:
            raise ValueError(f"{self.kind} name {name!r} must be one word without '=' or ','")

        def add(factory):
            if key in self._entries and not replace:
                raise ValueError(f"a {self.kind} called {key!r} is already registered")
            self._entries[key] = (factory, description)
            self._options[key] = tuple(options)
            if family is not None:
                self._families[key] = family
            return factory

        return add if factory is None else add(factory)

    def unregister(self, name: str) -> None:
        key = self.check(name)
        self._entries.pop(key)
        self._options.pop(key, None)
        self._families.pop(key, None)

    def options(self, name: str) -> dict[str, Option]:
        """The options `name`'s factory takes, declared once (`gandyn._options.infer`)."""
        key = self.check(name)
        return infer(self._entries[key][0], self._options.get(key, ()))

    def family(self, name: str) -> str | None:
        """The family `name` was registered in (None: none declared)."""
        return self._families.get(self.check(name))

    def set_family(self, family: str, names) -> None:
        """Declare the family of registered `names`."""
        for name in names:
            self._families[self.check(name)] = family

    def names(self) -> tuple[str, ...]:
        """The registered names, in order."""
        return tuple(self._entries)

    def describe(self, name: str) -> str:
        """The one-line description of `name`."""
        return self._entries[self.check(name)][1]

    def check(self, name) -> str:
        """`name` normalised (stripped, lower case) if registered; a `ValueError` naming
        the choices otherwise."""
        key = self._normalise(name) if isinstance(name, str) else name
        if key not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}")
        return key

    def factory(self, name: str) -> Callable[..., T]:
        return self._entries[self.check(name)][0]

    def get(self, name, *args, **kwargs) -> T:
        """A `kind` object: `name`'s factory called with `args`/`kwargs` (an object of
        the registry's base class is returned unchanged)."""
        if self.base is not None and isinstance(name, self.base):
            return name
        return self.factory(name)(*args, **kwargs)

    def help(self) -> str:
        """`name (description), …` for the CLI's help text."""
        return "; ".join(f"{n}: {d}" for n, (_, d) in self._entries.items())

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self._normalise(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _normalise(name: str) -> str:
        return name.strip().lower()

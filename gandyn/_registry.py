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

A *prefix* stands for one name per registered entry: after
`register_prefix("modified", "…", factory)`, the name `modified:simgd` is
`factory(get("simgd", **its options), **the prefix's options)`; it passes `check`,
takes the prefix's options and the entry's own, and belongs to the prefix's family.
`names()` lists the entries alone; `patterns()` the prefixes, as `modified:NAME`.
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
        # prefix → (factory, description, declared options, family)
        self._prefixes: dict[str, tuple[Callable[..., T], str, tuple[Option, ...],
                                        str | None]] = {}
        self._accepts: dict[str, Callable[[str], bool]] = {}

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

    def register_prefix(self, prefix: str, description: str, factory: Callable[..., T], *,
                        options: tuple[Option, ...] = (), family: str | None = None,
                        accepts: Callable[[str], bool] | None = None) -> None:
        """Register `PREFIX:NAME` for every registered `NAME` that `accepts(NAME)` (all
        by default): `factory(entry, **options)` wraps the entry `get(NAME)` built with
        its own options; `options`: declarations over those of `factory`'s signature
        (its first parameter, the entry, is none)."""
        key = self._normalise(prefix)
        if not key.isidentifier() or key in self._prefixes or key in self._entries:
            raise ValueError(f"{self.kind} prefix {prefix!r} must be a new word")
        self._prefixes[key] = (factory, description, tuple(options), family)
        self._accepts[key] = accepts or (lambda name: True)

    def patterns(self) -> tuple[str, ...]:
        """The registered prefixes as the names they make: `("modified:NAME", …)`."""
        return tuple(f"{p}:NAME" for p in self._prefixes)

    def _split(self, key) -> tuple[str, str] | None:
        """`(prefix, entry)` of a name `PREFIX:NAME` whose prefix and entry are registered."""
        prefix, sep, inner = key.partition(":") if isinstance(key, str) else ("", "", "")
        if sep and prefix in self._prefixes and inner in self._entries \
                and self._accepts[prefix](inner):
            return prefix, inner
        return None

    def unregister(self, name: str) -> None:
        key = self.check(name)
        self._entries.pop(key)
        self._options.pop(key, None)
        self._families.pop(key, None)

    def options(self, name: str) -> dict[str, Option]:
        """The options `name`'s factory takes, declared once (`gandyn._options.infer`)."""
        key = self.check(name)
        split = self._split(key)
        if split is not None:
            factory, _, declared, _ = self._prefixes[split[0]]
            return {**self.options(split[1]), **infer(factory, declared)}
        return infer(self._entries[key][0], self._options.get(key, ()))

    def family(self, name: str) -> str | None:
        """The family `name` was registered in (None: none declared)."""
        key = self.check(name)
        split = self._split(key)
        return self._prefixes[split[0]][3] if split else self._families.get(key)

    def set_family(self, family: str, names) -> None:
        """Declare the family of registered `names`."""
        for name in names:
            self._families[self.check(name)] = family

    def names(self) -> tuple[str, ...]:
        """The registered names, in order."""
        return tuple(self._entries)

    def expanded(self) -> tuple[str, ...]:
        """The registered names, then every `PREFIX:NAME` a prefix accepts (what the
        explorer lists)."""
        return self.names() + tuple(f"{p}:{n}" for p in self._prefixes for n in self.names()
                                    if self._accepts[p](n))

    def describe(self, name: str) -> str:
        """The one-line description of `name`."""
        key = self.check(name)
        split = self._split(key)
        if split is not None:
            return f"{self._prefixes[split[0]][1]}, of {split[1]} ({self.describe(split[1])})"
        return self._entries[key][1]

    def check(self, name) -> str:
        """`name` normalised (stripped, lower case) if registered; a `ValueError` naming
        the choices otherwise."""
        key = self._normalise(name) if isinstance(name, str) else name
        prefix = key.partition(":")[0] if isinstance(key, str) and ":" in key else None
        if prefix in self._prefixes and self._split(key) is None:
            raise ValueError(f"unknown {self.kind} {name!r}; {prefix}:NAME takes NAME one of: "
                             + ", ".join(n for n in self.names() if self._accepts[prefix](n)))
        if key not in self._entries and self._split(key) is None:
            raise ValueError(f"unknown {self.kind} {name!r}; choose from: "
                             + ", ".join(self.names() + self.patterns())
                             )
        return key

    def factory(self, name: str) -> Callable[..., T]:
        key = self.check(name)
        split = self._split(key)
        if split is None:
            return self._entries[key][0]
        prefix, inner = split
        wrap, own = self._prefixes[prefix][0], set(infer(self._prefixes[prefix][0],
                                                         self._prefixes[prefix][2]))

        def build(**options):
            entry = self.get(inner, **{k: v for k, v in options.items() if k not in own})
            return wrap(entry, **{k: v for k, v in options.items() if k in own})

        return build

    def get(self, name, *args, **kwargs) -> T:
        """A `kind` object: `name`'s factory called with `args`/`kwargs` (an object of
        the registry's base class is returned unchanged)."""
        if self.base is not None and isinstance(name, self.base):
            return name
        return self.factory(name)(*args, **kwargs)

    def help(self) -> str:
        """`name (description), …` for the CLI's help text."""
        return "; ".join([f"{n}: {d}" for n, (_, d) in self._entries.items()]
                         + [f"{p}:NAME: {d}" for p, (_, d, _, _) in self._prefixes.items()])

    def __contains__(self, name) -> bool:
        if not isinstance(name, str):
            return False
        key = self._normalise(name)
        return key in self._entries or self._split(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _normalise(name: str) -> str:
        return ":".join(part.strip() for part in name.strip().lower().split(":"))

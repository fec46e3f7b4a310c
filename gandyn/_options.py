"""Options, declared once: a game's, a method's or a regularizer's settings, with their
type, default, bounds and one line of help.

A factory declares its options in its signature. A keyword argument with a default of
a plain type (`int`, `float`, `bool`, `str`) is an option; `Annotated[..., Option(...)]`
adds bounds, choices and help:

```python
from typing import Annotated
import gandyn as gd

@gd.games.register("my-game", "one line for the CLI's help")
def my_game(width: Annotated[int, gd.Option(low=1, high=8, help="hidden units")] = 2):
    return MyGame(width)
```

A factory whose signature cannot say it (a lambda, a class) can be given
`register(..., options=[Option("k", int, 5, low=1, high=20)])`; those declarations win.
The command line's `--opt NAME=VALUE`, the explorer's form and query, and a sweep's
TOML keys all come from these declarations, and every front end checks a value with
the same `Option.check`, so a bad value reads the same everywhere.
"""

import dataclasses
import inspect
import math
import typing
from collections.abc import Callable, Iterable, Mapping


KINDS = (bool, int, float, str)
# Bounds of an option that declares none: beyond them a run cannot be meaningful.
DEFAULT_MAGNITUDE = 1e6
DEFAULT_INT = 10**9
_TRUE, _FALSE = ("1", "true", "on", "yes", ""), ("0", "false", "off", "no")
# Structural arguments of a factory: built by the run description, never options.
STRUCTURAL = ("loss", "regularizers", "key", "self")


@dataclasses.dataclass(frozen=True)
class Option:
    """One declared option: `name`, `kind` (`int`, `float`, `bool` or `str`), `default`,
    inclusive bounds `low`/`high` (numbers), `choices` (strings), one line of `help`,
    and `flag`, the command line's shortcut (`--dim`) that names it in messages."""

    name: str = ""
    kind: type | None = None
    default: object = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""
    flag: str | None = None

    @property
    def label(self) -> str:
        """How messages name it, the same from every front end: `real_point
        (--real-point)`, or the name alone for an option without a flag."""
        return f"{self.name} ({self.flag})" if self.flag and self.name else self.flag or self.name

    def rule(self) -> str:
        """What a valid value is, in words."""
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "one of: " + ", ".join(self.choices) if self.choices else "a non-empty word"
        low, high = self._bounds()
        if self.kind is int:
            return f"an integer from {low:,} to {high:,}"
        if low == -high:
            return f"a finite number in [−{high:g}, {high:g}]"
        return f"a finite number in [{low:g}, {high:g}]"

    def _bounds(self) -> tuple:
        big = DEFAULT_INT if self.kind is int else DEFAULT_MAGNITUDE
        return (-big if self.low is None else self.low), (big if self.high is None else self.high)

    def check(self, value):
        """`value` (a typed value, or text from a command line or a query) as this
        option's kind, within its bounds; a one-line `ValueError` naming the option,
        the rule and the value otherwise."""
        if isinstance(value, str) and self.kind is not str:
            value = self._parse(value)
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # `std = 2` in a TOML file reads as `std=2` on the command line
        bad = ValueError(f"{self.label} must be {self.rule()}, got {_show(value)}")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise bad
            return value
        if self.kind is str:
            if not isinstance(value, str) or not value.strip() or len(value) > 100:
                raise bad
            value = value.strip()
            if self.choices and value.lower() not in self.choices:
                raise ValueError(f"unknown {self.name} {value!r}; choose from: "
                                 + ", ".join(self.choices))
            return value.lower() if self.choices else value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if self.kind is int and not isinstance(value, int):
            raise bad
        low, high = self._bounds()
        if not (math.isfinite(value) and low <= value <= high):
            raise bad
        return int(value) if self.kind is int else float(value)

    def _parse(self, text: str):
        text = text.strip()
        if self.kind is bool:
            lower = text.lower()
            return True if lower in _TRUE else False if lower in _FALSE else text
        try:
            return int(text) if self.kind is int else float(text)
        except ValueError:
            return text

    def describe(self) -> dict:
        """This option as plain data (the explorer's form, the docs)."""
        return {"name": self.name, "type": self.kind.__name__, "default": self.default,
                "low": self.low, "high": self.high, "choices": list(self.choices or []) or None,
                "help": self.help}


def _show(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _merge(base: Option | None, given: Option) -> Option:
    """`given`'s fields over `base`'s (a field left at its default keeps `base`'s)."""
    if base is None:
        return given
    blank = Option()
    return dataclasses.replace(base, **{f.name: getattr(given, f.name)
                                        for f in dataclasses.fields(Option)
                                        if getattr(given, f.name) != getattr(blank, f.name)})


def infer(factory: Callable, explicit: Iterable[Option] = ()) -> dict[str, Option]:
    """The options of `factory`: its keyword arguments of a plain type with a default
    (`Annotated[..., Option(...)]` adding bounds and help), then `explicit`
    declarations over them."""
    found: dict[str, Option] = {}
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        parameters = ()
    try:
        hints = typing.get_type_hints(factory, include_extras=True)
    except Exception:  # noqa: BLE001 - forward references, jaxtyping strings: use the raw ones
        hints = {}
    for p in parameters:
        if (p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in STRUCTURAL
                or p.default is p.empty):
            continue
        annotation = hints.get(p.name, p.annotation)
        declared = None
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *extras = typing.get_args(annotation)
            declared = next((e for e in extras if isinstance(e, Option)), None)
        if isinstance(annotation, str):
            annotation = {k.__name__: k for k in KINDS}.get(annotation)
        kind = (annotation if annotation in KINDS else
                type(p.default) if type(p.default) in KINDS else None)
        if declared is not None and declared.kind is not None:
            kind = declared.kind
        if kind is None:
            continue  # an object (a solver, an optimizer): not an option
        option = Option(p.name, kind, p.default)
        found[p.name] = _merge(option, dataclasses.replace(declared, name=p.name)) if declared else option
    for option in explicit:
        found[option.name] = _merge(found.get(option.name), option)
    return found


def parse_assignment(text, flag: str = "--opt") -> tuple[str, str]:
    """`"NAME=VALUE"` (or `"OWNER.NAME=VALUE"`) → `(name, value text)`, the option's name
    with `-` read as `_`."""
    name, sep, value = text.partition("=") if isinstance(text, str) else ("", "", "")
    owner, key = split_name(name)
    name = key if owner is None else f"{owner}.{key}"
    if not sep or not key or (owner is not None and not owner.strip()):
        raise ValueError(f"malformed {flag} {text!r}: expected NAME=VALUE")
    return name, value


def assign(given: Mapping[str, object], owners: Mapping[str, Mapping[str, Option]],
           where: str) -> dict[str, dict[str, object]]:
    """Each given option checked by the declaration of every owner (`"game"`, a method's,
    loss's or regularizer's name, …) that declares it: `{owner: {name: value}}`. A name
    `OWNER.NAME` (`lecam.decay`) goes to that owner alone. A name no owner declares is a
    `ValueError` naming the valid options (`where`: what they were given for)."""
    assigned: dict[str, dict[str, object]] = {owner: {} for owner in owners}
    for name, value in given.items():
        owner, key = split_name(name)
        takers = [o for o, declared in owners.items()
                  if key in declared and (owner is None or o == owner)]
        if not takers:
            valid = sorted({n for declared in owners.values() for n in declared})
            qualified = sorted({f"{o}.{n}" for o, declared in owners.items() for n in declared
                                if o != "game"})
            raise ValueError(f"unknown option {name!r} for {where}; valid options: "
                             + (", ".join(valid) or "none")
                             + (f" (or one owner's alone: {', '.join(qualified)})"
                                if qualified and owner is not None else ""))
        for taker in takers:
            assigned[taker][key] = owners[taker][key].check(value)
    return assigned


def split_name(name) -> tuple[str | None, str]:
    """`"lecam.decay"` → `("lecam", "decay")`; `"decay"` → `(None, "decay")` (lower case,
    `-` read as `_` in the option's name)."""
    text = str(name).strip().lower()
    owner, dot, key = text.rpartition(".")
    return (owner or None) if dot else None, key.replace("-", "_")


def for_owner(options: Mapping[str, object], owner: str, declared: Mapping[str, Option]) -> dict:
    """The options of `options` (checked, plain or `OWNER.NAME`) that `owner` takes."""
    taken = {}
    for name, value in options.items():
        prefix, key = split_name(name)
        if key in declared and prefix in (None, owner):
            taken[key] = value
    return taken

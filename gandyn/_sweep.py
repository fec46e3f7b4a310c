"""Sweeps: a grid of loss × regularizer × method × step size × seed on a GAN game (the
Dirac-GAN by default; any registered game that takes a loss), described by `SweepSpec`
(checked on construction, read from a TOML table or a saved spec.json).

Limits (checked before anything runs, each a one-line `ValueError`):

- every value that `gandyn simulate` also takes (a step size, `steps`, a seed, a
  regularizer's weight, the game's and the methods' options such as `real_point` and
  `dim`) is checked by the same function with the same bounds and the same message
  (`gandyn._spec`: `steps` ≤ 10⁹, seeds in [0, 2³² − 1], `|real_point|` ≤ 10⁴);
- the grid ≤ `MAX_RUNS` (100,000) runs: a group's trajectories and every row are held
  in memory (about `BYTES_PER_RUN` each), and `results.json` is rewritten after each
  group; split a larger grid into several sweeps;
- `init_radius` ≤ `MAX_MAGNITUDE` (10⁶), `simulate`'s blow-up bound: beyond it every
  run diverges at step 0.

Every grid value must be given once: a duplicate (`wgan` and `WGAN`, `r1=1` and
`r1=1.0`, a step size or seed twice) is refused, as it would write duplicate rows.

`results.csv`, the rows and the ranking are `_sweep_results.py`'s; running the grid,
`_sweep_grid.py`'s (through `_grid.run_grid`, the one grid runner).
"""

import dataclasses
import itertools
import json
import math
import numbers
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from . import (
    games as game_registry,
    losses as loss_registry,
    methods as method_registry,
    regularizers as reg_registry,
)
from ._io import read_bytes
from ._options import for_owner
from ._spec import (
    MAX_STEPS,
    check_int,
    check_options,
    check_seed,
    check_step,
    regularizer_combination,
)
from ._sweep_results import NO_REGULARIZER

# The grid's rows and how they are run live beside the spec: `_sweep_results.py` (the
# columns, results.csv, the ranking) and `_sweep_grid.py` (one `_grid.run_grid` program per
# group).


MAX_RUNS = 100_000
MAX_MAGNITUDE = 1e6
# Up to ~400 saves × (θ, ψ, L_G, L_D, ‖v‖, distance) in float64, plus the row and
# its JSON: an estimate used in the refusal message.
BYTES_PER_RUN = 20_000
MAX_CONFIG_BYTES = 16 << 20  # a saved spec.json of 100,000 seeds is ~1.2 MB

_LIST_FIELDS = ("losses", "regularizers", "methods", "step_sizes", "seeds")


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _show(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _duplicate(field: str, what: str, value, first) -> ValueError:
    same = "" if repr(value) == repr(first) else f" (same as {_show(first)})"
    return ValueError(f"duplicate {what} {_show(value)} in {field}{same}")


def _canonical_names(field: str, what: str, values, registry) -> tuple[str, ...]:
    seen = {}
    for v in values:
        if not isinstance(v, str):
            raise ValueError(f"{field} must hold {what} names (strings), got {_show(v)}; "
                             f"choose from: {', '.join(registry.names())}")
        registry.get(v)  # unknown name: ValueError naming the choices
        key = v.lower()
        if key in seen:
            raise _duplicate(field, what, v, seen[key])
        seen[key] = v
    return tuple(seen)


def _parse_regularizer(text) -> tuple[str, tuple[str, ...], tuple[float, ...]]:
    """A regularizer setting → `(canonical text, names, weights)`: `"none"`, a
    `NAME=WEIGHT` that `gandyn simulate --reg` takes, or several joined by `+`
    (`"r1=1+consensus=0.5"`, the training sweep's syntax too), each checked by the same
    function."""
    parts = regularizer_combination(text)
    if not parts:
        return NO_REGULARIZER, (), ()
    names = tuple(p.partition("=")[0].strip().lower() for p in parts)
    weights = tuple(float(p.partition("=")[2]) for p in parts)
    canonical = "+".join(f"{n}={p.partition('=')[2].strip()}" for n, p in zip(names, parts))
    return canonical, names, weights


def _check_number(field: str, value, *, positive: bool) -> float:
    rule = "a positive finite number" if positive else "a finite number"
    if not _is_real(value):
        raise ValueError(f"{field} must be {rule}, got {_show(value)}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{field} must be {rule}, got {_show(value)}")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"{field} must be at most {MAX_MAGNITUDE:g} in magnitude (simulate's "
                         f"blow-up bound: every run would diverge at step 0), got {_show(value)}")
    return value


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A grid of runs of a GAN `game` (`dim`, `real_point` its options where it takes
    them): every loss × regularizer × method × step size × seed.

    `regularizers` are `"none"` or `"NAME=WEIGHT"` strings; each seed draws one initial
    point `y* + u`, `u ~ U[−init_radius, init_radius]^n` around the game's equilibrium
    (for the Dirac-GAN `(θ, ψ) = (c + u₁, u₂)`); the `init` column holds it.

    Construction type-checks every field (bools are not numbers here), refuses
    duplicate grid values, and stores names in canonical form (lower case); see the
    module docstring for the limits. `check_size()` checks the grid's run count.
    """

    losses: tuple[str, ...] = ("sgan", "nsgan", "rsgan", "wgan")
    regularizers: tuple[str, ...] = (NO_REGULARIZER, "r1=0.3", "r1=1", "consensus=0.5")
    methods: tuple[str, ...] = ("simgd", "altgd", "extragradient", "rk4")
    step_sizes: tuple[float, ...] = tuple(float(f"{h:.4g}") for h in np.geomspace(0.01, 1.0, 8))
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    steps: int = 1000
    real_point: float = 0.0
    init_radius: float = 1.5
    game: str = "dirac"
    dim: int = 1
    options: dict = dataclasses.field(default_factory=dict)
    float64: bool = False

    def __post_init__(self):
        if not isinstance(self.game, str) or ":" in self.game:
            raise ValueError(f"game must be the name of a registered game, got {_show(self.game)}")
        object.__setattr__(self, "game", game_registry.registry.check(self.game))
        if not game_registry.takes_loss(self.game):
            gans = [g for g in game_registry.names() if game_registry.takes_loss(g)]
            raise ValueError(f"game {self.game!r} is not a GAN (a sweep runs losses × "
                             f"regularizers); choose from: {', '.join(gans)}")
        for field in _LIST_FIELDS:
            value = getattr(self, field)
            if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
                raise ValueError(f"{field} must be a list, got {_show(value)}")
            value = tuple(value)
            if not value:
                raise ValueError(f"{field} must not be empty")
            object.__setattr__(self, field, value)

        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("losses", _canonical_names("losses", "loss", self.losses, loss_registry))
        set_("methods", _canonical_names("methods", "method", self.methods, method_registry))
        if not isinstance(self.options, dict):
            raise ValueError(f"options must be a table of NAME = VALUE, got {_show(self.options)}")
        clash = sorted(set(self.options) & {"dim", "real_point"})
        if clash:
            raise ValueError(f"give {clash[0]} as its own key, not in options")
        # `dim` and `real_point` are the game's options: checked by its declarations, as
        # `gandyn simulate` checks them (the same bounds, the same message).
        given = dict(self.options)
        declared = game_registry.registry.options(self.game)
        for name, value, default in (("dim", self.dim, 1), ("real_point", self.real_point, 0.0)):
            if name in declared or value != default or not _is_real(value):
                given[name] = value
        texts = [part for t in self.regularizers if isinstance(t, str)
                 for part in t.split("+") if t.strip().lower() != NO_REGULARIZER]
        checked = check_options(self.game, given, self.methods, self.losses, texts)
        set_("dim", checked.pop("dim", 1))
        set_("real_point", checked.pop("real_point", 0.0))
        set_("options", checked)

        regs = {}
        for text in self.regularizers:
            canonical, names, weights = _parse_regularizer(text)
            setting = tuple(sorted(zip(names, weights)))
            if setting in regs:
                raise _duplicate("regularizers", "regularizer setting", text, regs[setting])
            regs[setting] = canonical
        set_("regularizers", tuple(regs.values()))

        steps_h = {}
        for h in self.step_sizes:
            h = check_step(h)
            if h in steps_h:
                raise _duplicate("step_sizes", "step size", h, steps_h[h])
            steps_h[h] = h
        set_("step_sizes", tuple(steps_h))

        seeds = {}
        for s in self.seeds:
            s = check_seed(s)
            if s in seeds:
                raise _duplicate("seeds", "seed", s, s)
            seeds[s] = None
        set_("seeds", tuple(seeds))
        set_("steps", check_int("--steps", self.steps, 1, MAX_STEPS))
        set_("init_radius", _check_number("init_radius", self.init_radius, positive=True))
        if not isinstance(self.float64, bool):
            raise ValueError(f"float64 must be true or false, got {_show(self.float64)}")

    def game_options(self) -> dict:
        """The options the game takes (`dim`, `real_point` and those in `options`)."""
        options = {"real_point": self.real_point, "dim": self.dim, **self.options}
        return for_owner(options, "game", game_registry.registry.options(self.game))

    def method_options(self, method: str) -> tuple:
        """Method `method`'s options, as sorted items."""
        declared = method_registry.registry.options(method)
        return tuple(sorted(for_owner(self.options, method, declared).items()))

    def template(self):
        """The game under the first loss (its shape and equilibrium are every run's)."""
        loss = self.losses[0]
        return game_registry.get(self.game, loss=loss_registry.get(loss, **for_owner(
            self.options, loss, loss_registry.registry.options(loss))), **self.game_options())

    def size(self) -> int:
        return (len(self.losses) * len(self.regularizers) * len(self.methods)
                * len(self.step_sizes) * len(self.seeds))

    def check_size(self) -> "SweepSpec":
        """`self`, or a `ValueError` if the grid has more than `MAX_RUNS` runs."""
        _check_runs(self.size(), "the grid")
        return self

    def keys(self) -> set[tuple]:
        """The `(loss, regularizer, method, step, seed)` of every run."""
        return set(itertools.product(self.losses, self.regularizers, self.methods,
                                     self.step_sizes, self.seeds))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data, *, source: str = "sweep spec", complete: bool = False,
                  check_size: bool = True) -> "SweepSpec":
        """A spec from a TOML table or a saved `spec.json`; `complete`: every key must be
        there (a saved spec). Errors are one-line `ValueError`s starting with `source`."""
        fields = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a table of sweep settings, got a "
                             f"{type(data).__name__}")
        # A key that the game or a method declares as an option is one (`std = 2`).
        declared = _declared_options(data)
        unknown = sorted(str(k) for k in set(data) - set(fields) - set(declared))
        if unknown:
            valid = fields + sorted(set(declared) - set(fields))
            raise ValueError(f"{source}: unknown key {unknown[0]!r}; valid keys: {', '.join(valid)}")
        if any(k in declared and k not in fields for k in data):
            data = dict(data)
            options = dict(data.get("options") or {}) if isinstance(data.get("options"), dict) \
                else data.get("options", {})
            for key in [k for k in data if k in declared and k not in fields]:
                if isinstance(options, dict):
                    options[key] = data.pop(key)
            data["options"] = options
        # `game`, `dim`, `options` and `float64` came later: a spec saved before them is a
        # Dirac-GAN sweep (in the precision its settings.json names).
        missing = [k for k in fields if k not in data
                   and k not in ("game", "dim", "options", "float64")]
        if complete and missing:
            raise ValueError(f"{source}: missing key {missing[0]!r}; a sweep spec has: {', '.join(fields)}")
        values = {}
        try:
            for key, value in data.items():
                if key == "seeds" and _is_int(value):
                    if not 1 <= value <= MAX_RUNS:
                        raise ValueError(f"seeds must be a count from 1 to {MAX_RUNS:,} or a list "
                                         f"of integers, got {value:,}")
                    value = list(range(value))
                if key in _LIST_FIELDS and not isinstance(value, (list, tuple)):
                    rule = "a count or a list of integers" if key == "seeds" else "a list"
                    raise ValueError(f"{key} must be {rule}, got {_show(value)}")
                values[key] = value
            spec = cls(**values)
            return spec.check_size() if check_size else spec
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None

    @classmethod
    def from_toml(cls, path: Path, *, check_size: bool = True) -> "SweepSpec":
        """Read a `[sweep]` table (or top-level keys) from a TOML file."""
        path = Path(path)
        what = f"sweep file {str(path)!r}"
        text = _read_text(path, "sweep file", MAX_CONFIG_BYTES)
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, RecursionError) as e:
            raise ValueError(f"{what} is not valid TOML: {_first_line(e)}") from None
        if "sweep" in data and not isinstance(data["sweep"], dict):
            raise ValueError(f"{what}: 'sweep' must be a table ([sweep]), got {_show(data['sweep'])}")
        return cls.from_dict(data.get("sweep", data), source=what, check_size=check_size)

    def units(self) -> list[tuple[list[tuple], Callable[[], list[dict]]]]:
        """`[(keys, run)]`: one unit per group of `run_sweep` (one compiled program),
        always whole, so that its rows are the same whichever process runs it."""
        from ._sweep_grid import _group_rows, _groups, _initial_points

        units = []
        for family, kind, method_name, pending in _groups(self):
            keys = [(loss, text, method_name, float(h), seed) for loss, text, h in pending
                    for seed in self.seeds]
            units.append((keys, lambda g=(family, kind, method_name, pending):
                          _group_rows(self, *g, _initial_points(self))))
        return units

    @staticmethod
    def row_key(row: dict) -> tuple:
        from ._sweep_results import _key

        return _key(row)

    @staticmethod
    def columns(rows: list[dict]) -> list[str]:
        from ._sweep_results import COLUMNS

        return list(COLUMNS)

    @classmethod
    def from_json(cls, path: Path) -> "SweepSpec":
        """The spec saved in a sweep's `spec.json` (every key required)."""
        path = Path(path)
        what = f"spec file {str(path)!r}"
        text = _read_text(path, "spec file", MAX_CONFIG_BYTES)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ValueError(f"{what} is not valid JSON: {_first_line(e)}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{what} holds a JSON {type(data).__name__}, expected an object "
                             "of sweep settings")
        return cls.from_dict(data, source=what, complete=True)


def _declared_options(data: dict) -> set[str]:
    """The option names that the game and the methods of a sweep table declare (none if
    they are not valid names: construction then names the problem)."""
    game = data.get("game", "dirac")
    methods = data.get("methods", SweepSpec.methods)
    declared: set[str] = set()
    if isinstance(game, str) and game in game_registry.registry:
        declared |= set(game_registry.registry.options(game))
    if isinstance(methods, (list, tuple)):
        for m in methods:
            if isinstance(m, str) and m in method_registry.registry:
                declared |= set(method_registry.registry.options(m))
    return declared


def _check_runs(runs: int, what: str) -> None:
    if runs > MAX_RUNS:
        raise ValueError(f"{what} has {runs:,} runs, more than the {MAX_RUNS:,} one sweep may hold "
                         f"(about {runs * BYTES_PER_RUN / 1e9:,.1f} GB of trajectories and rows in "
                         "memory); split it into several sweeps")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def _read_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    """The content of `path`, a regular file of at most `max_bytes` (`_io.read_bytes`:
    a FIFO or a device is refused, never waited on); a one-line `ValueError` otherwise."""
    return read_bytes(path, what, max_bytes=max_bytes)


def _read_text(path: Path, what: str, max_bytes: int) -> str:
    data = _read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} {str(path)!r} is not UTF-8 text (byte {e.start}): is it a "
                         "binary file?") from None

"""Sweeps: a grid of loss × regularizer × method × step size × seed on a GAN game (the
Dirac-GAN by default; any registered game that takes a loss), run in groups that share
one compiled program, written incrementally and resumable.

Limits (checked before anything runs, each a one-line `ValueError`):

- `steps` ≤ `MAX_STEPS` (10⁸) per run: more could never finish;
- the grid ≤ `MAX_RUNS` (100,000) runs: a group's trajectories and every row are held
  in memory (about `BYTES_PER_RUN` each), and `results.json` is rewritten after each
  group; split a larger grid into several sweeps;
- seeds in [0, `MAX_SEED`] (2³¹ − 1), what `jax.random.key` takes in 32-bit mode;
- `|real_point|` and `init_radius` ≤ `MAX_MAGNITUDE` (10⁶), `simulate`'s blow-up
  bound: beyond it every run diverges at step 0.

Every grid value must be given once: a duplicate (`wgan` and `WGAN`, `r1=1` and
`r1=1.0`, a step size or seed twice) is refused, as it would write duplicate rows.

`results.csv` on resume: a row counts only if its line ends with the newline (each
group's rows are appended, flushed and fsynced together, so a crash leaves at most
one unterminated last line, which is dropped and run again). Every field of every
terminated row is checked (known status, finite numbers, a configuration of the
spec); a terminated row that fails is not crash damage but a foreign or edited file,
and is refused with an error naming the file and line rather than silently dropped.
"""

import csv
import dataclasses
import functools
import itertools
import json
import math
import numbers
import os
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import (
    games as game_registry,
    losses as loss_registry,
    methods as method_registry,
    regularizers as reg_registry,
)
from ._io import atomic_path, read_bytes
from ._runs import initial_states
from ._runs import summarize, write_json
from .losses import _LossSwitch
from ._spec import split_options
from ._sharding import shard_batch
from ._simulate import Status, simulate


COLUMNS = [
    "loss", "regularizer", "method", "step", "seed", "init", "status",
    "diverged_at", "final_distance", "final_speed", "rate",
]
NO_REGULARIZER = "none"
STATUSES = tuple(s.label for s in Status)

MAX_STEPS = 10**8
MAX_RUNS = 100_000
MAX_SEED = 2**31 - 1
MAX_MAGNITUDE = 1e6
# Up to ~400 saves × (θ, ψ, L_G, L_D, ‖v‖, distance) in float64, plus the row and
# its JSON: an estimate used in the refusal message.
BYTES_PER_RUN = 20_000
MAX_CONFIG_BYTES = 16 << 20  # a saved spec.json of 100,000 seeds is ~1.2 MB
MAX_CSV_BYTES = 256 << 20

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


def _parse_regularizer(text) -> tuple[str, str | None, float]:
    """A regularizer setting → `(canonical text, name or None, weight)`."""
    choices = ", ".join(reg_registry.names())
    if not isinstance(text, str):
        raise ValueError(f"regularizers must hold strings 'none' or 'NAME=WEIGHT', got {_show(text)}; "
                         f"NAME one of: {choices}")
    if text.strip().lower() == NO_REGULARIZER:
        return NO_REGULARIZER, None, 0.0
    name, sep, value = text.partition("=")
    try:
        weight = float(value) if sep else None
    except ValueError:
        weight = None
    if not name.strip() or weight is None:
        raise ValueError(f"malformed regularizer {_show(text)}: expected 'none' or NAME=WEIGHT, "
                         f"NAME one of: {choices}")
    name = name.strip().lower()
    if name not in reg_registry.names():
        raise ValueError(f"unknown regularizer {_show(name)} in {_show(text)}; choose from: {choices}")
    if not math.isfinite(weight):
        raise ValueError(f"regularizer weight must be finite, got {_show(text)}")
    if weight < 0:
        raise ValueError(f"regularizer weight must be a finite number ≥ 0, got {_show(text)}")
    return f"{name}={value.strip()}", name, weight


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

    def __post_init__(self):
        if not isinstance(self.game, str) or ":" in self.game:
            raise ValueError(f"game must be the name of a registered game, got {_show(self.game)}")
        object.__setattr__(self, "game", game_registry.registry.check(self.game))
        if not game_registry.takes_loss(self.game):
            gans = [g for g in game_registry.names() if game_registry.takes_loss(g)]
            raise ValueError(f"game {self.game!r} is not a GAN (a sweep runs losses × "
                             f"regularizers); choose from: {', '.join(gans)}")
        if not (_is_int(self.dim) and 1 <= self.dim <= 64):
            raise ValueError(f"dim must be an integer from 1 to 64, got {_show(self.dim)}")
        if self.dim != 1 and "dim" not in game_registry.options(self.game):
            raise ValueError(f"game {self.game!r} takes no dim")
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
        game_opts, method_opts = split_options(self.game, self.methods, self.options)
        merged = dict(game_opts)
        for taken in method_opts.values():
            merged.update(taken)
        set_("options", merged)

        regs = {}
        for text in self.regularizers:
            canonical, name, weight = _parse_regularizer(text)
            if (name, weight) in regs:
                raise _duplicate("regularizers", "regularizer setting", text, regs[name, weight])
            regs[name, weight] = canonical
        set_("regularizers", tuple(regs.values()))

        steps_h = {}
        for h in self.step_sizes:
            if not (_is_real(h) and math.isfinite(h) and h > 0):
                raise ValueError(f"step sizes must be positive finite numbers, got {_show(h)}")
            if float(h) in steps_h:
                raise _duplicate("step_sizes", "step size", float(h), steps_h[float(h)])
            steps_h[float(h)] = float(h)
        set_("step_sizes", tuple(steps_h))

        seeds = {}
        for s in self.seeds:
            if not _is_int(s):
                raise ValueError(f"seeds must be a count or a list of integers, got {_show(s)}")
            if not 0 <= s <= MAX_SEED:
                raise ValueError(f"seeds must be integers in [0, {MAX_SEED}], got {s}")
            if int(s) in seeds:
                raise _duplicate("seeds", "seed", int(s), int(s))
            seeds[int(s)] = None
        set_("seeds", tuple(seeds))

        if not (_is_int(self.steps) and self.steps >= 1):
            raise ValueError(f"steps must be a positive integer, got {_show(self.steps)}")
        if self.steps > MAX_STEPS:
            raise ValueError(f"steps must be at most {MAX_STEPS:,} per run (it could never finish), "
                             f"got {self.steps:,}")
        set_("steps", int(self.steps))
        set_("real_point", _check_number("real_point", self.real_point, positive=False))
        set_("init_radius", _check_number("init_radius", self.init_radius, positive=True))

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
        # `game`, `dim` and `options` came later: a spec saved before them is a Dirac-GAN sweep.
        missing = [k for k in fields if k not in data and k not in ("game", "dim", "options")]
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
        units = []
        for family, kind, method_name, pending in _groups(self):
            keys = [(loss, text, method_name, float(h), seed) for loss, text, h in pending
                    for seed in self.seeds]
            units.append((keys, lambda g=(family, kind, method_name, pending):
                          _group_rows(self, *g, _initial_points(self))))
        return units

    @staticmethod
    def row_key(row: dict) -> tuple:
        return _key(row)

    @staticmethod
    def columns(rows: list[dict]) -> list[str]:
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


def _key(row) -> tuple:
    return (row["loss"], row["regularizer"], row["method"], float(row["step"]), int(row["seed"]))


def _regularizer_parts(text: str) -> tuple[str | None, float]:
    _, name, weight = _parse_regularizer(text)
    return name, weight


def _game_options(spec: SweepSpec) -> dict:
    accepted = game_registry.registry.options(spec.game)
    options = {"real_point": spec.real_point, "dim": spec.dim, **spec.options}
    return {k: v for k, v in options.items() if k in accepted}


def _method_options(spec: SweepSpec, method: str) -> tuple:
    accepted = method_registry.registry.options(method)
    return tuple(sorted((k, v) for k, v in spec.options.items() if k in accepted))


def _template(spec: SweepSpec):
    return game_registry.get(spec.game, loss=loss_registry.get(spec.losses[0]), **_game_options(spec))


def _initial_points(spec: SweepSpec) -> np.ndarray:
    """Each seed's start: the equilibrium plus `U[−init_radius, init_radius]^n`."""
    from jax.flatten_util import ravel_pytree

    game = _template(spec)
    centre = game.equilibrium()
    centre = np.asarray(ravel_pytree(game.init() if centre is None else centre)[0], dtype=float)
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    return np.asarray([
        centre + np.asarray(jax.random.uniform(jax.random.key(seed), (centre.size,),
                                               minval=-spec.init_radius, maxval=spec.init_radius,
                                               dtype=dtype), dtype=float)
        for seed in spec.seeds])


def _loss_families(names: Iterable[str]) -> list[tuple[str, ...]]:
    """The losses that can share one program: all those that see only the logits,
    and each loss that also sees the samples (GAN-QP) on its own."""
    names = list(names)
    plain = tuple(n for n in names if not loss_registry.get(n).uses_samples)
    return ([plain] if plain else []) + [(n,) for n in names if n not in plain]


@functools.lru_cache(maxsize=32)
def _group_program(game_name, options, loss_names, reg_name, method_name, method_options, steps):
    """The compiled program of one (loss family, regularizer kind, method): vmapped
    over (loss, weight, h) triples, each over every seed's initial point. Cached, so
    that a resumed group of the same shape does not compile again."""
    losses = tuple(loss_registry.get(n) for n in loss_names)
    method = method_registry.get(method_name, **dict(method_options))

    def one(which, weight, h, points):
        loss = losses[0] if len(losses) == 1 else _LossSwitch(losses, which)
        regs = () if reg_name is None else (reg_registry.build(reg_name, weight),)
        game = game_registry.get(game_name, loss=loss, regularizers=regs, **dict(options))
        return simulate(game, method, initial_states(game, points), h=h, steps=steps,
                        save_every=max(1, steps // 200))

    return eqx.filter_jit(jax.vmap(one, in_axes=(0, 0, 0, None)))


def _run_group(loss_names, reg_name, method_name, which, weights, steps_h, inits, spec, shard):
    """All (loss, weight, h) triples of one (loss family, regularizer kind, method),
    `which` indexing `loss_names`: one compiled program, vmapped over the triples,
    each over every seed's initial point."""
    options = tuple(sorted(_game_options(spec).items()))
    program = _group_program(spec.game, options, tuple(loss_names), reg_name, method_name,
                             _method_options(spec, method_name), spec.steps)
    which = jnp.asarray(which, dtype=jnp.int32)
    weights = jnp.asarray(weights, dtype=float)
    steps_h = jnp.asarray(steps_h, dtype=float)
    if shard:
        which, weights, steps_h = shard_batch((which, weights, steps_h))
    return program(which, weights, steps_h, jnp.asarray(inits))


def check_run_folder(out: Path, spec: SweepSpec) -> list[dict]:
    """The finished rows of the sweep in folder `out` (see `read_rows`); a one-line
    `ValueError` if the folder or its files cannot hold this sweep's results."""
    out = Path(out)
    _check_folder(out)
    return read_rows(out / "results.csv", spec)


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"sweep folder {str(out)!r} is not a folder")
    json_path = out / "results.json"
    if (json_path.exists() or json_path.is_symlink()) and not json_path.is_file():
        raise ValueError(f"results file {str(json_path)!r} is not a regular file")


def run_sweep(
    spec: SweepSpec,
    out: Path,
    *,
    shard: bool = False,
    on_group: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Run every configuration of `spec` not already in `out/results.csv`, appending
    each group's rows as soon as it finishes (and rewriting `results.json`
    atomically), so that an interrupted sweep keeps every finished row and a second
    call resumes where it stopped. Returns all rows.

    A `ValueError` (before anything runs or is written) if `spec` is too large or
    `out/results.csv` holds a row that is not one of this spec's finished runs."""
    spec.check_size()
    out = Path(out)
    _check_folder(out)
    csv_path, json_path = out / "results.csv", out / "results.json"
    rows, damaged = _read_rows(csv_path, spec)
    out.mkdir(parents=True, exist_ok=True)
    if damaged:
        _rewrite_csv(csv_path, rows)  # drops a line cut short by an interruption
    done = {_key(r) for r in rows}
    inits = _initial_points(spec)

    groups = _groups(spec, done)
    for index, (family, kind, method_name, pending) in enumerate(groups):
        new_rows = [row for row in _group_rows(spec, family, kind, method_name, pending, inits, shard)
                    if _key(row) not in done]
        _append_csv(csv_path, new_rows)
        rows += new_rows
        done |= {_key(r) for r in new_rows}
        write_json(json_path, {"spec": spec.to_dict(), "rows": rows})
        if on_group is not None:
            on_group(index + 1, len(groups))
    if not json_path.exists():
        write_json(json_path, {"spec": spec.to_dict(), "rows": rows})
    return rows


def _groups(spec: SweepSpec, done=frozenset()) -> list[tuple]:
    """`[(loss family, regularizer kind, method, [(loss, regularizer, h)])]`: one group
    (one compiled program) per loss family × regularizer kind × method, holding the
    (loss, regularizer, h) triples with a seed not in `done`."""
    groups = []
    for family, reg_text_kind, method_name in itertools.product(
        _loss_families(spec.losses), _kinds(spec.regularizers), spec.methods
    ):
        pending = [
            (loss_name, text, h) for loss_name in family
            for text in spec.regularizers if _kind(text) == reg_text_kind
            for h in spec.step_sizes
            if any((loss_name, text, method_name, float(h), seed) not in done for seed in spec.seeds)
        ]
        if pending:
            groups.append((family, reg_text_kind, method_name, pending))
    return groups


def _group_rows(spec, family, kind, method_name, pending, inits, shard=False) -> list[dict]:
    """The rows of one group: every seed of every (loss, regularizer, h) in `pending`."""
    which = [family.index(loss_name) for loss_name, _, _ in pending]
    weights = [_regularizer_parts(text)[1] for _, text, _ in pending]
    sol = _run_group(family, None if kind == NO_REGULARIZER else kind, method_name, which,
                     weights, [h for _, _, h in pending], inits, spec, shard)
    rows = []
    for i, (loss_name, text, h) in enumerate(pending):
        member = jax.tree_util.tree_map(lambda x: x[i], sol)
        for seed, point, record in zip(spec.seeds, inits, summarize(member)):
            rows.append({"loss": loss_name, "regularizer": text, "method": method_name,
                         "step": float(h), "seed": seed, "init": [float(x) for x in point], **record})
    return rows


def _kind(text: str) -> str:
    return text if text == NO_REGULARIZER else text.partition("=")[0].strip().lower()


def _kinds(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_kind(t) for t in texts))


def _format(value) -> str:
    if isinstance(value, list):  # a point: its coordinates, separated by spaces
        return " ".join(repr(float(x)) for x in value)
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _append_csv(path: Path, rows: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_format(row[c]) for c in COLUMNS])
        f.flush()
        os.fsync(f.fileno())


def _rewrite_csv(path: Path, rows: list[dict]) -> None:
    if not path.exists():
        return
    with atomic_path(path) as tmp:
        _append_csv(tmp, rows)


def _finite(text: str, *, optional: bool = False, positive: bool = False) -> float | None:
    if optional and text == "":
        return None
    value = float(text)  # ValueError for anything but a number
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError
    return value


def _point(text: str) -> list[float]:
    values = [_finite(part) for part in text.split(" ")]
    if not text or not values:
        raise ValueError
    return values


def _natural(text: str, *, optional: bool = False) -> int | None:
    if optional and text == "":
        return None
    if not (text.isascii() and text.isdigit()):
        raise ValueError
    return int(text)


_FIELD_RULES = {
    "step": (lambda t: _finite(t, positive=True), "a positive finite number"),
    "seed": (_natural, "an integer ≥ 0"),
    "init": (lambda t: _point(t), "finite numbers separated by spaces"),
    "diverged_at": (lambda t: _natural(t, optional=True), "empty or an integer ≥ 0"),
    "final_distance": (lambda t: _finite(t, optional=True), "empty or a finite number"),
    "final_speed": (lambda t: _finite(t, optional=True), "empty or a finite number"),
    "rate": (lambda t: _finite(t, optional=True), "empty or a finite number"),
}


def _parse_fields(fields: list[str]) -> dict:
    """One CSV row's fields → a row; a `ValueError` naming the first bad field."""
    if len(fields) != len(COLUMNS):
        raise ValueError(f"has {len(fields)} fields, expected {len(COLUMNS)}")
    row = dict(zip(COLUMNS, fields))
    for column, (parse, rule) in _FIELD_RULES.items():
        try:
            row[column] = parse(row[column])
        except (ValueError, OverflowError):
            raise ValueError(f"{column} {_show(row[column])} is not {rule}") from None
    if row["status"] not in STATUSES:
        raise ValueError(f"status {_show(row['status'])} is not one of: {', '.join(STATUSES)}")
    return row


def _read_rows(path: Path, spec: SweepSpec | None) -> tuple[list[dict], bool]:
    """`(rows, damaged)`: the finished rows of `path`, and whether a line cut short by
    an interruption (or a blank line) was left out."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return [], False
    what = f"results file {str(path)!r}"
    data = _read_bytes(path, "results file", MAX_CSV_BYTES)
    *lines, tail = data.split(b"\n")  # `tail`: after the last newline, a line cut short
    damaged = tail != b""
    if not lines:  # nothing terminated: empty, or cut within the header
        return [], damaged
    try:
        text = b"\n".join(lines).decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{what} line {line} is not UTF-8 text: is it a binary file?") from None

    def fields(line: str, number: int) -> list[str]:
        try:
            return next(csv.reader([line.removesuffix("\r")]), [])
        except csv.Error as e:
            raise ValueError(f"{what} line {number} is not a CSV row: {e}") from None

    lines = text.split("\n")
    if fields(lines[0], 1) != COLUMNS:
        raise ValueError(f"{what} does not start with the header of a sweep's results "
                         f"({','.join(COLUMNS)}): got {_show(lines[0].removesuffix(chr(13)))}")
    keys = spec.keys() if spec is not None else None
    size = len(_template(spec).coordinates()) if spec is not None else None
    rows, seen = [], {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            damaged = True
            continue
        try:
            row = _parse_fields(fields(line, number))
        except ValueError as e:
            raise ValueError(f"{what} line {number}: {e}") from None
        key = _key(row)
        if keys is not None:
            if key not in keys:
                raise ValueError(f"{what} line {number} is a run that is not in the sweep's spec "
                                 f"({', '.join(map(str, key))}): was it written by another sweep?")
            if len(row["init"]) != size:
                raise ValueError(f"{what} line {number}: init has {len(row['init'])} coordinates, "
                                 f"but the game has {size}")
            if row["diverged_at"] is not None and row["diverged_at"] > spec.steps:
                raise ValueError(f"{what} line {number}: diverged_at {row['diverged_at']} is past "
                                 f"the sweep's {spec.steps} steps")
        if key in seen:
            raise ValueError(f"{what} line {number} repeats the run of line {seen[key]} "
                             f"({', '.join(map(str, key))})")
        seen[key] = number
        rows.append(row)
    return rows, damaged


def read_rows(path: Path, spec: SweepSpec | None = None) -> list[dict]:
    """The finished rows of a sweep's CSV.

    A row counts only if its line ends with a newline: a last line cut short by an
    interruption is left out (a cut row can still parse, `0.0001` cut to `0.00`).
    Every other line must be a valid row (known status, finite numbers or empty where
    allowed, a run of `spec` when given, no run twice); otherwise a one-line
    `ValueError` naming the file and line."""
    return _read_rows(path, spec)[0]


def ranking(rows: list[dict]) -> list[dict]:
    """Per loss × regularizer × method: the share of runs that converged (or are
    converging), the largest step size at which every seed did, the largest step up
    to which every seed did at every grid step (`stable_up_to`; equal to
    `grid_largest_step` when the grid never found the limit), and the median rate
    over those runs; best first."""
    table = {}
    for row in rows:
        table.setdefault((row["loss"], row["regularizer"], row["method"]), []).append(row)
    ranked = []
    for (loss, reg, method), group in table.items():
        good = [r for r in group if r["status"] in ("converged", "converging")]
        by_step = {}
        for r in group:
            by_step.setdefault(r["step"], []).append(r["status"] in ("converged", "converging"))
        stable_steps = [h for h, ok in by_step.items() if all(ok)]
        up_to = None  # every seed converged at this step and at every smaller one
        for h in sorted(by_step):
            if not all(by_step[h]):
                break
            up_to = h
        rates = [r["rate"] for r in good if r["rate"] is not None]
        ranked.append({
            "loss": loss, "regularizer": reg, "method": method,
            "converged_share": len(good) / len(group),
            "largest_converging_step": max(stable_steps) if stable_steps else None,
            "stable_up_to": up_to, "grid_largest_step": max(by_step),
            "median_rate": float(np.median(rates)) if rates else None,
        })
    ranked.sort(key=lambda r: (-r["converged_share"], r["median_rate"] if r["median_rate"] is not None else 2.0))
    return ranked

"""How a sweep runs: its grid in groups, one compiled program per (loss family,
regularizer kind, method) vmapped over every (loss, weight, h) and every seed's initial
point (`_grid.run_grid`), each group's rows appended to `results.csv` as soon as it
finishes, so that an interrupted sweep keeps every finished row and a second call
resumes where it stopped."""

import itertools
from collections.abc import Callable, Iterable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from . import (
    games as game_registry,
    losses as loss_registry,
    methods as method_registry,
    regularizers as reg_registry,
)
from ._grid import loss_families, member, run_grid, summarize, switched
from ._io import write_json
from ._options import for_owner
from ._sweep_results import (
    NO_REGULARIZER,
    _append_csv,
    _key,
    _read_rows,
    _rewrite_csv,
    read_rows,
)


def _loss(name: str, options) -> object:
    """Loss `name` with the options (`{name: value}` or its items) it declares."""
    return loss_registry.get(name, **for_owner(dict(options), name,
                                               loss_registry.registry.options(name)))


def _initial_points(spec) -> np.ndarray:
    """Each seed's start: the equilibrium plus `U[−init_radius, init_radius]^n`."""
    from jax.flatten_util import ravel_pytree

    game = spec.template()
    centre = game.equilibrium()
    centre = np.asarray(ravel_pytree(game.init() if centre is None else centre)[0], dtype=float)
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    return np.asarray([
        centre + np.asarray(jax.random.uniform(jax.random.key(seed), (centre.size,),
                                               minval=-spec.init_radius, maxval=spec.init_radius,
                                               dtype=dtype), dtype=float)
        for seed in spec.seeds])


def _loss_families(names: Iterable[str]) -> list[tuple[str, ...]]:
    """The losses that can share one program (`_grid.loss_families`), by name."""
    names = list(names)
    return [tuple(names[i] for i in family)
            for family in loss_families([loss_registry.get(n) for n in names])]


def check_run_folder(out: Path, spec) -> list[dict]:
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
    spec,
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


def _groups(spec, done=frozenset()) -> list[tuple]:
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
    """The rows of one group: every seed of every (loss, regularizer, h) in `pending`,
    from one `run_grid` program over the group's games (the loss a traced index into
    `family`, the regularizer's weight an array)."""
    options = dict(spec.options)
    losses = tuple(_loss(name, options) for name in family)
    method = method_registry.get(method_name, **dict(spec.method_options(method_name)))
    names = () if kind == NO_REGULARIZER else tuple(kind.split("+"))
    reg_options = {name: for_owner(options, name, reg_registry.options(name)) for name in names}
    dtype = jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    games = []
    for loss_name, text, _ in pending:
        weights = () if kind == NO_REGULARIZER else [part.partition("=")[2]
                                                      for part in text.split("+")]
        regs = tuple(reg_registry.build(name, np.asarray(float(w), dtype), reg_options[name])
                     for name, w in zip(names, weights))
        games.append(game_registry.get(spec.game, loss=switched(losses, family.index(loss_name)),
                                       regularizers=regs, **spec.game_options()))
    sol = run_grid(games, method, inits, h=[h for _, _, h in pending], steps=spec.steps,
                   save_every=max(1, spec.steps // 200), shard=shard)
    rows = []
    for i, (loss_name, text, h) in enumerate(pending):
        for seed, point, record in zip(spec.seeds, inits, summarize(member(sol, i))):
            rows.append({"loss": loss_name, "regularizer": text, "method": method_name,
                         "step": float(h), "seed": seed, "init": [float(x) for x in point],
                         **record})
    return rows


def _kind(text: str) -> str:
    """The regularizers a setting names (`"r1+consensus"`), or `"none"`: one program
    per kind, the weights traced."""
    if text == NO_REGULARIZER:
        return text
    return "+".join(part.partition("=")[0].strip().lower() for part in text.split("+"))


def _kinds(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_kind(t) for t in texts))

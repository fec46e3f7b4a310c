"""How a sweep runs: its grid in groups, one compiled program per (loss family,
regularizer kind, method) vmapped over every (loss, weight, h) and every seed's initial
point, each group's rows appended to `results.csv` as soon as it finishes, so that an
interrupted sweep keeps every finished row and a second call resumes where it stopped."""

import functools
import itertools
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
from ._options import for_owner
from ._program_cache import cached_call
from ._runs import initial_states, summarize, write_json
from ._sharding import shard_batch
from ._simulate import simulate
from ._sweep_results import (
    NO_REGULARIZER,
    _append_csv,
    _key,
    _read_rows,
    _rewrite_csv,
    read_rows,
)
from .losses import _LossSwitch


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
    """The losses that can share one program: all those that see only the logits,
    and each loss that also sees the samples (GAN-QP) on its own."""
    names = list(names)
    plain = tuple(n for n in names if not loss_registry.get(n).uses_samples)
    return ([plain] if plain else []) + [(n,) for n in names if n not in plain]


@functools.lru_cache(maxsize=32)
def _group_program(game_name, options, loss_names, reg_name, method_name, method_options, steps,
                   extra=()):
    """The compiled program of one (loss family, regularizer kind, method): vmapped
    over (loss, weight, h) triples, each over every seed's initial point (`extra`: the
    sweep's options, as items, from which each loss and regularizer takes its own).
    Cached, so that a resumed group of the same shape does not compile again."""
    losses = tuple(_loss(n, extra) for n in loss_names)
    method = method_registry.get(method_name, **dict(method_options))
    reg_options = {} if reg_name is None else for_owner(dict(extra), reg_name,
                                                        reg_registry.options(reg_name))

    def one(which, weight, h, points):
        loss = losses[0] if len(losses) == 1 else _LossSwitch(losses, which)
        regs = () if reg_name is None else (reg_registry.build(reg_name, weight, reg_options),)
        game = game_registry.get(game_name, loss=loss, regularizers=regs, **dict(options))
        return simulate(game, method, initial_states(game, points), h=h, steps=steps,
                        save_every=max(1, steps // 200))

    def program(which, weight, h, points):  # a closure over `one` only: the key names it
        return jax.vmap(one, in_axes=(0, 0, 0, None))(which, weight, h, points)

    jitted = eqx.filter_jit(program)

    def structure():
        """The result's structure, untraced: `simulate`'s `Solution` for one member."""
        from ._methods import carrying_game_state
        from ._simulate import _solution_structure

        regs = () if reg_name is None else (reg_registry.build(reg_name, 0.0, reg_options),)
        game = game_registry.get(game_name, loss=losses[0], regularizers=regs, **dict(options))
        y0 = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[None], game.init())
        h = jnp.asarray(1.0, dtype=jax.tree_util.tree_leaves(y0)[0].dtype)
        return _solution_structure(game, carrying_game_state(game, method), y0, h,
                                   jax.random.key(0), None)

    # A program kept from an earlier run is loaded, not traced (`_program_cache`).
    return lambda *args: cached_call(program, jitted, args, {}, structure)


def _run_group(loss_names, reg_name, method_name, which, weights, steps_h, inits, spec, shard):
    """All (loss, weight, h) triples of one (loss family, regularizer kind, method),
    `which` indexing `loss_names`: one compiled program, vmapped over the triples,
    each over every seed's initial point."""
    options = tuple(sorted(spec.game_options().items()))
    program = _group_program(spec.game, options, tuple(loss_names), reg_name, method_name,
                             spec.method_options(method_name), spec.steps,
                             tuple(sorted(spec.options.items())))
    which = jnp.asarray(which, dtype=jnp.int32)
    weights = jnp.asarray(weights, dtype=float)
    steps_h = jnp.asarray(steps_h, dtype=float)
    if shard:
        which, weights, steps_h = shard_batch((which, weights, steps_h))
    return program(which, weights, steps_h, jnp.asarray(inits))


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
    """The rows of one group: every seed of every (loss, regularizer, h) in `pending`."""
    which = [family.index(loss_name) for loss_name, _, _ in pending]
    weights = [0.0 if text == NO_REGULARIZER else float(text.partition("=")[2])
               for _, text, _ in pending]
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

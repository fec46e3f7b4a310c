"""The one grid runner behind `simulate`, `portrait` and `sweep`.

Runs whose games differ only in arrays (a loss picked by a traced index, a
regularizer's weight) share one compiled program: `run_grid` stacks their games along
a leading member axis and runs

    solution[i, p] = simulate(games[i], method, start_p, h=h[i], steps=steps)

for every member `i` and initial point `p` at once, `vmap` over members around
`simulate`'s own batch over points. The program is keyed by what determines it and kept
across runs by `_program_cache` (a second identical run loads it, untraced).
`game_grid` runs labelled games under several methods (`simulate`, `portrait`); a
sweep builds its groups' games itself (`_sweep_grid.py`); `summarize` turns a solution
into one record per member.
"""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._io import finite_or_none
from ._program_cache import cached_call
from ._simulate import Solution, Status, _solution_structure, _traced_weights, simulate


def initial_states(game, points: np.ndarray):
    """A batch of states from rows of flattened parameters (`ravel_pytree` order)."""
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(game.init())
    return jax.vmap(unravel)(jnp.asarray(points, dtype=flat.dtype))


def loss_families(losses: Sequence) -> list[tuple[int, ...]]:
    """Indices of the losses (objects) that can share one program: all those that see
    only the logits, then each loss that also sees the samples (GAN-QP) on its own."""
    plain = tuple(i for i, loss in enumerate(losses) if not loss.uses_samples)
    return ([plain] if plain else []) + [(i,) for i in range(len(losses)) if i not in plain]


def switched(losses: Sequence, index: int):
    """Loss `index` of `losses` as one of several (`losses._LossSwitch`, its index an
    array), so that games under any of them stack into one program; a lone loss as it
    is. A scalar index runs only its branch; under `vmap`, every branch is computed
    and the member's selected: the numbers of that loss alone."""
    from .losses import _LossSwitch

    if len(losses) == 1:
        return losses[0]
    return _LossSwitch(tuple(losses), np.asarray(index, np.int32))


def share_losses(games: Sequence) -> list:
    """`games` with every loss that sees only the logits `switched` among them, where
    the games differ in nothing but their loss: one program per method then serves
    them all. Other games are returned as they are."""
    losses = [getattr(game, "loss", None) for game in games]
    if len(games) < 2 or any(loss is None for loss in losses):
        return list(games)
    bare = [
        eqx.tree_at(lambda g: g.loss, game, None, is_leaf=lambda x: x is None) for game in games
    ]
    if not all(eqx.tree_equal(bare[0], other) is True for other in bare[1:]):
        return list(games)
    games = list(games)
    for family in loss_families(losses):
        family_losses = tuple(losses[i] for i in family)
        for k, i in enumerate(family):
            games[i] = eqx.tree_at(lambda g: g.loss, games[i], switched(family_losses, k))
    return games


def _dtype():
    return jnp.dtype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)


def stackable(games: Sequence) -> list[list[int]]:
    """Indices of `games` in groups that `run_grid` runs as one program each: the same
    structure and the same values outside their arrays (gandyn's regularizer weights
    count as arrays: `simulate` traces them), in order of first member."""
    parts = [eqx.partition(_traced_weights(game, _dtype()), eqx.is_array) for game in games]
    groups: list[list[int]] = []
    for i, (dynamic, static) in enumerate(parts):
        for group in groups:
            first_dynamic, first_static = parts[group[0]]
            if (
                jax.tree_util.tree_structure(dynamic)
                == jax.tree_util.tree_structure(first_dynamic)
                and eqx.tree_equal(static, first_static) is True
            ):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def run_grid(
    games: Sequence,
    method,
    points: np.ndarray,
    *,
    h,
    steps: int,
    save_every: int,
    key=None,
    shard: bool = False,
) -> Solution:
    """Simulate each of `games` (one structure, see `stackable`) under `method` from every
    row of `points` (flattened parameters), member `i` with step size `h[i]` (or one `h`
    for all), in one compiled program: `vmap` over members, each over every point.
    `key`: the PRNG key of every member (default `jax.random.key(0)`); `shard`: spread
    the members over the local devices (`_sharding.shard_batch`).

    Returns a `Solution` whose every array has the leading axes `(member, point)`."""
    dtype = _dtype()
    games = [_traced_weights(game, dtype) for game in games]
    if len(stackable(games)) != 1:
        raise ValueError(
            "run_grid: the games differ in more than their arrays; "
            "group them with `stackable` first"
        )
    leaves = [jax.tree_util.tree_leaves(eqx.filter(game, eqx.is_array)) for game in games]
    stacked = [
        np.stack([np.asarray(member[k]) for member in leaves]) for k in range(len(leaves[0]))
    ]
    dynamic, static = eqx.partition(games[0], eqx.is_array)
    stacked = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(dynamic), stacked)
    h = np.array(np.broadcast_to(np.asarray(h, dtype), (len(games),)))
    if shard:
        from ._sharding import shard_batch

        stacked, h = shard_batch((stacked, h))
    else:
        stacked, h = jax.device_put((stacked, h))
    args = (
        eqx.combine(stacked, static),
        method,
        jax.device_put(np.asarray(points, dtype)),
        h,
        jax.random.key(0) if key is None else key,
    )
    kwargs = {"steps": int(steps), "save_every": int(save_every)}

    def structure():
        """The result's structure, untraced: `simulate`'s `Solution` for one member."""
        from ._methods import carrying_game_state

        game = games[0]
        y0 = jax.tree_util.tree_map(lambda x: np.asarray(x)[None], game.init())
        return _solution_structure(
            game, carrying_game_state(game, method), y0, np.asarray(1.0, dtype), args[4], None
        )

    # A program kept from an earlier run is loaded, not traced (`_program_cache`).
    return cached_call(_grid_program, _grid_jitted, args, kwargs, structure)


def _grid_program(games, method, points, h, key, *, steps, save_every):
    """`simulate(games[i], method, points, h=h[i])` for every member `i` (the leading
    axis of every array of `games` and of `h`), under `vmap`."""

    def one(game, h):
        return simulate(
            game,
            method,
            initial_states(game, points),
            h=h,
            steps=steps,
            save_every=save_every,
            key=key,
        )

    return eqx.filter_vmap(one, in_axes=(eqx.if_array(0), 0))(games, h)


_grid_jitted = eqx.filter_jit(_grid_program)


def member(solution: Solution, i: int) -> Solution:
    """Member `i` of a batched `Solution` (sliced on the host: no program per shape)."""

    def pick(x):
        if not eqx.is_array(x):
            return x
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return x[i]  # a key has no host form
        return jax.device_put(np.asarray(x)[i])

    return jax.tree_util.tree_map(pick, solution)


def game_grid(
    games,
    methods,
    points: np.ndarray,
    *,
    h: float,
    steps: int,
    seed: int = 0,
    save_every: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> list[tuple[str, str, object, Solution]]:
    """Every `(label, game)` of `games` under every method (names, or a `{name: method}`
    dict) from the rows of `points`, through `run_grid`: one program per method and
    group of `stackable` games (the losses that see only the logits share one).
    `save_every` defaults to `⌊steps/10⁴⌋` (at least 1). `on_done()` after each
    configuration. Returns `(label, method, game, solution)` rows, games by methods."""
    from . import methods as method_registry

    if not isinstance(methods, dict):
        methods = {name: method_registry.get(name) for name in methods}
    save_every = max(1, steps // 10_000) if save_every is None else save_every
    shared = share_losses([game for _, game in games])
    solutions = {}
    for method_name, method in methods.items():
        for group in stackable(shared):
            batch = run_grid(
                [shared[i] for i in group],
                method,
                points,
                h=h,
                steps=steps,
                save_every=save_every,
                key=jax.random.key(seed),
            )
            for k, i in enumerate(group):
                solutions[i, method_name] = member(batch, k)
                if on_done is not None:
                    on_done()
    return [
        (label, method_name, game, solutions[i, method_name])
        for i, (label, game) in enumerate(games)
        for method_name in methods
    ]


def summarize(solution: Solution) -> list[dict]:
    """One JSON-ready record per member of a (batched) solution: status, the step at
    which it diverged, the final distance to equilibrium, ‖v‖ at the end and the
    contraction rate per step (None where undefined)."""
    status = np.atleast_1d(np.asarray(solution.status))
    diverged_at = np.atleast_1d(np.asarray(solution.diverged_at))
    rate = np.atleast_1d(np.asarray(solution.rate, dtype=float))
    distance = np.atleast_2d(np.asarray(solution.distance, dtype=float))
    speed = np.atleast_2d(np.asarray(solution.speed, dtype=float))
    records = []
    for i, code in enumerate(status):
        alive = np.isfinite(speed[i])
        last = int(np.flatnonzero(alive)[-1]) if alive.any() else 0
        records.append(
            {
                "status": Status(int(code)).label,
                "diverged_at": int(diverged_at[i]) if diverged_at[i] >= 0 else None,
                "final_distance": finite_or_none(distance[i, last]),
                "final_speed": finite_or_none(speed[i, last]),
                "rate": finite_or_none(rate[i]),
            }
        )
    return records

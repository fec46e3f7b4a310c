"""Summaries of solutions, and the Dirac-GAN grid behind `simulate` and `portrait`."""

import numpy as np

from ._io import atomic_directory as atomic_directory, finite_or_none, write_json as write_json
from ._simulate import Solution, Status


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


def initial_states(game, points: np.ndarray):
    """A batch of states from rows of flattened parameters (`ravel_pytree` order)."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(game.init())
    return jax.vmap(unravel)(jnp.asarray(points, dtype=flat.dtype))


def game_grid(games, methods, points: np.ndarray, *, h: float, steps: int,
              seed: int = 0, on_done=None) -> list[tuple[str, str, object, Solution]]:
    """Simulate every `(label, game)` of `games` under every method (names, or a
    `{name: method}` dict) from the rows of `points` (flattened parameters), all rows
    at once under `vmap`. `on_done()` is called after each configuration. Returns
    `(label, method, game, solution)` rows."""
    import jax

    from . import methods as method_registry
    from ._simulate import simulate

    if not isinstance(methods, dict):
        methods = {name: method_registry.get(name) for name in methods}
    switched = _loss_switched([game for _, game in games])
    results = []
    for (label, game), run_game in zip(games, switched):
        y0 = initial_states(game, points)
        for method_name, method in methods.items():
            solution = simulate(run_game, method, y0, h=h, steps=steps,
                                save_every=max(1, steps // 10_000), key=jax.random.key(seed))
            results.append((label, method_name, game, solution))
            if on_done is not None:
                on_done()
    return results


def _loss_switched(games: list) -> list:
    """Games that differ only in their loss (each seeing only the logits) as one game
    whose loss is picked by a traced index (`losses._LossSwitch`): one compiled
    program per method serves every loss, with the numbers of each loss alone (a scalar
    index runs only its branch). Other lists are returned as they are."""
    import equinox as eqx
    import numpy as np

    from .losses import _LossSwitch

    losses = tuple(getattr(game, "loss", None) for game in games)
    if len(games) < 2 or any(loss is None or loss.uses_samples for loss in losses):
        return games
    bare = [eqx.tree_at(lambda g: g.loss, game, None, is_leaf=lambda x: x is None) for game in games]
    if not all(eqx.tree_equal(bare[0], other) is True for other in bare[1:]):
        return games
    return [eqx.tree_at(lambda g: g.loss, game, _LossSwitch(losses, np.asarray(i, np.int32)))
            for i, game in enumerate(games)]

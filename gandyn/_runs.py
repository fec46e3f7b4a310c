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


def dirac_grid(
    losses: list[str],
    methods: list[str],
    inits: np.ndarray,
    *,
    h: float,
    steps: int,
    real_point: float = 0.0,
    bias: bool = False,
    regularizers: tuple = (),
    seed: int = 0,
    on_done=None,
) -> list[tuple[str, str, "DiracGAN", Solution]]:
    """Simulate every loss × method on the Dirac-GAN (with `regularizers`) from the
    rows of `inits` (`(θ, ψ)` or `(θ, ψ, b)`), all initial conditions at once under
    `vmap`. `on_done()` is called after each configuration."""
    import jax
    import jax.numpy as jnp

    from . import losses as loss_registry, methods as method_registry
    from ._games import DiracGAN
    from ._simulate import simulate

    inits = np.asarray(inits, dtype=float)
    results = []
    for loss_name in losses:
        game = DiracGAN(
            loss_registry.get(loss_name), real_point=real_point, bias=bias,
            regularizers=tuple(regularizers),
        )
        columns = [jnp.asarray(c) for c in inits.T]
        y0 = game.state(*columns)
        for method_name in methods:
            solution = simulate(
                game, method_registry.get(method_name), y0, h=h, steps=steps,
                save_every=max(1, steps // 10_000), key=jax.random.key(seed),
            )
            results.append((loss_name, method_name, game, solution))
            if on_done is not None:
                on_done()
    return results

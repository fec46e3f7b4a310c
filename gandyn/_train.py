"""Training a neural game: `simulate` in chunks, with metrics logged between them."""

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._analysis import top_eigenvalues
from ._games import AbstractGame, Players
from ._methods import AbstractStepMethod
from ._metrics import sample_metrics
from ._simulate import simulate


@dataclasses.dataclass
class TrainResult:
    """What a training run logged.

    `history`: one dict per seed and log point (step, seed, losses, ‖v‖, metrics);
    `samples[step]`: generated samples `(seeds, n, dim)` at each log point;
    `checkpoints[step]`: every seed's parameters there (NumPy, for plots);
    `final`: the parameters of every seed (the last good ones for a diverged seed);
    `diverged_at[seed]`: the step of divergence or None; `eigenvalues[step]`: top
    Jacobian eigenvalues of seed 0 at a few checkpoints; `interrupted`: stopped by
    Ctrl-C (everything logged until then is kept); `steps_done`.
    """

    history: list[dict]
    samples: dict[int, np.ndarray]
    checkpoints: dict[int, Players]
    final: Players
    method_state: object
    diverged_at: list[int | None]
    eigenvalues: dict[int, list]
    interrupted: bool
    steps_done: int


def train(
    game: AbstractGame,
    method: AbstractStepMethod,
    *,
    h: float,
    steps: int,
    seeds: int = 1,
    seed: int = 0,
    log_every: int = 500,
    eval_samples: int = 2000,
    eigen_checkpoints: int = 3,
    on_log: Callable[[int, list[dict]], None] | None = None,
) -> TrainResult:
    """Train `seeds` independent initialisations of `game` at once (`vmap`) with
    `method`, step `h`, for `steps` steps, logging every `log_every` steps: the losses,
    `‖v‖` and `sample_metrics` of `eval_samples` generated samples (same latent draws
    each time) against the target. A run whose every seed diverged stops at that point;
    Ctrl-C stops it between two logs and keeps the log. Same `seed`, same numbers."""
    if steps < 1 or log_every < 1:
        raise ValueError(f"steps and log_every must be positive, got {steps} and {log_every}")
    root = jax.random.key(seed)
    init_key, batch_key, eval_key, ref_key = jax.random.split(root, 4)
    y = jax.vmap(game.init)(jax.random.split(init_key, seeds))
    reference = np.asarray(game.target.sample(ref_key, 10_000))
    sample = jax.jit(jax.vmap(lambda g: game.generate(g, eval_key, eval_samples)))
    eigen_steps = set(np.linspace(0, steps, eigen_checkpoints).astype(int).tolist()) if eigen_checkpoints else set()

    history, samples, checkpoints, eigenvalues = [], {}, {}, {}
    diverged_at: list[int | None] = [None] * seeds
    method_state, done, interrupted = None, 0, False

    def log(step, generator_loss, discriminator_loss, speed):
        xs = np.asarray(sample(y.generator))
        samples[step] = xs
        checkpoints[step] = jax.tree_util.tree_map(np.asarray, y)
        rows = []
        for s in range(seeds):
            row = {"step": step, "seed": s, "generator_loss": float(generator_loss[s]),
                   "discriminator_loss": float(discriminator_loss[s]), "speed": float(speed[s])}
            if diverged_at[s] is None:
                row.update(sample_metrics(xs[s], game.target, reference))
            rows.append(row)
        history.extend(rows)
        if step in eigen_steps or (step == done and done >= steps and eigen_steps):
            seed0 = jax.tree_util.tree_map(lambda x: x[0], y)
            if diverged_at[0] is None:
                eig = top_eigenvalues(game, seed0, k=4, which="magnitude", krylov=30,
                                      key=jax.random.fold_in(batch_key, step))
                eigenvalues[step] = [[float(e.real), float(e.imag)] for e in eig]
        if on_log is not None:
            on_log(step, rows)

    generator_loss, discriminator_loss = jax.vmap(lambda p: game.losses(p, batch_key))(y)
    speed = jax.vmap(lambda p: jnp.sqrt(sum(jnp.sum(v**2) for v in
                                            jax.tree_util.tree_leaves(game.field(p, batch_key)))))(y)
    log(0, generator_loss, discriminator_loss, speed)
    try:
        while done < steps:
            n = min(log_every, steps - done)
            sol = simulate(game, method, y, h=h, steps=n, save_every=n, key=batch_key,
                           method_state=method_state, start_step=done)
            y, method_state = sol.final, sol.method_state
            done += n
            for s, d in enumerate(np.asarray(sol.diverged_at)):
                if d >= 0 and diverged_at[s] is None:
                    diverged_at[s] = int(d)
            log(done, np.asarray(sol.generator_loss)[:, -1], np.asarray(sol.discriminator_loss)[:, -1],
                np.asarray(sol.speed)[:, -1])
            if all(d is not None for d in diverged_at):
                break
    except KeyboardInterrupt:
        interrupted = True
    return TrainResult(history, samples, checkpoints, y, method_state, diverged_at, eigenvalues,
                       interrupted, done)


def summary(result: TrainResult) -> list[dict]:
    """The last logged row of every seed, with its divergence step."""
    last = {}
    for row in result.history:
        last[row["seed"]] = row
    return [{**last[s], "diverged_at": result.diverged_at[s]} for s in sorted(last)]


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)

"""A `simulate` run as a folder: every (loss, method) configuration of a `RunSpec` run
from its initial points, written atomically as settings.json, metrics.json,
trajectories.npz and portrait.png (the numbers first: the command line prints its table
while the portrait is drawn; the folder appears whole, or not at all)."""

from pathlib import Path

import numpy as np

from ._spec import RunSpec, center


def write_simulation(spec: RunSpec, run_dir: Path, progress, on_numbers=None) -> list[dict]:
    """Run `spec` and write its run folder `run_dir` (settings.json: the spec); returns
    one record per configuration and start (status, divergence step, final distance,
    rate). `progress(description, done, total)` after each configuration;
    `on_numbers(records)` once the numbers are written, before the portrait is drawn
    (the folder appears once the portrait is in it)."""
    games, methods = spec.games(), spec.methods_built()
    points = spec.points(games[0][1])
    step, steps, seed, reg = spec.step, spec.steps, spec.seed, list(spec.regularizers)

    from ._grid import game_grid, summarize
    from ._io import atomic_directory, write_json
    from .plotting import flatten_states, portrait_grid, run_title

    total, done = len(games) * len(methods), [0]

    def advance():
        done[0] += 1
        progress("simulating", done[0], total)

    progress("simulating", 0, total)
    results = game_grid(games, methods, points, h=step, steps=steps, seed=seed,
                        on_done=advance)
    names = list(games[0][1].coordinates())
    records, arrays = [], {}
    for label, method_name, g, solution in results:
        for point, record in zip(points, summarize(solution)):
            records.append({"loss": label, "method": method_name,
                            "init": [float(x) for x in point], **record})
        prefix = f"{label}__{method_name}__"
        arrays[prefix + "params"] = flatten_states(solution.ys, 2)
        arrays[prefix + "theta"] = np.asarray(solution.ys.generator)
        arrays[prefix + "psi"] = np.asarray(solution.ys.discriminator)
        arrays[prefix + "generator_loss"] = np.asarray(solution.generator_loss)
        arrays[prefix + "discriminator_loss"] = np.asarray(solution.discriminator_loss)
        arrays[prefix + "speed"] = np.asarray(solution.speed)
        arrays[prefix + "distance"] = np.asarray(solution.distance)
        arrays[prefix + "status"] = np.asarray(solution.status)
        arrays[prefix + "diverged_at"] = np.asarray(solution.diverged_at)
    arrays["t"] = np.asarray(results[0][3].ts)
    arrays["step"] = np.asarray(results[0][3].steps)
    arrays["init"] = points

    settings = {"game": spec.game, "losses": [label for label, _ in games],
                "methods": list(methods), "step": step, "steps": steps, "parameters": names,
                **spec.options, "seed": seed, "regularizers": reg, "float64": spec.float64}
    panels = [[(g, sol, f"{loss} · {m}") for loss, m, g, sol in results if loss == name]
              for name, _ in games]
    suptitle = run_title(spec.game, spec.game_options(),
                         losses=[name for name, g in games if hasattr(g, "loss")],
                         regularizers=reg, methods=list(methods), h=step, steps=steps,
                         extra=[f"{len(points)} start{'s' if len(points) != 1 else ''}"])
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "settings.json", {"command": "simulate", **spec.to_dict()})
        write_json(tmp / "metrics.json", {"settings": settings, "results": records})
        with open(tmp / "trajectories.npz", "wb") as f:
            np.savez(f, **arrays)
        if on_numbers is not None:  # the table, while the portrait is drawn
            on_numbers(records)
        import matplotlib.pyplot as plt

        figure = portrait_grid(panels, lim=portrait_extent(points, games[0][1]),
                               suptitle=suptitle)
        figure.savefig(tmp / "portrait.png", dpi=110)
        plt.close(figure)
    return records


def portrait_extent(points: np.ndarray, game) -> float:
    """Half-width of the portrait: 1.5 × the farthest start from the plane's origin."""
    return max(2.5, 1.5 * float(np.max(np.abs(points - center(game)))))

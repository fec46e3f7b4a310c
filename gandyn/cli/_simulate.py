from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    InputError,
    check_int,
    check_positive,
    check_seed,
    check_step,
    fail,
    progress_bar,
    resolve_names,
    run_directory,
    set_precision,
)
from ._games import build_games, game_options, initial_points
from ._options import (
    DEFAULT_METHODS,
    BiasOption,
    CriticOption,
    DimOption,
    Float64Option,
    GameOption,
    InitOption,
    LossOption,
    MethodOption,
    OutOption,
    RandomInitsOption,
    RealPointOption,
    RegOption,
    SeedOption,
    StepOption,
    StepsOption,
)


# The saved trajectories of one command are held in memory at once: refuse a request
# that would need more than this (estimated before anything runs).
MEMORY_BUDGET = 4 * 2**30


def check_memory(points: int, steps: int, configurations: int, parameters: int) -> None:
    """Refuse `--random-inits`/`--steps` combinations whose saved trajectories (up to
    10,001 saves each of the parameters, both losses, ‖v‖ and the distance, float64)
    would not fit in `MEMORY_BUDGET`, naming the estimate."""
    saves = min(steps, 10_000) + 1
    need = points * saves * (parameters + 4) * 8 * configurations
    if need > MEMORY_BUDGET:
        raise InputError(
            f"{points:,} initial points × {saves:,} saves × {configurations} loss/method "
            f"configurations need about {need / 2**30:,.1f} GiB for the trajectories, more than "
            f"the {MEMORY_BUDGET / 2**30:.0f} GiB allowed; use fewer --random-inits, --loss or "
            f"--method")


def prepare(game, loss, method, reg, step, steps, init, random_inits, seed, dim, real_point,
            bias, critic, default_methods=DEFAULT_METHODS):
    """Check a simulation's options and build its games, methods and initial points;
    a one-line `InputError` for anything bad. Shared by `simulate` and `portrait`."""
    from .. import methods as method_registry

    methods = resolve_names(method_registry.registry, method, default_methods)
    check_step(step)
    check_positive("--steps", steps)
    check_seed(seed)
    check_int("--random-inits", random_inits, 0, 10**9)
    games = build_games(game, loss, reg, game_options(dim, real_point, bias, critic))
    n = len(games[0][1].coordinates())
    check_memory(len(init or []) + random_inits, steps, len(games) * len(methods), n)
    points = initial_points(games[0][1], init, random_inits, seed)
    return games, methods, points


def simulate(
    game: GameOption = "dirac",
    loss: LossOption = None,
    method: MethodOption = None,
    step: StepOption = 1.0,
    steps: StepsOption = 2000,
    init: InitOption = None,
    random_inits: RandomInitsOption = 0,
    seed: SeedOption = 0,
    out: OutOption = Path("runs"),
    dim: DimOption = None,
    real_point: RealPointOption = None,
    bias: BiasOption = None,
    critic: CriticOption = None,
    reg: RegOption = None,
    float64: Float64Option = False,
) -> None:
    """Simulate a game (default: the Dirac-GAN, under each loss) with each method; write
    metrics.json, trajectories.npz and portrait.png to a new run folder."""
    try:
        set_precision(float64)
        games, methods, points = prepare(game, loss, method, reg, step, steps, init, random_inits,
                                         seed, dim, real_point, bias, critic)
        run_dir = run_directory(out, "simulate")
    except InputError as e:
        fail(str(e))

    from .._runs import atomic_directory, game_grid, summarize, write_json
    from ..plotting import portrait_grid
    from ..plotting._portrait import flatten_states

    with progress_bar() as bar:
        task = bar.add_task("simulating", total=len(games) * len(methods))
        results = game_grid(games, methods, points, h=step, steps=steps, seed=seed,
                            on_done=lambda: bar.advance(task))

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

    settings = {"game": game, "losses": [label for label, _ in games], "methods": methods,
                "step": step, "steps": steps, "parameters": names,
                **game_options(dim, real_point, bias, critic), "seed": seed,
                "regularizers": list(reg or []), "float64": float64}
    from ..plotting._style import run_title

    panels = [[(g, sol, f"{l} · {m}") for l, m, g, sol in results if l == name]
              for name, _ in games]
    suptitle = run_title(game, game_options(dim, real_point, bias, critic),
                         losses=[name for name, _ in games if hasattr(_, "loss")], regularizers=reg,
                         methods=methods, h=step, steps=steps,
                         extra=[f"{len(points)} start{'s' if len(points) != 1 else ''}"])
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "metrics.json", {"settings": settings, "results": records})
        with open(tmp / "trajectories.npz", "wb") as f:
            np.savez(f, **arrays)
        portrait_grid(panels, lim=portrait_extent(points, games[0][1]), suptitle=suptitle).savefig(
            tmp / "portrait.png", dpi=110)

    _print_table(records, names, games[0][1])
    typer.echo(f"wrote {run_dir}")


def portrait_extent(points: np.ndarray, game) -> float:
    """Half-width of the portrait: 1.5 × the farthest start from the plane's origin."""
    from jax.flatten_util import ravel_pytree

    centre = game.equilibrium()
    centre = np.asarray(ravel_pytree(game.init() if centre is None else centre)[0], dtype=float)
    return max(2.5, 1.5 * float(np.max(np.abs(points - centre))))


def _print_table(records: list[dict], names: list[str], game) -> None:
    first = "loss" if hasattr(game, "loss") else "game"
    table = Table(first, "method", "init (" + ",".join(names) + ")", "status", "diverged at",
                  "final distance", "rate / step", box=None)
    for r in records:
        fmt = lambda x: "—" if x is None else f"{x:.4g}"  # noqa: E731
        table.add_row(r["loss"], r["method"], ",".join(f"{x:g}" for x in r["init"]),
                      r["status"], "—" if r["diverged_at"] is None else str(r["diverged_at"]),
                      fmt(r["final_distance"]), fmt(r["rate"]))
    Console(width=120).print(table)

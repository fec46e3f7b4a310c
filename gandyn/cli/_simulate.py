from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from .._spec import RunSpec, center
from ._common import (
    InputError,
    fail,
    progress_bar,
    run_directory,
    set_precision,
)
from ._games import game_options
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
    OptOption,
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


def prepare(game, loss, method, reg, step, steps, init, random_inits, seed, options,
            default_methods=DEFAULT_METHODS, float64=False) -> RunSpec:
    """Check a simulation's options: its `RunSpec`, a one-line `InputError` for anything
    bad (the memory its trajectories need included). Shared by `simulate` and `portrait`."""
    spec = RunSpec(game=game, options=options, losses=tuple(loss or ()),
                   regularizers=tuple(reg or ()), methods=tuple(method or ()), step=step,
                   steps=steps, inits=tuple(init or ()), random_inits=random_inits, seed=seed,
                   float64=float64, default_methods=tuple(default_methods))
    configurations = max(1, len(spec.losses)) * len(spec.methods)
    n = len(spec.games()[0][1].coordinates())
    check_memory(len(spec.inits) + spec.random_inits, spec.steps, configurations, n)
    return spec


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
    opt: OptOption = None,
    float64: Float64Option = False,
) -> None:
    """Simulate a game (default: the Dirac-GAN, under each loss) with each method; write
    settings.json, metrics.json, trajectories.npz and portrait.png to a new run folder."""
    try:
        set_precision(float64)
        spec = prepare(game, loss, method, reg, step, steps, init, random_inits, seed,
                       game_options(dim, real_point, bias, critic, opt), float64=float64)
        run_dir = run_directory(out, "simulate")
    except InputError as e:
        fail(str(e))
    run_simulation(spec, run_dir)


def run_simulation(spec: RunSpec, run_dir: Path) -> None:
    """Run `spec` and write its run folder `run_dir` (settings.json: the spec)."""
    games, methods = spec.games(), spec.methods_built()
    points = spec.points(games[0][1])
    step, steps, seed, reg = spec.step, spec.steps, spec.seed, list(spec.regularizers)

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

    settings = {"game": spec.game, "losses": [label for label, _ in games],
                "methods": list(methods), "step": step, "steps": steps, "parameters": names,
                **spec.options, "seed": seed, "regularizers": reg, "float64": spec.float64}
    from ..plotting._style import run_title

    panels = [[(g, sol, f"{l} · {m}") for l, m, g, sol in results if l == name]
              for name, _ in games]
    suptitle = run_title(spec.game, spec.game_options(),
                         losses=[name for name, _ in games if hasattr(_, "loss")], regularizers=reg,
                         methods=list(methods), h=step, steps=steps,
                         extra=[f"{len(points)} start{'s' if len(points) != 1 else ''}"])
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "settings.json", {"command": "simulate", **spec.to_dict()})
        write_json(tmp / "metrics.json", {"settings": settings, "results": records})
        with open(tmp / "trajectories.npz", "wb") as f:
            np.savez(f, **arrays)
        portrait_grid(panels, lim=portrait_extent(points, games[0][1]), suptitle=suptitle).savefig(
            tmp / "portrait.png", dpi=110)

    _print_table(records, names, games[0][1])
    typer.echo(f"wrote {run_dir}")


def portrait_extent(points: np.ndarray, game) -> float:
    """Half-width of the portrait: 1.5 × the farthest start from the plane's origin."""
    return max(2.5, 1.5 * float(np.max(np.abs(points - center(game)))))


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

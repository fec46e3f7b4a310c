from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .._simulate_run import portrait_extent as portrait_extent
from .._spec import RunSpec
from ._common import (
    InputError,
    fail,
    numbers_printer,
    progress_bar,
    progress_callback,
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
    """Run `spec` into `run_dir` (`gandyn.run`), then print its table."""
    from .._execute import run

    game = spec.games()[0][1]
    with progress_bar() as bar:
        run(spec, run_dir, progress=progress_callback(bar), on_numbers=numbers_printer(
            bar, lambda outcome: _print_table(outcome.records, list(game.coordinates()), game)))
    typer.echo(f"wrote {run_dir}")


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

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    InputError,
    check_int,
    check_positive,
    check_real_point,
    check_seed,
    describe_regularizers,
    parse_regularizers,
    check_step,
    fail,
    parse_init,
    progress_bar,
    resolve_names,
    run_directory,
    set_precision,
)


DEFAULT_LOSSES = ["sgan", "rsgan", "wgan"]
DEFAULT_METHODS = ["simgd", "altgd", "rk4"]

LossOption = Annotated[
    list[str] | None,
    typer.Option("--loss", "-l", help="Loss (repeatable); `gandyn losses` lists them. "
                 "Default: sgan, rsgan, wgan."),
]
MethodOption = Annotated[
    list[str] | None,
    typer.Option("--method", "-m", help="Method (repeatable): simgd, altgd, extragradient, "
                 "optimistic, euler, heun, midpoint, rk4, rk4-playerwise, implicit-euler, tsit5, dopri5, sgd, "
                 "momentum, rmsprop, adam, adam-alt. Default: simgd, altgd, rk4."),
]
StepOption = Annotated[float, typer.Option("--step", "-h", help="Step size h (learning rate).")]
StepsOption = Annotated[int, typer.Option("--steps", "-n", help="Number of steps.")]
InitOption = Annotated[
    list[str] | None,
    typer.Option("--init", help="Initial point θ,ψ (θ,ψ,b with --bias); repeatable. "
                 "Default: 1,1."),
]
RandomInitsOption = Annotated[
    int, typer.Option("--random-inits", help="Add N initial points uniform in [-2, 2]².")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed for random inits and minibatches.")]
RealPointOption = Annotated[
    float, typer.Option("--real-point", help="Position c of the real data's point mass.")
]
BiasOption = Annotated[bool, typer.Option("--bias", help="Give the critic a bias: C(x) = wx + b.")]
Float64Option = Annotated[bool, typer.Option("--float64", help="Compute in double precision.")]
RegOption = Annotated[
    list[str] | None,
    typer.Option("--reg", "-r", help="Regularizer NAME=WEIGHT (repeatable): r1, r2, gp, "
                 "consensus, sga, noise, clip, l2, odegan. E.g. --reg r1=1 --reg consensus=0.5."),
]


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


def initial_points(init: list[str] | None, random_inits: int, seed: int, bias: bool) -> np.ndarray:
    check_int("--random-inits", random_inits, 0, 10**9)
    points = [parse_init(text, bias) for text in (init or [])]
    width = max([len(p) for p in points] + [2])
    points = [p + (0.0,) * (width - len(p)) for p in points]
    if random_inits:
        rng = np.random.default_rng(seed)
        random = rng.uniform(-2.0, 2.0, size=(random_inits, 2))
        points += [tuple(row) + (0.0,) * (width - 2) for row in random]
    if not points:
        points = [(1.0, 1.0) + (0.0,) * (width - 2)]
    return np.asarray(points)


def simulate(
    loss: LossOption = None,
    method: MethodOption = None,
    step: StepOption = 1.0,
    steps: StepsOption = 2000,
    init: InitOption = None,
    random_inits: RandomInitsOption = 0,
    seed: SeedOption = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run folders.")] = Path("runs"),
    real_point: RealPointOption = 0.0,
    bias: BiasOption = False,
    reg: RegOption = None,
    float64: Float64Option = False,
) -> None:
    """Simulate the Dirac-GAN under each loss × method; write metrics.json,
    trajectories.npz and portrait.png to a new run folder."""
    from .. import losses as loss_registry, methods as method_registry

    try:
        losses = resolve_names("loss", loss, DEFAULT_LOSSES, loss_registry.names())
        methods = resolve_names("method", method, DEFAULT_METHODS, method_registry.names())
        check_step(step)
        check_positive("--steps", steps)
        check_seed(seed)
        check_real_point(real_point)
        check_memory(len(init or []) + random_inits, steps, len(losses) * len(methods), 3 if bias else 2)
        inits = initial_points(init, random_inits, seed, bias)
        regs = parse_regularizers(reg)
        run_dir = run_directory(out, "simulate")
    except InputError as e:
        fail(str(e))
    set_precision(float64)

    from .._runs import atomic_directory, dirac_grid, summarize, write_json
    from ..plotting import portrait_grid

    with progress_bar() as bar:
        task = bar.add_task("simulating", total=len(losses) * len(methods))
        results = dirac_grid(
            losses, methods, inits, h=step, steps=steps, real_point=real_point, bias=bias,
            regularizers=regs, seed=seed, on_done=lambda: bar.advance(task),
        )

    records, arrays = [], {}
    for loss_name, method_name, _, solution in results:
        for point, record in zip(inits, summarize(solution)):
            records.append({"loss": loss_name, "method": method_name,
                            "init": [float(x) for x in point], **record})
        prefix = f"{loss_name}__{method_name}__"
        arrays[prefix + "theta"] = np.asarray(solution.ys.generator)
        arrays[prefix + "psi"] = np.asarray(solution.ys.discriminator)
        arrays[prefix + "generator_loss"] = np.asarray(solution.generator_loss)
        arrays[prefix + "discriminator_loss"] = np.asarray(solution.discriminator_loss)
        arrays[prefix + "speed"] = np.asarray(solution.speed)
        arrays[prefix + "status"] = np.asarray(solution.status)
        arrays[prefix + "diverged_at"] = np.asarray(solution.diverged_at)
    arrays["t"] = np.asarray(results[0][3].ts)
    arrays["step"] = np.asarray(results[0][3].steps)
    arrays["init"] = inits

    settings = {"game": "dirac", "losses": losses, "methods": methods, "step": step,
                "steps": steps, "real_point": real_point, "bias": bias, "seed": seed,
                "regularizers": list(reg or []),
                "float64": float64}
    lim = max(2.5, 1.5 * float(np.max(np.abs(inits[:, :2] - [real_point, 0.0]))))
    suffix = f" · {describe_regularizers(reg)}" if reg else ""
    panels = [[(game, sol, f"{l} · {m} · h={step:g}{suffix}") for l, m, game, sol in results
               if l == loss_name] for loss_name in losses]
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "metrics.json", {"settings": settings, "results": records})
        np.savez(tmp / "trajectories.npz", **arrays)
        portrait_grid(panels, lim=lim).savefig(tmp / "portrait.png", dpi=110)

    _print_table(records)
    typer.echo(f"wrote {run_dir}")


def _print_table(records: list[dict]) -> None:
    table = Table("loss", "method", "init", "status", "diverged at", "final distance",
                  "rate / step", box=None)
    for r in records:
        fmt = lambda x: "—" if x is None else f"{x:.4g}"  # noqa: E731
        table.add_row(r["loss"], r["method"], ",".join(f"{x:g}" for x in r["init"]),
                      r["status"], "—" if r["diverged_at"] is None else str(r["diverged_at"]),
                      fmt(r["final_distance"]), fmt(r["rate"]))
    Console(width=120).print(table)

"""`gandyn bifurcation`: where the equilibrium loses stability along a parameter, and what
training does instead."""

import math
from pathlib import Path
from typing import Annotated

import typer

from .._options import for_owner
from .._spec import check_options
from .._spec import game_options as declared_game_options
from ..games import takes_loss
from ._common import (
    InputError,
    check_int,
    check_step,
    fail,
    interruptible,
    resolve_names,
    run_directory,
    set_precision,
)
from ._games import build_games, game_options
from ._options import (
    BiasOption,
    CriticOption,
    DimOption,
    Float64Option,
    GameOption,
    LossOption,
    MethodOption,
    OptOption,
    OutOption,
    RealPointOption,
    RegOption,
)

MAX_POINTS = 2000
MAX_RECORD = 100_000


def bifurcation(
    param: Annotated[str, typer.Option("--param", "-p", help="The parameter: h (the step size), a "
                                       "regularizer's name (its weight, e.g. r1; its other "
                                       "options by --opt NAME.OPTION=VALUE), or a numeric "
                                       "field of the game or method (e.g. real_point).")],
    start: Annotated[float, typer.Option("--from", help="First value of the parameter.")],
    stop: Annotated[float, typer.Option("--to", help="Last value of the parameter.")],
    points: Annotated[int, typer.Option("--points",
                                        help="Number of values (evenly spaced).")] = 41,
    game: GameOption = "dirac",
    loss: LossOption = None,
    method: MethodOption = None,
    reg: RegOption = None,
    step: Annotated[float | None, typer.Option(
        "--step", "-s", help="Step size h when the parameter is not h (default 1).")] = None,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Transient steps simulated before "
                                       "the attractor is recorded.")] = 5000,
    record: Annotated[int, typer.Option("--record", help="Steps recorded after the transient "
                                        "(amplitude, period, orbit diagram).")] = 1000,
    dim: DimOption = None,
    real_point: RealPointOption = None,
    bias: BiasOption = None,
    critic: CriticOption = None,
    opt: OptOption = None,
    float64: Float64Option = False,
    out: OutOption = Path("runs"),
) -> None:
    """Bifurcation diagram of one game (default: the Dirac-GAN, nsgan) under one method
    (default: simgd) along a parameter: the equilibrium followed by continuation, its
    multipliers, the bifurcations located and named, the attractor simulated at each
    value; writes bifurcation.json and bifurcation.png."""
    from .. import methods as method_registry
    from .._bifurcation import check_step_method

    try:
        set_precision(float64)
        check_int("--points", points, 2, MAX_POINTS)
        check_int("--steps", steps, 1, 10**8)
        check_int("--record", record, 16, MAX_RECORD)
        if not (math.isfinite(start) and math.isfinite(stop)) or start == stop:
            raise InputError(f"--from and --to must be two different finite numbers, got "
                             f"{start} and {stop}")
        if len(loss or []) > 1 or len(method or []) > 1:
            raise InputError("bifurcation takes one --loss and one --method")
        names = resolve_names(method_registry.registry, method, ["simgd"])
        given = game_options(dim, real_point, bias, critic, opt)
        losses = loss or (["nsgan"] if ":" in game or takes_loss(game) else [])
        regs = _with_parameter(list(reg or []), param, bool(losses))
        checked = check_options(game, given, names, losses, regs)
        options = for_owner(checked, "game", declared_game_options(game))
        method_options = {names[0]: for_owner(checked, names[0],
                                               method_registry.registry.options(names[0]))}
        check_step_method(names[0], method_registry.get(names[0]))
        games = build_games(game, loss, regs, options, default_losses=["nsgan"], extra=checked)
        is_step = param.strip().lower() == "h"
        if is_step:
            if step is not None:
                raise InputError("--param h varies the step size: give no --step")
            if min(start, stop) <= 0:
                raise InputError(f"step sizes must be positive: --from {start:g} --to {stop:g}")
            check_step(max(start, stop), "--to" if stop > start else "--from")
        else:
            check_step(1.0 if step is None else step)
        run_dir = run_directory(out, "bifurcation")
    except (InputError, ValueError) as e:
        fail(str(e))

    import numpy as np

    from .. import continuation
    from .._analysis import _breakdown_named
    from .._io import atomic_directory, write_json
    from ..plotting import bifurcation_diagram, run_title

    label, the_game = games[0]
    the_method = method_registry.get(names[0], **method_options[names[0]])
    values = np.linspace(start, stop, points)
    h = None if is_step else (1.0 if step is None else step)
    def diagram():
        with _breakdown_named(names[0], the_game):  # a solve that breaks down: one line
            return continuation(the_game, the_method, param, values, h=h, transient=steps,
                                record=record)

    try:
        result = interruptible(diagram)
    except ValueError as e:
        fail(str(e).splitlines()[0])
    settings = {"game": game, "loss": label if game != label else None, "method": names[0],
                "regularizers": list(reg or []), "parameter": result.parameter,
                "from": start, "to": stop, "points": points, "step": h, "steps": steps,
                "record": record, **checked, "float64": float64}
    title = run_title(
        game, checked,
        losses=[label] if game != label else (), regularizers=list(reg or []),
        methods=[names[0]], h=h,
        extra=(f"{result.parameter} from {start:g} to {stop:g} ({points} values)",
               f"{steps:,} transient + {record:,} recorded steps",
               "float64" if float64 else "float32"))
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "bifurcation.json", {"settings": settings, **result.to_json()})
        fig = bifurcation_diagram(result, title=title)
        fig.savefig(tmp / "bifurcation.png", dpi=110)
    for b in result.bifurcations:
        detail = [part for part in (
            b.criticality,
            None if b.coefficient is None else f"normal-form coefficient {b.coefficient:.3g}",
            None if b.simulated is None else f"runs: {b.simulated}") if part]
        typer.echo(f"{b.kind} at {result.parameter} = {b.value:.10g}"
                   + (f" ({'; '.join(detail)})" if detail else ""))
    if not result.bifurcations:
        typer.echo(f"no bifurcation of the branch between {start:g} and {stop:g}")
    counts = {}
    for s in result.attractor.status:
        counts[s] = counts.get(s, 0) + 1
    typer.echo("attractors: " + ", ".join(f"{k} × {v}" for k, v in counts.items()))
    typer.echo(f"wrote {run_dir}")


def _with_parameter(regs: list[str], param: str, gan: bool) -> list[str]:
    """`regs` with the regularizer `--param` names (its weight, varied) added at weight 0
    if absent, so that the one option table checks and hands it its options
    (`--opt lecam.decay=0.9`), as `--reg` would."""
    from .. import regularizers

    name = param.strip().lower()
    if not gan or name not in regularizers.registry:
        return regs
    if any(r.partition("=")[0].strip().lower() == name for r in regs):
        return regs
    return [*regs, f"{name}=0"]

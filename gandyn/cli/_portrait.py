from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    InputError,
    check_positive,
    check_real_point,
    check_seed,
    check_step,
    check_writable,
    describe_regularizers,
    fail,
    parse_regularizers,
    progress_bar,
    resolve_names,
    set_precision,
)
from ._simulate import (
    BiasOption,
    Float64Option,
    InitOption,
    LossOption,
    RegOption,
    MethodOption,
    RandomInitsOption,
    RealPointOption,
    SeedOption,
    StepOption,
    StepsOption,
    check_memory,
    initial_points,
)


def portrait(
    loss: LossOption = None,
    method: MethodOption = None,
    step: StepOption = 1.0,
    steps: StepsOption = 2000,
    init: InitOption = None,
    random_inits: RandomInitsOption = 0,
    seed: SeedOption = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")] = Path(
        "portrait.png"
    ),
    real_point: RealPointOption = 0.0,
    bias: BiasOption = False,
    reg: RegOption = None,
    float64: Float64Option = False,
) -> None:
    """Draw the Dirac-GAN's vector field with each method's trajectories: one panel per
    loss × method (rows: losses, columns: methods)."""
    from .. import losses as loss_registry, methods as method_registry

    try:
        losses = resolve_names("loss", loss, ["sgan"], loss_registry.names())
        methods = resolve_names("method", method, ["simgd", "altgd", "rk4"],
                                method_registry.names())
        check_step(step)
        check_positive("--steps", steps)
        check_seed(seed)
        check_real_point(real_point)
        check_memory(len(init or []) + random_inits, steps, len(losses) * len(methods), 3 if bias else 2)
        inits = initial_points(init, random_inits, seed, bias)
        regs = parse_regularizers(reg)
        if out.is_dir():
            raise InputError(f"--out {str(out)!r} is a folder; give a file name ending in .png, "
                             f".pdf or .svg")
        if out.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise InputError(f"--out {str(out)!r} must end in .png, .pdf or .svg")
        if not out.parent.is_dir():
            raise InputError(f"cannot write to --out {str(out)!r}: no folder {str(out.parent)!r}")
        check_writable(out.parent)
    except InputError as e:
        fail(str(e))
    set_precision(float64)

    import numpy as np

    from .._io import atomic_figure
    from .._runs import dirac_grid
    from ..plotting import portrait_grid

    with progress_bar() as bar:
        task = bar.add_task("simulating", total=len(losses) * len(methods))
        results = dirac_grid(losses, methods, inits, h=step, steps=steps, real_point=real_point,
                             bias=bias, regularizers=regs, seed=seed,
                             on_done=lambda: bar.advance(task))
    lim = max(2.5, 1.5 * float(np.max(np.abs(inits[:, :2] - [real_point, 0.0]))))
    suffix = f" · {describe_regularizers(reg)}" if reg else ""
    panels = [[(g, s, f"{l} · {m} · h={step:g}{suffix}") for l, m, g, s in results if l == name]
              for name in losses]
    figure = portrait_grid(panels, lim=lim)
    figure.set_dpi(120)
    try:
        atomic_figure(out, figure)
    except OSError as e:
        fail(f"cannot write --out {str(out)!r}: {e.strerror or e}")
    typer.echo(f"wrote {out}")

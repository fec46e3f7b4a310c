from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    InputError,
    check_real_point,
    check_step,
    fail,
    parse_init,
    parse_regularizers,
    resolve_names,
    run_directory,
    set_precision,
)
from ._simulate import BiasOption, LossOption, MethodOption, RealPointOption, RegOption


DEFAULT_METHODS = ["simgd", "altgd", "heun", "rk4", "extragradient", "optimistic",
                   "implicit-euler"]


def eigen(
    loss: LossOption = None,
    method: MethodOption = None,
    step: Annotated[float, typer.Option("--step", "-h", help="Step size for the verdicts.")] = 0.5,
    at: Annotated[str | None, typer.Option("--at", help="Point θ,ψ (θ,ψ,b with --bias); "
                                           "default: the equilibrium.")] = None,
    reg: RegOption = None,
    real_point: RealPointOption = 0.0,
    bias: BiasOption = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run folders.")] = Path("runs"),
) -> None:
    """Spectrum of the Dirac-GAN's Jacobian and, per method, growth per step, verdict
    and largest stable step; writes eigen.json and stability.png."""
    from .. import losses as loss_registry, methods as method_registry

    try:
        losses = resolve_names("loss", loss, ["sgan", "wgan"], loss_registry.names())
        methods = resolve_names("method", method, DEFAULT_METHODS, method_registry.names())
        check_step(step)
        check_real_point(real_point)
        point = parse_init(at, bias, "--at") if at is not None else None
        regs = parse_regularizers(reg)
        run_dir = run_directory(out, "eigen")
        stateful = [m for m in methods if m in ("adam", "adam-alt", "rmsprop", "momentum", "tsit5", "dopri5")]
        if stateful:
            raise InputError(f"--method {stateful[0]!r} has no local linear analysis; choose from: "
                             + ", ".join(n for n in method_registry.names() if n not in
                                         ("adam", "adam-alt", "rmsprop", "momentum", "tsit5", "dopri5")))
    except InputError as e:
        fail(str(e))
    set_precision(True)

    import numpy as np

    from .. import DiracGAN, stability_function, step_matrix
    from .._analysis import stability_report
    from .._runs import atomic_directory, write_json
    from ..plotting import stability_grid

    console = Console(width=110)
    reports, panels = {}, []
    method_objects = {m: method_registry.get(m) for m in methods}
    for loss_name in losses:
        game = DiracGAN(loss_registry.get(loss_name), real_point=real_point, bias=bias,
                        regularizers=regs)
        y = None if point is None else game.state(*point)
        report = stability_report(game, method_objects, step, y)
        reports[loss_name] = report
        eig = np.array([complex(*e) for e in report["eigenvalues"]])
        console.print(f"[bold]{loss_name}[/bold]{' + ' + ' + '.join(reg) if reg else ''}: "
                      "eigenvalues of J at " + ("the equilibrium" if point is None else at)
                      + ": " + ", ".join(f"{e.real:+.4g}{e.imag:+.4g}i" for e in eig))
        table = Table("method", f"growth/step at h={step:g}", "verdict", "largest stable h",
                      box=None)
        for name, row in report["methods"].items():
            largest = ("any" if row["unconditionally_stable"] else
                       "none" if not row["largest_stable_step"] else f"{row['largest_stable_step']:.6g}")
            table.add_row(name, f"{row['growth_per_step']:.6f}", row["verdict"], largest)
        console.print(table)
        row_panels = []
        for name, m in method_objects.items():
            title = f"{loss_name} · {name} · h={step:g}"
            try:
                stability_function(m)
            except ValueError:  # no scalar stability function: the step map's multipliers
                at_point = game.equilibrium() if y is None else y
                multipliers = np.linalg.eigvals(np.asarray(step_matrix(game, m, at_point, step)))
                row_panels.append((None, multipliers, title + " (step map)"))
                continue
            row_panels.append((m, step * eig, title))
        panels.append(row_panels)
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "eigen.json", {"settings": {"losses": losses, "methods": methods,
                                                     "step": step, "regularizers": list(reg or []),
                                                     "real_point": real_point, "bias": bias,
                                                     "at": at}, "results": reports})
        scaled = [np.abs(p[1]) for row in panels for p in row if p[0] is not None]
        extent = max([3.5] + [1.2 * float(np.max(z)) for z in scaled if z.size])
        stability_grid(panels, extent=extent).savefig(tmp / "stability.png", dpi=110)
    typer.echo(f"wrote {run_dir}")

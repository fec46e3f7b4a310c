from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .._spec import RunSpec, parse_point
from ._common import InputError, fail, run_directory, set_precision
from ._games import game_options
from ._options import (
    BiasOption,
    CriticOption,
    DimOption,
    GameOption,
    LossOption,
    MethodOption,
    OptOption,
    OutOption,
    RealPointOption,
    RegOption,
)

DEFAULT_LOSSES = ["sgan", "wgan"]
DEFAULT_METHODS = ["simgd", "altgd", "heun", "rk4", "extragradient", "optimistic",
                   "implicit-euler"]


def eigen(
    game: GameOption = "dirac",
    loss: LossOption = None,
    method: MethodOption = None,
    step: Annotated[float, typer.Option("--step", "-s", help="Step size for the verdicts.")] = 0.5,
    at: Annotated[str | None, typer.Option("--at", help="Point: the game's parameters, "
                                           "comma-separated (default: the equilibrium).")] = None,
    reg: RegOption = None,
    dim: DimOption = None,
    real_point: RealPointOption = None,
    bias: BiasOption = None,
    critic: CriticOption = None,
    opt: OptOption = None,
    out: OutOption = Path("runs"),
) -> None:
    """Spectrum of a game's Jacobian (default: the Dirac-GAN, sgan and wgan) and, per
    method (default: simgd, altgd, heun, rk4, extragradient, optimistic,
    implicit-euler), growth per step, verdict and largest stable step, each from the
    method's own stability function or step matrix; writes eigen.json and
    stability.png."""
    from .. import methods as method_registry

    try:
        set_precision(True)
        spec = RunSpec(game=game, options=game_options(dim, real_point, bias, critic, opt),
                       losses=tuple(loss or ()), regularizers=tuple(reg or ()),
                       methods=tuple(method or ()), step=step, default_losses=DEFAULT_LOSSES,
                       default_methods=DEFAULT_METHODS)
        methods, objects = list(spec.methods), spec.methods_built()
        without = [m for m, o in objects.items() if not o.linear_analysis()]
        if without:
            valid = [n for n in method_registry.names() if method_registry.get(n).linear_analysis()]
            raise InputError(f"--method {without[0]!r} has no local linear analysis; choose from: "
                             + ", ".join(valid))
        games = spec.games()
        point = parse_point(at, games[0][1], "--at") if at is not None else None
        if point is None and games[0][1].equilibrium() is None:
            raise InputError(f"--game {game} knows no equilibrium in closed form: give a point --at")
        run_dir = run_directory(out, "eigen")
    except InputError as e:
        fail(str(e))

    import numpy as np

    from .._analysis import stability_report
    from .._grid import initial_states
    from .._io import atomic_directory, write_json
    from ..plotting import stability_grid

    console = Console(width=110)
    reports, panels = {}, []
    for label, g in games:
        y = None if point is None else _unbatch(initial_states(g, point[None]))
        report = stability_report(g, objects, step, y)
        reports[label] = report
        eig = np.array([complex(*e) for e in report["eigenvalues"]])
        console.print(f"[bold]{label}[/bold]{' + ' + ' + '.join(reg) if reg else ''}: "
                      "eigenvalues of J at " + ("the equilibrium" if point is None else at)
                      + ": " + ", ".join(_complex(e, eig) for e in eig))
        table = Table("method", f"growth/step at h={step:g}", "verdict", "largest stable h",
                      box=None)
        for name, row in report["methods"].items():
            largest = ("any" if row["unconditionally_stable"] else
                       "none" if not row["largest_stable_step"] else f"{row['largest_stable_step']:.6g}")
            table.add_row(name, f"{row['growth_per_step']:.6f}", row["verdict"], largest)
        console.print(table)
        for name, row in report["methods"].items():
            if "flow_eigenvalues" in row:
                flow = np.array([complex(*e) for e in row["flow_eigenvalues"]])
                console.print(f"{name}: eigenvalues of its modified field's Jacobian at "
                              f"h={step:g}: " + ", ".join(_complex(e, flow) for e in flow)
                              + f" (growth per step exp(h·max Re λ̃) = "
                              f"{np.exp(step * flow.real.max()):.6f})")
        shown = label + (" + " + " + ".join(reg) if reg else "")
        panels.append([_panel(g, m, name, y, step, eig, shown, report["methods"][name])
                       for name, m in objects.items()])
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "eigen.json", {"settings": {
            "game": game, "losses": [label for label, _ in games], "methods": methods,
            "step": step, "regularizers": list(reg or []),
            **spec.options, "at": at,
            "parameters": list(games[0][1].coordinates())}, "results": reports})
        scaled = [np.abs(p[1]) for row in panels for p in row if p[0] is not None]
        extent = max([3.5] + [1.2 * float(np.max(z)) for z in scaled if z.size])
        from ..plotting import run_title

        title = run_title(game, spec.game_options(),
                          losses=[label for label, g in games if hasattr(g, "loss")],
                          regularizers=reg, methods=methods, h=step,
                          extra=["at the equilibrium" if point is None else f"at ({at})"])
        stability_grid(panels, extent=extent, suptitle=title).savefig(tmp / "stability.png",
                                                                      dpi=110)
    typer.echo(f"wrote {run_dir}")


def _unbatch(tree):
    import jax

    return jax.tree_util.tree_map(lambda x: x[0], tree)


def _complex(z: complex, spectrum, digits: int = 4) -> str:
    """`z` to `digits` significant figures, a part below the spectrum's rounding
    noise (1e-12 of its largest modulus) shown as 0 (a zero eigenvalue computed as
    4.4e-16 prints as +0)."""
    import numpy as np

    noise = 1e-12 * max(1.0, float(np.max(np.abs(spectrum))))
    re = 0.0 if abs(z.real) < noise else z.real
    im = 0.0 if abs(z.imag) < noise else z.imag
    return f"{re:+.{digits}g}{im:+.{digits}g}i"


def _panel(game, method, name, y, step, eig, label, row):
    """A method's stability region with `hλ`, or, for a method without a scalar
    stability function, its step matrix's eigenvalues against the unit circle; with
    the verdict, growth per step and largest stable step to write in the corner."""
    import numpy as np

    from .. import step_matrix

    largest = ("any h" if row["unconditionally_stable"] else
               "none" if not row["largest_stable_step"] else f"{row['largest_stable_step']:.4g}")
    outcome = (f"{row['verdict']} at h = {step:g}\ngrowth {row['growth_per_step']:.6g}/step\n"
               f"largest stable h: {largest}")
    title = f"{label} · {name}"
    if method.stability_function() is not None:
        return (method, step * eig, title + " (hλ plane)", outcome)
    at_point = game.equilibrium() if y is None else y
    multipliers = np.linalg.eigvals(np.asarray(step_matrix(game, method, at_point, step)))
    return (None, multipliers, title + " (step map μ)", outcome)

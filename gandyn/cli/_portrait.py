import math
from pathlib import Path
from typing import Annotated

import typer

from .._simulate_run import portrait_extent
from .._spec import parse_plane
from ._common import InputError, check_writable, fail, progress_bar, set_precision
from ._games import game_options
from ._options import (
    BiasOption,
    CriticOption,
    DimOption,
    Float64Option,
    GameOption,
    InitOption,
    LossOption,
    MethodOption,
    OptOption,
    RandomInitsOption,
    RealPointOption,
    RegOption,
    SeedOption,
    StepOption,
    StepsOption,
)
from ._simulate import prepare


def portrait(
    game: GameOption = "dirac",
    loss: LossOption = None,
    method: MethodOption = None,
    step: StepOption = 1.0,
    steps: StepsOption = 2000,
    init: InitOption = None,
    random_inits: RandomInitsOption = 0,
    seed: SeedOption = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write portrait.png into "
                                      "(or a file name ending in .png, .pdf or .svg).")] = Path("."),
    dim: DimOption = None,
    real_point: RealPointOption = None,
    bias: BiasOption = None,
    critic: CriticOption = None,
    plane: Annotated[str | None, typer.Option("--plane", help="The plane to draw: two "
                     "parameters by name or index, e.g. θ1,ψ1; 'eigen' (the rotation plane of "
                     "the Jacobian's leading eigenvectors at the equilibrium); or 'players' "
                     "(each player's field at the default start) (default: the game's two "
                     "parameters, or for more 'eigen').")] = None,
    lim: Annotated[float | None, typer.Option("--lim", help="Half-width of each panel around "
                   "the plane's origin (default: 1.5 × the farthest start, at least 2.5).")] = None,
    reg: RegOption = None,
    opt: OptOption = None,
    float64: Float64Option = False,
) -> None:
    """Draw a game's vector field with each method's trajectories: one panel per loss ×
    method (rows: losses, columns: methods). A game of more than two parameters is
    drawn in a 2-D slice through its equilibrium, trajectories projected into it."""
    try:
        set_precision(float64)
        spec = prepare(game, loss, method, reg, step, steps, init, random_inits, seed,
                       game_options(dim, real_point, bias, critic, opt), float64=float64)
        games, methods = spec.games(), spec.methods_built()
        points = spec.points(games[0][1])
        plane = None if plane is None else parse_plane(plane, games[0][1].coordinates())
        target = out / "portrait.png" if out.suffix.lower() not in (".png", ".pdf", ".svg") else out
        if out.suffix and out.suffix.lower() not in (".png", ".pdf", ".svg") and not out.is_dir():
            raise InputError(f"--out {str(out)!r} must end in .png, .pdf or .svg (or be a folder)")
        if len(target.name.encode()) > 255:  # before `is_dir`, which would raise
            from .._io import check_writable_file

            check_writable_file(target)
        if target.is_dir():
            raise InputError(f"--out {str(target)!r} is a folder; give a file name ending in "
                             f".png, .pdf or .svg")
        check_writable(target.parent)
        if lim is not None and not (math.isfinite(lim) and 0 < lim <= 1e6):
            raise InputError(f"--lim must be a positive finite number of at most 1e6, got {lim}")
        chosen = None
        if plane is not None:
            from .._planes import drawing_plane

            try:
                chosen = drawing_plane(games[0][1], plane)
            except ValueError as e:  # e.g. a players' plane with a zero field at the start
                raise InputError(str(e)) from None
    except InputError as e:
        fail(str(e))

    from .._io import atomic_figure, make_parents
    from .._grid import game_grid
    from ..plotting import portrait_grid

    with progress_bar() as bar:
        task = bar.add_task("simulating", total=len(games) * len(methods))
        results = game_grid(games, methods, points, h=step, steps=steps, seed=seed,
                            on_done=lambda: bar.advance(task))
    from ..plotting import run_title

    panels = [[(g, s, f"{l} · {m}") for l, m, g, s in results if l == name]
              for name, _ in games]
    suptitle = run_title(game, spec.game_options(),
                         losses=[name for name, _ in games if hasattr(_, "loss")], regularizers=reg,
                         methods=methods, h=step, steps=steps,
                         extra=[f"{len(points)} start{'s' if len(points) != 1 else ''}"])
    extent = portrait_extent(points, games[0][1]) if lim is None else lim
    figure = portrait_grid(panels, lim=extent, plane=chosen, suptitle=suptitle)
    figure.set_dpi(110)
    try:
        make_parents(target)
        atomic_figure(target, figure)
    except OSError as e:
        fail(f"cannot write --out {str(target)!r}: {e.strerror or e}")
    typer.echo(f"wrote {target}")

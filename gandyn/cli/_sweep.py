import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .._io import remove_empty
from ._common import InputError, fail, parse_options, progress_bar, run_directory, set_precision
from ._options import OptOption


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not (folder.exists() or folder.is_symlink()) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def sweep(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML file with a "
                                                "\\[sweep] table; command-line options override it.")] = None,
    game: Annotated[str | None, typer.Option("--game", "-g", help="GAN game (default: dirac; any "
                                             "registered game that takes a loss).")] = None,
    dim: Annotated[int | None, typer.Option("--dim", help="The game's dimension (default: 1).")] = None,
    loss: Annotated[list[str] | None, typer.Option("--loss", "-l", help="Loss (repeatable).")] = None,
    reg: Annotated[list[str] | None, typer.Option("--reg", "-r", help="Regularizer setting "
                                                  "NAME=WEIGHT or 'none' (repeatable).")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", "-m", help="Method (repeatable).")] = None,
    step: Annotated[list[float] | None, typer.Option("--step", "-s", help="Step size (repeatable).")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", help="Number of seeds (random inits).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", "-n", help="Steps per run (at most 10^8).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Directory for run folders "
                                             "[default: runs].", show_default=False)] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the sweep in this "
                                                "run folder, skipping finished rows; its settings "
                                                "come from its spec.json.")] = None,
    opt: OptOption = None,
    plot: Annotated[bool, typer.Option("--plot", help="Draw the stability atlas (atlas.png).")] = False,
    shard: Annotated[bool, typer.Option("--shard", help="Split each group over all local devices.")] = False,
    float64: Annotated[bool, typer.Option("--float64", help="Compute in double precision.")] = False,
) -> None:
    """Run a grid of loss × regularizer × method × step size × seed on a GAN game;
    write results.csv / results.json row by row, print the ranking.

    At most 100,000 runs per sweep and 10^8 steps per run; every grid value once."""
    from .._runs import write_json
    from .._sweep import SweepSpec, check_run_folder

    created: list[Path] = []  # folders this command made, removed again on an early error
    run_dir = None
    try:
        if resume is not None:
            spec_file = resume / "spec.json"
            given = [flag for flag, value in (
                ("--config", config), ("--game", game), ("--dim", dim), ("--loss", loss), ("--reg", reg), ("--method", method),
                ("--step", step), ("--seeds", seeds), ("--steps", steps), ("--out", out),
                ("--opt", opt),
            ) if value is not None and value != []]
            if given:
                raise InputError(f"--resume takes its settings from {str(spec_file)!r}; "
                                 f"do not give {', '.join(given)}")
            if not resume.exists():
                raise InputError(f"--resume {str(resume)!r} does not exist")
            if not resume.is_dir():
                raise InputError(f"--resume {str(resume)!r} is not a folder")
            if not (spec_file.exists() or spec_file.is_symlink()):
                raise InputError(f"--resume {str(resume)!r} is not a sweep folder (no spec.json)")
            spec = SweepSpec.from_json(spec_file)
            check_run_folder(resume, spec)  # results.csv: cut last line dropped, bad rows refused
            run_dir = resume
        else:
            data = SweepSpec.from_toml(config, check_size=False).to_dict() if config is not None else {}
            overrides = {"losses": loss, "regularizers": reg, "methods": method,
                         "step_sizes": step, "seeds": seeds, "steps": steps, "game": game,
                         "dim": dim}
            overrides = {k: v for k, v in overrides.items() if v is not None and v != []}
            if opt:
                overrides["options"] = {**data.get("options", {}), **parse_options(opt)}
            if "seeds" in overrides and seeds < 1:
                raise InputError(f"--seeds must be a positive integer, got {seeds}")
            data.update(overrides)
            source = ("sweep options" if config is None else f"sweep file {str(config)!r}"
                      + (" with the options given" if overrides else ""))
            spec = SweepSpec.from_dict(data, source=source)
            out = Path("runs") if out is None else out
            created = _missing_folders(out)
            run_dir = run_directory(out, "sweep")
            run_dir.mkdir(parents=True)
            created.insert(0, run_dir)
            write_json(run_dir / "spec.json", spec.to_dict())
            write_json(run_dir / "settings.json", {"command": "sweep", "float64": float64,
                                                   "spec": spec.to_dict()})
    except (InputError, ValueError, OSError) as e:
        if created and created[0] == run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
        remove_empty(created)
        if isinstance(e, OSError):
            if resume is not None:
                fail(f"cannot read --resume {str(resume)!r}: {e.strerror or e}")
            fail(f"cannot write to {str(run_dir if run_dir is not None else out)!r}: {e.strerror or e}")
        fail(str(e))
    set_precision(float64)
    run_and_report(spec, run_dir, shard=shard, plot=plot)


def run_and_report(spec, run_dir: Path, *, shard: bool = False, plot: bool = False) -> None:
    """Run (or resume) the sweep `spec` in `run_dir`, write its ranking, print it."""
    from .._runs import write_json
    from .._sweep import ranking, run_sweep

    try:
        with progress_bar() as bar:
            task = bar.add_task(f"sweep of {spec.size()} runs", total=None)
            rows = run_sweep(spec, run_dir, shard=shard,
                             on_group=lambda i, n: bar.update(task, completed=i, total=n))
        ranked = ranking(rows)
        write_json(run_dir / "ranking.json", ranked)
    except OSError as e:
        fail(f"cannot write the results in {str(run_dir)!r}: {e.strerror or e} "
             f"(finished rows are kept; continue with --resume {str(run_dir)!r})")
    table = Table("loss", "regularizer", "method", "converged", "stable up to h", "median rate",
                  box=None, title="ranking (share of runs converged or converging; stable up to "
                  "h: every seed converged at every grid step ≤ h)")
    for r in ranked[:20]:
        up_to = r["stable_up_to"]
        table.add_row(r["loss"], r["regularizer"], r["method"], f"{r['converged_share']:.0%}",
                      "none" if up_to is None else f"≥ {up_to:.3g} (grid max)"
                      if up_to == r["grid_largest_step"] else f"{up_to:.3g}",
                      "—" if r["median_rate"] is None else f"{r['median_rate']:.4f}")
    Console(width=110).print(table)
    if plot:
        from .._io import atomic_figure
        from ..plotting import atlas

        try:
            from ..plotting._style import run_title

            figure = atlas(rows, title=run_title(
                spec.game, {"dim": spec.dim if spec.dim != 1 else None,
                            "real_point": spec.real_point or None},
                losses=list(spec.losses), regularizers=None, methods=list(spec.methods),
                steps=spec.steps, extra=["regularizers (rows) " + ", ".join(spec.regularizers),
                                         f"{len(spec.seeds)} seeds from radius "
                                         f"{spec.init_radius:g} each"]))
            figure.set_dpi(110)
            atomic_figure(run_dir / "atlas.png", figure)
        except OSError as e:
            fail(f"cannot write {str(run_dir / 'atlas.png')!r}: {e.strerror or e}")
    typer.echo(f"wrote {run_dir} ({len(rows)} rows)")

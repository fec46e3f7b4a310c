from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ._common import InputError, fail, progress_bar, run_directory, set_precision


def sweep(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML file with a "
                                                "[sweep] table; command-line options override it.")] = None,
    loss: Annotated[list[str] | None, typer.Option("--loss", "-l", help="Loss (repeatable).")] = None,
    reg: Annotated[list[str] | None, typer.Option("--reg", "-r", help="Regularizer setting "
                                                  "NAME=WEIGHT or 'none' (repeatable).")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", "-m", help="Method (repeatable).")] = None,
    step: Annotated[list[float] | None, typer.Option("--step", "-h", help="Step size (repeatable).")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", help="Number of seeds (random inits).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", "-n", help="Steps per run.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run folders.")] = Path("runs"),
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the sweep in this "
                                                "run folder, skipping finished rows.")] = None,
    plot: Annotated[bool, typer.Option("--plot", help="Draw the stability atlas (atlas.png).")] = False,
    shard: Annotated[bool, typer.Option("--shard", help="Split each group over all local devices.")] = False,
    float64: Annotated[bool, typer.Option("--float64", help="Compute in double precision.")] = False,
) -> None:
    """Run a grid of loss × regularizer × method × step size × seed on the Dirac-GAN;
    write results.csv / results.json row by row, print the ranking."""
    from .._runs import write_json
    from .._sweep import SweepSpec, ranking, run_sweep

    try:
        if resume is not None:
            spec_file = resume / "spec.json"
            if not spec_file.is_file():
                raise InputError(f"--resume {str(resume)!r} is not a sweep folder (no spec.json)")
            import json

            spec = SweepSpec.from_dict(json.loads(spec_file.read_text()), source=str(spec_file))
            run_dir = resume
        else:
            data = SweepSpec.from_toml(config).to_dict() if config is not None else {}
            overrides = {"losses": loss, "regularizers": reg, "methods": method,
                         "step_sizes": step, "seeds": seeds, "steps": steps}
            data.update({k: v for k, v in overrides.items() if v is not None})
            if isinstance(data.get("seeds"), int) and data["seeds"] < 1:
                raise InputError(f"--seeds must be a positive integer, got {data['seeds']}")
            spec = SweepSpec.from_dict(data, source="sweep options")
            run_dir = run_directory(out, "sweep")
    except (InputError, ValueError) as e:
        fail(str(e))
    set_precision(float64)

    if resume is None:
        run_dir.mkdir(parents=True)
        write_json(run_dir / "spec.json", spec.to_dict())
    with progress_bar() as bar:
        task = bar.add_task(f"sweep of {spec.size()} runs", total=None)
        rows = run_sweep(spec, run_dir, shard=shard,
                         on_group=lambda i, n: bar.update(task, completed=i, total=n))
    ranked = ranking(rows)
    write_json(run_dir / "ranking.json", ranked)
    table = Table("loss", "regularizer", "method", "converged", "largest h", "median rate",
                  box=None, title="ranking (share of runs converged or converging)")
    for r in ranked[:20]:
        table.add_row(r["loss"], r["regularizer"], r["method"], f"{r['converged_share']:.0%}",
                      "—" if r["largest_converging_step"] is None else f"{r['largest_converging_step']:.3g}",
                      "—" if r["median_rate"] is None else f"{r['median_rate']:.4f}")
    Console(width=110).print(table)
    if plot:
        import os

        from ..plotting import atlas

        tmp = run_dir / ".atlas.tmp.png"
        atlas(rows).savefig(tmp, dpi=110)
        os.replace(tmp, run_dir / "atlas.png")
    typer.echo(f"wrote {run_dir} ({len(rows)} rows)")

"""`gandyn rerun RUN_DIR`: the run that a folder's settings.json describes, run again
into a new folder (same numbers: every run is seeded)."""

from pathlib import Path
from typing import Annotated

import typer

from ._common import InputError, fail, run_directory, set_precision


def rerun(
    run_dir: Annotated[Path, typer.Argument(help="A run folder of simulate, sweep or train "
                                            "(it holds settings.json).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the new run "
                   "folder (default: the one RUN_DIR is in).")] = None,
) -> None:
    """Run again what RUN_DIR's settings.json describes (a simulate, sweep or train run),
    into a new run folder beside it: the same numbers, seeded alike."""
    from .._io import read_json
    from .._spec import RunSpec
    from .._sweep import SweepSpec
    from .._train_runs import TrainSettings

    out = run_dir.parent if out is None else out
    path = run_dir / "settings.json"
    try:
        if not run_dir.is_dir():
            raise InputError(f"RUN_DIR {str(run_dir)!r} is not a folder")
        if not (path.exists() or path.is_symlink()):
            raise InputError(f"RUN_DIR {str(run_dir)!r} is not a run folder (no settings.json)")
        settings = read_json(path, what="settings file")
        command = settings.get("command", "train" if "data" in settings else None)
        source = f"settings file {str(path)!r}"
        if command == "simulate":
            spec = RunSpec.from_dict({k: v for k, v in settings.items() if k != "command"},
                                     source=source)
        elif command == "sweep":
            spec = SweepSpec.from_dict(settings.get("spec"), source=source, complete=True)
            float64 = settings.get("float64", False)
            if not isinstance(float64, bool):
                raise InputError(f"{source}: float64 must be true or false, got {float64!r}")
        elif command == "train":
            spec = TrainSettings.from_file(path)
        else:
            raise InputError(f"{source} names no command gandyn can rerun (simulate, sweep, train)")
        new_dir = run_directory(out, command)
    except (InputError, ValueError) as e:
        fail(str(e))

    if command == "simulate":
        from ._simulate import run_simulation

        set_precision(spec.float64)
        run_simulation(spec, new_dir)
    elif command == "sweep":
        from .._runs import write_json
        from ._sweep import run_and_report

        new_dir.mkdir(parents=True)
        write_json(new_dir / "spec.json", spec.to_dict())
        write_json(new_dir / "settings.json", {"command": "sweep", "float64": float64,
                                               "spec": spec.to_dict()})
        set_precision(float64)
        run_and_report(spec, new_dir)
    else:
        from ._train import train

        given = spec.to_dict()
        regs, opts = given.pop("regularizers"), given.pop("options")
        train(**given, reg=regs or None, opt=[f"{k}={v if isinstance(v, str) else repr(v)}" for k, v in opts.items()] or None,
              out=out)

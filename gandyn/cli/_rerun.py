"""`gandyn rerun RUN_DIR`: the run that a folder's settings.json describes, run again
into a new folder (same numbers: every run is seeded). `gandyn.read_run` reads the
description, `gandyn.run` runs it, as for every other command."""

from pathlib import Path
from typing import Annotated

import typer

from ._common import InputError, fail, run_directory, set_precision

_COMMAND = {"simulate": "simulate", "sweep": "sweep", "train-sweep": "sweep", "train": "train"}


def rerun(
    run_dir: Annotated[Path, typer.Argument(help="A run folder of simulate, sweep or train "
                                            "(it holds settings.json).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the new run "
                   "folder (default: the one RUN_DIR is in).")] = None,
    game: Annotated[str | None, typer.Option("--game", "-g", help="The MODULE:FUNCTION game "
                    "that RUN_DIR's settings name, given again by you: a settings file alone "
                    "never makes gandyn import a module.")] = None,
) -> None:
    """Run again what RUN_DIR's settings.json describes (a simulate run, a sweep or a
    training sweep, a training run), into a new run folder beside it: the same numbers,
    seeded alike."""
    from .._execute import kind_of, read_run

    out = run_dir.parent if out is None else out
    try:
        spec = read_run(run_dir, trust=() if game is None else (game.strip(),))
        if game is not None and getattr(spec, "game", None) != game.strip():
            raise InputError(f"--game {game!r} is not the game of {str(run_dir)!r} "
                             f"({getattr(spec, 'game', 'none')!r}): give --game only to trust "
                             "the MODULE:FUNCTION game its settings name")
        kind = kind_of(spec)
        new_dir = run_directory(out, _COMMAND[kind])
    except (InputError, ValueError) as e:
        fail(str(e))
    set_precision(spec.float64)
    if kind == "simulate":
        from ._simulate import run_simulation

        run_simulation(spec, new_dir)
    elif kind == "train":
        from ._train import run_training

        run_training(spec, new_dir)
    else:
        from .._execute import create_sweep_folder
        from ._sweep import run_and_report

        try:
            create_sweep_folder(new_dir, spec)
        except OSError as e:
            fail(f"cannot write to {str(new_dir)!r}: {e.strerror or e}")
        run_and_report(spec, new_dir)

"""One executor for every run: `gandyn.run(spec, folder)` runs a run description and
writes its run folder; `gandyn.read_run(folder)` reads the description a folder was
written from, so `gandyn.run(gandyn.read_run(old), new)` runs it again to the same
numbers (every run is seeded).

Every front end goes through these two: the command line parses its flags into a
description, calls `run` and prints what it returns; `gandyn rerun` is `read_run` then
`run`; the sweep's worker processes run their share of the same descriptions.

| description               | kind          | what its folder holds                            |
|---------------------------|---------------|--------------------------------------------------|
| `RunSpec(kind="simulate")`| `simulate`    | settings.json, metrics.json, trajectories.npz, portrait.png |
| `RunSpec(kind="train")`   | `train`       | settings.json, checkpoint.npz, metrics.json/csv, figures |
| `SweepSpec`               | `sweep`       | settings.json, spec.json, results.csv/json, ranking.json |
| `TrainSweepSpec`          | `train-sweep` | settings.json, spec.json, shards/, results.csv/json |

```python
spec = gd.RunSpec(game="dirac", losses=("wgan",), methods=("simgd",), step=0.1, steps=500)
outcome = gd.run(spec, "runs/wgan")          # the folder, written atomically
gd.run(gd.read_run("runs/wgan"), "runs/again")
```

A settings file is untrusted input: `read_run` refuses a game given as
`MODULE:FUNCTION` (importing it would run that module's code) unless the caller names
that game itself (`trust=("MODULE:FUNCTION",)`, what `gandyn rerun --game` passes).
"""

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

from ._spec import InputError, RunSpec

Progress = Callable[[str, int, int | None], None]
"""`progress(description, done, total)`: called as a run advances (`total` None when
unknown). The command line draws it as a progress bar; the library default is silent."""

MAX_SETTINGS_BYTES = 4 << 20
"""A run's settings.json is a few kB (a sweep of 100,000 seeds about 1 MB): a larger one
is refused unread."""


def _silent(description: str, done: int, total: int | None) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What `run` returns: the `kind` of run, its `folder`, and its results — for
    `simulate` one record per (loss, method, start); for sweeps the rows (and
    `ranking` for a game sweep); for `train` the `TrainResult` (`result`), the last
    checkpointed step and whether it was interrupted."""

    kind: str
    folder: Path
    records: list = dataclasses.field(default_factory=list)
    ranking: list = dataclasses.field(default_factory=list)
    result: object = None
    checkpointed: int | None = None
    interrupted: bool = False


def kind_of(spec) -> str:
    """The kind of run `spec` describes (`simulate`, `sweep`, `train`, `train-sweep`)."""
    from ._sweep import SweepSpec
    from ._train_sweep import TrainSweepSpec

    if isinstance(spec, RunSpec):
        return spec.kind
    for kind, cls in (("sweep", SweepSpec), ("train-sweep", TrainSweepSpec)):
        if isinstance(spec, cls):
            return kind
    raise TypeError(f"not a run description: {type(spec).__name__} (give a RunSpec, "
                    "SweepSpec or TrainSweepSpec)")


def run(spec, folder, *, progress: Progress | None = None, resume: bool = False,
        plot: bool = False, shard: bool = False, status=None, announce=None,
        on_numbers: Callable[[Outcome], None] | None = None) -> Outcome:
    """Run `spec` and write its run folder `folder` (which must not exist, unless
    `resume`: then the run or sweep in it is continued), in double precision where the
    spec says `float64`. `plot`: a sweep's atlas too; `shard`: a game sweep's groups
    split over the local devices; `status`, `announce`: a training run's messages
    (`gandyn._train_runs.execute`). `on_numbers(outcome)`: called once the numbers are
    in the folder, before its figures are drawn (the command line prints its table
    then); a training run's `checkpointed` is filled in the returned outcome only."""
    import contextlib

    import jax

    precision = jax.enable_x64(True) if spec.float64 else contextlib.nullcontext()
    with precision:
        return _run(spec, Path(folder), progress or _silent, resume=resume, plot=plot,
                    shard=shard, status=status, announce=announce,
                    on_numbers=on_numbers or (lambda outcome: None))


def _run(spec, folder: Path, progress: Progress, *, resume, plot, shard, status,
         announce, on_numbers) -> Outcome:
    kind = kind_of(spec)
    if kind == "simulate":
        from ._simulate_run import write_simulation

        return Outcome(kind, folder, records=write_simulation(
            spec, folder, progress,
            on_numbers=lambda records: on_numbers(Outcome(kind, folder, records=records))))
    if kind == "train":
        from ._train_runs import execute

        def numbers(result):
            on_numbers(Outcome(kind, folder, result=result, interrupted=result.interrupted))

        result, checkpointed, interrupted = execute(spec, folder, resume=resume, progress=progress,
                                                    status=status, announce=announce,
                                                    on_numbers=numbers)
        return Outcome(kind, folder, result=result, checkpointed=checkpointed,
                       interrupted=interrupted)
    if not resume:
        create_sweep_folder(folder, spec)
    if kind == "sweep":
        from ._sweep_grid import run_sweep

        rows = run_sweep(spec, folder, shard=shard,
                         on_group=lambda i, n: progress(f"sweep of {spec.size()} runs", i, n))
    else:
        from . import _shards

        done, total = _shards.progress(spec, folder)
        progress("training sweep rows", done, total)
        _shards.run_share(spec, folder,
                          on_unit=lambda d, t: progress("training sweep rows", d, t))
        rows = _shards.merge(spec, folder)
    ranked = finish_sweep(spec, folder, rows, plot, on_numbers=lambda ranked: on_numbers(
        Outcome(kind, folder, records=rows, ranking=ranked)))
    return Outcome(kind, folder, records=rows, ranking=ranked)


def finish_sweep(spec, folder: Path, rows: list[dict], plot: bool = False, *,
                 on_numbers: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """A finished sweep's last files: a game sweep's ranking (ranking.json, returned),
    then `on_numbers(ranking)` and, with `plot`, the atlas (atlas.png)."""
    from ._sweep import SweepSpec
    from ._sweep_results import ranking

    ranked = []
    if isinstance(spec, SweepSpec):
        from ._io import write_json

        ranked = ranking(rows)
        write_json(folder / "ranking.json", ranked)
    if on_numbers is not None:
        on_numbers(ranked)
    if plot:
        draw_atlas(spec, folder, rows)
    return ranked


def create_sweep_folder(folder: Path, spec) -> None:
    """A new sweep folder: its spec (spec.json) and settings.json."""
    from ._io import write_json

    Path(folder).mkdir(parents=True)
    write_json(folder / "spec.json", spec.to_dict())
    write_json(folder / "settings.json", {"command": "sweep", "float64": spec.float64,
                                          "spec": spec.to_dict()})


def draw_atlas(spec, folder: Path, rows: list[dict]) -> None:
    """A sweep's atlas.png: the stability atlas of a game sweep, the training atlas of a
    training sweep."""
    from ._io import atomic_figure
    from ._train_sweep import TrainSweepSpec

    if isinstance(spec, TrainSweepSpec):
        from ._train_sweep import final_metric
        from .plotting import training_atlas

        colour = spec.atlas_colour or final_metric(rows)
        figure = training_atlas(rows, colour, title=f"training sweep: "
                                f"{', '.join(spec.data)}, {spec.steps:,} steps, {spec.seeds} "
                                "seed(s) per cell")
    else:
        from .plotting import atlas, run_title

        figure = atlas(rows, title=run_title(
            spec.game, {"dim": spec.dim if spec.dim != 1 else None,
                        "real_point": spec.real_point or None},
            losses=list(spec.losses), regularizers=None, methods=list(spec.methods),
            steps=spec.steps, extra=["regularizers (rows) " + ", ".join(spec.regularizers),
                                     f"{len(spec.seeds)} seeds from radius "
                                     f"{spec.init_radius:g} each"]))
    figure.set_dpi(110)
    atomic_figure(folder / "atlas.png", figure)


# --------------------------------------------------------------------------------------
# Reading a run folder back


def read_run(folder, *, trust: Iterable[str] = ()):
    """The run description that `folder`'s settings.json holds (a `RunSpec`,
    `SweepSpec` or `TrainSweepSpec`), checked as if given anew; a
    one-line `InputError` otherwise. A `MODULE:FUNCTION` game is refused unless it is
    in `trust`."""
    from ._io import check_regular_file, read_json

    folder = Path(folder)
    path = folder / "settings.json"
    if not folder.is_dir():
        raise InputError(f"RUN_DIR {str(folder)!r} is not a folder")
    if not (path.exists() or path.is_symlink()):
        raise InputError(f"RUN_DIR {str(folder)!r} is not a run folder (no settings.json)")
    source = f"settings file {str(path)!r}"
    try:
        check_regular_file(path, "settings file", max_bytes=MAX_SETTINGS_BYTES)
        settings = read_json(path, what="settings file")
    except ValueError as e:
        raise InputError(str(e)) from None
    command = settings.get("command", "train" if "data" in settings
                           or settings.get("kind") == "train" else None)
    if command == "simulate":
        data = {k: v for k, v in settings.items() if k != "command"}
        _refuse_code(data.get("game"), trust, source)
        return RunSpec.from_dict(data, source=source)
    if command == "sweep":
        spec = settings.get("spec")
        float64 = settings.get("float64", False)
        if not isinstance(float64, bool):
            raise InputError(f"{source}: float64 must be true or false, got {float64!r}")
        if isinstance(spec, dict) and spec.get("kind") == "train":
            from ._train_sweep import TrainSweepSpec

            return TrainSweepSpec.from_dict(spec, source=source)
        from ._sweep import SweepSpec

        if isinstance(spec, dict):  # an older sweep folder kept its precision beside its spec
            spec = {"float64": float64, **spec}
        try:
            return SweepSpec.from_dict(spec, source=source, complete=True)
        except ValueError as e:
            raise InputError(str(e)) from None
    if command == "train":
        from ._train_runs import read_settings

        return read_settings(path)
    raise InputError(f"{source} names no command gandyn can rerun (simulate, sweep, train)")


def _refuse_code(game, trust, source: str) -> None:
    if isinstance(game, str) and ":" in game and game.strip() not in set(trust):
        raise InputError(f"{source} names the game {game!r}, a Python function: running it "
                         f"would import that module's code. If you trust it, name it yourself: "
                         f"gandyn rerun RUN_DIR --game {game}")

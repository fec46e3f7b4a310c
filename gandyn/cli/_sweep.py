import os
import re
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .._io import remove_empty
from .._shards import SHARDS
from ._common import (
    InputError,
    fail,
    numbers_printer,
    parse_options,
    progress_bar,
    progress_callback,
    run_directory,
    set_precision,
)
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
                                                  "NAME=WEIGHT, several joined by + "
                                                  "(r1=1+consensus=0.5), or 'none' "
                                                  "(repeatable: one grid value each).")] = None,
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
    data: Annotated[list[str] | None, typer.Option("--data", "-d", help="Sweep TRAINING runs on "
                    "this data (repeatable): a toy target (ring8, …), digits, mnist5k or a path; "
                    "each row holds train's final metrics.")] = None,
    width: Annotated[list[int] | None, typer.Option("--width", help="Training: hidden units / "
                     "base channels (repeatable; default: train's).")] = None,
    depth: Annotated[list[int] | None, typer.Option("--depth", help="Training: hidden layers "
                     "per MLP (repeatable; default: train's).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Training: base seed (default: 0); "
                    "--seeds of them are trained at once per configuration.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Training: minibatch size.")] = None,
    log_every: Annotated[int | None, typer.Option("--log-every", help="Training: steps between "
                         "metric logs.")] = None,
    dynamics_every: Annotated[int | None, typer.Option("--dynamics-every", help="Training: "
                              "record the dynamics (gandyn train's flight recorder) at every "
                              "k-th log point; results.csv then has their last values; 0: off "
                              "(default: gandyn train's cadence, within 25 % of the "
                              "training).")] = None,
    atlas_colour: Annotated[str | None, typer.Option("--atlas-colour", help="Training: colour "
                            "the atlas by this results.csv column (default: kl or fd), e.g. "
                            "dynamics/max_re_eig_J.")] = None,
    processes: Annotated[int | None, typer.Option("--processes", help="Start this many local "
                         "worker processes (jax.distributed); each runs its share of the grid.")] = None,
    coordinator: Annotated[str | None, typer.Option("--coordinator", help="HOST:PORT of process "
                           "0, to join a multi-machine sweep (with --num-processes and "
                           "--process-id).")] = None,
    num_processes: Annotated[int | None, typer.Option("--num-processes", help="Processes of a "
                             "multi-machine sweep.")] = None,
    process_id: Annotated[int | None, typer.Option("--process-id", help="This process's index "
                          "in a multi-machine sweep (0: the coordinator, which merges).")] = None,
    distributed: Annotated[bool, typer.Option("--distributed", help="Join a multi-process sweep "
                           "that JAX detects from the cluster's environment (SLURM, Open MPI).")] = False,
    timeout: Annotated[int, typer.Option("--timeout", help="Seconds to reach the coordinator, and "
                       "without a heartbeat before a process counts as lost.")] = 60,
    worker: Annotated[bool, typer.Option("--worker", hidden=True)] = False,
) -> None:
    """Run a grid of loss × regularizer × method × step size × seed on a GAN game
    (or, with --data, of training runs); write results.csv / results.json, print the
    ranking. --processes N or --coordinator run it over several processes.

    At most 100,000 runs per sweep and 10^8 steps per run; every grid value once."""
    from .._sweep import SweepSpec
    from .._sweep_grid import check_run_folder
    from .._train_sweep import TrainSweepSpec

    multi = _check_distributed(processes, coordinator, num_processes, process_id, distributed,
                               timeout, resume)
    if (coordinator is not None or distributed) and not worker:
        # A thin parent: JAX's runtime aborts a worker that loses the others; say so in one line.
        from ._workers import run_workers

        rank = process_id if process_id is not None else os.environ.get("SLURM_PROCID",
                                                                       os.environ.get("OMPI_COMM_WORLD_RANK"))
        label = f"process {rank}" if rank is not None else "this process"
        code, message, folder = run_workers([sys.argv[1:] + ["--worker"]], [label],
                                            coordinator=coordinator, timeout=timeout)
        if message:
            typer.echo(f"Error: {message}" + _continue_hint(folder, message), err=True)
        raise typer.Exit(code)
    train_given = [flag for flag, value in (("--data", data), ("--width", width), ("--depth", depth),
                                            ("--seed", seed), ("--batch", batch),
                                            ("--log-every", log_every),
                                            ("--dynamics-every", dynamics_every),
                                            ("--atlas-colour", atlas_colour))
                   if value is not None and value != []]
    created: list[Path] = []  # folders this command made, removed again on an early error
    run_dir = None
    new = resume is None
    try:
        if resume is not None:
            spec_file = resume / "spec.json"
            given = [flag for flag, value in (
                ("--config", config), ("--game", game), ("--dim", dim), ("--loss", loss), ("--reg", reg), ("--method", method),
                ("--step", step), ("--seeds", seeds), ("--steps", steps), ("--out", out),
                ("--opt", opt),
            ) if value is not None and value != []] + train_given
            if given:
                raise InputError(f"--resume takes its settings from {str(spec_file)!r}; "
                                 f"do not give {', '.join(given)}")
            if not resume.exists():
                raise InputError(f"--resume {str(resume)!r} does not exist")
            if not resume.is_dir():
                raise InputError(f"--resume {str(resume)!r} is not a folder")
            if not (spec_file.exists() or spec_file.is_symlink()):
                raise InputError(f"--resume {str(resume)!r} is not a sweep folder (no spec.json)")
        if resume is not None and _is_training(resume / "spec.json"):
            spec = _read_train_spec(resume)
            run_dir = resume
        elif resume is None and (train_given or _config_is_training(config)):
            if game is not None or dim is not None:
                raise InputError("a training sweep (--data) takes no --game or --dim")
            spec = _train_spec(config, dict(data=data, widths=width, depths=depth, losses=loss,
                                            regularizers=reg, methods=method, step_sizes=step,
                                            seeds=seeds, seed=seed, steps=steps, batch=batch,
                                            log_every=log_every, float64=float64 or None,
                                            dynamics_every=dynamics_every,
                                            atlas_colour=atlas_colour), opt)
        elif resume is not None:
            spec = SweepSpec.from_json(spec_file)
            check_run_folder(resume, spec)  # results.csv: cut last line dropped, bad rows refused
            run_dir = resume
        else:
            data = SweepSpec.from_toml(config, check_size=False).to_dict() if config is not None else {}
            overrides = {"losses": loss, "regularizers": reg, "methods": method,
                         "step_sizes": step, "seeds": seeds, "steps": steps, "game": game,
                         "dim": dim}
            overrides = {k: v for k, v in overrides.items() if v is not None and v != []}
            if float64:
                overrides["float64"] = True
            if opt:
                overrides["options"] = {**data.get("options", {}), **parse_options(opt)}
            if "seeds" in overrides and seeds < 1:
                raise InputError(f"--seeds must be a positive integer, got {seeds}")
            data.update(overrides)
            source = ("sweep options" if config is None else f"sweep file {str(config)!r}"
                      + (" with the options given" if overrides else ""))
            spec = SweepSpec.from_dict(data, source=source)
        if new:
            out = Path("runs") if out is None else out
            run_dir = run_directory(out, "sweep")
            if not worker:  # a worker's folder is made by process 0, once it joined the others
                created = [run_dir, *_missing_folders(out)]
                _create(run_dir, spec, float64)
    except (InputError, ValueError, OSError) as e:
        if created and created[0] == run_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
        remove_empty(created)
        if isinstance(e, OSError):
            if resume is not None:
                fail(f"cannot read --resume {str(resume)!r}: {e.strerror or e}")
            fail(f"cannot write to {str(run_dir if run_dir is not None else out)!r}: {e.strerror or e}")
        fail(str(e))
    float64 = spec.float64 or (resume is not None and _saved_float64(resume))
    set_precision(float64)
    if worker:
        _work(spec, run_dir, new=new, coordinator=coordinator, num_processes=num_processes,
              process_id=process_id, timeout=timeout, plot=plot, float64=float64)
        return
    if processes is not None and processes > 1:
        from ._workers import free_port, run_workers

        address = f"127.0.0.1:{free_port()}"
        prefix = sys.argv[1: sys.argv.index("sweep")] if "sweep" in sys.argv else []
        args = [[*prefix, "sweep", "--resume", str(run_dir), "--coordinator", address,
                 "--num-processes", str(processes), "--process-id", str(i), "--timeout", str(timeout),
                 "--worker", *(["--plot"] if plot else [])] for i in range(processes)]
        code, message, _ = run_workers(args, [f"process {i}" for i in range(processes)],
                                       coordinator=address, timeout=timeout, logs=run_dir / "logs",
                                       pin=True)
        if message:
            typer.echo(f"Error: {message}" + _continue_hint(run_dir, message), err=True)
        raise typer.Exit(code)
    if multi or isinstance(spec, TrainSweepSpec) or (run_dir / SHARDS).is_dir():
        _work(spec, run_dir, new=False, plot=plot, float64=float64)
        return
    run_and_report(spec, run_dir, shard=shard, plot=plot)


def _check_distributed(processes, coordinator, num_processes, process_id, distributed, timeout,
                       resume) -> bool:
    """Whether the options ask for the sharded, multi-process engine; a one-line error
    for a bad combination."""
    check = lambda name, v, low, high: v is None or low <= v <= high or fail(  # noqa: E731
        f"{name} must be an integer from {low} to {high}, got {v}")
    check("--processes", processes, 1, 256)
    if processes is not None and processes > 1:
        from ._workers import check_processes

        problem = check_processes(processes)
        if problem:
            fail(problem)
    check("--num-processes", num_processes, 1, 100_000)
    check("--timeout", timeout, 1, 86_400)
    joined = [coordinator is not None, num_processes is not None, process_id is not None]
    if any(joined) and not all(joined):
        fail("--coordinator, --num-processes and --process-id go together (or give --distributed "
             "and let JAX read them from the cluster's environment)")
    if all(joined):
        host, _, port = coordinator.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            fail(f"--coordinator must be HOST:PORT, got {coordinator!r}")
        if not 0 <= process_id < num_processes:
            fail(f"--process-id must be from 0 to {num_processes - 1}, got {process_id}")
        if process_id == 0:  # the coordinator serves on the port: said now, not by a crash
            from ._workers import port_in_use

            if port_in_use(int(port)):
                fail(f"--coordinator port {port} is already in use on this machine; process 0 "
                     f"serves the coordinator there: choose a free port")
    if processes is not None and (any(joined) or distributed):
        fail("--processes starts local workers itself: give it without --coordinator, "
             "--num-processes, --process-id or --distributed")
    return processes is not None or any(joined) or distributed


def _continue_hint(run_dir, message: str = "") -> str:
    if run_dir is None or "--resume" in message:
        return ""
    return f"; finished units are kept: continue with gandyn sweep --resume {run_dir}"


def _create(run_dir: Path, spec, float64: bool) -> None:
    from .._execute import create_sweep_folder

    create_sweep_folder(run_dir, spec)


def _saved_float64(run_dir: Path) -> bool:
    from .._io import read_json

    try:
        return read_json(run_dir / "settings.json", what="settings").get("float64") is True
    except ValueError:
        return False


def _is_training(spec_file: Path) -> bool:
    """Whether a sweep folder's spec.json is a training sweep's (a file that is not a
    regular one, or not JSON, is left to the game sweep's reader to name)."""
    import json

    from .._sweep import MAX_CONFIG_BYTES, _read_text

    try:
        return json.loads(_read_text(spec_file, "spec file", MAX_CONFIG_BYTES)).get("kind") == "train"
    except (ValueError, AttributeError, RecursionError):
        return False


def _config_is_training(config: Path | None) -> bool:
    import tomllib

    from .._sweep import MAX_CONFIG_BYTES, _read_text

    if config is None:
        return False
    try:  # a FIFO, a device or a huge file is refused unread
        data = tomllib.loads(_read_text(config, "sweep file", MAX_CONFIG_BYTES))
    except (ValueError, RecursionError):
        return False  # the sweep file's own reader names the problem
    table = data.get("sweep", data)
    return isinstance(table, dict) and "data" in table


def _read_train_spec(run_dir: Path):
    from .._io import read_json
    from .._train_sweep import TrainSweepSpec

    path = run_dir / "spec.json"
    return TrainSweepSpec.from_dict(read_json(path, what="spec file"), source=f"spec file {str(path)!r}")


def _train_spec(config: Path | None, given: dict, opt):
    import tomllib

    from .._train_sweep import TrainSweepSpec

    data = {}
    source = "sweep options"
    if config is not None:
        from .._sweep import MAX_CONFIG_BYTES, _read_text

        source = f"sweep file {str(config)!r}"
        table = tomllib.loads(_read_text(config, "sweep file", MAX_CONFIG_BYTES))
        data = dict(table.get("sweep", table))
    data.update({k: v for k, v in given.items() if v is not None and v != []})
    if opt:
        data["options"] = {**data.get("options", {}), **parse_options(opt)}
    return TrainSweepSpec.from_dict(data, source=source)


def _work(spec, run_dir: Path | None, *, new: bool, coordinator=None, num_processes=None,
          process_id=None, timeout: int = 60, plot: bool = False, float64: bool = False) -> None:
    """Run this process's share of the sweep (all of it, alone), then, in process 0,
    merge the shards and report. With `coordinator` (or in a worker under a cluster's
    launcher), join the others through `jax.distributed` first."""
    from .. import _shards

    index, count = 0, 1
    if coordinator is not None or num_processes is not None or _in_cluster():
        from ._workers import JOINED, JOINING

        print(JOINING, file=sys.stderr, flush=True)  # the parent's clock: timeout + a grace
        index, count = _shards.initialize(coordinator, num_processes, process_id, timeout=timeout)
        print(JOINED, file=sys.stderr, flush=True)
    try:
        _share(spec, run_dir, index, count, new=new, timeout=timeout, plot=plot, float64=float64)
    except typer.Exit as e:
        if count > 1 and e.exit_code:
            # Said on stderr already. JAX's shutdown at exit would wait at a barrier for
            # the others, which wait for this one's share: end now, the parent stops them.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(e.exit_code)
        raise


def _share(spec, run_dir, index: int, count: int, *, new: bool, timeout: int, plot: bool,
           float64: bool) -> None:
    """Process `index` of `count`'s part of `_work`, once it joined the others."""
    from .. import _shards

    if count > 1:
        if new:
            if index == 0:
                _create(run_dir, spec, float64)
            run_dir = Path(_shards.broadcast_text(str(run_dir) if index == 0 else None))
    label = f"process {index}"
    if count > 1:
        print(f"{label}: sweep folder {run_dir}", file=sys.stderr, flush=True)
    try:
        with progress_bar(interval=0 if count > 1 else 10) as bar:
            done, total = _shards.progress(spec, run_dir, index, count)
            task = bar.add_task(f"{label} rows · ETA —", total=total, completed=done)
            rate = _shards.Rate(done)

            def on_unit(done, total):
                bar.update(task, completed=done, total=total,
                           description=f"{label} rows · {rate.eta(done, total)}")

            _shards.run_share(spec, run_dir, process=index, processes=count, on_unit=on_unit)
    except ValueError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot write the results in {str(run_dir)!r}: {e.strerror or e} (finished units "
             f"are kept; continue with --resume {str(run_dir)!r})")
    if count > 1:
        try:
            _shards.barrier("gandyn-sweep-done")
        except Exception as e:  # noqa: BLE001 - the runtime's error (JaxRuntimeError) names the lost one
            lost = re.search(r"[Tt]ask (\d+) heartbeat timeout", str(e))
            what = (f"process {lost.group(1)} was lost (no heartbeat for {timeout} s)" if lost
                    else str(e).strip().splitlines()[0][:200])
            typer.echo(f"Error: {what} while process {index} waited for the others"
                       + _continue_hint(run_dir), err=True)
            raise typer.Exit(1)
    if index != 0:
        return
    try:
        rows = _shards.merge(spec, run_dir)
    except ValueError as e:
        fail(str(e))
    _report(spec, run_dir, rows, plot)


def _report(spec, run_dir: Path, rows: list[dict], plot: bool, ranked=None,
            printed: bool = False) -> None:
    """Write a finished sweep's last files (unless `ranked` says they are written) and
    print its ranking (unless `printed`), before its atlas is drawn."""
    from .._execute import finish_sweep

    if ranked is None:
        try:
            finish_sweep(spec, run_dir, rows, plot,
                         on_numbers=lambda ranked: _print_table(spec, rows, ranked))
        except OSError as e:
            fail(f"cannot write the results in {str(run_dir)!r}: {e.strerror or e} "
                 f"(finished rows are kept; continue with --resume {str(run_dir)!r})")
    elif not printed:
        _print_table(spec, rows, ranked)
    typer.echo(f"wrote {run_dir} ({len(rows)} rows)")


def _print_table(spec, rows: list[dict], ranked: list[dict]) -> None:
    """A training sweep's summary, or a game sweep's ranking."""
    from .._train_sweep import TrainSweepSpec

    if isinstance(spec, TrainSweepSpec):
        _print_training(rows)
    else:
        _print_ranking(ranked)
    sys.stdout.flush()


def _in_cluster() -> bool:
    """Whether this worker joins a run that JAX detects from the environment."""
    return "--distributed" in sys.argv


def _print_training(rows: list[dict]) -> None:
    from .._train_sweep import KEY_COLUMNS, summarize_rows

    table = Table(*[c for c in KEY_COLUMNS if c != "seed"], "seeds", "trained", "median metric",
                  box=None, title="training sweep (per configuration: seeds that trained; the "
                  "median of the final metric)")
    for r in summarize_rows(rows)[:30]:
        table.add_row(*[str(r[c]) for c in KEY_COLUMNS if c != "seed"], str(r["seeds"]),
                      f"{r['trained']}/{r['seeds']}",
                      "—" if r["median"] is None else f"{r['metric']} {r['median']:.4g}")
    Console(width=130).print(table)


def run_and_report(spec, run_dir: Path, *, shard: bool = False, plot: bool = False) -> None:
    """Run (or resume) the sweep `spec` in its folder `run_dir` (`gandyn.run`), print its
    ranking."""
    from .._execute import run

    printed = []

    def show(outcome) -> None:  # the numbers are written; the atlas comes next
        _print_table(spec, outcome.records, outcome.ranking)
        printed.append(True)

    try:
        with progress_bar() as bar:
            outcome = run(spec, run_dir, resume=True, shard=shard, plot=plot,
                          progress=progress_callback(bar), on_numbers=numbers_printer(bar, show))
    except OSError as e:
        fail(f"cannot write the results in {str(run_dir)!r}: {e.strerror or e} "
             f"(finished rows are kept; continue with --resume {str(run_dir)!r})")
    _report(spec, run_dir, outcome.records, plot, ranked=outcome.ranking, printed=bool(printed))


def _print_ranking(ranked: list[dict]) -> None:
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

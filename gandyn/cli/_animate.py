"""`gandyn animate RUN_DIR`: play a run back, the data space beside the parameters."""

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ._common import InputError, check_int, fail


def animate(
    run_dir: Annotated[Path, typer.Argument(help="A folder written by `gandyn simulate` (the "
                                            "Dirac-GAN or the Gaussian game, one dimension) or "
                                            "by `gandyn train` on a toy target.",
                                            show_default=False)],
    loss: Annotated[str | None, typer.Option("--loss", "-l", help="Which of a simulate run's "
                    "losses (default: its first).")] = None,
    method: Annotated[str | None, typer.Option("--method", "-m", help="Which of a simulate run's "
                      "methods (default: its first).")] = None,
    start: Annotated[int, typer.Option("--start", help="Which initial point of a simulate run "
                     "(0-based), or which seed of a train run.")] = 0,
    frames: Annotated[int, typer.Option("--frames", help="At most this many frames, spaced "
                  "evenly along the path.")] = 80,
    fps: Annotated[int, typer.Option("--fps", help="Frames per second.")] = 12,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The animation: .gif, or .mp4 "
                   "where matplotlib finds ffmpeg (default: RUN_DIR/animation.gif).")] = None,
) -> None:
    """Play a run back as an animation. A Dirac-GAN or Gaussian `simulate` run: the
    trajectory over the field in parameter space beside the data space (the real
    data, the generator's point or density, the critic's line or curve), as
    GAN_stability's Dirac-GAN videos. A toy `train` run: GAN Lab's view at each logged
    step (real and generated samples, D(x), the generator's push on each sample)."""
    try:
        run_dir = Path(run_dir)
        frames = check_int("--frames", frames, 2, 2000)
        fps = check_int("--fps", fps, 1, 60)
        start = check_int("--start", start, 0, 10**6)
        out = run_dir / "animation.gif" if out is None else Path(out)
        from .._io import check_writable_file
        from ..plotting import writer_for

        writer_for(out, fps)
        check_writable_file(out)
        if (run_dir / "trajectories.npz").is_file() and (run_dir / "metrics.json").is_file():
            job = _simulate_job(run_dir, loss, method, start)
        elif (run_dir / "settings.json").is_file():
            if loss is not None or method is not None:
                raise InputError("--loss and --method choose within a simulate run; a train run "
                                 "has one of each")
            job = None
        else:
            raise InputError(f"{str(run_dir)!r} is not a gandyn simulate or train run folder "
                             f"(trajectories.npz and metrics.json, or settings.json)")
    except (InputError, ValueError) as e:
        fail(str(e))

    from .._io import atomic_path, make_parents

    make_parents(out)
    if job is not None:
        from ..plotting import dirac_animation

        with atomic_path(out) as tmp:
            count = dirac_animation(tmp, fps=fps, frames=frames, **job)
    else:
        count = _train_animation(run_dir, out, start, fps)
    typer.echo(f"wrote {out} ({count} frames)")


def _simulate_job(run_dir: Path, loss, method, start) -> dict:
    import numpy as np

    from .._budget import memory_limit
    from .._io import read_npz
    from .._simulate import Status
    from .._simulate_run import portrait_extent
    from .._spec import game_options as declared_options
    from ..plotting import run_title
    from ._games import build_games

    settings = _run_settings(run_dir / "metrics.json")
    game_name = settings.get("game", "dirac")
    if game_name not in ("dirac", "gaussian") or (settings.get("dim") or 1) != 1:
        raise InputError(f"the data-space view is drawn for the 1-D dirac and gaussian games; "
                         f"this run is {game_name!r}" + (f" with dim {settings['dim']}"
                                                         if settings.get("dim") else ""))
    losses, methods = settings["losses"], settings["methods"]
    loss = losses[0] if loss is None else loss
    method = methods[0] if method is None else method
    if loss not in losses:
        raise InputError(f"--loss {loss!r} is not in this run; choose from: {', '.join(losses)}")
    if method not in methods:
        raise InputError(f"--method {method!r} is not in this run; choose from: {', '.join(methods)}")
    # The game's declared options among the run's settings (`std` given by --opt included).
    options = {k: option.check(settings[k]) for k, option in declared_options(game_name).items()
               if settings.get(k) is not None}
    ((_, game),) = build_games(game_name, [loss], settings.get("regularizers") or None, options)
    data = read_npz(run_dir / "trajectories.npz", "trajectories", max_bytes=memory_limit())
    prefix = f"{loss}__{method}__"
    shapes = {prefix + "params": 3, prefix + "status": 1, "step": 1, "init": 2}
    for name, ndim in shapes.items():
        if name not in data or data[name].ndim != ndim:
            raise InputError(f"{str(run_dir / 'trajectories.npz')!r} lacks the array {name!r} "
                             f"of {ndim} dimensions that a simulate run of {loss} · {method} has")
    params, status, steps, init = (data[name] for name in shapes)
    if not len(params) == len(status) == len(init) or params.shape[1] != len(steps) \
            or params.shape[2] != 2 or init.shape[1] != 2:
        raise InputError(f"{str(run_dir / 'trajectories.npz')!r}: its arrays' shapes disagree "
                         f"(params {params.shape}, status {status.shape}, step {steps.shape}, "
                         f"init {init.shape})")
    if not np.all(np.isin(status, [s.value for s in Status])):
        raise InputError(f"{str(run_dir / 'trajectories.npz')!r}: {prefix}status holds values "
                         f"that are no run status")
    check_int("--start", start, 0, len(params) - 1)
    title = run_title(game_name, options, losses=[loss], regularizers=settings.get("regularizers"),
                      methods=[method], h=settings["step"], steps=settings["steps"],
                      extra=[f"start {start}: ({', '.join(f'{x:g}' for x in init[start])})"])
    return {"game": game, "path_params": params[start], "steps": steps,
            "status": Status(int(status[start])), "title": title,
            "lim": portrait_extent(init[start:start + 1], game)}


def _run_settings(path: Path) -> dict:
    """The `settings` of a simulate run's `metrics.json`, each field animate uses of
    its type (read as untrusted: a one-line `InputError` naming the field otherwise)."""
    from .._io import read_json

    settings = read_json(path, what="metrics").get("settings")
    if not isinstance(settings, dict):
        raise InputError(f"{str(path)!r} holds no 'settings' object; it is not the metrics of a "
                         f"gandyn simulate run")

    def words(v):
        return isinstance(v, list) and v and all(isinstance(x, str) and x for x in v)

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    def step(v):
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and v > 0)

    rules = {"game": (lambda v: v is None or isinstance(v, str), "a game's name"),
             "dim": (lambda v: v is None or count(v), "a positive integer"),
             "losses": (words, "a list of losses' names"),
             "methods": (words, "a list of methods' names"),
             "regularizers": (lambda v: v is None or (isinstance(v, list)
                                                      and all(isinstance(x, str) for x in v)),
                              "a list of NAME=WEIGHT"),
             "step": (step, "a positive number"), "steps": (count, "a positive integer")}
    for name, (valid, rule) in rules.items():
        if not valid(settings.get(name)):
            raise InputError(f"'settings.{name}' in {str(path)!r} must be {rule}, got "
                             f"{json.dumps(settings.get(name))[:80]}")
    return settings


_SHOWN = ("step", "seed", "modes", "modes_total", "high_quality", "kl", "fd",
          "classes_covered", "classes_total")
"""The fields of a train run's logged rows that its animation shows (numbers or null)."""


def _logged_history(path: Path) -> list[dict] | None:
    """The `history` of a train run's `metrics.json` (None if it has none), each row a
    JSON object whose shown fields are numbers or null; a one-line `InputError` naming
    the row and the field otherwise."""
    from .._io import read_json

    history = read_json(path, what="metrics").get("history")
    if history is None:
        return None
    if not isinstance(history, list):
        raise InputError(f"'history' in {str(path)!r} must be a list of logged rows, got "
                         f"{json.dumps(history)[:80]}")
    for number, row in enumerate(history):
        if not isinstance(row, dict):
            raise InputError(f"'history' row {number} in {str(path)!r} is not a JSON object")
        for name in _SHOWN:
            value = row.get(name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                raise InputError(f"'history' row {number} in {str(path)!r}: {name} must be a "
                                 f"number, got {json.dumps(value)[:80]}")
    return history


def _train_animation(run_dir: Path, out: Path, seed: int, fps: int) -> int:
    import jax
    import numpy as np

    from .._io import atomic_path
    from .._train import load_checkpoint
    from ..plotting import training_gif
    from ._common import set_precision
    from .._train_runs import build as _build, read_settings, title as _title

    settings = read_settings(run_dir / "settings.json")
    set_precision(settings.float64)
    game, method, kind = _build(settings)
    if kind != "toy":
        raise InputError("an image run already has training.gif")
    state = load_checkpoint(run_dir, game, method, h=settings.step, seeds=settings.seeds)
    check_int("--start", seed, 0, settings.seeds - 1)
    history = (_logged_history(run_dir / "metrics.json")
               if (run_dir / "metrics.json").is_file() else list(state.history))
    common = sorted(set(state.checkpoints) & set(state.samples))
    checkpoints = {k: state.checkpoints[k] for k in common}
    samples = {k: state.samples[k] for k in common}
    if len(checkpoints) < 2:
        raise InputError(f"{str(run_dir)!r} kept fewer than two checkpoints to play back")
    reference = np.asarray(game.target.sample(jax.random.key(12345), 5000))
    with atomic_path(out) as tmp:
        training_gif(tmp, game, checkpoints, samples, reference, seed=seed, fps=max(1, fps // 4),
                     history=history, suptitle=_title(settings))
    return len(checkpoints)

"""`gandyn animate RUN_DIR`: play a run back, the data space beside the parameters."""

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
        from ..plotting import writer_for

        writer_for(out, fps)
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

    from .._io import read_json
    from .._simulate import Status
    from .._simulate_run import portrait_extent
    from .._spec import game_options as declared_options
    from ..plotting import run_title
    from ._games import build_games

    settings = read_json(run_dir / "metrics.json", what="metrics")["settings"]
    game_name = settings.get("game", "dirac")
    if game_name not in ("dirac", "gaussian") or int(settings.get("dim") or 1) != 1:
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
    options = {k: settings[k] for k in declared_options(game_name) if settings.get(k) is not None}
    ((_, game),) = build_games(game_name, [loss], settings.get("regularizers") or None, options)
    with np.load(run_dir / "trajectories.npz", allow_pickle=False) as data:
        params = data[f"{loss}__{method}__params"]
        status = data[f"{loss}__{method}__status"]
        steps = data["step"]
        init = data["init"]
    check_int("--start", start, 0, len(params) - 1)
    title = run_title(game_name, options, losses=[loss], regularizers=settings.get("regularizers"),
                      methods=[method], h=settings["step"], steps=settings["steps"],
                      extra=[f"start {start}: ({', '.join(f'{x:g}' for x in init[start])})"])
    return {"game": game, "path_params": params[start], "steps": steps,
            "status": Status(int(status[start])), "title": title,
            "lim": portrait_extent(init[start:start + 1], game)}


def _train_animation(run_dir: Path, out: Path, seed: int, fps: int) -> int:
    import jax
    import numpy as np

    from .._io import atomic_path, read_json
    from .._train import load_checkpoint
    from ..plotting import training_gif
    from ._common import set_precision
    from .._train_runs import TrainSettings, build as _build, title as _title

    settings = TrainSettings.from_file(run_dir / "settings.json")
    set_precision(settings.float64)
    game, method, kind = _build(settings)
    if kind != "toy":
        raise InputError("an image run already has training.gif")
    state = load_checkpoint(run_dir, game, method, h=settings.step, seeds=settings.seeds)
    check_int("--start", seed, 0, settings.seeds - 1)
    history = (read_json(run_dir / "metrics.json", what="metrics").get("history")
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

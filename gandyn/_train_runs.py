"""Training runs as folders: a training run's `RunSpec` (`kind="train"`; its checks
are `gandyn._train_spec`'s) read back from its folder's `settings.json`
(`read_settings`), the GAN and method it describes (`build`), running it into a folder
(`execute`, what `gandyn.run` calls for it), and the files a finished run writes. The
command line's `gandyn train` and `gandyn rerun` are thin layers over this."""

import dataclasses
from pathlib import Path

from ._spec import InputError, RunSpec, check_int, parse_regularizers
from ._train_spec import (  # noqa: F401  (where the training sweep and the CLI find them)
    _INTS,
    DEFAULTS,
    NETWORK,
    NETWORK_GAMES,
    SMALL_IMAGE_STEP,
    default_cadence,
    network_game,
    network_options,
)


OLD_SETTINGS = ("data", "loss", "regularizers", "method", "step", "steps", "seeds", "seed",
                "width", "depth", "latent", "batch", "activation", "spectral_norm",
                "log_every", "checkpoint_every", "gif", "float64")
"""What a training run's settings.json held before training runs were `RunSpec`s
(`gandyn train`'s settings by name)."""


def read_settings(path: Path):
    """The `RunSpec` a training run folder's `settings.json` holds, checked as if given
    anew (a one-line `InputError` naming the file otherwise). A folder written before
    training runs were `RunSpec`s holds `gandyn train`'s settings by name, read as
    `RunSpec.train` reads them (an older run had no `options`, 16 rotation probes and
    the recorder off; the depth and activation an image run kept unused are dropped)."""
    from ._io import read_json


    try:
        data = read_json(path, what="settings")
    except ValueError as e:
        raise InputError(f"cannot resume: {e}") from None
    source = f"settings file {str(path)!r}"
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a table of run settings")
    if data.get("kind") == "train":
        return RunSpec.from_dict({k: v for k, v in data.items() if k != "command"},
                                 source=source)
    data = {"options": {}, "rotation_probes": 16, "dynamics_every": 0,
            "dynamics_samples": 256, **data}
    missing = [k for k in OLD_SETTINGS if k not in data]
    if missing:
        raise InputError(f"{str(path)!r} lacks the setting {missing[0]!r}; it is not a gandyn "
                         f"train settings file")
    unknown = sorted(str(k) for k in set(data) - {*OLD_SETTINGS, *_INTS, "options"})
    if unknown:
        raise InputError(f"{source}: unknown key {unknown[0]!r}")
    regs = data["regularizers"]
    if not isinstance(regs, list) or not all(isinstance(r, str) for r in regs):
        raise InputError(f"'regularizers' in {str(path)!r} must be a list of NAME=WEIGHT "
                         f"strings, got {regs!r}")
    if isinstance(data["data"], str) and network_game(data["data"]) == "conv-gan":
        data = {k: v for k, v in data.items() if k not in ("depth", "activation")}
    try:
        return RunSpec.train(**data)
    except ValueError as e:
        raise InputError(f"{source}: {e}") from None


def recorder_line(spec) -> str:
    """One line on the recorder's cadence and its modelled cost, for the console."""
    from ._recorder import Recorder, recorded_points, recorder_cost

    if not spec.dynamics_every:
        if default_cadence(spec):
            return "dynamics not recorded (--no-dynamics)"
        return ("dynamics not recorded: a run this short would spend over 25 % on them "
                "(--dynamics records its first and last log points)")
    every = spec.dynamics_every
    cost = recorder_cost(Recorder(samples=spec.dynamics_samples), every,
                         log_every=spec.log_every, steps=spec.steps, batch=spec.options["batch"])
    points = recorded_points(every, spec.log_every, spec.steps)
    return (f"dynamics recorded every {every * spec.log_every:,} steps and at the end: "
            f"{points} points, ≈ {cost:.0%} of the training")


def recorder(spec):
    """The run's `gandyn.Recorder`, or None when it is off."""
    from ._recorder import Recorder

    return Recorder(every=spec.dynamics_every, samples=spec.dynamics_samples) \
        if spec.dynamics_every else None


def resumed_settings(run_dir: Path, steps: int | None) -> tuple[RunSpec, Path]:
    """The spec of the run in `run_dir` (with a new step total if given)."""
    from ._train import CHECKPOINT

    path = run_dir / "settings.json"
    if not run_dir.is_dir() or not (run_dir / CHECKPOINT).exists() or not path.exists():
        raise InputError(f"--resume {str(run_dir)!r} is not a run folder with a checkpoint "
                         f"(settings.json and {CHECKPOINT})")
    spec = read_settings(path)
    from ._io import _can_create_in

    if not _can_create_in(run_dir):  # found now, not after the training
        raise InputError(f"cannot resume in {str(run_dir)!r}: the run folder is not writable")
    if steps is not None:
        spec = dataclasses.replace(spec, steps=check_int("--steps", steps))
    return spec, run_dir


def build(spec: RunSpec):
    """`(game, method, "toy" | "image")` from a run's spec."""
    from . import (
        data as data_registry,
        games,
        losses as loss_registry,
        methods as method_registry,
    )
    from ._methods import AbstractStepMethod

    from ._options import for_owner
    from ._spec import _owner_options

    loss_fn = loss_registry.get(spec.losses[0], **_owner_options("loss", spec.losses[0],
                                                                spec.options))
    method_obj = method_registry.get(spec.methods[0], **for_owner(
        spec.options, spec.methods[0],
        method_registry.registry.options(spec.methods[0])))
    if not isinstance(method_obj, AbstractStepMethod):
        raise InputError(f"--method {spec.methods[0]!r} is adaptive; training needs a step method")
    regs = parse_regularizers(spec.regularizers, spec.options)
    name = spec.options["data"]
    game_name = network_game(name)
    if game_name == "conv-gan":
        known = name.lower() in data_registry.IMAGE_DATA
        if not known and not Path(name).exists() and "/" not in name and "." not in name:
            raise InputError(f"unknown data {name!r}; choose from: "
                             f"{', '.join(data_registry.names())}, "
                             f"{', '.join(data_registry.IMAGE_DATA.names())}, or a path to "
                             f"image files")
    game = games.get(game_name, loss=loss_fn, regularizers=regs, **spec.game_options())
    return game, method_obj, "toy" if game_name == "mlp-gan" else "image"


IMAGE_CHECKPOINTS = 3  # parameters kept of an image run: the first log point and the last two
RUN_OPTIONS = {"toy": {}, "image": {"keep_samples": 64, "keep_checkpoints": IMAGE_CHECKPOINTS,
                                    "eval_samples": 2000}}


def _check_memory(spec: RunSpec, game, method, kind: str) -> None:
    """A one-line `InputError` if the run would plan to hold more memory than allowed."""
    from ._budget import check_memory as check
    from ._train import train_memory

    parts = train_memory(game, method, h=spec.step, steps=spec.steps,
                         seeds=spec.seeds, log_every=spec.log_every, **RUN_OPTIONS[kind])
    try:
        check(sum(parts.values()), f"training {spec.seeds} seed(s) for "
              f"{spec.steps:,} steps", parts)
    except ValueError as e:
        raise InputError(str(e)) from None


def execute(spec: RunSpec, run_dir: Path, *, resume: bool = False, progress=None,
            status=None, announce=None, on_numbers=None):
    """Train what `spec` describes into the run folder `run_dir` (new, or, with
    `resume`, continued from its checkpoint), writing settings.json first, a checkpoint
    every `checkpoint_every` steps and, at the end, the results (`write_run`).

    Returns `(result, last checkpointed step, interrupted)`; `result` is None when
    Ctrl-C came before the first checkpoint (the new folder is then removed: nothing
    worth keeping). `progress(description, done, total)` after each log point;
    `status(text)`: a context manager shown while the classifier of image metrics is
    prepared; `announce(text)`: where a resumed run says where it starts;
    `on_numbers(result)`: once the numbers are written, before the figures are drawn
    (`write_run`)."""
    import contextlib
    import shutil

    from ._io import atomic_figure, make_parents, remove_empty, write_json
    from ._train import CHECKPOINT, TrainResult, load_checkpoint, save_checkpoint, train

    progress = progress or (lambda *_: None)
    status = status or (lambda text: contextlib.nullcontext())
    announce = announce or (lambda text: None)
    game, method, kind = build(spec)
    _check_memory(spec, game, method, kind)
    state, created = None, []
    if resume:
        try:
            state = load_checkpoint(run_dir, game, method, h=spec.step, seeds=spec.seeds)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot resume from {str(run_dir)!r}: {e}") from None
        if state.step >= spec.steps and is_finished(run_dir):
            raise InputError(f"the run in {str(run_dir)!r} already has {state.step} steps; "
                             f"give --steps above {state.step} to extend it")
        if state.step >= spec.steps:  # killed while writing its results: write them
            announce(f"finishing {run_dir}: its checkpoint has all {state.step} steps")
        else:
            announce(f"resuming {run_dir} at step {state.step} of {spec.steps}")
            # The run's new step total in its settings (an extended run's folder says so:
            # `gandyn rerun` reproduces it, a later `--resume` continues to it).
            write_json(run_dir / "settings.json", spec.to_dict())
    else:
        created = make_parents(run_dir)
        run_dir.mkdir()
        write_json(run_dir / "settings.json", spec.to_dict())

    def discard() -> None:
        """Remove a new run folder that holds no checkpoint yet (nothing worth keeping)."""
        if state is None and not (run_dir / CHECKPOINT).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            remove_empty(created)

    checkpointed = [None if state is None else state.step]

    saving = [None]

    def on_checkpoint(s) -> None:
        saving[0] = s.step
        save_checkpoint(run_dir, s)
        checkpointed[0] = s.step

    try:
        # After every refusal (an error stays one line), inside the `try`: a Ctrl-C that
        # comes as it is printed is an interruption like any other.
        announce(recorder_line(spec))
        metrics, extra = None, {}
        if kind == "image":
            import matplotlib.pyplot as plt

            from ._image_metrics import ImageMetrics
            from .plotting import sample_figure

            (run_dir / "samples").mkdir(exist_ok=True)
            with status("preparing the metrics' classifier (cached after the first run)"):
                metrics = ImageMetrics(game.target, seed=spec.seed)
            extra = {**RUN_OPTIONS["image"], "eigen_checkpoints": 0}
        if state is not None and state.step >= spec.steps:
            result = TrainResult.from_state(state)  # killed while writing its results
        else:
            def on_log(step_done, rows, samples):
                progress(live_description(rows[0]), step_done, spec.steps)
                if kind == "image":
                    figure = sample_figure(samples[0][:64], step=step_done, seed=0, row=rows[0],
                                           settings=title(spec))
                    atomic_figure(run_dir / "samples" / f"step_{step_done:07d}.png", figure)
                    plt.close(figure)

            progress("training", 0 if state is None else state.step, spec.steps)
            result = train(game, method, h=spec.step, steps=spec.steps,
                           seeds=spec.seeds, seed=spec.seed, log_every=spec.log_every,
                           metrics=metrics, resume=state, checkpoint_every=spec.checkpoint_every,
                           on_checkpoint=on_checkpoint, on_log=on_log,
                           rotation_probes=spec.rotation_probes,
                           dynamics=recorder(spec), **extra)
    except KeyboardInterrupt:
        result = None
    except BaseException:
        discard()
        raise
    interrupted = result is None or result.interrupted
    if interrupted and saving[0] != checkpointed[0]:
        # Ctrl-C between the checkpoint's rename and its bookkeeping: the file says.
        checkpointed[0] = _step_on_disk(run_dir, checkpointed[0])
    if interrupted and checkpointed[0] is None:
        discard()
        return None, None, True
    if result is not None:
        write_run(run_dir, game, result, spec, kind, on_numbers=on_numbers)
    return result, checkpointed[0], interrupted


def _step_on_disk(run_dir: Path, known: int | None) -> int | None:
    """The step of the run folder's checkpoint (verified), or `known` if it has none
    or it cannot be read."""
    from ._train import CHECKPOINT, _read_checkpoint

    try:
        meta, _ = _read_checkpoint(run_dir / CHECKPOINT)
        return int(meta["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return known


def live_description(live: dict) -> str:
    """A progress line from seed 0's latest metrics."""
    text = "training"
    if "modes" in live:
        text += f" · modes {live['modes']}/{live['modes_total']}"
    if "high_quality" in live:
        text += f" · HQ {live['high_quality']:.0%}"
    if "kl" in live:
        text += f" · KL {live['kl']:.3g}"
    if "fd" in live:
        text += f" · FD {live['fd']:.4g}"
    if "classes_covered" in live:
        text += f" · classes {live['classes_covered']}/{live['classes_total']}"
    return text


def title(spec: RunSpec) -> str:
    """A training run's spec as a figure title."""
    from .plotting import run_title

    return run_title(spec.options["data"], None, losses=[spec.losses[0]],
                     regularizers=list(spec.regularizers), methods=[spec.methods[0]],
                     h=spec.step, steps=spec.steps,
                     extra=[", ".join(f"{k} {spec.options[k]}" for k in ("width", "depth",
                                                                         "latent", "batch")
                                      if k in spec.options)
                            + (", spectral norm" if spec.options["spectral_norm"] else ""),
                            f"base seed {spec.seed}"])


LAST_FIGURE = "samples.png"
"""The figure a finished run draws last: a folder with metrics.json and it is finished
(`is_finished`); one with metrics.json alone was stopped while its figures were drawn,
and `gandyn train --resume` draws them."""


def is_finished(run_dir: Path) -> bool:
    """Whether the run in `run_dir` wrote all its results (its numbers and figures)."""
    return (run_dir / "metrics.json").exists() and (run_dir / LAST_FIGURE).exists()


def write_run(run_dir: Path, game, result, spec: RunSpec, kind: str, *,
              on_numbers=None) -> None:
    """The run's results, each file written atomically: first the numbers
    (params.npz, metrics.csv, TensorBoard events, metrics.json), then
    `on_numbers(result)` (the command line prints its table), then the figures
    (curves.png, progress.png, training.gif unless turned off, dynamics.png and, last,
    samples.png: `LAST_FIGURE`)."""
    import csv

    import jax
    import numpy as np

    from ._io import atomic_path, write_json
    from ._train import summary

    def atomic(name, write):
        with atomic_path(run_dir / name) as tmp:
            write(tmp)

    def write_csv(path):
        keys = sorted({k for row in result.history for k in row}, key=lambda k: (k not in ("step", "seed"), k))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(result.history)

    def write_params(path):
        # Each seed's parameters flattened as `ravel_pytree` orders them (the leaves in
        # turn), in NumPy: no program to dispatch per seed and leaf.
        leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(result.final)]
        flat = np.concatenate([x.reshape(len(x), -1) for x in leaves], axis=1)
        with open(path, "wb") as f:
            np.savez(f, flat=flat)

    atomic("params.npz", write_params)
    atomic("metrics.csv", write_csv)
    _write_events(run_dir, game, result, result.samples if kind == "image" else None)
    write_json(run_dir / "metrics.json", {
        "spec": spec.to_dict(), "steps_done": result.steps_done, "interrupted": result.interrupted,
        "diverged_at": result.diverged_at, "summary": summary(result),
        "eigenvalues": {str(k): v for k, v in result.eigenvalues.items()},
        "history": result.history,
        "densities": {str(k): v for k, v in result.densities.items()},
    })
    if on_numbers is not None:
        on_numbers(result)
    draw_figures(run_dir, game, result, spec, kind)


def draw_figures(run_dir: Path, game, result, spec: RunSpec, kind: str) -> None:
    """A finished run's figures, each written atomically, `LAST_FIGURE` last."""
    import jax
    import matplotlib.pyplot as plt
    import numpy as np

    from ._io import atomic_path
    from .plotting import image_gif, image_grids, metric_curves, snapshots, training_gif

    def atomic(name, write):
        with atomic_path(run_dir / name) as tmp:
            write(tmp)
        plt.close("all")  # the figures just saved

    heading = title(spec)
    atomic("curves.png", lambda p: metric_curves(result.history, suptitle=heading).savefig(p, dpi=100))
    if result.densities or any("dynamics/hamiltonian" in r for r in result.history):
        from .plotting import dynamics_figure

        atomic("dynamics.png", lambda p: dynamics_figure(
            result.history, result.densities, suptitle=heading).savefig(p, dpi=100))
    if kind == "image":
        from .plotting import history_row, sample_figure

        atomic("progress.png", lambda p: image_grids(result.samples, history=result.history,
                                                     suptitle=heading).savefig(p, dpi=100))
        if spec.gif:
            atomic("training.gif", lambda p: image_gif(p, result.samples, history=result.history,
                                                       suptitle=heading))
        last = max(result.samples)
        atomic(LAST_FIGURE, lambda p: sample_figure(
            result.samples[last][0][:64], step=last, seed=0,
            row=history_row(result.history, last, 0), settings=heading).savefig(p, dpi=100))
    else:
        reference = np.asarray(game.target.sample(jax.random.key(12345), 5000))
        if spec.gif:
            atomic("training.gif", lambda p: training_gif(p, game, result.checkpoints, result.samples,
                                                          reference, history=result.history,
                                                          suptitle=heading))
        atomic(LAST_FIGURE, lambda p: snapshots(game, result.checkpoints, result.samples,
                                                reference, history=result.history,
                                                suptitle=heading).savefig(p, dpi=100))


def _write_events(run_dir: Path, game, result, images=None) -> None:
    """TensorBoard event files of the run (`gandyn._tensorboard`), if tensorboardX is there."""
    import jax
    from jax.flatten_util import ravel_pytree

    from ._tensorboard import write_events

    one = jax.tree_util.tree_map(lambda x: x[0], result.final)
    sizes = {"G": int(ravel_pytree(one.generator)[0].size),
             "D": int(ravel_pytree(one.discriminator)[0].size)}
    write_events(run_dir, result.history, result.densities, sizes, images)


def kept_points(run_dir: Path, steps: list[int] | None = None, seed_index: int = 0):
    """`(game, {step: parameters of seed `seed_index`}, key)` from a train run folder, at
    the kept `steps` (all of them: None); the key is the run's minibatch key (the one its
    logged eigenvalues used). A one-line `InputError` for a folder that is not a training
    run's, a step it did not keep, or a seed whose parameters there are not finite."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.flatten_util import ravel_pytree

    from ._train import CHECKPOINT, load_checkpoint

    if not run_dir.is_dir() or not (run_dir / "settings.json").is_file() \
            or not (run_dir / CHECKPOINT).is_file():
        raise InputError(f"{str(run_dir)!r} is not a gandyn train run folder (settings.json and "
                         f"{CHECKPOINT})")
    try:
        spec = read_settings(run_dir / "settings.json")
    except InputError as e:
        raise InputError(str(e).removeprefix("cannot resume: ")) from None
    if spec.float64:
        jax.config.update("jax_enable_x64", True)
    game, method, _ = build(spec)
    state = load_checkpoint(run_dir, game, method, h=spec.step, seeds=spec.seeds)
    check_int("--seed-index", seed_index, 0, len(state.diverged_at) - 1)
    kept = {**state.checkpoints, state.step: state.params}
    available = ", ".join(map(str, sorted(kept)))
    chosen = sorted(kept) if not steps else steps
    for n in chosen:
        if n not in kept:
            raise InputError(f"--step {n} is not a step whose parameters the run kept; "
                             f"choose from: {available}")
    points = {}
    for n in dict.fromkeys(chosen):
        y = jax.tree_util.tree_map(lambda x: jnp.asarray(x[seed_index]), kept[n])
        if not np.all(np.isfinite(np.asarray(ravel_pytree(y)[0]))):
            raise InputError(f"seed {seed_index}'s parameters at step {n} are not finite (the run "
                             f"diverged at step {state.diverged_at[seed_index]})")
        points[n] = y
    key = jax.random.split(jax.random.key(spec.seed), 4)[1]
    return game, points, key

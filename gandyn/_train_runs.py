"""Training runs as folders: their settings (`TrainSettings`, the run folder's
`settings.json`), the GAN and method they describe, running them into a folder
(`execute`, what `gandyn.run` calls for a `TrainSettings`), and the files a finished run
writes. The command line's `gandyn train` and `gandyn rerun` are thin layers over this."""

import dataclasses
from pathlib import Path

from ._spec import (
    MAX_SEED,
    MAX_STEPS,
    InputError,
    check_int,
    check_step,
    parse_regularizers,
)


# Defaults that differ between toy targets (MLPs) and images (convnets).
DEFAULTS = {
    "toy": {"step": 1e-3, "steps": 5000, "width": 128, "latent": 2, "batch": 256, "log_every": 250},
    "image": {"step": 2e-4, "steps": 5000, "width": 32, "latent": 32, "batch": 64, "log_every": 500},
}
SMALL_IMAGE_STEP = {"digits": 1e-3, "stacked-digits": 1e-3}
"""The 8×8 digits train at 10⁻³; other images at DCGAN's 2·10⁻⁴ (Radford et al. 2016).
At 2·10⁻⁴ the 8×8 convnets' discriminator wins before the generator finds the digits;
at 10⁻³ the 28×28 generator saturates to a blank image."""


def network_game(data: str) -> str:
    """The registered game a training run on `data` is: `mlp-gan` for a toy target,
    `conv-gan` for images."""
    from . import data as data_registry

    return "mlp-gan" if str(data).lower() in data_registry.names() else "conv-gan"


NETWORK = ("width", "depth", "latent", "batch", "activation", "spectral_norm")
"""The settings that are the network game's options (`mlp-gan`, `conv-gan`), checked by
their declarations; `data` picks the game."""


def network_options(data: str | None = None) -> dict:
    """The network game's options that are settings of a training run (all of them
    for `data` None): `--opt width=64` or `--opt game.spectral_norm=true` sets them as
    `--width 64` or `--spectral-norm` does, and `settings.json` keeps each as a setting
    of its own."""
    from . import games

    names = ("mlp-gan", "conv-gan") if data is None else (network_game(data),)
    declared = {}
    for name in names:
        declared.update({k: v for k, v in games.registry.options(name).items() if k in NETWORK})
    return declared


def _network_declarations(data: str) -> dict:
    """Every network setting's declaration: the data's game's, then `mlp-gan`'s for
    the ones an image run keeps but does not use (depth, activation)."""
    return {**network_options(), **network_options(data)}


def _take_game_options(values: dict, given: dict) -> dict:
    """`values` with the game's options moved out of `values["options"]` into their
    settings; a one-line `InputError` for a bad value or one `given` twice, differently."""
    from ._options import split_name

    options = dict(values.get("options") or {})
    declared = network_options(values.get("data", TrainSettings.data))
    for name in list(options):
        owner, key = split_name(name)
        if key not in declared or owner not in (None, "game"):
            continue
        try:
            value = declared[key].check(options.pop(name))
        except ValueError as e:
            raise InputError(str(e)) from None
        if key in given and given[key] != value:
            raise InputError(f"--opt {name} and {declared[key].flag} disagree: give one")
        values[key] = value
    return {**values, "options": options}


# Bounds of the integer settings: beyond them a run overflows or can never finish.
# The network's (width, depth, latent, batch) are its game's declared options.
_INTS = {"steps": (1, MAX_STEPS), "seeds": (1, 1024), "seed": (0, MAX_SEED),
         "log_every": (1, MAX_STEPS), "checkpoint_every": (1, MAX_STEPS),
         "rotation_probes": (0, 4096), "dynamics_every": (0, MAX_STEPS),
         "dynamics_samples": (1, 65_536)}


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Every setting of a training run, as `settings.json` holds it. `new(**given)`
    fills what was not given with the defaults for the data's kind (toy target or
    images); `from_file` reads and checks a run's `settings.json`."""

    data: str = "ring8"
    loss: str = "nsgan"
    regularizers: tuple[str, ...] = ()
    method: str = "adam"
    step: float = 1e-3
    steps: int = 5000
    seeds: int = 1
    seed: int = 0
    width: int = 128
    depth: int = 3
    latent: int = 2
    batch: int = 256
    activation: str = "relu"
    spectral_norm: bool = False
    log_every: int = 250
    checkpoint_every: int = 250
    gif: bool = True
    float64: bool = False
    # The method's, the loss's and the regularizers' options, by name (`OWNER.NAME`: one's).
    options: dict = dataclasses.field(default_factory=dict)
    rotation_probes: int = 16  # Hutchinson probes of the rotation share per log point; 0: off
    # The flight recorder (`gandyn.Recorder`): at every k-th log point and the last (0: off;
    # `new`: the cadence `default_cadence` picks, at most 25 % of the training;
    # 0 for a run saved before the recorder was on by default), on a fixed evaluation
    # minibatch of `dynamics_samples` (`new`: the run's batch; 256 for an older run).
    dynamics_every: int = 0
    dynamics_samples: int = 256

    @classmethod
    def new(cls, *, dynamics: bool | None = None, **given) -> "TrainSettings":
        """The settings `given`, the rest the data kind's defaults. Unless
        `dynamics_every` is given, the recorder records at the cadence its cost model
        picks (`default_cadence`): off when even the first and the last log points
        would cost more than 25 % of the training, unless `dynamics` (then those two);
        `dynamics=False`: off."""
        settings = cls._new(given)
        if "dynamics_every" in given or dynamics is False:
            return settings
        return dataclasses.replace(settings, dynamics_every=settings.default_cadence(
            at_least_once=bool(dynamics)))

    def default_cadence(self, *, at_least_once: bool = False) -> int:
        """The recorder's cadence at these settings by its cost model (`default_every`):
        the smallest k whose recorded points cost at most 25 % of the training steps."""
        from ._recorder import Recorder, default_every

        return default_every(log_every=self.log_every, steps=self.steps, batch=self.batch,
                             recorder=Recorder(samples=self.dynamics_samples),
                             at_least_once=at_least_once)

    def recorder_line(self) -> str:
        """One line on the recorder's cadence and its modelled cost, for the console."""
        from ._recorder import Recorder, recorded_points, recorder_cost

        if not self.dynamics_every:
            if self.default_cadence():
                return "dynamics not recorded (--no-dynamics)"
            return ("dynamics not recorded: a run this short would spend over 25 % on them "
                    "(--dynamics records its first and last log points)")
        every = self.dynamics_every
        cost = recorder_cost(Recorder(samples=self.dynamics_samples), every,
                             log_every=self.log_every, steps=self.steps, batch=self.batch)
        points = recorded_points(every, self.log_every, self.steps)
        return (f"dynamics recorded every {every * self.log_every:,} steps and at the end: "
                f"{points} points, ≈ {cost:.0%} of the training")

    @classmethod
    def _new(cls, given: dict) -> "TrainSettings":
        from . import data as data_registry

        data = given.get("data", cls.data)
        if not isinstance(data, str) or not data.strip():
            raise InputError("--data must not be empty; give a toy target, digits, stacked-digits "
                             "or a path to images")
        kind = "toy" if data.lower() in data_registry.names() else "image"
        values = _take_game_options({**DEFAULTS[kind], **given}, given)
        if "step" not in given and data.lower() in SMALL_IMAGE_STEP:
            values["step"] = SMALL_IMAGE_STEP[data.lower()]
        values.setdefault("checkpoint_every", values.get("log_every", cls.log_every))
        # The recorder's fixed minibatch: as large as a training step's (the cost of a
        # recorded product is then that of a step's gradient).
        values.setdefault("dynamics_samples", values.get("batch", cls.batch))
        values.setdefault("dynamics_every", 0)
        return cls(**{**values, "regularizers": tuple(values.get("regularizers", ()))}).checked()

    @classmethod
    def from_file(cls, path: Path) -> "TrainSettings":
        from ._io import read_json

        try:
            data = read_json(path, what="settings")
        except ValueError as e:
            raise InputError(f"cannot resume: {e}") from None
        names = [f.name for f in dataclasses.fields(cls)]
        # `options`, `rotation_probes` and the recorder's settings came later: an older run
        # had none, 16 and the recorder off (256 samples).
        data = {"options": {}, "rotation_probes": 16, "dynamics_every": 0,
                "dynamics_samples": cls.dynamics_samples, **data}
        missing = [k for k in names if k not in data]
        if missing:
            raise InputError(f"{str(path)!r} lacks the setting {missing[0]!r}; it is not a gandyn "
                             f"train settings file")
        regs = data["regularizers"]
        if not isinstance(regs, list) or not all(isinstance(r, str) for r in regs):
            raise InputError(f"'regularizers' in {str(path)!r} must be a list of NAME=WEIGHT "
                             f"strings, got {regs!r}")
        return cls(**{**{k: data[k] for k in names}, "regularizers": tuple(regs)}).checked(str(path))

    def checked(self, source: str | None = None) -> "TrainSettings":
        """`self` if every setting has its type and lies in its bounds; a one-line
        `InputError` naming the first bad one otherwise (`source`: the settings file)."""
        def flag(name):
            return f"{name!r} in {source!r}" if source else f"--{name.replace('_', '-')}"

        check_step(self.step, flag("step"))
        if not isinstance(self.data, str):
            raise InputError(f"{flag('data')} must be a string, got {self.data!r}")
        for name, option in _network_declarations(self.data).items():
            try:
                value = option.check(getattr(self, name))
            except ValueError as e:
                raise InputError(f"{flag(name)}: {e}" if source else str(e)) from None
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, value)  # canonical: lower-case
        for name, (low, high) in _INTS.items():
            check_int(flag(name), getattr(self, name), low, high)
        if self.rotation_probes == 1:
            raise InputError(f"{flag('rotation_probes')} must be 0 (off) or at least 2 (a "
                             f"standard error needs two probes), got 1")
        for name in ("data", "loss", "method"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"{flag(name)} must be a string, got {getattr(self, name)!r}")
        for name in ("gif", "float64"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{flag(name)} must be true or false, got {getattr(self, name)!r}")
        if not all(isinstance(r, str) for r in self.regularizers):
            raise InputError(f"{flag('regularizers')} must be NAME=WEIGHT strings, got "
                             f"{list(self.regularizers)!r}")
        if not isinstance(self.options, dict):
            raise InputError(f"{flag('options')} must be a table of NAME = VALUE, got "
                             f"{self.options!r}")
        if self.options:
            object.__setattr__(self, "options", _method_options(
                self.method, self.options, self.loss, self.regularizers))
        return self

    def recorder(self):
        """The run's `gandyn.Recorder`, or None when it is off."""
        from ._recorder import Recorder

        return Recorder(every=self.dynamics_every, samples=self.dynamics_samples) \
            if self.dynamics_every else None

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "regularizers": list(self.regularizers),
                "options": dict(self.options)}


def _method_options(method: str, given: dict, loss: str = "", regularizers=()) -> dict:
    """`given` checked by the declarations of the method's, the loss's and the
    regularizers' options (a name `OWNER.NAME` for one of them alone), kept as given
    with typed values."""
    from . import losses as loss_registry, methods as method_registry, regularizers as reg_registry
    from ._options import assign, split_name

    owners = {method: method_registry.registry.options(method)}
    if loss in loss_registry.registry:
        owners[loss.lower()] = loss_registry.registry.options(loss)
    for text in regularizers:
        name = text.partition("=")[0].strip().lower()
        if name in reg_registry.registry:
            owners[name] = reg_registry.options(name)
    try:
        assign(given, owners, f"method {method!r}, loss {loss!r}"
               + "".join(f", {n}" for n in list(owners)[2:]))
    except ValueError as e:
        raise InputError(str(e)) from None
    canonical = {}
    for name, value in given.items():
        owner, key = split_name(name)
        taker = next(o for o, declared in owners.items() if key in declared
                     and owner in (None, o))
        canonical[key if owner is None else f"{owner}.{key}"] = owners[taker][key].check(value)
    return canonical


def resumed_settings(run_dir: Path, steps: int | None) -> tuple[TrainSettings, Path]:
    """The settings of the run in `run_dir` (with a new step total if given)."""
    from ._train import CHECKPOINT

    path = run_dir / "settings.json"
    if not run_dir.is_dir() or not (run_dir / CHECKPOINT).exists() or not path.exists():
        raise InputError(f"--resume {str(run_dir)!r} is not a run folder with a checkpoint "
                         f"(settings.json and {CHECKPOINT})")
    settings = TrainSettings.from_file(path)
    from ._io import _can_create_in

    if not _can_create_in(run_dir):  # found now, not after the training
        raise InputError(f"cannot resume in {str(run_dir)!r}: the run folder is not writable")
    if steps is not None:
        settings = dataclasses.replace(settings, steps=check_int("--steps", steps))
    return settings, run_dir


def build(settings: TrainSettings):
    """`(game, method, "toy" | "image")` from a run's settings."""
    from . import (
        data as data_registry,
        games,
        losses as loss_registry,
        methods as method_registry,
    )
    from ._methods import AbstractStepMethod

    from ._options import for_owner
    from ._spec import _owner_options

    loss_fn = loss_registry.get(settings.loss, **_owner_options("loss", settings.loss,
                                                                settings.options))
    method_obj = method_registry.get(settings.method, **for_owner(
        settings.options, settings.method.lower(),
        method_registry.registry.options(settings.method)))
    if not isinstance(method_obj, AbstractStepMethod):
        raise InputError(f"--method {settings.method!r} is adaptive; training needs a step method")
    regs = parse_regularizers(settings.regularizers, settings.options)
    name = settings.data
    game_name = network_game(name)
    if game_name == "conv-gan":
        known = name.lower() in data_registry.IMAGE_DATA
        if not known and not Path(name).exists() and "/" not in name and "." not in name:
            raise InputError(f"unknown data {name!r}; choose from: "
                             f"{', '.join(data_registry.names())}, "
                             f"{', '.join(data_registry.IMAGE_DATA.names())}, or a path to "
                             f"image files")
    networks = {k: getattr(settings, k) for k in network_options(name)}
    game = games.get(game_name, loss=loss_fn, regularizers=regs, data=name, **networks)
    return game, method_obj, "toy" if game_name == "mlp-gan" else "image"


IMAGE_CHECKPOINTS = 3  # parameters kept of an image run: the first log point and the last two
RUN_OPTIONS = {"toy": {}, "image": {"keep_samples": 64, "keep_checkpoints": IMAGE_CHECKPOINTS,
                                    "eval_samples": 2000}}


def _check_memory(settings: TrainSettings, game, method, kind: str) -> None:
    """A one-line `InputError` if the run would plan to hold more memory than allowed."""
    from ._budget import check_memory as check
    from ._train import train_memory

    parts = train_memory(game, method, h=settings.step, steps=settings.steps,
                         seeds=settings.seeds, log_every=settings.log_every, **RUN_OPTIONS[kind])
    try:
        check(sum(parts.values()), f"training {settings.seeds} seed(s) for "
              f"{settings.steps:,} steps", parts)
    except ValueError as e:
        raise InputError(str(e)) from None


def execute(settings: TrainSettings, run_dir: Path, *, resume: bool = False, progress=None,
            status=None, announce=None, on_numbers=None):
    """Train what `settings` describes into the run folder `run_dir` (new, or, with
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
    game, method, kind = build(settings)
    _check_memory(settings, game, method, kind)
    state, created = None, []
    if resume:
        try:
            state = load_checkpoint(run_dir, game, method, h=settings.step, seeds=settings.seeds)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot resume from {str(run_dir)!r}: {e}") from None
        if state.step >= settings.steps and is_finished(run_dir):
            raise InputError(f"the run in {str(run_dir)!r} already has {state.step} steps; "
                             f"give --steps above {state.step} to extend it")
        if state.step >= settings.steps:  # killed while writing its results: write them
            announce(f"finishing {run_dir}: its checkpoint has all {state.step} steps")
        else:
            announce(f"resuming {run_dir} at step {state.step} of {settings.steps}")
    else:
        created = make_parents(run_dir)
        run_dir.mkdir()
        write_json(run_dir / "settings.json", settings.to_dict())

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
        announce(settings.recorder_line())
        metrics, extra = None, {}
        if kind == "image":
            import matplotlib.pyplot as plt

            from ._image_metrics import ImageMetrics
            from .plotting import sample_figure

            (run_dir / "samples").mkdir(exist_ok=True)
            with status("preparing the metrics' classifier (cached after the first run)"):
                metrics = ImageMetrics(game.target, seed=settings.seed)
            extra = {**RUN_OPTIONS["image"], "eigen_checkpoints": 0}
        if state is not None and state.step >= settings.steps:
            result = TrainResult.from_state(state)  # killed while writing its results
        else:
            def on_log(step_done, rows, samples):
                progress(live_description(rows[0]), step_done, settings.steps)
                if kind == "image":
                    figure = sample_figure(samples[0][:64], step=step_done, seed=0, row=rows[0],
                                           settings=title(settings))
                    atomic_figure(run_dir / "samples" / f"step_{step_done:07d}.png", figure)
                    plt.close(figure)

            progress("training", 0 if state is None else state.step, settings.steps)
            result = train(game, method, h=settings.step, steps=settings.steps,
                           seeds=settings.seeds, seed=settings.seed, log_every=settings.log_every,
                           metrics=metrics, resume=state, checkpoint_every=settings.checkpoint_every,
                           on_checkpoint=on_checkpoint, on_log=on_log,
                           rotation_probes=settings.rotation_probes,
                           dynamics=settings.recorder(), **extra)
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
        write_run(run_dir, game, result, settings, kind, on_numbers=on_numbers)
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


def title(settings: TrainSettings) -> str:
    """A training run's settings as a figure title."""
    from .plotting import run_title

    return run_title(settings.data, None, losses=[settings.loss],
                     regularizers=list(settings.regularizers), methods=[settings.method],
                     h=settings.step, steps=settings.steps,
                     extra=[f"width {settings.width}, depth {settings.depth}, latent {settings.latent}, "
                            f"batch {settings.batch}" + (", spectral norm" if settings.spectral_norm
                                                         else ""), f"base seed {settings.seed}"])


LAST_FIGURE = "samples.png"
"""The figure a finished run draws last: a folder with metrics.json and it is finished
(`is_finished`); one with metrics.json alone was stopped while its figures were drawn,
and `gandyn train --resume` draws them."""


def is_finished(run_dir: Path) -> bool:
    """Whether the run in `run_dir` wrote all its results (its numbers and figures)."""
    return (run_dir / "metrics.json").exists() and (run_dir / LAST_FIGURE).exists()


def write_run(run_dir: Path, game, result, settings: TrainSettings, kind: str, *,
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
        "settings": settings.to_dict(), "steps_done": result.steps_done, "interrupted": result.interrupted,
        "diverged_at": result.diverged_at, "summary": summary(result),
        "eigenvalues": {str(k): v for k, v in result.eigenvalues.items()},
        "history": result.history,
        "densities": {str(k): v for k, v in result.densities.items()},
    })
    if on_numbers is not None:
        on_numbers(result)
    draw_figures(run_dir, game, result, settings, kind)


def draw_figures(run_dir: Path, game, result, settings: TrainSettings, kind: str) -> None:
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

    heading = title(settings)
    atomic("curves.png", lambda p: metric_curves(result.history, suptitle=heading).savefig(p, dpi=100))
    if result.densities or any("dynamics/hamiltonian" in r for r in result.history):
        from .plotting import dynamics_figure

        atomic("dynamics.png", lambda p: dynamics_figure(
            result.history, result.densities, suptitle=heading).savefig(p, dpi=100))
    if kind == "image":
        from .plotting import history_row, sample_figure

        atomic("progress.png", lambda p: image_grids(result.samples, history=result.history,
                                                     suptitle=heading).savefig(p, dpi=100))
        if settings.gif:
            atomic("training.gif", lambda p: image_gif(p, result.samples, history=result.history,
                                                       suptitle=heading))
        last = max(result.samples)
        atomic(LAST_FIGURE, lambda p: sample_figure(
            result.samples[last][0][:64], step=last, seed=0,
            row=history_row(result.history, last, 0), settings=heading).savefig(p, dpi=100))
    else:
        reference = np.asarray(game.target.sample(jax.random.key(12345), 5000))
        if settings.gif:
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
        settings = TrainSettings.from_file(run_dir / "settings.json")
    except InputError as e:
        raise InputError(str(e).removeprefix("cannot resume: ")) from None
    if settings.float64:
        jax.config.update("jax_enable_x64", True)
    game, method, _ = build(settings)
    state = load_checkpoint(run_dir, game, method, h=settings.step, seeds=settings.seeds)
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
    key = jax.random.split(jax.random.key(settings.seed), 4)[1]
    return game, points, key

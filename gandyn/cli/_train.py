import dataclasses
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    MAX_SEED,
    MAX_STEPS,
    InputError,
    check_int,
    check_positive,
    check_step,
    fail,
    parse_regularizers,
    progress_bar,
    run_directory,
    set_precision,
)
from .. import data as data_registry, losses as loss_registry, methods as method_registry
from .._methods import AbstractStepMethod
from ._options import RegOption


# Defaults that differ between toy targets (MLPs) and images (convnets).
DEFAULTS = {
    "toy": {"step": 1e-3, "steps": 5000, "width": 128, "latent": 2, "batch": 256, "log_every": 250},
    "image": {"step": 1e-3, "steps": 5000, "width": 32, "latent": 32, "batch": 64, "log_every": 500},
}
_RESUMABLE = {"steps"}  # what may be given with --resume (to extend a run)


def train(
    data: Annotated[str | None, typer.Option("--data", "-d", help="Toy target ("
                    + ", ".join(data_registry.names()) + "), image data ("
                    + ", ".join(data_registry.IMAGE_DATA.names()) + ") or a path to images (IDX "
                    "file, CIFAR-10 batch or folder, PNG folder, .npz) (default: ring8).")] = None,
    loss: Annotated[str | None, typer.Option("--loss", "-l", help="Loss: " + ", ".join(
                    loss_registry.names()) + " (default: nsgan).")] = None,
    reg: RegOption = None,
    method: Annotated[str | None, typer.Option("--method", "-m", help="Method (a step method): "
                      + ", ".join(n for n in method_registry.names()
                                  if isinstance(method_registry.get(n), AbstractStepMethod))
                      + " (default: adam).")] = None,
    step: Annotated[float | None, typer.Option("--step", "-s", help="Step size / learning rate "
                    "(default: 1e-3).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", "-n", help="Training steps (default: 5000); "
                     "with --resume, the new total.")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", help="Independent runs, trained at once "
                     "(default: 1).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Base seed (default: 0).")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Hidden units per layer (toy) or base "
                     "channels (images) (default: 128 toy, 32 images).")] = None,
    depth: Annotated[int | None, typer.Option("--depth", help="Hidden layers per MLP (toy) "
                     "(default: 3).")] = None,
    latent: Annotated[int | None, typer.Option("--latent", help="Latent size (default: 2 toy, 32 "
                      "images).")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Minibatch size (default: 256 toy, "
                     "64 images).")] = None,
    activation: Annotated[str | None, typer.Option("--activation", help="MLP activation: relu, "
                          "leaky_relu, tanh, elu, softplus (default: relu).")] = None,
    spectral_norm: Annotated[bool | None, typer.Option("--spectral-norm", help="Spectrally "
                             "normalize the discriminator.")] = None,
    log_every: Annotated[int | None, typer.Option("--log-every", help="Steps between logs "
                         "(default: 250 toy, 500 images).")] = None,
    checkpoint_every: Annotated[int | None, typer.Option("--checkpoint-every", help="Steps between "
                                "checkpoints (default: --log-every).")] = None,
    gif: Annotated[bool | None, typer.Option("--gif/--no-gif", help="Write training.gif "
                   "(default: yes).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run folders.")] = Path("runs"),
    float64: Annotated[bool | None, typer.Option("--float64", help="Compute in double "
                       "precision.")] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this folder "
                      "from its last checkpoint (its settings are kept; --steps may extend it).")] = None,
) -> None:
    """Train GANs (several seeds at once): MLPs on a toy target, convnets on images.
    A run folder gets settings.json and checkpoints as it goes, then metrics.json /
    metrics.csv, figures, a GIF and the final parameters."""
    options = {"data": data, "loss": loss, "regularizers": reg, "method": method, "step": step,
               "steps": steps, "seeds": seeds, "seed": seed, "width": width, "depth": depth,
               "latent": latent, "batch": batch, "activation": activation,
               "spectral_norm": spectral_norm, "log_every": log_every,
               "checkpoint_every": checkpoint_every, "gif": gif, "float64": float64}
    given = {k: v for k, v in options.items() if v is not None}
    try:
        if resume is not None:
            extra = sorted(set(given) - _RESUMABLE)
            if extra:
                flag = "reg" if extra[0] == "regularizers" else extra[0]
                raise InputError(f"--resume takes the settings from {str(resume / 'settings.json')!r}; "
                                 f"only --steps may be given, not --{flag.replace('_', '-')}")
            settings, run_dir = _resumed_settings(resume, given.get("steps"))
        else:
            settings = TrainSettings.new(**given)
            run_dir = run_directory(out, "train")
        set_precision(settings.float64)
        game, method_obj, target_kind = _build(settings)
    except (InputError, ValueError) as e:
        fail(str(e))

    from .._io import make_parents, remove_empty, write_json
    from .._train import CHECKPOINT, TrainResult, load_checkpoint, save_checkpoint, train as run_training

    console = Console(stderr=True)
    state, created = None, []
    if resume is not None:
        try:
            state = load_checkpoint(run_dir, game, method_obj, h=settings.step, seeds=settings.seeds)
        except (OSError, ValueError) as e:
            fail(f"cannot resume from {str(run_dir)!r}: {e}")
        if state.step >= settings.steps and (run_dir / "metrics.json").exists():
            fail(f"the run in {str(run_dir)!r} already has {state.step} steps; "
                 f"give --steps above {state.step} to extend it")
        if state.step >= settings.steps:  # killed while writing its results: write them
            console.print(f"finishing {run_dir}: its checkpoint has all {state.step} steps")
        else:
            console.print(f"resuming {run_dir} at step {state.step} of {settings.steps}")
    else:
        created = make_parents(run_dir)
        run_dir.mkdir()
        write_json(run_dir / "settings.json", settings.to_dict())

    def discard() -> None:
        """Remove a new run folder that holds no checkpoint yet (nothing worth keeping)."""
        if state is None and not (run_dir / CHECKPOINT).exists():
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
            remove_empty(created)

    checkpointed = [None if state is None else state.step]

    def on_checkpoint(s) -> None:
        save_checkpoint(run_dir, s)
        checkpointed[0] = s.step

    try:
        metrics, extra_kwargs = None, {}
        if target_kind == "image":
            import matplotlib.pyplot as plt

            from .._image_metrics import ImageMetrics
            from ..plotting._images import sample_figure

            (run_dir / "samples").mkdir(exist_ok=True)
            with console.status("preparing the metrics' classifier (cached after the first run)"):
                metrics = ImageMetrics(game.target, seed=settings.seed)
            extra_kwargs = {"keep_samples": 64, "keep_checkpoints": False, "eval_samples": 2000,
                            "eigen_checkpoints": 0}
        if state is not None and state.step >= settings.steps:
            result = TrainResult.from_state(state)
        else:
            with progress_bar() as bar:
                task = bar.add_task("training", total=settings.steps,
                                    completed=0 if state is None else state.step)

                def on_log(step_done, rows, samples):
                    bar.update(task, completed=step_done, description=_live(rows[0]))
                    if target_kind == "image":
                        from .._io import atomic_figure

                        figure = sample_figure(samples[0][:64], step=step_done, seed=0,
                                               row=rows[0], settings=_title(settings))
                        atomic_figure(run_dir / "samples" / f"step_{step_done:07d}.png", figure)
                        plt.close(figure)

                result = run_training(
                    game, method_obj, h=settings.step, steps=settings.steps,
                    seeds=settings.seeds, seed=settings.seed, log_every=settings.log_every,
                    metrics=metrics, resume=state, checkpoint_every=settings.checkpoint_every,
                    on_checkpoint=on_checkpoint, on_log=on_log, **extra_kwargs,
                )
    except KeyboardInterrupt:
        result = None
    except BaseException:
        discard()
        raise
    if result is None or result.interrupted:
        done = checkpointed[0] if result is None else result.steps_done
        if checkpointed[0] is None:
            discard()
            where = "" if done is None else f" at step {done}"
            typer.echo(f"Interrupted{where}, before the first checkpoint (every "
                       f"{settings.checkpoint_every} steps): nothing was kept.", err=True)
            raise typer.Exit(130)
        if result is not None:
            _write(run_dir, game, result, settings, target_kind)
        typer.echo(f"Interrupted at step {done}; the run is kept at its checkpoint of step "
                   f"{checkpointed[0]}. Continue it with:", err=True)
        typer.echo(f"gandyn train --resume {shlex.quote(str(run_dir))}", err=True)
        raise typer.Exit(130)
    _write(run_dir, game, result, settings, target_kind)
    _print_summary(result, target_kind)
    typer.echo(f"wrote {run_dir}")
    typer.echo(_status_line(result))


def _live(live: dict) -> str:
    """The progress bar's description: seed 0's latest metrics."""
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


# Bounds of the integer settings: beyond them a run overflows or can never finish.
_INTS = {"steps": (1, MAX_STEPS), "seeds": (1, 1024), "seed": (0, MAX_SEED),
         "width": (1, 4096), "depth": (1, 64), "latent": (1, 4096), "batch": (1, 65_536),
         "log_every": (1, MAX_STEPS), "checkpoint_every": (1, MAX_STEPS)}


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

    @classmethod
    def new(cls, **given) -> "TrainSettings":
        from .. import data as data_registry

        data = given.get("data", cls.data)
        if not isinstance(data, str) or not data.strip():
            raise InputError("--data must not be empty; give a toy target, digits, stacked-digits "
                             "or a path to images")
        kind = "toy" if data.lower() in data_registry.names() else "image"
        values = {**DEFAULTS[kind], **given}
        values.setdefault("checkpoint_every", values.get("log_every", cls.log_every))
        return cls(**{**values, "regularizers": tuple(values.get("regularizers", ()))}).checked()

    @classmethod
    def from_file(cls, path: Path) -> "TrainSettings":
        from .._io import read_json

        try:
            data = read_json(path, what="settings")
        except ValueError as e:
            raise InputError(f"cannot resume: {e}") from None
        names = [f.name for f in dataclasses.fields(cls)]
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
        for name, (low, high) in _INTS.items():
            check_int(flag(name), getattr(self, name), low, high)
        for name in ("data", "loss", "method", "activation"):
            if not isinstance(getattr(self, name), str):
                raise InputError(f"{flag(name)} must be a string, got {getattr(self, name)!r}")
        for name in ("spectral_norm", "gif", "float64"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{flag(name)} must be true or false, got {getattr(self, name)!r}")
        if not all(isinstance(r, str) for r in self.regularizers):
            raise InputError(f"{flag('regularizers')} must be NAME=WEIGHT strings, got "
                             f"{list(self.regularizers)!r}")
        return self

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "regularizers": list(self.regularizers)}


def _resumed_settings(run_dir: Path, steps: int | None) -> tuple[TrainSettings, Path]:
    """The settings of the run in `run_dir` (with a new step total if given)."""
    from .._train import CHECKPOINT

    path = run_dir / "settings.json"
    if not run_dir.is_dir() or not (run_dir / CHECKPOINT).exists() or not path.exists():
        raise InputError(f"--resume {str(run_dir)!r} is not a run folder with a checkpoint "
                         f"(settings.json and {CHECKPOINT})")
    settings = TrainSettings.from_file(path)
    if steps is not None:
        settings = dataclasses.replace(settings, steps=check_positive("--steps", steps))
    return settings, run_dir


def _build(settings: TrainSettings):
    """`(game, method, "toy" | "image")` from a run's settings."""
    from .. import ConvGAN, MLPGAN, data as data_registry, losses as loss_registry, methods as method_registry
    from .._methods import AbstractStepMethod

    loss_fn = loss_registry.get(settings.loss)
    method_obj = method_registry.get(settings.method)
    if not isinstance(method_obj, AbstractStepMethod):
        raise InputError(f"--method {settings.method!r} is adaptive; training needs a step method")
    regs = parse_regularizers(settings.regularizers)
    name = settings.data
    if name.lower() in data_registry.names():
        game = MLPGAN(loss_fn, data_registry.get(name), width=settings.width, depth=settings.depth,
                      latent_size=settings.latent, batch_size=settings.batch,
                      activation=settings.activation, spectral_norm=settings.spectral_norm,
                      regularizers=regs)
        return game, method_obj, "toy"
    known = name.lower() in data_registry.IMAGE_DATA
    if not known and not Path(name).exists() and "/" not in name and "." not in name:
        raise InputError(f"unknown data {name!r}; choose from: {', '.join(data_registry.names())}, "
                         f"{', '.join(data_registry.IMAGE_DATA.names())}, or a path to image files")
    images = data_registry.load(name.lower() if known else name)
    game = ConvGAN(loss_fn, images, width=settings.width, latent_size=settings.latent,
                   batch_size=settings.batch, spectral_norm=settings.spectral_norm, regularizers=regs)
    return game, method_obj, "image"


def _title(settings: "TrainSettings") -> str:
    """A training run's settings as a figure title."""
    from ..plotting._style import run_title

    return run_title(settings.data, None, losses=[settings.loss],
                     regularizers=list(settings.regularizers), methods=[settings.method],
                     h=settings.step, steps=settings.steps,
                     extra=[f"width {settings.width}, depth {settings.depth}, latent {settings.latent}, "
                            f"batch {settings.batch}" + (", spectral norm" if settings.spectral_norm
                                                         else ""), f"base seed {settings.seed}"])


def _write(run_dir: Path, game, result, settings: TrainSettings, kind: str) -> None:
    """The run's results, each file written atomically: params.npz, metrics.csv,
    figures, training.gif (unless turned off) and, last, metrics.json."""
    import csv

    import jax
    import numpy as np
    import matplotlib.pyplot as plt
    from jax.flatten_util import ravel_pytree

    from .._io import atomic_path, write_json
    from .._train import summary
    from ..plotting import image_gif, image_grids, metric_curves, snapshots, training_gif

    def atomic(name, write):
        with atomic_path(run_dir / name) as tmp:
            write(tmp)
        plt.close("all")  # the figures just saved

    def write_csv(path):
        keys = sorted({k for row in result.history for k in row}, key=lambda k: (k not in ("step", "seed"), k))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(result.history)

    def write_params(path):
        flat = np.stack([np.asarray(ravel_pytree(jax.tree_util.tree_map(lambda x: x[s], result.final))[0])
                         for s in range(len(result.diverged_at))])
        with open(path, "wb") as f:
            np.savez(f, flat=flat)

    atomic("params.npz", write_params)
    atomic("metrics.csv", write_csv)
    title = _title(settings)
    atomic("curves.png", lambda p: metric_curves(result.history, suptitle=title).savefig(p, dpi=100))
    if kind == "image":
        from ..plotting._images import _row, sample_figure

        last = max(result.samples)
        atomic("samples.png", lambda p: sample_figure(
            result.samples[last][0][:64], step=last, seed=0,
            row=_row(result.history, last, 0), settings=title).savefig(p, dpi=100))
        atomic("progress.png", lambda p: image_grids(result.samples, history=result.history,
                                                     suptitle=title).savefig(p, dpi=100))
        if settings.gif:
            atomic("training.gif", lambda p: image_gif(p, result.samples, history=result.history))
    else:
        reference = np.asarray(game.target.sample(jax.random.key(12345), 5000))
        atomic("samples.png", lambda p: snapshots(game, result.checkpoints, result.samples,
                                                  reference, history=result.history,
                                                  suptitle=title).savefig(p, dpi=100))
        if settings.gif:
            atomic("training.gif", lambda p: training_gif(p, game, result.checkpoints, result.samples,
                                                          reference, history=result.history,
                                                          suptitle=title))
    # Last: a run folder with metrics.json is a finished (or interrupted) run.
    write_json(run_dir / "metrics.json", {
        "settings": settings.to_dict(), "steps_done": result.steps_done, "interrupted": result.interrupted,
        "diverged_at": result.diverged_at, "summary": summary(result),
        "eigenvalues": {str(k): v for k, v in result.eigenvalues.items()},
        "history": result.history,
    })


_COLUMNS = {  # metric key → (column title, format)
    "modes": ("modes", None), "high_quality": ("high quality", "{:.0%}"), "kl": ("KL (bits)", "{:.3g}"),
    "energy": ("energy", "{:.3g}"), "fd": ("Fréchet", "{:.4g}"), "fd_pixels": ("Fréchet (pixels)", "{:.4g}"),
    "classes_covered": ("classes", None), "class_kl": ("class KL", "{:.3g}"),
    "mode_kl": ("mode KL", "{:.3g}"), "confidence": ("confidence", "{:.2f}"),
}


def _print_summary(result, kind: str) -> None:
    from .._train import summary

    rows = summary(result)
    keys = [k for k in _COLUMNS if any(k in r for r in rows)]
    table = Table("seed", "status", *[_COLUMNS[k][0] for k in keys], "L_D", box=None,
                  title=f"after {result.steps_done} steps")
    for r in rows:
        status = f"diverged at {r['diverged_at']}" if r["status"] == "diverged" else r["status"]
        cells = []
        for k in keys:
            if r.get(k) is None:
                cells.append("—")
            elif k in ("modes", "classes_covered"):
                total = r["modes_total" if k == "modes" else "classes_total"]
                cells.append(f"{r[k]}/{total}")
            else:
                cells.append(_COLUMNS[k][1].format(r[k]))
        loss = r["discriminator_loss"]
        table.add_row(str(r["seed"]), status, *cells, "—" if loss is None else f"{loss:.3g}")
    Console(width=120).print(table)


def _status_line(result) -> str:
    """One line on how the run ended, e.g. `status: seed 0 diverged at step 40`."""
    from .._train import summary

    parts = []
    for r in summary(result):
        text = f"seed {r['seed']} {r['status']}"
        if r["status"] == "diverged":
            text += f" at step {r['diverged_at']}"
        for covered, total, what in (("modes", "modes_total", "modes"),
                                     ("classes_covered", "classes_total", "classes")):
            if r.get(covered) is not None and r["status"] != "diverged":
                text += f" ({r[covered]}/{r[total]} {what})"
        parts.append(text)
    return "status: " + "; ".join(parts)

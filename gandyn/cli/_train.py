import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .. import data as data_registry, losses as loss_registry, methods as method_registry
from .._methods import AbstractStepMethod
from .._spec import RunSpec
from .._train_runs import resumed_settings as _resumed_settings
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
from ._options import OptOption, RegOption

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
                    "(default: 1e-3 toy and 8×8 digits, 2e-4 other images).")] = None,
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
    rotation_probes: Annotated[int | None, typer.Option("--rotation-probes", help="Hutchinson "
                               "probes of the rotation share logged at every log point; 0 turns "
                               "it off (default: 16).")] = None,
    dynamics: Annotated[bool | None, typer.Option("--dynamics/--no-dynamics", help="Record the "
                        "game's dynamics at log points (Jacobian and Hessian eigenvalue "
                        "extremes, Hessian spectral densities, ½‖v‖², path cosine) into "
                        "metrics.json, dynamics.png and TensorBoard event files (default: on, "
                        "at the cadence that keeps its cost within 25 % of the training; off "
                        "when a run is too short for that; --dynamics: then at its first and "
                        "last log points).")] = None,
    dynamics_every: Annotated[int | None, typer.Option("--dynamics-every", help="Record every "
                              "k-th log point (and the last); implies --dynamics (default: "
                              "the cost model's cadence, printed at the start).")] = None,
    dynamics_samples: Annotated[int | None, typer.Option("--dynamics-samples", help="Size of "
                                "the fixed minibatch the dynamics are recorded on; implies "
                                "--dynamics (default: the --batch size).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run folders.")] = Path("runs"),
    float64: Annotated[bool | None, typer.Option("--float64", help="Compute in double "
                       "precision.")] = None,
    opt: OptOption = None,
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
               "checkpoint_every": checkpoint_every, "gif": gif, "float64": float64,
               "rotation_probes": rotation_probes, "dynamics_every": dynamics_every,
               "dynamics_samples": dynamics_samples}
    given = {k: v for k, v in options.items() if v is not None}
    try:
        if dynamics is False:
            if given.get("dynamics_every"):
                raise InputError("--no-dynamics turns the recorder off; give no --dynamics-every")
            given["dynamics_every"] = 0
        elif dynamics and given.get("dynamics_every") == 0:
            raise InputError("--dynamics-every 0 turns the recorder off; give --no-dynamics "
                             "or k ≥ 1")
        elif "dynamics_samples" in given:
            dynamics = True
        if opt:
            given["options"] = parse_options(opt)
        if resume is not None:
            extra = sorted(set(given) - _RESUMABLE)
            if extra:
                flag = {"regularizers": "reg", "options": "opt"}.get(extra[0], extra[0])
                raise InputError(f"--resume takes the settings from {str(resume / 'settings.json')!r}; "
                                 f"only --steps may be given, not --{flag.replace('_', '-')}")
            settings, run_dir = _resumed_settings(resume, given.get("steps"))
        else:
            settings = RunSpec.train(dynamics=dynamics, **given)
            run_dir = run_directory(out, "train")
        set_precision(settings.float64)
    except (InputError, ValueError) as e:
        fail(str(e))
    run_training(settings, run_dir, resume=resume is not None)


def run_training(settings: RunSpec, run_dir: Path, *, resume: bool = False) -> None:
    """Train into `run_dir` (`gandyn.run`), printing progress, the summary and how it
    ended; Ctrl-C says what was kept and how to continue (exit 130)."""
    from .._execute import run

    console = Console(stderr=True)
    shown = []

    def show(outcome) -> None:  # the numbers are written; the figures come next
        if not outcome.interrupted:
            _print_summary(outcome.result)
            shown.append(True)

    try:
        with progress_bar() as bar:
            outcome = run(settings, run_dir, resume=resume, progress=progress_callback(bar),
                          status=console.status, announce=console.print,
                          on_numbers=numbers_printer(bar, show))
    except (InputError, ValueError) as e:
        fail(str(e))
    result = outcome.result
    if outcome.interrupted:
        done = outcome.checkpointed if result is None else result.steps_done
        if outcome.checkpointed is None:
            where = "" if done is None else f" at step {done}"
            typer.echo(f"Interrupted{where}, before the first checkpoint (every "
                       f"{settings.checkpoint_every} steps): nothing was kept.", err=True)
            raise typer.Exit(130)
        typer.echo(f"Interrupted at step {done}; the run is kept at its checkpoint of step "
                   f"{outcome.checkpointed}. Continue it with:", err=True)
        typer.echo(f"gandyn train --resume {shlex.quote(str(run_dir))}", err=True)
        raise typer.Exit(130)
    if not shown:
        _print_summary(result)
    typer.echo(f"wrote {run_dir}")
    typer.echo(_status_line(result))


_COLUMNS = {  # metric key → (column title, format)
    "modes": ("modes", None), "high_quality": ("high quality", "{:.0%}"), "kl": ("KL (bits)", "{:.3g}"),
    "energy": ("energy", "{:.3g}"), "fd": ("Fréchet", "{:.4g}"), "fd_pixels": ("Fréchet (pixels)", "{:.4g}"),
    "classes_covered": ("classes", None), "class_kl": ("class KL", "{:.3g}"),
    "mode_kl": ("mode KL", "{:.3g}"), "confidence": ("confidence", "{:.2f}"),
}


def _print_summary(result) -> None:
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

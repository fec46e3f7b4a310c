from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ._common import (
    InputError,
    check_positive,
    check_step,
    fail,
    parse_regularizers,
    progress_bar,
    run_directory,
    set_precision,
)
from ._simulate import RegOption


def train(
    data: Annotated[str, typer.Option("--data", "-d", help="Target: gaussian, bimodal, ring8, "
                                      "grid25, grid16, spiral.")] = "ring8",
    loss: Annotated[str, typer.Option("--loss", "-l", help="Loss (`gandyn losses`).")] = "nsgan",
    reg: RegOption = None,
    method: Annotated[str, typer.Option("--method", "-m", help="Method (`gandyn simulate --help`), "
                                        "e.g. adam, rk4, rk4-playerwise.")] = "adam",
    step: Annotated[float, typer.Option("--step", "-h", help="Step size / learning rate.")] = 1e-3,
    steps: Annotated[int, typer.Option("--steps", "-n", help="Training steps.")] = 5000,
    seeds: Annotated[int, typer.Option("--seeds", help="Independent runs, trained at once.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Base seed.")] = 0,
    width: Annotated[int, typer.Option("--width", help="Hidden units per layer.")] = 128,
    depth: Annotated[int, typer.Option("--depth", help="Hidden layers per network.")] = 3,
    latent: Annotated[int, typer.Option("--latent", help="Latent size.")] = 2,
    batch: Annotated[int, typer.Option("--batch", help="Minibatch size.")] = 256,
    activation: Annotated[str, typer.Option("--activation", help="relu, leaky_relu, tanh, elu, "
                                            "softplus.")] = "relu",
    spectral_norm: Annotated[bool, typer.Option("--spectral-norm", help="Spectrally normalize "
                                                "the discriminator.")] = False,
    log_every: Annotated[int, typer.Option("--log-every", help="Steps between logs.")] = 250,
    gif: Annotated[bool, typer.Option("--gif/--no-gif", help="Write training.gif.")] = True,
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for run folders.")] = Path("runs"),
    float64: Annotated[bool, typer.Option("--float64", help="Compute in double precision.")] = False,
) -> None:
    """Train MLP GANs on a toy target (several seeds at once); write metrics.json /
    metrics.csv, figures, a GIF and the final parameters to a new run folder."""
    from .. import data as data_registry, losses as loss_registry, methods as method_registry

    try:
        target = data_registry.get(data)
        loss_fn = loss_registry.get(loss)
        method_obj = method_registry.get(method)
        from .._methods import AbstractStepMethod

        if not isinstance(method_obj, AbstractStepMethod):
            raise InputError(f"--method {method!r} is adaptive; training needs a step method")
        check_step(step)
        for name, value in (("--steps", steps), ("--seeds", seeds), ("--width", width),
                            ("--depth", depth), ("--latent", latent), ("--batch", batch),
                            ("--log-every", log_every)):
            check_positive(name, value)
        regs = parse_regularizers(reg)
        from .. import MLPGAN

        game = MLPGAN(loss_fn, target, width=width, depth=depth, latent_size=latent,
                      batch_size=batch, activation=activation, spectral_norm=spectral_norm,
                      regularizers=regs)
        run_dir = run_directory(out, "train")
    except (InputError, ValueError) as e:
        fail(str(e))
    set_precision(float64)

    from .._train import summary, train as run_training

    console = Console(stderr=True)
    with progress_bar() as bar:
        task = bar.add_task("training", total=steps)

        def on_log(step_done, rows):
            live = rows[0]
            text = f"step {step_done}"
            if "modes" in live:
                text += f" · modes {live['modes']}/{live['modes_total']} · HQ {live['high_quality']:.0%}"
            if "kl" in live:
                text += f" · KL {live['kl']:.3g}"
            bar.update(task, completed=step_done, description=text)

        result = run_training(game, method_obj, h=step, steps=steps, seeds=seeds, seed=seed,
                              log_every=log_every, on_log=on_log)
    if result.interrupted:
        console.print(f"interrupted at step {result.steps_done}: keeping what was logged")
    _write(run_dir, game, result, locals_settings(data, loss, reg, method, step, steps, seeds, seed,
                                                  width, depth, latent, batch, activation,
                                                  spectral_norm, log_every, float64), gif)
    _print_summary(result, summary(result))
    typer.echo(f"wrote {run_dir}")


def locals_settings(data, loss, reg, method, step, steps, seeds, seed, width, depth, latent, batch,
                    activation, spectral_norm, log_every, float64) -> dict:
    return {"data": data, "loss": loss, "regularizers": list(reg or []), "method": method,
            "step": step, "steps": steps, "seeds": seeds, "seed": seed, "width": width,
            "depth": depth, "latent": latent, "batch": batch, "activation": activation,
            "spectral_norm": spectral_norm, "log_every": log_every, "float64": float64}


def _write(run_dir: Path, game, result, settings: dict, gif: bool) -> None:
    import csv

    import numpy as np
    from jax.flatten_util import ravel_pytree

    from .._runs import atomic_directory, write_json
    from .._train import summary
    from ..plotting import metric_curves, snapshots, training_gif

    reference = np.asarray(game.target.sample(__import__("jax").random.key(12345), 5000))
    with atomic_directory(run_dir) as tmp:
        write_json(tmp / "metrics.json", {
            "settings": settings, "steps_done": result.steps_done, "interrupted": result.interrupted,
            "diverged_at": result.diverged_at, "summary": summary(result),
            "eigenvalues": {str(k): v for k, v in result.eigenvalues.items()},
            "history": result.history,
        })
        keys = sorted({k for row in result.history for k in row}, key=lambda k: (k not in ("step", "seed"), k))
        with open(tmp / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, keys)
            writer.writeheader()
            writer.writerows(result.history)
        flat = np.stack([np.asarray(ravel_pytree(__import__("jax").tree_util.tree_map(lambda x: x[s], result.final))[0])
                         for s in range(len(result.diverged_at))])
        np.savez(tmp / "params.npz", flat=flat)
        snapshots(game, result.checkpoints, result.samples, reference).savefig(tmp / "samples.png", dpi=100)
        metric_curves(result.history).savefig(tmp / "curves.png", dpi=100)
        if gif:
            training_gif(tmp / "training.gif", game, result.checkpoints, result.samples, reference)


def _print_summary(result, rows) -> None:
    table = Table("seed", "status", "modes", "high quality", "KL (bits)", "energy", "L_D", box=None,
                  title=f"after {result.steps_done} steps")
    for r in rows:
        status = f"diverged at {r['diverged_at']}" if r["diverged_at"] is not None else "trained"
        modes = f"{r['modes']}/{r['modes_total']}" if "modes" in r else "—"
        fmt = lambda k, f: f.format(r[k]) if k in r else "—"  # noqa: E731
        table.add_row(str(r["seed"]), status, modes, fmt("high_quality", "{:.0%}"), fmt("kl", "{:.3g}"),
                      fmt("energy", "{:.3g}"), f"{r['discriminator_loss']:.3g}")
    Console(width=110).print(table)

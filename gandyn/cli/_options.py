"""Options shared by the commands, defined once; their choices come from the registries."""

from pathlib import Path
from typing import Annotated

import typer

from .. import games, losses, methods, regularizers


DEFAULT_LOSSES = ["sgan", "rsgan", "wgan"]
DEFAULT_METHODS = ["simgd", "altgd", "rk4"]

GameOption = Annotated[
    str, typer.Option("--game", "-g", help="Game: " + ", ".join(games.names()) + ", or a "
                      "user's MODULE:FUNCTION returning a gandyn game (default: dirac).")]
DimOption = Annotated[int | None, typer.Option("--dim", help="Dimension of the game's parameters "
                      "(dirac, bilinear, quadratic; default 1).")]
RealPointOption = Annotated[float | None, typer.Option(
    "--real-point", help="Position c of the real data (dirac: its point mass; gaussian: its "
    "mean) (default: 0).")]
BiasOption = Annotated[bool | None, typer.Option("--bias", help="Give the critic a bias: "
                       "C(x) = w·x + b (dirac, gaussian).")]
CriticOption = Annotated[str | None, typer.Option("--critic", help="dirac's critic: linear "
                         "(x·ψ) or normalized (x·ψ/‖ψ‖) (default: linear).")]
LossOption = Annotated[list[str] | None, typer.Option(
    "--loss", "-l", help="Loss of a GAN game (repeatable): " + ", ".join(losses.names())
    + f" (default: {', '.join(DEFAULT_LOSSES)}).")]
MethodOption = Annotated[list[str] | None, typer.Option(
    "--method", "-m", help="Method (repeatable): " + ", ".join(methods.names())
    + ", or modified:NAME, the flow of method NAME's modified field of order k (--opt "
    "order=k, backward error analysis), saved once per step h, or sde:NAME, its SDE on "
    "minibatches of B examples (--opt batch=B)"
    + f" (default: {', '.join(DEFAULT_METHODS)}).")]
RegOption = Annotated[list[str] | None, typer.Option(
    "--reg", "-r", help="Regularizer of a GAN game, NAME=WEIGHT (repeatable): "
    + ", ".join(regularizers.names()) + ". E.g. --reg r1=1 --reg consensus=0.5.")]
StepOption = Annotated[float, typer.Option("--step", "-s", help="Step size h (learning rate).")]
StepsOption = Annotated[int, typer.Option("--steps", "-n", help="Number of steps.")]
InitOption = Annotated[list[str] | None, typer.Option(
    "--init", help="Initial point: the game's parameters, comma-separated (θ,ψ for the "
    "Dirac-GAN; θ,ψ,b with --bias); repeatable (default: the game's default start, 1,1).")]
RandomInitsOption = Annotated[int, typer.Option(
    "--random-inits", help="Add N initial points uniform in ±2 around the equilibrium.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed for random inits and minibatches.")]
Float64Option = Annotated[bool, typer.Option("--float64", help="Compute in double precision.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder for run folders.")]


def _declared() -> str:
    """`owner: option, …; …` for every registered game, method, loss and regularizer
    that declares options (`mlp-gan` and `conv-gan`: `gandyn train`'s networks)."""
    parts = []
    for registry, declared in ((games.registry, games.registry.options),
                               (methods.registry, methods.registry.options),
                               (losses.registry, losses.registry.options),
                               (regularizers.registry, regularizers.options)):
        for name in registry.names():
            if declared(name):
                parts.append(f"{name}: {', '.join(declared(name))}")
    parts.append("modified:NAME: order, substeps and NAME's own")
    parts.append("sde:NAME: batch, order, examples, drift_examples, substeps and NAME's own")
    return "; ".join(parts)


OptOption = Annotated[list[str] | None, typer.Option(
    "--opt", help="An option of the game, a method, a loss or a regularizer, NAME=VALUE "
    "(repeatable; OWNER.NAME=VALUE for one of them alone), e.g. --opt std=2 (gaussian), "
    "--opt discriminator_steps=5 (altgd), --opt nsgan.h=linear, --opt gp.center=0. Declared "
    "options: " + _declared() + ".")]

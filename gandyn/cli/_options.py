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
    """`owner: option, …; …` for every registered game and method that declares options."""
    parts = []
    for registry in (games.registry, methods.registry):
        for name in registry.names():
            declared = registry.options(name)
            if declared:
                parts.append(f"{name}: {', '.join(declared)}")
    return "; ".join(parts)


OptOption = Annotated[list[str] | None, typer.Option(
    "--opt", help="An option of the game or of a method, NAME=VALUE (repeatable), e.g. "
    "--opt std=2 (gaussian) or --opt discriminator_steps=5 (altgd). Declared options: "
    + _declared() + ".")]

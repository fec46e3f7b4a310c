"""The `gandyn` command line: a thin layer over the library."""

import typer

from . import _eigen, _losses, _portrait, _simulate, _sweep, _train


app = typer.Typer(
    name="gandyn",
    help="GAN training dynamics: simulate games as ODE flows and optimizer maps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("simulate")(_simulate.simulate)
app.command("portrait")(_portrait.portrait)
app.command("eigen")(_eigen.eigen)
app.command("sweep")(_sweep.sweep)
app.command("train")(_train.train)
app.command("losses")(_losses.losses)


def main() -> None:
    app()

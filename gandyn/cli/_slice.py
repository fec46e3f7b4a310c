"""`gandyn slice RUN_DIR`: the field of a trained GAN in a plane through its checkpoints."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from .._train_runs import kept_points
from ._common import InputError, check_int, check_writable, fail, progress_bar


class Directions(enum.StrEnum):
    eigen = "eigen"
    players = "players"


def slice(  # noqa: A001 - the command's name
    run_dir: Annotated[Path, typer.Argument(help="A folder written by `gandyn train`.",
                                            show_default=False)],
    step: Annotated[list[int] | None, typer.Option("--step", help="A logged step whose "
                    "parameters the run kept (repeatable; default: every one; an image run "
                    "keeps its last).")] = None,
    directions: Annotated[Directions, typer.Option("--directions", help="The plane: 'eigen' (the "
                          "rotation plane of the leading complex pair of the Jacobian, by "
                          "Arnoldi) or 'players' (the generator's and the discriminator's parts "
                          "of the field).")] = Directions.eigen,
    seed_index: Annotated[int, typer.Option("--seed-index", help="Which of the run's seeds "
                          "(0-based).")] = 0,
    resolution: Annotated[int, typer.Option("--resolution", help="Grid points per axis.")] = 21,
    lim: Annotated[float | None, typer.Option("--lim", help="Half-width of the window in "
                   "parameter units (default: where the linear part is 3× the field at the "
                   "checkpoint).")] = None,
    krylov: Annotated[int, typer.Option("--krylov", help="Arnoldi steps for the leading "
                      "eigenvalues.")] = 60,
    gif: Annotated[bool, typer.Option("--gif/--no-gif", help="Write slices.gif over the steps "
                   "(when there are several).")] = True,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the figures and "
                   "slices.json (default: RUN_DIR/slices).")] = None,
) -> None:
    """Slice the training field of a `gandyn train` run at its checkpoints: streamlines
    of the field projected on a plane through the parameters, coloured by speed, with
    the plane's curl, divergence and rotation share and the leading eigenvalues of the
    Jacobian; writes step_N.png per step, slices.png, slices.gif and slices.json."""
    try:
        resolution = check_int("--resolution", resolution, 3, 201)
        krylov = check_int("--krylov", krylov, 2, 1000)
        if lim is not None and not (0 < lim <= 1e6):
            raise InputError(f"--lim must be a positive finite number of at most 1e6 (parameter "
                             f"units), got {lim}")
        out = Path(run_dir) / "slices" if out is None else out
        check_writable(out)
        game, points, key = kept_points(Path(run_dir), step, seed_index)
    except (InputError, ValueError) as e:
        fail(str(e))

    import jax
    import matplotlib.pyplot as plt

    from .._io import atomic_figure, write_json
    from .._slice import field_slice
    from ..plotting import slice_figure, slice_gif, slice_portrait

    slices = []
    with progress_bar() as bar:
        task = bar.add_task("slicing", total=len(points))
        for k, (n, y) in enumerate(points.items()):
            slices.append(field_slice(game, y, directions=directions.value, lim=lim,
                                      resolution=resolution, krylov=krylov, step=n,
                                      key=jax.random.fold_in(key, n)))
            bar.update(task, completed=k + 1)
    from ..plotting import STYLE, fit_suptitle
    from .._train_runs import read_settings, title as _title

    name = _title(read_settings(Path(run_dir) / "settings.json"))
    out.mkdir(parents=True, exist_ok=True)
    for s in slices:
        with plt.rc_context(STYLE):
            fig, ax = plt.subplots(figsize=(6.4, 7.4), layout="constrained")
            slice_portrait(ax, s, title=f"step {s.step:,} · seed index {seed_index}")
            fit_suptitle(fig, name, fontsize=9)
        atomic_figure(out / f"step_{s.step:07d}.png", fig)
        plt.close(fig)
    chosen = [slices[i] for i in sorted({0, len(slices) // 2, len(slices) - 1})]
    with plt.rc_context(STYLE):
        fig = slice_figure(chosen, [f"step {s.step:,}" for s in chosen],
                           suptitle=f"{name}\nthe training field near seed index {seed_index}'s "
                                    f"parameters")
    atomic_figure(out / "slices.png", fig)
    plt.close(fig)
    if gif and len(slices) > 1:
        from .._io import atomic_path

        with atomic_path(out / "slices.gif") as tmp:
            slice_gif(tmp, slices, [f"step {s.step:,} · seed index {seed_index}" for s in slices],
                      suptitle=name)
    write_json(out / "slices.json", {"run": str(run_dir), "seed": seed_index,
                                     "directions": directions.value,
                                     "slices": [s.summary() for s in slices]})
    for s in slices:
        lead = s.leading[0] if s.leading.size else complex("nan")
        typer.echo(f"step {s.step}: {s.plane.kind}; rotation {s.rotation:.0%}, curl {s.curl:.3g}, "
                   f"divergence {s.divergence:.3g}, |λ₁| {abs(lead):.3g}")
    typer.echo(f"wrote {out}")

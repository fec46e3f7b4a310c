"""`gandyn landscape RUN_DIR`: Berard et al.'s path-angle and top-k spectra between two
checkpoints of a training run."""

from pathlib import Path
from typing import Annotated

import typer

from ._common import InputError, check_int, check_writable, fail


def landscape(
    run_dir: Annotated[Path, typer.Argument(help="A folder written by `gandyn train`.",
                                            show_default=False)],
    from_step: Annotated[int | None, typer.Option("--from", help="The first checkpoint's step "
                         "(default: the earliest the run kept).")] = None,
    to_step: Annotated[int | None, typer.Option("--to", help="The second checkpoint's step "
                       "(default: the last).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Eigenvalues of largest magnitude "
                     "per operator.")] = 10,
    points: Annotated[int, typer.Option("--points", help="Points on the path, α ∈ [−0.1, 1.1]."
                      )] = 100,
    batch: Annotated[int | None, typer.Option("--batch", help="Samples of the one fixed "
                     "minibatch every quantity is computed on (default: the run's batch; "
                     "larger is closer to the full-batch field, and costs in proportion).")
                     ] = None,
    path_samples: Annotated[int | None, typer.Option("--path-samples", help="Fixed samples "
                            "(real data, latent draws) the path-angle's field is computed on, "
                            "in chunks (Berard et al.: 5,000 MNIST images; default: the one "
                            "minibatch of --batch).")] = None,
    eigen_samples: Annotated[int | None, typer.Option("--eigen-samples", help="Fixed samples "
                             "the eigenvalues and the rotation share are computed on (Berard "
                             "et al.: 1,000 MNIST images; default: the one minibatch).")
                             ] = None,
    tol: Annotated[float, typer.Option("--tol", help="ARPACK's relative accuracy of the "
                   "eigenvalues (0: machine precision).")] = 1e-6,
    seed_index: Annotated[int, typer.Option("--seed-index", help="Which of the run's seeds "
                          "(0-based).")] = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for path_angle.png, "
                   "eigenvalues.png and landscape.json (default: RUN_DIR).")] = None,
) -> None:
    """The optimization landscape between two checkpoints of a `gandyn train` run
    (Berard et al. 2020, arXiv 1906.04848): the path-angle (cosine between the field
    and the segment, and ‖v‖, along it) and the top-k eigenvalues of the game Jacobian
    and of each player's Hessian at both steps (ARPACK on Jacobian-/Hessian-vector
    products); writes path_angle.png, eigenvalues.png and landscape.json."""
    try:
        top_k = check_int("--top-k", top_k, 1, 1000)
        points = check_int("--points", points, 2, 10_000)
        if not 0 <= tol < 1:
            raise InputError(f"--tol must be a number in [0, 1), got {tol}")
        if batch is not None:
            batch = check_int("--batch", batch, 1, 65_536)
        for flag, value in (("--path-samples", path_samples), ("--eigen-samples",
                                                                eigen_samples)):
            if value is not None:
                check_int(flag, value, 1, 1_000_000)
        out = Path(run_dir) if out is None else out
        check_writable(out)
        game, chosen, key, settings = _load(Path(run_dir), from_step, to_step, seed_index, batch)
    except (InputError, ValueError) as e:
        fail(str(e))

    import matplotlib.pyplot as plt

    from .._io import atomic_figure, write_json
    from .._landscape import landscape as compute
    from ..plotting import eigenvalues_figure, path_angle_figure

    first, last = chosen
    on = {part: f"{n:,} fixed" if n else f"a batch of {game.batch_size}"
          for part, n in (("path", path_samples), ("eigen", eigen_samples))}
    typer.echo(f"landscape of {run_dir} between steps {first} and {last} (seed {seed_index}, "
               f"path on {on['path']}, eigenvalues on {on['eigen']} samples, top-{top_k})",
               err=True)
    try:
        result = compute(game, {first: chosen[first], last: chosen[last]}, k=top_k, n=points,
                         key=key, chunk=25, tol=tol, path_samples=path_samples,
                         eigen_samples=eigen_samples, sample_chunk=game.batch_size)
    except ValueError as e:
        fail(str(e))
    from .._train_runs import title

    name = title(settings)  # the run's data, loss, method, h, … (not its folder's timestamp)
    out.mkdir(parents=True, exist_ok=True)
    path = result["path_angle"]
    fig = path_angle_figure(path, title=f"{name}\npath-angle from step {first} to step {last} "
                            f"({on['path']} samples)",
                            labels=(f"step {first}", f"step {last}"))
    atomic_figure(out / "path_angle.png", fig)
    plt.close(fig)
    spectra = {f"step {s}": {
        "game_eigenvalues": [complex(*e) for e in result["game_eigenvalues"][str(s)]],
        "generator_hessian": result["generator_hessian"][str(s)],
        "discriminator_hessian": result["discriminator_hessian"][str(s)]} for s in (first, last)}
    fig = eigenvalues_figure(spectra, title=f"{name}\ntop-{top_k} eigenvalues (largest |λ|), "
                             f"seed {seed_index}, {on['eigen']} samples")
    atomic_figure(out / "eigenvalues.png", fig)
    plt.close(fig)
    write_json(out / "landscape.json", {"run": str(run_dir), "seed": seed_index,
                                        "batch": game.batch_size, "top_k": top_k, **result})
    for s in (first, last):
        game_eigs = [complex(*e) for e in result["game_eigenvalues"][str(s)]]
        share, se = result["rotation_share"][str(s)]
        typer.echo(f"step {s}: max Re λ(J) {max(e.real for e in game_eigs):.3g}, max |Im λ(J)| "
                   f"{max(abs(e.imag) for e in game_eigs):.3g}, min λ(∇²L_G) "
                   f"{min(result['generator_hessian'][str(s)]):.3g}, min λ(∇²L_D) "
                   f"{min(result['discriminator_hessian'][str(s)]):.3g}, rotation share "
                   f"{share:.2f} ± {se:.2f}")
    cos = path["cosine"]
    typer.echo(f"path: cosine {cos[0]:.2f} at α = −0.1, {min(cos):.2f}..{max(cos):.2f} along it; "
               f"‖v‖ {min(path['grad_norm']):.3g}..{max(path['grad_norm']):.3g}")
    typer.echo(f"wrote {out / 'path_angle.png'}, {out / 'eigenvalues.png'}, "
               f"{out / 'landscape.json'}")


def _load(run_dir: Path, from_step, to_step, seed_index: int, batch: int | None):
    """`(game, {from: y, to: y}, key, settings)`: the run's game (with a minibatch of
    `batch`, default the run's) and seed `seed_index`'s parameters at both steps."""
    import dataclasses

    from .._train_runs import build as _build, kept_points as load_points, read_settings

    game, kept, key = load_points(run_dir, None, seed_index)
    steps = sorted(kept)
    first = steps[0] if from_step is None else from_step
    last = steps[-1] if to_step is None else to_step
    for flag, step in (("--from", first), ("--to", last)):
        if step not in kept:
            raise InputError(f"{flag} {step} is not a step whose parameters the run kept; choose "
                             f"from: {', '.join(map(str, steps))}")
    if first == last:
        raise InputError(f"--from and --to are both step {first}: give two different steps "
                         f"(kept: {', '.join(map(str, steps))})")
    settings = read_settings(run_dir / "settings.json")
    sliced = settings if not batch else dataclasses.replace(
        settings, options={**settings.options, "batch": batch})
    game, _, _ = _build(sliced)
    return game, {first: kept[first], last: kept[last]}, key, settings

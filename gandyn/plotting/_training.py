"""Training figures for toy targets: GAN-Lab-style snapshots, a GIF, metric curves."""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: E402

from .._games import Players  # noqa: E402


def _bounds(game, reference):
    lo, hi = reference.min(axis=0), reference.max(axis=0)
    pad = 0.25 * (hi - lo) + 0.5
    return lo - pad, hi + pad


def snapshot(ax, game, players: Players, samples: np.ndarray, reference: np.ndarray, *,
             title: str = "", arrows: int = 120):
    """One seed's state: in 2-D, the discriminator's D(x) = σ(C(x)) as a heat map, the
    target's samples (grey), generated samples (black) and, as arrows on some of them,
    the direction each generated sample is pushed, `−∇_x L_G` (GAN Lab's view). In 1-D,
    histograms of both and the D(x) curve."""
    lo, hi = _bounds(game, reference)
    if reference.shape[1] == 1:
        grid = np.linspace(lo[0], hi[0], 300)
        d = jax.nn.sigmoid(game.discriminate(players.discriminator, jnp.asarray(grid[:, None])))
        ax.hist(reference[:, 0], bins=80, range=(lo[0], hi[0]), density=True, color="0.8", label="target")
        ax.hist(samples[:, 0], bins=80, range=(lo[0], hi[0]), density=True, histtype="step",
                color="k", label="generator")
        twin = ax.twinx()
        twin.plot(grid, np.asarray(d), color="tab:red", lw=1)
        twin.set_ylim(0, 1)
        twin.set_ylabel("D(x)", color="tab:red", fontsize=7)
        ax.set_title(title, fontsize=8)
        return ax
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 80), np.linspace(lo[1], hi[1], 80))
    points = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1))
    d = np.asarray(jax.nn.sigmoid(game.discriminate(players.discriminator, points))).reshape(gx.shape)
    ax.imshow(d, extent=(lo[0], hi[0], lo[1], hi[1]), origin="lower", cmap="PiYG", vmin=0, vmax=1,
              alpha=0.6, aspect="auto")
    ax.scatter(reference[:1000, 0], reference[:1000, 1], s=2, c="0.45")
    ax.scatter(samples[:, 0], samples[:, 1], s=2, c="k")
    fake = jnp.asarray(samples[:arrows])
    real_logits = game.discriminate(players.discriminator, jnp.asarray(reference[: len(fake)]))  # noqa: E501
    real = jnp.asarray(reference[: len(fake)])

    def generator_loss(x):
        extra = {"real": real, "fake": x} if game.loss.uses_samples else {}
        return game.loss.generator(real_logits, game.discriminate(players.discriminator, x), **extra)

    push = -jax.grad(generator_loss)(fake)
    push = np.asarray(push)
    norm = np.linalg.norm(push, axis=1, keepdims=True) + 1e-12
    ax.quiver(samples[:arrows, 0], samples[:arrows, 1], *(push / norm).T, color="tab:blue",
              scale=30, width=0.004)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _players_at(params, seed):
    return jax.tree_util.tree_map(lambda x: x[seed], params)


def snapshots(game, checkpoints: dict[int, Players], samples: dict[int, np.ndarray],
              reference: np.ndarray, *, seed: int = 0, columns: int = 5) -> plt.Figure:
    """Snapshots of one seed at (up to `columns`) evenly spaced log points."""
    steps = sorted(checkpoints)
    chosen = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, columns).astype(int))]
    fig, axes = plt.subplots(1, len(chosen), figsize=(3 * len(chosen), 3), squeeze=False,
                             layout="constrained")
    for ax, step in zip(axes[0], chosen):
        snapshot(ax, game, _players_at(checkpoints[step], seed), samples[step][seed], reference,
                 title=f"step {step}")
    return fig


def training_gif(path, game, checkpoints: dict[int, Players], samples: dict[int, np.ndarray],
                 reference: np.ndarray, *, seed: int = 0, fps: int = 4) -> None:
    """An animation of `snapshot` over the log points, written as a GIF to `path`."""
    steps = sorted(checkpoints)
    fig, ax = plt.subplots(figsize=(4, 4))

    def frame(i):
        ax.clear()
        snapshot(ax, game, _players_at(checkpoints[steps[i]], seed), samples[steps[i]][seed],
                 reference, title=f"step {steps[i]}")

    FuncAnimation(fig, frame, frames=len(steps)).save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)


def metric_curves(history: list[dict]) -> plt.Figure:
    """Losses, ‖v‖ and every logged metric against the step, one line per seed."""
    keys = [k for k in ("generator_loss", "discriminator_loss", "speed", "modes", "high_quality",
                        "kl", "js", "energy", "mean", "std", "fd", "fd_pixels", "classes_covered",
                        "class_kl", "mode_kl", "confidence") if any(k in r for r in history)]
    cols = min(4, len(keys))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False,
                             layout="constrained")
    seeds = sorted({r["seed"] for r in history})
    for ax, key in zip(axes.ravel(), keys):
        for s in seeds:
            pts = [(r["step"], np.nan if r[key] is None else r[key])  # None: not finite
                   for r in history if r["seed"] == s and key in r]
            if pts:
                ax.plot(*zip(*pts), lw=1, label=f"seed {s}")
        ax.set_title(key, fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        if key in ("speed", "kl", "energy", "fd", "fd_pixels"):
            ax.set_yscale("log")
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    if len(seeds) > 1:
        axes.ravel()[0].legend(fontsize=6)
    return fig

"""Playback of a run: the parameter space beside the data space.

For the Dirac-GAN (Mescheder et al. 2018, `notebooks/diracgan/plotting.py` of
LMescheder/GAN_stability) each frame pairs the (θ, ψ) trajectory over the field with
the data space: the real point mass at c, the generator's point mass at θ and the
critic's line C(x) = ψx (+ b). For the Gaussian game the data space holds the two
densities N(c, 1) and N(μ, σ²) and the quadratic critic's curve. A toy `train` run is
played back in GAN Lab's view (`training_gif`)."""

import jax.numpy as jnp
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from jax.flatten_util import ravel_pytree
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

from .._planes import slice_plane
from ._portrait import _axis_shift, oriented_plane, portrait
from ._style import OKABE_ITO, STATUS_STYLE, STYLE, fit_suptitle

REAL, FAKE, CRITIC = OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"]


def writer_for(path, fps: int):
    """Matplotlib's writer for the suffix of `path`: GIF (Pillow) or MP4 (ffmpeg, where
    installed); a `ValueError` naming the choices otherwise."""
    suffix = str(path).lower().rsplit(".", 1)[-1]
    if suffix == "gif":
        return PillowWriter(fps=fps)
    if suffix == "mp4":
        if not mpl.animation.writers.is_available("ffmpeg"):
            raise ValueError("--out .mp4 needs the ffmpeg program, which is not on PATH here: "
                             "install ffmpeg (apt-get install ffmpeg, brew install ffmpeg or "
                             "conda install ffmpeg) or write a .gif")
        # H.264: matplotlib then writes yuv420p (what browsers and slides play) and
        # rounds the frame to even pixel sizes, which that format needs.
        return FFMpegWriter(fps=fps, codec="h264")
    raise ValueError(f"--out must end in .gif or .mp4, got {str(path)!r}")


def data_space(ax: plt.Axes, game, players, *, lim: float) -> None:
    """The data space of a 1-D Dirac-GAN or Gaussian game at `players`: the real data,
    the generator's distribution and the critic C(x) over x ∈ [c − lim, c + lim]."""
    name = type(game).__name__
    c = float(getattr(game, "real_point", getattr(game, "mean", 0.0)))
    x = np.linspace(c - lim, c + lim, 400)
    critic = np.asarray(game.discriminate(players.discriminator, jnp.asarray(x[:, None])),
                        dtype=float).ravel()
    if name == "GaussianGAN":
        mu, sigma = (float(v) for v in np.asarray(players.generator))
        std = float(game.std)
        real = np.exp(-0.5 * ((x - c) / std) ** 2) / (std * np.sqrt(2 * np.pi))
        fake = np.exp(-0.5 * ((x - mu) / max(abs(sigma), 1e-6)) ** 2) / (max(abs(sigma), 1e-6)
                                                                           * np.sqrt(2 * np.pi))
        ax.fill_between(x, real, color=REAL, alpha=0.35, label=f"real N({c:g}, {std:g}²)")
        ax.plot(x, fake, color=FAKE, lw=2, label=f"generated N(μ, σ²), μ={mu:.3g}, σ={abs(sigma):.3g}")
        ax.set_ylabel("density · critic C(x)")
    else:
        theta = float(np.ravel(np.asarray(players.generator))[0])
        ax.bar([c], [2.0], width=0.1 * lim, color=REAL, label=f"real point c = {c:g}")
        ax.bar([theta], [2.0], width=0.04 * lim, color=FAKE, ec="black", lw=0.5,
               label=f"generator θ = {theta:.3g}")
        ax.set_ylabel("point mass · critic C(x)")
    ax.plot(x, critic, color=CRITIC, lw=2, label="critic C(x) = " +
            ("w₁x + w₂x²" if name == "GaussianGAN" else "ψx") + (" + b" if getattr(game, "bias", False) else ""))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(-2.5, 2.5)
    ax.set_xlabel("x (data space)")
    ax.legend(loc="lower right", fontsize=9, framealpha=0.9)


def dirac_animation(path, game, path_params: np.ndarray, steps: np.ndarray, *, status,
                    title: str, lim: float, fps: int = 12, frames: int = 120) -> int:
    """Write the playback of one trajectory (`path_params`: `(saves, n)` flattened
    parameters at `steps`) to `path`: left, the field in (θ, ψ) with the path so far;
    right, the data space (`data_space`). Returns the number of frames."""
    writer = writer_for(path, fps)
    finite = np.all(np.isfinite(path_params), axis=1)
    last = int(np.flatnonzero(finite)[-1]) if finite.any() else 0
    # Frames evenly spaced along the path's length (not in time): a run that converges
    # early spends its frames on the approach, not on the rest at the equilibrium.
    steps_made = np.linalg.norm(np.diff(path_params[: last + 1], axis=0), axis=1)
    length = np.concatenate([[0.0], np.cumsum(steps_made)])
    if length[-1] > 0:
        chosen = np.unique(np.searchsorted(length, np.linspace(0, length[-1], frames)).clip(0, last))
    else:
        chosen = np.array([0])
    _, unravel = ravel_pytree(game.init())
    colour, style, marker = STATUS_STYLE[status]
    with plt.rc_context(STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 5.2), layout="constrained")
        plane = oriented_plane(slice_plane(game, coordinates=game.plane()))
        shift = _axis_shift(plane)
        projected = plane.project(path_params)
        portrait(left, game, None, lim=lim, colorbar=True, plane=plane)
        line, = left.plot([], [], color=colour, ls=style, lw=1.6, label=f"trajectory ({status.label})")
        point, = left.plot([], [], marker, color=colour, mec="black", ms=8, zorder=6)
        left.legend(loc="lower right", fontsize=9)
        theta0, psi0 = left.get_xlim(), left.get_ylim()
        fit_suptitle(fig, title, fontsize=10)

        def draw(k):
            i = chosen[k]
            a, b = projected[0][: i + 1] + shift[0], projected[1][: i + 1] + shift[1]
            line.set_data(a, b)
            point.set_data([a[-1]], [b[-1]])
            left.set_title(f"parameter space · step {int(steps[i]):,}")
            left.set_xlim(theta0)
            left.set_ylim(psi0)
            right.clear()
            data_space(right, game, unravel(jnp.asarray(path_params[i])), lim=lim)
            right.set_title(f"data space · step {int(steps[i]):,}")
            return line, point

        FuncAnimation(fig, draw, frames=len(chosen)).save(path, writer=writer)
    plt.close(fig)
    return len(chosen)


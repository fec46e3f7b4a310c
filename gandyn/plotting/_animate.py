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
from matplotlib.animation import FFMpegWriter, PillowWriter

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


def write_animation(path, fig: plt.Figure, count: int, update, *, fps: int,
                    dynamic=()) -> None:
    """Write `count` frames of `fig` to `path` (by its suffix, `writer_for`: a GIF, or an
    MP4 through ffmpeg), frame k being `fig` after `update(k)` changed its artists.

    The figure is laid out on the first frame (a layout engine is then turned off),
    and each frame is drawn once. For a GIF, the frames are taken from the Agg
    canvas; where `update` changes only the `dynamic` artists, everything else is drawn
    once and each frame restores it and draws those alone, in their z-order (blitting):
    the frames are then the full draws' but for the order of a dynamic artist over a
    static one that overlaps it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    writer = writer_for(path, fps)
    update(0)
    canvas = FigureCanvasAgg(fig)
    if fig.get_layout_engine() is not None:
        # Constrained layout settles in its second pass (the titles' room); then the
        # layout is kept for every frame.
        canvas.draw()
        canvas.draw()
        fig.set_layout_engine("none")
    if not isinstance(writer, PillowWriter):  # ffmpeg: a full draw per frame
        with writer.saving(fig, str(path), dpi=fig.dpi):
            for k in range(count):
                update(k)
                writer.grab_frame()
        return
    dynamic = sorted(dynamic, key=lambda a: a.get_zorder())
    for artist in dynamic:
        artist.set_animated(True)  # left out of the figure's own draw
    background = None
    if dynamic:
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for k in range(count):
        update(k)
        if background is None:
            canvas.draw()
        else:
            canvas.restore_region(background)
            for artist in dynamic:
                fig.draw_artist(artist)
        frame = Image.fromarray(np.array(canvas.buffer_rgba()))
        # As matplotlib's PillowWriter: an opaque frame as RGB, which Pillow turns into
        # a GIF's palette better.
        frames.append(frame if frame.getextrema()[3][0] < 255 else frame.convert("RGB"))
    for artist in dynamic:
        artist.set_animated(False)
    # As matplotlib's PillowWriter saves its frames.
    frames[0].save(path, format="gif", save_all=True, append_images=frames[1:],
                   duration=int(1000 / fps), loop=0)


def data_space(ax: plt.Axes, game, players, *, lim: float):
    """The data space of a 1-D Dirac-GAN or Gaussian game at `players`: the real data,
    the generator's distribution and the critic C(x) over x ∈ [c − lim, c + lim].
    Returns `(move, artists)`: `move(players)` moves the generator's and the critic's
    artists (`artists`, the legend among them) to other parameters."""
    name = type(game).__name__
    c = float(getattr(game, "real_point", getattr(game, "mean", 0.0)))
    x = np.linspace(c - lim, c + lim, 400)
    points = jnp.asarray(x[:, None])

    def critic_at(p):
        return np.asarray(game.discriminate(p.discriminator, points), dtype=float).ravel()

    if name == "GaussianGAN":
        std = float(game.std)
        real = np.exp(-0.5 * ((x - c) / std) ** 2) / (std * np.sqrt(2 * np.pi))

        def fake_at(p):
            mu, sigma = (float(v) for v in np.asarray(p.generator))
            width = max(abs(sigma), 1e-6)
            return (np.exp(-0.5 * ((x - mu) / width) ** 2) / (width * np.sqrt(2 * np.pi)),
                    f"generated N(μ, σ²), μ={mu:.3g}, σ={abs(sigma):.3g}")

        density, label = fake_at(players)
        ax.fill_between(x, real, color=REAL, alpha=0.35, label=f"real N({c:g}, {std:g}²)")
        fake, = ax.plot(x, density, color=FAKE, lw=2, label=label)
        generator = [fake]
        ax.set_ylabel("density · critic C(x)")
    else:
        def theta_at(p):
            return float(np.ravel(np.asarray(p.generator))[0])

        theta = theta_at(players)
        ax.bar([c], [2.0], width=0.1 * lim, color=REAL, label=f"real point c = {c:g}")
        bar = ax.bar([theta], [2.0], width=0.04 * lim, color=FAKE, ec="black", lw=0.5,
                     label=f"generator θ = {theta:.3g}")
        generator = list(bar.patches)
        ax.set_ylabel("point mass · critic C(x)")
    critic, = ax.plot(x, critic_at(players), color=CRITIC, lw=2, label="critic C(x) = " +
                      ("w₁x + w₂x²" if name == "GaussianGAN" else "ψx") +
                      (" + b" if getattr(game, "bias", False) else ""))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(-2.5, 2.5)
    ax.set_xlabel("x (data space)")
    legend = ax.legend(loc="lower right", fontsize=9, framealpha=0.9)
    label_text = next(t for t in legend.get_texts() if t.get_text().startswith("generat"))

    def move(p) -> None:
        if name == "GaussianGAN":
            density, text = fake_at(p)
            fake.set_ydata(density)
            fake.set_label(text)
        else:
            theta = theta_at(p)
            patch = generator[0]
            patch.set_x(theta - patch.get_width() / 2)
            text = f"generator θ = {theta:.3g}"
            bar.set_label(text)
        label_text.set_text(text)
        critic.set_ydata(critic_at(p))

    return move, [*generator, critic, legend]


def dirac_animation(path, game, path_params: np.ndarray, steps: np.ndarray, *, status,
                    title: str, lim: float, fps: int = 12, frames: int = 120) -> int:
    """Write the playback of one trajectory (`path_params`: `(saves, n)` flattened
    parameters at `steps`) to `path`: left, the field in (θ, ψ) with the path so far;
    right, the data space (`data_space`). Returns the number of frames."""
    writer_for(path, fps)  # a bad suffix is refused before anything is drawn
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
        path_legend = left.legend(loc="lower right", fontsize=9)
        theta0, psi0 = left.get_xlim(), left.get_ylim()
        fit_suptitle(fig, title, fontsize=10)
        move, moving = data_space(right, game, unravel(jnp.asarray(path_params[chosen[0]])),
                                  lim=lim)

        def draw(k):
            i = chosen[k]
            a, b = projected[0][: i + 1] + shift[0], projected[1][: i + 1] + shift[1]
            line.set_data(a, b)
            point.set_data([a[-1]], [b[-1]])
            left.set_title(f"parameter space · step {int(steps[i]):,}")
            left.set_xlim(theta0)
            left.set_ylim(psi0)
            move(unravel(jnp.asarray(path_params[i])))
            right.set_title(f"data space · step {int(steps[i]):,}")

        # The field, the axes and the real data are drawn once; each frame draws the
        # path, the titles and the generator's and critic's artists over them.
        write_animation(path, fig, len(chosen), draw, fps=fps,
                        dynamic=[line, point, path_legend, left.title, right.title, *moving])
    plt.close(fig)
    return len(chosen)

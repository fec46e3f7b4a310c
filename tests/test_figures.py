"""Every figure the commands write, checked through matplotlib's objects (not pixels):
the title carries every setting (regularizer weights included), every axis and colour
bar is labelled, no text is smaller than 9 pt, nothing lies outside the figure, and a
legend of outcomes lists only those that occur. Small grids, few steps."""

import os
import stat

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import gandyn.plotting  # noqa: E402
from gandyn.cli import app  # noqa: E402
from gandyn.plotting._style import MIN_POINTS, readable_on  # noqa: E402


runner = CliRunner()


def texts(fig):
    """Every visible, non-empty text artist of `fig`, titles and tick labels included."""
    return [t for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip() and t.get_figure() is not None]


def all_title_text(fig) -> str:
    parts = [fig._suptitle.get_text() if fig._suptitle else ""]
    parts += [ax.get_title() for ax in fig.axes]
    return " ".join(" ".join(parts).split())


def check_figure(fig):
    """The house rules: text ≥ 9 pt, every text and axes inside the figure, every
    drawn axes and every colour bar labelled."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    ticks = {id(label) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
             for tick in axis.get_major_ticks() + axis.get_minor_ticks()
             for label in (tick.label1, tick.label2)}
    ticks |= {id(axis.offsetText) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)}
    for t in texts(fig):
        assert t.get_fontsize() >= MIN_POINTS - 1e-9, (t.get_text(), t.get_fontsize())
        if id(t) in ticks:  # tick labels beyond the view are kept but never drawn
            continue
        extent = t.get_window_extent(renderer)
        assert (extent.x0 >= box.x0 - 1 and extent.y0 >= box.y0 - 1 and extent.x1 <= box.x1 + 1
                and extent.y1 <= box.y1 + 1), f"text {t.get_text()!r} outside the figure: {extent}"
    # Everything drawn (tick labels in view, legends, colour bars) lies inside.
    tight = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    assert (tight.x0 >= -0.01 and tight.y0 >= -0.01 and tight.x1 <= width + 0.01
            and tight.y1 <= height + 0.01), f"drawn outside the figure: {tight} vs {width}×{height}"
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        extent = legend.get_window_extent(renderer)
        assert extent.x0 >= -1 and extent.x1 <= box.x1 + 1 and extent.y0 >= -1, "legend clipped"
    for ax in fig.axes:
        if not ax.axison:
            continue
        colorbar = getattr(ax, "_colorbar", None)
        if colorbar is not None:
            assert (ax.get_ylabel() or ax.get_xlabel()).strip(), "colour bar without a label"
            continue
        if ax.images and not ax.get_xticks().size:
            continue
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), f"unlabelled axes {ax.get_title()!r}"


def capture(monkeypatch, name):
    """Replace `gandyn.plotting.<name>` with a wrapper keeping each figure it made."""
    made = []
    original = getattr(gandyn.plotting, name)

    def wrapper(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(gandyn.plotting, name, wrapper)
    return made


def test_portrait_title_legend_and_house_rules(tmp_path, monkeypatch):
    made = capture(monkeypatch, "portrait_grid")
    result = runner.invoke(app, ["portrait", "-l", "sgan", "-l", "wgan", "-m", "simgd", "-m",
                                 "extragradient", "--reg", "r1=0.3", "--step", "0.7",
                                 "--steps", "60", "--init", "1,1", "--init", "-0.5,0.8",
                                 "--out", str(tmp_path / "p.svg")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")  # the suffix's format
    (fig,) = made
    title = all_title_text(fig)
    for setting in ("dirac", "sgan", "wgan", "r1=0.3", "simgd", "extragradient", "h = 0.7",
                    "60 steps", "2 starts"):
        assert setting in title, (setting, title)
    check_figure(fig)
    # The legend lists the outcomes of these trajectories, no other.
    (legend,) = fig.legends
    labels = {t.get_text() for t in legend.get_texts()} - {"equilibrium"}
    outcomes = set()
    for ax in fig.axes:
        outcomes |= {t.get_text() for t in ax.texts}
    written = {part.split(" ", 1)[1] for text in outcomes for part in text.split(", ")
               if part[:1].isdigit()}
    assert labels == written and labels
    # Every trajectory panel has a labelled speed colour bar.
    bars = [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]
    assert len(bars) == 4 and all(ax.get_ylabel() == "speed ‖v‖" for ax in bars)
    plt.close(fig)


def test_portrait_dim2_shares_one_oriented_plane(tmp_path, monkeypatch):
    """With --dim 2 both losses' panels use one plane, so a start reads the same in
    each (it read (1, 1) in one and (1, −1) in the other); the figure is wide enough
    for its title and legend."""
    made = capture(monkeypatch, "portrait_grid")
    result = runner.invoke(app, ["portrait", "--game", "dirac", "--dim", "2", "-l", "nsgan",
                                 "-l", "wgan", "-m", "rk4", "--init", "1,0.5,-0.5,0.2",
                                 "--steps", "20", "--out", str(tmp_path / "d.png")])
    assert result.exit_code == 0, result.output
    (fig,) = made
    starts = []
    for ax in fig.axes:
        if getattr(ax, "_colorbar", None) is None and ax.lines:
            first = [line for line in ax.lines if len(line.get_xdata()) == 1][0]
            starts.append((float(first.get_xdata()[0]), float(first.get_ydata()[0])))
    assert len(starts) == 2 and np.allclose(starts[0], starts[1])
    assert fig.get_figwidth() >= 6
    assert "dim 2" in all_title_text(fig)
    check_figure(fig)
    plt.close(fig)


def test_portrait_plane_players_names_its_axes_by_their_components(tmp_path, monkeypatch):
    """`--plane players` on the 2-D WGAN Dirac-GAN: the axes are the players' fields at
    the default start θ = ψ = (1, 1), `v_G ∝ ψ = (1, 1)` and `v_D ∝ −θ`, named by their
    components; that start lies in the plane at (√2, −√2)."""
    made = capture(monkeypatch, "portrait_grid")
    result = runner.invoke(app, ["portrait", "--game", "dirac", "--dim", "2", "-l", "wgan",
                                 "-m", "simgd", "--steps", "20", "--plane", "players",
                                 "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    (fig,) = made
    ax = next(a for a in fig.axes if getattr(a, "_colorbar", None) is None and a.lines)
    assert ax.get_xlabel() == "v_G = 0.71·θ1 + 0.71·θ2"
    assert ax.get_ylabel() == "v_D = −0.71·ψ1 − 0.71·ψ2"
    start = [line for line in ax.lines if len(line.get_xdata()) == 1][0]
    assert (start.get_xdata()[0], start.get_ydata()[0]) == pytest.approx((2**0.5, -(2**0.5)))
    check_figure(fig)
    plt.close(fig)


def test_eigen_stability_grid(tmp_path, monkeypatch):
    made = capture(monkeypatch, "stability_grid")
    result = runner.invoke(app, ["eigen", "-l", "wgan", "--reg", "r1=0.5", "-m", "simgd", "-m",
                                 "altgd", "-m", "heun", "-m", "rk4", "-m", "extragradient",
                                 "--step", "0.5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (fig,) = made
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert all("r1=0.5" in t for t in titles) and len(titles) == 5
    assert "h = 0.5" in all_title_text(fig)
    # Five methods wrap into two rows of at most four, not a strip.
    rows = {round(ax.get_position().y0, 2) for ax in fig.axes if ax.get_title()}
    assert len(rows) == 2
    # The verdict and the largest stable step are written in each panel: WGAN + R1 0.5
    # has λ = −0.25 ± 0.968i, simgd's growth |1 + hλ| = 1 at h = 0.5.
    simgd = next(ax for ax in fig.axes if "simgd" in ax.get_title())
    (note,) = simgd.texts
    assert "cycles at h = 0.5" in note.get_text() and "largest stable h: 0.5" in note.get_text()
    check_figure(fig)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert [t.get_text() for t in legends[0].get_texts()] == ["neutral (cycles)"]
    plt.close(fig)


def test_atlas_cells_explained_and_readable():
    def outcome(method, reg, h):
        if method == "simgd" and reg == "none":
            return "diverged", None
        if method == "simgd" and h == 0.5:
            return "diverging", 10.0
        if reg == "none" and h == 0.5:
            return "cycling", 1.0
        return "converged", 1e-8

    rows = [{"loss": "wgan", "method": m, "regularizer": reg, "step": h, "seed": s,
             "status": outcome(m, reg, h)[0], "final_distance": outcome(m, reg, h)[1], "rate": None}
            for m in ("simgd", "rk4") for reg in ("none", "r1=1") for h in (0.1, 0.5)
            for s in range(2)]
    fig = gandyn.plotting.atlas(rows, title="dirac · loss wgan · 1,000 steps")
    check_figure(fig)
    assert "k/n" in fig._suptitle.get_text()
    # Titles from the outcomes that occur (issue 38): simgd never converges without a
    # regularizer, with r1 only at h = 0.1; rk4 + r1 at every grid step.
    assert fig.axes[0].get_title().endswith("none: never stable · best r1=1: h ≤ 0.1")
    assert fig.axes[1].get_title().endswith("none: h ≤ 0.1 · best r1=1: all h")
    right = [[t.get_text() for t in child.get_yticklabels()] for ax in fig.axes[:2]
             for child in ax.child_axes]
    assert right == [["none", "0.1"], ["0.1", "all"]]
    cells = {t.get_text() for ax in fig.axes[:2] for t in ax.texts}
    assert cells == {"0/2", "2/2"}
    for ax in fig.axes[:2]:
        image = ax.images[0]
        for t in ax.texts:
            x, y = (int(round(v)) for v in t.get_position())
            colour = image.cmap(image.norm(image.get_array()[y, x]))
            assert t.get_color() == readable_on(colour)
    plt.close(fig)


def test_metric_curves_and_image_figures():
    history = [{"step": n, "seed": s, "generator_loss": 1.0 + s, "discriminator_loss": 0.5,
                "speed": 2.0 / (n + 1), "modes": 3, "modes_total": 8, "high_quality": 0.4,
                "kl": 1.2, "fd": 10.0 - n / 100}
               for n in (0, 100, 200) for s in (0, 1)]
    fig = gandyn.plotting.metric_curves(history, suptitle="ring8 · loss nsgan · r1=1 · h = 0.001")
    check_figure(fig)
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    assert "high_quality" not in titles and "high-quality samples" in titles
    hq = next(ax for ax in fig.axes if ax.get_title() == "high-quality samples")
    assert hq.lines[0].get_ydata()[0] == pytest.approx(40.0)  # a percentage, as printed
    plt.close(fig)
    from gandyn.plotting._images import sample_figure

    images = np.random.default_rng(0).uniform(-1, 1, (16, 1, 8, 8))
    fig = sample_figure(images, step=500, seed=0, row=history[-1], settings="digits · loss nsgan")
    check_figure(fig)
    assert "step 500" in all_title_text(fig) and "Fréchet 8" in all_title_text(fig)
    plt.close(fig)
    fig = gandyn.plotting.image_grids({0: images[None], 100: images[None]}, history=history,
                                      suptitle="digits")
    check_figure(fig)
    assert "Fréchet" in all_title_text(fig)
    plt.close(fig)


def test_toy_snapshots_have_axes_colour_bar_and_legend():
    import jax

    from gandyn import MLPGAN, data, losses

    game = MLPGAN(losses.get("nsgan"), data.get("ring8"), width=8, depth=1, latent_size=2,
                  batch_size=16)
    players = jax.tree_util.tree_map(lambda x: x[None], game.init(jax.random.key(0)))
    reference = np.asarray(game.target.sample(jax.random.key(1), 300))
    fake = np.random.default_rng(0).normal(size=(1, 200, 2))
    history = [{"step": 0, "seed": 0, "modes": 2, "modes_total": 8, "high_quality": 0.25}]
    fig = gandyn.plotting.snapshots(game, {0: players, 10: players}, {0: fake, 10: fake},
                                    reference, history=history, suptitle="ring8 · loss nsgan")
    check_figure(fig)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:2] == ["real (target)", "generated"]
    panel = fig.axes[0]
    assert panel.get_xlabel() == "x₁" and "modes 2/8" in panel.texts[0].get_text()
    # The generated samples are drawn above the real ones (issue 38: real markers on
    # top made a collapsed generator look spread round the ring).
    real, generated = ([c for c in ax.collections if c.get_label() == name][0]
                       for ax in fig.axes[:1] for name in ("real (target)", "generated"))
    assert generated.get_zorder() > real.get_zorder()
    plt.close(fig)


def test_output_files_follow_the_umask(tmp_path):
    from gandyn._io import atomic_directory, write_json

    old = os.umask(0o022)
    try:
        with atomic_directory(tmp_path / "run") as tmp:
            write_json(tmp / "a.json", {"x": 1})
        assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755
        assert stat.S_IMODE((tmp_path / "run" / "a.json").stat().st_mode) == 0o644
        os.umask(0o077)
        write_json(tmp_path / "b.json", {})
        assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_console_numbers():
    from gandyn.cli._eigen import _complex

    assert _complex(complex(4.440892098500626e-16, 0), [0, -4]) == "+0+0i"
    assert _complex(complex(-0.25, 0.9682), [1]) == "-0.25+0.9682i"
    help_text = runner.invoke(app, ["sweep", "--help"], terminal_width=200).output
    assert "[sweep] table" in help_text


def test_converged_run_reports_its_rate_before_the_floor():
    """NS-GAN with a critic bias, real point 1: the run converges to the float floor;
    the rate printed is the contraction on the way there, not the flat 1 at the floor."""
    from gandyn._grid import game_grid
    from gandyn.cli._games import build_games, game_options

    games = build_games("dirac", ["nsgan"], None, game_options(None, 1.0, True, None))
    ((_, _, _, solution),) = game_grid(games, ["altgd"], np.array([[1.5, 0.5, 0.0]]), h=1.0,
                                       steps=2000)
    assert int(solution.status[0]) == int(gandyn.Status.CONVERGED)
    assert 0.5 < float(solution.rate[0]) < 0.99


def test_animate_a_dirac_run_shows_the_data_space(tmp_path, monkeypatch):
    """`gandyn animate` on a Dirac-GAN simulate run: a GIF of the asked number of frames;
    in the data space the critic is the line C(x) = ψx through the current ψ and the
    generator's point mass sits at the current θ (checked on the last frame drawn)."""
    from PIL import Image

    import gandyn.plotting._animate as animate

    result = runner.invoke(app, ["simulate", "-l", "wgan", "-m", "simgd", "--step", "0.2",
                                 "--steps", "60", "--init", "1,0.5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    drawn = []
    original = animate.data_space

    def spy(ax, game, players, *, lim):  # the frames move the artists drawn here
        move, artists = original(ax, game, players, lim=lim)

        def moved(players):
            move(players)
            drawn.append((ax, float(np.ravel(players.generator)[0]),
                          float(np.ravel(players.discriminator)[0])))

        return moved, artists

    monkeypatch.setattr(animate, "data_space", spy)
    result = runner.invoke(app, ["animate", str(run_dir), "--frames", "6", "--out",
                                 str(tmp_path / "a.gif")])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "a.gif").n_frames == 6
    ax, theta, psi = drawn[-1]
    critic = next(line for line in ax.lines if line.get_label().startswith("critic"))
    x, y = critic.get_xdata(), critic.get_ydata()
    assert np.allclose(y, psi * x, atol=1e-6)
    generator = next(c for c in ax.containers if c.get_label().startswith("generator"))
    assert generator.patches[0].get_x() + generator.patches[0].get_width() / 2 == pytest.approx(theta)
    trajectory = np.load(run_dir / "trajectories.npz")["wgan__simgd__params"][0]
    assert theta == pytest.approx(trajectory[-1, 0], abs=1e-6)  # the last frame: the end
    bad = runner.invoke(app, ["animate", str(run_dir), "--out", str(tmp_path / "a.avi")])
    assert bad.exit_code == 2 and "must end in .gif or .mp4" in bad.output


def test_animate_writes_an_mp4_where_ffmpeg_is_installed(tmp_path, monkeypatch):
    """`--out x.mp4`: without ffmpeg, one line saying what to install (exit 2, nothing
    written); with it, an H.264 MP4 through matplotlib's FFMpegWriter holding as many
    frames as the command reports (counted by ffprobe)."""
    import json
    import re
    import shutil
    import subprocess

    import matplotlib.animation

    result = runner.invoke(app, ["simulate", "-l", "wgan", "-m", "altgd", "--step", "0.3",
                                 "--steps", "40", "--init", "1,0.5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    out = tmp_path / "a.mp4"
    with monkeypatch.context() as m:
        m.setattr(matplotlib.animation.writers, "is_available", lambda name: False)
        bad = runner.invoke(app, ["animate", str(run_dir), "--out", str(out)])
    assert bad.exit_code == 2 and not out.exists()
    (line,) = [x for x in bad.output.splitlines() if x.strip()]
    assert line.startswith("Error: --out .mp4 needs the ffmpeg program") and "install ffmpeg" in line
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg): the MP4 itself is "
                    "not checked")
    result = runner.invoke(app, ["animate", str(run_dir), "--frames", "5", "--fps", "5",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    frames = int(re.search(r"\((\d+) frames\)", result.output).group(1))
    assert 2 <= frames <= 5 and out.read_bytes()[4:8] == b"ftyp"
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,nb_read_frames,pix_fmt", "-of", "json", str(out)],
        capture_output=True, text=True, check=True).stdout)["streams"][0]
    assert probe["codec_name"] == "h264" and probe["pix_fmt"] == "yuv420p"
    assert int(probe["nb_read_frames"]) == frames


def test_streamlines_follow_the_field_and_spread_like_streamplot():
    """The NumPy streamlines that replace `streamplot`: on a rotation `v = (−y, x)`
    each line stays on its circle (|r| constant) and runs along v; the lines spread
    over the plane as streamplot's do (about as many, no two through one mask cell)."""
    from gandyn.plotting._streamlines import streamlines

    axis = np.linspace(-2.5, 2.5, 41)
    a, b = np.meshgrid(axis, axis)
    lines = streamlines(axis, axis, -b, a)
    fig, ax = plt.subplots()
    reference = ax.streamplot(axis, axis, -b, a).lines
    plt.close(fig)
    for path in lines:
        r = np.hypot(path[:, 0], path[:, 1])
        # Fixed steps of one mask cell (1/6 here): a 2% drift, more on the tightest circles.
        assert np.ptp(r) <= (0.02 if r.mean() > 0.6 else 0.15) * r.mean(), (r.min(), r.max())
        step = np.diff(path, axis=0)
        v = np.stack([-path[:-1, 1], path[:-1, 0]], -1)
        assert np.all(np.sum(step * v, axis=1) > 0)  # along the field, not against it
    # Evenly spread: the lines' mask cells (30 × 30) are disjoint, and they cover most
    # of the plane, as streamplot's do.
    cells = [set(map(tuple, np.rint((p + 2.5) / 5 * 29).astype(int))) for p in lines]
    assert sum(map(len, cells)) == len(set().union(*cells))
    covered = len(set().union(*cells)) / 900
    mine = np.zeros((30, 30), bool)
    for segment in reference.get_segments():
        i, j = np.rint((segment + 2.5) / 5 * 29).astype(int).T
        mine[j, i] = True
    assert covered >= 0.8 * mine.mean()


def test_landscape_figures_follow_the_house_rules():
    """Berard et al.'s two figures: the run's settings in the title, text ≥ 9 pt,
    everything inside, every axes labelled (a rotation: cosine 0, a sign change drawn)."""
    from gandyn.plotting._landscape import eigenvalues_figure, path_angle_figure

    alpha = np.linspace(-0.1, 1.1, 25)
    title = ("mnist5k · loss nsgan · no regularizer · method adam · h = 0.0002 · 5,000 steps · "
             "width 32, depth 3, latent 32, batch 64 · base seed 0\npath-angle from step 0 to step 5000")
    fig = path_angle_figure({"alpha": alpha, "cosine": 0.1 * np.sin(6 * alpha),
                             "grad_norm": 1 + (alpha - 0.9) ** 2}, title=title,
                            labels=("step 0", "step 5000"))
    check_figure(fig)
    assert "method adam" in all_title_text(fig) and "h = 0.0002" in all_title_text(fig)
    plt.close(fig)
    spectra = {f"step {s}": {"game_eigenvalues": [-4e3, -8 + 135j, -8 - 135j],
                             "generator_hessian": [40.0, -5.7, 5.1],
                             "discriminator_hessian": [4e3, 125.0, 42.0]} for s in (0, 5000)}
    fig = eigenvalues_figure(spectra, title=title.replace("path-angle", "eigenvalues"))
    check_figure(fig)
    assert "loss nsgan" in all_title_text(fig)
    plt.close(fig)

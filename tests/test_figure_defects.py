"""Figure defects a reader sees, checked through matplotlib's objects (issue 38): legend
entries drawn as their lines are, slow spirals not filled solid, arrowheads inside the
frame, atlas titles from outcomes that occur (generated samples above the real ones:
tests/test_figures.py's toy snapshot test).
One tiny Dirac-GAN run of each method, shared by the tests."""

import functools

import matplotlib

matplotlib.use("Agg")

import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import gandyn as gd  # noqa: E402
from gandyn.plotting import portrait_grid  # noqa: E402
from gandyn.plotting._style import STATUS_STYLE  # noqa: E402

STATUS_COLOURS = {matplotlib.colors.to_hex(c) for c, _, _ in STATUS_STYLE.values()}


@functools.cache
def dirac_grid():
    """WGAN Dirac-GAN from (1, 1) and (−0.5, 0.3) at h = 0.5: simgd diverges, RK4
    converges slowly (0.99989 per step: about 48 turns in 600 steps), extragradient
    converges."""
    game = gd.DiracGAN(gd.losses.wgan)
    y0 = game.state(jnp.array([1.0, -0.5]), jnp.array([1.0, 0.3]))
    panels = [[(game, gd.simulate(game, gd.methods.get(name), y0, h=0.5, steps=600), name)
               for name in ("simgd", "extragradient", "rk4")]]
    fig = portrait_grid(panels, lim=2.0)
    fig.canvas.draw()
    return fig, panels


def trajectory_lines(ax):
    return [line for line in ax.get_lines()
            if len(line.get_xdata()) > 1 and line.get_linestyle() not in ("None", "none", "")
            and matplotlib.colors.to_hex(line.get_color()) in STATUS_COLOURS]


def style_of(line):
    offset, dashes = line._dash_pattern  # what the renderer draws, in points
    return matplotlib.colors.to_hex(line.get_color()), offset, tuple(dashes or ())


def test_portrait_legend_entries_are_drawn_as_their_lines():
    fig, panels = dirac_grid()
    assert [p[1].labels().tolist() for p in panels[0]] == [
        ["diverged", "diverged"], ["converged", "converged"], ["converging", "converging"]]
    handles = {h.get_label(): style_of(h) for h in fig.legends[0].legend_handles
               if isinstance(h, matplotlib.lines.Line2D) and h.get_linestyle() != "None"}
    # Converged and converging share a colour: their legend entries must differ in dash.
    assert handles["converged"] != handles["converging"]
    drawn = {style_of(line) for ax in fig.axes for line in trajectory_lines(ax)}
    assert drawn and drawn <= set(handles.values()), (drawn, handles)
    for _, solution, title in panels[0]:
        ax = panel(fig, title)
        label = solution.labels()[0]
        assert {style_of(line) for line in trajectory_lines(ax)} == {handles[label]}


def panel(fig, title):
    (ax,) = [ax for ax in fig.axes if ax.get_title() == title]
    return ax


def _turns(x, y):
    angle = np.unwrap(np.arctan2(np.asarray(y, float), np.asarray(x, float)))
    return abs(angle[-1] - angle[0]) / (2 * np.pi)


def test_slow_spiral_draws_first_and_last_turn_not_a_solid_annulus():
    fig, panels = dirac_grid()
    rk4 = panel(fig, "rk4")
    bold = [line for line in trajectory_lines(rk4) if line.get_linewidth() >= 0.9]
    faint = [line for line in trajectory_lines(rk4) if line.get_linewidth() < 0.9]
    # Each start: the whole run winds ~48 times; drawn boldly, at most about one turn
    # at each end.
    assert len(bold) == 4 and len(faint) == 2
    assert all(_turns(line.get_xdata(), line.get_ydata()) <= 1.05 for line in bold)
    assert all(_turns(line.get_xdata(), line.get_ydata()) > 10 for line in faint)
    assert all(line.get_alpha() <= 0.3 for line in faint)
    # A path with few turns (extragradient's spiral in) is drawn whole, boldly.
    extragradient = panel(fig, "extragradient")
    assert all(line.get_linewidth() >= 0.9 for line in trajectory_lines(extragradient))


def test_direction_arrows_lie_inside_the_frame():
    fig, _ = dirac_grid()
    arrows = 0
    for ax in (panel(fig, title) for title in ("simgd", "extragradient", "rk4")):
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        for child in ax.get_children():
            if isinstance(child, matplotlib.text.Annotation) and child.arrow_patch is not None:
                arrows += 1
                for x, y in (child.xy, child.xyann):
                    assert x0 < x < x1 and y0 < y < y1, (ax.get_title(), child.xy)
    assert arrows == 6  # one per start and panel: the diverging runs' too
    plt.close("all")


def _toy_snapshots(data_name, dim):
    import jax

    from gandyn import MLPGAN, data, losses
    from gandyn.plotting import snapshots

    game = MLPGAN(losses.get("nsgan"), data.get(data_name), width=8, depth=1, latent_size=dim,
                  batch_size=16)
    players = jax.tree_util.tree_map(lambda x: x[None], game.init(jax.random.key(0)))
    reference = np.asarray(game.target.sample(jax.random.key(1), 400))
    fake = np.random.default_rng(0).normal(size=(1, 300, dim))
    return snapshots(game, {0: players, 10: players}, {0: fake, 10: fake}, reference,
                     suptitle=f"{data_name} · loss nsgan")


def test_gaussian_samples_legend_names_both_histograms_and_the_critic():
    fig = _toy_snapshots("gaussian", 1)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == 3 and labels[0].startswith("real") and labels[1].startswith("generated")
    real, generated, critic = legend.legend_handles
    ax = fig.axes[0]
    colours = [matplotlib.colors.to_hex(p.get_facecolor() if p.get_fill() else p.get_edgecolor())
               for p in ax.patches]
    # Filled grey bars are the real histogram, a black outline the generated one.
    assert matplotlib.colors.to_hex(real.get_facecolor()) in colours
    assert matplotlib.colors.to_hex(generated.get_color()) in colours
    twin_lines = [line for other in fig.axes if other is not ax for line in other.get_lines()]
    assert matplotlib.colors.to_hex(critic.get_color()) in {
        matplotlib.colors.to_hex(line.get_color()) for line in twin_lines}
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    for other in fig.axes:  # the legend sits below the panels, over none of them
        assert not box.overlaps(other.get_tightbbox(renderer)), other.get_title()
    plt.close(fig)


def test_titles_break_between_phrases_not_inside_them():
    from gandyn.plotting._style import fit_suptitle, wrap_phrases

    parts = ["gaussian", "loss nsgan", "no regularizer", "method adam", "h = 0.001",
             "5,000 steps", "width 128, depth 3, latent 2, batch 256", "base seed 0"]
    text = " · ".join(parts)
    for width in range(max(map(len, parts)), len(text) + 2):
        lines = wrap_phrases(text, width).split("\n")
        assert [p for line in lines for p in line.removesuffix(" ·").split(" · ")] == parts
        # a line over the width holds one phrase longer than the width alone
        assert all(len(line) <= width + 2 or " · " not in line.removesuffix(" ·")
                   for line in lines)
    # A phrase longer than a line is wrapped at its spaces; line breaks given are kept.
    assert wrap_phrases("a · " + "x " * 30 + "· b\nc", 20).split("\n")[-1] == "c"
    fig = plt.figure(figsize=(4, 3))
    fit_suptitle(fig, text)
    for line in fig._suptitle.get_text().split("\n"):
        assert "5,000" not in line or "5,000 steps" in line
    plt.close(fig)


def test_portrait_zooms_in_on_paths_near_the_equilibrium():
    """The README's `portrait --dim 2 … --init 0.1,0.2,0.2,0.1`: a start 0.2 from the
    equilibrium drawn in a ±2.5 view was a blob under the star."""
    from gandyn.plotting import portrait

    game = gd.DiracGAN(gd.losses.wgan)
    solution = gd.simulate(game, gd.methods.get("extragradient"), game.state(0.2, 0.1), h=0.5,
                           steps=50)
    fig, ax = plt.subplots()
    portrait(ax, game, solution, lim=2.5)
    path = max((line for line in trajectory_lines(ax)), key=lambda line: len(line.get_xdata()))
    extent = np.nanmax(np.abs(np.concatenate([path.get_xdata(), path.get_ydata()])))
    x0, x1 = ax.get_xlim()
    assert extent < x1 <= 1.5 * extent and x0 == -x1
    plt.close(fig)


def visible_texts(fig):
    """Every drawn, non-empty text of `fig` with its window extent: titles, labels,
    legend entries, annotations and the tick labels in view."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes + [child for ax in fig.axes for child in ax.child_axes]:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                if low - 1e-12 <= tick.get_loc() <= high + 1e-12:
                    out += [label for label in (tick.label1, tick.label2) if label.get_visible()]
        out += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        out += legend.get_texts()
    if fig._suptitle is not None:
        out.append(fig._suptitle)
    return [(t, t.get_window_extent(renderer)) for t in out
            if t.get_visible() and t.get_text().strip()], renderer


def overlapping_texts(fig):
    texts, _ = visible_texts(fig)
    return [(a.get_text(), b.get_text()) for i, (a, box_a) in enumerate(texts)
            for b, box_b in texts[i + 1:] if box_a.overlaps(box_b)]


def test_slice_figure_texts_legend_and_colour_bars_fit():
    from gandyn.plotting import slice_figure

    game = gd.DiracGAN(gd.losses.nsgan, dim=2, regularizers=(gd.R1(0.3),))
    points = [game.state(jnp.array([0.3, -0.2]), jnp.array([0.1, 0.2])),
              game.state(jnp.array([0.05, 0.1]), jnp.array([-0.1, 0.02])),
              game.state(jnp.array([0.0, 0.01]), jnp.array([0.01, 0.0]))]
    slices = [gd.field_slice(game, y, resolution=11, step=k) for k, y in enumerate(points)]
    fig = slice_figure(slices, [f"step {k:,}" for k in range(3)],
                       suptitle="dirac (dim 2) · loss nsgan · r1=0.3 · method simgd · h = 0.1 "
                                "· 5,000 steps")
    assert overlapping_texts(fig) == []
    _, renderer = visible_texts(fig)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 3
    for ax in panels:
        frame = ax.get_window_extent(renderer)
        (bar,) = ax.child_axes
        box = bar.get_window_extent(renderer)
        assert abs(box.height - frame.height) < 0.02 * frame.height  # as tall as its panel
        for text in ax.texts:  # the λ box inside its panel
            inner = text.get_bbox_patch().get_window_extent(renderer)
            assert frame.x0 <= inner.x0 and inner.x1 <= frame.x1 and frame.y0 <= inner.y0
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    assert not any(box.overlaps(ax.get_tightbbox(renderer)) for ax in panels)
    plt.close(fig)


def test_image_gif_frames_carry_the_run_settings(tmp_path, monkeypatch):
    from gandyn.plotting import _animate, _images

    titles = []
    original = _animate.write_animation

    def recording(path, fig, count, frame, **kwargs):
        frame(0)
        titles.append(fig._suptitle.get_text() if fig._suptitle else "")
        return original(path, fig, count, frame, **kwargs)

    monkeypatch.setattr(_animate, "write_animation", recording)
    samples = {0: np.zeros((1, 4, 1, 8, 8)), 10: np.ones((1, 4, 1, 8, 8))}
    settings = "digits · loss nsgan · no regularizer · method adam · h = 0.001 · 5,000 steps"
    _images.image_gif(tmp_path / "t.gif", samples, suptitle=settings)
    assert " ".join(titles[0].replace(" ·\n", " · ").split()) == settings
    assert (tmp_path / "t.gif").stat().st_size > 0


def test_atlases_share_their_colour_meaning_and_cells_count_converged_seeds():
    """The Dirac atlas and the training atlas draw a small (good) value in the same
    colour; a cell of seeds still converging, far from the equilibrium, is not `n/n`."""
    from gandyn.plotting import atlas, training_atlas

    rows = [{"loss": "wgan", "method": "rk4", "regularizer": reg, "step": h, "seed": s,
             "status": "converged" if reg == "r1=1" else "converging",
             "final_distance": 1e-8 if reg == "r1=1" else 0.5, "rate": None}
            for reg in ("none", "r1=1") for h in (0.1, 0.5) for s in range(2)]
    fig = atlas(rows)
    ax = fig.axes[0]
    texts = {tuple(int(round(v)) for v in t.get_position()): t.get_text() for t in ax.texts}
    assert texts == {(0, 0): "0/2", (1, 0): "0/2", (0, 1): "2/2", (1, 1): "2/2"}
    image = ax.images[0]
    best_dirac = image.cmap(image.norm(image.norm.vmin))
    train_rows = [{"data": "ring8", "width": 32, "depth": 2, "loss": "nsgan", "method": "adam",
                   "regularizer": "none", "step": h, "seed": 0, "status": "trained", "kl": kl}
                  for h, kl in ((1e-3, 0.01), (3e-3, 1.0))]
    fig2 = training_atlas(train_rows, "kl")
    image2 = fig2.axes[0].images[0]
    best_training = image2.cmap(image2.norm(image2.norm.vmin))
    assert np.allclose(best_dirac, best_training)
    assert not np.allclose(image2.cmap(image2.norm(image2.norm.vmax)), best_training)
    plt.close(fig)
    plt.close(fig2)

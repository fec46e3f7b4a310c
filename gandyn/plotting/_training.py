"""Training figures for toy targets: GAN-Lab-style snapshots, a GIF, metric curves."""

import jax
import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .._games import Players  # noqa: E402
from .._program_cache import arrays, kept  # noqa: E402
from ._style import (  # noqa: E402
    OKABE_ITO, STYLE, fit_suptitle, history_row, outcome_text, row_text, styled,
)


def _bounds(game, reference):
    lo, hi = reference.min(axis=0), reference.max(axis=0)
    pad = 0.25 * (hi - lo) + 0.5
    return lo - pad, hi + pad


REAL_COLOUR = OKABE_ITO["blue"]
FAKE_COLOUR = OKABE_ITO["black"]
PUSH_COLOUR = OKABE_ITO["vermillion"]
# D(x): purple–orange (readable under every colour vision deficiency), lightened
# towards white so that the samples on top stay visible.
D_CMAP = mpl.colors.ListedColormap(0.5 * mpl.colormaps["PuOr"](np.linspace(0, 1, 256))[:, :3] + 0.5,
                                   name="PuOr_light")



def _d_and_push_program(game, discriminator, points, fake, real):
    """`D(x) = σ(C(x))` at `points`, and the generator's push `−∇_x L_G` at the `fake`
    samples (scored against as many `real` ones): one compiled program per game shape
    (a snapshot, and every frame of a training GIF, call it)."""
    d = jax.nn.sigmoid(game.discriminate(discriminator, points))
    real_logits = game.discriminate(discriminator, real)

    def generator_loss(x):
        extra = {"real": real, "fake": x} if game.loss.uses_samples else {}
        return game.loss.generator(real_logits, game.discriminate(discriminator, x), **extra)

    push = -jax.grad(generator_loss)(fake) if fake.shape[0] else fake
    return d, push


_d_and_push = kept(_d_and_push_program, arrays(2))  # a later run loads it, untraced


def snapshot(ax, game, players: Players, samples: np.ndarray, reference: np.ndarray, *,
             title: str = "", arrows: int = 120, colorbar: bool = True, outcome: str = "",
             legend: bool = True):
    """One seed's state: in 2-D, the discriminator's D(x) = σ(C(x)) as a smooth heat
    map (with a colour bar), the target's samples (blue), generated samples (black)
    and, as arrows on some of them, the direction each generated sample is pushed,
    `−∇_x L_G` (GAN Lab's view). In 1-D, histograms of both and the D(x) curve."""
    lo, hi = _bounds(game, reference)
    if reference.shape[1] == 1:
        grid = np.linspace(lo[0], hi[0], 300)
        d = _d_and_push(game, players.discriminator, grid[:, None], samples[:0], reference[:0])[0]
        ax.hist(reference[:, 0], bins=80, range=(lo[0], hi[0]), density=True, color="0.8",
                label="real (target)")
        ax.hist(samples[:, 0], bins=80, range=(lo[0], hi[0]), density=True, histtype="step",
                color=FAKE_COLOUR, label="generated")
        twin = ax.twinx()
        twin.plot(grid, np.asarray(d), color=PUSH_COLOUR, lw=1.2, label="D(x)")
        twin.set_ylim(0, 1)
        twin.set_ylabel("D(x) = σ(C(x))", color=PUSH_COLOUR)
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        if legend:
            ax.legend(handles=ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0],
                      loc="upper left")
        if outcome:
            outcome_text(ax, outcome, loc="upper right")
        ax.set_title(title)
        return ax
    d, push = _plane_fields(game, players, samples, reference, arrows)
    heat = ax.imshow(d, extent=(lo[0], hi[0], lo[1], hi[1]), origin="lower", cmap=D_CMAP, vmin=0,
                     vmax=1, aspect="auto", interpolation="bicubic")
    if colorbar:
        ax.figure.colorbar(heat, ax=ax, shrink=0.85, pad=0.02, label="D(x) = σ(C(x))")
    # The generated samples above the real ones: a collapsed generator shows as black
    # clusters on some of the blue modes, the others left blue.
    ax.scatter(reference[:1000, 0], reference[:1000, 1], s=6, c=REAL_COLOUR, label="real (target)",
               zorder=2, linewidths=0, alpha=0.6)
    ax.scatter(samples[:, 0], samples[:, 1], s=3, c=FAKE_COLOUR, label="generated", zorder=3,
               linewidths=0)
    norm = np.linalg.norm(push, axis=1, keepdims=True) + 1e-12
    ax.quiver(samples[:arrows, 0], samples[:arrows, 1], *(push / norm).T, color=PUSH_COLOUR,
              scale=30, width=0.004, zorder=4, label="generator's push −∇ₓL_G")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title)
    if outcome:
        outcome_text(ax, outcome)
    return ax


def _plane_fields(game, players: Players, samples: np.ndarray, reference: np.ndarray,
                  arrows: int):
    """A 2-D snapshot's D(x) on its 120 × 120 grid and the push on its first `arrows`
    generated samples."""
    lo, hi = _bounds(game, reference)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fake, real = samples[:arrows], reference[: min(arrows, len(samples))]
    d, push = (np.asarray(a) for a in _d_and_push(game, players.discriminator, points, fake, real))
    return d.reshape(gx.shape), push


def _move_snapshot(ax, game, players: Players, samples: np.ndarray, reference: np.ndarray, *,
                   title: str, outcome: str, arrows: int = 120) -> list:
    """Change a 2-D `snapshot` drawn in `ax` (with an outcome) to another state, in
    place; returns the artists that changed."""
    (heat,), (_, fake, quiver), (text,) = ax.images, ax.collections, ax.texts
    d, push = _plane_fields(game, players, samples, reference, arrows)
    heat.set_data(d)
    fake.set_offsets(samples[:, :2])
    norm = np.linalg.norm(push, axis=1, keepdims=True) + 1e-12
    quiver.set_offsets(samples[:arrows, :2])
    quiver.set_UVC(*(push / norm).T)
    text.set_text(outcome)
    text.set_visible(bool(outcome))  # a seed that diverged has no metrics to show
    ax.set_title(title)
    return [heat, fake, quiver, text, ax.title]


def _players_at(params, seed):
    return jax.tree_util.tree_map(lambda x: x[seed], params)


def _sample_legend(fig, one_dimensional: bool = False):
    if one_dimensional:
        handles = [
            mpl.patches.Patch(color="0.8", label="real (target), histogram"),
            mpl.lines.Line2D([], [], color=FAKE_COLOUR, lw=1.0, label="generated, histogram"),
            mpl.lines.Line2D([], [], color=PUSH_COLOUR, lw=1.2, label="D(x) (right axis)"),
        ]
        return fig.legend(handles=handles, loc="lower center",
                          ncols=3 if fig.get_figwidth() > 8 else 1)
    handles = [
        mpl.lines.Line2D([], [], ls="none", marker="o", ms=5, color=REAL_COLOUR, label="real (target)"),
        mpl.lines.Line2D([], [], ls="none", marker="o", ms=4, color=FAKE_COLOUR, label="generated"),
        mpl.lines.Line2D([], [], color=PUSH_COLOUR, marker=r"$\rightarrow$", ms=12, ls="none",
                         label="generator's push −∇ₓL_G (direction)"),
    ]
    outside = fig.get_layout_engine() is not None  # constrained layout makes room itself
    return fig.legend(handles=handles, loc="outside lower center" if outside else "lower center",
                      ncols=3 if fig.get_figwidth() > 8 else 2)


@styled
def snapshots(game, checkpoints: dict[int, Players], samples: dict[int, np.ndarray],
              reference: np.ndarray, *, seed: int = 0, columns: int = 5, history=None,
              suptitle: str | None = None) -> plt.Figure:
    """Snapshots of one seed at (up to `columns`) evenly spaced log points, each with
    its logged metrics (from `history`) in the corner, one D(x) colour bar, a legend
    and the run's settings as the title."""
    from ._portrait import fit_margins, panel_grid

    steps = sorted(checkpoints)
    chosen = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, columns).astype(int))]
    plane = reference.shape[1] > 1

    def draw(ax, step):
        snapshot(ax, game, _players_at(checkpoints[step], seed), samples[step][seed], reference,
                 title=f"step {step:,}", colorbar=False, outcome=row_text(history_row(history, step, seed)),
                 legend=False)

    # Fixed margins (`panel_grid`), not a layout engine: a second of the run's end
    # otherwise. In 1-D each panel's twin axis has its label on the right.
    fig = panel_grid([[(step,) for step in chosen]], draw, panel_size=3.3 if plane else 3.8,
                     min_width=6.5, gap=0.75 if plane else 1.3, right=1.0 if plane else 0.7,
                     cell_aspect=1.0 if plane else 1.1)
    legend = _sample_legend(fig, one_dimensional=not plane)
    if suptitle:
        fit_suptitle(fig, f"{suptitle} · seed {seed}")
    fit_margins(fig, legend=legend)
    if plane:
        last = fig.axes[len(chosen) - 1].get_position()
        inch = 1 / fig.get_figwidth()
        cax = fig.add_axes((last.x1 + 0.15 * inch, last.y0 + 0.075 * last.height,
                            0.12 * inch, 0.85 * last.height))
        mappable = mpl.cm.ScalarMappable(mpl.colors.Normalize(0, 1), D_CMAP)
        fig.colorbar(mappable, cax=cax, label="D(x) = σ(C(x))")
    return fig


def training_gif(path, game, checkpoints: dict[int, Players], samples: dict[int, np.ndarray],
                 reference: np.ndarray, *, seed: int = 0, fps: int = 4, history=None,
                 suptitle: str | None = None) -> None:
    """An animation of `snapshot` over the log points, written to `path`: a GIF, or an
    MP4 where ffmpeg is installed (by the suffix, `writer_for`)."""
    from ._animate import write_animation

    steps = sorted(checkpoints)
    plane = reference.shape[1] > 1

    def state(i):
        return (_players_at(checkpoints[steps[i]], seed), samples[steps[i]][seed],
                f"step {steps[i]:,} · seed {seed}",
                row_text(history_row(history, steps[i], seed)))

    with plt.rc_context(STYLE):
        # Fixed margins, not a layout engine (a second a frame otherwise): room for the
        # title above, the colour bar on the right and the legend below.
        fig = plt.figure(figsize=(5.8, 6.0))

        def draw(i):  # the whole figure, as every frame of a 1-D run
            fig.clear()
            ax = fig.add_subplot()
            if plane:
                fig.subplots_adjust(left=0.13, right=0.97, bottom=0.2, top=0.87)
            else:  # the twin D(x) axis's ticks and label on the right; no legend below
                fig.subplots_adjust(left=0.13, right=0.86, bottom=0.1, top=0.87)
            players, points, title, outcome = state(i)
            snapshot(ax, game, players, points, reference, title=title, outcome=outcome)
            if plane:
                _sample_legend(fig)
            if suptitle:
                fit_suptitle(fig, suptitle, fontsize=9)

        draw(0)
        if plane and len(fig.axes[0].texts) == 1:
            # In 2-D the frames differ only in D(x), the generated samples, their
            # pushes and the texts: those are changed in place and drawn over the rest.
            ax = fig.axes[0]

            def move(i):
                players, points, title, outcome = state(i)
                _move_snapshot(ax, game, players, points, reference, title=title,
                               outcome=outcome)

            moving = _move_snapshot(ax, game, *state(0)[:2], reference, title=state(0)[2],
                                    outcome=state(0)[3])
            # The axes' frame over the heat map, as in a full draw.
            write_animation(path, fig, len(steps), move, fps=fps,
                            dynamic=[*moving, *ax.collections[:1], *ax.spines.values()])
        else:
            write_animation(path, fig, len(steps), lambda i: i and draw(i), fps=fps)
    plt.close(fig)


# metric key → (title, y label, scale applied, log y)
METRICS = {
    "generator_loss": ("generator loss", "L_G", 1, False),
    "discriminator_loss": ("discriminator loss", "L_D", 1, False),
    "speed": ("field speed", "‖v‖", 1, True),
    "modes": ("modes covered", "modes", 1, False),
    "high_quality": ("high-quality samples", "% within 3σ of a mode", 100, False),
    "kl": ("KL(target ‖ generated)", "KL (bits)", 1, True),
    "js": ("Jensen–Shannon divergence", "JS (bits)", 1, False),
    "energy": ("energy distance", "energy distance", 1, True),
    "mean": ("sample mean", "mean", 1, False),
    "std": ("sample std", "std", 1, False),
    "fd": ("Fréchet distance (classifier features)", "Fréchet distance", 1, True),
    "fd_pixels": ("Fréchet distance (pixels)", "Fréchet distance", 1, True),
    "classes_covered": ("classes covered", "classes", 1, False),
    "class_kl": ("class KL", "KL (nats)", 1, False),
    "mode_kl": ("mode KL", "KL (nats)", 1, False),
    "confidence": ("classifier confidence", "mean max p", 1, False),
}


@styled
def metric_curves(history: list[dict], *, suptitle: str | None = None) -> plt.Figure:
    """Losses, ‖v‖ and every logged metric against the step, one line per seed, each
    panel titled in words with its quantity and unit on the y axis (the share of
    high-quality samples in %, as the console prints it). Fixed margins (`panel_grid`),
    not a layout engine: a second of the run's end otherwise."""
    from ._portrait import fit_margins, panel_grid

    keys = [k for k in METRICS if any(k in r for r in history)]
    cols = min(4, len(keys))
    seeds = sorted({r["seed"] for r in history})

    def draw(ax, key):
        title, ylabel, scale, log = METRICS[key]
        for s in seeds:
            pts = [(r["step"], np.nan if r[key] is None else scale * r[key])  # None: not finite
                   for r in history if r["seed"] == s and key in r]
            if pts:
                ax.plot(*zip(*pts), lw=1.2, label=f"seed {s}")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        if log and any(r.get(key) for r in history):
            ax.set_yscale("log")
        total = {"modes": "modes_total", "classes_covered": "classes_total"}.get(key)
        if total and any(r.get(total) for r in history):
            ax.set_ylim(-0.3, max(r.get(total) or 0 for r in history) + 0.3)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))

    rows = [[(k,) for k in keys[i:i + cols]] for i in range(0, len(keys), cols)]
    fig = panel_grid(rows, draw, panel_size=3.4, min_width=6.5, gap=0.9, right=0.2,
                     cell_aspect=0.78)
    if len(seeds) > 1:
        fig.axes[0].legend()
    if suptitle:
        fit_suptitle(fig, suptitle)
    fit_margins(fig)
    return fig

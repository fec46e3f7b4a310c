"""One look for every figure: text of at least 9 pt, a colour-blind-safe palette
(Okabe & Ito, no red–green pair), outcome by colour *and* line style *and* marker,
and titles that carry the run's settings."""

import functools
import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .._palette import CYCLE, OKABE_ITO, STATUS_STYLE  # noqa: F401 - the house palette
from .._simulate import Status

MIN_POINTS = 9.0  # no text smaller than this, at the saved size

STYLE = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 9, "legend.title_fontsize": 9,
    "figure.titlesize": 11, "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "image.cmap": "cividis", "savefig.dpi": 110, "figure.dpi": 110,
    # A dash pattern in points, whatever the line's width: a legend's handle then shows
    # the very dashes of the (thinner or thicker) lines it stands for.
    "lines.scale_dashes": False,
}


def styled(function):
    """Run a figure-making function under `STYLE` (font sizes are fixed when each
    text artist is made, so the context only has to cover the drawing)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


# Linear verdicts of a point hλ (or μ): contracts / neutral / grows.
VERDICT_STYLE = {"contracts": (OKABE_ITO["blue"], "o"), "neutral (cycles)": (OKABE_ITO["purple"], "s"),
                 "grows": (OKABE_ITO["vermillion"], "^")}
REGION_FILL = "#d8e6f3"  # the stability region: a pale blue
REGION_EDGE = OKABE_ITO["blue"]


def status_handles(statuses) -> list:
    """Legend handles for the statuses that occur (in `Status` order), each with its
    colour, line style and marker."""
    occurring = {Status(int(s)) for s in np.atleast_1d(np.asarray(statuses)).ravel()}
    return [mpl.lines.Line2D([], [], color=c, ls=ls, marker=m, ms=6, lw=1.6, label=s.label)
            for s, (c, ls, m) in STATUS_STYLE.items() if s in occurring]


SEPARATOR = " · "


def wrap_phrases(text: str, width: int) -> str:
    """`text` wrapped at `width` characters between its `·`-separated phrases ("5,000
    steps" stays on one line); a phrase longer than a line alone is wrapped at its
    spaces. Existing line breaks are kept."""
    out = []
    for paragraph in text.split("\n"):
        line = ""
        for phrase in paragraph.split(SEPARATOR):
            candidate = phrase if not line else line + SEPARATOR + phrase
            if len(candidate) <= width or not line:
                line = candidate
            else:
                out.append(line + " ·")
                line = phrase
            if len(line) > width:  # one phrase longer than a line
                *full, line = textwrap.wrap(line, width, break_on_hyphens=False) or [""]
                out.extend(full)
        out.append(line)
    return "\n".join(out)


def settings_title(*parts, width: int = 110) -> str:
    """A title from the run's settings, `·`-separated, wrapped at `width` characters
    between phrases; empty parts are left out."""
    text = SEPARATOR.join(str(p) for p in parts if p not in (None, "", []))
    return wrap_phrases(text, width) if text else ""


def describe_game(game: str, **options) -> str:
    """`dirac (dim 2, real point 1, bias)` from a game's name and its options (those
    that are None or False left out)."""
    shown = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        name = key.replace("_", " ")
        shown.append(name if value is True else f"{name} {value:g}" if isinstance(value, float)
                     else f"{name} {value}")
    return f"{game} ({', '.join(shown)})" if shown else str(game)


def describe_regs(regs) -> str:
    """Regularizers with their weights, `r1=0.5 + gp=1`, or `no regularizer`."""
    regs = [r for r in (regs or []) if r and r != "none"]
    return " + ".join(regs) if regs else "no regularizer"


def outcome_text(ax: plt.Axes, text: str, *, loc: str = "upper left") -> None:
    """The panel's outcome, written in a corner on a white box."""
    x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
    y, va = (0.98, "top") if "upper" in loc else (0.02, "bottom")
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=MIN_POINTS, zorder=10,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.6", "alpha": 0.9, "lw": 0.5})


def readable_on(rgba) -> str:
    """Black or white, whichever reads better on the colour `rgba` (WCAG relative
    luminance)."""
    rgb = np.asarray(mpl.colors.to_rgb(rgba))
    linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = float(linear @ [0.2126, 0.7152, 0.0722])
    return "black" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "white"


def format_number(x: float, digits: int = 4) -> str:
    """`x` to `digits` significant figures, a zero of rounding noise shown as 0."""
    return f"{x:.{digits}g}"


def run_title(game: str, options: dict | None = None, *, losses=(), regularizers=(), methods=(),
              h: float | None = None, steps: int | None = None, extra=(), width: int = 10_000) -> str:
    """The settings of a run as a figure's title: game and its options, losses,
    regularizers with weights, methods, step size, number of steps, anything `extra`."""
    return settings_title(
        describe_game(game, **(options or {})),
        ("loss " if len(losses) == 1 else "losses ") + ", ".join(losses) if losses else None,
        None if regularizers is None else describe_regs(regularizers),
        ("method " if len(methods) == 1 else "methods ") + ", ".join(methods) if methods else None,
        None if h is None else f"h = {h:g}", None if steps is None else f"{steps:,} steps",
        *extra, width=width)


def fit_suptitle(fig: plt.Figure, text: str, fontsize: float = 11) -> None:
    """`fig.suptitle(text)` wrapped to the figure's width (about 0.55 em a character)."""
    chars = max(20, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
    fig.suptitle(wrap_phrases(text, chars), fontsize=fontsize)


def history_row(history, step, seed) -> dict | None:
    """The logged row of `seed` at `step`, or None."""
    for row in history or []:
        if row.get("step") == step and row.get("seed") == seed:
            return row
    return None


def row_text(row: dict | None) -> str:
    """A logged row's metrics in one line: modes, high-quality share, KL, Fréchet, classes."""
    if not row:
        return ""
    parts = []
    if row.get("modes") is not None:
        parts.append(f"modes {row['modes']}/{row.get('modes_total', '?')}")
    if row.get("high_quality") is not None:
        parts.append(f"HQ {row['high_quality']:.0%}")
    if row.get("kl") is not None:
        parts.append(f"KL {row['kl']:.3g} bits")
    if row.get("fd") is not None:
        parts.append(f"Fréchet {row['fd']:.4g}")
    if row.get("classes_covered") is not None:
        parts.append(f"classes {row['classes_covered']}/{row.get('classes_total', '?')}")
    return " · ".join(parts)

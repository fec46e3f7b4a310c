"""Figures of the optimization landscape (Berard et al. 2020, arXiv 1906.04848): the
path-angle plot and the top-k spectra of the game Jacobian and the players' Hessians."""

import matplotlib.pyplot as plt
import numpy as np

from ._style import MIN_POINTS, fit_suptitle


def path_angle_figure(path: dict, *, title: str = "path-angle",
                      labels: tuple[str, str] = ("y₁", "y₂")) -> plt.Figure:
    """As Berard et al. draw it: the cosine between the field `v(y(α))` and the segment
    `y₂ − y₁` on top (dashed verticals where it changes sign), `‖v(y(α))‖²` on a log
    axis below (the squared norm of the gradient, as their `plot_path_stats` draws it)
    (dashed verticals at the end points α = 0, 1). `path` is `gandyn.path_angle`'s
    output."""
    alpha, cos, norm = (np.asarray(path[k], dtype=float) for k in ("alpha", "cosine", "grad_norm"))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(6.4, 5.0), layout="constrained")
    top.plot(alpha, cos, color="tab:red", lw=1.5, label="cos(v(y(α)), y₂ − y₁)")
    top.axhline(0, color="black", ls="--", lw=0.8)
    changes = np.flatnonzero(np.sign(cos[1:]) * np.sign(cos[:-1]) < 0)
    for i in changes:
        top.axvline(alpha[i + 1], color="black", ls=":", lw=0.8)
    if len(changes):
        top.plot([], [], color="black", ls=":", lw=0.8, label="sign change")
    top.set_ylim(-1.05, 1.05)
    top.set_ylabel("cosine")
    top.set_xlabel("α")
    top.legend(fontsize=MIN_POINTS, loc="best")
    fit_suptitle(fig, title, fontsize=10)
    bottom.semilogy(alpha, np.where(norm > 0, norm**2, np.nan), color="tab:blue", lw=1.5,
                    label="‖v(y(α))‖² = ‖∇L‖²")
    for a, name in zip((0.0, 1.0), labels):
        bottom.axvline(a, color="black", ls="--", lw=0.8)
        bottom.annotate(name, (a, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                        textcoords="offset points", fontsize=MIN_POINTS)
    bottom.set_xlabel("α   (y(α) = (1 − α)·y₁ + α·y₂)")
    bottom.set_ylabel("‖v‖² (log scale)")
    bottom.legend(fontsize=MIN_POINTS, loc="best")
    return fig


def eigenvalues_figure(spectra: dict, *, title: str = "top-k eigenvalues") -> plt.Figure:
    """`spectra`: `{label: {"game_eigenvalues", "generator_hessian",
    "discriminator_hessian"}}` (one entry per step, complex / real arrays, see
    `gandyn.spectra`). Left: the game Jacobian's eigenvalues in the complex plane;
    middle and right: each player's Hessian eigenvalues as bars, sign kept, in order
    of decreasing magnitude, one colour per step."""
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.2), layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    labels = list(spectra)
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        colour = colours[i % len(colours)]
        game = np.asarray(spectra[label]["game_eigenvalues"], dtype=complex)
        axes[0].scatter(game.real, game.imag, s=22, color=colour, alpha=0.8, label=label,
                        edgecolors="none")
        for ax, name in zip(axes[1:], ("generator_hessian", "discriminator_hessian")):
            values = np.asarray(spectra[label][name], dtype=float)
            ax.bar(np.arange(len(values)) + (i - (len(labels) - 1) / 2) * width, values, width,
                   color=colour, label=label)
    ax = axes[0]
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(0, color="grey", lw=0.6)
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title("game Jacobian J = ∂v/∂y\n(stable: Re λ ≤ 0; v = −(∇ₓL₁, ∇ᵧL₂))", fontsize=9)
    ax.legend(fontsize=MIN_POINTS)
    for ax, name, key in zip(axes[1:], ("generator's Hessian ∇²ₓL₁",
                                         "discriminator's Hessian ∇²ᵧL₂"),
                             ("generator_hessian", "discriminator_hessian")):
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xlabel("rank by |λ| (0: largest)")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        magnitudes = np.concatenate([np.abs(np.asarray(spectra[label][key], dtype=float))
                                     for label in labels] or [np.zeros(1)])
        magnitudes = magnitudes[np.isfinite(magnitudes) & (magnitudes > 0)]
        if magnitudes.size and magnitudes.max() > 100 * magnitudes.min():
            # Steps whose spectra differ by orders of magnitude: both stay visible.
            ax.set_yscale("symlog", linthresh=float(magnitudes.min()))
            ax.set_ylabel("λ (symmetric log scale)")
        else:
            ax.set_ylabel("λ")
        ax.set_title(f"{name}\n(negative: a direction the player's loss curves down)", fontsize=9)
        ax.legend(fontsize=MIN_POINTS)
    fit_suptitle(fig, title, fontsize=10)
    return fig

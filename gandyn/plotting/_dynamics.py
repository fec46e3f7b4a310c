"""The flight recorder's figure (`dynamics.png` of a training run): what
`gandyn.Recorder` logged, over the steps."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from .._recorder import PREFIX, density_on_grid
from ._style import OKABE_ITO, fit_suptitle, styled


def _series(history, key, seed):
    pts = [(r["step"], np.nan if r.get(key) is None else r[key])
           for r in history if r["seed"] == seed and key in r]
    return np.array(pts, float).reshape(-1, 2)


def _heat_map(ax, fig, densities, player, seed, title):
    steps = [s for s in sorted(densities) if seed < len(densities[s][player]["nodes"])
             and densities[s][player]["nodes"][seed]]
    if not steps:
        ax.set_axis_off()
        return
    nodes = np.concatenate([densities[s][player]["nodes"][seed] for s in steps])
    low, high = float(nodes.min()), float(nodes.max())
    high = high if high > low else low + 1e-12
    # Bins even in asinh(λ/τ): fine near 0, where most of a network's spectrum lies.
    tau = 1e-2 * max(abs(low), abs(high), 1e-12)
    edges = tau * np.sinh(np.linspace(np.arcsinh(low / tau), np.arcsinh(high / tau), 61))
    grid = np.stack([density_on_grid(densities[s][player]["nodes"][seed],
                                     densities[s][player]["weights"][seed], edges)
                     for s in steps], axis=1)
    grid = np.where(grid > 0, grid, np.nan)
    x = np.array(steps, float)
    x_edges = np.concatenate([[x[0] - 0.5 * (x[1] - x[0]) if len(x) > 1 else x[0] - 0.5],
                              0.5 * (x[1:] + x[:-1]),
                              [x[-1] + 0.5 * (x[-1] - x[-2]) if len(x) > 1 else x[-1] + 0.5]])
    floor = np.nanmin(grid) if np.isfinite(np.nanmin(grid)) else 1e-6
    mesh = ax.pcolormesh(x_edges, edges, grid, cmap="cividis",
                         norm=LogNorm(vmin=max(floor, 1e-6), vmax=1.0), shading="flat")
    fig.colorbar(mesh, ax=ax, label="share of eigenvalues per bin")
    ax.set_yscale("symlog", linthresh=tau)
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel("Hessian eigenvalue (symlog)")


@styled
def dynamics_figure(history: list[dict], densities: dict[int, dict], *,
                    suptitle: str | None = None) -> plt.Figure:
    """Six panels over the steps: the Jacobian's rightmost and most rotational
    eigenvalue (max Re λ, max Im λ, every seed; points with max Re λ > 0 marked), the
    same as a cloud in the complex plane (seed 0, colour = step), the rotation share
    and path cosine, `½‖v‖²`, each player's Hessian extremes, and each player's
    Hessian spectral density (stochastic Lanczos quadrature, seed 0) as a heat map."""
    seeds = sorted({r["seed"] for r in history})
    panels = plt.figure(figsize=(18, 8), layout="constrained").subplot_mosaic(
        [["jac", "cloud", "shares", "energy"], ["hess", "hess", "dens_g", "dens_d"]])
    fig = panels["jac"].figure
    jac, cloud, shares, energy, hess, dens_g, dens_d = (
        panels[k] for k in ("jac", "cloud", "shares", "energy", "hess", "dens_g", "dens_d"))
    for s in seeds:
        style = {"ls": "-" if s == 0 else "--", "lw": 1.2}
        for key, colour, name in (("max_re_eig_J", OKABE_ITO["vermillion"], "max Re λ(J)"),
                                  ("max_im_eig_J", OKABE_ITO["blue"], "max Im λ(J)")):
            pts = _series(history, PREFIX + key, s)
            jac.plot(*pts.T, color=colour, label=f"{name}, seed {s}", **style)
        pts = _series(history, PREFIX + "max_re_eig_J", s)
        warn = pts[pts[:, 1] > 0]
        jac.plot(*warn.T, "^", color=OKABE_ITO["vermillion"], ms=6,
                 label="max Re λ(J) > 0 (repelling)" if s == seeds[0] else None)
        for key, colour, name in (("rotation_share", OKABE_ITO["purple"], "rotation share"),
                                  (PREFIX + "path_cosine", OKABE_ITO["green"], "path cosine")):
            pts = _series(history, key, s)
            if len(pts):
                shares.plot(*pts.T, color=colour, label=f"{name}, seed {s}", **style)
        pts = _series(history, PREFIX + "hamiltonian", s)
        energy.plot(*pts.T, color=OKABE_ITO["black"], label=f"seed {s}", **style)
        for player, colour in (("G", OKABE_ITO["orange"]), ("D", OKABE_ITO["sky"])):
            for end, marker in (("min", "v"), ("max", "^")):
                pts = _series(history, PREFIX + f"{end}_eig_hessian_{player}", s)
                hess.plot(*pts.T, color=colour, marker=marker, ms=4,
                          label=f"{end} λ(∇²L_{player}), seed {s}", **style)
    jac.axhline(0, color="grey", lw=0.8)
    jac.set(title="Game Jacobian: extreme eigenvalues", xlabel="step", ylabel="eigenvalue part")
    low, high = jac.get_ylim()
    jac.set_ylim(low, high + 0.45 * len(seeds) * (high - low))  # room for the legend above
    jac.legend(fontsize=9, loc="upper left", framealpha=0.8)
    re = _series(history, PREFIX + "max_re_eig_J", 0)
    im = _series(history, PREFIX + "max_im_eig_J", 0)
    points = cloud.scatter(re[:, 1], im[:, 1], c=re[:, 0], cmap="viridis", s=30)
    fig.colorbar(points, ax=cloud, label="step")
    cloud.axvline(0, color="grey", lw=0.8)
    cloud.set(title="Rightmost vs most rotational (seed 0)", xlabel="max Re λ(J)",
              ylabel="max Im λ(J)")
    shares.axhline(0, color="grey", lw=0.8)
    shares.set(title="Rotation share and path cosine", xlabel="step", ylabel="share / cosine",
               ylim=(-1.05, 1.05))
    shares.legend(fontsize=9)
    energy.set(title="Hamiltonian ½‖v‖²", xlabel="step", ylabel="½‖v‖²")
    if any(r.get(PREFIX + "hamiltonian") for r in history):
        energy.set_yscale("log")
    if len(seeds) > 1:
        energy.legend(fontsize=9)
    hess.axhline(0, color="grey", lw=0.8)
    hess.set_yscale("symlog", linthresh=1e-3)
    hess.set(title="Players' Hessians: extreme eigenvalues", xlabel="step",
             ylabel="eigenvalue (symlog)")
    # The band around 0 of the symlog axis is empty: the legend goes there.
    hess.legend(fontsize=9, ncol=2, loc="center", framealpha=0.8)
    _heat_map(dens_g, fig, densities, "G", 0, "Generator's Hessian spectrum (SLQ, seed 0)")
    _heat_map(dens_d, fig, densities, "D", 0, "Discriminator's Hessian spectrum (SLQ, seed 0)")
    if suptitle:
        fit_suptitle(fig, suptitle)
    return fig

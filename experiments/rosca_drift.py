"""Rosca et al.'s discretization drift on the Dirac-GAN (arXiv 2105.13922): which drift
terms destabilise simultaneous and alternating GD, and what cancelling the interaction
terms does.

Rosca et al. split the first-order drift of gradient descent into each player's *self*
term `(h/4)‖∇_i L_i‖²` and *interaction* term `c_i (h/2) ∇_j L_i · sg(∇_j L_j)` (Theorems
3.1–3.2; `gd.drift_penalties`), with `c_i = 1` for simultaneous GD and the sign flipped for
alternating GD's second mover. Their claims checked here, on the Dirac-GAN of their colab
(the minimax loss `sgan`, real point 0, start (1, 1), equal learning rates h = 0.1) and on
its WGAN version:

1. the modified flows follow the discrete updates (SimGD and AltGD) where the plain flow
   does not;
2. for SimGD on a zero-sum game the interaction terms are destabilising, the self terms
   are not (they minimise each player's own gradient norm);
3. for AltGD the second player's interaction term changes sign and cancels the first's;
4. cancelling the interaction terms with an explicit penalty (their code's
   `dd_coeffs_multiplier = −1` in its SGD configuration; here `--reg
   drift-interaction=-1`) stabilises SimGD. (Also run: SimGD with the self terms
   strengthened 4×, `--reg drift-self=3`, ours, not a claim of theirs checked here.)

Drift parts are added as gandyn regularizers: the field of the game with
`DriftPenalty(+1, part, h)` is the plain field plus that part of the drift, and with
`DriftPenalty(−1, part, h)` the map cancels it.

    python experiments/rosca_drift.py          # about a minute on 2 CPU cores
    python experiments/rosca_drift.py --plot   # redraw the figure from the numbers
"""

import json
import os
import sys
import time
from pathlib import Path

import common  # noqa: F401  (float64)
import jax
import matplotlib.pyplot as plt
import numpy as np
from jax.flatten_util import ravel_pytree

import gandyn as gd

HERE = Path(__file__).resolve().parent
H = 0.1
STEPS = 1000  # T = 100, as in the authors' colab
START = (1.0, 1.0)
SAVE_EVERY = 2  # steps between the saved points of a path (the JSON's size)
SELF_STRENGTH = 3.0  # c of `--reg drift-self=c` when strengthening the self terms


def dirac(loss: str, *regularizers):
    return gd.DiracGAN(gd.losses.get(loss), regularizers=tuple(regularizers))


def drift(c, part, alternating=False):
    return gd.DriftPenalty(c, part, H, alternating=alternating)


def spectra(loss: str) -> dict:
    """Max Re λ at the equilibrium of the plain field, of the field plus each drift part
    (SimGD's and AltGD's), and of the generic order-1 modified field; the map's growth
    per step and the modified flow's exp(h·max Re λ̃)."""
    star = dirac(loss).equilibrium()
    out = {}
    for name, method, alternating in (("simgd", gd.SimultaneousGD(), False),
                                      ("altgd", gd.AlternatingGD(), True)):
        re = lambda game: float(np.max(gd.eigenvalues(game, star).real))  # noqa: E731
        modified = gd.ModifiedFlow(method, order=1).flow_eigenvalues(dirac(loss), star, H)
        out[name] = {
            "plain": re(dirac(loss)),
            "self drift": re(dirac(loss, drift(1.0, "self", alternating))),
            "interaction drift": re(dirac(loss, drift(1.0, "interaction", alternating))),
            "both": re(dirac(loss, drift(1.0, "self", alternating),
                             drift(1.0, "interaction", alternating))),
            "modified order 1": float(np.max(modified.real)),
            "map growth per step": gd.amplification(dirac(loss), method, star, H),
            "modified flow growth per step": float(np.exp(H * np.max(modified.real))),
        }
    return out


def runs(loss: str, paths: bool) -> dict:
    """Trajectories from START: the final distance to the equilibrium and the status
    `simulate` gives, and (`paths`) (θ, ψ) every `SAVE_EVERY` steps."""
    simgd, altgd = gd.SimultaneousGD(), gd.AlternatingGD()
    cases = {
        "plain flow": (dirac(loss), gd.ModifiedFlow(simgd, order=0)),
        "SimGD": (dirac(loss), simgd),
        "SimGD modified flow (order 1)": (dirac(loss), gd.ModifiedFlow(simgd, order=1)),
        "SimGD, interaction cancelled": (dirac(loss, drift(-1.0, "interaction")), simgd),
        f"SimGD, self ×{1 + SELF_STRENGTH:g}": (dirac(loss, drift(SELF_STRENGTH, "self")),
                                                 simgd),
        "AltGD": (dirac(loss), altgd),
        "AltGD modified flow (order 1)": (dirac(loss), gd.ModifiedFlow(altgd, order=1)),
        "AltGD, interaction cancelled": (dirac(loss, drift(-1.0, "interaction", True)), altgd),
    }
    out = {}
    for name, (game, method) in cases.items():
        sol = gd.simulate(game, method, game.state(*START), h=H, steps=STEPS, save_every=1)
        path = np.asarray(jax.vmap(lambda y: ravel_pytree(y)[0])(sol.ys))[::SAVE_EVERY]
        out[name] = {"distance": float(sol.distance[-1]),
                     "status": gd.Status(int(sol.status)).label}
        if paths:
            out[name]["path"] = np.round(path, 5).tolist()
    return out


def main():
    start = time.time()
    results = {"h": H, "steps": STEPS, "start": START, "self_strength": SELF_STRENGTH,
               "save_every": SAVE_EVERY,
               "losses": {}}
    for loss in ("sgan", "wgan"):
        results["losses"][loss] = {"spectra": spectra(loss), "runs": runs(loss, loss == "sgan")}
        for method, row in results["losses"][loss]["spectra"].items():
            print(loss, method, {k: round(v, 6) for k, v in row.items()}, flush=True)
        for name, run in results["losses"][loss]["runs"].items():
            print(f"{loss:5s} {name:32s} distance {run['distance']:10.4g}  {run['status']}")
    results["seconds"] = time.time() - start
    write(results)
    plot(results)


def write(results):
    path = HERE / "results" / "rosca_drift.json"
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")


STYLE = {  # colour, line style, width, drawing order
    "plain flow": ("black", "-", 2.2, 1),
    "SimGD": ("tab:red", "-", 3.0, 2),
    "SimGD modified flow (order 1)": ("tab:orange", "--", 1.4, 4),
    "SimGD, interaction cancelled": ("tab:blue", "-", 1.0, 5),
    "AltGD": ("tab:red", "-", 3.0, 2),
    "AltGD modified flow (order 1)": ("tab:orange", "--", 1.4, 4),
    "AltGD, interaction cancelled": ("tab:blue", "-", 1.0, 5),
}
STRENGTHENED = ("tab:green", ":", 1.6, 3)


def plot(results):
    loss = "sgan"
    runs_ = results["losses"][loss]["runs"]
    style = lambda name: STRENGTHENED if "self ×" in name else STYLE[name]  # noqa: E731
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6), layout="constrained")
    for ax, family in zip(axes[:2], ("SimGD", "AltGD")):
        for name in ["plain flow"] + [n for n in runs_ if n.startswith(family)]:
            path = np.array(runs_[name]["path"], dtype=float)
            color, dash, width, order = style(name)
            ax.plot(path[:, 0], path[:, 1], dash, color=color, lw=width, zorder=order,
                    alpha=0.55 if width > 2.5 else 1.0,
                    label=f"{name}: {runs_[name]['status']}")
        ax.plot(*START, "o", color="black", ms=6, zorder=6, label="start (1, 1)")
        ax.plot(0, 0, "*", color="gold", mec="black", ms=13, zorder=6, label="equilibrium")
        ax.set_xlim(-3.2, 3.2)
        ax.set_ylim(-3.2, 3.2)
        ax.set_aspect("equal")
        ax.set_xlabel("θ (generator)")
        ax.set_ylabel("ψ (discriminator)")
        ax.set_title(f"{family}, h = {results['h']:g}, {results['steps']} steps (t = 0 … "
                     f"{results['h'] * results['steps']:g})", fontsize=10)
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    ax = axes[2]
    for name, run in runs_.items():
        path = np.array(run["path"], dtype=float)
        t = np.arange(len(path)) * results["h"] * results["save_every"]
        color, dash, width, order = style(name)
        if name.startswith("AltGD"):
            dash, width = (":" if dash == "-" else "-."), min(width, 1.6)
        ax.plot(t, np.linalg.norm(path, axis=1), dash, color=color, lw=width, zorder=order,
                alpha=0.55 if width > 2.5 else 1.0, label=name)
    ax.set_xlabel("time t = n·h")
    ax.set_ylabel("distance to the equilibrium ‖(θ, ψ)‖")
    ax.set_title("distance to the equilibrium (AltGD: dotted, dash-dotted)", fontsize=10)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.grid(alpha=0.3)
    fig.suptitle("Rosca et al.'s drift on the Dirac-GAN (minimax loss sgan, real point 0, "
                 "their colab's start and step):\nthe map, the plain flow, the order-1 modified "
                 "flow, and the map with drift terms cancelled (c = −1) or strengthened",
                 fontsize=10)
    path = HERE / "figures" / "rosca_drift.png"
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name("rosca_drift.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    if "--plot" in sys.argv:  # redraw from the saved numbers
        plot(json.loads((HERE / "results" / "rosca_drift.json").read_text()))
    else:
        main()

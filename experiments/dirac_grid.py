"""(1) The Dirac-GAN grid of Mescheder, Geiger & Nowozin 2018 (arXiv 1801.04406, Fig. 1-4):
eight games × simultaneous and alternating gradient descent, from (θ, ψ) = (1, 1).

    python experiments/dirac_grid.py
"""

import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.plotting import portrait_grid


H, STEPS = 0.1, 3000
GAMES = {
    "GAN (minimax)": gd.DiracGAN(losses.sgan),
    "non-saturating GAN": gd.DiracGAN(losses.nsgan),
    "WGAN": gd.DiracGAN(losses.wgan),
    "WGAN, clip 1.0": gd.DiracGAN(losses.wgan, regularizers=(gd.WeightClipping(1.0),)),
    "WGAN-GP, λ=1": gd.DiracGAN(losses.wgan, regularizers=(gd.WGANGP(1.0),)),
    "consensus, γ=1": gd.DiracGAN(losses.sgan, regularizers=(gd.Consensus(1.0),)),
    "instance noise, σ=1": gd.DiracGAN(losses.sgan, regularizers=(gd.InstanceNoise(1.0),)),
    "R1, γ=0.3": gd.DiracGAN(losses.sgan, regularizers=(gd.R1(0.3),)),
}
METHODS = {"simultaneous": gd.SimultaneousGD(), "alternating": gd.AlternatingGD()}


def main():
    out = out_dir("dirac_grid")
    rows, numbers = [], {}
    for method_name, method in METHODS.items():
        row = []
        for game_name, game in GAMES.items():
            sol = gd.simulate(game, method, game.state(1.0, 1.0), h=H, steps=STEPS)
            status = gd.Status(int(sol.status)).label
            distance = np.asarray(sol.distance)
            numbers[f"{game_name} / {method_name}"] = {
                "status": status,
                "final_distance": float(distance[np.isfinite(distance)][-1]),
                "rate_per_step": float(sol.rate),
                "diverged_at": int(sol.diverged_at) if int(sol.diverged_at) >= 0 else None,
            }
            row.append((game, sol, f"{game_name}\n{method_name} GD · {status}"))
        rows.append(row)
    fig = portrait_grid(rows, lim=2.0, panel_size=2.6)
    fig.savefig(out / "dirac_grid.png", dpi=100)
    print(f"wrote {out / 'dirac_grid.png'}")
    save_json(out / "dirac_grid.json", {"step": H, "steps": STEPS, "init": [1.0, 1.0],
                                         "results": numbers})


if __name__ == "__main__":
    main()

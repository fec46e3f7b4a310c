"""(5) ODE-GAN's claim (Qin et al. 2020, arXiv 2010.15040) on its 4×4 grid: with RK4 at
step 0.1 and the penalty λ‖∇θ L_G‖² (λ = 0.07) on the discriminator, MLPs 2×25 (ReLU),
batch 512, latent 32, the generator recovers the 16 modes; explicit Euler at the same
step does worse. Five seeds at once.

We integrate the *joint* flow (both players move together within each RK4 step), with
one minibatch for all four stages; the paper's colab instead steps each player with the
other frozen (`--variant playerwise` runs that, `PlayerwiseFlow`).

    python experiments/odegan_grid.py [--steps N] [--variant joint|playerwise] [--methods RK4 Euler]
                                      [--stratified] [--name NAME]
"""

import argparse
import time

import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import train


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variant", choices=["joint", "playerwise"], default="joint")
    parser.add_argument("--methods", nargs="+", choices=["RK4", "Euler"], default=["RK4", "Euler"])
    parser.add_argument("--name", default="odegan_grid", help="output folder and file name")
    parser.add_argument("--stratified", action="store_true",
                        help="real batches with every mode equally often, as in the colab")
    args = parser.parse_args()
    out = out_dir(args.name)
    target = gd.data.Grid(side=4, spacing=1.0, std=0.02, stratified=args.stratified)
    game = gd.MLPGAN(gd.losses.nsgan, target, width=25, depth=2, latent_size=32,
                     batch_size=512, regularizers=(gd.GeneratorGradientPenalty(0.07),))
    rk4 = gd.Flow(gd.RK4()) if args.variant == "joint" else gd.PlayerwiseFlow(gd.RK4())
    methods = {k: v for k, v in {"RK4": rk4, "Euler": gd.SimultaneousGD()}.items()
               if k in args.methods}
    numbers, finals = {}, {}
    for name, method in methods.items():
        start = time.perf_counter()
        result = train(game, method, h=0.1, steps=args.steps, seeds=args.seeds, log_every=500,
                       eigen_checkpoints=0)
        rows = result.summary()
        modes = [r.get("modes", 0) for r in rows]
        quality = [r.get("high_quality", 0.0) for r in rows]
        numbers[name] = {
            "modes": modes, "high_quality": quality, "median_modes": float(np.median(modes)),
            "median_high_quality": float(np.median(quality)),
            "kl": [r.get("kl") for r in rows], "diverged_at": result.diverged_at,
            "seconds": time.perf_counter() - start,
            "curve": [(r["step"], r.get("modes")) for r in result.history if r["seed"] == 0],
        }
        finals[name] = result.samples[result.steps_done]
        print(name, numbers[name]["median_modes"], numbers[name]["median_high_quality"])
    fig, axes = plt.subplots(len(methods), args.seeds, figsize=(2.4 * args.seeds, 5), squeeze=False,
                             layout="constrained")
    centres = game.target.centres
    for i, name in enumerate(methods):
        for s in range(args.seeds):
            ax = axes[i, s]
            x = finals[name][s]
            ax.scatter(x[:, 0], x[:, 1], s=1, c="k")
            ax.scatter(centres[:, 0], centres[:, 1], s=30, facecolors="none", edgecolors="tab:red")
            ax.set_xlim(-2.5, 2.5)
            ax.set_ylim(-2.5, 2.5)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name} · seed {s}: {numbers[name]['modes'][s]}/16, "
                         f"{numbers[name]['high_quality'][s]:.0%}", fontsize=7)
    fig.savefig(out / f"{args.name}.png", dpi=110)
    print(f"wrote {out / (args.name + '.png')}")
    save_json(out / f"{args.name}.json", {"settings": vars(args), "results": numbers})


if __name__ == "__main__":
    main()

"""(6) Losses and regularizers on ring-8 and grid-25 with Adam, five seeds each.

SGAN (minimax), non-saturating, RSGAN, RaSGAN, WGAN-GP (λ = 0.1, the WGAN-GP paper's toy
setting), non-saturating + R1 (γ = 0.1) and non-saturating + consensus (γ = 1), all with
Adam (lr 10⁻³, β₁ = 0.5), MLPs 3×128 (ReLU), latent 2, batch 256, `--steps` steps; the
five seeds train at once (`vmap`). Table: modes covered, share of samples within 3σ of a
centre ("high quality") and KL on a 30×30 histogram, median over seeds; figure: every
configuration's final samples (seed 0).

    python experiments/toy_losses.py [--steps N] [--seeds K]
"""

import argparse
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import train


jax.config.update("jax_enable_x64", False)  # networks train in float32

CONFIGS = {
    "SGAN": ("sgan", ()),
    "NS-GAN": ("nsgan", ()),
    "RSGAN": ("rsgan", ()),
    "RaSGAN": ("rasgan", ()),
    "WGAN-GP": ("wgan", (gd.WGANGP(0.1),)),
    "NS-GAN + R1": ("nsgan", (gd.R1(0.1),)),
    "NS-GAN + consensus": ("nsgan", (gd.Consensus(1.0),)),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    out = out_dir("toy_losses")
    numbers, finals = {}, {}
    for data_name in ("ring8", "grid25"):
        target = gd.data.get(data_name)
        for name, (loss, regs) in CONFIGS.items():
            game = gd.MLPGAN(gd.losses.get(loss), target, width=128, depth=3, latent_size=2,
                             batch_size=256, regularizers=regs)
            start = time.perf_counter()
            result = train(game, gd.methods.get("adam"), h=1e-3, steps=args.steps, seeds=args.seeds,
                           log_every=args.steps, eigen_checkpoints=0)
            jax.clear_caches()  # free compiled programs between configurations
            rows = result.summary()
            key = f"{data_name} · {name}"
            numbers[key] = {
                "modes": [r.get("modes", 0) for r in rows],
                "high_quality": [r.get("high_quality", 0.0) for r in rows],
                "kl": [r.get("kl") for r in rows],
                "diverged_at": result.diverged_at,
                "seconds": time.perf_counter() - start,
            }
            for k in ("modes", "high_quality", "kl"):
                values = [v for v in numbers[key][k] if v is not None]
                numbers[key][f"median_{k}"] = float(np.median(values)) if values else None
            finals[key] = result.samples[result.steps_done][0]
            print(key, numbers[key]["median_modes"], numbers[key]["median_high_quality"],
                  numbers[key]["median_kl"], f"{numbers[key]['seconds']:.0f} s", flush=True)
    save_json(out / "toy_losses.json", {"settings": vars(args), "results": numbers})
    fig, axes = plt.subplots(2, len(CONFIGS), figsize=(2.2 * len(CONFIGS), 4.6), squeeze=False,
                             layout="constrained")
    for i, data_name in enumerate(("ring8", "grid25")):
        centres = gd.data.get(data_name).centres
        for j, name in enumerate(CONFIGS):
            key = f"{data_name} · {name}"
            ax, x = axes[i, j], finals[key]
            ax.scatter(x[:, 0], x[:, 1], s=1, c="k")
            ax.scatter(centres[:, 0], centres[:, 1], s=20, facecolors="none", edgecolors="tab:red")
            lim = 1.4 * np.abs(centres).max()
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{key}\n{numbers[key]['modes'][0]}/{len(centres)} modes, "
                         f"{numbers[key]['high_quality'][0]:.0%} HQ", fontsize=6)
    fig.savefig(out / "toy_losses.png", dpi=120)
    print(f"wrote {out / 'toy_losses.png'}")


if __name__ == "__main__":
    main()

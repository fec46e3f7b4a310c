"""(6) Losses ± R1 on image data: 8×8 digits and stacked digits (1,000 modes).

SGAN (minimax), non-saturating, RSGAN, RaSGAN, WGAN-GP (λ = 10) and hinge, each without
and with R1 (γ = 1), trained with Adam (lr 1e-3, β₁ = 0.5) for `--steps` steps on the
default ConvGAN (width 32, latent 32, batch 64), three seeds at once. Metrics from
gandyn's digit classifier (not Inception): Fréchet distance in its feature space,
classes covered and class KL (digits), modes out of 1,000 and KL to uniform (stacked).
Then (7) Euler against RK4 at equal gradient evaluations (RK4: 4 per step) on digits.

Results are appended to `out/digits_losses/results.json` as each configuration
finishes; a rerun skips what is there.

    python experiments/digits_losses.py [--steps N] [--seeds K] [--only-solvers]
"""

import argparse
import json
import time

import jax
import matplotlib.pyplot as plt
import numpy as np
from common import clean, out_dir

import gandyn as gd
from gandyn.metrics import ImageMetrics
from gandyn import train
from gandyn.plotting import tile


jax.config.update("jax_enable_x64", False)  # images train in float32

LOSSES = {"SGAN": ("sgan", ()), "NS-GAN": ("nsgan", ()), "RSGAN": ("rsgan", ()),
          "RaSGAN": ("rasgan", ()), "WGAN-GP": ("wgan", (gd.WGANGP(10.0),)), "hinge": ("hinge", ())}


def run(name, data, metrics, loss, regs, method, h, steps, seeds):
    game = gd.ConvGAN(gd.losses.get(loss), data, regularizers=tuple(regs))
    start = time.perf_counter()
    result = train(game, method, h=h, steps=steps, seeds=seeds, log_every=steps,
                   eigen_checkpoints=0, metrics=metrics, keep_samples=64)
    seconds = time.perf_counter() - start
    # Free the compiled programs: a process compiling dozens of configurations otherwise
    # runs out of memory mappings for JIT code (LLVM "Cannot allocate memory").
    jax.clear_caches()
    rows = result.summary()
    keys = ("fd", "classes_covered", "class_kl", "modes", "mode_kl", "confidence")
    record = {k: [r.get(k) for r in rows] for k in keys if any(k in r for r in rows)}
    record.update(diverged_at=result.diverged_at, seconds=seconds,
                  median_fd=float(np.median([r.get("fd", np.inf) for r in rows])),
                  initial_fd=float(np.median([r["fd"] for r in result.history if r["step"] == 0])))
    print(f"{name}: median FD {record['median_fd']:.1f} ({seconds:.0f} s)", flush=True)
    return record, np.asarray(result.samples[result.steps_done][0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only-solvers", action="store_true")
    args = parser.parse_args()
    out = out_dir("digits_losses")
    path = out / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    grids = dict(np.load(out / "samples.npz")) if (out / "samples.npz").exists() else {}

    def save():
        path.write_text(json.dumps(clean(results), indent=1) + "\n")
        np.savez(out / "samples.npz", **grids)

    datasets = {"digits": gd.data.digits(), "stacked": gd.data.stacked_digits()}
    metrics = {k: ImageMetrics(v) for k, v in datasets.items()}
    adam = gd.methods.get("adam")
    if not args.only_solvers:
        for data_name, data in datasets.items():
            for loss_name, (loss, regs) in LOSSES.items():
                for r1 in (False, True):
                    name = f"{data_name} · {loss_name}{' + R1' if r1 else ''}"
                    if name in results:
                        continue
                    all_regs = tuple(regs) + ((gd.R1(1.0),) if r1 else ())
                    results[name], grids[name] = run(name, data, metrics[data_name], loss, all_regs, adam,
                                                     1e-3, args.steps, args.seeds)
                    save()
    # Euler vs RK4 at equal gradient evaluations: Euler takes 4 steps of h/4 per RK4 step.
    for h in (0.2, 0.8):
        for method_name, method, step, steps in (("Euler", gd.SimultaneousGD(), h / 4, args.steps),
                                                 ("RK4", gd.Flow(gd.RK4()), h, args.steps // 4)):
            name = f"digits · NS-GAN + R1 · {method_name} h={step:g} × {steps}"
            if name in results:
                continue
            results[name], grids[name] = run(name, datasets["digits"], metrics["digits"], "nsgan",
                                             (gd.R1(1.0),), method, step, steps, args.seeds)
            save()
    figure(out, results, grids)


def figure(out, results, grids):
    names = [n for n in results if n in grids and " · Euler" not in n and " · RK4" not in n]
    if not names:
        return
    columns = 6
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.4 * rows), squeeze=False,
                             layout="constrained")
    for ax, name in zip(axes.ravel(), names):
        grid = tile(grids[name][:16], columns=4)
        ax.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_title(f"{name}\nFD {results[name]['median_fd']:.0f}", fontsize=6)
    for ax in axes.ravel():
        ax.axis("off")
    fig.savefig(out / "digits_losses.png", dpi=120)
    print(f"wrote {out / 'digits_losses.png'}")


if __name__ == "__main__":
    main()

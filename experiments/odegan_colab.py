"""ODE-GAN's 4×4 grid as its colab runs it (google-deepmind/deepmind-research,
ode_gan/odegan_mog16.ipynb; Qin et al. 2020, arXiv 2010.15040).

What the colab does, and how it is expressed here:
- 16 Gaussians at {±0.5, ±1.5}², σ = 0.02, *stratified* real batches (`np.tile` of the
  16 means: each batch of 512 holds every mode 32 times): `Grid(..., stratified=True)`;
- MLPs 2×25 (ReLU), latent 32, batch 512, initialised as haiku does
  (`init_scheme="haiku"`: truncated normal, σ = 1/√fan_in, zero biases);
- the non-saturating loss, with the logit's sign flipped (its discriminator's sigmoid
  is the probability of *fake*): `nsgan` on `−C`, the same dynamics up to the sign of
  the last layer, whose initial distribution is symmetric (tested in
  tests/test_colab_pacgan.py, where the colab's update is written out verbatim);
- each player stepped with the other frozen, one minibatch per step, step 0.1
  (`PlayerwiseFlow`), the penalty λ‖∇θ L_G‖² (λ = 0.07) added once per step at the
  step's start (`ExplicitPenalties`), 30,001 iterations;
- integrators RK4, Euler, its "euler_heun" (`ColabEulerHeun`, first order) and, beside
  them, true Heun; float32 (as the colab).

Every `--log-every` (2,000) iterations: gandyn's modes / high-quality share and
PacGAN's (`pacgan_mode_metrics`) on 5,120 samples (the colab's `bs·10` test latents),
and a density panel per seed. Seeds are vmapped in one jit program.

    nice -n 10 python experiments/odegan_colab.py [--steps 30001] [--seeds 5]
        [--methods rk4 euler euler_heun heun] [--log-every 2000] [--name odegan_colab]
        [--ablation none|joint|penalty-in-stages|equinox-init|random-batches]
        [--checkpoint-every 2000] [--resume]

`--ablation` changes one thing back to `odegan_grid.py`'s setting.
"""

import argparse
import textwrap
import time

import diffrax
import jax
import matplotlib.pyplot as plt
import numpy as np
from common import clean, out_dir

import gandyn as gd
from gandyn.io import atomic_figure, write_json
from gandyn.metrics import mode_coverage, pacgan_mode_metrics

jax.config.update("jax_enable_x64", False)  # the colab runs in float32

SOLVERS = {"rk4": gd.RK4, "euler": diffrax.Euler, "euler_heun": gd.ColabEulerHeun,
           "heun": diffrax.Heun}
ABLATIONS = ("none", "joint", "penalty-in-stages", "equinox-init", "random-batches")


def build(ablation: str, solver_name: str):
    target = gd.data.Grid(side=4, spacing=1.0, std=0.02, stratified=ablation != "random-batches")
    game = gd.MLPGAN(gd.losses.nsgan, target, width=25, depth=2, latent_size=32, batch_size=512,
                     regularizers=(gd.GeneratorGradientPenalty(0.07),),
                     init_scheme="equinox" if ablation == "equinox-init" else "haiku")
    solver = SOLVERS[solver_name]()
    if ablation == "joint":
        method = gd.ExplicitPenalties(gd.Flow(solver))
    elif ablation == "penalty-in-stages":
        method = gd.PlayerwiseFlow(solver)
    else:
        method = gd.ExplicitPenalties(gd.PlayerwiseFlow(solver))
    return game, method


def metrics_for(target):
    centres, std = target.centres, target.std

    def metrics(x):
        modes, quality = mode_coverage(x, centres, std)
        pac = pacgan_mode_metrics(x, centres, std)
        return {"modes": modes, "high_quality": quality, "pacgan_modes": pac["modes"],
                "pacgan_high_quality": pac["high_quality"], "pacgan_reverse_kl": pac["reverse_kl"]}

    return metrics


def density_figure(name, samples, rows, centres, title):
    steps = sorted(samples)
    seeds = samples[steps[0]].shape[0]
    size = (max(1.05 * len(steps) + 0.6, 7.0), 1.1 * seeds + 1.0)
    fig, axes = plt.subplots(seeds, len(steps), figsize=size,
                             squeeze=False, layout="constrained")
    edges = np.linspace(-2, 2, 81)
    for j, step in enumerate(steps):
        for s in range(seeds):
            ax = axes[s, j]
            x = samples[step][s]
            x = x[np.all(np.isfinite(x), axis=1)]
            h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])
            ax.imshow(np.log1p(h.T), origin="lower", extent=(-2, 2, -2, 2), cmap="Blues")
            ax.scatter(centres[:, 0], centres[:, 1], s=4, c="tab:red", marker="+", linewidths=0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            row = rows.get((step, s), {})
            quality = row.get("high_quality")
            ax.set_title(f"{row.get('pacgan_modes', '–')} · {row.get('modes', '–')} · "
                         + ("–" if quality is None else f"{quality:.0%}"), fontsize=6, pad=1)
            if s == seeds - 1:
                ax.set_xlabel(f"{step}", fontsize=6)
            if j == 0:
                ax.set_ylabel(f"seed {s}", fontsize=7)
    fig.suptitle(textwrap.fill(
        f"{title}. Colour: log(1 + count) of 5,120 samples on [−2, 2]² (80×80 bins); "
        "columns: iteration; red +: the 16 centres. Panel title: modes by PacGAN's count "
        "(≥ 1 sample within 3σ) · modes by gandyn's (≥ a tenth of a uniform share within "
        "3σ) · high-quality share (within 3σ of a centre)", 110), fontsize=7)
    return fig


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30_001, help="iterations (colab: 30,001)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", nargs="+", choices=list(SOLVERS), default=list(SOLVERS))
    parser.add_argument("--log-every", type=int, default=2000)
    parser.add_argument("--ablation", choices=ABLATIONS, default="none")
    parser.add_argument("--name", default="odegan_colab", help="output folder and file name")
    parser.add_argument("--checkpoint-every", type=int, default=2000,
                        help="save a checkpoint per method every N iterations (0: never)")
    parser.add_argument("--resume", action="store_true",
                        help="continue each method from its checkpoint in the output folder")
    args = parser.parse_args()
    if args.steps < 1 or args.seeds < 1 or args.log_every < 1:
        parser.error(f"--steps, --seeds and --log-every must be positive, got {args.steps}, "
                     f"{args.seeds}, {args.log_every}")
    out = out_dir(args.name)
    results = {}
    for name in args.methods:
        game, method = build(args.ablation, name)
        metrics = metrics_for(game.target)
        start = time.perf_counter()

        def on_log(step, rows, _, start=start, name=name):
            modes = [r.get("pacgan_modes") for r in rows]
            print(f"{name} step {step}: PacGAN modes per seed {modes}, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)

        checkpoint = out / f"checkpoint_{name}"
        checkpoint.mkdir(exist_ok=True)
        resume = None
        if args.resume and (checkpoint / "checkpoint.npz").exists():
            resume = gd.load_checkpoint(checkpoint, game, method, h=0.1, seeds=args.seeds)
            print(f"{name}: resuming at iteration {resume.step}", flush=True)
        result = gd.train(game, method, h=0.1, steps=args.steps, seeds=args.seeds,
                          log_every=args.log_every, eval_samples=5120, eigen_checkpoints=0,
                          metrics=metrics, keep_checkpoints=False, on_log=on_log, resume=resume,
                          checkpoint_every=args.checkpoint_every or None,
                          on_checkpoint=lambda state, c=checkpoint: gd.save_checkpoint(c, state))
        seconds = time.perf_counter() - start
        rows = {(r["step"], r["seed"]): r for r in result.history}
        final = result.steps_done
        per_seed = [rows[(final, s)] for s in range(args.seeds)]
        results[name] = {
            "resumed_from": 0 if resume is None else resume.step,
            "seconds": seconds,
            "steps_per_second": (result.steps_done - (resume.step if resume else 0)) / seconds,
            "diverged_at": result.diverged_at,
            "final": {k: [r.get(k) for r in per_seed] for k in
                      ("modes", "high_quality", "pacgan_modes", "pacgan_high_quality",
                       "pacgan_reverse_kl")},
            "curves": {k: {str(step): [rows[(step, s)].get(k) for s in range(args.seeds)]
                           for step in sorted(result.samples)}
                       for k in ("pacgan_modes", "pacgan_high_quality", "modes")},
        }
        print(f"{name}: {seconds:.0f} s ({results[name]['steps_per_second']:.1f} steps/s); "
              "final PacGAN "
              f"modes {results[name]['final']['pacgan_modes']}", flush=True)
        fig = density_figure(name, result.samples, rows, game.target.centres,
                             f"ODE-GAN colab, {name}, h = 0.1, ablation: {args.ablation}")
        path = out / f"{args.name}_{name}.png"
        atomic_figure(path, fig)
        plt.close(fig)
        print(f"wrote {path}")
        write_json(out / f"{args.name}.json", clean({"settings": vars(args), "results": results}))
        print(f"wrote {out / (args.name + '.json')}")


if __name__ == "__main__":
    main()

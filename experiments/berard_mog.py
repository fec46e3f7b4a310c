"""(15) Berard et al. 2020, "A Closer Look at the Optimization Landscapes of GANs"
(ICLR 2020, arXiv 1906.04848), Section 5.1: the mixture-of-Gaussians GAN, from their
code (facebookresearch/GAN-optimization-landscape, `train_mixture_gan.py` run with
`--deterministic --save-stats`, and `plot_path_tools.py`):

- data: 1-D, two Gaussians at ±2 with σ = 1, equal weights; `--deterministic`: one
  fixed set of real samples and latent draws, used as one full batch at every step;
- G: z ∈ R¹⁰⁰ ~ N(0, I) → Linear(100) → ReLU → Linear(1); D: x → Linear(100) → ReLU
  → Linear(1) (PyTorch's default init, U(±1/√fan_in), which equinox's Linear shares);
- NSGAN (`nsgan`) and WGAN-GP (`wgan`, with their penalty λ·E(‖∇D(x_real)‖ − 1)² at
  the data points, `get_penalty(..., mode="data")`, λ = 1e-3, their default);
- simultaneous, alternating (D first) and extragradient steps with lr_G = 1e-2 and
  lr_D = 1e-1 (two time scales: trained here on the game whose discriminator loss is
  scaled by 10 with h = 1e-2, which is exactly their update for all three methods;
  every analysis is of the unscaled game, as theirs is);
- at initialisation and at the end: the top-k eigenvalues (largest magnitude) of the
  game Jacobian and of each player's Hessian, and the path-angle from the first
  checkpoint to the last (α ∈ [−0.1, 1.1], 100 points).

As theirs: 10,000 fixed samples (the training batch, and the field of every analysis).
Reduced here (a shared 2-core CPU): `STEPS` steps instead of their 100,000 iterations,
float32, top-6 instead of their 20 (init) and 100 (end), to ARPACK's relative
accuracy 1e-4. Training runs in segments of `SEGMENT` steps, each saved to
`checkpoint_<run>.npz`: running again with a larger STEPS continues from there.
A run that diverges is a result: it is analysed at its last finite parameters and
listed with the step it diverged at.

Sign convention: gandyn's J is the Jacobian of v = −(∇_θ L_G, ∇_ψ L_D); Berard et al.
plot that of (∇_θ L_G, ∇_ψ L_D) = −v, so their stable eigenvalues have Re λ ≥ 0 and
ours Re λ ≤ 0; magnitudes and imaginary parts are the same.

    python experiments/berard_mog.py [STEPS] [nsgan-sim,nsgan-alt,...]
    # writes experiments/out/berard_mog/
"""

import sys
import time
from pathlib import Path

import jax
import jax.flatten_util
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.plotting import eigenvalues_figure, path_angle_figure

jax.config.update("jax_enable_x64", False)  # float32: half the time on this CPU

SAMPLES = 10_000  # theirs: NUM_SAMPLES, one full batch with --deterministic
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
SEGMENT = 250  # steps between checkpoints
LR_G, LR_D = 1e-2, 1e-1
TOP_K = 6
TOL = 1e-4  # ARPACK's relative accuracy (float32)
GP_WEIGHT = 1e-3
METHODS = {"sim": gd.SimultaneousGD(), "alt": gd.AlternatingGD(generator_first=False),
           "extra": gd.Extragradient()}


class DataGradientPenalty(gd.AbstractRegularizer):
    """Their WGAN-GP penalty, `λ·E(‖∇_x D(x_real)‖ − 1)²` at the data points."""

    weight: float = GP_WEIGHT

    def discriminator_penalty(self, game, players, real, fake, key):
        grad = jax.vmap(jax.grad(lambda x: game.discriminate(players.discriminator, x[None])[0]))
        norms = jnp.sqrt(jnp.sum(grad(real) ** 2, axis=-1) + 1e-12)
        return self.weight * jnp.mean((norms - 1.0) ** 2)


class FullBatch(gd.AbstractGame):
    """`game` on one fixed batch (the minibatch `key` draws, at every step), with the
    discriminator's loss scaled by `scale` (its step size relative to h)."""

    game: gd.AbstractGame
    key: jax.Array
    scale: float = 1.0

    def init(self, key=None):
        return self.game.init(key)

    def losses(self, players, key=None):
        first, second = self.game.losses(players, self.key)
        return first, self.scale * second


def mog_game(loss_name: str):
    target = gd.data.Mixture1D(separation=4.0, std=1.0)
    regs = (DataGradientPenalty(),) if loss_name == "wgan" else ()
    return gd.MLPGAN(getattr(losses, loss_name), target, width=100, depth=1, latent_size=100,
                     batch_size=SAMPLES, activation="relu", regularizers=regs)


def train(loss_name: str, method_name: str, seed: int = 1234):
    """`(y0, y_end, history)`: the run trained to STEPS steps, resumed from its
    checkpoint if one exists (the field is deterministic: full batch, no noise)."""
    base = mog_game(loss_name)
    train_game = FullBatch(base, jax.random.key(seed), LR_D / LR_G)
    y0 = base.init(jax.random.key(seed + 1))
    flat0, unravel = jax.flatten_util.ravel_pytree(y0)
    path = out_dir("berard_mog") / f"checkpoint_{loss_name}-{method_name}.npz"
    y, step, diverged_at, seconds = y0, 0, -1, 0.0
    history = {"saved_step": [], "generator_loss": [], "discriminator_loss": [], "speed": []}
    if path.exists():
        with np.load(path, allow_pickle=False) as saved:
            y = unravel(jnp.asarray(saved["flat"], flat0.dtype))
            step, diverged_at = int(saved["step"]), int(saved["diverged_at"])
            seconds = float(saved["seconds"])
            history = {k: saved[k].tolist() for k in history}
        print(f"  resumed at step {step}" + (f" (diverged at {diverged_at})"
                                             if diverged_at >= 0 else ""), flush=True)
    while step < STEPS and diverged_at < 0:
        n = min(SEGMENT, STEPS - step)
        start = time.perf_counter()
        sol = gd.simulate(train_game, METHODS[method_name], y, h=LR_G, steps=n,
                          save_every=max(1, n // 25))
        y = sol.final
        jax.block_until_ready(y)
        seconds += time.perf_counter() - start
        history["saved_step"] += (step + np.asarray(sol.steps)).tolist()
        for k in ("generator_loss", "discriminator_loss", "speed"):
            history[k] += np.asarray(getattr(sol, k)).tolist()
        if int(np.asarray(sol.diverged_at)) >= 0:
            diverged_at = step + int(np.asarray(sol.diverged_at))
        step += n
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, flat=np.asarray(jax.flatten_util.ravel_pytree(y)[0]), step=step,
                 diverged_at=diverged_at, seconds=seconds,
                 **{k: np.asarray(v, dtype=float) for k, v in history.items()})
        Path(tmp).replace(path)
        print(f"  step {step}: {seconds:.0f} s training so far" + (
            f", diverged at {diverged_at}" if diverged_at >= 0 else ""), flush=True)
    return base, y0, y, step, diverged_at, seconds, history


def run(loss_name: str, method_name: str, seed: int = 1234):
    base, y0, y1, steps, diverged_at, train_seconds, history = train(loss_name, method_name, seed)
    game = FullBatch(base, jax.random.key(seed))  # the analysed game, unscaled
    start = time.perf_counter()
    result = gd.landscape(game, {0: y0, steps: y1}, k=TOP_K, n=100, tol=TOL)
    # Local stability: the eigenvalue of largest real part (ARPACK, which="LR"), at the
    # end point.
    lr = gd.top_spectrum(game, y1, 1, which="LR", max_iterations=1000, tol=1e-3)
    stability = {str(steps): [float(lr[0].real), float(lr[0].imag)]}
    analysis_seconds = time.perf_counter() - start
    samples = np.asarray(base.generate(y1.generator, jax.random.key(7), 5000)).ravel()
    flat = jax.flatten_util.ravel_pytree(y1)[0]
    np.save(out_dir("berard_mog") / f"final_{loss_name}-{method_name}.npy", np.asarray(flat))
    return {"loss": loss_name, "method": method_name, "steps": steps, "samples": SAMPLES,
            "diverged_at": diverged_at, **history,
            "largest_real_part": stability, "train_seconds": train_seconds,
            "analysis_seconds": analysis_seconds, **result}, samples


def claims(r: dict) -> dict:
    """The paper's three statements, measured on one run's end point."""
    end = str(r["steps"])
    eig = np.array([complex(*e) for e in r["game_eigenvalues"][end]])
    scale = float(np.max(np.abs(eig)))
    imag = float(np.max(np.abs(eig.imag)))
    gen = np.array(r["generator_hessian"][end])
    max_re = r["largest_real_part"][end][0]
    norm0 = float(np.interp(0.0, np.array(r["path_angle"]["alpha"]),
                            np.array(r["path_angle"]["grad_norm"])))
    alpha = np.array(r["path_angle"]["alpha"])
    cos = np.array(r["path_angle"]["cosine"])
    norm = np.array(r["path_angle"]["grad_norm"])
    near = (alpha > 0.8) & (alpha <= 1.1)
    i_min = int(np.flatnonzero(near)[np.argmin(norm[near])])
    return {
        "max_abs_imag_over_max_abs": imag / scale if scale else 0.0,
        "max_abs_imag": imag,
        "rotation_share_end": r["rotation_share"][end][0],
        "min_generator_hessian_eig": float(gen.min()),
        "largest_real_part_end": max_re,
        "locally_stable": bool(max_re <= 1e-6 * scale),
        "cos_at_1": float(np.interp(1.0, alpha, cos)),
        "max_abs_cos_near_end": float(np.max(np.abs(cos[near]))),
        "norm_min_near_end": float(norm[i_min]),
        "alpha_of_norm_min": float(alpha[i_min]),
        "norm_at_0": norm0,
        "norm_at_1": float(np.interp(1.0, alpha, norm)),
        "sign_changes_near_end": int(np.sum(np.sign(cos[near][1:]) * np.sign(cos[near][:-1]) < 0)),
    }


def main():
    out = out_dir("berard_mog")
    runs = [tuple(r.split("-")) for r in (sys.argv[2].split(",") if len(sys.argv) > 2 else
            [f"{loss}-{method}" for loss in ("nsgan", "wgan") for method in METHODS])]
    results, histograms = [], {}
    for loss_name, method_name in runs:
        if True:
            print(f"{loss_name} / {method_name}: {STEPS} steps on {SAMPLES} samples ...",
                  flush=True)
            r, samples = run(loss_name, method_name)
            r["claims"] = claims(r)
            histograms[(loss_name, method_name)] = samples
            results.append(r)
            label = f"{loss_name}-{method_name}"
            end = r["steps"]
            gone = f", diverged at {r['diverged_at']}" if r["diverged_at"] >= 0 else ""
            fig = path_angle_figure(r["path_angle"], title=f"MoG {label} ({SAMPLES:,} fixed "
                                    f"samples): path-angle, init → step {end}{gone}",
                                    labels=("init", f"step {end}"))
            fig.savefig(out / f"path_angle_{label}.png", dpi=100)
            plt.close(fig)
            spectra = {name: {k: ([complex(*e) for e in r[k][step]] if k == "game_eigenvalues"
                                  else r[k][step])
                              for k in ("game_eigenvalues", "generator_hessian",
                                        "discriminator_hessian")}
                       for name, step in (("init", "0"), (f"step {end}", str(end)))}
            fig = eigenvalues_figure(spectra, title=f"MoG {label}: top-{TOP_K} eigenvalues")
            fig.savefig(out / f"eigenvalues_{label}.png", dpi=100)
            plt.close(fig)
            c = r["claims"]
            print(f"  {r['train_seconds']:.0f} s training, {r['analysis_seconds']:.0f} s "
                  f"analysis; "
                  f"max|Im λ|/max|λ| {c['max_abs_imag_over_max_abs']:.2f}, max Re λ "
                  f"{c['largest_real_part_end']:.3g}, min λ(∇²L_G) "
                  f"{c['min_generator_hessian_eig']:.3g}, cos(1) {c['cos_at_1']:.2f}, "
                  f"rotation share {c['rotation_share_end']:.2f}", flush=True)
            save_json(out / "berard_mog.json", results)
    fig, axes = plt.subplots(1, len(histograms), figsize=(3.7 * len(histograms), 3.2), sharex=True,
                             layout="constrained", squeeze=False)
    grid = np.linspace(-6, 6, 400)
    density = (np.exp(-(grid - 2) ** 2 / 2) + np.exp(-(grid + 2) ** 2 / 2)) / np.sqrt(8 * np.pi)
    for ax, ((loss_name, method_name), samples) in zip(axes.ravel(), histograms.items()):
        ax.hist(samples[np.isfinite(samples)], bins=100, range=(-6, 6), density=True,
                color="tab:orange", alpha=0.7, label="G(z), 5,000 draws")
        ax.plot(grid, density, color="black", lw=1, label="target")
        r = next(r for r in results if (r["loss"], r["method"]) == (loss_name, method_name))
        gone = f" (diverged at {r['diverged_at']})" if r["diverged_at"] >= 0 else ""
        ax.set_title(f"{loss_name}, {method_name}: step {r['steps']}{gone}", fontsize=9)
        ax.set_xlabel("x")
    axes[0, 0].legend(fontsize=7)
    axes[0, 0].set_ylabel("density")
    fig.suptitle("Berard et al.'s mixture of Gaussians: generated vs target", fontsize=10)
    fig.savefig(out / "samples.png", dpi=100)
    print(f"wrote {out / 'samples.png'}")


if __name__ == "__main__":
    main()

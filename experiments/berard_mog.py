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

Reduced here (a shared 2-core CPU): 1,000 fixed samples instead of 10,000 and
`STEPS` steps instead of their 100,000 iterations; top-6 instead of their 20 (init)
and 100 (end), to ARPACK's relative accuracy 1e-6.

Sign convention: gandyn's J is the Jacobian of v = −(∇_θ L_G, ∇_ψ L_D); Berard et al.
plot that of (∇_θ L_G, ∇_ψ L_D) = −v, so their stable eigenvalues have Re λ ≥ 0 and
ours Re λ ≤ 0; magnitudes and imaginary parts are the same.

    python experiments/berard_mog.py [STEPS] [nsgan-sim,nsgan-alt,...]
    # writes experiments/out/berard_mog/
"""

import sys
import time

import jax
import jax.flatten_util
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.plotting._landscape import eigenvalues_figure, path_angle_figure

SAMPLES = 1000
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
LR_G, LR_D = 1e-2, 1e-1
TOP_K = 6
TOL = 1e-6  # ARPACK's relative accuracy
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


def run(loss_name: str, method_name: str, seed: int = 1234):
    base = mog_game(loss_name)
    batch_key = jax.random.key(seed)
    game = FullBatch(base, batch_key)  # the analysed game, unscaled
    train_game = FullBatch(base, batch_key, LR_D / LR_G)
    y0 = base.init(jax.random.key(seed + 1))
    start = time.perf_counter()
    sol = gd.simulate(train_game, METHODS[method_name], y0, h=LR_G, steps=STEPS,
                      save_every=max(1, STEPS // 100))
    y1 = sol.final
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = gd.landscape(game, {0: y0, STEPS: y1}, k=TOP_K, n=100, tol=TOL)
    # Local stability: the eigenvalue of largest real part (ARPACK, which="LR"); the
    # generator's most negative curvature (Lanczos, which="SA"), which the top-k by
    # magnitude can miss.
    stability, lowest = {}, {}
    for step, y in ((0, y0), (STEPS, y1)):
        lr = gd.top_spectrum(game, y, 1, which="LR", max_iterations=3000, tol=1e-4)
        stability[str(step)] = [float(lr[0].real), float(lr[0].imag)]
        sa = gd.top_spectrum(game, y, 1, of="generator", which="SA", max_iterations=3000, tol=1e-4)
        lowest[str(step)] = float(sa[0])
    analysis_seconds = time.perf_counter() - start
    samples = np.asarray(base.generate(y1.generator, jax.random.key(7), 5000)).ravel()
    flat = jax.flatten_util.ravel_pytree(y1)[0]
    np.save(out_dir("berard_mog") / f"final_{loss_name}-{method_name}.npy", np.asarray(flat))
    return {"loss": loss_name, "method": method_name, "steps": STEPS,
            "diverged_at": int(np.asarray(sol.diverged_at)),
            "generator_loss": np.asarray(sol.generator_loss).tolist(),
            "discriminator_loss": np.asarray(sol.discriminator_loss).tolist(),
            "speed": np.asarray(sol.speed).tolist(),
            "largest_real_part": stability, "lowest_generator_eigenvalue": lowest,
            "train_seconds": train_seconds,
            "analysis_seconds": analysis_seconds, **result}, samples


def claims(r: dict) -> dict:
    """The paper's three statements, measured on one run's end point."""
    end = str(r["steps"])
    eig = np.array([complex(*e) for e in r["game_eigenvalues"][end]])
    scale = float(np.max(np.abs(eig)))
    imag = float(np.max(np.abs(eig.imag)))
    gen = np.array(r["generator_hessian"][end])
    max_re = r["largest_real_part"][end][0]
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
        "lowest_generator_eigenvalue": r["lowest_generator_eigenvalue"][end],
        "largest_real_part_end": max_re,
        "locally_stable": bool(max_re <= 1e-6 * scale),
        "cos_at_1": float(np.interp(1.0, alpha, cos)),
        "max_abs_cos_near_end": float(np.max(np.abs(cos[near]))),
        "norm_min_near_end": float(norm[i_min]),
        "alpha_of_norm_min": float(alpha[i_min]),
        "norm_at_0": float(np.interp(0.0, alpha, norm)),
        "sign_changes_near_end": int(np.sum(np.sign(cos[near][1:]) * np.sign(cos[near][:-1]) < 0)),
    }


def main():
    out = out_dir("berard_mog")
    runs = [tuple(r.split("-")) for r in (sys.argv[2].split(",") if len(sys.argv) > 2 else
            [f"{loss}-{method}" for loss in ("nsgan", "wgan") for method in METHODS])]
    results, histograms = [], {}
    for loss_name, method_name in runs:
        if True:
            print(f"{loss_name} / {method_name}: {STEPS} steps ...", flush=True)
            r, samples = run(loss_name, method_name)
            r["claims"] = claims(r)
            histograms[(loss_name, method_name)] = samples
            results.append(r)
            label = f"{loss_name}-{method_name}"
            fig = path_angle_figure(r["path_angle"], title=f"MoG {label}: path-angle, init → "
                                    f"step {STEPS}", labels=("init", f"step {STEPS}"))
            fig.savefig(out / f"path_angle_{label}.png", dpi=100)
            plt.close(fig)
            spectra = {name: {k: ([complex(*e) for e in r[k][step]] if k == "game_eigenvalues"
                                  else r[k][step])
                              for k in ("game_eigenvalues", "generator_hessian",
                                        "discriminator_hessian")}
                       for name, step in (("init", "0"), (f"step {STEPS}", str(STEPS)))}
            fig = eigenvalues_figure(spectra, title=f"MoG {label}: top-{TOP_K} eigenvalues")
            fig.savefig(out / f"eigenvalues_{label}.png", dpi=100)
            plt.close(fig)
            c = r["claims"]
            print(f"  {r['train_seconds']:.0f} s training, {r['analysis_seconds']:.0f} s analysis; "
                  f"max|Im λ|/max|λ| {c['max_abs_imag_over_max_abs']:.2f}, max Re λ "
                  f"{c['largest_real_part_end']:.3g}, min λ(∇²L_G) "
                  f"{c['min_generator_hessian_eig']:.3g} (lowest "
                  f"{c['lowest_generator_eigenvalue']:.3g}), cos(1) {c['cos_at_1']:.2f}, "
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
        ax.set_title(f"{loss_name}, {method_name}: step {STEPS}", fontsize=9)
        ax.set_xlabel("x")
    axes[0, 0].legend(fontsize=7)
    axes[0, 0].set_ylabel("density")
    fig.suptitle("Berard et al.'s mixture of Gaussians: generated vs target", fontsize=10)
    fig.savefig(out / "samples.png", dpi=100)
    print(f"wrote {out / 'samples.png'}")


if __name__ == "__main__":
    main()

"""PacGAN's Table 1 (Lin et al. 2018, arXiv 1712.04086), GAN and PacGAN2 on its 2D-ring
and 2D-grid, with the settings of its code (fjxmlzn/PacGAN,
synthetic_data_experiments/2D*_GAN&PacGAN/{config,pacgan_task}.py):

- 2D-ring: 8 Gaussians on the unit circle, σ = 0.01; 2D-grid: 25 at {−4, −2, 0, 2, 4}²,
  σ = 0.05;
- generator 2 → 4×400 → 2, each hidden layer linear (no bias) + batch normalization
  (batch statistics, learned scale and shift, ε = 10⁻⁴) + ReLU, the output layer with a
  bias; latent z ~ N(0, I₂);
- discriminator 2m → 3 maxout layers of 200 units × 5 pieces → 1 logit (m = pack);
- weights N(0, 0.02²), biases 0; the non-saturating loss; both players updated at
  once (`ali_algorithm`) by Adam, lr 10⁻⁴, blocks' β₁ = 0.8, which is the weight of the
  *new* gradient in blocks' convention (optax b1 = 0.2, b2 = 0.999);
- batch 100 packs; 400 epochs of 100,000 samples = 400,000 iterations;
- metrics (`pacgan_mode_metrics`) on 2,500 generated samples after training, 10 runs.

Differences, by necessity: fresh real samples each step instead of a fixed set of
100,000 (resampled); the generator's batch normalization at evaluation uses the batch
statistics of the 2,500 samples, where blocks uses population averages (an exponential
average of training batch statistics); random seeds are 0..runs−1 (vmapped).

    nice -n 10 python experiments/pacgan_table.py [--steps 400000] [--runs 10]
        [--data ring grid] [--packs 1 2] [--log-every 20000] [--name pacgan_table]
"""

import argparse
import textwrap
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from common import clean, out_dir

import gandyn as gd
from gandyn.io import atomic_figure, write_json
from gandyn.metrics import pacgan_mode_metrics

jax.config.update("jax_enable_x64", False)  # float32, as Theano ran it

TARGETS = {"ring": gd.data.Ring(modes=8, radius=1.0, std=0.01),
           "grid": gd.data.Grid(side=5, spacing=2.0, std=0.05)}
# Table 1 of the paper (mean ± standard error over 10 runs).
PUBLISHED = {
    ("ring", 1): {"modes": (6.3, 0.5), "high_quality": (98.2, 0.2), "reverse_kl": (0.45, 0.09)},
    ("ring", 2): {"modes": (7.9, 0.1), "high_quality": (95.6, 2.0), "reverse_kl": (0.07, 0.03)},
    ("grid", 1): {"modes": (17.3, 0.8), "high_quality": (94.8, 0.7), "reverse_kl": (0.70, 0.07)},
    ("grid", 2): {"modes": (23.8, 0.7), "high_quality": (91.3, 0.8), "reverse_kl": (0.13, 0.04)},
}


def _normal(key, shape, std):
    return std * jax.random.normal(key, shape)


class BatchNormGenerator(eqx.Module):
    """`z → x`: hidden layers `h ← ReLU(γ ⊙ (Wh − μ_B)/√(σ²_B + ε) + β)` with the
    statistics `μ_B`, `σ²_B` of the batch, then `x = W h + b`. Acts on a batch."""

    weights: tuple[jax.Array, ...]
    scales: tuple[jax.Array, ...]
    shifts: tuple[jax.Array, ...]
    out_weight: jax.Array
    out_bias: jax.Array
    eps: float = eqx.field(static=True, default=1e-4)

    def __call__(self, z):
        h = z
        for w, g, b in zip(self.weights, self.scales, self.shifts):
            h = h @ w.T
            mean, var = jnp.mean(h, axis=0), jnp.var(h, axis=0)
            h = jax.nn.relu(g * (h - mean) / jnp.sqrt(var + self.eps) + b)
        return h @ self.out_weight.T + self.out_bias


class MaxoutDiscriminator(eqx.Module):
    """`x → logit`: maxout layers `h ← max_k (W h + b)_{j,k}` (pieces k), then linear."""

    weights: tuple[jax.Array, ...]
    biases: tuple[jax.Array, ...]
    out_weight: jax.Array
    out_bias: jax.Array
    pieces: int = eqx.field(static=True)

    def __call__(self, x):
        h = x
        for w, b in zip(self.weights, self.biases):
            h = jnp.max(jnp.reshape(w @ h + b, (-1, self.pieces)), axis=-1)
        return (self.out_weight @ h + self.out_bias)[0]


class PacGANToy(gd.AbstractNetworkGAN):
    """PacGAN's synthetic-data GAN (see the module docstring); `pack = m` packs."""

    loss: gd.losses.AbstractLoss
    target: gd.data.AbstractTarget
    latent_size: int = eqx.field(static=True, default=2)
    batch_size: int = eqx.field(static=True, default=100)
    generator_width: int = eqx.field(static=True, default=400)
    generator_depth: int = eqx.field(static=True, default=4)
    discriminator_width: int = eqx.field(static=True, default=200)
    discriminator_depth: int = eqx.field(static=True, default=3)
    pieces: int = eqx.field(static=True, default=5)
    init_std: float = eqx.field(static=True, default=0.02)
    spectral_norm: bool = eqx.field(static=True, default=False)
    regularizers: tuple = ()
    pack: int = eqx.field(static=True, default=1, kw_only=True)

    def __check_init__(self):
        self._check_pack()

    @property
    def _sample_shape(self):
        return (self.target.dim,)

    def _networks(self, key):
        gk, dk = jax.random.split(key)
        gw, dw = self.generator_width, self.discriminator_width
        d, s = self.target.dim, self.init_std
        gkeys = jax.random.split(gk, self.generator_depth + 1)
        sizes = [self.latent_size] + [gw] * self.generator_depth
        generator = BatchNormGenerator(
            tuple(_normal(k, (gw, n), s) for k, n in zip(gkeys, sizes[:-1])),
            tuple(jnp.ones(gw) for _ in range(self.generator_depth)),
            tuple(jnp.zeros(gw) for _ in range(self.generator_depth)),
            _normal(gkeys[-1], (d, gw), s), jnp.zeros(d))
        dkeys = jax.random.split(dk, self.discriminator_depth + 1)
        sizes = [self.pack * d] + [dw] * self.discriminator_depth
        discriminator = MaxoutDiscriminator(
            tuple(_normal(k, (dw * self.pieces, n), s) for k, n in zip(dkeys, sizes[:-1])),
            tuple(jnp.zeros(dw * self.pieces) for _ in range(self.discriminator_depth)),
            _normal(dkeys[-1], (1, dw), s), jnp.zeros(1), self.pieces)
        return generator, discriminator

    def generate(self, generator, key, n=None):
        """`n` samples (default: a training minibatch, `batch_size·pack`). A training
        minibatch is generated slot by slot, each slot's `batch_size` samples with
        their own batch statistics, as PacGAN decodes each of its m latent batches."""
        model = eqx.combine(generator, self._static()[0])
        if n is None:
            z = jax.random.normal(key, (self.batch_size, self.pack, self.latent_size))
            x = jax.vmap(model, in_axes=1, out_axes=1)(z)  # (batch, pack, d)
            return jnp.reshape(x, (-1, x.shape[-1]))
        return model(jax.random.normal(key, (n, self.latent_size)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=400_000,
                        help="iterations (PacGAN: 400 × 1,000)")
    parser.add_argument("--runs", type=int, default=10, help="seeds, vmapped (PacGAN: 10)")
    parser.add_argument("--data", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--packs", nargs="+", type=int, default=[1, 2],
                        help="1 = GAN, 2 = PacGAN2")
    parser.add_argument("--log-every", type=int, default=20_000)
    parser.add_argument("--name", default="pacgan_table", help="output folder and file name")
    args = parser.parse_args()
    if min(args.steps, args.runs, args.log_every, *args.packs) < 1:
        parser.error(f"--steps, --runs, --log-every and --packs must be positive, got "
                     f"{args.steps}, {args.runs}, {args.log_every}, {args.packs}")
    out = out_dir(args.name)
    method = gd.Optax(optax.adam(1.0, b1=0.2, b2=0.999, eps=1e-8), linear=False)
    results, finals = {}, {}
    for data in args.data:
        target = TARGETS[data]
        for pack in args.packs:
            game = PacGANToy(gd.losses.nsgan, target, pack=pack)
            metrics = lambda x, t=target: {  # noqa: E731
                k: v for k, v in pacgan_mode_metrics(x, t.centres, t.std).items() if k != "counts"}
            start = time.perf_counter()
            label = f"{data}, pack {pack}"
            result = gd.train(
                game, method, h=1e-4, steps=args.steps, seeds=args.runs, log_every=args.log_every,
                eval_samples=2500, eigen_checkpoints=0, metrics=metrics, keep_checkpoints=False,
                on_log=lambda step, rows, _, label=label, start=start: print(
                    f"{label} step {step}: modes {[r.get('modes') for r in rows]}, "
                    f"{time.perf_counter() - start:.0f} s", flush=True))
            seconds = time.perf_counter() - start
            rows = [r for r in result.history if r["step"] == result.steps_done]
            entry = {k: [r.get(k) for r in rows] for k in ("modes", "high_quality", "reverse_kl")}
            for k, values in list(entry.items()):
                v = np.array([np.nan if x is None else x for x in values], dtype=float)
                entry[k + "_mean"] = float(np.nanmean(v))
                entry[k + "_se"] = float(np.nanstd(v, ddof=1) / np.sqrt(np.sum(np.isfinite(v))))
            entry.update(seconds=seconds, steps_per_second=result.steps_done / seconds,
                         diverged_at=result.diverged_at,
                         published=PUBLISHED.get((data, pack)))
            results[f"{data}/pack{pack}"] = entry
            finals[(data, pack)] = result.samples[result.steps_done]
            print(f"{label}: modes {entry['modes']}, high quality "
                  f"{np.round(entry['high_quality'], 3).tolist()}, reverse KL "
                  f"{np.round(entry['reverse_kl'], 2).tolist()} ({seconds:.0f} s)", flush=True)
            write_json(out / f"{args.name}.json",
                       clean({"settings": vars(args), "results": results}))

    keys = list(finals)
    runs = min(args.runs, 5)
    fig, axes = plt.subplots(len(keys), runs, figsize=(1.9 * runs + 0.4, 2.0 * len(keys) + 0.8),
                             squeeze=False, layout="constrained")
    for i, (data, pack) in enumerate(keys):
        target, r = TARGETS[data], results[f"{data}/pack{pack}"]
        lim = 1.5 if data == "ring" else 6.0
        for s in range(runs):
            ax = axes[i, s]
            x = finals[(data, pack)][s]
            ax.scatter(x[:, 0], x[:, 1], s=0.5, c="k", alpha=0.3)
            ax.scatter(target.centres[:, 0], target.centres[:, 1], s=12, facecolors="none",
                       edgecolors="tab:red", linewidths=0.6)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=5)
            ax.set_title(f"{'GAN' if pack == 1 else f'PacGAN{pack}'} {data}, seed {s}: "
                         f"{r['modes'][s]} modes, {r['high_quality'][s]:.0%}", fontsize=6)
            if s == 0:
                ax.set_ylabel("$x_2$", fontsize=6)
            ax.set_xlabel("$x_1$", fontsize=6)
    fig.suptitle(textwrap.fill(
        f"PacGAN's synthetic setting after {args.steps:,} iterations: 2,500 samples (black) and "
        "the mode centres (red circles); title: modes with ≥ 1 sample within 3σ and the "
        "share of such samples (PacGAN's metrics)", 100), fontsize=7)
    path = out / f"{args.name}.png"
    atomic_figure(path, fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

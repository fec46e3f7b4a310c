"""Unrolled GAN (Metz et al. 2017, arXiv 1611.02163) in the setting of its public demo,
poolio/unrolled_gan "Unrolled GAN demo.ipynb" (commit 67e2c7a), reproduced from the source:

- data: `sample_mog(n_mixture=8, std=0.01, radius=1.0)` with `thetas =
  np.linspace(0, 2π, 8)`: the first and last components coincide, so the notebook's
  mixture has 7 distinct modes on the unit circle, the one at angle 0 with double weight
  ("notebook7"); and a proper ring of 8 equal modes, radius 1, σ = 0.01 ("ring8");
- both networks 2 hidden layers of 128 tanh units (`slim.stack(..., [128]*2,
  activation_fn=tf.nn.tanh)`), linear output, latent z ~ N(0, I_256), batch 512,
  weights `tf.orthogonal_initializer(gain=1.4)`, zero biases;
- the saddle objective `loss = E softplus(−C(x)) + E softplus(C(G(z)))` (sigmoid cross
  entropy), the discriminator minimizing it and the generator minimizing `−unrolled_loss`:
  the saturating (minimax) generator loss `gd.losses.sgan`, its real-data term included
  (it depends on θ through the unrolled discriminator);
- Adam β₁ = 0.5, ε = 1e-8 (β₂ = 0.999 by default), discriminator rate 1e-4, generator
  rate 1e-3; both updated in the same `sess.run` from the same minibatch (simultaneous);
- unrolling: the discriminator's Keras Adam update (parameters, moments and step count)
  is applied `unrolling_steps` times by `graph_replace`, on the same minibatch, and the
  generator differentiates through it: `gd.Unrolled(Optax(adam), k)`, which unrolls the
  discriminator's own optax Adam with its state;
- 25,000 steps, samples shown at steps 0, 5k, 10k, 15k, 20k (every `viz_every = 5000`);
  here also at 25k.

Differences, all small: optax's Adam adds ε to `√v̂` (the bias-corrected second moment),
Keras/TF add it to `√v` (ε effectively `ε·√(1 − β₂ᵗ)` smaller; at ε = 1e-8 no visible
change); the seeds of one run share the minibatch stream (gandyn's `train` vmaps the
initialisations, one data key per step). Modes and the high-quality share are gandyn's
`mode_coverage` (a mode counts with ≥ 10 % of a uniform share of samples within 3σ; a
sample is high quality within 3σ of a mode), on 2,560 samples every 500 steps; the
PacGAN count (≥ 1 sample within 3σ) is kept beside it.

Each (target, k) variant is run with all its seeds in one vmapped program and written to
`out/unrolled_gan/<target>_k<k>.json` (atomically, after every log point); a training
checkpoint every 500 steps lets a stopped run resume; `--chunk N` runs the variants
round robin, N steps at a time, so that they stay at equal progress. `--report` draws the figures and
the table from whatever has finished.

    python experiments/unrolled_gan.py --target notebook7 --unroll 0 5 --seeds 3
    python experiments/unrolled_gan.py --report
"""

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from common import out_dir

import gandyn as gd
from gandyn.io import atomic_figure, write_json


STEPS, LOG_EVERY, EVAL_SAMPLES = 25_000, 500, 2_560
FIGURE_STEPS = (0, 5_000, 10_000, 15_000, 20_000, 25_000)
H, D_SCALE = 1e-3, 0.1  # generator rate h = 1e-3, discriminator rate h·0.1 = 1e-4
ADAM = optax.adam(1.0, b1=0.5, b2=0.999, eps=1e-8)


class NotebookMixture(gd.data.AbstractTarget):
    """The demo's `sample_mog`: 8 equal components at angles `linspace(0, 2π, 8)`,
    `(r sin θ, r cos θ)`, std 0.01; components 0 and 7 coincide, so `centres` (what the
    mode metrics count) are the 7 distinct ones and (0, r) carries weight 2/8."""

    radius: float = 1.0
    std: float = 0.01

    def _components(self):
        thetas = np.linspace(0, 2 * np.pi, 8)
        return self.radius * np.stack([np.sin(thetas), np.cos(thetas)], axis=1)

    @property
    def centres(self):
        return self._components()[:7]

    @property
    def dim(self):
        return 2

    def sample(self, key, n):
        which_key, noise_key = jax.random.split(key)
        which = jax.random.randint(which_key, (n,), 0, 8)
        return jnp.asarray(self._components())[which] + self.std * jax.random.normal(noise_key, (n, 2))


class WeightedCircle(gd.data.AbstractTarget):
    """Components at `angles` on a circle, `(r sin θ, r cos θ)`, std 0.01, the component
    `i` drawn with weight `counts[i] / sum(counts)`: the weighting test's two mixtures.

    - "equal7": the notebook's 7 distinct angles, equal weights (its geometry without
      the double mode);
    - "ring8double": 8 equally spaced modes, the one at angle 0 counted twice (the
      notebook's double mode on the proper ring)."""

    angles: tuple[float, ...]
    counts: tuple[int, ...]
    radius: float = 1.0
    std: float = 0.01

    @property
    def centres(self):
        angles = np.asarray(self.angles)
        return self.radius * np.stack([np.sin(angles), np.cos(angles)], axis=1)

    @property
    def dim(self):
        return 2

    def sample(self, key, n):
        which_key, noise_key = jax.random.split(key)
        table = jnp.asarray(np.repeat(np.arange(len(self.counts)), self.counts))
        which = table[jax.random.randint(which_key, (n,), 0, len(table))]
        return jnp.asarray(self.centres)[which] + self.std * jax.random.normal(noise_key, (n, 2))


TARGETS = {
    "notebook7": NotebookMixture(),
    "ring8": gd.data.Ring(modes=8, radius=1.0, std=0.01),
    "equal7": WeightedCircle(tuple(np.linspace(0, 2 * np.pi, 8)[:7].tolist()), (1,) * 7),
    "ring8double": WeightedCircle(tuple((2 * np.pi * np.arange(8) / 8).tolist()),
                                  (2,) + (1,) * 7),
}


def make_game(target: str) -> gd.MLPGAN:
    return gd.MLPGAN(gd.losses.sgan, TARGETS[target], width=128, depth=2, latent_size=256,
                     batch_size=512, activation="tanh")


def make_method(k: int):
    base = gd.Optax(ADAM, alternating=False, discriminator_scale=D_SCALE, linear=False)
    return base if k == 0 else gd.Unrolled(base, k=k)


class OrthogonalInit(eqx.Module):
    """`game.init` with every weight matrix drawn as `tf.orthogonal_initializer(gain)`
    draws a kernel `(fan_in, fan_out)` (equinox stores its transpose) and zero biases."""

    game: gd.MLPGAN
    gain: float = 1.4

    def __call__(self, key):
        players = self.game.init(key)
        leaves, treedef = jax.tree_util.tree_flatten(players)
        keys = jax.random.split(jax.random.fold_in(key, 7), len(leaves))
        init = jax.nn.initializers.orthogonal(scale=self.gain)
        new = [init(k, leaf.shape[::-1], leaf.dtype).T if leaf.ndim == 2 else jnp.zeros_like(leaf)
               for k, leaf in zip(keys, leaves)]
        return jax.tree_util.tree_unflatten(treedef, new)


def metrics_for(target):
    centres, std = target.centres, target.std

    def metrics(samples):
        x = np.asarray(samples, dtype=float)
        if not np.all(np.isfinite(x)):
            return {"finite": False}
        modes, quality = gd.metrics.mode_coverage(x, centres, std)
        pac = gd.metrics.pacgan_mode_metrics(x, centres, std)
        return {"modes": modes, "modes_total": len(centres), "high_quality": quality,
                "modes_any": pac["modes"], "reverse_kl": pac["reverse_kl"]}

    return metrics


def variant_name(target: str, k: int, first_seed: int = 0) -> str:
    """`<target>_k<k>`, with `_s<first seed>` for a run of later seeds only."""
    return f"{target}_k{k}" + (f"_s{first_seed}" if first_seed else "")


def run_variant(target: str, k: int, seeds: int, steps: int, out: Path, until: int | None = None,
                first_seed: int = 0) -> None:
    """Train the variant to step `until` (default `steps`) of a `steps`-step run,
    resuming from its checkpoint. Seeds `first_seed … first_seed + seeds − 1` start
    exactly where those seeds of one larger run start (`jax.random.split` is
    prefix-consistent), so later seeds can be added as a separate run."""
    until = steps if until is None else until
    name = variant_name(target, k, first_seed)
    result_path, ckpt_dir = out / f"{name}.json", out / f"{name}_checkpoint"
    if result_path.exists() and json.loads(result_path.read_text()).get("steps_done", 0) >= until:
        print(f"{name}: step {until} done, skipped", flush=True)
        return
    game, method = make_game(target), make_method(k)
    # train() initialises with game.init; the orthogonal initialisation goes through a
    # resume state built from step 0.
    root = jax.random.key(0)
    init_key = jax.random.split(root, 4)[0]
    keys = jax.random.split(init_key, first_seed + seeds)[first_seed:]
    params = jax.vmap(OrthogonalInit(game))(keys)
    resume = None
    if (ckpt_dir / "checkpoint.npz").exists():
        resume = gd.load_checkpoint(ckpt_dir, game, method, h=H, seeds=seeds)
        print(f"{name}: resuming at step {resume.step}", flush=True)
    else:
        state = jax.vmap(lambda y: method.init(game, y, H, root))(params)
        # Step 0 logged as train() logs it (same evaluation latents: its eval key).
        eval_key = jax.random.split(root, 4)[2]
        xs = np.asarray(jax.vmap(lambda g: game.generate(g, eval_key, EVAL_SAMPLES))(params.generator))
        metrics = metrics_for(TARGETS[target])
        history = [{"step": 0, "seed": s, **metrics(xs[s])} for s in range(seeds)]
        resume = gd.TrainState(params, state, 0, [None] * seeds, history, {}, {0: xs}, {})
    ckpt_dir.mkdir(exist_ok=True)
    tic = time.perf_counter()
    start = resume.step
    samples_kept = {}
    history = list(resume.history)
    diverged = list(resume.diverged_at)

    def on_log(step, rows, samples):
        history.extend(rows)
        save(history, diverged, step, complete=step >= steps)
        if step in FIGURE_STEPS:
            samples_kept[step] = np.asarray(samples)[:, :EVAL_SAMPLES]
            save_samples(samples_kept)
        elapsed = time.perf_counter() - tic
        per_step = elapsed / max(step - start, 1)
        modes = [r.get("modes") for r in rows]
        hq = [round(r.get("high_quality") or 0, 3) for r in rows]
        print(f"{name} step {step:6d} modes {modes} hq {hq} {per_step * 1e3:.0f} ms/step",
              flush=True)

    def save_samples(kept):
        path = out / f"{name}_samples.npz"
        temporary = out / f".{name}_samples.tmp.npz"
        np.savez(temporary, **{f"step_{s}": v for s, v in sorted(kept.items())})
        temporary.replace(path)

    samples_kept.update({s: np.asarray(resume.samples[s]) for s in FIGURE_STEPS if s in resume.samples})

    def on_checkpoint(state):
        gd.save_checkpoint(ckpt_dir, state)
        save(state.history, state.diverged_at, state.step, complete=state.step >= steps)

    def save(history, diverged_at, done, complete):
        write_json(result_path, {
            "target": target, "unroll": k, "seeds": seeds, "first_seed": first_seed,
            "steps": steps, "steps_done": done,
            "complete": complete, "diverged_at": diverged_at, "history": history,
            "seconds": time.perf_counter() - tic, "load": list(np.round(_load(), 2)),
        })

    result = gd.train(game, method, h=H, steps=until, seeds=seeds, log_every=LOG_EVERY,
                      eval_samples=EVAL_SAMPLES, eigen_checkpoints=0,
                      metrics=metrics_for(TARGETS[target]), keep_samples=EVAL_SAMPLES,
                      keep_checkpoints=False, resume=resume, checkpoint_every=LOG_EVERY,
                      on_checkpoint=on_checkpoint, on_log=on_log)
    save_samples({s: result.samples[s] for s in FIGURE_STEPS if s in result.samples})
    save(result.history, result.diverged_at, result.steps_done,
         complete=result.steps_done >= steps)
    print(f"{name}: done in {time.perf_counter() - tic:.0f} s", flush=True)


def _load():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def per_step_cost(target: str, ks, seeds: int, steps: int) -> None:
    """Seconds per step (all seeds together) of each unrolling, after compilation."""
    game = make_game(target)
    params = jax.vmap(OrthogonalInit(game))(jax.random.split(jax.random.key(0), seeds))
    for k in ks:
        method = make_method(k)
        run = lambda: gd.simulate(game, method, params, h=H, steps=steps, save_every=steps)  # noqa: E731
        jax.block_until_ready(run().final)
        tic = time.perf_counter()
        jax.block_until_ready(run().final)
        seconds = (time.perf_counter() - tic) / steps
        print(f"k = {k:2d}: {seconds * 1e3:.1f} ms/step for {seeds} seeds "
              f"({seconds * STEPS / 60:.1f} min per 25,000 steps), load {_load()}", flush=True)


LOOSE = 0.1  # a looser radius than 3σ = 0.03: within 0.1 of a centre (10σ)


def _coverage(x, target, radius):
    """`(modes, share)`: gandyn's `mode_coverage` with the given radius."""
    return gd.metrics.mode_coverage(x, target.centres, radius / 3.0)


def _variant_samples(out: Path, data) -> dict[int, np.ndarray]:
    """Every logged step's samples `(seeds, n, 2)`: from the training checkpoint
    (which keeps all log points), else the figure steps' file."""
    name = variant_name(data["target"], data["unroll"], data.get("first_seed", 0))
    ckpt = out / f"{name}_checkpoint"
    if (ckpt / "checkpoint.npz").exists():
        state = gd.load_checkpoint(ckpt, make_game(data["target"]), make_method(data["unroll"]),
                                   h=H, seeds=data["seeds"])
        return {int(k): np.asarray(v) for k, v in state.samples.items()}
    path = out / f"{name}_samples.npz"
    if path.exists():
        arrays = np.load(path)
        return {int(k.split("_")[1]): arrays[k] for k in arrays.files}
    return {}


def report(out: Path) -> None:
    import matplotlib.pyplot as plt

    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*_k*.json"))]
    if not rows:
        print("nothing finished yet")
        return
    summary, curves, figure_samples = {}, {}, {}
    for data in rows:
        name = variant_name(data["target"], data["unroll"], data.get("first_seed", 0))
        target = TARGETS[data["target"]]
        samples = _variant_samples(out, data)
        steps = sorted(samples)
        per_step = {}
        for step in steps:
            x = samples[step]
            per_step[step] = {
                "modes_3sigma": [_coverage(xs, target, 3 * target.std)[0] for xs in x],
                "high_quality_3sigma": [_coverage(xs, target, 3 * target.std)[1] for xs in x],
                "modes_0.1": [_coverage(xs, target, LOOSE)[0] for xs in x],
                "share_0.1": [_coverage(xs, target, LOOSE)[1] for xs in x],
            }
        curves[name] = (data, per_step)
        figure_samples[name] = (data, {s: samples[s] for s in FIGURE_STEPS if s in samples})
        last = steps[-1] if steps else 0
        summary[name] = {
            "target": data["target"], "unroll": data["unroll"], "seeds": data["seeds"],
            "complete": data["complete"], "steps_done": data["steps_done"],
            "modes_total": len(target.centres), "diverged_at": data["diverged_at"],
            "seconds": data["seconds"], "load": data.get("load"),
            "at_figure_steps": {s: per_step[s] for s in FIGURE_STEPS if s in per_step},
            "last_step": last, "last": per_step.get(last), "per_step": per_step,
        }
        print(name, "steps", last, per_step.get(last))
    write_json(out / "summary.json", summary)

    # Modes and shares over training, one column per target.
    targets = sorted({d["target"] for d in rows})
    fig, axes = plt.subplots(2, len(targets), figsize=(6.5 * len(targets), 7), squeeze=False,
                             layout="constrained")
    colours = {0: "tab:red", 1: "tab:orange", 5: "tab:blue", 10: "tab:green"}
    for j, target in enumerate(targets):
        total = len(TARGETS[target].centres)
        for name, (data, per_step) in sorted(curves.items(), key=lambda c: c[1][0]["unroll"]):
            if data["target"] != target:
                continue
            k, steps = data["unroll"], sorted(per_step)
            first = data.get("first_seed", 0)
            for s in range(data["seeds"]):
                kw = dict(color=colours.get(k, "k"), lw=1.2, ls=("-", "--", ":")[(first + s) % 3],
                          label=f"unroll {k}, seed {first + s}")
                axes[0, j].plot(steps, [per_step[t]["modes_0.1"][s] for t in steps], **kw)
                axes[1, j].plot(steps, [per_step[t]["share_0.1"][s] for t in steps], **kw)
        axes[0, j].set(title=f"{target}: modes covered (of {total})", xlabel="training step",
                       ylabel=f"modes with ≥ 10 % of a uniform share\nwithin {LOOSE} of the centre",
                       ylim=(-0.3, total + 0.3))
        axes[1, j].set(title=f"{target}: share of samples near a mode", xlabel="training step",
                       ylabel=f"share within {LOOSE} (10σ) of a mode", ylim=(0, 1))
        axes[0, j].legend(fontsize=9, ncol=2)
    fig.suptitle("Unrolled GAN in the poolio/unrolled_gan notebook's setting (σ = 0.01)", fontsize=11)
    atomic_figure(out / "unrolled_gan_modes.png", fig)
    plt.close(fig)

    # Samples at 0/5k/…/25k, one row per (target, unroll, seed), as the notebook shows.
    panels = [(name, data, s) for name, (data, kept) in sorted(figure_samples.items(),
                                                                 key=lambda c: (c[1][0]["target"], c[1][0]["unroll"]))
              for s in range(data["seeds"])]
    if panels:
        fig, axes = plt.subplots(len(panels), len(FIGURE_STEPS),
                                 figsize=(1.9 * len(FIGURE_STEPS), 1.95 * len(panels)),
                                 squeeze=False, layout="constrained")
        for i, (name, data, seed) in enumerate(panels):
            kept = figure_samples[name][1]
            centres = TARGETS[data["target"]].centres
            for j, step in enumerate(FIGURE_STEPS):
                ax = axes[i, j]
                ax.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), xticks=[], yticks=[], aspect="equal")
                if step in kept:
                    x = kept[step][seed]
                    ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.3, color="tab:blue", lw=0)
                else:
                    ax.text(0, 0, "not reached", ha="center", va="center", fontsize=9, color="0.5")
                ax.scatter(centres[:, 0], centres[:, 1], s=14, marker="x", color="tab:green", lw=1)
                if i == 0:
                    ax.set_title(f"step {step:,}", fontsize=9)
                if j == 0:
                    label = data.get("first_seed", 0) + seed
                    ax.set_ylabel(f"{data['target']}\nunroll {data['unroll']}, seed {label}", fontsize=9)
        fig.suptitle("Generator samples (blue, 2,560 per panel) and the mixture's modes (green ×); "
                     "both axes x ∈ [−1.5, 1.5]", fontsize=9)
        atomic_figure(out / "unrolled_gan_samples.png", fig)
        plt.close(fig)
    print(f"wrote {out}/summary.json and figures")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=tuple(TARGETS), default="notebook7")
    parser.add_argument("--unroll", type=int, nargs="+", default=[0, 5])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="run seeds FIRST … FIRST+SEEDS−1 only (adds seeds to an earlier run)")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--chunk", type=int, default=0, metavar="STEPS",
                        help="round robin: every variant to STEPS, then to 2·STEPS, … (equal "
                             "progress when time is short)")
    parser.add_argument("--cost", type=int, default=0, metavar="STEPS",
                        help="only measure seconds per step over this many steps")
    parser.add_argument("--report", action="store_true", help="figures and table from finished runs")
    parser.add_argument("--out", default=None, help="output folder (default out/unrolled_gan)")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", False)  # the notebook's float32
    out = Path(args.out) if args.out else out_dir("unrolled_gan")
    out.mkdir(parents=True, exist_ok=True)
    if args.report:
        report(out)
    elif args.cost:
        per_step_cost(args.target, args.unroll, args.seeds, args.cost)
    else:
        chunk = args.chunk or args.steps
        for until in range(chunk, args.steps + chunk, chunk):
            for k in args.unroll:
                run_variant(args.target, k, args.seeds, args.steps, out, min(until, args.steps),
                            first_seed=args.first_seed)


if __name__ == "__main__":
    main()

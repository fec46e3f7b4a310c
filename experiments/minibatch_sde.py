"""The minibatch SDE against minibatch SGD (Li, Tai & E, arXiv 1511.06251, extended to a
two-player game): does `gd.minibatch_sde` reproduce the distribution of simultaneous GD
run on fresh minibatches of B examples, across many independent seeds?

Game: `GaussianGAN` (1-D Gaussian data N(0, 1), generator μ + σz, quadratic critic
w₁x + w₂x²). SGD draws B data and B latent samples per step; the SDE's drift is the
game's field on 128 quadrature nodes (its expectation), its diffusion √(h/B) times the
factor of the per-example covariance of 64 fixed examples, solved with Euler–Maruyama at
dt = h/4 (stable) and h/16 (cycle) (`MinibatchSDE.solve`). Two settings, at B = 4, 16, 64:

1. *stable equilibrium* (non-saturating loss, spectrum −0.25 ± 0.43i, −0.73 ± 0.68i):
   from the equilibrium, 400 steps of h = 0.1 (t = 40, ten relaxation times): the
   stationary spread of each parameter, SGD against the SDE, compared by two-sample
   Kolmogorov–Smirnov tests (one per parameter, Bonferroni over the four);
2. *a cycle* (WGAN loss: the equilibrium is a centre, eigenvalues ±i, ±2i; SimGD spirals
   out at h = 0.05): from μ = 0.3 off the equilibrium, the time until the distance to it
   first exceeds 1 (censored at t = 60), SGD against the SDE with the plain drift
   (order 0) and with the order-1 modified drift (which carries SimGD's outward spiral,
   −(h/2)Jv), compared by KS tests.

A second part (`--ring8`) runs the same comparison on a tiny tanh MLP GAN on ring-8
(`MLPGAN` width 8, depth 1, latent 2, non-saturating loss, 75 parameters): from its
initialisation, simultaneous GD on fresh minibatches against the SDE with the order-0
and order-1 drift, at several B; the distributions over seeds of five statistics at time
T (the generator's output mean and spread on fixed latents, the parameter displacement
‖θ_T − θ_0‖, the expected discriminator loss) compared by KS tests (Bonferroni over the
five), and the spread of the parameters over seeds against 1/√B. Its drift is the
game's field on fixed equal-weight quadrature points (`RingQuadrature`), not on one
random minibatch: a fixed random sample of N examples biases the drift by O(1/√N), a
shift that accumulates over n steps to √(nB/N) times the spread SGD's noise gives.

    nice -n 19 python experiments/minibatch_sde.py          # a few minutes on 2 cores
    python experiments/minibatch_sde.py --plot              # redraw from the numbers
    nice -n 19 python experiments/minibatch_sde.py --ring8  # the ring-8 MLP GAN
    python experiments/minibatch_sde.py --ring8 --plot
"""

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import common  # noqa: F401  (float64)
import equinox as eqx
import jax
import jax.flatten_util
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import scipy.stats

import gandyn as gd

HERE = Path(__file__).resolve().parent
BATCHES = (4, 16, 64)
SEEDS = 400
SUBSTEPS = 4  # Euler–Maruyama steps per SGD step (the stable setting)
EXAMPLES = 64  # fixed examples of the covariance
NODES = 128  # quadrature nodes of the expected field
STABLE = {"loss": "nsgan", "h": 0.1, "steps": 400}
# On a centre, Euler–Maruyama at dt spirals out by itself at the rate dt|λ|²/2 per unit
# time: at dt = h/4 that adds a quarter of SimGD's own rate h|λ|²/2 (which the order-1
# drift carries), so the cycle is solved at dt = h/16.
CYCLE = {"loss": "wgan", "h": 0.05, "steps": 1200, "save_every": 10, "start": 0.3,
         "radius": 1.0, "substeps": 16}
ALPHA = 0.01  # the tests' level (after Bonferroni)


def game(loss: str) -> gd.GaussianGAN:
    return gd.GaussianGAN(gd.losses.get(loss), nodes=NODES)


def flat(ys: gd.Players) -> np.ndarray:
    """`(seeds, saves, 4)`: μ, σ, w₁, w₂."""
    return np.concatenate([np.asarray(ys.generator), np.asarray(ys.discriminator)], axis=-1)


def stable(batch: int) -> dict:
    g = game(STABLE["loss"])
    h, steps = STABLE["h"], STABLE["steps"]
    sde = gd.minibatch_sde(g, gd.SimultaneousGD(), h, batch, examples=EXAMPLES)
    y0 = g.equilibrium()
    sgd = flat(sde.iterates(y0, steps=steps, seeds=SEEDS, key=jax.random.key(1)).ys)[:, -1]
    paths = flat(sde.solve(y0, t1=steps * h, dt=h / SUBSTEPS, seeds=SEEDS,
                           key=jax.random.key(2)).ys)[:, -1]
    tests = [scipy.stats.ks_2samp(sgd[:, i], paths[:, i]) for i in range(4)]
    p = min(1.0, 4 * min(t.pvalue for t in tests))
    return {"batch": batch, "sgd_std": sgd.std(0).tolist(), "sde_std": paths.std(0).tolist(),
            "sgd_mean": sgd.mean(0).tolist(), "sde_mean": paths.mean(0).tolist(),
            "ks": [t.statistic for t in tests], "p_bonferroni": p,
            "sgd": sgd.tolist(), "sde": paths.tolist()}


def exit_times(xs: np.ndarray, ts: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The first saved time at which `‖x − centre‖ > radius` (∞ where never)."""
    out = np.linalg.norm(xs - centre, axis=-1) > CYCLE["radius"]
    first = np.where(out.any(1), out.argmax(1), -1)
    return np.where(first >= 0, ts[first], np.inf)


def cycle(batch: int) -> dict:
    g = game(CYCLE["loss"])
    h, steps, every = CYCLE["h"], CYCLE["steps"], CYCLE["save_every"]
    centre = np.concatenate([np.asarray(g.equilibrium().generator),
                             np.asarray(g.equilibrium().discriminator)])
    y0 = gd.Players(g.equilibrium().generator + jnp.array([CYCLE["start"], 0.0]),
                    g.equilibrium().discriminator)
    row = {"batch": batch}
    for order in (0, 1):
        sde = gd.minibatch_sde(g, gd.SimultaneousGD(), h, batch, order=order,
                               examples=EXAMPLES)
        if order == 0:
            sol = sde.iterates(y0, steps=steps, seeds=SEEDS, key=jax.random.key(3),
                               save_every=every)
            ts = np.asarray(sol.ts)
            row["sgd"] = exit_times(flat(sol.ys), ts, centre)
        sol = sde.solve(y0, t1=steps * h, dt=h / CYCLE["substeps"], seeds=SEEDS,
                        key=jax.random.key(4), ts=ts)
        row[f"sde{order}"] = exit_times(flat(sol.ys), ts, centre)
    t_max = steps * h
    for name in ("sgd", "sde0", "sde1"):
        row[f"{name}_median"] = float(np.median(row[name]))
        row[f"{name}_left"] = float(np.mean(np.isfinite(row[name])))
        row[name] = np.minimum(row[name], t_max).tolist()  # censored at t_max
    for order in (0, 1):
        test = scipy.stats.ks_2samp(row["sgd"], row[f"sde{order}"])
        row[f"ks{order}"], row[f"p{order}"] = test.statistic, test.pvalue
    return row


def main():
    start = time.time()
    results = {"seeds": SEEDS, "substeps": SUBSTEPS, "examples": EXAMPLES, "nodes": NODES,
               "stable": STABLE, "cycle": CYCLE, "alpha": ALPHA,
               "stable_rows": [], "cycle_rows": []}
    for batch in BATCHES:
        results["stable_rows"].append(stable(batch))
        print(f"stable B={batch}: p={results['stable_rows'][-1]['p_bonferroni']:.3g} "
              f"({time.time() - start:.0f} s)", flush=True)
    for batch in BATCHES:
        results["cycle_rows"].append(cycle(batch))
        r = results["cycle_rows"][-1]
        print(f"cycle B={batch}: p0={r['p0']:.3g} p1={r['p1']:.3g} "
              f"({time.time() - start:.0f} s)", flush=True)
    results["seconds"] = time.time() - start
    path = HERE / "results" / "minibatch_sde.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(common.clean(results)) + "\n")
    tmp.replace(path)
    plot(results)
    table(results)


def plot(results):
    plt.rcParams.update({"font.size": 10})
    fig, axes = plt.subplots(2, len(BATCHES), figsize=(13, 7.5), constrained_layout=True)
    for ax, row in zip(axes[0], results["stable_rows"]):
        sgd, sde = np.asarray(row["sgd"]), np.asarray(row["sde"])
        bins = np.linspace(min(sgd[:, 0].min(), sde[:, 0].min()),
                           max(sgd[:, 0].max(), sde[:, 0].max()), 30)
        ax.hist(sgd[:, 0], bins, alpha=0.5, density=True, label="minibatch SimGD")
        ax.hist(sde[:, 0], bins, histtype="step", lw=2, density=True, label="SDE (order 0)")
        ax.set_title(f"stable (nsgan), B = {row['batch']}: μ at t = 40\n"
                     f"KS p = {row['p_bonferroni']:.2g} (4 parameters, Bonferroni)")
        ax.set_xlabel("generator mean μ (data mean 0)")
        ax.set_ylabel(f"density over {results['seeds']} seeds")
        ax.legend(fontsize=9)
    t_max = results["cycle"]["steps"] * results["cycle"]["h"]
    for ax, row in zip(axes[1], results["cycle_rows"]):
        for name, label, style in (("sgd", "minibatch SimGD", "-"),
                                   ("sde0", "SDE, plain drift (order 0)", "--"),
                                   ("sde1", "SDE, modified drift (order 1)", ":")):
            x = np.sort(np.asarray(row[name]))
            ax.step(x, np.arange(1, x.size + 1) / x.size, style, lw=2, where="post",
                    label=label + (f", KS p = {row['p' + name[-1]]:.2g}"
                                   if name != "sgd" else ""))
        ax.set_xlim(0, t_max)
        ax.set_title(f"cycle (wgan, centre), B = {row['batch']}:\n"
                     f"time to leave ‖y − y*‖ ≤ {results['cycle']['radius']:g}")
        ax.set_xlabel(f"time t = n·h (h = {results['cycle']['h']}; censored at {t_max:g})")
        ax.set_ylabel("fraction of seeds that left")
        ax.legend(fontsize=9, loc="center right")
    fig.suptitle("Minibatch SimGD vs its SDE (Li, Tai & E 2017) on the Gaussian game, "
                 f"{results['seeds']} seeds each")
    path = HERE / "figures" / "minibatch_sde.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def table(results):
    print("| stable (nsgan, h = 0.1, t = 40) | B | std μ SGD / SDE | std w₁ SGD / SDE "
          "| max KS | p (Bonferroni) |")
    print("|---|---|---|---|---|---|")
    for r in results["stable_rows"]:
        print(f"| | {r['batch']} | {r['sgd_std'][0]:.4f} / {r['sde_std'][0]:.4f} | "
              f"{r['sgd_std'][2]:.4f} / {r['sde_std'][2]:.4f} | {max(r['ks']):.3f} | "
              f"{r['p_bonferroni']:.3g} |")
    print("| cycle (wgan, h = 0.05) | B | median exit time SGD / SDE₀ / SDE₁ | left by t = 60 "
          "SGD / SDE₀ / SDE₁ | KS SDE₀ (p) | KS SDE₁ (p) |")
    print("|---|---|---|---|---|---|")
    for r in results["cycle_rows"]:
        print(f"| | {r['batch']} | {r['sgd_median']:.3g} / {r['sde0_median']:.3g} / "
              f"{r['sde1_median']:.3g} | {r['sgd_left']:.0%} / {r['sde0_left']:.0%} / "
              f"{r['sde1_left']:.0%} | {r['ks0']:.3f} ({r['p0']:.2g}) | {r['ks1']:.3f} "
              f"({r['p1']:.2g}) |")


# ---------------------------------------------------------------- ring-8 MLP GAN
RING = {"loss": "nsgan", "width": 8, "depth": 1, "latent_size": 2, "h": 0.1, "steps": 100,
        "substeps": 8, "seeds": 200, "examples": 128, "batches": [8, 32, 128],
        "real_per_mode": 7, "latents": 15, "init_seed": 0}
# "real_per_mode" and "latents" are Fibonacci indices k (F_k points): 21 offsets per mode
# (8 × 21 = 168 real points; the modes are narrow, σ = 0.02) and 987 latents.
STATISTICS = ("generator mean x", "generator mean y", "generator spread",
              "displacement ‖θ_T − θ_0‖", "discriminator loss")


def fibonacci_normals(k: int) -> np.ndarray:
    """`F_k` equal-weight points for N(0, I₂): the Fibonacci lattice
    `((i + ½)/F_k, i·F_{k−1}/F_k + ½/F_k mod 1)` through Box–Muller (radius
    `√(−2 log(1 − u))`, angle `2πv`). A rank-1 lattice integrates smooth functions
    with error ≈ O(log F_k / F_k), against O(1/√F_k) for as many random draws."""
    fib = [1, 1]
    while len(fib) <= k:
        fib.append(fib[-1] + fib[-2])
    n, g = fib[k], fib[k - 1]
    i = np.arange(n)
    u, v = (i + 0.5) / n, np.mod(i * g / n + 0.5 / n, 1.0)
    r = np.sqrt(-2 * np.log1p(-u))
    return np.stack([r * np.cos(2 * np.pi * v), r * np.sin(2 * np.pi * v)], axis=1)


class RingQuadrature(gd.AbstractGame):
    """The expected game of an `MLPGAN` on a ring: its losses on fixed equal-weight
    points, `real` (each mode's centre plus `std` times the same lattice offsets) and
    `G_θ(latents)` (a lattice for N(0, I)). Deterministic: the SDE's drift."""

    game: gd.MLPGAN
    real: jax.Array
    latents: jax.Array

    def init(self, key=None):
        return self.game.init(key)

    def fake(self, generator) -> jax.Array:
        return self.game.generate_from(generator, self.latents)

    def losses(self, players, key=None):
        return self.game.losses_on(players, self.real, self.fake(players.generator))

    def project(self, players):
        return self.game.project(players)


def ring_game() -> tuple[gd.MLPGAN, RingQuadrature]:
    target = gd.data.get("ring8")
    game = gd.MLPGAN(gd.losses.get(RING["loss"]), target, width=RING["width"],
                     depth=RING["depth"], latent_size=RING["latent_size"],
                     activation="tanh", batch_size=RING["batches"][0])
    offsets = fibonacci_normals(RING["real_per_mode"])
    real = (np.asarray(target.centres)[:, None, :] + target.std * offsets).reshape(-1, 2)
    return game, RingQuadrature(game, jnp.asarray(real), jnp.asarray(
        fibonacci_normals(RING["latents"])))


def ring_statistics(quad: RingQuadrature, y0: gd.Players, ys: gd.Players) -> np.ndarray:
    """`(seeds, 5)`: `STATISTICS` of each seed's state `ys` (leaves `(seeds, ...)`)."""
    x0 = jax.flatten_util.ravel_pytree(y0)[0]

    def one(y):
        fake = quad.fake(y.generator)
        mean = fake.mean(0)
        spread = jnp.sqrt(jnp.mean(jnp.sum((fake - mean) ** 2, axis=-1)))
        shift = jnp.linalg.norm(jax.flatten_util.ravel_pytree(y)[0] - x0)
        return jnp.stack([mean[0], mean[1], spread, shift, quad.losses(y)[1]])

    return np.asarray(jax.jit(jax.vmap(one))(ys))


def parameters(ys: gd.Players) -> np.ndarray:
    """`(seeds, dim)`: each seed's flattened parameters."""
    return np.asarray(jax.vmap(lambda y: jax.flatten_util.ravel_pytree(y)[0])(ys))


def drift_check(game: gd.MLPGAN, quad: RingQuadrature, y0: gd.Players, sde) -> dict:
    """The quadrature drift's error at `y0` against a 2¹⁸-example Monte Carlo mean, beside
    the standard error of that mean and of one random sample as large as the quadrature."""
    flat = lambda p: jax.flatten_util.ravel_pytree(p)[0]  # noqa: E731
    big = gd.minibatch_sde(game, gd.SimultaneousGD(), RING["h"], 1).sampled
    big = dataclasses.replace(big, batch_size=1 << 18)
    mc = flat(jax.jit(big.field)(y0, jax.random.key(99)))
    quadrature = flat(quad.field(y0))
    trace = float(jnp.trace(sde.covariance(y0)))
    return {"field_norm": float(jnp.linalg.norm(mc)),
            "quadrature_error": float(jnp.linalg.norm(quadrature - mc)),
            "mc_standard_error": math.sqrt(trace / (1 << 18)),
            "random_sample_error": math.sqrt(trace / quad.latents.shape[0])}


def ring_row(batch: int, game: gd.MLPGAN, quad: RingQuadrature, y0: gd.Players) -> dict:
    h, steps, seeds = RING["h"], RING["steps"], RING["seeds"]
    last = lambda ys: jax.tree.map(lambda a: a[:, -1], ys)  # noqa: E731
    row = {"batch": batch}
    for order in (0, 1):
        sde = gd.minibatch_sde(game, gd.SimultaneousGD(), h, batch, order=order,
                               examples=RING["examples"], drift_examples=1)
        sde = eqx.tree_at(lambda s: s.game, sde, quad)
        if order == 0:
            ys = last(sde.iterates(y0, steps=steps, seeds=seeds,
                                   key=jax.random.key(1000 + batch)).ys)
            row["sgd"], row["sgd_params"] = ring_statistics(quad, y0, ys), parameters(ys)
        ys = last(sde.solve(y0, t1=steps * h, dt=h / RING["substeps"], seeds=seeds,
                            key=jax.random.key(2000 + 10 * batch + order)).ys)
        row[f"sde{order}"], row[f"sde{order}_params"] = (ring_statistics(quad, y0, ys),
                                                        parameters(ys))
    for name in ("sgd", "sde0", "sde1"):
        stats, params = row.pop(name), row.pop(f"{name}_params")
        row[name] = stats.tolist()
        row[f"{name}_mean"], row[f"{name}_std"] = stats.mean(0).tolist(), stats.std(0).tolist()
        row[f"{name}_param_spread"] = float(np.sqrt(params.var(0).sum()))
        if name != "sgd":
            sgd = np.asarray(row["sgd"])
            tests = [scipy.stats.ks_2samp(sgd[:, i], stats[:, i]) for i in range(stats.shape[1])]
            row[f"{name}_ks"] = [t.statistic for t in tests]
            row[f"{name}_p"] = [t.pvalue for t in tests]
            row[f"{name}_p_bonferroni"] = min(1.0, len(tests) * min(row[f"{name}_p"]))
    return row


def ring_main():
    start = time.time()
    game, quad = ring_game()
    y0 = game.init(jax.random.key(RING["init_seed"]))
    sde = gd.minibatch_sde(game, gd.SimultaneousGD(), RING["h"], 1, examples=RING["examples"])
    results = {"setting": RING, "statistics": STATISTICS, "alpha": ALPHA,
               "dim": int(jax.flatten_util.ravel_pytree(y0)[0].size),
               "quadrature_points": [int(quad.real.shape[0]), int(quad.latents.shape[0])],
               "drift_check": drift_check(game, quad, y0, sde), "rows": []}
    print(f"drift check: {results['drift_check']} ({time.time() - start:.0f} s)", flush=True)
    for batch in RING["batches"]:
        results["rows"].append(ring_row(batch, game, quad, y0))
        r = results["rows"][-1]
        print(f"ring8 B={batch}: p0={r['sde0_p_bonferroni']:.3g} "
              f"p1={r['sde1_p_bonferroni']:.3g} ({time.time() - start:.0f} s)", flush=True)
    logs = np.log([r["batch"] for r in results["rows"]])
    results["spread_slopes"] = {  # d log(spread) / d log B: −½ for noise ∝ 1/√B
        name: float(np.polyfit(logs, np.log([r[f"{name}_param_spread"]
                                             for r in results["rows"]]), 1)[0])
        for name, _ in SERIES}
    results["seconds"] = time.time() - start
    path = HERE / "results" / "minibatch_sde_ring8.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(common.clean(results)) + "\n")
    tmp.replace(path)
    ring_plot(results)
    ring_table(results)


SERIES = (("sgd", "minibatch SimGD"), ("sde0", "SDE, plain drift (order 0)"),
          ("sde1", "SDE, modified drift (order 1)"))
COLOURS = {"sgd": "C0", "sde0": "C1", "sde1": "C2"}


def ring_plot(results):
    plt.rcParams.update({"font.size": 10})
    rows = results["rows"]
    fig, axes = plt.subplots(2, len(rows) + 1, figsize=(17, 8), constrained_layout=True)
    shown = ((0, "generator mean x (output units)"), (3, "displacement ‖θ_T − θ_0‖"))
    for column, row in enumerate(rows):
        for line, (i, label) in enumerate(shown):
            ax = axes[line, column]
            data = {name: np.asarray(row[name])[:, i] for name, _ in SERIES}
            every = np.concatenate(list(data.values()))
            bins = np.linspace(every.min(), every.max(), 30)
            ax.hist(data["sgd"], bins, alpha=0.45, density=True, label=SERIES[0][1],
                    color=COLOURS["sgd"])
            for (name, text), style in zip(SERIES[1:], ("-", "--")):
                ax.hist(data[name], bins, histtype="step", lw=2, ls=style, density=True,
                        color=COLOURS[name],
                        label=f"{text}, KS p = {row[name + '_p'][i]:.2g}")
            ax.set_xlabel(label)
            ax.set_ylabel(f"density over {results['setting']['seeds']} seeds")
            ax.set_title(f"B = {row['batch']}: {results['statistics'][i]} at "
                         f"t = {results['setting']['steps'] * results['setting']['h']:g}")
            ax.legend(fontsize=9)
    batches = np.asarray([r["batch"] for r in rows])
    ax = axes[0, -1]
    for (name, text), marker in zip(SERIES, ("o", "s", "^")):
        ax.loglog(batches, [r[f"{name}_param_spread"] for r in rows], marker=marker, lw=1.5,
                  color=COLOURS[name], label=text)
    first = rows[0]["sgd_param_spread"]
    ax.loglog(batches, first * np.sqrt(batches[0] / batches), "k:", label="∝ 1/√B")
    ax.set_xlabel("batch size B (examples)")
    ax.set_ylabel("spread over seeds √(Σ Var θ_i) (parameter units)")
    ax.set_title("Spread of the parameters at time T")
    ax.legend(fontsize=9)
    ax = axes[1, -1]
    for (name, text), marker in zip(SERIES[1:], ("s", "^")):
        ax.semilogy(batches, [max(r[f"{name}_p_bonferroni"], 1e-300) for r in rows],
                    marker=marker, color=COLOURS[name], label=text)
    ax.axhline(results["alpha"], color="k", ls=":", label=f"level {results['alpha']:g}")
    ax.set_xscale("log")
    ax.set_xlabel("batch size B (examples)")
    ax.set_ylabel("KS p-value, Bonferroni over 5 statistics")
    ax.set_title("SDE against minibatch SimGD")
    ax.legend(fontsize=9)
    fig.suptitle("Minibatch SimGD vs its SDE on a tanh MLP GAN on ring-8 (width 8, depth 1, "
                 f"h = {results['setting']['h']}, {results['setting']['steps']} steps)")
    path = HERE / "figures" / "minibatch_sde_ring8.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def ring_table(results):
    print("| B | spread √ΣVar θ SGD / SDE₀ / SDE₁ | mean x SGD / SDE₀ / SDE₁ (sd SGD) "
          "| max KS SDE₀ (p) | max KS SDE₁ (p) |")
    print("|---|---|---|---|---|")
    for r in results["rows"]:
        print(f"| {r['batch']} | {r['sgd_param_spread']:.4f} / {r['sde0_param_spread']:.4f} / "
              f"{r['sde1_param_spread']:.4f} | {r['sgd_mean'][0]:.4f} / {r['sde0_mean'][0]:.4f}"
              f" / {r['sde1_mean'][0]:.4f} ({r['sgd_std'][0]:.4f}) | "
              f"{max(r['sde0_ks']):.3f} ({r['sde0_p_bonferroni']:.2g}) | "
              f"{max(r['sde1_ks']):.3f} ({r['sde1_p_bonferroni']:.2g}) |")
    print("spread slopes d log / d log B:", ", ".join(
        f"{name} {slope:.3f}" for name, slope in results["spread_slopes"].items()))
    print("drift check:", results["drift_check"])
    for r in results["rows"]:
        cells = ", ".join(f"{s}: {a:.3f}/{b:.3f}" for s, a, b in zip(
            results["statistics"], r["sde0_ks"], r["sde1_ks"]))
        print(f"B = {r['batch']} KS SDE₀/SDE₁ per statistic: {cells}")


if __name__ == "__main__":
    if "--ring8" in sys.argv:
        if "--plot" in sys.argv:
            data = json.loads((HERE / "results" / "minibatch_sde_ring8.json").read_text())
            ring_plot(data)
            ring_table(data)
        else:
            ring_main()
    elif "--plot" in sys.argv:
        data = json.loads((HERE / "results" / "minibatch_sde.json").read_text())
        plot(data)
        table(data)
    else:
        main()

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

    nice -n 19 python experiments/minibatch_sde.py          # a few minutes on 2 cores
    python experiments/minibatch_sde.py --plot              # redraw from the numbers
"""

import json
import sys
import time
from pathlib import Path

import common  # noqa: F401  (float64)
import jax
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


if __name__ == "__main__":
    if "--plot" in sys.argv:
        data = json.loads((HERE / "results" / "minibatch_sde.json").read_text())
        plot(data)
        table(data)
    else:
        main()

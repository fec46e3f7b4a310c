"""(9) Su Jianlin, "RSGAN:对抗模型中的'图灵测试'思想" (kexue.fm/archives/6110, 2018):

(a) the optimal discriminators: SGAN's T* = log p/q, RSGAN's T* = log p/q + const, on
    1-D Gaussians (p = N(0, 1), the generator frozen at q = N(1, 1.5²)), the critic
    quadratic (it can represent log p/q exactly), trained alone by SGD on minibatches
    of 1,024 with Polyak averaging; RMSE against the analytic log-ratio;
(b) the generator's loss at the optimal critic is an f-divergence, f(u) = h(log u): Monte
    Carlo against quadrature (and closed-form KLs for h(t) = −t), for each h he lists;
(c) his empirical claim that RSGAN moves the generator faster than SGAN: Fréchet
    distance against steps on the 8×8 digits, NS-GAN vs RSGAN, 3 seeds each.

    python experiments/su_rsgan.py
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from common import clean, out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.metrics import ImageMetrics


MU, SIGMA = 1.0, 1.5
X = np.linspace(-3, 3, 201)
GRID = np.linspace(-12, 14, 20001)


def log_ratio(x):
    return (-0.5 * x**2) - (-0.5 * ((x - MU) / SIGMA) ** 2 - np.log(SIGMA))


def optimal_critics():
    runs = {}
    for name, loss in (("SGAN", losses.nsgan), ("RSGAN", losses.RSGAN())):
        game = gd.GaussianGAN(loss, bias=True, nodes=None, batch_size=1024)
        y0 = gd.Players(jnp.array([MU, SIGMA]), jnp.array([-0.3, -0.1, 0.3]))
        sol = gd.simulate(game, gd.Averaged(gd.Frozen(gd.SimultaneousGD()), decay=0.999), y0,
                          h=0.5, steps=20000)
        w = np.asarray(sol.final.second)
        critic = w[0] * X + w[1] * X**2 + w[2]
        error = critic - log_ratio(X)
        if name == "RSGAN":
            error = error - error.mean()
        runs[name] = {"weights": w.tolist(), "rmse": float(np.sqrt(np.mean(error**2))),
                      "critic": critic}
    return runs


def densities():
    p = np.exp(-0.5 * GRID**2) / np.sqrt(2 * np.pi)
    q = np.exp(-0.5 * ((GRID - MU) / SIGMA) ** 2) / (SIGMA * np.sqrt(2 * np.pi))
    return p, q


def divergences():
    """Generator losses at T* = log p/q (Monte Carlo) against ∫ q f(p/q) and the f-divergence
    between p(x_r)q(x_f) and p(x_f)q(x_r) (quadrature), f(u) = h(log u)."""
    p, q = densities()
    critic = jnp.array([-MU / SIGMA**2, -0.5 + 0.5 / SIGMA**2, np.log(SIGMA) + MU**2 / (2 * SIGMA**2)])
    players = gd.Players(jnp.array([MU, SIGMA]), critic)
    fs = {"linear": lambda u: -np.log(u), "logsigmoid": lambda u: np.log1p(1 / u),
          "saturating": lambda u: -np.log1p(u)}
    rows = {}
    for h, f in fs.items():
        ns = gd.GaussianGAN(losses.SGANNonSaturating(h=h), bias=True, nodes=None, batch_size=20000)
        rs = gd.GaussianGAN(losses.RSGAN(h=h, pairs="all"), bias=True, nodes=None, batch_size=2000)
        key = jax.random.key(7)
        sub = slice(None, None, 40)
        ratio = (p[None, sub] * q[sub, None]) / (p[sub, None] * q[None, sub])
        weights = p[sub, None] * q[None, sub] * (GRID[40] - GRID[0]) ** 2
        rows[h] = {"description": losses.GENERATOR_H[h][1],
                   "sgan_monte_carlo": float(ns.loss_terms(players, key)[0]),
                   "sgan_quadrature": float(np.trapezoid(q * f(p / q), GRID)),
                   "rsgan_monte_carlo": float(rs.loss_terms(players, key)[0]),
                   "rsgan_quadrature": float(np.sum(weights * f(ratio)))}
    kl = lambda m1, s1, m2, s2: np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5  # noqa: E731
    rows["linear"]["closed_form"] = {"KL(q‖p)": kl(MU, SIGMA, 0, 1),
                                     "KL(p‖q) + KL(q‖p)": kl(MU, SIGMA, 0, 1) + kl(0, 1, MU, SIGMA)}
    return rows


def digits_speed(seeds: int = 3, steps: int = 2000, every: int = 250):
    data = gd.data.digits()
    metrics = ImageMetrics(data)
    curves = {}
    for name, loss in (("NS-GAN", losses.nsgan), ("RSGAN", losses.rsgan)):
        game = gd.ConvGAN(loss, data)
        run = gd.train(game, gd.methods.get("adam"), h=1e-3, steps=steps, seeds=seeds, log_every=every,
                       eigen_checkpoints=0, metrics=metrics, keep_samples=1, keep_checkpoints=False)
        table = {}
        for row in run.history:
            table.setdefault(row["step"], []).append(row["fd"])
        curves[name] = {step: sorted(values) for step, values in table.items()}
        jax.clear_caches()
    return curves


def main():
    jax.config.update("jax_enable_x64", True)
    out = out_dir("su_rsgan")
    critics = optimal_critics()
    rows = divergences()
    jax.config.update("jax_enable_x64", False)
    curves = digits_speed()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    ax = axes[0]
    ax.plot(X, log_ratio(X), color="black", lw=2, label="log p/q (analytic)")
    for name, colour in (("SGAN", "tab:blue"), ("RSGAN", "tab:orange")):
        critic = critics[name]["critic"]
        shown = critic if name == "SGAN" else critic - np.mean(critic - log_ratio(X))
        ax.plot(X, shown, "--", color=colour, label=f"{name} critic{' (+ const)' if name == 'RSGAN' else ''}, "
                f"RMSE {critics[name]['rmse']:.4f}")
    ax.set_xlabel("x")
    ax.set_ylabel("T(x)")
    ax.set_title("optimal discriminators, p = N(0, 1), q = N(1, 1.5²) frozen", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[1]
    names = list(rows)
    width = 0.2
    for k, (key, label) in enumerate((("sgan_monte_carlo", "SGAN, Monte Carlo"), ("sgan_quadrature", "∫ q f(p/q)"),
                                      ("rsgan_monte_carlo", "RSGAN, Monte Carlo"),
                                      ("rsgan_quadrature", "f-div. of p(x_r)q(x_f) vs p(x_f)q(x_r)"))):
        ax.bar(np.arange(len(names)) + (k - 1.5) * width, [rows[n][key] for n in names], width, label=label)
    ax.set_xticks(range(len(names)), [f"h: {n}" for n in names])
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("generator loss at T*")
    ax.set_title("generator loss at the optimal critic = f-divergence, f(u) = h(log u)", fontsize=9)
    ax.legend(fontsize=6)

    ax = axes[2]
    for name, colour in (("NS-GAN", "tab:blue"), ("RSGAN", "tab:orange")):
        steps = sorted(curves[name])
        values = np.array([curves[name][s] for s in steps])
        ax.plot(steps, np.median(values, axis=1), color=colour, label=f"{name}, median of 3 seeds")
        ax.fill_between(steps, values.min(axis=1), values.max(axis=1), color=colour, alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("training step (Adam 1e-3, batch 64)")
    ax.set_ylabel("Fréchet distance (classifier features)")
    ax.set_title("8×8 digits: how fast each loss moves the generator (band: min–max)", fontsize=9)
    ax.legend(fontsize=7)
    figures = out.parent.parent / "figures"
    fig.savefig(figures / "su_rsgan.png", dpi=90)
    print(f"wrote {figures / 'su_rsgan.png'}")
    numbers = {"optimal_critics": {k: {"weights": v["weights"], "rmse": v["rmse"]} for k, v in critics.items()},
               "analytic_critic": [-MU / SIGMA**2, -0.5 + 0.5 / SIGMA**2, np.log(SIGMA) + MU**2 / (2 * SIGMA**2)],
               "divergences": rows, "digits_fd": {k: {str(s): v for s, v in c.items()} for k, c in curves.items()}}
    save_json(out / "su_rsgan.json", clean(numbers))
    print(clean(numbers["optimal_critics"]))
    for h, row in rows.items():
        print(h, clean(row))
    for name, c in curves.items():
        print(name, {s: float(np.median(v)) for s, v in sorted(c.items())})


if __name__ == "__main__":
    main()

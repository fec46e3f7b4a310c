"""(8) Su Jianlin, "从动力学角度看优化算法(四):GAN的第三个阶段" (kexue.fm/archives/6583,
2019): the 2-D Dirac-GAN `D(x) = x·φ`, θ, φ ∈ R², real data at 0, started where his
`gan_numeric.py` starts (φ = (0.1, 0.2), θ = (0.2, 0.1)) and integrated as he does (an
adaptive Runge–Kutta solve, Dopri5 here, RK45 there) over his time spans, and by
gradient descent (simultaneous GD, h = 0.05, the same time span). One panel per
variant: the θ-trajectory, as in his figures; the numbers: θ₁φ₂ − θ₂φ₁ at the start
and the end, ‖θ‖ and ‖φ‖ at the end, and gandyn's status.

Then his second remedy, weight averaging: the EMA (decay 0.999) and the uniform average
of the iterates of a cycling run (alternating GD, h = 0.05) converge to the centre.

    python experiments/su_dynamics.py
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from common import clean, out_dir, save_json

import gandyn as gd
from gandyn import losses


PHI0, THETA0 = (0.1, 0.2), (0.2, 0.1)
GD_STEP = 0.05

# name → (game, time span T of his script (or ours where he has none), his claim)
VARIANTS = {
    "NS-GAN": (gd.DiracGAN(losses.nsgan, dim=2), 100, "oscillates; θ₁φ₂ − θ₂φ₁ conserved"),
    "minimax GAN": (gd.DiracGAN(losses.sgan, dim=2), 100, "every f-GAN oscillates"),
    "LSGAN": (gd.DiracGAN(losses.lsgan, dim=2), 100, "every f-GAN oscillates"),
    "WGAN, x·φ/‖φ‖": (gd.DiracGAN(losses.wgan, dim=2, critic="normalized"), 10,
                      "oscillates (the generator moves at unit speed)"),
    "WGAN-GP, c = 1": (gd.DiracGAN(losses.wgan, dim=2, regularizers=(gd.WGANGP(0.1, center=1.0),)),
                       40, "ends on a circle of radius c = 1"),
    "WGAN-GP, c = 0": (gd.DiracGAN(losses.wgan, dim=2, regularizers=(gd.WGANGP(0.1, center=0.0),)),
                       40, "converges"),
    "GAN-QP, λ = 1": (gd.DiracGAN(losses.GANQP(1.0), dim=2), 40, "oscillates"),
    "GAN-QP + L2 0.1": (gd.DiracGAN(losses.GANQP(1.0), dim=2, regularizers=(gd.L2(0.1),)), 70,
                        "converges"),
    "NS-GAN + R1 0.2": (gd.DiracGAN(losses.nsgan, dim=2, regularizers=(gd.R1(0.2),)), 100,
                        "zero-centred gradient penalty: converges"),
}


def start(game):
    return game.state(jnp.array([THETA0]), jnp.array([PHI0]))


def cross(solution) -> np.ndarray:
    theta, phi = np.asarray(solution.ys.first[0]), np.asarray(solution.ys.second[0])
    return theta[:, 0] * phi[:, 1] - theta[:, 1] * phi[:, 0]


def run(game, span):
    spacing = span / 1000  # his scripts save 1,000 (or 400) points per run
    ode = gd.simulate(game, gd.AdaptiveFlow(rtol=1e-8, atol=1e-10), start(game), h=spacing,
                      steps=1000)
    descent = gd.simulate(game, gd.SimultaneousGD(), start(game), h=GD_STEP,
                          steps=int(round(span / GD_STEP)))
    return ode, descent


def verdict(row: dict) -> str:
    """What the run did, in the article's terms."""
    start_norm = float(np.hypot(np.linalg.norm(THETA0), np.linalg.norm(PHI0)))
    if np.hypot(row["theta_norm_end"], row["phi_norm_end"]) < 0.05 * start_norm:
        return "converges"
    if abs(row["cross_end"] - row["cross_start"]) < 1e-6:
        return "oscillates: θ₁φ₂ − θ₂φ₁ conserved"
    low, high = row["theta_norm_last_fifth"]
    if high < 0.8 * row["theta_norm_previous_fifth_max"]:
        return f"converging slowly, ‖θ‖ ≤ {high:.2f} at the end"
    return f"keeps moving, ‖θ‖ in [{low:.2f}, {high:.2f}] at the end"


def summary(solution) -> dict:
    theta, phi = np.asarray(solution.final.first[0]), np.asarray(solution.final.second[0])
    c = cross(solution)
    norms = np.linalg.norm(np.asarray(solution.ys.first[0]), axis=1)
    tail, previous = norms[-len(c) // 5:], norms[-2 * len(c) // 5: -len(c) // 5]
    return {"status": str(solution.labels()[0]), "cross_start": float(c[0]), "cross_end": float(c[-1]),
            "theta_norm_end": float(np.linalg.norm(theta)), "phi_norm_end": float(np.linalg.norm(phi)),
            "theta_norm_last_fifth": [float(tail.min()), float(tail.max())],
            "theta_norm_previous_fifth_max": float(previous.max())}


def main():
    jax.config.update("jax_enable_x64", True)
    out = out_dir("su_dynamics")
    fig, axes = plt.subplots(2, 5, figsize=(17, 7.6), layout="constrained")
    numbers = {}
    for ax, (name, (game, span, claim)) in zip(axes.ravel(), VARIANTS.items()):
        ode, descent = run(game, span)
        numbers[name] = {"claim": claim, "T": span, "ode": summary(ode), "gradient_descent": summary(descent)}
        for part in ("ode", "gradient_descent"):
            numbers[name][part]["verdict"] = verdict(numbers[name][part])
        for solution, style, label in ((descent, dict(color="tab:orange", lw=0.8, alpha=0.7),
                                        f"GD h={GD_STEP}"),
                                       (ode, dict(color="tab:blue", lw=1.2), "ODE (Dopri5)")):
            theta = np.asarray(solution.ys.first[0])
            ax.plot(theta[:, 0], theta[:, 1], label=label, **style)
        ax.scatter([0], [0], s=30, color="red", zorder=5, label="real point")
        ax.scatter([THETA0[0]], [THETA0[1]], s=15, color="black", zorder=5, label="start")
        ax.set_title(f"{name}, T = {span}\n{numbers[name]['ode']['verdict']}\n"
                     f"θ₁φ₂−θ₂φ₁: {numbers[name]['ode']['cross_start']:.3f} → "
                     f"{numbers[name]['ode']['cross_end']:.3f}", fontsize=8)
        ax.set_xlabel("θ₁")
        ax.set_ylabel("θ₂")
        ax.set_aspect("equal", adjustable="datalim")

    # His second remedy: weight averaging of a cycling run.
    game = VARIANTS["NS-GAN"][0]
    ax = axes.ravel()[-1]
    averages = {}
    for name, method, colour in (("raw (alternating GD)", gd.AlternatingGD(), "tab:orange"),
                                 ("EMA 0.999", gd.Averaged(gd.AlternatingGD(), decay=0.999), "tab:green"),
                                 ("uniform average", gd.Averaged(gd.AlternatingGD(), decay=None), "tab:purple")):
        solution = gd.simulate(game, method, start(game), h=GD_STEP, steps=int(100 / GD_STEP) * 4)
        theta = np.asarray(solution.ys.first[0])
        ax.plot(theta[:, 0], theta[:, 1], color=colour, lw=0.9, label=name)
        averages[name] = float(np.linalg.norm(theta[-1]))
    ax.scatter([0], [0], s=30, color="red", zorder=5)
    ax.set_title(f"NS-GAN, weight averaging (T = 400)\n‖θ‖ at the end: raw "
                 f"{averages['raw (alternating GD)']:.3f}, EMA {averages['EMA 0.999']:.3f}, "
                 f"uniform {averages['uniform average']:.4f}", fontsize=8)
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
    ax.legend(fontsize=6)
    axes.ravel()[0].legend(fontsize=6, loc="upper left")
    fig.suptitle("Su's 2-D Dirac-GAN, D(x) = x·φ: the generator's θ from θ = (0.2, 0.1), "
                 "φ = (0.1, 0.2); real point in red", fontsize=10)
    figures = out.parent.parent / "figures"
    fig.savefig(figures / "su_dynamics.png", dpi=90)
    print(f"wrote {figures / 'su_dynamics.png'}")
    numbers["weight_averaging_theta_norm_end"] = averages
    save_json(out / "su_dynamics.json", clean(numbers))
    for name, row in numbers.items():
        if name != "weight_averaging_theta_norm_end":
            o, g = row["ode"], row["gradient_descent"]
            print(f"{name:18s} ODE {o['verdict']} | cross {o['cross_start']:+.4f}→{o['cross_end']:+.4f} "
                  f"‖θ‖ {o['theta_norm_end']:.4f} ‖φ‖ {o['phi_norm_end']:.4f} | GD {g['verdict']} "
                  f"‖θ‖ {g['theta_norm_end']:.4f}")
    print("averaging:", averages)


if __name__ == "__main__":
    main()

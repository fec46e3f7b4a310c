"""(2) Euler vs Heun vs RK4 vs extragradient (and alternating GD) on the WGAN
Dirac-GAN rotation `dy/dt = (ψ, −θ)`: predicted growth per step |R(ih)| against the
rate measured by `simulate`, and the trajectories at h = 0.5.

    python experiments/rotation_methods.py
"""

import diffrax
import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.plotting import portrait


METHODS = {
    "Euler (simultaneous GD)": gd.SimultaneousGD(),
    "Heun": gd.Flow(diffrax.Heun()),
    "RK4": gd.Flow(gd.RK4()),
    "extragradient": gd.Extragradient(),
    "alternating GD": gd.AlternatingGD(),
}
STEPS_TO_MEASURE = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0]


def main():
    out = out_dir("rotation_methods")
    game = gd.DiracGAN(losses.wgan)
    eq = game.equilibrium()
    y0 = game.state(1.0, 0.0)
    grid = np.linspace(0.01, 3.2, 300)
    fig, axes = plt.subplots(1, 1 + len(METHODS), figsize=(3.3 * (1 + len(METHODS)), 3.4),
                             layout="constrained")
    numbers = {}
    for name, method in METHODS.items():
        predicted = [gd.amplification(game, method, eq, h) for h in grid]
        line, = axes[0].plot(grid, predicted, label=name)
        measured = []
        for h in STEPS_TO_MEASURE:
            sol = gd.simulate(game, method, y0, h=h, steps=300, blowup=1e300)
            measured.append(float(sol.rate))
        axes[0].plot(STEPS_TO_MEASURE, measured, "o", color=line.get_color(), ms=4)
        try:
            largest = gd.stable_step_for_spectrum(method, gd.eigenvalues(game, eq))
        except ValueError:
            largest = gd.largest_stable_step(lambda h: gd.amplification(game, method, eq, h))
        numbers[name] = {
            "largest_stable_step": largest,
            "steps": STEPS_TO_MEASURE,
            "predicted_growth": [gd.amplification(game, method, eq, h) for h in STEPS_TO_MEASURE],
            "measured_growth": measured,
        }
    axes[0].axhline(1, color="k", lw=0.6)
    axes[0].axvline(2 * np.sqrt(2), color="grey", ls=":", lw=0.8)
    axes[0].set_ylim(0.6, 1.6)
    axes[0].set_xlabel("step h (a = 1)")
    axes[0].set_ylabel("growth per step")
    axes[0].set_title("lines: |R(ih)|, dots: measured by simulate", fontsize=9)
    axes[0].legend(fontsize=7)
    for ax, (name, method) in zip(axes[1:], METHODS.items()):
        sol = gd.simulate(game, method, y0, h=0.5, steps=400)
        portrait(ax, game, sol, lim=2.0, title=f"{name}, h=0.5 · {sol.labels()}")
    fig.savefig(out / "rotation_methods.png", dpi=100)
    print(f"wrote {out / 'rotation_methods.png'}")
    save_json(out / "rotation_methods.json", numbers)


if __name__ == "__main__":
    main()

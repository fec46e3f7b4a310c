"""(4) SGAN (minimax and non-saturating) vs RSGAN vs RaSGAN on the Dirac-GAN with the
real point at c = 1 and a critic bias: with c = 0 and no bias the real logit is always
0 and non-saturating SGAN and RSGAN coincide; here they do not.

    python experiments/sgan_vs_rsgan.py
"""

import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.plotting import portrait_grid


LOSSES = ["sgan", "nsgan", "rsgan", "rasgan"]
H, STEPS = 0.1, 3000


def main():
    out = out_dir("sgan_vs_rsgan")
    numbers, row_sim, row_alt = {}, [], []
    for name in LOSSES:
        game = gd.DiracGAN(losses.get(name), real_point=1.0, bias=True)
        eq = game.equilibrium()
        eig = gd.eigenvalues(game, eq)
        y0 = game.state(np.array([2.0, 0.0, 1.5]), np.array([1.0, 1.0, -0.5]))
        entry = {"equilibrium": [float(eq.generator), *map(float, eq.discriminator)],
                 "eigenvalues": [[float(e.real), float(e.imag)] for e in eig]}
        for label, method, row in (("simultaneous", gd.SimultaneousGD(), row_sim),
                                   ("alternating", gd.AlternatingGD(), row_alt)):
            sol = gd.simulate(game, method, y0, h=H, steps=STEPS)
            entry[label] = {"status": [str(s) for s in sol.labels()],
                            "rate_per_step": [float(r) for r in sol.rate],
                            "final_distance": [float(d[np.isfinite(d)][-1]) for d in np.asarray(sol.distance)]}
            row.append((game, sol, f"{name} · {label} GD · c=1, bias"))
        numbers[name] = entry
    fig = portrait_grid([row_sim, row_alt], lim=2.5, panel_size=3.0)
    fig.savefig(out / "sgan_vs_rsgan.png", dpi=100)
    print(f"wrote {out / 'sgan_vs_rsgan.png'}")
    save_json(out / "sgan_vs_rsgan.json", {"step": H, "steps": STEPS, "real_point": 1.0,
                                            "results": numbers})


if __name__ == "__main__":
    main()

"""(3) Eigenvalues of the SGAN Dirac-GAN with R1 as γ goes 0 → 1.5: the pair
−γ/2 ± √(γ²/4 − 1/4) meets on the real axis at γ = 1 (critical damping), where the
slowest mode decays fastest.

    python experiments/r1_eigen_path.py
"""

import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.plotting import eigenvalue_paths


def main():
    out = out_dir("r1_eigen_path")
    gammas = np.linspace(0.0, 1.5, 151)
    eigs = []
    for gamma in gammas:
        game = gd.DiracGAN(losses.sgan, regularizers=(gd.R1(float(gamma)),))
        eigs.append(gd.eigenvalues(game, game.equilibrium()))
    eigs = np.array(eigs)
    abscissa = eigs.real.max(axis=1)  # slowest decay rate: the spectral abscissa
    theory = np.array([np.sort_complex(np.array([-g / 2 + np.sqrt(complex(g**2 / 4 - 0.25)),
                                                 -g / 2 - np.sqrt(complex(g**2 / 4 - 0.25))]))
                       for g in gammas])
    error = float(np.max(np.abs(np.sort_complex(eigs) - theory)))
    real_from = gammas[np.argmax(np.abs(eigs.imag).max(axis=1) < 1e-6)]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    eigenvalue_paths(axes[0], gammas, eigs, title="SGAN Dirac-GAN + R1: eigenvalues as γ: 0 → 1.5")
    axes[1].plot(gammas, abscissa)
    axes[1].axvline(1.0, color="grey", ls=":")
    axes[1].set_xlabel("γ")
    axes[1].set_ylabel("max Re λ (slowest mode)")
    axes[1].set_title("fastest local convergence at γ = 1", fontsize=9)
    fig.savefig(out / "r1_eigen_path.png", dpi=110)
    print(f"wrote {out / 'r1_eigen_path.png'}")
    save_json(out / "r1_eigen_path.json", {
        "gamma_of_fastest_convergence": float(gammas[np.argmin(abscissa)]),
        "first_gamma_with_real_spectrum": float(real_from),
        "max_abs_error_vs_formula": error,
        "abscissa_at": {f"{g:.2f}": float(a) for g, a in zip(gammas[::25], abscissa[::25])},
    })


if __name__ == "__main__":
    main()

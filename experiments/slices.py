"""(11) What the training field of a real GAN looks like near its iterate: NS-GAN vs
NS-GAN + R1 (γ = 1) on ring-8 (4×128 MLPs) and on the 8×8 digits (the default
ConvGAN), each sliced at three points of training.

Each run is `gandyn train`'s default for its data (Adam, lr 10⁻³, β₁ = 0.5; ring-8:
width 128, depth 3, latent 2, batch 256; digits: width 32, latent 32, batch 64) in
float32, shortened: ring-8 3,000 steps, digits 2,000 steps. At each of the three
checkpoints, `gd.field_slice` cuts the field of seed 0's parameters (on the minibatch
that `gandyn slice` uses) by (a) the rotation plane of the leading complex pair of J
(Arnoldi, 60 steps; else the two leading real eigenvectors) and (b) the players' plane
(`v_G`, `v_D`), and records the six leading eigenvalues of J (by modulus), the curl and
divergence of the restricted Jacobian M = EᵀJE and its rotation share ‖A‖²/‖M‖².

    python experiments/slices.py [--data ring8|digits] [--quick]
"""

import argparse
import time

import jax
import matplotlib.pyplot as plt
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses
from gandyn.metrics import ImageMetrics
from gandyn.plotting import slice_figure

jax.config.update("jax_enable_x64", False)  # as `gandyn train` runs (common.py turns it on)

SETUPS = {
    "ring8": {"steps": 3000, "every": 500, "at": (500, 1500, 3000)},
    "digits": {"steps": 2000, "every": 500, "at": (500, 1000, 2000)},
}
QUICK = {
    "ring8": {"steps": 400, "every": 100, "at": (100, 200, 400)},
    "digits": {"steps": 200, "every": 50, "at": (50, 100, 200)},
}


def game_for(data: str, regularizers):
    if data == "ring8":
        return gd.MLPGAN(losses.nsgan, gd.data.get("ring8"), width=128, depth=3, latent_size=2,
                         batch_size=256, regularizers=regularizers)
    return gd.ConvGAN(losses.nsgan, gd.data.load("digits"), regularizers=regularizers)


def pairs(values) -> list[list[float]]:
    return [[float(v.real), float(v.imag)] for v in values]


def run(data: str, label: str, regularizers, setup: dict, seed: int = 0) -> tuple[dict, list]:
    game = game_for(data, regularizers)
    metrics = ImageMetrics(game.target, seed=seed) if data == "digits" else None
    extra = {"keep_samples": 16, "eval_samples": 2000} if data == "digits" else {}
    start = time.perf_counter()
    result = gd.train(game, gd.methods.get("adam"), h=1e-3, steps=setup["steps"], seed=seed,
                      log_every=setup["every"], eigen_checkpoints=0, metrics=metrics, **extra)
    trained = time.perf_counter() - start
    # The minibatch of `gandyn slice` (and of the eigenvalues `gandyn train` logs).
    batch_key = jax.random.split(jax.random.key(seed), 4)[1]
    slices, records = [], []
    for step in setup["at"]:
        y = jax.tree_util.tree_map(lambda x: jax.numpy.asarray(x[0]), result.checkpoints[step])
        key = jax.random.fold_in(batch_key, step)
        start = time.perf_counter()
        eigen = gd.field_slice(game, y, krylov=60, step=step, key=key)
        seconds = time.perf_counter() - start
        players = gd.field_slice(game, y, directions="players", resolution=11, leading=0,
                                 step=step, key=key)
        row = next(r for r in result.history if r["step"] == step and r["seed"] == 0)
        records.append({
            "step": step, "seconds": seconds,
            "leading_eigenvalues": pairs(eigen.leading),
            "eigen": {k: v for k, v in eigen.summary().items() if k != "leading_eigenvalues"},
            "players": {k: v for k, v in players.summary().items() if k != "leading_eigenvalues"},
            "metrics": {k: row[k] for k in ("modes", "high_quality", "kl", "fd", "classes_covered")
                        if k in row},
        })
        slices.append(eigen)
        print(f"{data} {label} step {step}: {eigen.plane.kind}; leading |λ| "
              f"{abs(eigen.leading[0]):.3g}; eigen plane rotation {eigen.rotation:.0%} "
              f"curl {eigen.curl:.3g} div {eigen.divergence:.3g}; players plane rotation "
              f"{players.rotation:.0%} curl {players.curl:.3g} div {players.divergence:.3g} "
              f"({seconds:.1f} s)", flush=True)
    return {"train_seconds": trained, "slices": records}, slices


def main(quick: bool = False, datasets=("ring8", "digits")) -> None:
    out = out_dir("slices")
    for data in datasets:
        setup = (QUICK if quick else SETUPS)[data]
        results = {"setup": setup}
        panels, titles = [], []
        for label, regs in (("NS-GAN", ()), ("NS-GAN + R1 (γ = 1)", (gd.R1(1.0),))):
            results[f"{data}: {label}"], slices = run(data, label, regs, setup)
            panels += slices
            titles += [f"{label}, step {s.step}" for s in slices]
            jax.clear_caches()
        what = "ring-8, 4×128 MLPs" if data == "ring8" else "8×8 digits, ConvGAN"
        fig = slice_figure(panels, titles, columns=3, panel_size=4.4,
                           suptitle=f"{what}: the training field in the leading rotation "
                                    f"plane of J at three checkpoints (seed 0)")
        path = out / f"slices_{data}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        print(f"wrote {path}")
        save_json(out / f"slices_{data}.json", results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred steps (a smoke run)")
    parser.add_argument("--data", choices=sorted(SETUPS), action="append",
                        help="only this data (repeatable; default: both)")
    args = parser.parse_args()
    main(args.quick, tuple(args.data or ("ring8", "digits")))

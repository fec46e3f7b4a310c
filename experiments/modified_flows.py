"""Global error at time T of the plain, order-1 and order-2 modified flows against the
map they come from (`gd.modified_field`), over the step h: backward error analysis
predicts log-log slopes 1, 2, 3 (Hairer, Lubich & Wanner, *Geometric Numerical
Integration*, IX; Rosca et al. 2021, arXiv 2105.13922, for simultaneous and
alternating GD).

Games: the bilinear game L = xᵀKy, the non-saturating Dirac-GAN with a bias
(nonlinear, not zero-sum) and a small tanh MLP GAN on ring-8 (one fixed minibatch).
Methods: simultaneous and alternating GD. (Momentum and optimistic GD are checked in
tests/test_modified.py against their principal roots; their iterates follow the
modified flow only from a state on the slow manifold, which an optimizer's zero
initial state is not.)

    python experiments/modified_flows.py          # about 3 minutes on 2 CPU cores
    python experiments/modified_flows.py --plot   # redraw the figure from the numbers
"""

import json
import os
import sys
import time
from pathlib import Path

import common  # noqa: F401  (float64)
import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from jax.flatten_util import ravel_pytree

import gandyn as gd

HERE = Path(__file__).resolve().parent
STEPS = np.array([0.2, 0.1, 0.05, 0.025, 0.0125])
ORDERS = (0, 1, 2)
T = 2.0


def games():
    ring = gd.MLPGAN(gd.losses.nsgan, gd.data.get("ring8"), width=8, depth=1, latent_size=2,
                     batch_size=64, activation="tanh")
    dirac = gd.DiracGAN(gd.losses.SGANNonSaturating(), bias=True, real_point=0.5)
    return {
        "bilinear xᵀKy": (gd.Bilinear([[1.0, 0.4], [-0.3, 0.8]]),
                          gd.Players(jnp.array([0.3, -0.5]), jnp.array([0.7, 0.2]))),
        "Dirac-GAN (NS, bias)": (dirac, dirac.state(1.0, 0.5, 0.2)),
        "MLP GAN on ring-8": (ring, ring.init(jax.random.key(0))),
    }


METHODS = {
    "simultaneous GD": gd.SimultaneousGD(),
    "alternating GD": gd.AlternatingGD(),
}


@eqx.filter_jit
def flow_end(field, y0):
    """The modified flow's state at T (Tsit5, tolerances 1e-12)."""
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: field(y)), diffrax.Tsit5(), 0.0, T, 0.01, y0,
        stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12),
        max_steps=200_000)
    return jax.tree_util.tree_map(lambda a: a[-1], sol.ys)


@eqx.filter_jit
def map_end(game, method, y0, h, steps):
    """The method's iterate after `steps` steps of size h, every step on the minibatch
    of one key (the one the modified field is taken on)."""
    key = jax.random.key(0)

    def step(i, carry):
        y, state = carry
        return method.step(game, y, state, 0.0, h, key)

    return jax.lax.fori_loop(0, steps, step, (y0, method.init(game, y0, h, key)))[0]


def main():
    results = {"T": T, "steps": STEPS.tolist(), "cases": {}}
    for game_name, (game, y0) in games().items():
        for method_name, method in METHODS.items():
            start = time.time()
            case = {}
            ends = [map_end(game, method, y0, jnp.asarray(h), int(round(T / h)))
                    for h in STEPS]
            for order in ORDERS:
                errors = []
                for h, end in zip(STEPS, ends):
                    field = gd.modified_field(game, method, float(h), order=order,
                                              key=jax.random.key(0))
                    gap = ravel_pytree(flow_end(field, y0))[0] - ravel_pytree(end)[0]
                    errors.append(float(jnp.linalg.norm(gap)))
                slope = float(np.polyfit(np.log(STEPS[1:]), np.log(errors[1:]), 1)[0])
                case[f"order {order}"] = {"errors": errors, "slope": slope}
                print(f"{game_name:22s} {method_name:16s} order {order}: slope {slope:5.2f} "
                      f"errors {[f'{e:.2e}' for e in errors]}", flush=True)
            case["seconds"] = time.time() - start
            results["cases"][f"{game_name} / {method_name}"] = case
    write(results)
    plot(results)


def write(results):
    path = HERE / "results" / "modified_flows.json"
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path}")


def plot(results):
    cases = results["cases"]
    game_names = list(dict.fromkeys(name.split(" / ")[0] for name in cases))
    method_names = list(dict.fromkeys(name.split(" / ")[1] for name in cases))
    fig, axes = plt.subplots(len(method_names), len(game_names),
                             figsize=(3.6 * len(game_names), 3.2 * len(method_names)),
                             layout="constrained", squeeze=False)
    hs = np.array(results["steps"])
    colors = {0: "tab:blue", 1: "tab:orange", 2: "tab:green"}
    for row, method_name in enumerate(method_names):
        for col, game_name in enumerate(game_names):
            ax = axes[row, col]
            case = cases[f"{game_name} / {method_name}"]
            for order in ORDERS:
                entry = case[f"order {order}"]
                errors = np.array(entry["errors"])
                ax.loglog(hs, errors, "o-", color=colors[order], ms=4,
                          label=f"order {order}: slope {entry['slope']:.2f}")
                guide = errors[-1] * (hs / hs[-1]) ** (order + 1)
                ax.loglog(hs, guide, ":", color="black", lw=0.8)
            ax.set_xticks(hs, [f"{h:g}" for h in hs], minor=False)
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
            ax.set_title(f"{game_name}, {method_name}", fontsize=9)
            ax.set_xlabel("step h")
            ax.set_ylabel(f"‖flow − map‖ at T = {results['T']:g}")
            ax.legend(fontsize=8, loc="lower right")
            ax.grid(alpha=0.3, which="major")
    fig.suptitle("Modified flows (order 0 = plain field) against their maps: global error at "
                 "fixed T\n(dotted black: slopes 1, 2, 3 through the smallest h)", fontsize=10)
    path = HERE / "figures" / "modified_flow_error.png"
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name("modified_flow_error.tmp.png")
    fig.savefig(tmp, dpi=130)
    os.replace(tmp, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    if "--plot" in sys.argv:  # redraw from the saved numbers
        plot(json.loads((HERE / "results" / "modified_flows.json").read_text()))
    else:
        main()

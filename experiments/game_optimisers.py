"""The game-optimiser zoo side by side: every method on the bilinear game `L = xy`,
the non-saturating Dirac-GAN and the ring-8 MLP GAN.

Per method and toy game: the verdict of `simulate`, its measured contraction per step,
the local contraction predicted by the method's step matrix at the equilibrium, the
gradient evaluations needed to reach distance 1e-3 (steps × evaluations per step;
a Hessian- or Jacobian-vector product counts as one evaluation, CGD's come from the
iterations its linear solver took) and the wall time of the compiled run. On ring-8
(4×128 MLPs, non-saturating loss, step 10⁻³) the Adam family and unrolling: modes
covered and high-quality share per seed and time per step. The figure
draws each method's trajectory on the two toy games.

    python experiments/game_optimisers.py [--ring-steps N] [--seeds K]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from common import out_dir, save_json

import gandyn as gd
from gandyn import losses


def methods() -> dict:
    get = gd.methods.get
    return {
        "simultaneous GD": get("simgd"),
        "alternating GD": get("altgd"),
        "alternating GD, uniform average": get("altgd-avg"),
        "negative momentum (β = −½)": get("negative-momentum"),
        "extragradient": get("extragradient"),
        "extrapolation from the past": get("eg-past"),
        "optimistic GD": get("optimistic"),
        "lookahead-minmax (GD)": get("lookahead"),
        "Hamiltonian GD": get("hamiltonian"),
        "consensus (SGA, fixed λ = 1)": gd.SymplecticGradientAdjustment(align=False),
        "SGA (aligned)": get("sga"),
        "competitive GD": get("cgd"),
        "LookAhead (opponent)": get("lookahead-opponent"),
        "LOLA": get("lola"),
        "SOS": get("sos"),
        "unrolled GD (k = 5)": gd.Unrolled(gd.SimultaneousGD(), k=5),
        "Adam": get("adam"),
        "extra-Adam": get("extra-adam"),
        "optimistic Adam": get("optimistic-adam"),
    }


TOYS = {
    # name: (game, start, h, steps)
    "bilinear": (gd.Bilinear(), gd.Players(jnp.array([1.0]), jnp.array([0.5])), 0.2, 4000),
    "Dirac-GAN (NS)": (gd.DiracGAN(losses.nsgan), None, 0.2, 4000),
}


def evaluations_per_step(method, sol, steps) -> float | None:
    per_step = method.evaluations()
    if isinstance(method, gd.CompetitiveGD):  # gradients, 2 HVPs, 2 per operator application
        return 4 + 2 * float(np.asarray(sol.method_state)) / steps
    return per_step


def measured_rate(distance: np.ndarray) -> float:
    """Contraction per step over the last two thirds of the run, stopped where the
    distance reaches 1e-12 (rounding) or stops being finite."""
    bad = np.flatnonzero(~np.isfinite(distance) | (distance <= 1e-12))
    window = distance[: bad[0]] if bad.size else distance
    start = len(window) // 3
    span = len(window) - 1 - start
    return float((window[-1] / window[start]) ** (1 / span)) if span > 0 else float("nan")


def run_toy(name, method):
    game, start, h, steps = TOYS[name]
    start = game.state(1.0, 0.5) if start is None else start
    equilibrium = game.equilibrium()
    sol = gd.simulate(game, method, start, h=h, steps=steps, save_every=1)
    jax.block_until_ready(sol.distance)
    tic = time.perf_counter()
    sol = gd.simulate(game, method, start, h=h, steps=steps, save_every=1)
    jax.block_until_ready(sol.distance)
    seconds = time.perf_counter() - tic
    distance = np.asarray(sol.distance)
    reached = np.flatnonzero(distance <= 1e-3)
    per_step = evaluations_per_step(method, sol, steps)
    try:
        predicted = gd.amplification(game, method, equilibrium, h)
    except ValueError:
        predicted = None
    return sol, {
        "verdict": str(sol.labels()),
        "measured_rate": measured_rate(distance),
        "predicted_rate": predicted,
        "evaluations_per_step": per_step,
        "steps_to_1e-3": int(reached[0]) if reached.size else None,
        "evaluations_to_1e-3": (float(reached[0] * per_step) if reached.size and per_step else None),
        "seconds": seconds,
    }


def run_ring(method, steps, seeds):
    ring = gd.data.get("ring8")
    game = gd.MLPGAN(losses.nsgan, ring, width=128, depth=4, latent_size=2, batch_size=256)
    tic = time.perf_counter()
    result = gd.train(game, method, h=1e-3, steps=steps, seeds=seeds, log_every=steps,
                      eigen_checkpoints=0, keep_checkpoints=False)
    seconds = time.perf_counter() - tic
    rows = result.summary()
    return {"modes": [r.get("modes") for r in rows],
            "high_quality": [r.get("high_quality") for r in rows],
            "median_modes": float(np.median([r.get("modes") or 0 for r in rows])),
            "median_high_quality": float(np.median([r.get("high_quality") or 0 for r in rows])),
            "seconds_per_step": seconds / steps}


RING_METHODS = {
    "Adam": gd.methods.get("adam"),
    "extra-Adam": gd.methods.get("extra-adam"),
    "optimistic Adam": gd.methods.get("optimistic-adam"),
    "Adam, alternating": gd.methods.get("adam-alt"),
    "unrolled Adam, alternating (k = 5)": gd.methods.get("unrolled-gd"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ring-steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-ring", action="store_true", help="only the two toy games")
    args = parser.parse_args()
    out = out_dir("game_optimisers")
    zoo = methods()
    numbers = {toy: {} for toy in TOYS}
    columns = 5
    rows = -(-len(zoo) // columns)
    for toy in TOYS:
        game = TOYS[toy][0]
        eq = np.asarray(jax.flatten_util.ravel_pytree(game.equilibrium())[0])
        fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.6 * rows),
                                 layout="constrained", squeeze=False)
        for ax in axes.flat[len(zoo):]:
            ax.set_axis_off()
        for ax, (name, method) in zip(axes.flat, zoo.items()):
            sol, entry = run_toy(toy, method)
            numbers[toy][name] = entry
            path = np.asarray(jax.vmap(lambda y: jax.flatten_util.ravel_pytree(y)[0])(sol.ys))
            ax.plot(path[:, 0], path[:, -1], lw=0.7)
            ax.plot(*path[0, [0, -1]], "o", ms=3, color="k")
            ax.plot(eq[0], eq[-1], "*", ms=8, color="crimson")
            ax.set_xlim(eq[0] - 2, eq[0] + 2)
            ax.set_ylim(eq[-1] - 2, eq[-1] + 2)
            ax.set_aspect("equal")
            ax.set_title(f"{name}\n{entry['verdict']}, rate {entry['measured_rate']:.4f}", fontsize=8)
            ax.tick_params(labelsize=6)
            print(f"{toy:16s} {name:34s} {entry['verdict']:10s} rate {entry['measured_rate']:.5f} "
                  f"pred {entry['predicted_rate'] if entry['predicted_rate'] is None else round(entry['predicted_rate'], 5)} "
                  f"evals→1e-3 {entry['evaluations_to_1e-3']} {entry['seconds'] * 1e3:.0f} ms",
                  flush=True)
        _, _, h, steps = TOYS[toy]
        fig.suptitle(f"{toy}: trajectories per method (h = {h}, {steps:,} steps; "
                     f"x: first, y: last coordinate); ★ equilibrium, ● start", fontsize=10)
        name = "game_optimisers_" + toy.split()[0].lower().replace("-", "") + ".png"
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        print(f"wrote {out / name}")
    if not args.no_ring:
        numbers["ring-8"] = {}
        for name, method in RING_METHODS.items():
            numbers["ring-8"][name] = entry = run_ring(method, args.ring_steps, args.seeds)
            print(f"ring-8 {name:20s} modes {entry['modes']} hq {entry['median_high_quality']:.2f} "
                  f"{entry['seconds_per_step'] * 1e3:.1f} ms/step", flush=True)
    save_json(out / "game_optimisers.json", numbers)


if __name__ == "__main__":
    main()

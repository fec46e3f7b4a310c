"""Second-order game optimisers on the 4×128 ring-8 MLP GAN: competitive GD and LOLA
(and SGA, extra-Adam) against one Adam step of the same GAN, in one run.

Time per step is the best of several compiled 200-step `simulate` runs; memory is the
peak of XLA's buffer assignment for one compiled step (`memory_analysis()` of the
lowered step: arguments + outputs + temporaries), the figure that grows with
Hessian-vector products. The PyTorch CGD package's users report 4–6× Adam's time and
3–5× its memory (Implicit-Competitive-Regularization issues #7, #12).

    python benchmarks/game_optimisers.py [--steps N] [--repeats K]
"""

import argparse

import jax
import lineax as lx
from _common import best_of, machine

import gandyn as gd
from gandyn import losses


def ring_game():
    return gd.MLPGAN(losses.nsgan, gd.data.get("ring8"), width=128, depth=4, latent_size=2,
                     batch_size=256)


def step_memory(game, method, y, h) -> int:
    """Bytes XLA assigns to one compiled step (arguments, outputs, temporaries)."""
    key = jax.random.key(0)
    state = method.init(game, y, h, key)

    @jax.jit
    def step(y, state):
        return method.step(game, y, state, 0.0, h, key)

    stats = step.lower(y, state).compile().memory_analysis()
    return int(stats.argument_size_in_bytes + stats.output_size_in_bytes
               + stats.temp_size_in_bytes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    game = ring_game()
    y = game.init(jax.random.key(0))
    h = 1e-3
    methods = {
        "adam": gd.methods.get("adam"),
        "cgd (GMRES)": gd.methods.get("cgd"),
        "cgd (BiCGStab)": gd.CompetitiveGD(lx.BiCGStab(rtol=1e-6, atol=0.0, max_steps=100)),
        "lola": gd.methods.get("lola"),
        "sga": gd.methods.get("sga"),
        "extra-adam": gd.methods.get("extra-adam"),
    }
    print(machine())
    rows = {}
    for name, method in methods.items():
        def run():
            sol = gd.simulate(game, method, y, h=h, steps=args.steps, save_every=args.steps)
            return jax.block_until_ready(sol.final)

        seconds = best_of(run, repeats=args.repeats) / args.steps
        rows[name] = (seconds, step_memory(game, method, y, h))
    base_time, base_memory = rows["adam"]
    print(f"{'method':14s} {'ms/step':>9s} {'× Adam':>7s} {'step MiB':>9s} {'× Adam':>7s}")
    for name, (seconds, memory) in rows.items():
        print(f"{name:14s} {seconds * 1e3:9.2f} {seconds / base_time:7.2f} {memory / 2**20:9.2f} "
              f"{memory / base_memory:7.2f}")
    sol = gd.simulate(game, methods["cgd (GMRES)"], y, h=h, steps=args.steps, save_every=args.steps)
    print(f"cgd: {float(sol.method_state) / args.steps:.2f} applications of the reduced operator per step")


if __name__ == "__main__":
    main()

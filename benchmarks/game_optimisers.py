"""Second-order game optimisers on the 4×128 ring-8 MLP GAN: competitive GD and LOLA
(and SGA, extra-Adam) against one Adam step of the same GAN, in one run.

Time per step: every method's compiled `simulate` of `--steps` steps is timed in turn,
`--repeats` rounds, and each method's ratio to Adam is the median over the rounds of
its time over Adam's in the same round (a shared machine's load changes between rounds,
less within one). Two starting points: the initialisation and the parameters after
`--trained` Adam steps, where the mixed second derivatives are larger and CGD's solve
needs more operator applications (printed per step: the state's count). Memory is the
peak of XLA's buffer assignment for one compiled step (`memory_analysis()` of the
lowered step: arguments + outputs + temporaries), the figure that grows with
Hessian-vector products. The PyTorch CGD package's users report 4–6× Adam's time and
3–5× its memory (Implicit-Competitive-Regularization issues #7, #12).

    python benchmarks/game_optimisers.py [--steps N] [--repeats K] [--trained M] [--cpu-time]
"""

import argparse
import statistics

import jax
import lineax as lx
from _common import chosen_clock, clock_option, machine

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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trained", type=int, default=2000,
                        help="Adam steps before the second measurement (0: skip it)")
    parser.add_argument("--memory", action="store_true", help="also each step's XLA memory")
    clock_option(parser)
    args = parser.parse_args()
    clock = chosen_clock(args)
    game = ring_game()
    h = 1e-3
    y_init = game.init(jax.random.key(0))
    starts = {"init": y_init}
    if args.trained:
        starts[f"after {args.trained} Adam steps"] = gd.simulate(
            game, gd.methods.get("adam"), y_init, h=h, steps=args.trained,
            save_every=args.trained).final
    gmres = lx.GMRES(rtol=1e-6, atol=0.0, max_steps=100, restart=2)
    methods = {
        "adam": gd.methods.get("adam"),
        "cgd (default)": gd.methods.get("cgd"),
        "cgd (lineax GMRES)": gd.CompetitiveGD(gmres, krylov_steps=0),
        "lola": gd.methods.get("lola"),
        "sga": gd.methods.get("sga"),
        "extra-adam": gd.methods.get("extra-adam"),
    }
    print(machine(), "| clock:", "CPU time" if args.cpu_time else "wall")
    for where, y in starts.items():
        runs, counts = {}, {}
        for name, method in methods.items():
            def run(method=method, y=y):
                sol = gd.simulate(game, method, y, h=h, steps=args.steps, save_every=args.steps)
                return jax.block_until_ready(sol)

            sol = run()  # compiles
            runs[name] = run
            if isinstance(method, gd.CompetitiveGD):
                counts[name] = float(sol.method_state) / args.steps
        times = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = clock()
                run()
                times[name].append((clock() - start) / args.steps)
        print(f"\nfrom {where}: median of {args.repeats} rounds of {args.steps} steps; "
              f"{machine()}")
        print(f"{'method':18s} {'ms/step':>8s} {'× Adam':>7s} {'applications':>13s}"
              + (f" {'step MiB':>9s}" if args.memory else ""))
        for name, ts in times.items():
            ratio = statistics.median(a / b for a, b in zip(ts, times["adam"]))
            line = (f"{name:18s} {statistics.median(ts) * 1e3:8.2f} {ratio:7.2f} "
                    f"{counts.get(name, float('nan')):13.2f}")
            if args.memory:
                line += f" {step_memory(game, methods[name], y, h) / 2**20:9.2f}"
            print(line)


if __name__ == "__main__":
    main()

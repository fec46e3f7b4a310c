"""10,000 Dirac-GAN trajectories × 10,000 steps: `gandyn.simulate` against raw JAX.

The minimax-SGAN Dirac-GAN `v = (ψσ(ψθ), −θσ(ψθ))` in float32 from the same initial
points, in the same process, best of `--repeats` runs each, compile time excluded:

- Euler (simultaneous GD) on one device and with the batch sharded over every device
  (`shard_batch`), against a raw-JAX `jit(scan)` (and `shard_map`) of the same steps.
  gandyn also checks every member for divergence at every step (the exact step) and
  observes losses, ‖v‖ and the distance at its saves; the baseline does neither.
- the default `save_every` (1,001 saves) against two saves (first and last);
- classic RK4 against Euler, in gandyn and in raw JAX (four field evaluations a step:
  the floor is about 4×);
- a vectorised NumPy loop, for scale.

    python benchmarks/dirac_euler.py [--trajectories N] [--steps N] [--repeats N]
"""

import argparse

from _common import (
    best_of,
    chosen_clock,
    clock_option,
    machine,
    numpy_euler,
    raw_dirac,
    raw_dirac_sharded,
    use_every_core,
)

use_every_core()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import gandyn as gd  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--h", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=5, help="best of this many runs")
    clock_option(parser)
    args = parser.parse_args()
    n, steps, h = args.trajectories, args.steps, args.h
    best = lambda fn: best_of(fn, args.repeats, chosen_clock(args))  # noqa: E731

    rng = np.random.default_rng(0)
    theta0 = rng.uniform(-2, 2, n).astype(np.float32)
    psi0 = rng.uniform(-2, 2, n).astype(np.float32)
    game = gd.DiracGAN(gd.losses.sgan)
    y0 = game.state(jnp.asarray(theta0), jnp.asarray(psi0))
    sharded_y0 = gd.shard_batch(y0)
    n_dev = len(sharded_y0.generator.sharding.device_set)
    methods = {"euler": gd.SimultaneousGD(), "rk4": gd.Flow(gd.RK4())}

    def ours(method, y, save_every=steps):
        return lambda: jax.block_until_ready(
            gd.simulate(game, methods[method], y, h=h, steps=steps, save_every=save_every))

    times = {}
    for method in methods:
        raw, raw_sharded = raw_dirac(h, steps, method), raw_dirac_sharded(h, steps, method)
        times["raw", method, 1] = best(lambda: jax.block_until_ready(raw(y0.generator, y0.discriminator)))
        times["ours", method, 1] = best(ours(method, y0))
        sg, sd = sharded_y0.generator, sharded_y0.discriminator
        times["raw", method, n_dev] = best(lambda: jax.block_until_ready(raw_sharded(sg, sd)))
        times["ours", method, n_dev] = best(ours(method, sharded_y0))
    default_every = max(1, steps // 1000)
    times["saves"] = best(ours("euler", y0, default_every))
    times["numpy"] = best_of(lambda: numpy_euler(theta0, psi0, np.float32(h), steps), 1)

    # The same numbers: gandyn against the raw loop, and sharded against one device.
    final = gd.simulate(game, methods["euler"], y0, h=h, steps=steps, save_every=steps).final
    raw_theta, _ = raw_dirac(h, steps)(y0.generator, y0.discriminator)
    sharded = gd.simulate(game, methods["euler"], sharded_y0, h=h, steps=steps,
                          save_every=steps).final
    same = bool(np.array_equal(np.asarray(sharded.generator), np.asarray(final.generator)))
    err = float(np.nanmax(np.abs(np.asarray(final.generator) - np.asarray(raw_theta))))

    total = n * steps
    rate = lambda t: f"{total / t:.3g} traj-steps/s"  # noqa: E731
    print(f"Dirac-GAN (minimax SGAN), {n:,} trajectories × {steps:,} steps, h = {h:g}, float32")
    print(machine())
    print(f"best of {args.repeats} runs each, {'CPU' if args.cpu_time else 'wall'} time, "
          "compile time excluded\n")
    print(f"{'':34s}{'gandyn':>10s}{'raw JAX':>10s}{'ratio':>8s}   goal")
    for method, goal in (("euler", {1: 1.2, n_dev: 1.1}), ("rk4", None)):
        for d in sorted({1, n_dev}):
            ours_t, raw_t = times["ours", method, d], times["raw", method, d]
            target = f"≤ {goal[d]}×" if goal else ""
            label = f"{method} {d} device{'s' if d > 1 else ''} ({'shard_map' if d > 1 else 'jit+scan'})"
            print(f"{label:34s}{ours_t:9.3f}s{raw_t:9.3f}s{ours_t / raw_t:7.2f}×   {target}")
    print(f"\nraw JAX Euler: {rate(times['raw', 'euler', 1])} (1 device), "
          f"{rate(times['raw', 'euler', n_dev])} ({n_dev} devices)")
    print(f"gandyn Euler:  {rate(times['ours', 'euler', 1])} (1 device), "
          f"{rate(times['ours', 'euler', n_dev])} ({n_dev} devices)")
    for d in sorted({1, n_dev}):
        print(f"RK4 / Euler, {d} device{'s' if d > 1 else ''}: gandyn "
              f"{times['ours', 'rk4', d] / times['ours', 'euler', d]:.2f}×, raw JAX "
              f"{times['raw', 'rk4', d] / times['raw', 'euler', d]:.2f}×   goal ≤ 5×")
    print(f"saving: {steps // default_every + 1:,} saves (default save_every={default_every}) "
          f"{times['saves']:.3f} s against 2 saves {times['ours', 'euler', 1]:.3f} s: "
          f"{times['saves'] / times['ours', 'euler', 1]:.2f}×   goal ≤ 1.2×")
    print(f"NumPy loop (one run): {times['numpy']:.3f} s, {rate(times['numpy'])}; "
          f"gandyn is {times['numpy'] / times['ours', 'euler', 1]:.1f}× faster on 1 device")
    print(f"\n{n_dev} devices give the same numbers as one: {same}; "
          f"max |θ_gandyn − θ_raw| = {err:.1e} (float32 rounding over {steps:,} steps)")


if __name__ == "__main__":
    main()

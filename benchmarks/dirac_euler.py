"""10,000 Dirac-GAN trajectories × 10,000 Euler steps: `gandyn.simulate` vs NumPy.

Both run the minimax-SGAN Dirac-GAN field `v = (ψσ(ψθ), −θσ(ψθ))` with simultaneous
gradient descent in float32 from the same initial points, in the same process. NumPy's
baseline is a plain vectorised loop over steps (no divergence tracking, no saving);
gandyn additionally checks every member for divergence at every step and saves 101
states. Compile time is reported separately from run time.

It then runs the same simulation with the batch sharded over one CPU device per core
(`gandyn.shard_batch`): the numbers are identical, the work is split across cores.

    python benchmarks/dirac_euler.py [--trajectories N] [--steps N]
"""

import argparse
import time

from _common import numpy_euler, use_every_core


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
    args = parser.parse_args()
    n, steps, h = args.trajectories, args.steps, np.float32(args.h)

    rng = np.random.default_rng(0)
    theta0 = rng.uniform(-2, 2, n).astype(np.float32)
    psi0 = rng.uniform(-2, 2, n).astype(np.float32)

    game = gd.DiracGAN(gd.losses.sgan)
    y0 = game.state(jnp.asarray(theta0), jnp.asarray(psi0))

    def run(y0=y0):
        sol = gd.simulate(game, gd.SimultaneousGD(), y0, h=float(h), steps=steps,
                          save_every=steps // 100)
        return jax.block_until_ready(sol)

    def best(fn):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return min(times), out

    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    jax_time, sol = best(run)
    compile_time = first - jax_time
    numpy_time, (theta, psi) = best(lambda: numpy_euler(theta0, psi0, h, steps))
    sharded_y0 = gd.shard_batch(y0)
    run(sharded_y0)
    sharded_time, sharded = best(lambda: run(sharded_y0))
    same = np.array_equal(np.asarray(sharded.ys.generator), np.asarray(sol.ys.generator))

    err = np.max(np.abs(np.asarray(sol.final.generator) - theta))
    total = n * steps
    print(f"trajectories × steps      {n:,} × {steps:,} (float32, {jax.default_backend()})")
    print(f"best of {args.repeats} runs each")
    print(f"gandyn.simulate           {jax_time:8.3f} s  ({total / jax_time:.3g} trajectory-steps/s)")
    print(f"  compile (first call)    {compile_time:8.3f} s")
    print(f"numpy loop                {numpy_time:8.3f} s  ({total / numpy_time:.3g} trajectory-steps/s)")
    print(f"speed-up (numpy / gandyn) {numpy_time / jax_time:8.2f}×  (one device)")
    n_dev = len(sharded.ys.generator.sharding.device_set)
    print(f"gandyn, {n_dev} devices          {sharded_time:8.3f} s  "
          f"({total / sharded_time:.3g} trajectory-steps/s, identical numbers: {same})")
    print(f"speed-up (numpy / gandyn) {numpy_time / sharded_time:8.2f}×  ({n_dev} devices)")
    print(f"max |θ_gandyn − θ_numpy|  {err:.2e}  (float32 rounding, amplified over the run)")


if __name__ == "__main__":
    main()

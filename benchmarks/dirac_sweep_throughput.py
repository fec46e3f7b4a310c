"""A Dirac-GAN sweep at scale: 1,000,000 trajectories × 1,000 Euler steps, float32.

`gandyn.simulate` runs the trajectories in memory-bounded chunks (each chunk's batch
sharded over every local device: one per CPU core, or each GPU), against a raw-JAX
`shard_map(jit(scan))` of the same Euler steps on the same chunks (no divergence check,
no saving) and a vectorised NumPy loop, in the same run. Reports trajectory-steps per
second and the ratios. Runs unchanged on a GPU machine.

    python benchmarks/dirac_sweep_throughput.py [--trajectories N] [--steps N] [--chunk N]
"""

import argparse
import time

from _common import machine, numpy_euler, raw_dirac_sharded, use_every_core

use_every_core()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import gandyn as gd  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--h", type=float, default=0.01)
    parser.add_argument("--numpy-chunks", type=int, default=2,
                        help="NumPy runs this many chunks; its rate is extrapolated")
    args = parser.parse_args()
    n, steps, chunk = args.trajectories, args.steps, args.chunk
    rng = np.random.default_rng(0)
    theta0 = rng.uniform(-2, 2, n).astype(np.float32)
    psi0 = rng.uniform(-2, 2, n).astype(np.float32)
    game = gd.DiracGAN(gd.losses.sgan)
    starts = range(0, n, chunk)

    def run_chunk(start):
        stop = min(start + chunk, n)
        y0 = gd.shard_batch(game.state(jnp.asarray(theta0[start:stop]), jnp.asarray(psi0[start:stop])))
        sol = gd.simulate(game, gd.SimultaneousGD(), y0, h=args.h, steps=steps, save_every=steps)
        return jax.block_until_ready(sol.status)

    t = time.perf_counter()
    run_chunk(0)
    compile_time = time.perf_counter() - t
    t = time.perf_counter()
    statuses = np.concatenate([np.asarray(run_chunk(s)) for s in starts])
    jax_time = time.perf_counter() - t

    raw = raw_dirac_sharded(args.h, steps)

    def raw_chunk(start):
        stop = min(start + chunk, n)
        y0 = gd.shard_batch((jnp.asarray(theta0[start:stop]), jnp.asarray(psi0[start:stop])))
        return jax.block_until_ready(raw(*y0))

    raw_chunk(0)
    t = time.perf_counter()
    for s in starts:
        raw_chunk(s)
    raw_time = time.perf_counter() - t

    t = time.perf_counter()
    done = 0
    for s in list(starts)[: args.numpy_chunks]:
        stop = min(s + chunk, n)
        numpy_euler(theta0[s:stop], psi0[s:stop], np.float32(args.h), steps)
        done += stop - s
    numpy_time = (time.perf_counter() - t) * n / done

    total = n * steps
    print(f"{n:,} trajectories × {steps:,} Euler steps, float32, chunks of {chunk:,}")
    print(machine())
    print(f"gandyn.simulate   {jax_time:8.2f} s   {total / jax_time:.3g} trajectory-steps/s "
          f"(compile {compile_time:.2f} s, not included)")
    print(f"numpy loop        {numpy_time:8.2f} s   {total / numpy_time:.3g} trajectory-steps/s "
          f"(extrapolated from {done:,} trajectories)")
    print(f"raw JAX           {raw_time:8.2f} s   {total / raw_time:.3g} trajectory-steps/s")
    print(f"gandyn / raw JAX time  {jax_time / raw_time:6.2f}×   (goal ≤ 1.1×)")
    print(f"NumPy / gandyn time    {numpy_time / jax_time:6.2f}×")
    print("statuses:", {gd.Status(int(c)).label: int(k) for c, k in zip(*np.unique(statuses, return_counts=True))})


if __name__ == "__main__":
    main()

"""Shared by the benchmarks: devices, timing, the machine's load, and the baselines
(raw JAX written for the same job, and NumPy) that every ratio is taken against."""

import os
import time


def use_every_core() -> None:
    """One XLA host device per CPU core, so that `shard_batch` can use them all (call
    before importing jax). Without a sharded input, work stays on device 0. A GPU
    machine keeps its GPUs as the devices."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={os.cpu_count() or 1}"


def best_of(fn, repeats: int = 5, clock=time.perf_counter) -> float:
    """Seconds of the fastest of `repeats` calls of `fn` (after one warm-up call);
    `fn` must block until its result is ready. `clock=time.process_time` measures the
    process's CPU time instead of wall time: on a CPU shared with other jobs, the
    steadier measure of the work done (it counts every thread)."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def clock_option(parser) -> None:
    """`--cpu-time`: time by CPU time (see `best_of`)."""
    parser.add_argument("--cpu-time", action="store_true",
                        help="time by the process's CPU time, not wall time (steadier on a "
                             "shared machine; counts every thread)")


def chosen_clock(args):
    return time.process_time if args.cpu_time else time.perf_counter


def machine() -> str:
    """One line: the devices, the CPU count and the load average (the benchmarks run on
    shared machines: a ratio is only comparable with others taken at a similar load)."""
    import jax

    devices = jax.local_devices()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{jax.default_backend()}: {len(devices)} × {devices[0].device_kind}, "
            f"{os.cpu_count()} CPUs, load average {load}")


def numpy_euler(theta, psi, h, steps):
    """Simultaneous GD on the minimax-SGAN Dirac-GAN, `v = (ψσ(ψθ), −θσ(ψθ))`, vectorised."""
    import numpy as np

    for _ in range(steps):
        s = 1.0 / (1.0 + np.exp(-psi * theta))
        theta, psi = theta + h * psi * s, psi - h * theta * s
    return theta, psi


def dirac_field(theta, psi):
    """The minimax-SGAN Dirac-GAN field `v = (ψσ(ψθ), −θσ(ψθ))`, one sigmoid."""
    import jax

    s = jax.nn.sigmoid(psi * theta)
    return psi * s, -theta * s


def raw_dirac(h: float, steps: int, method: str = "euler"):
    """A raw-JAX `jit(scan)` of `steps` Euler or classic RK4 steps of the Dirac-GAN
    from `(θ, ψ)` batches, returning the final state: no saving, no divergence check,
    the limit of JAX on this machine for the job."""
    import jax
    from jax import lax

    def euler(y):
        v = dirac_field(*y)
        return tuple(a + h * b for a, b in zip(y, v))

    def rk4(y):
        shift = lambda k, c: tuple(a + c * b for a, b in zip(y, k))  # noqa: E731
        k1 = dirac_field(*y)
        k2 = dirac_field(*shift(k1, h / 2))
        k3 = dirac_field(*shift(k2, h / 2))
        k4 = dirac_field(*shift(k3, h))
        return tuple(a + h / 6 * (p + 2 * q + 2 * r + s)
                     for a, p, q, r, s in zip(y, k1, k2, k3, k4))

    step = {"euler": euler, "rk4": rk4}[method]

    @jax.jit
    def run(theta, psi):
        return lax.scan(lambda y, _: (step(y), None), (theta, psi), None, length=steps)[0]

    return run


def raw_dirac_sharded(h: float, steps: int, method: str = "euler"):
    """`raw_dirac` under `shard_map` over every local device: each device runs its
    share of the batch (the batch size must divide evenly)."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, PartitionSpec

    mesh = Mesh(np.asarray(jax.local_devices()), ("batch",))
    spec = PartitionSpec("batch")
    inner = raw_dirac(h, steps, method)
    return jax.jit(jax.shard_map(inner, mesh=mesh, in_specs=(spec, spec), out_specs=(spec, spec)))

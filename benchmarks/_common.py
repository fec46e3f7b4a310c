"""Shared by the benchmarks: one XLA host device per core, and the NumPy baseline."""

import os

import numpy as np


def use_every_core() -> None:
    """One XLA host device per CPU core, so that `shard_batch` can use them all (call
    before importing jax). Without a sharded input, work stays on device 0."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={os.cpu_count() or 1}"


def numpy_euler(theta, psi, h, steps):
    """Simultaneous GD on the minimax-SGAN Dirac-GAN, `v = (ψσ(ψθ), −θσ(ψθ))`, vectorised."""
    for _ in range(steps):
        s = 1.0 / (1.0 + np.exp(-psi * theta))
        theta, psi = theta + h * psi * s, psi - h * theta * s
    return theta, psi

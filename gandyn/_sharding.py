"""Spreading a batch of initial conditions over the local devices."""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def shard_batch(tree, devices=None):
    """Place a batch (every leaf's leading axis) across `devices` (default: all local
    devices), so that `simulate` runs each device's share in parallel.

    `jit` partitions the computation to follow the data (GSPMD): nothing else changes
    and the numbers are the same as on one device. The batch is split over the largest
    number of devices that divides its size. On a CPU, start Python with
    `XLA_FLAGS=--xla_force_host_platform_device_count=<cores>` to get one device per
    core; on GPUs/TPUs every local accelerator is a device.
    """
    devices = list(jax.local_devices() if devices is None else devices)
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return tree
    size = np.shape(leaves[0])[0]
    count = max(k for k in range(1, len(devices) + 1) if size % k == 0)
    mesh = Mesh(np.asarray(devices[:count]), ("batch",))
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec("batch")))

"""The coordination service of `jax.distributed`: a barrier and a key-value store,
and nothing else of JAX's multi-process runtime.

`jax.distributed.initialize` starts a coordination service (process 0) and a client in
every process; its heartbeats end every process when one is lost. A sweep needs two of
its services: a *barrier* that may wait for days (processes finish their shares at
different times) and a *key-value store* (process 0 names the sweep folder).

A sweep's processes never exchange arrays: each runs its units on its own devices. So
`join` takes the client (and, in process 0, the service) for gandyn and gives JAX back a
*single-process* runtime before its backend starts. Left multi-process, JAX gives
process `p`'s CPU its global id (`2048 p`), names that device in every compiled
program's persistent-cache key (a CPU key keeps the device assignment), and writes
cache entries from process 0 only (`compiler._cache_write`): every process but the
first compiled every program again, on every run (benchmarks/README.md, issue 40).
Single-process, every worker computes the keys a one-process run computes, reads what
any of them compiled and writes what it compiles: a machine compiles a program once.

JAX has no public function for a barrier or a key-value store.
`jax.experimental.multihost_utils` offers `sync_global_devices` and
`broadcast_one_to_all`, but both run a device collective, whose set-up gives up after
about 30 s of one process waiting for another. Its own preemption helpers reach the
client through the module it imports as `multihost_utils.distributed`; this module
does the same, in one place, so that nothing else in gandyn touches JAX's internals.
`tests/test_distributed_sweep.py` checks that the attributes used here still exist, so
a JAX release that changes them fails the suite instead of a user's sweep.
"""

import atexit
import dataclasses

# A process may wait at the barrier for days while the others finish their shares; one
# that is lost ends the wait sooner, through the runtime's heartbeats.
WAIT_MS = 7 * 24 * 3600 * 1000
CLIENT_METHODS = ("wait_at_barrier", "key_value_set", "blocking_key_value_get", "shutdown")
STATE_FIELDS = ("client", "service", "process_id", "num_processes")
"""The fields of JAX's distributed state that `join` moves out of it."""


@dataclasses.dataclass
class Joined:
    """This process's place in a multi-process run: its coordination `client`, the
    `service` (process 0 only), its index and the process count."""

    client: object
    service: object | None
    process: int
    processes: int


_joined: Joined | None = None


def state():
    """JAX's distributed state (`client` is None until `jax.distributed.initialize`)."""
    from jax.experimental import multihost_utils

    return multihost_utils.distributed.global_state


def join(coordinator: str | None, processes: int | None, process: int | None, *,
         timeout: int) -> Joined:
    """Join the other processes (`jax.distributed.initialize`: from the arguments, or
    a cluster's environment), keep the coordination client and service here and leave
    JAX single-process (see the module's docstring). Must come before JAX's backend
    starts. `timeout` seconds bound reaching the coordinator and noticing a lost
    process (heartbeats)."""
    global _joined
    import jax

    jax.config.update("jax_enable_preemption_service", False)
    jax.distributed.initialize(coordinator, processes, process, initialization_timeout=timeout,
                               heartbeat_timeout_seconds=timeout)
    found = state()
    _joined = Joined(found.client, found.service, found.process_id, found.num_processes)
    found.client, found.service, found.process_id, found.num_processes = None, None, 0, 1
    atexit.register(leave)  # before JAX's own clean-up (atexit runs the last first)
    return _joined


def leave() -> None:
    """Leave the others as `jax.distributed.shutdown` would: the client first (it waits
    at the service's shutdown barrier for every process), then the service."""
    global _joined
    if _joined is None:
        return
    joined, _joined = _joined, None
    joined.client.shutdown()
    if joined.service is not None:
        joined.service.shutdown()


def joined() -> Joined | None:
    """This process's place in a multi-process run, or None when it runs alone."""
    return _joined


def client():
    """The coordination-service client of this process."""
    if _joined is None:
        raise RuntimeError("not joined to other processes (gandyn._coordination.join)")
    return _joined.client


def barrier(name: str) -> None:
    """Wait until every process gets here (as JAX's own checkpointing waits)."""
    client().wait_at_barrier(name, WAIT_MS)


def broadcast_text(text: str | None, key: str) -> str:
    """Process 0's `text` on every process, through the key-value store."""
    found = client()
    if _joined.process == 0:
        found.key_value_set(key, text)
        return text
    return found.blocking_key_value_get(key, WAIT_MS)

"""The coordination service of `jax.distributed`: a barrier and a key-value store.

`jax.distributed.initialize` starts a coordination service (process 0) and a client in
every process; its heartbeats end every process when one is lost. A sweep needs two of
its services: a *barrier* that may wait for days (processes finish their shares at
different times) and a *key-value store* (process 0 names the sweep folder).

JAX has no public function for either. `jax.experimental.multihost_utils` offers
`sync_global_devices` and `broadcast_one_to_all`, but both run a device collective,
whose set-up gives up after about 30 s of one process waiting for another. Its own
preemption helpers reach the client through the module it imports as
`multihost_utils.distributed`; this module does the same, in one place, so that nothing
else in gandyn touches JAX's internals. `tests/test_distributed_sweep.py` checks that
the attributes used here still exist, so a JAX release that changes them fails the
suite instead of a user's sweep.
"""

import jax

# A process may wait at the barrier for days while the others finish their shares; one
# that is lost ends the wait sooner, through the runtime's heartbeats.
WAIT_MS = 7 * 24 * 3600 * 1000
CLIENT_METHODS = ("wait_at_barrier", "key_value_set", "blocking_key_value_get")


def state():
    """JAX's distributed state (`client` is None until `jax.distributed.initialize`)."""
    from jax.experimental import multihost_utils

    return multihost_utils.distributed.global_state


def client():
    """The coordination-service client of this process."""
    found = state().client
    if found is None:
        raise RuntimeError("jax.distributed is not initialized")
    return found


def barrier(name: str) -> None:
    """Wait until every process gets here (as JAX's own checkpointing waits)."""
    client().wait_at_barrier(name, WAIT_MS)


def broadcast_text(text: str | None, key: str) -> str:
    """Process 0's `text` on every process, through the key-value store."""
    found = client()
    if jax.process_index() == 0:
        found.key_value_set(key, text)
        return text
    return found.blocking_key_value_get(key, WAIT_MS)

import functools
import os
import time

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

import gandyn as gd


KEY = jax.random.key(0)


def jacobian(game: gd.AbstractGame, y: gd.Players) -> np.ndarray:
    """Dense Jacobian of the game's field at `y`, on the flattened parameters."""
    flat, unravel = ravel_pytree(y)
    return np.asarray(
        jax.jacfwd(lambda f: ravel_pytree(game.field(unravel(f), KEY))[0])(flat)
    )


def radius2(solution) -> np.ndarray:
    """θ² + ψ² along a Dirac-GAN trajectory."""
    return np.asarray(solution.ys.generator) ** 2 + np.asarray(solution.ys.discriminator) ** 2


class Compilations:
    """Counts XLA compilations (and traces to a jaxpr) while in its `with` block, by
    JAX's monitoring events: `compiled` and `traced` after the block."""

    def __init__(self):
        self.compiled = self.traced = 0

    def _listen(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.compiled += 1
        elif event == "/jax/core/compile/jaxpr_trace_duration":
            self.traced += 1

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._listen)


# ------------------------------------------------------------------ a busy machine

REFERENCE_SECONDS = 0.15
"""The reference step (`_reference_step`) on an idle core of the 2-core machine the
suite's time bounds were set on."""


def _reference_step() -> float:
    start = time.perf_counter()
    sum(i * i for i in range(3_000_000))
    return time.perf_counter() - start


@functools.lru_cache(maxsize=1)
def _measured_slowness() -> float:
    """How much slower than `REFERENCE_SECONDS` the reference step runs, measured once
    per process (the best of three: a pause is not slowness)."""
    return min(_reference_step() for _ in range(3)) / REFERENCE_SECONDS


def slowness() -> float:
    """How much slower this machine is now than the idle one the bounds were set on, at
    least 1: the larger of the reference step's measured slowness and the load average
    per core now (a machine running other jobs gives each process a share of a core)."""
    try:
        load = os.getloadavg()[0] / (len(os.sched_getaffinity(0)) or 1)
    except (AttributeError, OSError):
        load = 1.0
    return max(1.0, _measured_slowness(), load)


def patient(seconds: float) -> float:
    """A time bound of `seconds` on the idle machine, scaled by `slowness()`: for
    timeouts that guard against hangs (a hang is forever; a slow machine is not one)."""
    return seconds * slowness()


def assert_one_line_error(result, *fragments, code=2):
    """A CLI result that failed with exit `code` and one line `Error: …` holding every
    fragment, no traceback or box."""
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text and "╭" not in text, text
    errors = [line for line in text.strip().splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], text

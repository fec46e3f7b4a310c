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

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

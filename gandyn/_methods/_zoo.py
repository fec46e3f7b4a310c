"""Game optimisers from the literature on differentiable games, on any `AbstractGame`."""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._base import AbstractStepMethod, AbstractWrapper
from ._maps import _axpy, optimistic_stability


class HamiltonianGD(AbstractStepMethod):
    r"""Hamiltonian gradient descent (Balduzzi et al. 2018; Loizou et al. 2020,
    arXiv 2007.04202): gradient descent on the Hamiltonian `H = ½‖v‖²`,

        y' = y − h ∇H(y) = y − h Jᵀv(y),

    one vector-Jacobian product per step (no Hessian is formed). Near an equilibrium
    its step matrix is `I − hJᵀJ`: every mode contracts for `0 < h < 2/σ_max(J)²`,
    rotation or not — it converges on the bilinear game where GD spirals out (at the
    price of going to any stationary point, not only equilibria)."""

    def evaluations(self):
        return 2  # the field and one VJP through it

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        v, pullback = jax.vjp(lambda p: game.field(p, key), y)
        (jtv,) = pullback(v)
        return _axpy(-h, jtv, y), state


class ExtrapolationFromThePast(AbstractStepMethod):
    r"""Extrapolation from the past (Gidel et al. 2019, arXiv 1802.10551): extragradient
    with the look-ahead taken with the *previous* look-ahead's field, one field
    evaluation per step,

        ỹ_n = y_n + h v(ỹ_{n−1}),      y_{n+1} = y_n + h v(ỹ_n),      ỹ_{−1} = y_0.

    On a linear field it is optimistic GD's recursion (`y_{n+1} = y_n + 2hv(y_n) −
    hv(y_{n−1})`, shifted by its first step): growth per step is the larger root of
    `ξ² − (1 + 2z)ξ + z`."""

    def evaluations(self):
        return 1

    def stability_function(self):
        return optimistic_stability

    def init(self, game, y0, h, key):
        return game.field(y0, key)

    def step(self, game, y, previous, t, h, key):
        look_ahead = _axpy(h, previous, y)
        v = game.field(look_ahead, key)
        return _axpy(h, v, y), v


class Lookahead(AbstractWrapper):
    r"""Lookahead-minmax (Chavdarova et al. 2021, arXiv 2006.14567): both players take
    `k` steps of `method` (the fast weights), then the slow weights move a fraction
    `alpha` towards them and the fast weights restart there,

        φ ← φ + α(y_k − φ),    y ← φ    (every k steps).

    The averaging of the fast weights' rotation pulls the slow ones towards the
    equilibrium: on the bilinear game GD with lookahead converges for small steps."""

    method: AbstractStepMethod
    k: int = eqx.field(static=True, default=5)
    alpha: float = 0.5

    def __check_init__(self):
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")

    def linear_analysis(self) -> bool:
        # The map repeats every k steps: one step's Jacobian does not describe it
        # (on y' = λy the growth per step is |1 − α + αR(hλ)^k|^{1/k}).
        return False

    def init(self, game, y0, h, key):
        return self._init_with_copy(game, y0, h, key)

    def step(self, game, y, state, t, h, key):
        inner, slow, count = state
        y, inner = self.method.step(game, y, inner, t, h, key)
        count = count + 1
        sync = count % self.k == 0
        moved = jax.tree_util.tree_map(lambda s, f: s + self.alpha * (f - s), slow, y)
        pick = lambda a, b: jax.tree_util.tree_map(lambda u, w: jnp.where(sync, u, w), a, b)  # noqa: E731
        return pick(moved, y), (inner, pick(moved, slow), count)


def NegativeMomentum(beta: float = -0.5, discriminator_steps: int = 1):
    r"""Alternating gradient descent with heavy-ball momentum β < 0 (Gidel et al. 2019,
    arXiv 1807.04740): each player's update is `m ← βm + g`, `x ← x − hm`, in turns.
    Negative momentum damps the rotation that alternating GD only preserves: on the
    bilinear game it converges (their Theorem 3), where β = 0 cycles and β > 0 diverges."""
    import optax

    from ._maps import Optax

    return Optax(optax.sgd(1.0, momentum=beta), alternating=True,
                 discriminator_steps=discriminator_steps, linear=True)


__all__ = ["ExtrapolationFromThePast", "HamiltonianGD", "Lookahead", "NegativeMomentum"]

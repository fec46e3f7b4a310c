"""Game optimisers from the literature on differentiable games, on any `AbstractGame`."""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax import lax

from .._custom_types import Key
from .._games import AbstractGAN, AbstractGame, Players
from .._games._base import _negate
from ._base import AbstractStepMethod, AbstractWrapper
from ._maps import UNIT_SGD, Optax, _axpy, _state_is_floating, optimistic_stability


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
    `ξ² − (1 + 2z)ξ + z`.

    With an optax `optimizer` (unit rate, e.g. `optax.adam(1.0)`) it is Gidel et al.'s
    `PastExtraAdam` (train_pastextraadam.py with `ExtraAdam`'s `extrapolation`/`step`):
    both half-steps are optimizer updates from `y_n` that advance its state, the
    extrapolation's with the stored gradient of the previous look-ahead,

        ỹ_n = y_n − h·u(∇(ỹ_{n−1})),      y_{n+1} = y_n − h·u(∇(ỹ_n)),

    and, as in that code, the first step has no past gradient and does not
    extrapolate (`ỹ_0 = y_0`, the optimizer's state advanced once)."""

    optimizer: optax.GradientTransformation | None = eqx.field(static=True, default=None)

    def evaluations(self):
        return 1

    def stability_function(self):
        return optimistic_stability if self.optimizer is None else None

    def linear_analysis(self) -> bool:
        return self.optimizer is None or _state_is_floating(self.optimizer)

    def init(self, game, y0, h, key):
        if self.optimizer is None:
            return game.field(y0, key)
        gradient = jax.tree_util.tree_map(jnp.zeros_like, y0)
        return self.optimizer.init(y0), gradient, jnp.zeros((), bool)

    def step(self, game, y, previous, t, h, key):
        if self.optimizer is None:
            look_ahead = _axpy(h, previous, y)
            v = game.field(look_ahead, key)
            return _axpy(h, v, y), v
        state, past, started = previous
        updates, advanced = self.optimizer.update(past, state, y)
        pick = lambda a, b: jax.tree_util.tree_map(lambda u, w: jnp.where(started, u, w), a, b)  # noqa: E731
        look_ahead = pick(_axpy(h, updates, y), y)
        state = pick(advanced, state)
        gradient = _negate(game.field(look_ahead, key))
        updates, state = self.optimizer.update(gradient, state, y)
        return _axpy(h, updates, y), (state, gradient, jnp.ones((), bool))


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
    return Optax(optax.sgd(1.0, momentum=beta), alternating=True,
                 discriminator_steps=discriminator_steps, linear=True)


class ExtraOptax(AbstractStepMethod):
    r"""Extragradient with an optax optimizer's update in both half-steps (Gidel et al.
    2019, arXiv 1802.10551, Algorithm 4 "Extra-Adam" with `optax.adam`):

        ỹ = y − h·u(∇(y), s),      s' = s after that update,
        y' = y − h·u(∇(ỹ), s'),     s'' = s' after this one,

    `u` the optimizer's unit-rate update (`optax.adam(1.0)`: `m̂/(√v̂ + ε)`) and
    `∇ = −v` both players' gradients. As in Gidel et al.'s code, the extrapolation
    and the update both advance the optimizer's moments, and the update starts from
    `y`, not `ỹ`. `ExtraOptax(optax.sgd(1.0))` is `Extragradient`. Both evaluations
    see the step's minibatch."""

    optimizer: optax.GradientTransformation = eqx.field(static=True)

    def evaluations(self):
        return 2

    def linear_analysis(self) -> bool:
        return _state_is_floating(self.optimizer)

    def init(self, game, y0, h, key):
        return self.optimizer.init(y0)

    def step(self, game, y, state, t, h, key):
        def move(at, state):
            grad = _negate(game.field(at, key))
            updates, state = self.optimizer.update(grad, state, y)
            return _axpy(h, updates, y), state

        look_ahead, state = move(y, state)
        return move(look_ahead, state)


class _OptimismState(NamedTuple):
    previous: optax.Updates


def _optimism() -> optax.GradientTransformation:
    """`u ↦ 2u − u_prev` with `u_prev = 0` before the first update."""
    def init(params):
        return _OptimismState(jax.tree_util.tree_map(jnp.zeros_like, params))

    def update(updates, state, params=None):
        out = jax.tree_util.tree_map(lambda u, p: 2 * u - p, updates, state.previous)
        return out, _OptimismState(updates)

    return optax.GradientTransformation(init, update)


_FIRST_STEPS = ("optax", "zero-previous")


def OptimisticAdam(b1: float = 0.5, b2: float = 0.999, eps: float = 1e-8,
                   first_step: str = "optax") -> Optax:
    r"""Optimistic Adam (Daskalakis et al. 2018, arXiv 1711.00141, Algorithm 1), each
    player on its own loss, simultaneously: with `u_n = m̂_n/(√v̂_n + ε)`,

        y_{n+1} = y_n − 2h·u_n + h·u_{n−1}     (n ≥ 1).

    The two conventions differ on the first step only:

    - `first_step="optax"` (default): optax's `optimistic_adam_v2` with unit rate,
      `α = β = 1` and plain (not Nesterov) moments, whose first step is `y_1 = y_0 −
      h·u_0`;
    - `first_step="zero-previous"`: the papers' codes (Daskalakis et al.'s
      `optimistic_adam`, Gidel et al.'s `OptimisticAdam` in optim/omd.py) start from a
      zero previous update, `y_1 = y_0 − 2h·u_0`.

    (Gidel et al.'s code adds ε to `√v` before the bias correction, `u = m̂/(√v̂ +
    ε/√(1 − β₂ⁿ))`; at ε = 1e-8 the difference is below float32's.) `β₁ = ½` as
    gandyn's `adam`."""
    if first_step not in _FIRST_STEPS:
        raise ValueError(f"first_step must be one of {', '.join(_FIRST_STEPS)}, got {first_step!r}")
    if first_step == "optax":
        return Optax(optax.optimistic_adam_v2(1.0, alpha=1.0, beta=1.0, b1=b1, b2=b2, eps=eps,
                                              nesterov=False), linear=False)
    return Optax(optax.chain(optax.scale_by_adam(b1=b1, b2=b2, eps=eps), _optimism(),
                             optax.scale(-1.0)), linear=False)


class UnrolledGame(AbstractGame):
    r"""A game seen by a generator that looks `k` discriminator updates ahead (Metz et
    al. 2017, arXiv 1611.02163): player 1's loss is taken after `k` steps of player 2's
    optimizer, differentiated through them,

        L̃_1(x, y) = L_1(x, y_k(x)),
        (u_j, s_{j+1}) = update(∇_y L_2(x, y_j), s_j),    y_{j+1} = y_j + η·u_j,

    from `(y_0, s_0) = (y, opt_state)`, while player 2 keeps its own loss and field.
    `update` is the optax `optimizer` with unit rate (default `optax.sgd(1.0)`: plain
    gradient descent, `y_{j+1} = y_j − η∇_y L_2`); with `optax.adam(1.0)` and the
    discriminator's own moments as `opt_state` the unrolled steps are exactly the
    discriminator's next `k` Adam updates, and the generator's gradient flows through
    the moment estimates too ("In our experiments we unroll Adam", Metz et al. §2.2).
    Every unrolled step sees the same minibatch (`key`); on a GAN the real and fake
    samples are drawn once. The second-order terms come from reverse-mode
    differentiation through the `k` steps (no Hessian is formed). A field adjustment
    of the underlying game (consensus, SGA) applies to player 2's field only (and
    to the unrolled steps)."""

    game: AbstractGame
    rate: jax.Array
    k: int = eqx.field(static=True, default=5)
    optimizer: optax.GradientTransformation | None = eqx.field(static=True, default=None)
    opt_state: optax.OptState | None = None

    def init(self, key: Key | None = None) -> Players:
        return self.game.init(key)

    def equilibrium(self):
        return self.game.equilibrium()

    def coordinates(self):
        return self.game.coordinates()

    def project(self, players):
        return self.game.project(players)

    def _samples_once(self) -> bool:
        return isinstance(self.game, AbstractGAN) and not self.game._adjusts_field()

    def _unroll(self, x, y, gradient):
        optimizer = UNIT_SGD if self.optimizer is None else self.optimizer
        state = optimizer.init(y) if self.opt_state is None else self.opt_state

        def body(_, carry):
            yj, sj = carry
            updates, sj = optimizer.update(gradient(yj), sj, yj)
            return _axpy(self.rate, updates, yj), sj

        return lax.fori_loop(0, self.k, body, (y, state))[0]

    def unroll(self, x, y, key=None):
        """`y_k(x)`: `k` updates of player 2 against a fixed player 1."""
        if self._samples_once():
            real, fake = self.game.samples(Players(x, y), key)
            loss = lambda yj: self.game.losses_on(Players(x, yj), real, fake, key)[1]  # noqa: E731
            return self._unroll(x, y, jax.grad(loss))
        return self._unroll(x, y, lambda yj: _negate(self.game.discriminator_field(Players(x, yj), key)))

    def losses(self, players, key=None):
        x, y = players.generator, players.discriminator
        if self._samples_once():
            real, fake = self.game.samples(players, key)
            both = lambda yj: self.game.losses_on(Players(x, yj), real, fake, key)  # noqa: E731
            ahead = self._unroll(x, y, jax.grad(lambda yj: both(yj)[1]))
            return both(ahead)[0], both(y)[1]
        ahead = self.unroll(x, y, key)
        return self.game.losses(Players(x, ahead), key)[0], self.game.losses(players, key)[1]

    def generator_field(self, players, key=None):
        return self._gradient_field(players, key, "generator")

    def discriminator_field(self, players, key=None):
        return self.game.discriminator_field(players, key)

    def field(self, players, key=None):
        return Players(self.generator_field(players, key),
                       self.discriminator_field(players, key))


_UNROLL_THROUGH = ("optimizer", "gd")


class Unrolled(AbstractWrapper):
    r"""Any step method run on the `UnrolledGame` view of the game (Metz et al. 2017,
    arXiv 1611.02163): the generator's gradient is taken through `k` unrolled
    discriminator updates, the discriminator's is unchanged and it takes its own one
    step. What is unrolled (`through`):

    - `"optimizer"` (the default when `method` is an `Optax`): the discriminator's own
      optimizer with its state — moments and step count as they stand — and its own
      rate `h·discriminator_scale`, as Metz et al. unroll Adam;
    - `"gd"` (the default for any other method): plain gradient descent at `rate`
      (default: the step h), `y_{j+1} = y_j − η∇_y L_2`.

    Every unrolled step sees the step's minibatch. Metz et al. unroll 5 steps to keep
    a GAN from collapsing onto a few modes of a mixture. Cost: `k + 1` discriminator
    gradients and a pass back through them per generator gradient."""

    method: AbstractStepMethod
    k: int = eqx.field(static=True, default=5)
    rate: float | None = None
    through: str | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 0:
            raise ValueError(f"k must be a non-negative integer, got {self.k!r}")
        if self.through is not None and self.through not in _UNROLL_THROUGH:
            raise ValueError(f"through must be one of {', '.join(_UNROLL_THROUGH)}, got {self.through!r}")
        if self._through() == "optimizer":
            if not isinstance(self.method, Optax):
                raise ValueError(f"through='optimizer' unrolls an Optax method's discriminator "
                                 f"optimizer, got a {type(self.method).__name__}; use through='gd'")
            if self.rate is not None:
                raise ValueError("rate applies to through='gd'; through='optimizer' unrolls at the "
                                 "discriminator's own rate h·discriminator_scale")

    def _through(self) -> str:
        if self.through is not None:
            return self.through
        return "optimizer" if isinstance(self.method, Optax) else "gd"

    def evaluations(self):
        inner = self.method.evaluations()
        return None if inner is None else inner * (1 + self.k)

    def linear_analysis(self) -> bool:
        return self.method.linear_analysis()

    def view(self, game: AbstractGame, h, state=None) -> UnrolledGame:
        """The game the wrapped method sees at a step from `state` (the method's)."""
        if self._through() == "optimizer":
            method = self.method
            rate = h * method.discriminator_scale
            d_state = None if state is None else state[1]
            return UnrolledGame(game, rate, self.k, method._discriminator, d_state)
        rate = h if self.rate is None else jnp.asarray(self.rate, dtype=jnp.result_type(h))
        return UnrolledGame(game, rate, self.k)

    def init(self, game, y0, h, key):
        return self.method.init(self.view(game, h), y0, h, key)

    def step(self, game, y, state, t, h, key):
        return self.method.step(self.view(game, h, state), y, state, t, h, key)

    def turns(self):
        return self.method.turns()  # the wrapped method's moves, on the unrolled view


__all__ = ["ExtraOptax", "ExtrapolationFromThePast", "HamiltonianGD", "Lookahead",
           "NegativeMomentum", "OptimisticAdam", "Unrolled", "UnrolledGame"]

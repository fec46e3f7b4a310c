r"""Minibatch noise as an SDE: the stochastic modified equation of a step method.

A step method run on minibatches of `B` examples moves by
`y_{n+1} = Φ_h(y_n; ξ_n)`, `ξ_n` a fresh minibatch. Li, Tai & E (arXiv 1511.06251,
"Stochastic modified equations and adaptive stochastic gradient algorithms", Thms 1
and 3) show that SGD on a loss `f` follows, in the weak sense over a fixed time
`T = n·h`, the Itô SDE

    dY = −∇(f + (h/4)‖∇f‖²) dt + √h Σ(Y)^{1/2} dW,    Σ = Cov_ξ[∇f_ξ] / B,

to `O(h²)` (to `O(h)` with the drift `−∇f` alone), `W` a standard Wiener process,
`t = n·h`. The same expansion holds for any step method on a game: the drift is
the method's modified field (`gd.modified_field`, order 0: `F₀ = d₁`, the plain
field it discretises; order 1: `F₀ + hF₁`, `F₁ = −½J v` for simultaneous GD, which is
Li et al.'s `−(h/4)∇‖∇f‖²` when the game is one player's gradient descent) of the
*expected* field, and the diffusion is `√(h/B)` times a square root of the covariance
of the per-example direction `d₁(y; ξ)` (the joint field `v(y; ξ)` for gradient
descent: both players' gradients on one real sample and one latent draw).

The covariance is estimated matrix-free from a fixed sample of `n` examples
`ξ₁…ξ_n` (one key each, vmapped): with `D = [d₁(y; ξ_i) − d̄]` (dim × n),

    Σ̂ = D Dᵀ / n,    diffusion(y) = √(h/B) · D / √n    (dim × n),

driven by an `n`-dimensional Brownian motion, so no dim × dim matrix is ever formed.
`Σ̂` is exactly the covariance of SGD drawing from those `n` examples; as an estimate
of the population's it has relative error `O(1/√n)`. The drift is the expected field:
a game with quadrature nodes (`GaussianGAN(nodes=K)`) is its own expectation; any
other game's is its field on one larger fixed minibatch (`expected_game`).
"""

import dataclasses
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ._custom_types import Key
from ._games import AbstractGame, Players
from ._methods import AbstractStepMethod
from ._modified import _refuse, modified_field

QUADRATURE_NODES = 4096
"""Quadrature nodes of the expected field of a game that has them (`GaussianGAN`) when
it was given drawing samples (`nodes=None`)."""


def _fields(game) -> set[str]:
    return {f.name for f in dataclasses.fields(game)} if dataclasses.is_dataclass(game) else set()


def with_batch(game: AbstractGame, batch: int) -> AbstractGame:
    """`game` drawing minibatches of `batch` examples from each step's key (its
    `batch_size`; a game with quadrature `nodes` is switched to drawing samples). A
    game without minibatches is a one-line `ValueError`."""
    fields = _fields(game)
    if "batch_size" not in fields:
        raise ValueError(f"{type(game).__name__} draws no minibatches (it has no batch_size); "
                         "a minibatch SDE needs a game whose field averages over examples: "
                         "gaussian, an MLP or convnet GAN")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    changes = {"batch_size": batch}
    if "nodes" in fields:
        changes["nodes"] = None
    return dataclasses.replace(game, **changes)


class _FixedMinibatch(AbstractGame):
    """`game` on the one minibatch of `key`, whatever key it is asked with: a
    deterministic game."""

    game: AbstractGame
    key: Key

    def init(self, key=None):
        return self.game.init(key)

    def losses(self, players, key=None):
        return self.game.losses(players, self.key)

    def field(self, players, key=None):
        return self.game.field(players, self.key)

    def equilibrium(self):
        return self.game.equilibrium()

    def coordinates(self):
        return self.game.coordinates()

    def project(self, players):
        return self.game.project(players)


def expected_game(game: AbstractGame, examples: int, key: Key) -> AbstractGame:
    """A deterministic game whose field is `game`'s expected field: `game` itself if
    it integrates over its noise with quadrature nodes (`GaussianGAN(nodes=K)`), the
    same game with `QUADRATURE_NODES` nodes if it has them but draws samples, else
    `game` on one fixed minibatch of `examples` examples drawn from `key` (a Monte
    Carlo mean, error `O(1/√examples)`)."""
    fields = _fields(game)
    if "nodes" in fields:
        return game if game.nodes is not None else dataclasses.replace(
            game, nodes=QUADRATURE_NODES)
    return _FixedMinibatch(with_batch(game, examples), key)


class SDESolution(eqx.Module):
    """Paths of an SDE (or a step method's iterates) for several seeds: `ts` `(saves,)`,
    `ys` a `Players` whose leaves have shape `(seeds, saves, ...)`."""

    ts: jax.Array
    ys: Players


class MinibatchSDE(eqx.Module):
    r"""The SDE of a step method on minibatches of `batch` examples (module docstring):

        dY = f̃_h(Y) dt + √(h/B) · D(Y)/√n · dW,    W ∈ ℝⁿ,

    `f̃_h` the method's modified field of order `order` on the expected game, `D` the
    centered per-example directions of the fixed sample `keys`. Build it with
    `minibatch_sde`; `drift`, `diffusion` and `covariance` evaluate its parts at a
    state, `solve` integrates it for many seeds, `iterates` runs the method itself on
    fresh minibatches of `batch` for as many seeds, to set beside it."""

    game: AbstractGame  # the expected (deterministic) game of the drift
    sampled: AbstractGame  # the game drawing minibatches of `batch`
    method: AbstractStepMethod
    h: jax.Array
    keys: Key
    batch: int = eqx.field(static=True)
    order: int = eqx.field(static=True)

    def drift(self, y: Players) -> Players:
        """`f̃_h(y)`, the method's modified field of the expected game."""
        return modified_field(self.game, self.method, self.h, self.order)(y)

    def directions(self, y: Players) -> jax.Array:
        """`(n, dim)`: the per-example directions `d₁(y; ξ_i)` (the method's order-0
        field on one example each), flattened as `ravel_pytree(y)`."""
        one = with_batch(self.sampled, 1)
        field = lambda k: ravel_pytree(  # noqa: E731
            modified_field(one, self.method, self.h, 0, key=k)(y))[0]
        return jax.vmap(field)(self.keys)

    def _factor(self, y: Players) -> jax.Array:
        d = self.directions(y)
        return (d - jnp.mean(d, axis=0)).T / math.sqrt(d.shape[0])

    def diffusion(self, y: Players) -> jax.Array:
        """`(dim, n)`: `√(h/B) · D/√n`, whose product with its transpose is
        `h Σ̂ / B`."""
        return jnp.sqrt(self.h / self.batch) * self._factor(y)

    def covariance(self, y: Players) -> jax.Array:
        """`(dim, dim)`: `Σ̂ = D Dᵀ/n`, the per-example covariance of the fixed sample
        (dense: for small games and tests)."""
        g = self._factor(y)
        return g @ g.T

    def terms(self, like: Players, brownian: diffrax.AbstractBrownianPath) -> diffrax.MultiTerm:
        """diffrax terms on the flat state (`ravel_pytree(like)`): drift and diffusion."""
        unravel = ravel_pytree(like)[1]
        drift = lambda t, x, args: ravel_pytree(self.drift(unravel(x)))[0]  # noqa: E731
        noise = lambda t, x, args: self.diffusion(unravel(x))  # noqa: E731
        return diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(noise, brownian))

    def solve(self, y0: Players, *, t1: float, dt: float, seeds: int = 1,
              key: Key | None = None, ts=None, solver: diffrax.AbstractSolver | None = None,
              virtual: bool = False) -> SDESolution:
        r"""`seeds` independent paths from `y0` over `[0, t1]` (`t = n·h`: step `n` of the
        method), Euler–Maruyama by default (`diffrax.Euler` on Itô terms: weak order 1,
        strong order ½) with fixed step `dt`, saved at `ts` (default: `t1`). Each path
        has its own Brownian motion from `key`: an `UnsafeBrownianPath` (each increment
        drawn once, as a fixed-step solve needs; `diffrax.ForwardMode`) or, with
        `virtual`, a `VirtualBrownianTree` (the same path whatever `dt`, for coupled
        comparisons; slower to compile). One jit-compiled program, vmapped over the
        seeds; `t1`, `dt` and `ts` are traced (changing them compiles nothing)."""
        key = jax.random.key(0) if key is None else key
        x0, unravel = ravel_pytree(y0)
        ts = jnp.asarray([t1] if ts is None else ts, x0.dtype)
        steps = int(math.ceil(t1 / dt - 1e-9))
        bound = max(1024, 1 << steps.bit_length())  # a bucket: one program for many dt
        xs = _solve(self, y0, x0, jax.random.split(key, seeds), jnp.asarray(t1, x0.dtype),
                    jnp.asarray(dt, x0.dtype), ts, diffrax.Euler() if solver is None else solver,
                    bound, virtual)
        return SDESolution(ts, jax.vmap(jax.vmap(unravel))(xs))

    def iterates(self, y0: Players, *, steps: int, seeds: int = 1, key: Key | None = None,
                 save_every: int | None = None) -> SDESolution:
        """The method's own iterates on `sampled` (fresh minibatches of `batch`) from
        `y0`, `seeds` independent minibatch streams from `key`, saved every
        `save_every` steps (default: the last step only) at `t = n·h`. A `lax.scan`,
        vmapped over the seeds: the minibatch SGD the SDE models."""
        key = jax.random.key(0) if key is None else key
        save_every = steps if save_every is None else save_every
        if steps % save_every:
            raise ValueError(f"save_every ({save_every}) must divide steps ({steps})")
        xs = _iterate(self.sampled, self.method, y0, self.h, jax.random.split(key, seeds),
                      steps // save_every, save_every)
        ts = self.h * jnp.arange(1, steps // save_every + 1) * save_every
        return SDESolution(ts, xs)


@eqx.filter_jit
def _solve(sde, like, x0, keys, t1, dt, ts, solver, max_steps: int, virtual: bool):
    shape = jax.ShapeDtypeStruct((sde.keys.shape[0],), x0.dtype)
    t0 = jnp.zeros_like(t1)

    def path(key):
        if virtual:
            brownian = diffrax.VirtualBrownianTree(t0, t1, tol=dt / 2, shape=shape, key=key)
            adjoint = diffrax.RecursiveCheckpointAdjoint()
        else:
            brownian = diffrax.UnsafeBrownianPath(shape=shape, key=key)
            adjoint = diffrax.ForwardMode()
        sol = diffrax.diffeqsolve(sde.terms(like, brownian), solver, t0, t1, dt, x0,
                                  saveat=diffrax.SaveAt(ts=ts), max_steps=max_steps,
                                  adjoint=adjoint)
        return sol.ys

    return jax.vmap(path)(keys)


@eqx.filter_jit
def _iterate(game, method, y0, h, keys, saves: int, save_every: int):
    def one(key):
        state = method.init(game, y0, h, key)

        def step(carry, n):
            y, state = carry
            y, state = method.step(game, y, state, n * h, h, jax.random.fold_in(key, n))
            return (game.project(y), state), None

        def block(carry, k):
            carry, _ = jax.lax.scan(step, carry, k * save_every + jnp.arange(save_every))
            return carry, carry[0]

        return jax.lax.scan(block, (y0, state), jnp.arange(saves))[1]

    return jax.vmap(one)(keys)


def minibatch_sde(game: AbstractGame, method: AbstractStepMethod, h, batch: int, *,
                  order: int = 0, examples: int = 256, drift_examples: int = 4096,
                  key: Key | None = None) -> MinibatchSDE:
    r"""The SDE that `method` with step `h` on minibatches of `batch` examples of `game`
    follows in distribution (Li, Tai & E, arXiv 1511.06251, extended to games; module
    docstring):

        dY = f̃_h(Y) dt + √(h/B) Σ̂(Y)^{1/2} dW,

    `f̃_h` the order-`order` modified field of `method` on the expected game (order 0:
    first-order weak approximation; order 1: their second-order SME), `Σ̂` the
    per-example covariance of `examples` fixed examples drawn from `key` (default
    `jax.random.key(0)`), applied matrix-free through the (dim × examples) factor. The
    expected game is `game`'s quadrature where it has one (`GaussianGAN`), else `game`
    on one fixed minibatch of `drift_examples` examples (`expected_game`).
    `game` must draw minibatches (`batch_size`: `GaussianGAN`, `MLPGAN`, `ConvGAN`);
    its loss must average over examples (every stock loss but RaSGAN/RaLSGAN, whose
    terms couple the whole batch) for `Σ̂/B` to be the minibatch covariance."""
    if not isinstance(method, AbstractStepMethod):
        raise _refuse(method, "it has no step map (it solves the flow itself)")
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 2:
        raise ValueError(f"examples must be an integer ≥ 2, got {examples!r}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an integer ≥ 0, got {order!r}")
    if isinstance(drift_examples, bool) or not isinstance(drift_examples, int) \
            or drift_examples < 1:
        raise ValueError(f"drift_examples must be a positive integer, got {drift_examples!r}")
    sampled = with_batch(game, batch)
    key = jax.random.key(0) if key is None else key
    noise_key, drift_key = jax.random.split(key)
    keys = jax.random.split(noise_key, examples)
    return MinibatchSDE(expected_game(game, drift_examples, drift_key), sampled, method,
                        jnp.asarray(h, dtype=float), keys, batch, order)


class StochasticModifiedFlow(AbstractStepMethod):
    r"""The minibatch SDE of a step method (`minibatch_sde`), as a method: each step of
    size `h` integrates `dY = f̃_h dt + √(h/B) Σ̂^{1/2} dW` over time `h` with `substeps`
    Euler–Maruyama steps (diffrax, a Brownian path from the step's key), so `n` steps
    reach `t = n·h` beside the method's own minibatch iterates. The command line's
    `-m sde:NAME --opt batch=B --opt order=k`. `batch = 0` takes the game's own
    `batch_size`; the `examples` of the covariance (and the `drift_examples` of the
    expected field, for a game without quadrature) are drawn once from `sample_seed`.
    Like minibatches, the Brownian increments come from the step's key: the members of
    one `simulate` batch share them (independent paths: `MinibatchSDE.solve`)."""

    method: AbstractStepMethod
    batch: int = eqx.field(static=True, default=0)
    order: int = eqx.field(static=True, default=0)
    examples: int = eqx.field(static=True, default=64)
    drift_examples: int = eqx.field(static=True, default=1024)
    substeps: int = eqx.field(static=True, default=4)
    sample_seed: int = eqx.field(static=True, default=0)

    def __check_init__(self):
        if not isinstance(self.method, AbstractStepMethod):
            raise _refuse(self.method, "it has no step map (it solves the flow itself)")
        for name, low in (("batch", 0), ("order", 0), ("examples", 2), ("drift_examples", 1),
                          ("substeps", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        batch = self.batch or getattr(game, "batch_size", 0)
        sde = minibatch_sde(game, self.method, h, batch or 1, order=self.order,
                            examples=self.examples, drift_examples=self.drift_examples,
                            key=jax.random.key(self.sample_seed))
        x, unravel = ravel_pytree(y)
        zero = jnp.zeros((), x.dtype)
        brownian = diffrax.UnsafeBrownianPath(
            shape=jax.ShapeDtypeStruct((self.examples,), x.dtype), key=key)
        dt = h / self.substeps
        sol = diffrax.diffeqsolve(sde.terms(y, brownian), diffrax.Euler(), zero, h, dt, x,
                                  saveat=diffrax.SaveAt(t1=True),
                                  max_steps=self.substeps + 1, adjoint=diffrax.ForwardMode())
        return unravel(sol.ys[-1]), state

"""`simulate`: the one entry point that runs a method on a game."""

import enum
import functools
import math
import time
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jaxtyping import Array, Bool, Float, Int

from ._custom_types import Key
from ._games import AbstractGame, Players
from ._methods import AbstractMethod, AbstractStepMethod, AdaptiveFlow, carrying_game_state
from ._program_cache import cached_call


class Status(enum.IntEnum):
    """How a trajectory ended.

    - `CONVERGED`: it reached a stationary point (`progress ≤ tol`).
    - `CONVERGING`: still contracting: its envelope shrank by more than `cycle_tol`
      (relative) from the middle to the last third of the run.
    - `CYCLING`: bounded, its envelope unchanged within `cycle_tol`.
    - `DIVERGING`: its envelope grew by more than `cycle_tol`, not yet blown up.
    - `DIVERGED`: a NaN/inf or a parameter beyond `blowup`; `diverged_at` is the step.
    - `STALLED`: (games with a known equilibrium) the field nearly vanishes,
      `‖v‖ < stall_tol·‖y − y*‖`, away from the equilibrium: e.g. the minimax SGAN's
      saturated generator gradient.
    - `MAX_STEPS`: an adaptive solve (`AdaptiveFlow`) used up its `max_steps` before
      the end time (stiff or fast dynamics); its saves after that point are NaN.
    """

    CONVERGED = 0
    CONVERGING = 1
    CYCLING = 2
    DIVERGING = 3
    DIVERGED = 4
    STALLED = 5
    MAX_STEPS = 6

    @property
    def label(self) -> str:
        return self.name.lower()


class Solution(eqx.Module):
    """A simulated trajectory (or a batch of them: every array but `ts` then has a
    leading batch axis).

    **Fields:**
    - `ts`: saved times, `(saves,)`; step `n` is time `n·h`.
    - `steps`: the step index of each saved time, `(saves,)`.
    - `ys`: the saved states, a `Players` whose leaves have a `saves` axis; NaN after
      a divergence.
    - `generator_loss`, `discriminator_loss`, `speed` (`‖v‖`): at the saved states.
    - `distance`: `‖y − y*‖` to the game's known equilibrium, NaN where it has none.
    - `final`: the last state; for a diverged run, the last saved state before the
      divergence.
    - `status`: a `Status` code; `diverged_at`: the step at which it diverged, −1 if not.
    - `rate`: contraction per step of `distance` (or of `speed` where the equilibrium is
      unknown), estimated from the envelope over the last two thirds of the run;
      `< 1` converges, `> 1` diverges, `≈ 1` cycles.
    - `method_state`: the method's state after the last step (optimizer moments, …);
      pass it back with `final` and `start_step` to continue the run exactly.
    """

    ts: Float[Array, " saves"]
    steps: Int[Array, " saves"]
    ys: Players
    generator_loss: Float[Array, "*batch saves"]
    discriminator_loss: Float[Array, "*batch saves"]
    speed: Float[Array, "*batch saves"]
    distance: Float[Array, "*batch saves"]
    final: Players
    status: Int[Array, "*batch"]
    diverged_at: Int[Array, "*batch"]
    rate: Float[Array, "*batch"]
    method_state: object = None

    @property
    def hamiltonian(self) -> Float[Array, "*batch saves"]:
        """The game's Hamiltonian `½‖v‖²` at the saved states (Balduzzi et al. 2018):
        zero exactly at the stationary points, conserved by the flow of a bilinear
        zero-sum game's antisymmetric part, decreased by Hamiltonian GD."""
        return 0.5 * self.speed**2

    def labels(self) -> np.ndarray:
        """The status of each member as a string (`"converged"`, …)."""
        codes = np.asarray(self.status)
        return np.vectorize(lambda c: Status(int(c)).label, otypes=[object])(codes)


def _norm(tree) -> Array:
    """‖tree‖₂ over all its leaves (optax's `tree_norm`)."""
    return optax.tree_utils.tree_norm(tree)


def _is_bad(tree, blowup) -> Bool[Array, ""]:
    """True if any entry is NaN, ±inf or larger than `blowup` in magnitude."""
    # `|x| <= blowup` is False for NaN too: one comparison catches all three.
    ok = [jnp.all(jnp.abs(x) <= blowup) for x in jax.tree_util.tree_leaves(tree)]
    return ~jnp.all(jnp.stack(ok))


def _observe(game: AbstractGame, y: Players, key: Key, equilibrium: Players | None):
    """`(L_G, L_D, ‖v‖, distance)` at one state."""
    generator_loss, discriminator_loss = game.losses(y, key)
    speed = _norm(game.field(y, key))
    if equilibrium is None:
        distance = jnp.full_like(speed, jnp.nan)
    else:
        distance = _norm(jax.tree_util.tree_map(jnp.subtract, y, equilibrium))
    return generator_loss, discriminator_loss, speed, distance


CHUNK_SECONDS = 0.1
"""The compute time a chunk of a run with a `progress` function is sized for: about
the longest a stop that `progress` asks for waits."""

DEFAULT_SAVES = 1024
"""The saves a run with the default `save_every` is compiled for (it uses at most 1,001)."""


def _save_count(steps: int, save_every: int) -> int:
    """Saves of a run: every `save_every` steps from 0, and the last step."""
    return -(-steps // save_every) + 1


def _bucket(n: int) -> int:
    """The size a compiled program is built for when `n` are needed (saves or members):
    a power of two up to 64, then a multiple of a quarter octave (`2^k·{1, 1.25, 1.5,
    1.75}`, at most 25% more than `n`). Every `n` in a bucket shares one program."""
    if n <= 64:
        return 1 << max(n - 1, 0).bit_length()
    quarter = 1 << (n.bit_length() - 3)
    return -(-n // quarter) * quarter


def _saved_steps(steps, save_every, capacity: int):
    """The saved steps `min(k·save_every, steps)`, `k < capacity` (traced `steps` and
    `save_every`; slots past the last save repeat it)."""
    k = jnp.arange(capacity, dtype=jnp.int32)
    return jnp.minimum(k * save_every, steps)


def _thirds(n):
    """The length of the envelope windows (a third of the `n` saves, at least one)."""
    return jnp.maximum(n // 3, 1)


def _window_max(progress, lo, hi):
    """`max(progress[lo:hi])` with traced bounds (NaN propagates, as a slice's max)."""
    k = jnp.arange(progress.shape[-1])
    return jnp.max(jnp.where((k >= lo) & (k < hi), progress, -jnp.inf))


def _envelope_span(saved_steps, n):
    third = _thirds(n)
    return jnp.maximum(saved_steps[n - third] - saved_steps[n - 2 * third], 1)


def _rate(progress, saved_steps, n, diverged_at):
    """Contraction per step of `progress` over its first `n` saves (NaN past a
    divergence).

    Bounded runs: the ratio of the envelopes (maxima) over the last and the middle
    third of the saves, to the power 1/Δsteps; the envelope makes a closed orbit read
    as rate 1 whatever its phase. Diverged runs (and runs whose progress underflowed to
    0): the geometric-mean rate from the first save to the last finite, positive one.
    """
    third = _thirds(n)
    tiny = jnp.finfo(progress.dtype).tiny
    middle = _window_max(progress, n - 2 * third, n - third)
    last = _window_max(progress, n - third, n)
    span = _envelope_span(saved_steps, n)  # differences: unaffected by a start offset
    bounded = jnp.exp((jnp.log(jnp.maximum(last, tiny)) - jnp.log(jnp.maximum(middle, tiny))) / span)
    # Past a divergence, or once the progress underflowed to 0, use the mean rate from
    # the first save to the last one that is finite and positive.
    k = jnp.arange(progress.shape[-1])
    valid = jnp.isfinite(progress) & (progress > 0) & (k < n)
    last_valid = jnp.max(jnp.where(valid, k, 0))
    grown = progress[last_valid] / jnp.maximum(progress[0], tiny)
    elapsed = saved_steps[last_valid] - saved_steps[0]
    growth = grown ** (1.0 / jnp.maximum(elapsed, 1))
    return jnp.where((diverged_at >= 0) | (last == 0), growth, bounded)


def _rate_to_floor(progress, saved_steps, n):
    """Contraction per step from the first save to the first one within 2× of the
    run's final level (the floor a converged run stalls at): the geometric mean
    `(p_k / p_0)^{1/(n_k − n_0)}`."""
    tiny = jnp.finfo(progress.dtype).tiny
    level = 2 * jnp.maximum(progress[n - 1], tiny)
    k = jnp.argmax((progress <= level) & (jnp.arange(progress.shape[-1]) < n))
    elapsed = saved_steps[k] - saved_steps[0]
    ratio = jnp.maximum(progress[k], tiny) / jnp.maximum(progress[0], tiny)
    return jnp.where(elapsed > 0, ratio ** (1.0 / jnp.maximum(elapsed, 1)), 1.0)


def _classify(progress_final, speed_final, rate, span, diverged_at, tol, cycle_tol, stall_tol):
    change = rate**span  # envelope ratio, last third over middle third
    status = jnp.where(
        change > 1 + cycle_tol,
        Status.DIVERGING,
        jnp.where(change < 1 / (1 + cycle_tol), Status.CONVERGING, Status.CYCLING),
    )
    # NaN distance (no known equilibrium) compares False: never stalled.
    status = jnp.where(speed_final < stall_tol * progress_final, Status.STALLED, status)
    status = jnp.where(progress_final <= tol, Status.CONVERGED, status)
    return jnp.where(diverged_at >= 0, Status.DIVERGED, status)


def _batch_size(game: AbstractGame, y0: Players) -> int | None:
    """`None` for a single initial state, else the size of its leading batch axis."""
    template = jax.eval_shape(game.init, jax.random.key(0))
    t_leaves, t_def = jax.tree_util.tree_flatten(template)
    leaves, treedef = jax.tree_util.tree_flatten(y0)
    if treedef != t_def:
        raise ValueError(
            f"y0 has structure {treedef}, but the game's parameters have structure {t_def}"
        )
    shapes = [(jnp.shape(x), t.shape) for x, t in zip(leaves, t_leaves)]
    if all(s == ts for s, ts in shapes):
        return None
    if all(len(s) == len(ts) + 1 and s[1:] == ts for s, ts in shapes):
        sizes = {s[0] for s, _ in shapes}
        if len(sizes) == 1:
            return sizes.pop()
    raise ValueError(
        "y0's leaves must have the game's parameter shapes "
        f"{[ts for _, ts in shapes]}, or those with one leading batch axis; got "
        f"{[s for s, _ in shapes]}"
    )


def simulate(
    game: AbstractGame,
    method: AbstractMethod,
    y0: Players,
    *,
    h: float,
    steps: int,
    save_every: int | None = None,
    key: Key | None = None,
    tol: float = 1e-5,
    cycle_tol: float = 1e-2,
    stall_tol: float = 1e-2,
    blowup: float = 1e6,
    progress: Callable[[int], None] | None = None,
    method_state=None,
    start_step: int = 0,
) -> Solution:
    r"""Run `method` on `game` from `y0` for `steps` steps of size `h`.

    The joint parameters follow the game's vector field `v = (−∇_θ L_G, −∇_ψ L_D)`
    through the method: a discrete training rule (`AbstractStepMethod`, run under
    `lax.scan`) or an adaptive ODE solve (`AdaptiveFlow`, over `[0, steps·h]`).

    **Arguments:**
    - `game`, `method`: what to run and how.
    - `y0`: a `Players` state, or a batch of them (every leaf with one extra leading
      axis); a batch is run in parallel under `vmap` and every output gains that axis.
    - `h`: the step size (learning rate); `steps`: how many steps.
    - `save_every`: save one state in this many steps (default: `⌈steps/1000⌉`, at most
      1,001 saves).
    - `key`: PRNG key for minibatches (default `jax.random.key(0)`): same key, same
      numbers.
    - `tol`: a run whose final distance to equilibrium (or `‖v‖`) is at most `tol` has
      converged; `cycle_tol`: the relative change of the trajectory's envelope over the
      last third of the run below which it counts as cycling; `stall_tol`: the ratio
      `‖v‖ / ‖y − y*‖` below which a run has stalled (see `Status`).
    - `blowup`: a parameter larger than this in magnitude counts as divergence.
    - `progress`: called on the host with the number of steps done (counted from 0, as
      `start_step` is) between compiled chunks of a step method's run: after its first
      step, then after chunks sized to take about `CHUNK_SECONDS` each (the last chunk
      is not reported). An exception it raises stops the run and reaches the caller.
      The programs hold no host callback, so they are kept like any other
      (`_program_cache`, JAX's persistent cache). An adaptive solve runs in one piece
      and never calls it.
    - `method_state`, `start_step`: continue an earlier run: its `final` as `y0`, its
      `method_state`, and the number of steps it had taken (which numbers the steps,
      and so draws the same minibatches as one uninterrupted run would).

    **Compiling:** one program per game structure, method and bucket; `h`, `steps`,
    `save_every`, `start_step`, the starts and gandyn's regularizer weights are traced
    values of it, so changing them compiles nothing. The number of saves and of members
    is padded up to a bucket (`_bucket`: powers of two to 64, then quarter octaves; the
    default `save_every` always fits 1,024 saves) and the padding dropped again. With
    `progress`, a step method's run is three programs instead (the carry before the
    first step, a chunk of steps whose bounds are traced, the summary), which give the
    one-piece program's numbers bit for bit.

    **Returns:** a `Solution`. Divergence is a result (`Status.DIVERGED` with the step
    at which it happened), never an exception.
    """
    if not isinstance(game, AbstractGame):
        raise ValueError(f"game must be an AbstractGame, got {type(game).__name__}")
    if not isinstance(method, AbstractMethod):
        raise ValueError(f"method must be an AbstractMethod, got {type(method).__name__}")
    # A game with state across steps (LeCam's anchors): carried beside the method's.
    method = carrying_game_state(game, method)
    if not (isinstance(h, jax.Array) or (math.isfinite(h) and h > 0)):
        raise ValueError(f"step size h must be positive and finite, got {h}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    steps = int(steps)
    # By default at most 1,001 saves, all in one bucket: any step count, one program.
    capacity = DEFAULT_SAVES if save_every is None else None
    if save_every is None:
        save_every = -(-steps // 1000)
    if int(save_every) != save_every or save_every < 1:
        raise ValueError(f"save_every must be a positive integer, got {save_every}")
    if key is None:
        key = jax.random.key(0)

    batch = _batch_size(game, y0)
    if int(start_step) != start_step or start_step < 0:
        raise ValueError(f"start_step must be a non-negative integer, got {start_step}")
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(y0))
    # What a user changes most is traced, never a reason to compile again: h, the start
    # step, the step count and the save interval (the loops run a traced number of
    # times); the number of saves and of members are padded up to a bucket (`_bucket`),
    # the padding dropped again below.
    game = _traced_weights(game, dtype)
    members = 1 if batch is None else batch
    width = 1 if members == 1 else _bucket(members)
    y0 = _pad_members(y0, batch, width)
    if method_state is not None:
        method_state = _pad_members(method_state, batch, width)
    saves = _save_count(steps, int(save_every))
    h = jnp.asarray(h, dtype) if isinstance(h, jax.Array) else np.asarray(h, dtype)
    args = (game, method, y0, h, key, np.asarray(start_step, np.int32),
            np.asarray(steps, np.int32), np.asarray(save_every, np.int32))
    kwargs = dict(
        capacity=_bucket(saves) if capacity is None else max(capacity, _bucket(saves)),
        tol=tol,
        cycle_tol=cycle_tol,
        stall_tol=stall_tol,
        blowup=blowup,
        method_state=method_state,
    )
    if progress is not None and isinstance(method, AbstractStepMethod):
        solution = _simulate_in_chunks(*args, progress=progress, **kwargs)
    else:
        # A program kept from an earlier run is loaded, not traced (`_program_cache`).
        solution = cached_call(_simulate_program, _simulate, args, kwargs,
                               lambda: _solution_structure(game, method, y0, h, key,
                                                           method_state))
    return _trim(solution, saves, batch)


def _solution_structure(game, method, y0, h, key, method_state):
    """The structure of `_simulate`'s result (its arrays as `jax.ShapeDtypeStruct`,
    their shapes not filled in), found without tracing the run: `ys` and `final` have
    `y0`'s structure, `method_state` that of the method's state (none for an adaptive
    solve)."""
    array = jax.ShapeDtypeStruct((), jnp.float32)
    if isinstance(method, AdaptiveFlow):
        state = None
    elif method_state is not None:
        state = jax.tree_util.tree_map(
            lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)) if eqx.is_array(x)
            else x, method_state)
    else:
        member = jax.tree_util.tree_map(lambda x: x[0], y0)
        state = eqx.filter_eval_shape(method.init, game, member, h, key)
    players = jax.tree_util.tree_map(lambda _: array, y0)
    return Solution(ts=array, steps=array, ys=players, generator_loss=array,
                    discriminator_loss=array, speed=array, distance=array, final=players,
                    status=array, diverged_at=array, rate=array, method_state=state)


def _traced_weights(game: AbstractGame, dtype) -> AbstractGame:
    """The game with its (gandyn) regularizers' weights as arrays: traced by the
    compiled program, so that a new weight does not compile it again. (A Python float
    is a static part of an `eqx.filter_jit` program; gandyn's regularizers all take
    traced weights, as `sweep` passes them. A user's regularizer is left as it is.)"""
    regularizers = getattr(game, "regularizers", None)
    if not regularizers:
        return game

    def traced(reg):
        weight = getattr(reg, "weight", None)
        if type(reg).__module__.startswith("gandyn.") and isinstance(weight, float):
            return eqx.tree_at(lambda r: r.weight, reg, np.asarray(weight, dtype))
        return reg

    return eqx.tree_at(lambda g: g.regularizers, game, tuple(map(traced, regularizers)))


def _traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))


def _pad_members(tree, batch: int | None, width: int):
    """A batch of `width` members: `tree`'s (a single state gains a batch axis of
    one; a batch is padded with copies of its first member). On the host when the
    values are concrete: no program is compiled for it."""
    xp = jnp if _traced(tree) else np

    def pad(x):
        x = xp.asarray(x)
        if batch is None:
            return x[None]
        if width == batch:
            return x
        return xp.concatenate([x, xp.repeat(x[:1], width - batch, axis=0)])

    out = jax.tree_util.tree_map(pad, tree)
    # `device_put`, not `jnp.asarray`: the latter compiles a copy program per shape.
    return out if xp is jnp else jax.tree_util.tree_map(jax.device_put, out)


def _trim(solution: Solution, saves: int, batch: int | None) -> Solution:
    """Drop the padding: saves past `saves`, members past `batch` (or the batch axis
    of a single state). Sliced on the host when concrete: no program per size."""
    xp = jnp if _traced(solution) else np
    members = slice(None) if batch is None else slice(0, batch)
    first = 0 if batch is None else members

    def cut(x, saved):
        x = xp.asarray(x)
        x = x[first] if batch is None else x[members]
        return x[:saves] if saved and batch is None else x[:, :saves] if saved else x

    def leaves(tree, saved):
        out = jax.tree_util.tree_map(lambda x: cut(x, saved), tree)
        return out if xp is jnp else jax.tree_util.tree_map(jax.device_put, out)

    as_array = (lambda x: x) if xp is jnp else jax.device_put
    return Solution(
        ts=as_array(xp.asarray(solution.ts)[:saves]),
        steps=as_array(xp.asarray(solution.steps)[:saves]),
        ys=leaves(solution.ys, True),
        generator_loss=leaves(solution.generator_loss, True),
        discriminator_loss=leaves(solution.discriminator_loss, True),
        speed=leaves(solution.speed, True),
        distance=leaves(solution.distance, True),
        final=leaves(solution.final, False),
        status=leaves(solution.status, False),
        diverged_at=leaves(solution.diverged_at, False),
        rate=leaves(solution.rate, False),
        method_state=leaves(solution.method_state, False),
    )


def _simulate_program(
    game, method, y0, h, key, start, steps, save_every, *, capacity, tol, cycle_tol, stall_tol,
    blowup, method_state,
):
    saved = _saved_steps(steps, save_every, capacity)  # relative to `start`
    n = (steps + save_every - 1) // save_every + 1  # saves in use (the rest is padding)
    drawn = _drive(method, game, y0, saved, n, h, key, blowup, method_state, start)
    return _summary(game, *drawn, saved, n, h, key, start, tol, cycle_tol, stall_tol)


def _summary(game, ys, final, diverged_at, unfinished, final_state, saved, n, h, key, start,
             tol, cycle_tol, stall_tol) -> Solution:
    """The `Solution` of a run from its saved states: the losses, ‖v‖ and the distance
    at each save, the rate and the status."""
    equilibrium = game.equilibrium()
    observe = jax.vmap(jax.vmap(lambda y: _observe(game, y, key, equilibrium)))
    generator_loss, discriminator_loss, speed, distance = observe(ys)
    progress_measure = speed if equilibrium is None else distance
    rate = jax.vmap(lambda p, d: _rate(p, saved, n, d))(progress_measure, diverged_at)
    final_index = n - 1
    status = _classify(
        progress_measure[:, final_index],
        speed[:, final_index],
        rate,
        _envelope_span(saved, n),
        diverged_at,
        tol,
        cycle_tol,
        stall_tol,
    )
    status = jnp.where(unfinished, Status.MAX_STEPS, status)
    # A run that reached the floor: its envelope is flat there (rate 1); report the
    # contraction on the way down instead.
    floor_rate = jax.vmap(lambda p: _rate_to_floor(p, saved, n))(progress_measure)
    rate = jnp.where((status == Status.CONVERGED) & (rate >= 1 - 1e-6), floor_rate, rate)
    return Solution(
        ts=(start + saved).astype(h.dtype) * h,
        steps=start + saved,
        ys=ys,
        generator_loss=generator_loss,
        discriminator_loss=discriminator_loss,
        speed=speed,
        distance=distance,
        final=final,
        status=status,
        diverged_at=diverged_at,
        rate=rate,
        method_state=final_state,
    )


@functools.singledispatch
def _drive(method, game, y0, saved, n, h, key, blowup, state0, start):
    """`(ys, final, diverged_at, unfinished, final_state)` of every member: the driver
    of the method's kind, chosen by its class (a step map under `lax.scan`, an adaptive
    ODE solve); a method of another kind is refused."""
    raise ValueError(f"simulate cannot drive a {type(method).__name__}")


@_drive.register(AbstractStepMethod)
def _drive_steps(method, game, y0, saved, n, h, key, blowup, state0, start):
    ys, final, diverged_at, final_state = _run_steps(
        game, method, y0, saved, n, h, key, blowup, state0, start)
    return ys, final, diverged_at, jnp.zeros_like(diverged_at, dtype=bool), final_state


@_drive.register(AdaptiveFlow)
def _drive_adaptive(method, game, y0, saved, n, h, key, blowup, state0, start):
    ys, final, diverged_at, unfinished = _run_adaptive(game, method, y0, saved, n, h, key,
                                                       blowup, start)
    return ys, final, diverged_at, unfinished, None


def step(game: AbstractGame, method: AbstractStepMethod, y: Players, state, h, key: Key, n):
    """Step `n` of the map (numbered absolutely: time `t = n·h`, key `fold_in(key, n)`),
    then the game's projection: the one step that every loop over a step method takes
    (`simulate`'s, the bifurcation diagram's attractors)."""
    t = n.astype(h.dtype) * h
    y, state = method.step(game, y, state, t, h, jax.random.fold_in(key, n))
    return game.project(y), state


_simulate = eqx.filter_jit(_simulate_program)


def _mask_after_divergence(ys, diverged_at, saved):
    """NaN every saved state at or after the step where its member diverged."""
    gone = (diverged_at[:, None] >= 0) & (saved[None, :] >= diverged_at[:, None])

    def mask(x):
        shape = gone.shape + (1,) * (x.ndim - 2)
        return jnp.where(gone.reshape(shape), jnp.nan, x)

    return jax.tree_util.tree_map(mask, ys)


def _first_carry(game, method, y0, h, key, state0):
    """`(y, state, diverged_at)` before the first step: a batch of one without its batch
    axis (it runs without vmap: a vmapped matmul with a batch axis of size 1 is a
    batched dot_general, markedly slower on CPU than a plain one)."""
    members = jax.tree_util.tree_leaves(y0)[0].shape[0]
    if members == 1:
        y0_core = _squeeze(y0)
        state0 = method.init(game, y0_core, h, key) if state0 is None else _squeeze(state0)
        return y0_core, state0, jnp.asarray(-1, dtype=jnp.int32)
    if state0 is None:
        state0 = jax.vmap(lambda y: method.init(game, y, h, key))(y0)
    return y0, state0, jnp.full((members,), -1, dtype=jnp.int32)


def _squeeze(tree):
    return jax.tree_util.tree_map(lambda x: x[0], tree)


def _steps_between(game, method, h, key, blowup, carry, first, last):
    """`carry` after steps `first … last − 1` (absolute numbers, traced) of every
    member; the first bad step of each is recorded. A diverged member runs on (its saved
    states are masked afterwards): freezing it would cost a select per step."""
    def member_step(y, state, diverged_at, n):
        y, state = step(game, method, y, state, h, key, n)
        newly = (diverged_at < 0) & _is_bad(y, blowup)
        diverged_at = jnp.where(newly, n + 1, diverged_at).astype(jnp.int32)
        return y, state, diverged_at

    single = jnp.ndim(carry[2]) == 0
    batch_step = member_step if single else jax.vmap(member_step, in_axes=(0, 0, 0, None))
    return lax.fori_loop(first, last, lambda m, c: batch_step(*c, m), carry)


def _run_steps(game, method, y0, saved, n, h, key, blowup, state0, start):
    carry = _first_carry(game, method, y0, h, key, state0)

    # Block k runs steps saved[k] … saved[k+1] − 1, a traced count (`save_every`, the
    # last one shorter if need be, none in the padding slots past the n − 1 blocks
    # that are run) and saves its final state.
    def block(carry, k):
        carry = _steps_between(game, method, h, key, blowup, carry, start + saved[k],
                               start + saved[k + 1])
        return carry, carry[0]

    carry, blocks = lax.scan(block, carry, jnp.arange(saved.shape[0] - 1, dtype=jnp.int32))
    return _stacked(y0, blocks, carry, saved, n, start)


def _stacked(y0, blocks, carry, saved, n, start):
    """`(ys, final, diverged_at, final_state)` from the state after each block."""
    _, final_state, diverged_at = carry
    if jnp.ndim(diverged_at) == 0:  # back to a batch of one: (saves, 1, ...) blocks
        expand = lambda tree, axis=0: jax.tree_util.tree_map(  # noqa: E731
            lambda x: jnp.expand_dims(x, axis), tree)
        blocks = expand(blocks, 1)
        final_state, diverged_at = expand(final_state), expand(diverged_at)
    # Stack to (batch, saves, ...): initial state first.
    ys = jax.tree_util.tree_map(
        lambda first, rest: jnp.concatenate([first[None], rest], axis=0).swapaxes(0, 1),
        y0, blocks)
    absolute = start + saved
    ys = _mask_after_divergence(ys, diverged_at, absolute)
    return ys, _last_saved(ys, diverged_at, absolute, n), diverged_at, final_state


# --------------------------------------------------------------------------------------
# A step method's run in chunks, the host between them (`simulate`'s `progress`)


def _begin_program(game, method, y0, h, key, *, capacity, method_state):
    """The run's carry before its first step, and room for the state after each of
    its `capacity − 1` blocks."""
    carry = _first_carry(game, method, y0, h, key, method_state)
    room = jax.tree_util.tree_map(lambda x: jnp.zeros((capacity - 1, *x.shape), x.dtype),
                                  carry[0])
    return carry, room


def _chunk_program(game, method, carry, blocks, h, key, start, steps, save_every, first, last,
                   *, blowup):
    """Steps `first … last − 1` (counted from `start`; traced, as the step count and
    the save interval are: one program for every chunk) continuing `carry`, the state
    after each block they end written into `blocks`. A block cut by a chunk's end is
    written as far as it went and again by the chunk that ends it; the last chunk also
    fills the padding slots past the last block (with the final state, as `lax.scan`
    does in one piece)."""
    capacity = jax.tree_util.tree_leaves(blocks)[0].shape[0] + 1
    saved = _saved_steps(steps, save_every, capacity)
    k0 = first // save_every
    k1 = jnp.where(last >= steps, capacity - 1, (last - 1) // save_every + 1)

    def block(k, state):
        carry, blocks = state
        lo = start + jnp.maximum(saved[k], first)
        hi = start + jnp.minimum(saved[k + 1], last)
        carry = _steps_between(game, method, h, key, blowup, carry, lo, hi)
        blocks = jax.tree_util.tree_map(lambda b, y: b.at[k].set(y), blocks, carry[0])
        return carry, blocks

    return lax.fori_loop(k0, k1, block, (carry, blocks))


def _finish_program(game, y0, blocks, carry, h, key, start, steps, save_every, *, tol,
                    cycle_tol, stall_tol):
    """The `Solution` of a run driven in chunks (as `_simulate_program` gives it)."""
    capacity = jax.tree_util.tree_leaves(blocks)[0].shape[0] + 1
    saved = _saved_steps(steps, save_every, capacity)
    n = (steps + save_every - 1) // save_every + 1
    ys, final, diverged_at, final_state = _stacked(y0, blocks, carry, saved, n, start)
    return _summary(game, ys, final, diverged_at, jnp.zeros_like(diverged_at, dtype=bool),
                    final_state, saved, n, h, key, start, tol, cycle_tol, stall_tol)


_begin = eqx.filter_jit(_begin_program)
_chunk = eqx.filter_jit(_chunk_program)
_finish = eqx.filter_jit(_finish_program)


def _shapes(tree):
    """`tree`'s arrays as `jax.ShapeDtypeStruct` (a `cached_call` structure)."""
    return jax.tree_util.tree_map(
        lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)) if eqx.is_array(x)
        else x, tree)


def _simulate_in_chunks(game, method, y0, h, key, start, steps, save_every, *, capacity, tol,
                        cycle_tol, stall_tol, blowup, method_state, progress) -> Solution:
    """`_simulate_program`'s `Solution`, bit for bit, computed by three programs (the
    carry, a chunk of steps, the summary), each kept like any other; `progress(steps
    done)` is called between chunks. The first chunk is one step (it includes
    compiling, or loading, the programs); each later one is sized from the pace of the
    one before to take about `CHUNK_SECONDS`, growing at most 16-fold a chunk."""
    structure = _solution_structure(game, method, y0, h, key, method_state)
    state = _shapes(structure.method_state)
    array = jax.ShapeDtypeStruct((), jnp.float32)
    players = jax.tree_util.tree_map(lambda _: array, y0)
    carry, blocks = cached_call(
        _begin_program, _begin, (game, method, y0, h, key),
        dict(capacity=capacity, method_state=method_state),
        lambda: ((players, state, array), players))
    total, done, size = int(steps), 0, 1
    while True:
        last = min(done + size, total)
        clock = time.perf_counter()
        carry, blocks = cached_call(
            _chunk_program, _chunk,
            (game, method, carry, blocks, h, key, start, steps, save_every,
             np.asarray(done, np.int32), np.asarray(last, np.int32)), dict(blowup=blowup),
            lambda: _shapes((carry, blocks)))
        jax.block_until_ready((carry, blocks))
        pace = (time.perf_counter() - clock) / (last - done)
        first_chunk, done = done == 0, last
        if done >= total:
            break
        progress(int(start) + done)
        wanted = 16 * size if first_chunk else int(CHUNK_SECONDS / max(pace, 1e-9))
        size = max(1, min(wanted, 16 * size))
    return cached_call(
        _finish_program, _finish, (game, y0, blocks, carry, h, key, start, steps, save_every),
        dict(tol=tol, cycle_tol=cycle_tol, stall_tol=stall_tol), lambda: structure)


def _last_saved(ys, diverged_at, saved, n):
    """Each member's last saved state (of the first `n`) before its divergence (its
    last state if none)."""
    before = (saved[None, :] < jnp.where(diverged_at >= 0, diverged_at, jnp.iinfo(jnp.int32).max)[:, None]) \
        & (jnp.arange(saved.shape[0]) < n)[None, :]
    last = jnp.sum(before, axis=1) - 1
    return jax.tree_util.tree_map(lambda x: x[jnp.arange(x.shape[0]), last], ys)


def _run_adaptive(game, method, y0, saved, n, h, key, blowup, start):
    """Each member's adaptive solve, its divergence step and whether the solver ran
    out of steps (diffrax's `result`, which a divergence also sets: a member counts as
    unfinished only if it did not diverge)."""
    # The field is autonomous: integrate over relative times, number steps absolutely.
    # Padding slots repeat the last time (saved at once, no extra steps).
    ts = saved.astype(h.dtype) * h

    def solve(y):
        solution = method.solve(game, y, ts, h, key)
        return solution.ys, solution.result == diffrax.RESULTS.max_steps_reached

    ys, hit_max = jax.vmap(solve)(y0)
    leaves = jax.tree_util.tree_leaves(ys)
    finite = jnp.all(jnp.stack([jnp.isfinite(x).reshape(x.shape[:2] + (-1,)).all(-1) for x in leaves]), 0)
    small = jnp.all(jnp.stack([(jnp.abs(x) <= blowup).reshape(x.shape[:2] + (-1,)).all(-1) for x in leaves]), 0)
    bad = ~(finite & small)
    first_bad = jnp.argmax(bad, axis=1)
    absolute = start + saved
    # Saves past a max-steps stop are filled with inf by diffrax: not a divergence.
    exploded = bad & ~hit_max[:, None]
    diverged_at = jnp.where(exploded.any(axis=1), absolute[first_bad], -1).astype(jnp.int32)
    ys = _mask_after_divergence(ys, diverged_at, absolute)
    unfinished = hit_max & (diverged_at < 0)
    # Mask the saves the solver never reached.
    ys = jax.tree_util.tree_map(
        lambda x: jnp.where(jnp.reshape(unfinished[:, None] & bad, bad.shape + (1,) * (x.ndim - 2)),
                            jnp.nan, x), ys)
    return ys, _last_saved(ys, jnp.where(unfinished, absolute[first_bad], diverged_at), absolute, n), \
        diverged_at, unfinished

"""`simulate`: the one entry point that runs a method on a game."""

import enum
import math
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
from ._methods import AbstractMethod, AbstractStepMethod, AdaptiveFlow


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


def _save_schedule(steps: int, save_every: int) -> np.ndarray:
    saved = np.arange(0, steps + 1, save_every)
    if saved[-1] != steps:
        saved = np.append(saved, steps)
    return saved


def _envelope_span(saved_steps) -> int:
    n = len(saved_steps)
    third = max(n // 3, 1)
    return max(int(saved_steps[n - third] - saved_steps[n - 2 * third]), 1)


def _rate(progress, saved_steps, diverged_at):
    """Contraction per step of `progress` (NaN past a divergence).

    Bounded runs: the ratio of the envelopes (maxima) over the last and the middle
    third of the saves, to the power 1/Δsteps; the envelope makes a closed orbit read
    as rate 1 whatever its phase. Diverged runs (and runs whose progress underflowed to
    0): the geometric-mean rate from the first save to the last finite, positive one.
    """
    n = progress.shape[-1]
    third = max(n // 3, 1)
    tiny = jnp.finfo(progress.dtype).tiny
    middle = jnp.max(progress[n - 2 * third : n - third])
    last = jnp.max(progress[n - third :])
    span = _envelope_span(saved_steps)  # differences: unaffected by a start offset
    bounded = jnp.exp((jnp.log(jnp.maximum(last, tiny)) - jnp.log(jnp.maximum(middle, tiny))) / span)
    # Past a divergence, or once the progress underflowed to 0, use the mean rate from
    # the first save to the last one that is finite and positive.
    valid = jnp.isfinite(progress) & (progress > 0)
    last_valid = jnp.max(jnp.where(valid, jnp.arange(n), 0))
    grown = progress[last_valid] / jnp.maximum(progress[0], tiny)
    elapsed = jnp.asarray(saved_steps)[last_valid] - saved_steps[0]
    growth = grown ** (1.0 / jnp.maximum(elapsed, 1))
    return jnp.where((diverged_at >= 0) | (last == 0), growth, bounded)


def _rate_to_floor(progress, saved_steps):
    """Contraction per step from the first save to the first one within 2× of the
    run's final level (the floor a converged run stalls at): the geometric mean
    `(p_k / p_0)^{1/(n_k − n_0)}`."""
    tiny = jnp.finfo(progress.dtype).tiny
    level = 2 * jnp.maximum(progress[-1], tiny)
    k = jnp.argmax(progress <= level)
    elapsed = jnp.asarray(saved_steps)[k] - saved_steps[0]
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
    progress_args: tuple = (),
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
    - `save_every`: save one state in this many steps (default: about 1,000 saves).
    - `key`: PRNG key for minibatches (default `jax.random.key(0)`): same key, same
      numbers.
    - `tol`: a run whose final distance to equilibrium (or `‖v‖`) is at most `tol` has
      converged; `cycle_tol`: the relative change of the trajectory's envelope over the
      last third of the run below which it counts as cycling; `stall_tol`: the ratio
      `‖v‖ / ‖y − y*‖` below which a run has stalled (see `Status`).
    - `blowup`: a parameter larger than this in magnitude counts as divergence.
    - `progress`: called with the number of steps done after each saved block (and
      the arrays `progress_args`, traced: one compiled program serves every value);
      an exception it raises stops the run and reaches the caller (wrapped by XLA).
    - `method_state`, `start_step`: continue an earlier run: its `final` as `y0`, its
      `method_state`, and the number of steps it had taken (which numbers the steps,
      and so draws the same minibatches as one uninterrupted run would).

    **Returns:** a `Solution`. Divergence is a result (`Status.DIVERGED` with the step
    at which it happened), never an exception.
    """
    if not isinstance(game, AbstractGame):
        raise ValueError(f"game must be an AbstractGame, got {type(game).__name__}")
    if not isinstance(method, AbstractMethod):
        raise ValueError(f"method must be an AbstractMethod, got {type(method).__name__}")
    if not (isinstance(h, jax.Array) or (math.isfinite(h) and h > 0)):
        raise ValueError(f"step size h must be positive and finite, got {h}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    steps = int(steps)
    if save_every is None:
        save_every = max(1, steps // 1000)
    if int(save_every) != save_every or save_every < 1:
        raise ValueError(f"save_every must be a positive integer, got {save_every}")
    if key is None:
        key = jax.random.key(0)

    batch = _batch_size(game, y0)
    if batch is None:
        y0 = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[None], y0)
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(y0))
    if int(start_step) != start_step or start_step < 0:
        raise ValueError(f"start_step must be a non-negative integer, got {start_step}")
    if method_state is not None and batch is None:
        method_state = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[None], method_state)
    # The schedule is static (it shapes the loops); the start step is traced, so that
    # continuing a run in chunks reuses one compiled program.
    schedule = _save_schedule(steps, int(save_every))
    solution = _simulate(
        game,
        method,
        y0,
        jnp.asarray(h, dtype),
        key,
        jnp.asarray(start_step, jnp.int32),
        saved_steps=tuple(schedule.tolist()),
        tol=tol,
        cycle_tol=cycle_tol,
        stall_tol=stall_tol,
        blowup=blowup,
        progress=progress,
        progress_args=tuple(jnp.asarray(a) for a in progress_args),
        method_state=method_state,
    )
    if batch is None:
        unbatch = lambda x: x[0]  # noqa: E731
        solution = eqx.tree_at(
            lambda s: (
                s.ys,
                s.generator_loss,
                s.discriminator_loss,
                s.speed,
                s.distance,
                s.final,
                s.status,
                s.diverged_at,
                s.rate,
                s.method_state,
            ),
            solution,
            replace_fn=lambda x: jax.tree_util.tree_map(unbatch, x),
        )
    return solution


@eqx.filter_jit
def _simulate(
    game, method, y0, h, key, start, *, saved_steps, tol, cycle_tol, stall_tol, blowup,
    progress, method_state, progress_args=(),
):
    saved = np.asarray(saved_steps)  # relative to `start`
    equilibrium = game.equilibrium()
    if isinstance(method, AdaptiveFlow):
        ys, final, diverged_at, unfinished = _run_adaptive(game, method, y0, saved, h, key, blowup, start)
        final_state = None
    elif isinstance(method, AbstractStepMethod):
        ys, final, diverged_at, final_state = _run_steps(
            game, method, y0, saved, h, key, blowup, progress, method_state, start, progress_args
        )
        unfinished = jnp.zeros_like(diverged_at, dtype=bool)
    else:
        raise ValueError(f"simulate cannot drive a {type(method).__name__}")

    observe = jax.vmap(jax.vmap(lambda y: _observe(game, y, key, equilibrium)))
    generator_loss, discriminator_loss, speed, distance = observe(ys)
    progress_measure = speed if equilibrium is None else distance
    rate = jax.vmap(lambda p, d: _rate(p, saved, d))(progress_measure, diverged_at)
    status = _classify(
        progress_measure[:, -1],
        speed[:, -1],
        rate,
        _envelope_span(saved),
        diverged_at,
        tol,
        cycle_tol,
        stall_tol,
    )
    status = jnp.where(unfinished, Status.MAX_STEPS, status)
    # A run that reached the floor: its envelope is flat there (rate 1); report the
    # contraction on the way down instead.
    floor_rate = jax.vmap(lambda p: _rate_to_floor(p, saved))(progress_measure)
    rate = jnp.where((status == Status.CONVERGED) & (rate >= 1 - 1e-6), floor_rate, rate)
    return Solution(
        ts=(start + jnp.asarray(saved)).astype(h.dtype) * h,
        steps=start + jnp.asarray(saved),
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


def _mask_after_divergence(ys, diverged_at, saved):
    """NaN every saved state at or after the step where its member diverged."""
    gone = (diverged_at[:, None] >= 0) & (jnp.asarray(saved)[None, :] >= diverged_at[:, None])

    def mask(x):
        shape = gone.shape + (1,) * (x.ndim - 2)
        return jnp.where(gone.reshape(shape), jnp.nan, x)

    return jax.tree_util.tree_map(mask, ys)


def _run_steps(game, method, y0, saved, h, key, blowup, progress, state0, start, progress_args=()):
    members = jax.tree_util.tree_leaves(y0)[0].shape[0]
    # A batch of one runs without vmap: a vmapped matmul with a batch axis of size 1
    # is a batched dot_general, markedly slower on CPU than a plain one.
    single = members == 1
    squeeze = lambda tree: jax.tree_util.tree_map(lambda x: x[0], tree)  # noqa: E731
    expand = lambda tree, axis=0: jax.tree_util.tree_map(  # noqa: E731
        lambda x: jnp.expand_dims(x, axis), tree
    )
    if single:
        y0_core = squeeze(y0)
        state0 = method.init(game, y0_core, h, key) if state0 is None else squeeze(state0)
        diverged_at0 = jnp.asarray(-1, dtype=jnp.int32)
    else:
        y0_core = y0
        if state0 is None:
            state0 = jax.vmap(lambda y: method.init(game, y, h, key))(y0)
        diverged_at0 = jnp.full((members,), -1, dtype=jnp.int32)

    def member_step(y, state, diverged_at, n):
        t = n.astype(h.dtype) * h
        y, state = method.step(game, y, state, t, h, jax.random.fold_in(key, n))
        y = game.project(y)
        # Only the first bad step is recorded. A diverged member runs on (its saved
        # states are masked afterwards): freezing it would cost a select per step.
        newly = (diverged_at < 0) & _is_bad(y, blowup)
        diverged_at = jnp.where(newly, n + 1, diverged_at).astype(jnp.int32)
        return y, state, diverged_at

    batch_step = member_step if single else jax.vmap(member_step, in_axes=(0, 0, 0, None))

    def run_block(carry, start, length):
        def body(carry, n):
            return batch_step(*carry, n), None

        carry, _ = lax.scan(body, carry, start + jnp.arange(length, dtype=jnp.int32))
        if progress is not None:
            jax.debug.callback(progress, start + length, *progress_args, ordered=True)
        return carry

    # Saves come every `save_every` steps, with a shorter last block if need be.
    gaps = np.diff(saved)
    carry = (y0_core, state0, diverged_at0)
    blocks = []
    full = gaps[0]
    n_full = int(np.sum(gaps == full))

    def full_block(carry, start):
        carry = run_block(carry, start, int(full))
        return carry, carry[0]

    starts = start + jnp.asarray(saved[:n_full], dtype=jnp.int32)
    carry, ys_full = lax.scan(full_block, carry, starts)
    blocks.append(ys_full)
    if n_full < len(gaps):
        carry = run_block(carry, start + jnp.asarray(saved[n_full], jnp.int32), int(gaps[n_full]))
        blocks.append(jax.tree_util.tree_map(lambda x: x[None], carry[0]))
    _, final_state, diverged_at = carry
    if single:  # back to a batch of one: (saves, 1, ...) blocks, (1, ...) final values
        blocks = [expand(b, 1) for b in blocks]
        final_state, diverged_at = expand(final_state), expand(diverged_at)
    # Stack to (batch, saves, ...): initial state first.
    ys = jax.tree_util.tree_map(
        lambda first, *rest: jnp.concatenate([first[None], *rest], axis=0).swapaxes(0, 1),
        y0,
        *blocks,
    )
    absolute = start + jnp.asarray(saved)
    ys = _mask_after_divergence(ys, diverged_at, absolute)
    return ys, _last_saved(ys, diverged_at, absolute), diverged_at, final_state


def _last_saved(ys, diverged_at, saved):
    """Each member's last saved state before its divergence (its last state if none)."""
    before = jnp.asarray(saved)[None, :] < jnp.where(diverged_at >= 0, diverged_at, jnp.iinfo(jnp.int32).max)[:, None]
    last = jnp.sum(before, axis=1) - 1
    return jax.tree_util.tree_map(lambda x: x[jnp.arange(x.shape[0]), last], ys)


def _run_adaptive(game, method, y0, saved, h, key, blowup, start):
    """Each member's adaptive solve, its divergence step and whether the solver ran
    out of steps (diffrax's `result`, which a divergence also sets: a member counts as
    unfinished only if it did not diverge)."""
    # The field is autonomous: integrate over relative times, number steps absolutely.
    ts = jnp.asarray(saved, h.dtype) * h

    def solve(y):
        solution = method.solve(game, y, ts, h, key)
        return solution.ys, solution.result == diffrax.RESULTS.max_steps_reached

    ys, hit_max = jax.vmap(solve)(y0)
    leaves = jax.tree_util.tree_leaves(ys)
    finite = jnp.all(jnp.stack([jnp.isfinite(x).reshape(x.shape[:2] + (-1,)).all(-1) for x in leaves]), 0)
    small = jnp.all(jnp.stack([(jnp.abs(x) <= blowup).reshape(x.shape[:2] + (-1,)).all(-1) for x in leaves]), 0)
    bad = ~(finite & small)
    first_bad = jnp.argmax(bad, axis=1)
    absolute = start + jnp.asarray(saved)
    # Saves past a max-steps stop are filled with inf by diffrax: not a divergence.
    exploded = bad & ~hit_max[:, None]
    diverged_at = jnp.where(exploded.any(axis=1), absolute[first_bad], -1).astype(jnp.int32)
    ys = _mask_after_divergence(ys, diverged_at, absolute)
    unfinished = hit_max & (diverged_at < 0)
    # Mask the saves the solver never reached.
    ys = jax.tree_util.tree_map(
        lambda x: jnp.where(jnp.reshape(unfinished[:, None] & bad, bad.shape + (1,) * (x.ndim - 2)),
                            jnp.nan, x), ys)
    return ys, _last_saved(ys, jnp.where(unfinished, absolute[first_bad], diverged_at), absolute), \
        diverged_at, unfinished

"""Training a neural game: `simulate` in chunks, with metrics logged between them."""

import dataclasses
import hashlib
import io
import json
import math
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._analysis import top_eigenvalues
from ._budget import check_memory
from ._games import AbstractGame, Players
from ._io import atomic_write, jsonable, read_npz
from ._landscape import rotation_shares
from ._methods import AbstractStepMethod, carrying_game_state
from ._metrics import sample_metrics
from ._program_cache import arrays, kept
from ._recorder import Recorder, record
from ._simulate import _observe as observe, simulate


@dataclasses.dataclass
class TrainState:
    """Everything a run needs to continue exactly where it stopped: every seed's
    parameters and method state (optimizer moments, …) after `step` steps, and what
    was logged so far (the log, the kept samples and parameters of every log point, so
    that the figures of a resumed run show all of it). `save_checkpoint` /
    `load_checkpoint` write and read it as one file."""

    params: Players
    method_state: object
    step: int
    diverged_at: list[int | None]
    history: list[dict]
    eigenvalues: dict[int, list]
    samples: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
    checkpoints: dict[int, Players] = dataclasses.field(default_factory=dict)
    densities: dict[int, dict] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainResult:
    """What a training run logged.

    `history`: one dict per seed and log point (step, seed, losses, ‖v‖, metrics);
    `samples[step]`: generated samples `(seeds, n, *shape)` at each log point;
    `checkpoints[step]`: every seed's parameters there (NumPy, for plots);
    `final`: the parameters of every seed (the last good ones for a diverged seed);
    `diverged_at[seed]`: the step of divergence or None; `eigenvalues[step]`: top
    Jacobian eigenvalues of seed 0 at a few checkpoints; `interrupted`: stopped by
    Ctrl-C (everything logged until then is kept); `steps_done`;
    `densities[step]`: the recorded Hessian spectral densities (`gandyn.Recorder`).
    """

    history: list[dict]
    samples: dict[int, np.ndarray]
    checkpoints: dict[int, Players]
    final: Players
    method_state: object
    diverged_at: list[int | None]
    eigenvalues: dict[int, list]
    interrupted: bool
    steps_done: int
    densities: dict[int, dict] = dataclasses.field(default_factory=dict)

    @property
    def state(self) -> TrainState:
        return TrainState(self.final, self.method_state, self.steps_done, self.diverged_at,
                          self.history, self.eigenvalues, self.samples, self.checkpoints,
                          self.densities)

    def summary(self) -> list[dict]:
        """The last logged row of every seed, with its divergence step and `outcome`."""
        return summary(self)

    @classmethod
    def from_state(cls, state: TrainState, *, interrupted: bool = False) -> "TrainResult":
        """The result a run ended with, from its last checkpoint."""
        return cls(list(state.history), dict(state.samples), dict(state.checkpoints), state.params,
                   state.method_state, list(state.diverged_at), dict(state.eigenvalues), interrupted,
                   state.step, dict(state.densities))


def toy_metrics(game: AbstractGame, *, seed: int = 0, reference: int = 10_000):
    """`samples → sample_metrics(samples, target, reference)` for a toy target, with
    `reference` target samples drawn once from `seed`."""
    ref = np.asarray(game.target.sample(jax.random.fold_in(jax.random.key(seed), 3), reference))
    return lambda samples: sample_metrics(samples, game.target, ref)


def train(
    game: AbstractGame,
    method: AbstractStepMethod,
    *,
    h: float,
    steps: int,
    seeds: int = 1,
    seed: int = 0,
    log_every: int = 500,
    eval_samples: int = 2000,
    eigen_checkpoints: int = 3,
    metrics: Callable[[np.ndarray], dict] | None = None,
    keep_samples: int | None = None,
    keep_checkpoints: bool | int = True,
    rotation_probes: int = 0,
    dynamics: Recorder | None = None,
    resume: TrainState | None = None,
    checkpoint_every: int | None = None,
    on_checkpoint: Callable[[TrainState], None] | None = None,
    on_log: Callable[[int, list[dict], np.ndarray], None] | None = None,
) -> TrainResult:
    """Train `seeds` independent initialisations of `game` at once (`vmap`) with
    `method`, step `h`, for `steps` steps, logging every `log_every` steps the losses,
    `‖v‖` and `metrics(samples)` of `eval_samples` generated samples (same latent draws
    each time; default: `toy_metrics`). `keep_samples` of them (all by default) and,
    with `keep_checkpoints`, the parameters are kept per log point for plots (an
    integer `k ≥ 2`: those of the first log point and of the latest `k − 1`, as
    `gandyn landscape` needs two to compare). With `rotation_probes = m > 0` each row also
    has `rotation_share` (± `rotation_share_se`): the antisymmetric share of the
    Jacobian, `‖A‖²_F/‖J‖²_F`, Hutchinson-estimated from m probes on the step's
    minibatch (`gandyn.rotation_share`; 2m field-sized products per seed). With a
    `dynamics` recorder (`gandyn.Recorder`) its log points also have the game's
    recorded dynamics, `dynamics/max_re_eig_J`, … (`gandyn.record`), on a minibatch
    fixed for the run, and `densities[step]` the players' Hessian spectral densities.

    Every `checkpoint_every` steps `on_checkpoint(state)` receives a `TrainState`;
    `resume=state` continues such a state to `steps` with the same numbers as an
    uninterrupted run. A run whose every seed diverged stops at that point; Ctrl-C
    stops it between two logs and keeps the log. `on_log(step, rows, samples)` sees
    each log point's rows and all evaluation samples. Same `seed`, same numbers."""
    if keep_checkpoints is not True and keep_checkpoints is not False and (
            not isinstance(keep_checkpoints, int) or keep_checkpoints < 2):
        raise ValueError(f"keep_checkpoints must be True, False or an integer ≥ 2, got "
                         f"{keep_checkpoints!r}")
    if steps < 1 or log_every < 1 or (checkpoint_every is not None and checkpoint_every < 1):
        raise ValueError(f"steps, log_every and checkpoint_every must be positive, got {steps}, "
                         f"{log_every} and {checkpoint_every}")
    # Before anything is allocated: a run over the memory budget is refused.
    seeds = seeds if resume is None else len(resume.diverged_at)
    parts = train_memory(game, method, h=h, steps=steps, seeds=seeds, log_every=log_every,
                         eval_samples=eval_samples, keep_samples=keep_samples,
                         keep_checkpoints=keep_checkpoints)
    check_memory(sum(parts.values()), f"training {seeds} seed(s) for {steps:,} steps", parts)
    root = jax.random.key(seed)
    init_key, batch_key, eval_key, dynamics_key = jax.random.split(root, 4)
    sample_key, probe_key = jax.random.split(dynamics_key)
    metrics = toy_metrics(game, seed=seed) if metrics is None else metrics
    sample = lambda generator: _generate(game, generator, eval_key, eval_samples)  # noqa: E731
    eigen_steps = set(np.linspace(0, steps, eigen_checkpoints).astype(int).tolist()) if eigen_checkpoints else set()

    if resume is None:
        y = jax.vmap(game.init)(jax.random.split(init_key, seeds))
        # The method's state from the start: every chunk then runs the same compiled
        # program (one that initialised it itself would be a second, as costly).
        method_state = _init_state(game, method, y, h, batch_key)
        history, eigenvalues, done = [], {}, 0
        samples, checkpoints, densities = {}, {}, {}
        diverged_at: list[int | None] = [None] * seeds
        previous = None  # the parameters at the last recorded point
    else:
        y, method_state, done = resume.params, resume.method_state, resume.step
        history, eigenvalues = list(resume.history), dict(resume.eigenvalues)
        samples, checkpoints = dict(resume.samples), dict(resume.checkpoints)
        densities = dict(resume.densities)
        diverged_at = list(resume.diverged_at)
        seeds = len(diverged_at)
        # Stopped at a recorded point: the same path cosine as an uninterrupted run.
        previous = y if dynamics and done in densities else None
    interrupted = False

    def log(step, generator_loss, discriminator_loss, speed):
        nonlocal previous
        xs = np.asarray(sample(y.generator))
        samples[step] = xs if keep_samples is None else xs[:, :keep_samples]
        if keep_checkpoints:
            checkpoints[step] = jax.tree_util.tree_map(np.asarray, y)
            if keep_checkpoints is not True and len(checkpoints) > keep_checkpoints:
                # A bounded number: the first log point and the latest ones.
                del checkpoints[sorted(checkpoints)[1]]
        rows = []
        if rotation_probes:
            share, share_se = (np.asarray(a) for a in rotation_shares(
                game, y, jax.random.fold_in(batch_key, step), jax.random.fold_in(eval_key, step),
                rotation_probes))
        recorded = None
        if dynamics is not None and dynamics.records(step, log_every, steps) \
                and not all(d is not None for d in diverged_at):
            recorded, densities[step] = record(game, y, previous, sample_key, probe_key, dynamics)
            previous = y
        for s in range(seeds):
            row = {"step": step, "seed": s, "generator_loss": float(generator_loss[s]),
                   "discriminator_loss": float(discriminator_loss[s]), "speed": float(speed[s])}
            if rotation_probes:
                row.update(rotation_share=float(share[s]), rotation_share_se=float(share_se[s]))
            if recorded is not None:
                row.update(recorded[s])
            if diverged_at[s] is None:
                row.update(metrics(xs[s]))
            # Non-finite numbers are logged as None, as JSON writes them (see `_io`).
            rows.append(jsonable(row))
        history.extend(rows)
        if step in eigen_steps or (step == done and done >= steps and eigen_steps):
            seed0 = jax.tree_util.tree_map(lambda x: x[0], y)
            if diverged_at[0] is None:
                eig = top_eigenvalues(game, seed0, k=4, which="magnitude", krylov=30,
                                      key=jax.random.fold_in(batch_key, step))
                eigenvalues[step] = [[float(e.real), float(e.imag)] for e in eig]
        if on_log is not None:
            on_log(step, rows, xs)

    def state():
        return TrainState(y, method_state, done, list(diverged_at), list(history), dict(eigenvalues),
                          dict(samples), dict(checkpoints), dict(densities))

    if resume is None:
        log(0, *_observe(game, y, batch_key))
    try:
        while done < steps and not all(d is not None for d in diverged_at):
            boundaries = [log_every] + ([checkpoint_every] if checkpoint_every else [])
            n = min(min(b - done % b for b in boundaries), steps - done)
            sol = simulate(game, method, y, h=h, steps=n, save_every=n, key=batch_key,
                           method_state=method_state, start_step=done)
            y, method_state = sol.final, sol.method_state
            done += n
            for s, d in enumerate(np.asarray(sol.diverged_at)):
                if d >= 0 and diverged_at[s] is None:
                    diverged_at[s] = int(d)
            if done % log_every == 0 or done == steps or all(d is not None for d in diverged_at):
                log(done, np.asarray(sol.generator_loss)[:, -1], np.asarray(sol.discriminator_loss)[:, -1],
                    np.asarray(sol.speed)[:, -1])
            if on_checkpoint is not None and checkpoint_every and (done % checkpoint_every == 0 or done == steps):
                on_checkpoint(state())
    except KeyboardInterrupt:
        interrupted = True
    return TrainResult(history, samples, checkpoints, y, method_state, diverged_at, eigenvalues,
                       interrupted, done, densities)


def _init_state(game: AbstractGame, method: AbstractStepMethod, y: Players, h: float, key):
    """Every seed's `method.init` state at `y`, as `simulate` would start it (`h` in
    the parameters' dtype, the minibatch `key`)."""
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(y))
    return _vmapped_init(game, carrying_game_state(game, method), y, np.asarray(h, dtype), key)


@eqx.filter_jit
def _vmapped_init(game, method, y, h, key):
    return jax.vmap(lambda p: method.init(game, p, h, key))(y)


def _generate_program(game, generator, key, n: int):
    """`n` samples of every seed's generator, from the same latent draws (`key`): one
    program per game structure, reused by every run (the data are an argument of it,
    not a constant compiled into it)."""
    return jax.vmap(lambda g: game.generate(g, key, n))(generator)


# The log's programs: a later run loads them, untraced (`_program_cache`).
_generate = kept(_generate_program, arrays(1))


def _observe_program(game, y, key):
    """`(L_G, L_D, ‖v‖)` of every seed, as `simulate` observes its saved states."""
    generator_loss, discriminator_loss, speed, _ = jax.vmap(lambda p: observe(game, p, key, None))(y)
    return generator_loss, discriminator_loss, speed


_observe = kept(_observe_program, arrays(3))


def _template(game: AbstractGame, method: AbstractStepMethod, h: float, seeds: int):
    """Shapes and structure of a run's `(params, method_state)`."""
    method = carrying_game_state(game, method)

    def build(key):
        y = jax.vmap(game.init)(jax.random.split(key, seeds))
        return y, jax.vmap(lambda p: method.init(game, p, jnp.asarray(h), key))(y)
    return jax.eval_shape(build, jax.random.key(0))


CHECKPOINT = "checkpoint.npz"
_FORMAT = "gandyn-checkpoint"
_VERSION = 2


def _checkpoint_arrays(state: TrainState) -> tuple[dict[str, np.ndarray], dict]:
    leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves((state.params, state.method_state))]
    arrays = {f"leaf_{i}": x for i, x in enumerate(leaves)}
    for step, x in state.samples.items():
        arrays[f"samples_{step}"] = np.asarray(x)
    snapshot_leaves = 0
    for step, params in state.checkpoints.items():
        for i, x in enumerate(jax.tree_util.tree_leaves(params)):
            arrays[f"params_{step}_{i}"] = np.asarray(x)
            snapshot_leaves = i + 1
    meta = {"format": _FORMAT, "version": _VERSION, "step": state.step,
            "diverged_at": state.diverged_at, "history": state.history,
            "eigenvalues": state.eigenvalues, "leaves": len(leaves),
            "sample_steps": sorted(state.samples), "param_steps": sorted(state.checkpoints),
            "param_leaves": snapshot_leaves,
            "densities": {str(k): v for k, v in state.densities.items()}}
    return arrays, meta


def _digest(arrays: dict[str, np.ndarray], meta_text: str) -> str:
    digest = hashlib.sha256(meta_text.encode())
    for name in sorted(arrays):
        x = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{x.dtype.str}:{x.shape}".encode())
        digest.update(x.tobytes())
    return digest.hexdigest()


def save_checkpoint(directory, state: TrainState) -> None:
    """Write `state` into `directory` as one file, `checkpoint.npz`, atomically (a
    temporary file renamed over the old one): every array, and the log as JSON, with a
    SHA-256 of both that `load_checkpoint` verifies. A crash at any moment leaves the
    previous checkpoint or the new one, never a mix."""
    arrays, meta = _checkpoint_arrays(state)
    meta_text = json.dumps(jsonable(meta), allow_nan=False)
    record = json.dumps({"meta": meta_text, "sha256": _digest(arrays, meta_text)})
    buffer = io.BytesIO()
    np.savez(buffer, _record=np.frombuffer(record.encode(), np.uint8), **arrays)
    atomic_write(Path(directory) / CHECKPOINT, buffer.getvalue())


def _read_checkpoint(path: Path, check=None, max_bytes: int | None = None
                     ) -> tuple[dict, dict[str, np.ndarray]]:
    """`(meta, arrays)` of a checkpoint file, read as untrusted (`read_npz`: sizes and
    headers checked before anything is inflated, `check(name, shape, dtype)` on each
    entry) and its checksum verified before any of it is used."""
    from ._budget import memory_limit

    damaged = f"checkpoint {str(path)!r} is damaged or incomplete"
    arrays = read_npz(path, "checkpoint", max_bytes=memory_limit() if max_bytes is None else max_bytes,
                      check=check)
    try:
        record = json.loads(arrays.pop("_record").tobytes().decode())
        meta_text, expected = record["meta"], record["sha256"]
        meta = json.loads(meta_text)
    except Exception as e:  # noqa: BLE001 - any failure to parse means a bad file
        raise ValueError(f"{damaged} ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{damaged}: not a gandyn checkpoint")
    if meta.get("version") != _VERSION:
        raise ValueError(f"checkpoint {str(path)!r} has format version {meta.get('version')!r}; "
                         f"this gandyn reads version {_VERSION}")
    if not isinstance(expected, str) or _digest(arrays, meta_text) != expected:
        raise ValueError(f"{damaged}: its contents do not match their checksum")
    return meta, arrays


def _is_int(x, low: int = 0, high: int = 2**62) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and low <= x <= high


def _entry_check(template, sample_shape: tuple, seeds: int):
    """`check(name, shape, dtype)` for `read_npz`: what each entry of this run's
    checkpoint must be, from the run's own shapes (known before reading anything)."""
    leaves = jax.tree_util.tree_leaves(template)
    param_leaves = jax.tree_util.tree_leaves(template[0])

    def check(name, shape, dtype):
        parts = name.split("_")
        if name == "_record":
            return None if len(shape) == 1 and dtype == np.uint8 else "is not the checkpoint's record"
        if parts[0] == "leaf" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) < len(leaves):
            want = leaves[int(parts[1])]
        elif parts[0] == "params" and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() \
                and int(parts[2]) < len(param_leaves):
            want = param_leaves[int(parts[2])]
        elif parts[0] == "samples" and len(parts) == 2 and parts[1].isdigit():
            if len(shape) != 2 + len(sample_shape) or shape[0] != seeds or tuple(shape[2:]) != sample_shape:
                return (f"has shape {shape}; the run's samples are ({seeds}, n, "
                        f"{', '.join(map(str, sample_shape))})")
            return None if dtype.kind == "f" else f"has dtype {dtype}; samples are floats"
        else:
            return "is not an array of this run's checkpoint"
        if tuple(shape) != tuple(want.shape):
            return f"has shape {shape}; the run's game, method and seeds give {tuple(want.shape)}"
        if np.dtype(dtype).kind != np.dtype(want.dtype).kind:
            return f"has dtype {dtype}; the run's is {np.dtype(want.dtype)}"
        return None

    return check


def _check_meta(meta: dict, arrays: dict, where: str, seeds: int, leaves: int, param_leaves: int) -> None:
    """The log of a checkpoint (its checksum verified) against its arrays and the run:
    a one-line `ValueError` naming the file and the first thing wrong."""
    def bad(what):
        raise ValueError(f"checkpoint {where} {what}")

    if not _is_int(meta.get("step"), 0, 10**12):
        bad(f"has step {meta.get('step')!r}; expected a whole number of steps")
    if meta.get("leaves") != leaves:
        bad(f"has {meta.get('leaves')!r} arrays of parameters and state; the run's game, method "
            f"and seeds have {leaves}")
    diverged = meta.get("diverged_at")
    if not isinstance(diverged, list) or len(diverged) != seeds \
            or not all(d is None or _is_int(d) for d in diverged):
        bad(f"has diverged_at {str(diverged)[:80]}; expected a list of {seeds} steps or nulls")
    history = meta.get("history")
    if not isinstance(history, list) or not all(isinstance(r, dict) and _is_int(r.get("step"))
                                                and _is_int(r.get("seed"), 0, seeds - 1)
                                                for r in history):
        bad("has a history that is not a list of logged rows (each with its step and seed)")
    eigenvalues = meta.get("eigenvalues")
    if not isinstance(eigenvalues, dict) or not all(
            k.isdigit() and isinstance(v, list) and all(
                isinstance(e, list) and len(e) == 2 and all(isinstance(x, (int, float)) for x in e)
                for e in v) for k, v in eigenvalues.items()):
        bad("has eigenvalues that are not lists of (real, imaginary) pairs by step")
    if not _are_densities(meta.get("densities", {}), seeds):
        bad("has densities that are not the recorder's nodes and weights by step")
    for key in ("sample_steps", "param_steps"):
        listed = meta.get(key)
        if not isinstance(listed, list) or not all(_is_int(s) for s in listed):
            bad(f"has {key} {str(listed)[:80]}; expected a list of steps")
    if meta["param_steps"] and meta.get("param_leaves") != param_leaves:
        bad(f"has param_leaves {meta.get('param_leaves')!r}; the run's parameters have {param_leaves}")
    expected = {f"leaf_{i}" for i in range(leaves)}
    expected |= {f"samples_{s}" for s in meta["sample_steps"]}
    expected |= {f"params_{s}_{i}" for s in meta["param_steps"] for i in range(param_leaves)}
    missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
    if missing:
        bad(f"lists array {missing[0]!r} but does not hold it")
    if extra:
        bad(f"holds array {extra[0]!r} that its log does not list")


def _are_densities(densities, seeds: int) -> bool:
    """Whether `densities` is `{step: {"G" | "D": {"nodes", "weights": seeds lists of
    numbers}}}`, as `record` writes them."""
    def numbers(x):
        return isinstance(x, list) and len(x) == seeds and all(
            isinstance(s, list) and all(isinstance(v, (int, float)) for v in s) for s in x)

    return isinstance(densities, dict) and all(
        isinstance(k, str) and k.isdigit() and isinstance(v, dict) and set(v) == {"G", "D"}
        and all(isinstance(p, dict) and set(p) == {"nodes", "weights"} and numbers(p["nodes"])
                and numbers(p["weights"]) for p in v.values())
        for k, v in densities.items())


def load_checkpoint(directory, game: AbstractGame, method: AbstractStepMethod, *, h: float,
                    seeds: int) -> TrainState:
    """The `TrainState` that `save_checkpoint` wrote for this game, method and seeds.
    The file is untrusted: every entry's size, dtype and shape is checked against the
    run's own before it is read, the checksum before anything is used, then the log
    against the arrays. Raises a one-line `ValueError` naming the file for a missing,
    damaged, foreign or mismatched checkpoint."""
    path = Path(directory) / CHECKPOINT
    where = repr(str(path))
    template = _template(game, method, h, seeds)
    leaves, treedef = jax.tree_util.tree_flatten(template)
    param_def = jax.tree_util.tree_structure(template[0])
    param_count = param_def.num_leaves
    meta, arrays = _read_checkpoint(path, _entry_check(template, _sample_shape(game, template), seeds))
    _check_meta(meta, arrays, where, seeds, len(leaves), param_count)
    params, method_state = jax.tree_util.tree_unflatten(
        treedef, [jnp.asarray(arrays[f"leaf_{i}"], t.dtype) for i, t in enumerate(leaves)])
    checkpoints = {
        step: jax.tree_util.tree_unflatten(param_def, [arrays[f"params_{step}_{i}"]
                                                       for i in range(param_count)])
        for step in meta["param_steps"]
    }
    return TrainState(params, method_state, meta["step"], list(meta["diverged_at"]),
                      list(meta["history"]), {int(k): v for k, v in meta["eigenvalues"].items()},
                      {s: arrays[f"samples_{s}"] for s in meta["sample_steps"]}, checkpoints,
                      {int(k): v for k, v in meta.get("densities", {}).items()})


def _sample_shape(game: AbstractGame, template) -> tuple:
    """The shape of one generated sample (without building anything)."""
    if not hasattr(game, "generate"):
        return ()
    generator = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype),
                                       template[0].generator)
    out = jax.eval_shape(lambda g: game.generate(g, jax.random.key(0), 1), generator)
    return tuple(out.shape[1:])


def _nbytes(tree) -> int:
    return sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree_util.tree_leaves(tree))


def train_memory(game: AbstractGame, method: AbstractStepMethod, *, h: float, steps: int,
                 seeds: int = 1, log_every: int = 500, eval_samples: int = 2000,
                 keep_samples: int | None = None, keep_checkpoints: bool | int = True) -> dict[str, int]:
    """An estimate, in bytes, of what `train` with these arguments holds at once, by
    part, from the shapes alone (nothing is allocated): the parameters of every seed and
    a working copy for their gradients and update (×3), the method's state (optimizer
    moments), a minibatch's intermediate values (`game.working_bytes()` per seed), the
    evaluation samples, and per log point the kept samples and parameters."""
    template = _template(game, method, h, seeds)
    params, state = _nbytes(template[0]), _nbytes(template[1])
    logs = min(steps, 10**9) // log_every + 2
    sample = math.prod(_sample_shape(game, template)) * 4
    kept = eval_samples if keep_samples is None else min(keep_samples, eval_samples)
    working = getattr(game, "working_bytes", lambda: 0)()
    return {"parameters": 3 * params, "optimizer state": state,
            "minibatches": seeds * working, "evaluation samples": 2 * seeds * eval_samples * sample,
            "kept samples": logs * seeds * kept * sample,
            "kept parameters": (logs if keep_checkpoints is True else min(logs, keep_checkpoints))
                               * params if keep_checkpoints else 0}


def outcome(row: dict, diverged_at: int | None = None) -> str:
    """How one seed's run ended, from its last logged metrics: `"diverged"`, `"failed"`
    (non-finite samples, or at most one of several modes / classes covered),
    `"partial"` (some modes or classes missing) or `"trained"`."""
    if diverged_at is not None:
        return "diverged"
    if row.get("finite") is False:
        return "failed"
    for covered, total in (("modes", "modes_total"), ("classes_covered", "classes_total")):
        if row.get(covered) is not None and row.get(total):
            if row[covered] == 0 or (row[total] > 1 and row[covered] <= 1):
                return "failed"
            if row[covered] < row[total]:
                return "partial"
    return "trained"


def summary(result: TrainResult) -> list[dict]:
    """The last logged row of every seed, with its divergence step and `outcome`."""
    last = {}
    for row in result.history:
        last[row["seed"]] = row
    return [{**last[s], "diverged_at": result.diverged_at[s],
             "status": outcome(last[s], result.diverged_at[s])} for s in sorted(last)]


def finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)

"""Programs kept across runs (`gandyn._program_cache`): a second run loads the exported
program instead of tracing it, and computes the same numbers bit for bit; a damaged,
cut-short, special or forged entry is ignored (the program is traced again)."""

import os
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gandyn as gd
from gandyn import _program_cache as pc, _simulate, _train
from gandyn._analysis import amplifications


def _run():
    """A tiny Dirac-GAN run: 3 starts, 40 steps of simultaneous GD."""
    game = gd.games.get("dirac", loss=gd.losses.get("wgan"))
    y0 = gd.Players(generator=np.array([1.0, 0.5, -0.3]), discriminator=np.array([0.2, -1.0, 0.7]))
    return gd.simulate(game, gd.methods.get("simgd"), y0, h=0.1, steps=40)


def _arrays(solution) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(solution)]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def reference():
    """The run with the program cache off: what every cached run must reproduce."""
    pc.disable()
    return _arrays(_run())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The program cache on, in a fresh folder; counts of the programs traced and
    exported, and of those run the usual way (`eqx.filter_jit`: neither when an entry
    is loaded)."""
    calls = []
    real = pc._export

    def counting(*args):
        calls.append(1)
        return real(*args)

    traced = []
    jitted = _simulate._simulate

    def tracing(*args, **kwargs):
        traced.append(1)
        return jitted(*args, **kwargs)

    monkeypatch.setattr(pc, "_export", counting)
    monkeypatch.setattr(_simulate, "_simulate", tracing)
    pc.enable(tmp_path)
    yield tmp_path, calls, traced
    pc.disable()


def _entries(folder):
    return sorted(folder.glob("*.jaxexp"))


def _forget():
    """As a new process: nothing loaded in memory."""
    pc._loaded.clear()
    pc._refused.clear()


def test_second_run_loads_and_matches(cache, reference):
    folder, exports, traced = cache
    first = _arrays(_run())
    assert len(exports) == 1 and len(_entries(folder)) == 1 and not traced
    _forget()
    second = _arrays(_run())
    assert len(exports) == 1 and not traced, "the second run traced its program"
    assert _same(first, second)
    assert _same(first, reference), "the exported program computes other numbers"


def test_grids_load_their_program_on_a_second_run(cache, tmp_path):
    """The one grid runner (`_grid.run_grid`), behind `simulate` and `portrait`
    (`game_grid`: two losses, one program) and `sweep` (one program per group): a second
    identical run, as a new process, loads both programs, traces nothing and gives the
    same numbers."""
    from gandyn._grid import game_grid
    from gandyn.sweeps import SweepSpec, run_sweep

    folder, exports, traced = cache
    sweep = SweepSpec(losses=("sgan", "wgan"), regularizers=("r1=0.5",), methods=("simgd",),
                      step_sizes=(0.1, 0.3), seeds=(0, 1), steps=40)
    run = gd.RunSpec(game="dirac", losses=("nsgan", "wgan"), regularizers=("r1=0.3",),
                     methods=("altgd",), step=0.1, steps=40, random_inits=2, seed=3)
    games = run.games()

    def both(name):
        rows = run_sweep(sweep, tmp_path / name)
        grid = game_grid(games, run.methods_built(), run.points(games[0][1]), h=run.step,
                         steps=run.steps, seed=run.seed)
        assert len(grid) == 2
        return rows, [_arrays(solution) for *_, solution in grid]

    first = both("first")
    assert len(exports) == len(_entries(folder)) == 2 and traced
    _forget()
    traced.clear()
    second = both("second")
    assert len(exports) == 2 and not traced, "the second run traced a grid's program"
    assert first[0] == second[0]
    assert all(_same(a, b) for a, b in zip(first[1], second[1]))


def test_the_explorers_trajectory_programs_are_kept_and_loaded(cache, monkeypatch):
    """`gandyn explore` runs a request's steps in compiled chunks with its budget
    checked on the host between them: its programs (the carry, a chunk of steps, the
    summary) hold no host callback, so they are exported and kept, none refused; in a
    new process they are loaded, none traced, and give the same trajectories bit for
    bit."""
    from gandyn._explore import _compute

    folder, exports, _ = cache
    request = _compute.parse({"game": ["dirac"], "loss": ["sgan"], "steps": ["300"],
                              "point": ["1,1", "0.5,-0.2"]})
    explorer = _compute.Explorer()

    def trajectories():
        with explorer.budget():
            return _arrays(explorer.solve(request)[0])

    first = trajectories()
    assert len(exports) == len(_entries(folder)) == 3 and not list(folder.glob("*.refused"))
    _forget()
    for name in ("_begin", "_chunk", "_finish"):
        monkeypatch.setattr(_simulate, name, lambda *a, **k: pytest.fail("traced again"))
    assert _same(trajectories(), first) and len(exports) == 3


def _leaves():
    """The array arguments of `_run`'s program, as `_load` is given them."""
    seen = []
    real = pc.program_key

    def spy(function, static, leaves):
        seen.append(leaves)
        return real(function, static, leaves)

    pc.program_key = spy
    try:
        _run()
    finally:
        pc.program_key = real
    return seen[-1]


DAMAGES = ["truncate", "flip", "empty", "huge", "directory", "other-key", "garbage"]


def test_damaged_entries_are_ignored(cache, reference):
    """Each damage makes `_load` give nothing (the same entry intact loads); with a FIFO
    in its place, a run neither blocks nor uses it: it traces again, to the same numbers."""
    import hashlib

    folder, exports, traced = cache
    leaves = _leaves()
    (entry,) = _entries(folder)
    key, content = entry.stem, entry.read_bytes()
    assert pc._load(key, leaves) is not None
    header = len(pc.MAGIC) + 65
    for damage in DAMAGES:
        entry.rmdir() if entry.is_dir() else entry.unlink()
        if damage == "truncate":
            entry.write_bytes(content[: len(content) // 2])
        elif damage == "flip":
            entry.write_bytes(content[:-100] + bytes([content[-100] ^ 0xFF]) + content[-99:])
        elif damage == "empty":
            entry.write_bytes(b"")
        elif damage == "huge":
            with open(entry, "wb") as f:
                f.truncate(pc.MAX_BYTES + 1)  # sparse: costs no disk
        elif damage == "directory":
            entry.mkdir()
        elif damage == "other-key":  # a sound entry of another key: its header names that key
            entry.write_bytes(content.replace(key.encode(), b"0" * 64, 1))
        else:  # a sound header and digest over a payload that is no flatbuffer
            payload = bytes(range(256)) * 40
            entry.write_bytes(content[:header] + hashlib.sha256(payload).hexdigest().encode()
                              + b"\n" + payload)
        assert pc._load(key, leaves) is None, damage
    entry.unlink()
    os.mkfifo(entry)  # a plain open() would block on it forever
    assert pc._load(key, leaves) is None
    _forget()
    again = _arrays(_run())
    assert len(exports) == 2 and not traced and _same(again, reference)
    assert entry.is_file()  # written anew, atomically, over the FIFO


def test_entries_that_could_run_code_are_refused(cache, monkeypatch):
    """A program with a disabled safety check (the only way an export can hold a host
    callback), or with a custom call outside the data-only set, is not loaded, though
    its header and digest are sound."""
    import hashlib

    from jax import export

    folder = cache[0]
    arguments = [jax.ShapeDtypeStruct((2, 2), np.float64)]
    unchecked = export.export(jax.jit(lambda x: x + 1), disabled_checks=[
        export.DisabledSafetyCheck.custom_call("xla_ffi_python_cpu_callback")])(*arguments)
    payload = bytes(unchecked.serialize())
    key = "ab" * 32
    (folder / f"{key}.jaxexp").write_bytes(
        pc.MAGIC + key.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n"
        + payload)
    assert pc._load(key, [np.zeros((2, 2))]) is None
    # Without the disabled check it loads: the refusal is the check's.
    plain = export.export(jax.jit(lambda x: x + 1))(*arguments)
    assert pc._sound(plain, [np.zeros((2, 2))])
    assert not pc._sound(plain, [np.zeros(3)])  # and only for the arguments it takes
    # A LAPACK custom call is data-only; outside the allowed set, refused.
    solve = export.export(jax.jit(jnp.linalg.eigh))(*arguments)
    assert "custom_call" in solve.mlir_module() and pc._sound(solve, [np.zeros((2, 2))])
    monkeypatch.setattr(pc, "_SAFE_TARGETS", re.compile("none"))
    assert not pc._sound(solve, [np.zeros((2, 2))])


def test_keys_follow_what_determines_the_program():
    """Equal arguments, equal keys; another loss, option, dtype or shape, another key;
    code that cannot be named (a closure) is not cached at all."""
    def key(game, y):
        dynamic, static = eqx.partition(((game, y), {}), eqx.is_array)
        return pc.program_key(_simulate._simulate_program, static,
                              jax.tree_util.tree_leaves(dynamic))

    y = np.zeros(4)
    dirac = gd.games.get("dirac", loss=gd.losses.get("wgan"))
    assert key(dirac, y) == key(gd.games.get("dirac", loss=gd.losses.get("wgan")), y)
    assert key(dirac, y) != key(gd.games.get("dirac", loss=gd.losses.get("nsgan")), y)
    assert key(dirac, y) != key(gd.games.get("dirac", loss=gd.losses.get("wgan"),
                                             real_point=0.5), y)
    assert key(dirac, y) != key(dirac, y.astype(np.float32))
    assert key(dirac, y) != key(dirac, np.zeros(5))
    with pytest.raises(pc.Uncacheable):
        key(lambda x: x, y)
    assert pc.describe(1) != pc.describe(1.0) != pc.describe(True)


def test_worker_shares_partition_the_cores(monkeypatch):
    """`GANDYN_PIN_WORKERS=1`: the workers' cores are disjoint, contiguous and cover this
    process's cores; off by default, and for one worker or more workers than cores."""
    from gandyn.cli._workers import share_of_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 5}, raising=False)
    assert share_of_cores(0, 2) is None
    monkeypatch.setenv("GANDYN_PIN_WORKERS", "1")
    shares = [share_of_cores(i, 2) for i in range(2)]
    assert shares == [{0, 1}, {2, 3, 5}]
    assert [len(share_of_cores(i, 5)) for i in range(5)] == [1] * 5
    assert share_of_cores(0, 1) is None and share_of_cores(0, 6) is None


def _untraceable(monkeypatch, *names):
    """Make tracing any of `jax`'s `names` (what the programs below trace) an error."""
    def refuse(*args, **kwargs):
        raise AssertionError("traced again: the program was not loaded from the cache")

    for name in names:
        monkeypatch.setattr(jax, name, refuse)


def test_second_eigen_analysis_loads_its_programs(cache, monkeypatch):
    """`gandyn eigen`'s programs (the Jacobian, a step matrix, the step matrices over
    step sizes) are kept: a second run in a new process traces none of them (tracing
    would call `jax.jacfwd` / `jax.jacrev`) and gives the same numbers."""
    folder, exports, _ = cache
    game = gd.games.get("dirac", loss=gd.losses.get("wgan"))
    y, method = gd.Players(np.array([0.3]), np.array([-0.2])), gd.methods.get("altgd")

    def analysis():
        return [np.asarray(gd.jacobian(game, y)), np.asarray(gd.step_matrix(game, method, y, 0.3)),
                amplifications(game, method, y, [0.1, 0.5])]

    first = analysis()
    assert len(exports) == 3 and len(_entries(folder)) == 3
    _forget()
    _untraceable(monkeypatch, "jacfwd", "jacrev")
    assert _same(analysis(), first) and len(exports) == 3
    # The WGAN Dirac-GAN's field is (ψ, −θ): J = [[0, 1], [−1, 0]] everywhere (a rotation).
    assert np.array_equal(first[0], [[0.0, 1.0], [-1.0, 0.0]])


def test_second_training_log_loads_its_programs(cache, monkeypatch):
    """`train`'s log programs (here: the losses and ‖v‖ of every seed, the evaluation
    samples; its Arnoldi and rotation-share programs are kept the same way, and its
    training chunk is `simulate`'s program) are kept: in a new process they are loaded,
    not traced, and give the same numbers bit for bit."""
    folder, exports, _ = cache
    game = gd.MLPGAN(gd.losses.nsgan, gd.data.Gaussian1D(mean=1.0, std=0.5), width=4, depth=1,
                     latent_size=1, batch_size=16)
    key = jax.random.key(0)
    y = jax.tree_util.tree_map(lambda x: np.stack([x, -x]), game.init(key))  # two seeds

    def log():
        return [np.asarray(x) for x in (*_train._observe(game, y, key),
                                        _train._generate(game, y.generator, key, 32))]

    first = log()
    assert len(exports) == len(_entries(folder)) == 2
    _forget()
    # Tracing either would call the generator.
    monkeypatch.setattr(type(game), "generate", lambda *a, **k: pytest.fail("traced again"))
    assert _same(log(), first) and len(exports) == 2

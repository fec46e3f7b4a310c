"""Hostile and unusual command lines: every one is a one-line error with exit code 2
that names the bad value, leaves nothing behind (not even an empty `--out` folder),
and never shows a traceback. Diverging runs are results: exit 0 and a `diverged`
status with its step. (Sweep files: test_hostile_sweep.py; data files:
test_hostile_data.py; kills and Ctrl-C: test_crash.py.)"""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gandyn.cli import app
from helpers import assert_one_line_error, patient


runner = CliRunner()


def invoke(args, out: Path):
    return runner.invoke(app, [*args, "--out", str(out)] if out is not None else args)


SIMULATE_LIKE = [
    (["--real-point", "nan"], ["real_point (--real-point) must be a finite number", "nan"]),
    (["--real-point", "inf"], ["real_point (--real-point) must be a finite number", "inf"]),
    (["--real-point", "1e308"], ["real_point (--real-point) must be a finite number", "1e+308"]),
]


@pytest.mark.parametrize("command", ["simulate", "eigen"])
@pytest.mark.parametrize("args, fragments", SIMULATE_LIKE)
def test_real_point_must_be_finite_and_bounded(tmp_path, command, args, fragments):
    out = tmp_path / "runs"
    assert_one_line_error(invoke([command, *args], out), *fragments)
    assert not out.exists()


@pytest.mark.parametrize("args, fragments", SIMULATE_LIKE)
def test_portrait_real_point(tmp_path, args, fragments):
    out = tmp_path / "p.png"
    assert_one_line_error(invoke(["portrait", *args], out), *fragments)
    assert not out.exists()


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["simulate", "--seed", "-1"], ["--seed must be an integer ≥ 0", "got -1"]),
        (["simulate", "--seed", "100000000000000000000000"], ["--seed", "100000000000000000000000"]),
        (["simulate", "--random-inits", "100000000"], ["100,000,000 initial points", "GiB", "4 GiB allowed"]),
        (["simulate", "--random-inits", "-3"], ["--random-inits", "got -3"]),
        (["simulate", "--steps", "99999999999999"], ["--steps", "99999999999999"]),
        (["simulate", "--step", "abc"], ["'--step'"]),
        (["simulate", "--reg", "r1=nan"], ["--reg weight must be a finite number", "r1=nan"]),
        (["simulate", "--reg", "r1=inf"], ["--reg weight must be a finite number", "r1=inf"]),
        (["simulate", "--loss", "nope"], ["unknown loss 'nope'", "choose from"]),
        (["eigen", "--step", "1e308"], ["--step must be a positive finite number", "1e+308"]),
        (["eigen", "--step", "-0.5"], ["--step", "-0.5"]),
        (["train", "--steps", "100000000000000"], ["--steps", "100000000000000"]),
        (["train", "--seed", "99999999999999999999"], ["--seed", "99999999999999999999"]),
        (["train", "--seed", "-2"], ["--seed", "-2"]),
        (["train", "--data", ""], ["--data must not be empty"]),
        (["train", "--data", "/dev/zero"], ["'/dev/zero' is not a regular file"]),
        (["train", "--step", "nan"], ["--step", "nan"]),
        (["train", "--batch", "0"], ["--batch", "got 0"]),
    ],
)
def test_bad_numbers_and_names(tmp_path, args, fragments):
    out = tmp_path / "runs"
    assert_one_line_error(invoke(args, out), *fragments)
    assert not out.exists()


def test_usage_errors_are_one_line_not_a_box(tmp_path):
    assert_one_line_error(invoke(["nosuch"], None), "No such command 'nosuch'", "gandyn --help")
    assert_one_line_error(invoke(["simulate", "--step", "abc"], None), "'--step'", "gandyn simulate --help")
    assert_one_line_error(invoke(["train", "--nosuch"], None), "No such option: --nosuch")


def test_unwritable_outputs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(invoke(["simulate", "--steps", "10"], blocker), "it is a file, not a folder")
    assert_one_line_error(invoke(["simulate", "--steps", "10"], blocker / "runs"), "not a writable folder")
    folder = tmp_path / "a.png"
    folder.mkdir()
    assert_one_line_error(invoke(["portrait", "--steps", "10"], folder), "is a folder")
    assert_one_line_error(invoke(["portrait", "--steps", "10"], tmp_path / "p.txt"), "must end in .png")
    if Path("/sys").is_dir():  # a file system root cannot write to, read-only or not
        assert_one_line_error(invoke(["portrait", "--steps", "10"], Path("/sys/gandyn.png")),
                              "not a writable folder")


def test_eigen_of_alternating_gd_draws_its_step_map(tmp_path):
    result = invoke(["eigen", "-l", "wgan", "-m", "altgd", "-m", "rk4"], tmp_path)
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    report = json.loads((run_dir / "eigen.json").read_text())
    assert report["results"]["wgan"]["methods"]["altgd"]["verdict"] == "cycles"
    assert (run_dir / "stability.png").stat().st_size > 0


def test_diverging_simulate_is_a_result(tmp_path):
    result = invoke(["simulate", "-l", "wgan", "-m", "simgd", "--step", "3", "--steps", "400"], tmp_path)
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    (record,) = json.loads((run_dir / "metrics.json").read_text())["results"]
    assert record["status"] == "diverged" and isinstance(record["diverged_at"], int)
    assert 0 < record["diverged_at"] <= 400


SMALL_MLP = ["--width", "8", "--depth", "1", "--batch", "32", "--no-gif", "--rotation-probes", "0"]


@pytest.fixture(scope="module")
def diverged_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diverged")
    result = runner.invoke(app, ["train", "--data", "gaussian", "-m", "simgd", "--step", "10",
                                 "--steps", "200", "--log-every", "50", *SMALL_MLP, "--out", str(out)])
    (run_dir,) = out.iterdir()
    return result, run_dir


def test_diverging_training_is_a_result_with_its_step(diverged_run):
    result, run_dir = diverged_run
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("status: seed 0 diverged at step "), result.output
    metrics = json.loads((run_dir / "metrics.json").read_text())  # valid JSON: no NaN
    (summary,) = metrics["summary"]
    assert summary["status"] == "diverged" and summary["diverged_at"] == metrics["diverged_at"][0]
    assert isinstance(summary["diverged_at"], int) and summary["diverged_at"] > 0
    assert {"settings.json", "checkpoint.npz", "metrics.csv", "params.npz", "curves.png",
            "samples.png"} <= {p.name for p in run_dir.iterdir()}


def test_a_diverged_run_can_be_resumed_and_extended(diverged_run):
    _, run_dir = diverged_run
    result = runner.invoke(app, ["train", "--resume", str(run_dir), "--steps", "400"])
    assert result.exit_code == 0, result.output
    assert "diverged at step" in result.output.strip().splitlines()[-1]


def test_a_failed_run_is_not_called_trained():
    from gandyn.metrics import outcome

    assert outcome({"modes": 0, "modes_total": 8}) == "failed"
    assert outcome({"classes_covered": 1, "classes_total": 10}) == "failed"
    assert outcome({"modes": 5, "modes_total": 8}) == "partial"
    assert outcome({"modes": 8, "modes_total": 8}) == "trained"
    assert outcome({"finite": False}) == "failed"
    assert outcome({"modes": 8, "modes_total": 8}, diverged_at=12) == "diverged"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    # The diverged run's game and method at a stable step: its compiled programs serve.
    result = runner.invoke(app, ["train", "--data", "gaussian", "-m", "simgd", "--step", "0.01",
                                 "--steps", "20", "--log-every", "10", *SMALL_MLP, "--out", str(out)])
    assert result.exit_code == 0, result.output
    (run_dir,) = out.iterdir()
    return run_dir


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{}", "lacks the setting"),
        ("[1, 2]", "holds a JSON list, expected a JSON object"),
        ("not json", "is not valid JSON"),
        ('{"steps": true}', "lacks the setting"),
    ],
)
def test_resume_refuses_bad_settings_files(finished_run, tmp_path, content, fragment):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("checkpoint.npz", "settings.json"):
        (run_dir / name).write_bytes((finished_run / name).read_bytes())
    (run_dir / "settings.json").write_text(content)
    assert_one_line_error(runner.invoke(app, ["train", "--resume", str(run_dir)]), fragment)


def test_resume_refuses_wrong_types_in_settings(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "checkpoint.npz").write_bytes((finished_run / "checkpoint.npz").read_bytes())
    settings = json.loads((finished_run / "settings.json").read_text())
    # Each bad value named as every front end names it (the flag, the network game's option).
    for key, value, fragment in (("steps", True, "--steps must be"), ("seed", -1, "--seed must"),
                                 ("step", "x", "--step must"),
                                 ("regularizers", [1], "regularizers must be"),
                                 ("options", {**settings["options"], "batch": 10**12},
                                  "batch (--batch) must be an integer from 1 to 65,536"),
                                 ("batch", 64, "unknown key 'batch'")):
        (run_dir / "settings.json").write_text(json.dumps({**settings, key: value}))
        assert_one_line_error(runner.invoke(app, ["train", "--resume", str(run_dir), "--steps", "40"]),
                              fragment)


def test_resume_of_a_truncated_or_empty_checkpoint(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "settings.json").write_bytes((finished_run / "settings.json").read_bytes())
    whole = (finished_run / "checkpoint.npz").read_bytes()
    for damaged in (b"", whole[:100], whole[: len(whole) // 2]):
        (run_dir / "checkpoint.npz").write_bytes(damaged)
        assert_one_line_error(runner.invoke(app, ["train", "--resume", str(run_dir), "--steps", "40"]),
                              "damaged or incomplete")


def test_resume_of_something_that_is_not_a_run(tmp_path):
    assert_one_line_error(runner.invoke(app, ["train", "--resume", str(tmp_path / "nowhere")]),
                          "is not a run folder with a checkpoint")
    (tmp_path / "file").write_text("x")
    assert_one_line_error(runner.invoke(app, ["train", "--resume", str(tmp_path / "file")]),
                          "is not a run folder with a checkpoint")


def test_a_run_killed_while_writing_its_results_is_finished_by_resume(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("checkpoint.npz", "settings.json"):
        (run_dir / name).write_bytes((finished_run / name).read_bytes())
    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    original = json.loads((finished_run / "metrics.json").read_text())
    finished = json.loads((run_dir / "metrics.json").read_text())
    assert finished["history"] == original["history"]
    with np.load(finished_run / "params.npz") as a, np.load(run_dir / "params.npz") as b:
        np.testing.assert_array_equal(a["flat"], b["flat"])


def test_no_error_leaves_temporary_files(tmp_path):
    invoke(["simulate", "--real-point", "nan"], tmp_path / "runs")
    invoke(["portrait", "--real-point", "nan"], tmp_path / "p.png")
    assert not [p for p in tmp_path.rglob("*")], os.listdir(tmp_path)


# ------------------------------------------- second round: files gandyn reads back (issue 27)

def resign(source: Path, run_dir: Path, edit) -> Path:
    """A copy of the run in `source` whose checkpoint's arrays and log were edited by
    `edit(arrays, meta) -> (arrays, meta_text)` and signed again (a valid SHA-256): what
    the checksum cannot catch, the checks of shapes, dtypes and the log must."""
    import io

    from gandyn._train import _digest

    run_dir.mkdir()
    (run_dir / "settings.json").write_bytes((source / "settings.json").read_bytes())
    with np.load(source / "checkpoint.npz") as f:
        arrays = {name: f[name] for name in f.files}
    record = json.loads(arrays.pop("_record").tobytes())
    arrays, meta_text = edit(arrays, json.loads(record["meta"]))
    signed = json.dumps({"meta": meta_text, "sha256": _digest(arrays, meta_text)})
    buffer = io.BytesIO()
    np.savez(buffer, _record=np.frombuffer(signed.encode(), np.uint8), **arrays)
    (run_dir / "checkpoint.npz").write_bytes(buffer.getvalue())
    return run_dir


def _meta(change):
    def edit(arrays, meta):
        return arrays, change(meta)
    return edit


def _arrays(change):
    def edit(arrays, meta):
        change(arrays)
        return arrays, json.dumps(meta)
    return edit


RESIGNED = [
    ("wrong-shape snapshot", _arrays(lambda a: a.update(params_10_0=np.zeros((1, 9, 2), np.float32))),
     ["array 'params_10_0' has shape (1, 9, 2)", "(1, 8, 2)"]),
    ("step listed without arrays", _meta(lambda m: json.dumps({**m, "param_steps": m["param_steps"] + [99]})),
     ["lists array 'params_99_0' but does not hold it"]),
    ("step 1e400", _meta(lambda m: json.dumps(m).replace(f'"step": {m["step"]}', '"step": 1e400')),
     ["has step inf; expected a whole number of steps"]),
    ("history not a list", _meta(lambda m: json.dumps({**m, "history": {"rows": 1}})),
     ["history that is not a list of logged rows"]),
    ("samples listed but absent", _arrays(lambda a: a.pop("samples_10")),
     ["lists array 'samples_10' but does not hold it"]),
    ("complex array", _arrays(lambda a: a.update(leaf_0=a["leaf_0"].astype(np.complex64))),
     ["array 'leaf_0' has dtype complex64, not real numbers"]),
    ("foreign array", _arrays(lambda a: a.update(extra=np.zeros(3, np.float32))),
     ["array 'extra' is not an array of this run's checkpoint"]),
    ("wrong seed count", _meta(lambda m: json.dumps({**m, "diverged_at": [None, None]})),
     ["diverged_at [None, None]", "a list of 1 steps"]),
]


@pytest.mark.parametrize("edit, fragments", [c[1:] for c in RESIGNED], ids=[c[0] for c in RESIGNED])
@pytest.mark.parametrize("command", ["resume", "slice"])
def test_a_resigned_checkpoint_is_refused_naming_the_file(finished_run, tmp_path, edit, fragments,
                                                          command):
    run_dir = resign(finished_run, tmp_path / "run", edit)
    before = sorted(p.name for p in run_dir.iterdir())
    args = (["train", "--resume", str(run_dir), "--steps", "40"] if command == "resume"
            else ["slice", str(run_dir), "--no-gif", "--resolution", "3"])
    result = runner.invoke(app, args)
    assert_one_line_error(result, str(run_dir / "checkpoint.npz"), *fragments)
    assert sorted(p.name for p in run_dir.iterdir()) == before  # nothing written


def _sparse_npz(path: Path, name: str, header: bytes, size: int) -> None:
    """An .npz (stored, not compressed) whose one entry `name` is `size` bytes: an
    `.npy` header then zeros, written sparse (a hole on disk), with a CRC of 0 (never
    read: the size must be refused first)."""
    import struct

    encoded = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, size, size, len(encoded), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, size, size,
                          len(encoded), 0, 0, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(local + encoded + header)
        f.seek(len(local) + len(encoded) + size)
        start = f.tell()
        f.write(central + encoded)
        f.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(encoded),
                            start, 0))


def _npy_header(shape, dtype="<f4") -> bytes:
    text = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


BOMB_RUNNER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
from gandyn.cli import main
sys.argv = ["gandyn", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("limit, shape, fragment", [
    ("1G", (1, 7 * 2**27, 1), "its entries inflate to 3.5 GiB, more than the 1 GiB it may hold"),
    ("64G", (1, 2**28, 3), "array 'samples_10' has shape (1, 268435456, 3); the run's samples are "
                           "(1, n, 1)"),
], ids=["over-the-budget", "not-the-run's-shape"])
def test_a_decompression_bomb_is_refused_before_inflating(finished_run, tmp_path, limit, shape, fragment):
    """A 3–3.5 GiB entry in a checkpoint file of a few KiB: refused from the size its
    archive declares, or from its header's shape, before anything is inflated — in a
    process limited to 3 GiB of address space, where inflating it would fail."""
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "settings.json").write_bytes((finished_run / "settings.json").read_bytes())
    header = _npy_header(shape)
    _sparse_npz(run_dir / "checkpoint.npz", "samples_10.npy", header, len(header) + 4 * math.prod(shape))
    assert (run_dir / "checkpoint.npz").stat().st_blocks * 512 < 2**20  # a hole, not 3 GiB on disk
    env = {**os.environ, "GANDYN_COMPILE_CACHE": "0", "GANDYN_MEMORY_LIMIT": limit}
    result = subprocess.run([sys.executable, "-c", BOMB_RUNNER, "train", "--resume", str(run_dir),
                             "--steps", "40"], capture_output=True, text=True,
                            timeout=patient(120), env=env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert str(run_dir / "checkpoint.npz") in line and fragment in line, line


# --------------------------------------------- outputs checked before the work (issue 27)

def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, monkeypatch):
    import gandyn._grid

    def never(*args, **kwargs):
        raise AssertionError("computed before checking its output")

    monkeypatch.setattr(gandyn._grid, "game_grid", never)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "deeper")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    cases = [(tmp_path / ("x" * 300), "more than the 255 a file system allows"),
             (tmp_path / "dangling", "is a symbolic link to nothing"),
             (tmp_path / "dangling" / "runs", "is a symbolic link to nothing"),
             (tmp_path / "loop" / "runs", "Too many levels of symbolic links")]
    for out, fragment in cases:
        for args in (["simulate", "--steps", "10"], ["eigen"]):
            assert_one_line_error(invoke(args, out), fragment, "--out")
    assert_one_line_error(invoke(["portrait", "--steps", "10"], tmp_path / ("p" * 300 + ".png")),
                          "more than the 255 a file system allows")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "loop"]


def test_resume_of_a_read_only_run_is_refused_before_training(finished_run, tmp_path, monkeypatch):
    import gandyn._io

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("checkpoint.npz", "settings.json"):
        (run_dir / name).write_bytes((finished_run / name).read_bytes())
    if os.geteuid() == 0:  # root writes into a read-only folder: as on a read-only file system
        probe = gandyn._io._can_create_in
        monkeypatch.setattr(gandyn._io, "_can_create_in", lambda f: Path(f) != run_dir and probe(f))
    run_dir.chmod(0o555)
    try:
        result = runner.invoke(app, ["train", "--resume", str(run_dir), "--steps", "40"])
    finally:
        run_dir.chmod(0o755)
    assert_one_line_error(result, "the run folder is not writable", str(run_dir))
    assert "resuming" not in result.output


# ------------------------------------------------- options and messages (issue 27)

@pytest.mark.parametrize("args, fragment", [
    (["simulate", "--step", "0.1", "--step", "0.5"], "option --step is given twice"),
    (["eigen", "-s", "0.1", "--step=0.5"], "option -s is given twice (--step again)"),
    (["train", "--gif", "--no-gif"], "option --gif is given twice (--no-gif again)"),
    (["--memory-limit", "8G", "portrait", "--steps", "5", "--steps", "6"], "option --steps is given twice"),
    (["slice", "run", "--lim", "1e308"], "--lim must be a positive finite number of at most 1e6"),
    (["--memory-limit", "lots", "simulate"], "--memory-limit must be a size such as 8G"),
])
def test_repeated_options_and_unusable_numbers_are_one_line(tmp_path, args, fragment):
    result = runner.invoke(app, args)
    assert_one_line_error(result, fragment)


def test_slice_refuses_a_window_beyond_the_bound():
    import gandyn as gd
    from gandyn._slice import field_slice

    game = gd.games.get("dirac")
    with pytest.raises(ValueError, match=r"lim must be a positive finite number, got 1e\+308; at most 1e\+06"):
        field_slice(game, game.init(), lim=1e308)


def test_a_run_over_the_memory_budget_is_refused_before_allocating(tmp_path, monkeypatch):
    """`--width 4096 --depth 64`: about 8 GiB of parameters per copy; refused from the
    shapes alone, in a few seconds, with what it needs, and nothing left behind."""
    monkeypatch.setenv("GANDYN_MEMORY_LIMIT", "4G")
    out = tmp_path / "runs"
    result = invoke(["train", "--data", "ring8", "--width", "4096", "--depth", "64", "--steps", "1"], out)
    assert_one_line_error(result, "training 1 seed(s) for 1 steps needs about", "GiB of memory",
                          "parameters", "more than the 4 GiB allowed", "--memory-limit")
    assert "training:" not in result.output and not out.exists()
    result = runner.invoke(app, ["--memory-limit", "1T", "train", "--data", "ring8", "--steps", "0"])
    assert_one_line_error(result, "--steps")  # the option raised the limit; the next check speaks


USER_GAMES = '''
import jax.numpy as jnp
from gandyn._games import AbstractGame, Players


class Vector(AbstractGame):
    def init(self, key=None):
        return Players(jnp.ones(2), jnp.ones(2))

    def losses(self, p, key=None):
        return p.generator * p.discriminator, -p.generator * p.discriminator


class WrongField(Vector):
    def losses(self, p, key=None):
        return jnp.sum(p.generator * p.discriminator), -jnp.sum(p.generator * p.discriminator)

    def field(self, p, key=None):
        return Players(jnp.ones(3), jnp.ones(2))


class Integers(WrongField):
    def init(self, key=None):
        return Players(jnp.ones(2, int), jnp.ones(2, int))


class Raising(WrongField):
    def losses(self, p, key=None):
        raise KeyError("no such thing")


def vector():
    return Vector()


def wrong_field():
    return WrongField()


def integers():
    return Integers()


def raising():
    return Raising()


def broken():
    raise RuntimeError("cannot build")
'''


@pytest.mark.parametrize("function, fragments", [
    ("broken", ["failed when built: RuntimeError: cannot build"]),
    ("vector", ["losses() returned L_1 of shape (2,)", "each loss must be a real scalar"]),
    ("wrong_field", ["field() returned arrays whose structure or shapes differ", "[(3,), (2,)]"]),
    ("integers", ["init() returned an array of dtype int", "parameters must be real floats"]),
    ("raising", ["losses() raised KeyError: 'no such thing'"]),
    ("missing", ["cannot load game", "AttributeError"]),
])
@pytest.mark.parametrize("command", ["simulate", "eigen", "portrait"])
def test_a_users_game_that_fails_is_one_line_naming_it(tmp_path, monkeypatch, function, fragments,
                                                        command):
    (tmp_path / "hostile_user_games.py").write_text(USER_GAMES)
    (tmp_path / "hostile_import.py").write_text("raise ZeroDivisionError('on import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / ("p.png" if command == "portrait" else "runs")
    args = [command, "--game", f"hostile_user_games:{function}"] + (["--at", "1,1,1,1"] if command == "eigen" else [])
    assert_one_line_error(invoke(args, out), f"hostile_user_games:{function}", *fragments)
    assert_one_line_error(invoke([command, "--game", "hostile_import:game"], out),
                          "cannot load game 'hostile_import:game'", "ZeroDivisionError: on import")
    assert not out.exists()


def test_a_second_order_methods_breakdown_names_method_and_game(tmp_path):
    """With `krylov_steps=0` CGD's solve is lineax's restart-2 GMRES alone, whose
    tangent solve breaks down on the Gaussian GAN at its equilibrium: one line naming
    both, exit 2. By default the solve is differentiated implicitly and the spectrum is
    there: on the WGAN game (J's eigenvalues ±i, ±2i) CGD's growth per step is
    `1/√(1 + h²σ²)` at the smallest σ = 1, 0.894427 at h = 0.5."""
    out = tmp_path / "runs"
    assert_one_line_error(invoke(["eigen", "--game", "gaussian", "-m", "cgd", "--opt",
                                  "krylov_steps=0"], out),
                          "method 'cgd' cannot be linearised on game GaussianGAN",
                          "breakdown")
    assert not out.exists()
    result = invoke(["eigen", "--game", "gaussian", "-m", "cgd", "-l", "wgan"], out)
    assert result.exit_code == 0, result.output
    assert f"{1 / (1 + 0.5**2) ** 0.5:.6f}" in result.output


# ----------------------------------------------- gandyn's own caches (issue 27)

CACHE_RUNNER = """
import sys
from gandyn.cli._common import use_compile_cache
print(use_compile_cache())
import jax, jax.numpy as jnp
print(float(jax.jit(lambda x: jnp.sin(x) * 3 + jnp.cos(x) ** 2)(1.0)))
"""


def _cached_run(cache: Path):
    import subprocess
    import sys

    env = {**os.environ, "GANDYN_CACHE_DIR": str(cache), "GANDYN_COMPILE_CACHE": "1"}
    result = subprocess.run([sys.executable, "-c", CACHE_RUNNER], capture_output=True, text=True,
                            timeout=patient(120), env=env)
    assert result.returncode == 0, result.stderr
    return result


def test_the_compile_cache_works_from_a_moved_folder_and_skips_bad_entries(tmp_path):
    import shutil

    first = tmp_path / "first"
    _cached_run(first)
    entries = sorted(p.name for p in (first / "xla").iterdir() if p.is_file())
    assert entries  # the program was written
    moved = tmp_path / "moved"
    shutil.copytree(first, moved)
    result = _cached_run(moved)
    assert sorted(p.name for p in (moved / "xla").iterdir() if p.is_file()) == entries  # every key hit
    assert result.stderr.strip() == ""
    # A damaged entry is compiled again in silence; a FIFO in its place (which JAX would
    # block on forever) is removed first.
    program = next(name for name in entries if name.endswith("-cache"))
    (moved / "xla" / program).write_bytes(b"not a program")
    assert _cached_run(moved).stderr.strip() == ""
    (moved / "xla" / program).unlink()
    os.mkfifo(moved / "xla" / program)
    assert _cached_run(moved).stderr.strip() == ""
    assert (moved / "xla" / program).is_file()


def test_a_special_file_in_place_of_the_cached_classifier_is_not_opened(tmp_path, monkeypatch):
    import threading

    import jax

    import gandyn.data as data
    from gandyn import _image_metrics

    images = data.ImageData(np.zeros((20, 1, 8, 8), np.float32), np.arange(20) % 2, name="tiny")
    trained = []
    monkeypatch.setattr(_image_metrics, "train_classifier",
                        lambda d, s: trained.append(1) or (_image_metrics.Classifier(
                            d.shape, d.classes, s.width, s.features, key=jax.random.key(0)), 0.5))
    _, info = _image_metrics.cached_classifier(images, directory=tmp_path)
    weights = Path(info["path"])
    weights.unlink()
    os.mkfifo(weights)
    answer = []
    thread = threading.Thread(target=lambda: answer.append(
        _image_metrics.cached_classifier(images, directory=tmp_path)), daemon=True)
    thread.start()
    thread.join(60)
    assert answer, "blocked on a FIFO in the cache"
    assert answer[0][1]["trained"] and len(trained) == 2 and weights.is_file()

"""`gandyn sweep` against hostile input: wrong types, duplicates, odd --config files,
damaged run folders, rows cut by a crash, and runs that diverge.

Every bad input must give exit code 2 and one line `Error: …` naming the bad value,
never a traceback, and leave nothing behind (no run folder, no `--out` folder made by
the command, no change to a run folder it refused to resume)."""

import json
import math
import os
import shutil
import textwrap

import pytest
from typer.testing import CliRunner

from gandyn._sweep_results import _parse_fields
from gandyn.sweeps import COLUMNS, MAX_RUNS, STATUSES, SweepSpec, read_rows, run_sweep
from gandyn.cli import app


runner = CliRunner()
TINY = ["-l", "wgan", "-r", "none", "-m", "simgd", "-s", "0.1", "--seeds", "1", "--steps", "50"]
TINY_TOML = """\
[sweep]
losses = ["wgan"]
regularizers = ["none"]
methods = ["simgd"]
step_sizes = [0.1]
seeds = 1
steps = 50
"""


def _sweep(*args):
    return runner.invoke(app, ["sweep", *map(str, args)])


def _assert_refused(result, *needles):
    """Exit code 2, one line `Error: …` containing every needle, no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _toml(tmp_path, body: str):
    """A tiny sweep file with `body` overriding its keys."""
    base = dict(line.split(" = ", 1) for line in TINY_TOML.splitlines()[1:])
    for line in textwrap.dedent(body).strip().splitlines():
        key, value = line.split(" = ", 1)
        base[key.strip()] = value
    path = tmp_path / "sweep.toml"
    path.write_text("[sweep]\n" + "".join(f"{k} = {v}\n" for k, v in base.items()))
    return path


# -- 1. a type-checked spec ------------------------------------------------------------


BAD_VALUES = [
    ("regularizers = [1]", ["malformed --reg 1: expected a string NAME=WEIGHT"]),
    ("losses = [3]", ["losses must hold loss names (strings), got 3", "choose from: sgan"]),
    ('losses = ["sgn"]', ["unknown loss 'sgn'; choose from: sgan"]),
    ("methods = [true]", ["methods must hold method names (strings), got True", "choose from:"]),
    ('methods = ["rk5"]', ["unknown method 'rk5'; choose from:"]),
    # Values `gandyn simulate` also takes: its message (test_sweep_refuses_what_simulate_refuses)
    ('real_point = "x"', ["real_point (--real-point) must be a finite number in [−10000, 10000], got 'x'"]),
    ("real_point = true", ["real_point (--real-point) must be a finite number in [−10000, 10000], got True"]),
    ("steps = true", ["--steps must be a positive integer of at most 1,000,000,000, got True"]),
    ("steps = 1.5", ["--steps must be a positive integer of at most 1,000,000,000, got 1.5"]),
    ('steps = "50"', ["--steps must be a positive integer of at most 1,000,000,000, got '50'"]),
    ("seeds = [true]", ["--seed must be an integer ≥ 0 of at most 4,294,967,295, got True"]),
    ("seeds = true", ["seeds must be a count or a list of integers, got True"]),
    ("seeds = [1.5]", ["--seed must be an integer ≥ 0 of at most 4,294,967,295, got 1.5"]),
    ("seeds = 0", ["seeds must be a count from 1 to", "got 0"]),
    ("seeds = 1_000_000_000", [f"seeds must be a count from 1 to {MAX_RUNS:,}", "1,000,000,000"]),
    ("seeds = []", ["seeds must not be empty"]),
    ('step_sizes = ["a"]', ["--step must be a positive finite number of at most 1e+06, got 'a'"]),
    ("step_sizes = [true]", ["--step must be a positive finite number of at most 1e+06, got True"]),
    ("step_sizes = 0.1", ["step_sizes must be a list, got 0.1"]),
    ("init_radius = -5", ["init_radius must be a positive finite number, got -5"]),
    ('init_radius = "x"', ["init_radius must be a positive finite number, got 'x'"]),
    ("init_radius = 0", ["init_radius must be a positive finite number, got 0"]),
    ("init_radius = nan", ["init_radius must be a positive finite number, got nan"]),
    ("losses = []", ["losses must not be empty"]),
    ("losses = {a = 1}", ["losses must be a list"]),
    # 2. duplicates
    ('losses = ["wgan", "WGAN"]', ["duplicate loss 'WGAN' in losses (same as 'wgan')"]),
    ('methods = ["rk4", "simgd", "RK4"]', ["duplicate method 'RK4' in methods (same as 'rk4')"]),
    ('regularizers = ["r1=1", "R1=1.0"]', ["duplicate regularizer setting 'R1=1.0' in regularizers (same as 'r1=1')"]),
    ('regularizers = ["none", "NONE"]', ["duplicate regularizer setting 'NONE' in regularizers"]),
    ("step_sizes = [0.1, 0.2, 0.1]", ["duplicate step size 0.1 in step_sizes"]),
    ("step_sizes = [1, 1.0]", ["duplicate step size 1.0 in step_sizes"]),
    ("seeds = [0, 3, 0]", ["duplicate seed 0 in seeds"]),
]


@pytest.mark.parametrize("body, needles", BAD_VALUES, ids=[b for b, _ in BAD_VALUES])
def test_bad_values_in_the_sweep_file(tmp_path, body, needles):
    path = _toml(tmp_path, body)
    out = tmp_path / "new" / "runs"
    _assert_refused(_sweep("--config", path, "--out", out), f"sweep file '{path}'", *needles)
    assert not (tmp_path / "new").exists()
    with pytest.raises(ValueError):
        SweepSpec.from_toml(path)


def test_a_grid_too_large_for_memory_is_refused_with_its_size(tmp_path):
    step_sizes = ", ".join(f"{0.001 * (i + 1):.3f}" for i in range(1001))
    path = _toml(tmp_path, f"step_sizes = [{step_sizes}]\nseeds = 100")
    result = _sweep("--config", path, "--out", tmp_path / "runs")
    _assert_refused(result, "has 100,100 runs, more than the 100,000 one sweep may hold", "GB")
    assert not (tmp_path / "runs").exists()
    # The options may bring a file's grid back under the cap.
    assert SweepSpec.from_toml(path, check_size=False).size() == 100_100


def test_sweep_key_that_is_not_a_table(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("sweep = 3\n")
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "runs"), "'sweep' must be a table")
    assert not (tmp_path / "runs").exists()


BAD_OPTIONS = [
    (["-s", "0.1", "-s", "0.1"], ["duplicate step size 0.1 in step_sizes"]),
    (["-l", "wgan", "-l", "WGAN"], ["duplicate loss 'WGAN' in losses"]),
    (["-m", "simgd", "-m", "simgd"], ["duplicate method 'simgd' in methods"]),
    (["-r", "r1=1", "-r", "r1=1.0"], ["duplicate regularizer setting 'r1=1.0'"]),
    (["-r", "r1=nan"], ["--reg weight must be a finite number in [0, 1e6], got r1=nan"]),
    (["-l", "nope"], ["unknown loss 'nope'; choose from:"]),
    (["-m", "nope"], ["unknown method 'nope'; choose from:"]),
    (["--steps", "0"], ["--steps must be a positive integer of at most 1,000,000,000, got 0"]),
    (["--steps", str(10**12)], ["--steps must be a positive integer of at most 1,000,000,000, got 1000000000000"]),
    (["--seeds", "0"], ["--seeds must be a positive integer, got 0"]),
    (["--seeds", "-3"], ["--seeds must be a positive integer, got -3"]),
    (["--seeds", str(10**9)], [f"seeds must be a count from 1 to {MAX_RUNS:,}"]),
]


# The same bad value in a sweep file and on `gandyn simulate`'s command line: one check,
# one message (the sweep's names its file first).
SHARED_VALUES = [
    ('regularizers = ["r1=nan"]', ["--reg", "r1=nan"]),
    ('regularizers = ["r1=inf"]', ["--reg", "r1=inf"]),
    ('regularizers = ["r1=-1"]', ["--reg", "r1=-1"]),
    ('regularizers = ["foo=1"]', ["--reg", "foo=1"]),
    ('regularizers = ["r1"]', ["--reg", "r1"]),
    ("real_point = nan", ["--real-point", "nan"]),
    ("real_point = -inf", ["--real-point", "-inf"]),
    ("real_point = 5e5", ["--real-point", "5e5"]),
    ("dim = 0", ["--dim", "0"]),
    ("steps = 0", ["--steps", "0"]),
    ("steps = 1_000_000_000_000", ["--steps", "1000000000000"]),
    ("seeds = [-1]", ["--seed", "-1"]),
    (f"seeds = [{2**32}]", ["--seed", str(2**32)]),
    ("step_sizes = [nan]", ["--step", "nan"]),
    ("step_sizes = [inf]", ["--step", "inf"]),
    ("step_sizes = [0.0]", ["--step", "0"]),
    ("step_sizes = [-1.0]", ["--step", "-1"]),
]


@pytest.mark.parametrize("body, args", SHARED_VALUES, ids=[b for b, _ in SHARED_VALUES])
def test_sweep_refuses_what_simulate_refuses(tmp_path, body, args):
    path = _toml(tmp_path, body)
    swept = _sweep("--config", path, "--out", tmp_path / "runs")
    simulated = runner.invoke(app, ["simulate", *args, "--out", str(tmp_path / "runs")])
    _assert_refused(simulated)
    message = simulated.output.strip().removeprefix("Error: ")
    _assert_refused(swept, f"Error: sweep file '{path}': {message}")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, needles", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_options(tmp_path, args, needles):
    base = dict(zip(TINY[::2], TINY[1::2]))
    for flag in args[::2]:
        base.pop(flag, None)
    argv = [x for kv in base.items() for x in kv] + args
    out = tmp_path / "deep" / "runs"
    _assert_refused(_sweep(*argv, "--out", out), *needles)
    assert not (tmp_path / "deep").exists()


def test_options_override_a_file_that_alone_is_too_large(tmp_path):
    path = _toml(tmp_path, "seeds = 200_000")
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "a"), "seeds must be a count from 1 to")
    path = _toml(tmp_path, "seeds = [" + ", ".join(map(str, range(MAX_RUNS + 1))) + "]")
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "a"), f"has {MAX_RUNS + 1:,} runs")
    assert not (tmp_path / "a").exists()
    result = _sweep("--config", path, "--seeds", "1", "--out", tmp_path / "b")
    assert result.exit_code == 0, result.output


# -- 3. --config edge cases -------------------------------------------------------------


def test_config_that_is_a_directory(tmp_path):
    (tmp_path / "conf").mkdir()
    _assert_refused(_sweep("--config", tmp_path / "conf", "--out", tmp_path / "runs"),
                    f"sweep file '{tmp_path / 'conf'}' is a directory, not a file")
    assert not (tmp_path / "runs").exists()


def test_config_that_is_binary(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" + bytes(range(256)))
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "runs"),
                    f"sweep file '{path}' is not UTF-8 text")
    assert not (tmp_path / "runs").exists()


def test_config_that_is_missing(tmp_path):
    _assert_refused(_sweep("--config", tmp_path / "nope.toml", "--out", tmp_path / "runs"),
                    f"sweep file '{tmp_path / 'nope.toml'}' does not exist")
    assert not (tmp_path / "runs").exists()


def test_config_that_is_a_fifo(tmp_path):
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)  # opening it would block forever
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "runs"), "is not a regular file")
    assert not (tmp_path / "runs").exists()


def test_config_that_is_unreadable(tmp_path, monkeypatch):
    path = _toml(tmp_path, "")

    real_open = os.open

    def denied(name, *args, **kwargs):  # the file is opened with os.open (`_io.open_regular`)
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "runs"),
                    f"cannot read sweep file '{path}': Permission denied")
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_config_without_read_permission(tmp_path):
    path = _toml(tmp_path, "")
    path.chmod(0)
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "runs"), "Permission denied")


def test_config_that_is_invalid_toml(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("[sweep]\nsteps = \n")
    _assert_refused(_sweep("--config", path, "--out", tmp_path / "runs"), "is not valid TOML")
    assert not (tmp_path / "runs").exists()


def test_an_existing_out_folder_is_kept_empty_on_error(tmp_path):
    (tmp_path / "runs").mkdir()
    _assert_refused(_sweep(*TINY, "-s", "nan", "--out", tmp_path / "runs"))
    assert (tmp_path / "runs").is_dir() and not any((tmp_path / "runs").iterdir())


def test_a_failed_write_of_spec_json_leaves_nothing_behind(tmp_path, monkeypatch):
    import gandyn._io

    def full(path, data):
        open(path, "w").close()  # a half-written file, as a full disk would leave
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gandyn._io, "write_json", full)
    out = tmp_path / "a" / "runs"
    _assert_refused(_sweep(*TINY, "--out", out), "cannot write to", "No space left on device")
    assert not (tmp_path / "a").exists()


def test_names_are_stored_in_canonical_form():
    spec = SweepSpec(losses=["WGAN"], regularizers=["None", " R1 = 1 "], methods=["RK4"],
                     step_sizes=[1], seeds=[3], steps=10)
    assert spec.losses == ("wgan",) and spec.methods == ("rk4",)
    assert spec.regularizers == ("none", "r1=1") and spec.step_sizes == (1.0,)
    assert SweepSpec.from_dict(spec.to_dict(), complete=True) == spec


# -- 4. --resume robustness ---------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny sweep (2 step sizes × 2 seeds): its run folder."""
    out = tmp_path_factory.mktemp("finished") / "runs"
    result = runner.invoke(app, ["sweep", "-l", "wgan", "-r", "none", "-m", "simgd", "-s", "0.1",
                                 "-s", "0.2", "--seeds", "2", "--steps", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (run_dir,) = out.iterdir()
    return run_dir


@pytest.fixture
def run_dir(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused_resume(run_dir, *needles):
    before = _snapshot(run_dir)
    _assert_refused(_sweep("--resume", run_dir), *needles)
    assert _snapshot(run_dir) == before  # nothing rewritten or added


BAD_SPECS = [
    (b"{not json", ["is not valid JSON"]),
    (b"", ["is not valid JSON"]),
    (b"\xff\xfe\x00garbage\x00", ["is not UTF-8 text"]),
    (b"[1, 2, 3]", ["holds a JSON list, expected an object"]),
    (b'"spec"', ["holds a JSON str"]),
    (b"{}", ["missing key 'losses'"]),
    (b'{"losses": ["wgan"]}', ["missing key 'regularizers'"]),
    (b'{"x": 1}', ["unknown key 'x'"]),
    (b"[" * 100_000, ["is not valid JSON"]),
]


@pytest.mark.parametrize("content, needles", BAD_SPECS, ids=[repr(c[:20]) for c, _ in BAD_SPECS])
def test_resume_with_a_corrupt_spec(run_dir, content, needles):
    (run_dir / "spec.json").write_bytes(content)
    _refused_resume(run_dir, f"spec file '{run_dir / 'spec.json'}'", *needles)


@pytest.mark.parametrize(
    "key, value, needle",
    [
        ("steps", "many", "--steps must be a positive integer of at most 1,000,000,000, got 'many'"),
        ("steps", 50.0, "--steps must be a positive integer of at most 1,000,000,000, got 50.0"),
        ("steps", True, "--steps must be a positive integer of at most 1,000,000,000, got True"),
        ("losses", [1], "losses must hold loss names (strings), got 1"),
        ("losses", "wgan", "losses must be a list, got 'wgan'"),
        ("regularizers", [None], "malformed --reg None: expected a string NAME=WEIGHT"),
        ("step_sizes", [0.1, None], "--step must be a positive finite number of at most 1e+06, got None"),
        ("seeds", [0, "1"], "--seed must be an integer ≥ 0 of at most 4,294,967,295, got '1'"),
        ("seeds", {"a": 1}, "seeds must be a count or a list of integers"),
        ("real_point", float("nan"), "real_point (--real-point) must be a finite number in [−10000, 10000], got nan"),
        ("init_radius", None, "init_radius must be a positive finite number, got None"),
    ],
)
def test_resume_with_wrong_types_in_the_spec(run_dir, key, value, needle):
    spec = json.loads((run_dir / "spec.json").read_text())
    spec[key] = value
    (run_dir / "spec.json").write_text(json.dumps(spec))
    _refused_resume(run_dir, f"spec file '{run_dir / 'spec.json'}'", needle)


def test_resume_with_a_spec_json_that_is_a_directory(run_dir):
    (run_dir / "spec.json").unlink()
    (run_dir / "spec.json").mkdir()
    _assert_refused(_sweep("--resume", run_dir), "is a directory, not a file")


def test_resume_of_a_missing_folder_a_file_or_a_non_sweep(tmp_path):
    _assert_refused(_sweep("--resume", tmp_path / "nope"), f"--resume '{tmp_path / 'nope'}' does not exist")
    (tmp_path / "file").write_text("x")
    _assert_refused(_sweep("--resume", tmp_path / "file"), f"--resume '{tmp_path / 'file'}' is not a folder")
    _assert_refused(_sweep("--resume", tmp_path), "is not a sweep folder (no spec.json)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize(
    "args, flags",
    [
        (["--steps", "100"], "--steps"),
        (["--loss", "sgan"], "--loss"),
        (["--method", "rk4"], "--method"),
        (["--reg", "r1=1"], "--reg"),
        (["--step", "0.5"], "--step"),
        (["--seeds", "3"], "--seeds"),
        (["--config", "sweep.toml"], "--config"),
        (["--out", "elsewhere"], "--out"),
        (["--steps", "100", "-l", "sgan"], "--loss, --steps"),
    ],
)
def test_resume_refuses_options_that_contradict_its_spec(run_dir, args, flags):
    before = _snapshot(run_dir)
    result = runner.invoke(app, ["sweep", *args, "--resume", str(run_dir)])
    _assert_refused(result, f"--resume takes its settings from '{run_dir / 'spec.json'}'; "
                            f"do not give {flags}")
    assert _snapshot(run_dir) == before


def _csv(run_dir):
    return run_dir / "results.csv"


def _replace_row(run_dir, index, **changes):
    lines = _csv(run_dir).read_bytes().split(b"\r\n")
    fields = lines[index].decode().split(",")
    for column, value in changes.items():
        fields[COLUMNS.index(column)] = value
    lines[index] = ",".join(fields).encode()
    _csv(run_dir).write_bytes(b"\r\n".join(lines))


@pytest.mark.parametrize(
    "changes, needles",
    [
        ({"status": "exploded"}, ["line 3: status 'exploded' is not one of: converged"]),
        ({"rate": "nan"}, ["line 3: rate 'nan' is not empty or a finite number"]),
        ({"init": "inf 0.5"}, ["line 3: init 'inf 0.5' is not finite numbers separated by spaces"]),
        ({"init": ""}, ["line 3: init '' is not finite numbers separated by spaces"]),
        ({"init": "0.5"}, ["line 3: init has 1 coordinates, but the game has 2"]),
        ({"seed": "-1"}, ["line 3: seed '-1' is not an integer ≥ 0"]),
        ({"diverged_at": "1.5"}, ["line 3: diverged_at '1.5' is not empty or an integer ≥ 0"]),
        ({"diverged_at": "999"}, ["line 3: diverged_at 999 is past the sweep's 50 steps"]),
        ({"step": "0.7"}, ["line 3 is a run that is not in the sweep's spec", "0.7"]),
        ({"loss": "sgan"}, ["line 3 is a run that is not in the sweep's spec", "sgan"]),
        ({"seed": "2"}, ["line 3 is a run that is not in the sweep's spec"]),
        ({"seed": "0"}, ["line 3 repeats the run of line 2"]),
        ({"status": "converged,extra"}, ["line 3: has 12 fields, expected 11"]),
    ],
)
def test_resume_refuses_a_bad_finished_row(run_dir, changes, needles):
    _replace_row(run_dir, 2, **changes)
    _refused_resume(run_dir, f"results file '{_csv(run_dir)}'", *needles)


def test_resume_refuses_binary_garbage_as_results(run_dir):
    _csv(run_dir).write_bytes(bytes(range(256)) * 8)
    _refused_resume(run_dir, f"results file '{_csv(run_dir)}'", "is not UTF-8 text")


def test_resume_refuses_a_wrong_header(run_dir):
    text = _csv(run_dir).read_text()
    _csv(run_dir).write_text(text.replace("final_speed", "speed", 1))
    _refused_resume(run_dir, f"results file '{_csv(run_dir)}'", "does not start with the header")
    _csv(run_dir).write_text("a,b\r\n1,2\r\n")
    _refused_resume(run_dir, "does not start with the header", "got 'a,b'")


def test_resume_refuses_results_that_are_a_directory(run_dir):
    _csv(run_dir).unlink()
    _csv(run_dir).mkdir()
    _assert_refused(_sweep("--resume", run_dir), "is a directory, not a file")
    shutil.rmtree(_csv(run_dir))
    (run_dir / "results.json").unlink()
    (run_dir / "results.json").mkdir()
    _assert_refused(_sweep("--resume", run_dir), "results file", "is not a regular file")


def test_resume_of_an_empty_or_missing_results_file_runs_everything(run_dir, finished):
    expected = read_rows(_csv(finished))
    _csv(run_dir).write_bytes(b"")
    result = _sweep("--resume", run_dir)
    assert result.exit_code == 0, result.output
    assert read_rows(_csv(run_dir)) == expected
    _csv(run_dir).unlink()
    result = _sweep("--resume", run_dir)
    assert result.exit_code == 0, result.output
    assert _csv(run_dir).read_bytes() == _csv(finished).read_bytes()


# -- 5. rows cut by a crash -----------------------------------------------------------------


CUT = SweepSpec(losses=("wgan",), regularizers=("none", "r1=1"), methods=("simgd",),
                step_sizes=(0.1, 0.3), seeds=(0, 1), steps=50)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    run_sweep(CUT, folder)
    return folder


def test_a_cut_row_can_still_parse_but_is_not_taken(tmp_path, uninterrupted):
    data = (uninterrupted / "results.csv").read_bytes()
    last = data.rstrip(b"\r\n").rsplit(b"\n", 1)[1].decode()
    # The crash leaves a prefix that is a well-formed row with the wrong numbers...
    cut = last[: last.rindex(",") + 4]
    assert _parse_fields(cut.split(","))["rate"] != _parse_fields(last.split(","))["rate"]
    (tmp_path / "results.csv").write_bytes(data[: data.rindex(last.encode())] + cut.encode())
    # ...which is not a finished row: it has no line terminator.
    assert len(read_rows(tmp_path / "results.csv", CUT)) == CUT.size() - 1
    rows = run_sweep(CUT, tmp_path)
    assert rows == read_rows(uninterrupted / "results.csv")
    assert (tmp_path / "results.csv").read_bytes() == data


def test_resume_after_a_cut_at_any_offset_gives_the_uninterrupted_rows(tmp_path, uninterrupted):
    """Truncate results.csv at every byte of the last row (and at every 13th byte
    before it): resuming always gives exactly the uninterrupted sweep's file."""
    data = (uninterrupted / "results.csv").read_bytes()
    expected = read_rows(uninterrupted / "results.csv")
    json_rows = json.loads((uninterrupted / "results.json").read_text())["rows"]
    assert len(expected) == CUT.size() == 8
    last_start = data.rstrip(b"\r\n").rindex(b"\n") + 1
    offsets = list(range(last_start, len(data) + 1)) + list(range(0, last_start, 13))
    assert len(offsets) > 100
    for offset in offsets:
        folder = tmp_path / f"cut{offset}"
        folder.mkdir()
        (folder / "results.csv").write_bytes(data[:offset])
        rows = run_sweep(CUT, folder)
        assert rows == expected, offset
        assert (folder / "results.csv").read_bytes() == data, offset
        assert json.loads((folder / "results.json").read_text())["rows"] == json_rows, offset
        shutil.rmtree(folder)


def test_cli_resume_after_a_cut_last_row(run_dir, finished):
    data = _csv(finished).read_bytes()
    _csv(run_dir).write_bytes(data[: len(data) - 9])  # the rate cut short: still a number
    result = _sweep("--resume", run_dir)
    assert result.exit_code == 0, result.output
    assert _csv(run_dir).read_bytes() == data
    assert json.loads((run_dir / "results.json").read_text()) == json.loads(
        (finished / "results.json").read_text())


# -- 6. a diverging sweep is a result ----------------------------------------------------------


def test_a_diverging_sweep_exits_0_with_diverged_rows(tmp_path):
    result = _sweep("-l", "wgan", "-r", "none", "-m", "simgd", "-s", "3", "--seeds", "2",
                    "--steps", "200", "--out", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    rows = read_rows(run_dir / "results.csv")
    assert len(rows) == 2
    for row in rows:
        assert row["status"] == "diverged" and row["status"] in STATUSES
        assert isinstance(row["diverged_at"], int) and 0 < row["diverged_at"] <= 200
    saved = json.loads((run_dir / "results.json").read_text())
    for row in saved["rows"]:
        assert row["status"] == "diverged" and isinstance(row["diverged_at"], int)
        for key in ("final_distance", "final_speed", "rate"):
            assert row[key] is None or math.isfinite(row[key])
    # And it resumes as a finished sweep.
    again = _sweep("--resume", run_dir)
    assert again.exit_code == 0, again.output
    assert read_rows(run_dir / "results.csv") == rows

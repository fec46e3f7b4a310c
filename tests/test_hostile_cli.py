"""Hostile and unusual command lines: every one is a one-line error with exit code 2
that names the bad value, leaves nothing behind (not even an empty `--out` folder),
and never shows a traceback. Diverging runs are results: exit 0 and a `diverged`
status with its step. (Sweep files: test_hostile_sweep.py; data files:
test_hostile_data.py; kills and Ctrl-C: test_crash.py.)"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gandyn.cli import app


runner = CliRunner()


def invoke(args, out: Path):
    return runner.invoke(app, [*args, "--out", str(out)] if out is not None else args)


def assert_one_line_error(result, *fragments, code=2):
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text and "╭" not in text, text
    errors = [line for line in text.strip().splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], text


SIMULATE_LIKE = [
    (["--real-point", "nan"], ["--real-point must be a finite number", "nan"]),
    (["--real-point", "inf"], ["--real-point must be a finite number", "inf"]),
    (["--real-point", "1e308"], ["--real-point must be a finite number", "1e+308"]),
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


@pytest.fixture(scope="module")
def diverged_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diverged")
    result = runner.invoke(app, ["train", "--data", "ring8", "-m", "simgd", "--step", "10",
                                 "--steps", "200", "--log-every", "50", "--width", "16", "--depth",
                                 "1", "--batch", "64", "--no-gif", "--out", str(out)])
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
    result = runner.invoke(app, ["train", "--data", "gaussian", "--steps", "20", "--log-every", "10",
                                 "--width", "8", "--depth", "1", "--batch", "32", "--no-gif",
                                 "--out", str(out)])
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
    for key, value, fragment in (("steps", True, "'steps'"), ("seed", -1, "'seed'"),
                                 ("step", "x", "'step'"), ("regularizers", [1], "'regularizers'"),
                                 ("batch", 10**12, "'batch'")):
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

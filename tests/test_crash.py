"""Crashes and interrupts of `gandyn train`, in real subprocesses.

A run killed (`SIGKILL`) at any moment — while it trains, while it writes a checkpoint,
while it writes its results — must either resume to exactly the numbers of an
uninterrupted run or refuse with a one-line error; never continue silently from a
damaged or mismatched state. Ctrl-C (`SIGINT`) ends a run with exit code 130 and says
what was kept and how to continue."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, patient


ARGS = ["train", "--data", "ring8", "--width", "8", "--depth", "1", "--batch", "32",
        "--steps", "200", "--log-every", "20", "--checkpoint-every", "5", "--no-gif",
        "--rotation-probes", "0"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Subprocesses share a persistent compilation cache, so that each one after the
    first starts in seconds (the compiled programs, and so the numbers, are the same)."""
    cache = tmp_path_factory.mktemp("xla-cache")
    return {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
            "GANDYN_CACHE_DIR": str(tmp_path_factory.mktemp("gandyn-cache"))}


def _default_sigint() -> None:
    """A shell's background job inherits Ctrl-C as ignored; the child gets Python's default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def gandyn(*args, env, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from gandyn.cli import main; main()", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint, **kwargs)


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    """The process's end, waited for at most `timeout` s on an idle machine, scaled by
    the machine's slowness now (`helpers.patient`): a compile of 187 s was seen at load
    6–13 on 2 cores; only a hang should fail here."""
    out, err = process.communicate(timeout=patient(timeout))
    return process.returncode, out, err


def run_folder(out: Path) -> Path | None:
    folders = [p for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []
    assert len(folders) <= 1
    return folders[0] if folders else None


def results(run_dir: Path):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    with np.load(run_dir / "params.npz") as f:
        params = f["flat"]
    return params, metrics["history"], metrics["steps_done"]


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory):
    """An uninterrupted run's results, the seconds it took after its first line of output
    (a second run: the first one fills the compilation cache), and its folder."""
    for attempt in range(2):
        out = tmp_path_factory.mktemp("reference")
        process = gandyn(*ARGS, "--out", str(out), env=env)
        process.stderr.readline()  # started: the progress line comes before any compiling
        start = time.monotonic()
        code, _, err = finish(process)
        assert code == 0, err
    duration = time.monotonic() - start
    return results(run_folder(out)), duration, run_folder(out)


def wait_for_checkpoints(out: Path, process: subprocess.Popen, count: int) -> None:
    """Return once the run's checkpoint has been (re)written `count` times (of 40)."""
    seen, previous = 0, None
    while seen < count and process.poll() is None:
        try:
            stamp = next(out.glob("*/checkpoint.npz")).stat().st_mtime_ns
        except (StopIteration, FileNotFoundError):  # not yet, or between write and rename
            stamp = previous
        if stamp != previous:
            seen, previous = seen + 1, stamp
        time.sleep(0.001)


def test_sigkill_at_random_moments_resumes_exactly_or_refuses(env, reference, tmp_path):
    """Four kills: two while checkpoints are written, two at random moments (a run and
    its resume cost two processes, seconds each: the suite's time)."""
    (params, history, steps), duration, _ = reference
    rng = np.random.default_rng(0)
    outcomes = []
    for i in range(4):
        out = tmp_path / f"kill{i}"
        process = gandyn(*ARGS, "--out", str(out), env=env)
        process.stderr.readline()
        if i % 2:  # a random moment of the run, starting up included
            time.sleep(rng.uniform(0.0, duration * 1.1))
        else:  # while checkpoints are being written (and renamed): after a random number
            # of them, counted by progress rather than by the clock, so that a run faster
            # than the reference (the reference may have shared the CPU) is still caught
            wait_for_checkpoints(out, process, count=int(rng.integers(1, 20)))
        process.kill()
        process.communicate()
        run_dir = run_folder(out)
        if run_dir is None:  # killed before the run folder existed
            outcomes.append("nothing")
            continue
        code, stdout, err = finish(gandyn("train", "--resume", str(run_dir), env=env))
        assert "Traceback" not in err + stdout
        if code == 0:
            resumed = results(run_dir)
            np.testing.assert_array_equal(resumed[0], params)
            assert resumed[1] == history and resumed[2] == steps
            outcomes.append("resumed")
        else:
            assert code == 2, err
            assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, err
            if "already has" in err:  # it had finished: its results are the reference's
                np.testing.assert_array_equal(results(run_dir)[0], params)
                outcomes.append("finished")
            else:
                assert "not a run folder with a checkpoint" in err, err
                outcomes.append("refused")
    assert outcomes[0::2] == ["resumed"] * 2, outcomes  # killed mid-run: always resumes


def test_a_damaged_checkpoint_is_refused(reference, tmp_path):
    """In the test process: the checkpoint is refused before anything is compiled."""
    from typer.testing import CliRunner

    from gandyn.cli import app

    run_dir = tmp_path / "run"  # a copy of the reference's finished run
    shutil.copytree(reference[2], run_dir)
    checkpoint = run_dir / "checkpoint.npz"
    whole = checkpoint.read_bytes()
    (run_dir / "metrics.json").unlink()
    for damaged, message in ((whole[: len(whole) // 2], "damaged or incomplete"),
                             (b"", "damaged or incomplete"),
                             (whole[:-300] + bytes(300), "damaged or incomplete")):
        checkpoint.write_bytes(damaged)
        result = CliRunner().invoke(app, ["train", "--resume", str(run_dir)])
        assert_one_line_error(result, message)
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_ctrl_c_before_the_first_checkpoint_keeps_nothing_and_says_so(env, tmp_path):
    out = tmp_path / "runs"
    process = gandyn(*ARGS, "--out", str(out), env=env)
    process.stderr.readline()
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process)
    if "Continue it with" in err:  # the machine was fast enough to checkpoint first
        pytest.skip("the first checkpoint came before the interrupt")
    assert code == 130
    assert "before the first checkpoint (every 5 steps): nothing was kept" in err
    assert not out.exists()


def test_ctrl_c_after_a_checkpoint_exits_130_with_the_resume_command(env, reference, tmp_path):
    # (`reference` filled the compile cache: the run reaches its first checkpoint soon)
    args = list(ARGS)
    args[args.index("--steps") + 1] = "2000"  # a single-valued option is given once
    process = gandyn(*args, "--out", str(tmp_path), env=env)
    process.stderr.readline()
    run_dir = None
    deadline = time.monotonic() + patient(120)
    while time.monotonic() < deadline:  # until the first checkpoint is on disk
        run_dir = run_folder(tmp_path)
        if run_dir is not None and (run_dir / "checkpoint.npz").exists():
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    code, _, err = finish(process)
    assert code == 130, err
    command = f"gandyn train --resume {run_dir}"
    assert command in err.splitlines(), err  # on one line of its own, unbroken
    assert "the run is kept at its checkpoint of step" in err


def test_ctrl_c_anywhere_else_says_interrupted(monkeypatch):
    """typer turns a Ctrl-C outside a command's own handling into a silent exit 130;
    gandyn says it (`Error: interrupted`), in one line, as for a Ctrl-C at a prompt."""
    from typer.testing import CliRunner

    from gandyn._spec import RunSpec
    from gandyn.cli import app

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunSpec, "train", interrupted)
    result = CliRunner().invoke(app, ["train", "--data", "ring8", "--steps", "10"])
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines() == ["Error: interrupted"], result.output


def test_ctrl_c_just_after_a_checkpoint_is_written_points_to_it(monkeypatch, tmp_path):
    """A Ctrl-C between the checkpoint file's rename and the run's note of it: the
    checkpoint on disk is what is kept, and the message gives the command to resume it
    (it said "nothing was kept")."""
    from typer.testing import CliRunner

    from gandyn import _train
    from gandyn.cli import app

    real = _train.save_checkpoint

    def then_interrupted(directory, state):
        real(directory, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(_train, "save_checkpoint", then_interrupted)
    result = CliRunner().invoke(app, ["train", "--data", "ring8", "--width", "8", "--depth", "1",
                                      "--batch", "32", "--steps", "20", "--log-every", "10",
                                      "--checkpoint-every", "5", "--no-gif", "--rotation-probes",
                                      "0", "--out", str(tmp_path)])
    assert result.exit_code == 130, result.output
    assert "the run is kept at its checkpoint of step 5" in result.output, result.output
    assert "gandyn train --resume" in result.output

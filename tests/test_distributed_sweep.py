"""Sweeps over several processes (`jax.distributed`, CPU collectives over gloo), in real
subprocesses: the same rows, bit for bit, from 1 process and from 2; a worker killed
mid-run leaves the other shards, and `--resume` completes the same rows; a coordinator
that cannot be reached ends in one line within the timeout."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DIRAC = ["sweep", "--loss", "sgan", "--loss", "wgan", "--reg", "none", "--reg", "r1=1",
         "--method", "altgd", "--step", "0.1", "--step", "0.3", "--seeds", "3", "--steps", "200"]
RING8 = ["sweep", "--data", "ring8", "--width", "8", "--depth", "1", "--batch", "32",
         "--steps", "60", "--log-every", "60", "--seeds", "2", "--loss", "nsgan",
         "--reg", "none", "--reg", "r1=1", "--step", "1e-3", "--step", "3e-3"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Subprocesses share a persistent compilation cache: after the first, each starts
    in seconds (the compiled programs, and so the numbers, are the same)."""
    return {**os.environ, "GANDYN_CACHE_DIR": str(tmp_path_factory.mktemp("gandyn-cache"))}


def _default_sigint() -> None:
    """A shell's background job inherits Ctrl-C as ignored; the child gets Python's default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def gandyn(*args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from gandyn.cli import main; main()", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def run(*args, env, timeout: float = 240) -> tuple[int, str, str]:
    process = gandyn(*args, env=env)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def folder(out: Path) -> Path:
    (found,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    return found


def rows(sweep: Path) -> list[dict]:
    return json.loads((sweep / "results.json").read_text())["rows"]


def test_dirac_sweep_same_rows_from_one_and_two_processes(tmp_path, env):
    code, _, err = run(*DIRAC, "--out", tmp_path / "one", env=env)
    assert code == 0, err
    code, out, err = run(*DIRAC, "--out", tmp_path / "two", "--processes", "2", "--timeout", "30",
                         env=env)
    assert code == 0, err
    one, two = folder(tmp_path / "one"), folder(tmp_path / "two")
    assert len(rows(two)) == 2 * 2 * 2 * 3
    assert rows(one) == rows(two)
    assert (one / "results.csv").read_bytes() == (two / "results.csv").read_bytes()
    # Each process wrote its own units' shards; both said how far they were.
    shards = [json.loads(p.read_text()) for p in sorted((two / "shards").glob("unit-*.json"))]
    assert sorted({s["process"] for s in shards}) == [0, 1]
    assert "process 0 rows:" in err and "process 1 rows:" in err
    assert "wrote" in out and "[Gloo]" not in out + err


def _worker(launcher: subprocess.Popen, process_id: int) -> int | None:
    """The pid of the launcher's worker `process_id` (from /proc), if it runs."""
    children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children")
    for pid in children.read_text().split() if children.exists() else []:
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--process-id" in args and args[args.index(b"--process-id") + 1] == str(process_id).encode():
            return int(pid)
    return None


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the workers in /proc")
def test_training_sweep_same_rows_and_resume_after_a_killed_worker(tmp_path, env):
    code, _, err = run(*RING8, "--out", tmp_path / "one", env=env)
    assert code == 0, err
    reference = rows(folder(tmp_path / "one"))
    assert len(reference) == 2 * 2 * 2 and all(r["steps_done"] == 60 for r in reference)
    assert {r["status"] for r in reference} <= {"trained", "partial", "failed"}

    launcher = gandyn(*RING8, "--out", tmp_path / "two", "--processes", "2", "--timeout", "30",
                      env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and launcher.poll() is None:
        # Mid-run: process 1 has written its first unit (of 2), not its second.
        worker = _worker(launcher, 1)
        if list((tmp_path / "two").glob("*/shards/unit-00001.json")) and worker is not None:
            os.kill(worker, signal.SIGKILL)
            break
        time.sleep(0.02)
    _, err = launcher.communicate(timeout=60)
    sweep = folder(tmp_path / "two")
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert launcher.returncode == 1, err
    assert errors == [f"Error: process 1 was killed by SIGKILL; stopped process 0; finished units "
                      f"are kept: continue with gandyn sweep --resume {sweep}"]
    kept = {p.name: json.loads(p.read_text()) for p in (sweep / "shards").glob("unit-*.json")}
    assert "unit-00001.json" in kept and "unit-00003.json" not in kept
    assert kept["unit-00001.json"]["process"] == 1
    assert not (sweep / "results.json").exists()

    # Resumed in one process: only the missing units run; the rows of both processes'
    # shards and the new ones are those of the one-process sweep, bit for bit.
    code, out, err = run("sweep", "--resume", sweep, env=env)
    assert code == 0, err
    assert rows(sweep) == reference
    assert (sweep / "results.csv").read_bytes() == (folder(tmp_path / "one") / "results.csv").read_bytes()
    for name, shard in kept.items():
        assert json.loads((sweep / "shards" / name).read_text()) == shard  # not run again


def test_unreachable_coordinator_fails_in_one_line_within_its_timeout(tmp_path, env):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    code, out, err = run("sweep", "--steps", "10", "--seeds", "1", "--out", tmp_path,
                         "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2",
                         "--process-id", "1", "--timeout", "2", env=env, timeout=120)
    elapsed = time.monotonic() - start
    assert code == 1
    assert err.strip().splitlines() == [f"Error: process 1 could not reach the coordinator at "
                                        f"127.0.0.1:{port} within 2 s"]
    # The timeout plus two interpreters' start-up (a loaded machine), never a hang.
    assert elapsed < 60
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--data", "nosuch"], "unknown data 'nosuch'"),
    (["--data", "ring8", "--step", "1e-3", "--step", "0.001"], "twice"),
    (["--data", "ring8", "--reg", "r1=x"], "r1=x"),
    (["--data", "ring8", "--game", "dirac"], "takes no --game"),
    (["--coordinator", "localhost:1234"], "go together"),
    (["--coordinator", "nohost", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "--process-id must be"),
    (["--processes", "2", "--distributed"], "starts local workers itself"),
    (["--processes", "0"], "--processes must be"),
])
def test_bad_training_or_distributed_options_are_one_line_errors(tmp_path, args, message):
    from typer.testing import CliRunner

    from gandyn.cli import app

    result = CliRunner().invoke(app, ["sweep", *args, "--out", str(tmp_path)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert message in lines[0]
    assert not any(tmp_path.iterdir())  # nothing was created


def test_training_sweep_spec_holds_train_settings():
    """Every configuration is `gandyn train`'s own settings; a one-value field may be
    given bare; the grid is the product; seeds are a count trained at once."""
    from gandyn._train_sweep import TrainSweepSpec

    spec = TrainSweepSpec.from_dict({"data": "ring8", "widths": [8, 16], "depths": 1,
                                     "regularizers": ["none", "r1=1+consensus=0.5"],
                                     "step_sizes": [1e-3, 2e-3], "seeds": 3, "steps": 50})
    configs = spec.configurations()
    assert len(configs) == 2 * 2 * 2 and spec.size() == 24 and len(spec.units()) == 8
    key, settings = configs[-1]
    assert key == ("ring8", 16, 1, "nsgan", "r1=1+consensus=0.5", "adam", 2e-3)
    assert settings.regularizers == ("r1=1", "consensus=0.5") and settings.seeds == 3
    assert settings.width == 16 and settings.depth == 1 and settings.steps == 50
    assert settings.latent == 2 and settings.batch == 256  # train's defaults for a toy target
    assert TrainSweepSpec.from_dict(spec.to_dict()) == spec


def test_coordination_service_attributes_exist():
    """`gandyn._coordination` reaches JAX's coordination client the way
    `multihost_utils` does (JAX has no public barrier or key-value store): a JAX release
    that moves it fails here, not in a user's sweep."""
    from jax._src.lib import _jax  # the test may look inside JAX; gandyn does not
    from jax.experimental import multihost_utils

    from gandyn import _coordination

    state = _coordination.state()
    assert state is multihost_utils.distributed.global_state and hasattr(state, "client")
    for method in _coordination.CLIENT_METHODS:
        assert callable(getattr(_jax.DistributedRuntimeClient, method, None)), method

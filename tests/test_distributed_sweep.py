"""Sweeps over several processes (`jax.distributed`'s coordination service), in real
subprocesses: the same rows, bit for bit, from 1 process and from 2; the processes share
the compile cache; a worker killed mid-run leaves the other shards, and `--resume`
completes the same rows; a coordinator that cannot be reached ends in one line within
the timeout."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import patient

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
    """`(exit code, stdout, stderr)`, waited for at most `timeout` s on an idle machine
    scaled by its slowness now (`helpers.patient`: a 200-step ring-8 run spent 187 s
    compiling at load 6–13 on 2 cores); only a hang should fail here."""
    process = gandyn(*args, env=env)
    out, err = process.communicate(timeout=patient(timeout))
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

    # A shard cut short: `--resume --processes 2` refuses it in one line naming it, and
    # ends (it hung: the failed worker's exit waited at JAX's shutdown barrier for the
    # others, which waited at theirs for its share).
    damaged = two / "shards" / "unit-00001.json"
    damaged.write_bytes(damaged.read_bytes()[:60])
    code, _, err = run("sweep", "--resume", two, "--processes", "2", "--timeout", "30", env=env,
                       timeout=120)
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert code == 2 and len(errors) == 1, err
    assert errors[0].startswith(f"Error: process 1: shard {str(damaged)!r} is not valid JSON")
    assert "remove it to run its unit again; stopped process 0" in errors[0]


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
    deadline = time.monotonic() + patient(180)
    while time.monotonic() < deadline and launcher.poll() is None:
        # Mid-run: process 1 has written its first unit (of 2), not its second.
        worker = _worker(launcher, 1)
        if list((tmp_path / "two").glob("*/shards/unit-00001.json")) and worker is not None:
            os.kill(worker, signal.SIGKILL)
            break
        time.sleep(0.02)
    _, err = launcher.communicate(timeout=patient(60))
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
    # The timeout plus two interpreters' start-up (scaled on a loaded machine), never a hang.
    assert elapsed < patient(60)
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
    """Every configuration is `gandyn train`'s own run description (a training run's
    `RunSpec`); a one-value field may be given bare; the grid is the product; seeds are
    a count trained at once."""
    import gandyn as gd
    from gandyn._train_sweep import TrainSweepSpec

    spec = TrainSweepSpec.from_dict({"data": "ring8", "widths": [8, 16], "depths": 1,
                                     "regularizers": ["none", "r1=1+consensus=0.5"],
                                     "step_sizes": [1e-3, 2e-3], "seeds": 3, "steps": 50})
    configs = spec.configurations()
    assert len(configs) == 2 * 2 * 2 and spec.size() == 24 and len(spec.units()) == 8
    key, settings = configs[-1]
    assert key == ("ring8", 16, 1, "nsgan", "r1=1+consensus=0.5", "adam", 2e-3)
    assert settings.regularizers == ("r1=1", "consensus=0.5") and settings.seeds == 3
    assert settings == gd.RunSpec.train(data="ring8", width=16, depth=1, steps=50, seeds=3,
                                        step=2e-3, regularizers=("r1=1", "consensus=0.5"),
                                        gif=False)
    assert settings.options["latent"] == 2 and settings.options["batch"] == 256  # train's defaults
    assert TrainSweepSpec.from_dict(spec.to_dict()) == spec


def test_coordination_service_attributes_exist():
    """`gandyn._coordination` reaches JAX's coordination client the way
    `multihost_utils` does (JAX has no public barrier or key-value store): a JAX release
    that moves it fails here, not in a user's sweep."""
    from jax._src.lib import _jax  # the test may look inside JAX; gandyn does not
    from jax.experimental import multihost_utils

    from gandyn import _coordination

    state = _coordination.state()
    assert state is multihost_utils.distributed.global_state
    for field in _coordination.STATE_FIELDS:
        assert hasattr(state, field), field
    for method in _coordination.CLIENT_METHODS:
        assert callable(getattr(_jax.DistributedRuntimeClient, method, None)), method
    assert callable(getattr(_jax.DistributedRuntimeService, "shutdown", None))


# A worker as a sweep starts it (`_shards.initialize`), compiling programs with JAX's
# persistent cache in argv[3]: `f` always, `only_1` in process 1. It prints what it saw.
WORKER = """
import json, sys
import jax, jax.numpy as jnp
coordinator, process = sys.argv[1], int(sys.argv[2])
if coordinator != "alone":
    from gandyn import _shards
    process, processes = _shards.initialize(coordinator, 2, process, timeout=30)
jax.config.update("jax_compilation_cache_dir", sys.argv[3])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
events = []
jax.monitoring.register_event_listener(lambda name, **kwargs: events.append(name))
def f(x):
    return jnp.sin(x) * 2
def only_1(x):
    return jnp.cos(x) + 1
x = jnp.arange(3.0)
jax.block_until_ready(jax.jit(f)(x))
seen = {"devices": [d.id for d in jax.devices()], "processes": jax.process_count(),
        "hits": events.count("/jax/compilation_cache/cache_hits"),
        "misses": events.count("/jax/compilation_cache/cache_misses")}
if process == 1:
    jax.block_until_ready(jax.jit(only_1)(x))
if coordinator != "alone":
    _shards.barrier("compiled")
print(json.dumps(seen))
"""


def test_worker_processes_share_the_compile_cache(tmp_path):
    """A sweep's processes compute the compile-cache keys a lone process computes
    (JAX single-process in each: one device, id 0), so programs compiled by an earlier
    run are loaded, not compiled, by process 0 and process 1 alike; and process 1
    writes what it compiles (JAX writes from process 0 only when it is multi-process:
    every process but the first compiled every program again, on every run)."""
    from gandyn.cli._workers import free_port

    cache = tmp_path / "xla"
    env = {**os.environ, "GANDYN_COMPILE_CACHE": "0"}

    def start(coordinator, process):
        return subprocess.Popen([sys.executable, "-c", WORKER, coordinator, str(process),
                                 str(cache)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def seen(worker):
        out, err = worker.communicate(timeout=patient(120))
        assert worker.returncode == 0, err[-2000:]
        return json.loads(out.strip().splitlines()[-1])

    alone = seen(start("alone", 0))
    assert alone["misses"] > 0 and alone["hits"] == 0
    assert not list(cache.glob("jit_only_1-*"))
    coordinator = f"127.0.0.1:{free_port()}"
    workers = [start(coordinator, p) for p in (0, 1)]
    for found in [seen(w) for w in workers]:
        assert found["devices"] == [0] and found["processes"] == 1
        assert found["misses"] == 0 and found["hits"] == alone["misses"], found
    assert len(list(cache.glob("jit_only_1-*"))) == 1  # written by process 1


def test_shard_rows_with_impossible_statuses_or_types_are_refused(tmp_path):
    """A shard is read back as untrusted: each row's status must be a run's, its numbers
    of their type and range; a one-line refusal naming the shard, the row and the field."""
    from gandyn import _shards
    from gandyn._sweep import SweepSpec

    spec = SweepSpec.from_dict({"losses": ["wgan"], "regularizers": ["none"],
                                "methods": ["altgd"], "step_sizes": [0.1], "seeds": 2,
                                "steps": 50})
    (keys, _), = spec.units()
    good = [{"loss": loss, "regularizer": reg, "method": method, "step": step, "seed": seed,
             "init": [1.0, 0.5], "status": "cycling", "diverged_at": None,
             "final_distance": 1.0, "final_speed": 1.0, "rate": 1.0}
            for loss, reg, method, step, seed in keys]
    path = _shards.shard_path(tmp_path, 0)
    path.parent.mkdir(parents=True)
    for change, problem in [({}, None),
                            ({"status": "exploded"}, 'status "exploded" is not one of: converged'),
                            ({"status": 3}, "status 3 is not one of"),
                            ({"diverged_at": 51}, "diverged_at 51 is out of its range or type"),
                            ({"diverged_at": 2.5}, "diverged_at 2.5 is out of its range"),
                            ({"rate": "fast"}, 'rate "fast" is out of its range or type'),
                            ({"init": [1.0, "x"]}, "init [1.0, \"x\"] is not a list of finite"),
                            ({"final_speed": True}, "final_speed true is out of its range")]:
        rows = [good[0], {**good[1], **change}]
        path.write_text(json.dumps({"unit": 0, "process": 0, "processes": 1, "rows": rows}))
        if problem is None:
            assert _shards.missing_units(spec, tmp_path) == []
            continue
        with pytest.raises(ValueError) as error:
            _shards.missing_units(spec, tmp_path)
        assert str(error.value).startswith(f"shard {str(path)!r} row 1: {problem}")
        assert str(error.value).endswith("; remove it to run its unit again")


def test_processes_are_bounded_by_the_machine(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gandyn.cli import _workers, app

    monkeypatch.setattr(_workers, "cores", lambda: 2)
    result = CliRunner().invoke(app, ["sweep", "--processes", "64", "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "Error: --processes 64 is more than the 2 cores this machine gives gandyn; give at "
        "most 2"]
    monkeypatch.setattr(_workers, "cores", lambda: 64)
    monkeypatch.setenv("GANDYN_MEMORY_LIMIT", "2G")
    result = CliRunner().invoke(app, ["sweep", "--processes", "3", "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "Error: --processes 3 would need about 2.25 GiB (768 MiB per worker), more than the "
        "memory limit of 2 GiB (gandyn --memory-limit); give at most 2"]
    assert not any(tmp_path.iterdir())


def test_a_coordinator_port_in_use_is_named(tmp_path):
    import socket

    from typer.testing import CliRunner

    from gandyn.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["sweep", "--coordinator", f"127.0.0.1:{port}",
                                          "--num-processes", "2", "--process-id", "0",
                                          "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        f"Error: --coordinator port {port} is already in use on this machine; process 0 serves "
        f"the coordinator there: choose a free port"]
    assert not any(tmp_path.iterdir())


def test_a_worker_stuck_joining_is_stopped_past_its_timeout(monkeypatch):
    """A worker that said it was joining and never did (JAX's runtime should have ended
    it at its timeout) is stopped by its parent at the timeout plus `GRACE` (1 s here):
    one line, exit 1, long before the 60 s the stand-in worker would sleep."""
    from gandyn.cli import _workers

    script = (f"import sys, time; print({_workers.JOINING!r}, file=sys.stderr, flush=True); "
              f"time.sleep(60)")
    monkeypatch.setattr(_workers, "command", lambda args: [sys.executable, "-c", script])
    monkeypatch.setattr(_workers, "GRACE", 1)
    start = time.monotonic()
    code, message, _ = _workers.run_workers([[]], ["process 1"], coordinator="127.0.0.1:9",
                                            timeout=1)
    assert (code, message) == (1, "process 1 could not reach the coordinator at 127.0.0.1:9 "
                                  "within 1 s")
    assert time.monotonic() - start < patient(30)

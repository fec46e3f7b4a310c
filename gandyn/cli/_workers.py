"""Worker processes of a sweep: started here on one machine (`--processes N`), or one
per machine under a cluster's launcher, each watched by a thin parent that turns the
JAX runtime's end of a worker (it aborts a process that cannot reach the coordinator or
that lost another) into one line naming the process."""

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

PROGRESS = re.compile(r"^process (\d+) rows: (\d+)/(\d+)")
JOINING, JOINED = "gandyn: joining the other processes", "gandyn: joined the other processes"
"""What a worker says on stderr (kept in its log, not shown) around joining the others."""
GRACE = 10
"""Seconds past `--timeout` that a worker may take to join the others (JAX's runtime
ends it at its timeout; the grace covers a loaded machine) before it is stopped."""
WORKER_BYTES = 768 * 2**20
"""Memory one worker process holds on a small sweep (Python, JAX and its compiled
programs: 690 MB measured on a ring-8 training sweep): `--processes` is bounded by
the memory limit with it."""
_FORWARD = ("process ", "wrote ", "finishing", "warning")  # a worker's "Error:" is summed up


def _default_sigint() -> None:  # a background launch inherits Ctrl-C as ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


PIN_ENV = "GANDYN_PIN_WORKERS"
"""`1` pins each local worker to its share of the cores. Off by default: on the shared
2-core machine it changed nothing measurable (benchmarks/README.md, issue 40), and a
pinned worker cannot move off a core that another job keeps busy."""


def share_of_cores(index: int, count: int) -> set[int] | None:
    """The cores worker `index` of `count` on this machine is pinned to: a contiguous
    `1/count` of this process's cores (XLA sizes its thread pools by them, so workers do
    not oversubscribe the machine and a worker's caches stay its own). None where
    pinning is off (unless `$GANDYN_PIN_WORKERS=1`), unsupported, or there are fewer
    cores than workers."""
    if os.environ.get(PIN_ENV, "0").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    try:
        available = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    if count < 2 or count > len(available):
        return None
    return set(available[index * len(available) // count:(index + 1) * len(available) // count])


def _start_worker(cores: set[int] | None):
    def start() -> None:
        _default_sigint()
        if cores:
            try:
                os.sched_setaffinity(0, cores)
            except OSError:
                pass  # pinning is a speed-up, never a reason to fail
    return start


def cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_processes(processes: int) -> str | None:
    """Why this machine cannot run `processes` workers (more than its cores, or more
    memory than the limit allows at `WORKER_BYTES` each), or None."""
    from .._budget import format_bytes, memory_limit

    if processes > cores():
        return (f"--processes {processes} is more than the {cores()} cores this machine gives "
                f"gandyn; give at most {cores()}")
    limit = memory_limit()
    if processes * WORKER_BYTES > limit:
        need = format_bytes(processes * WORKER_BYTES)
        return (f"--processes {processes} would need about {need} "
                f"({format_bytes(WORKER_BYTES)} per worker), more than the memory limit of "
                f"{format_bytes(limit)} (gandyn --memory-limit); give at most "
                f"{max(1, limit // WORKER_BYTES)}")
    return None


def port_in_use(port: int) -> bool:
    """Whether a TCP `port` of this machine is taken (a listener on any address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("", port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "from gandyn.cli import main; main()", *map(str, args)]


def diagnose(label: str, code: int, lines: list[str], coordinator: str | None, timeout: int) -> str:
    """One line saying why worker `label` ended with exit status `code`."""
    errors = [line for line in lines if line.startswith("Error:")]
    if errors:
        return f"{label}: {errors[-1].removeprefix('Error:').strip()}"
    text = "\n".join(lines)
    lost = re.search(r"stopped sending heartbeats\):\s*([\d,\s]+?)\s*(?:\n[A-Z]|\Z|The tasks)", text)
    if lost:
        ids = ", ".join(i for i in re.split(r"[\s,]+", lost.group(1)) if i)
        return (f"{label} stopped: JAX's runtime lost process {ids} (no heartbeat within "
                f"{timeout} s)")
    where = f" at {coordinator}" if coordinator else ""
    if "RegisterTask" in text or "Connect()" in text:
        return f"{label} could not reach the coordinator{where} within {timeout} s"
    if "Socket closed" in text or "UNAVAILABLE" in text:
        return f"{label} lost the coordinator{where} (process 0 ended)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"{label} was killed by {name}"
    tail = [line for line in lines if line.strip() and not line.startswith((" ", "***"))]
    return f"{label} ended with exit status {code}" + (f": {tail[-1][:160]}" if tail else "")


def run_workers(args: list[list[str]], labels: list[str], *, coordinator: str | None, timeout: int,
                logs: Path | None = None,
                pin: bool = False) -> tuple[int, str | None, Path | None]:
    """Start one worker per argument list and wait for all. Their progress lines go to
    stderr (a live line per process on a terminal); everything else they write on
    stderr (JAX's runtime logs) is kept in `logs/<label>.log`. When one fails, the
    others are stopped: `(exit status, one line naming the first failed worker, the
    sweep folder if known)`; `(0, None, folder)` when all succeed. `pin`: each worker on
    its share of the cores (`share_of_cores`)."""
    from ._common import progress_bar

    shares = [share_of_cores(i, len(args)) if pin else None for i in range(len(args))]
    procs = [subprocess.Popen(command(a), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              bufsize=1, preexec_fn=_start_worker(cores))
             for a, cores in zip(args, shares)]
    outputs: list[list[str]] = [[] for _ in procs]
    joining: dict[int, float] = {}  # when each worker began to join the others, until it did
    stalled: list[int] = []
    lock = threading.Lock()
    folder = [logs]

    with progress_bar(interval=0) as bar:
        tasks = {}

        def forward(i: int, line: str) -> None:
            match = PROGRESS.match(line)
            with lock:
                if match and hasattr(bar, "columns"):  # a terminal: one live line per process
                    p, done, total = match.groups()
                    if p not in tasks:
                        tasks[p] = bar.add_task(f"process {p}", total=int(total))
                    bar.update(tasks[p], completed=int(done), total=int(total),
                               description=line.split(" · ", 1)[-1] if " · " in line else f"process {p}")
                else:
                    print(line, file=sys.stderr, flush=True)
            found = re.match(r"^process \d+: sweep folder (.+)$", line)
            if found and folder[0] is None:
                folder[0] = Path(found.group(1)) / "logs"

        def read(i: int) -> None:
            for line in procs[i].stderr:
                line = line.rstrip("\n")
                outputs[i].append(line)
                if line == JOINING:
                    joining[i] = time.monotonic()
                elif line == JOINED:
                    joining.pop(i, None)
                if line.startswith(_FORWARD):
                    forward(i, line)

        def copy_out(i: int) -> None:  # the report (process 0's), without gloo's chatter
            for line in procs[i].stdout:
                if not line.startswith("[Gloo]"):
                    with lock:
                        sys.stdout.write(line)
                        sys.stdout.flush()

        readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(procs))]
        readers += [threading.Thread(target=copy_out, args=(i,), daemon=True) for i in range(len(procs))]
        for r in readers:
            r.start()
        failed = None
        try:
            while failed is None and any(p.poll() is None for p in procs):
                for i, p in enumerate(procs):
                    if p.poll() not in (None, 0):
                        failed = i
                        break
                    began = joining.get(i)
                    if p.poll() is None and began is not None \
                            and time.monotonic() - began > timeout + GRACE:
                        stalled.append(i)  # JAX's runtime did not end it: the parent does
                        failed = i
                        break
                time.sleep(0.1)
            if failed is None:
                failed = next((i for i, p in enumerate(procs) if p.returncode != 0), None)
        except KeyboardInterrupt:
            _stop(procs)
            for r in readers:
                r.join(timeout=5)
            _save_logs(folder[0], labels, outputs)
            return 130, "interrupted", _sweep_folder(folder[0])
        _stop(procs)
        for r in readers:
            r.join(timeout=5)
    _save_logs(folder[0], labels, outputs)
    if failed is None:
        return 0, None, _sweep_folder(folder[0])
    code = procs[failed].returncode
    if failed in stalled:
        where = f" at {coordinator}" if coordinator else ""
        message = f"{labels[failed]} could not reach the coordinator{where} within {timeout} s"
    else:
        message = diagnose(labels[failed], code, outputs[failed], coordinator, timeout)
    others = [labels[i] for i, p in enumerate(procs) if i != failed]
    if others:
        message += f"; stopped {', '.join(others)}"
    code = 2 if code == 2 and any(line.startswith("Error:") for line in outputs[failed]) else 1
    return code, message, _sweep_folder(folder[0])


def _sweep_folder(logs: Path | None) -> Path | None:
    return None if logs is None else logs.parent


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + 5
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _save_logs(folder: Path | None, labels: list[str], outputs: list[list[str]]) -> None:
    """Each worker's stderr in `folder/<label>.log` (if the sweep folder is known)."""
    if folder is None or not folder.parent.is_dir():
        return
    from .._io import atomic_write

    try:
        folder.mkdir(exist_ok=True)
        for label, lines in zip(labels, outputs):
            atomic_write(folder / f"{label.replace(' ', '-')}.log", "\n".join(lines) + "\n")
    except OSError:
        pass  # the logs are a courtesy; the error line already said what happened

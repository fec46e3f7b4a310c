import gc
import os

import jax
import pytest


jax.config.update("jax_enable_x64", True)
# JAX's persistent compile cache is never read or written by the test process itself
# (the user's cache stays the user's); subprocesses keep theirs.
jax.config.update("jax_enable_compilation_cache", False)


MAPS_SHARE = 0.15
"""Compiled programs are released once the process holds this share of Linux's memory maps."""
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
RSS_LIMIT = (2 if WORKERS == 1 else 1.25) * 2**30
"""… or this much resident memory per process (the suite's goal is at most 3 GB)."""

LONGEST_FIRST = ("test_images.py", "test_crash.py", "test_colab_pacgan.py", "test_second_order.py",
                 "test_distributed_sweep.py", "test_peers.py", "test_landscape.py",
                 "test_hostile_cli.py", "test_train.py", "test_performance.py",
                 "test_simulate.py", "test_reliability.py", "test_bifurcation.py",
                 "test_modified.py", "test_recorder.py", "test_explore_browser.py", "test_su.py",
                 "test_runspec.py", "test_plugins.py", "test_explore_api.py", "test_slice.py",
                 "test_games.py", "test_sweep.py")
"""The files that take longest (measured, seconds of one worker), handed out first, so
that the two worker processes (`addopts` in pyproject.toml) finish together: xdist
keeps this order with `--no-loadscope-reorder` (by default it hands out the files with
the most tests first, and the 6 long tests of test_crash.py came last)."""


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the files' own order otherwise, the same in every process


def _resident_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Every compiled XLA program holds a few memory maps of machine code; the suite
    compiles tens of thousands, and a process past Linux's 65,530 maps
    (`vm.max_map_count`) segfaults inside the compiler. After each test module the
    programs are released once the process holds 15% of the allowed maps (about
    10,000) or 2 GiB, with gandyn's own `release_compiled_programs` (as its long jobs
    do); below that they are kept, so that a later module running the same program
    does not compile it again. (`MAPS_SHARE = 0` releases them after every module.)"""
    yield
    from gandyn._budget import release_compiled_programs  # after x64 is on

    released = release_compiled_programs(MAPS_SHARE)
    if not released and _resident_bytes() > RSS_LIMIT:
        jax.clear_caches()
        gc.collect()
        released = True
    if released:
        _return_freed_memory()


def _return_freed_memory() -> None:
    """glibc keeps freed memory for reuse; `malloc_trim(0)` gives it back to the system,
    so that a worker's resident size falls after its programs are released."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@pytest.fixture(autouse=True)
def _double_precision():
    """Tests run in float64 (as diffrax's do); a test may switch it off locally."""
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", True)


def pytest_configure(config):
    config.addinivalue_line("markers", "real_compile_cache: the CLI may turn on its compile cache "
                            "in the test process")


@pytest.fixture(autouse=True)
def _no_compile_cache_in_process(request, monkeypatch):
    """Commands invoked in the test process leave JAX's persistent compile cache off:
    once on, it would write every later test's programs to the user's cache (a crash
    was seen in JAX's cache writer after hundreds of them). Subprocesses are unaffected;
    tests of the cache itself are marked `real_compile_cache`."""
    if request.node.get_closest_marker("real_compile_cache") is None:
        from gandyn.cli import _common

        monkeypatch.setattr(_common, "use_compile_cache", lambda enabled=True: None)
        jax.config.update("jax_enable_compilation_cache", False)
        yield
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        yield
        from gandyn import _program_cache

        _program_cache.disable()  # a test that turned the program cache on leaves it off

import jax
import pytest


jax.config.update("jax_enable_x64", True)
# JAX's persistent compile cache is never read or written by the test process itself
# (twice a crash inside JAX's cache reader/writer was seen late in the suite);
# subprocesses keep theirs.
jax.config.update("jax_enable_compilation_cache", False)


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

import jax
import pytest


jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True)
def _double_precision():
    """Tests run in float64 (as diffrax's do); a test may switch it off locally."""
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", True)

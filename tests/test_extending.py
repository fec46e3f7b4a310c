"""Extending gandyn without editing it: a new game, a new method and a new loss, each
defined here and registered in one call, run through `simulate`, `eigen`'s analysis
(with the method's own stability function) and `sweep` — as docs/extending.md shows."""

import json
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import gandyn as gd
from gandyn.cli import app
from gandyn.losses import AbstractLoss


class DoubleWGAN(AbstractLoss):
    """WGAN scaled by 2: on the Dirac-GAN the rotation speed a = f'(0) doubles."""

    name = "double-wgan"
    description = "2 × the WGAN loss"

    def discriminator(self, real_logits, fake_logits):
        return 2 * (jnp.mean(fake_logits) - jnp.mean(real_logits))

    def generator(self, real_logits, fake_logits):
        return -2 * jnp.mean(fake_logits)


class MidpointGD(gd.AbstractStepMethod):
    """y' = y + h v(y + (h/2) v(y)): the explicit midpoint rule, R(z) = 1 + z + z²/2."""

    def evaluations(self):
        return 2

    def stability_function(self):
        return lambda z: np.abs(1 + np.asarray(z) + np.asarray(z) ** 2 / 2)

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        half = jax_axpy(h / 2, game.field(y, key), y)
        return jax_axpy(h, game.field(half, key), y), state


def jax_axpy(a, x, y):
    import jax

    return jax.tree_util.tree_map(lambda xi, yi: a * xi + yi, x, y)


class Rotation(gd.AbstractGame):
    """L_1 = ω·xy, L_2 = −ω·xy: a rotation at speed ω."""

    omega: float = 3.0

    def init(self, key=None):
        return gd.Players(jnp.array(1.0), jnp.array(0.0))

    def losses(self, players, key=None):
        value = self.omega * players.first * players.second
        return value, -value

    def equilibrium(self):
        return gd.Players(jnp.array(0.0), jnp.array(0.0))


@pytest.fixture(scope="module", autouse=True)
def registered():
    gd.losses.register("double-wgan", DoubleWGAN.description, DoubleWGAN)
    gd.methods.register("midpoint-gd", "explicit midpoint rule, by hand", MidpointGD)
    gd.games.register("rotation", "ω·xy, zero-sum", lambda omega=3.0: Rotation(omega))
    yield
    gd.losses.registry.unregister("double-wgan")
    gd.methods.registry.unregister("midpoint-gd")
    gd.games.registry.unregister("rotation")


def test_a_new_loss_method_and_game_run_through_simulate():
    game = gd.games.get("rotation", omega=3.0)
    method = gd.methods.get("midpoint-gd")
    y0 = gd.Players(jnp.array([1.0]), jnp.array([0.0]))
    solution = gd.simulate(game, method, y0, h=0.1, steps=500)
    # The measured growth per step is the method's own |R(hλ)| at λ = 3i.
    assert float(solution.rate[0]) == pytest.approx(abs(1 + 0.3j + (0.3j) ** 2 / 2), rel=1e-6)
    dirac = gd.DiracGAN(gd.losses.get("double-wgan"))
    np.testing.assert_allclose(gd.eigenvalues(dirac, dirac.equilibrium()), [2j, -2j], atol=1e-12)


def test_eigen_uses_the_methods_own_stability_function(tmp_path):
    game = gd.games.get("rotation")
    report = gd._analysis.stability_report(game, {"midpoint-gd": gd.methods.get("midpoint-gd")}, 0.1)
    row = report["methods"]["midpoint-gd"]
    assert row["growth_per_step"] == pytest.approx(abs(1 + 0.3j + (0.3j) ** 2 / 2), rel=1e-12)
    assert row["verdict"] == "diverges"  # |1 + iy − y²/2|² = 1 + y⁴/4 > 1
    result = CliRunner().invoke(app, ["eigen", "--game", "rotation", "-m", "midpoint-gd", "-m", "rk4",
                                      "--step", "0.1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    methods = json.loads((run_dir / "eigen.json").read_text())["results"]["rotation"]["methods"]
    assert methods["midpoint-gd"]["verdict"] == "diverges" and methods["rk4"]["verdict"] == "converges"


def test_the_cli_lists_and_runs_them(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "-l", "double-wgan", "-m", "midpoint-gd", "--step",
                                      "0.1", "--steps", "200", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    (row,) = json.loads((run_dir / "metrics.json").read_text())["results"]
    assert row["loss"] == "double-wgan" and row["method"] == "midpoint-gd"
    assert row["rate"] == pytest.approx(abs(1 + 0.2j + (0.2j) ** 2 / 2), rel=1e-6)


def test_a_users_module_function_game_from_the_cli(tmp_path, monkeypatch):
    (tmp_path / "user_games.py").write_text(
        "import gandyn as gd\n"
        "def spin(dim: int = 1):\n"
        "    return gd.Bilinear([[2.0]])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("user_games", None)
    result = CliRunner().invoke(app, ["simulate", "--game", "user_games:spin", "-m", "extragradient",
                                      "--step", "0.2", "--steps", "2000", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    (row,) = json.loads((run_dir / "metrics.json").read_text())["results"]
    assert row["status"] == "converged"
    assert row["rate"] == pytest.approx(abs(1 + 0.4j + (0.4j) ** 2), rel=1e-6)


def test_a_new_loss_and_method_in_a_sweep(tmp_path):
    spec = gd.SweepSpec(losses=("double-wgan",), regularizers=("none",), methods=("midpoint-gd",),
                        step_sizes=(0.1,), seeds=(0,), steps=100)
    rows = gd.run_sweep(spec, tmp_path)
    (row,) = rows
    assert row["loss"] == "double-wgan" and row["method"] == "midpoint-gd"
    assert row["rate"] == pytest.approx(abs(1 + 0.2j + (0.2j) ** 2 / 2), rel=1e-5)

"""The minibatch SDE (`gd.minibatch_sde`): its per-example covariance against a hand
formula, Euler–Maruyama's weak order on a linear game against the Ornstein–Uhlenbeck
closed forms, and the command line's `sde:NAME`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from helpers import assert_one_line_error
from jax.flatten_util import ravel_pytree
from typer.testing import CliRunner

import gandyn as gd
from gandyn._sde import with_batch
from gandyn.cli import app


class NoisyLinear(gd.AbstractGame):
    r"""`L₁ = a x²/2 + x y − s x ξ̄₁`, `L₂ = a y²/2 − x y − s y ξ̄₂`, `ξ̄` the mean of
    `batch_size` standard normal pairs: the field `v = A(x, y) + s ξ̄` is linear with
    `A = [[−a, −1], [1, −a]]` (a damped rotation) and additive noise, so its SDE is an
    Ornstein–Uhlenbeck process."""

    a: float = 1.0
    s: float = 1.0
    batch_size: int = eqx.field(static=True, default=1)

    def init(self, key=None):
        return gd.Players(jnp.asarray(1.0), jnp.asarray(-0.5))

    def losses(self, players, key=None):
        xi = jnp.mean(jax.random.normal(key, (self.batch_size, 2)), axis=0)
        x, y = players.generator, players.discriminator
        return (self.a * x**2 / 2 + x * y - self.s * x * xi[0],
                self.a * y**2 / 2 - x * y - self.s * y * xi[1])


def _ou_moments(sde, x0, t1):
    """The SDE's exact mean and covariance at `t1` from its own (linear) drift and
    (constant) diffusion: `m = x* + e^{AT}(x0 − x*)`, `P = X − e^{AT} X e^{AᵀT}` with
    `AX + XAᵀ + GGᵀ = 0` (Lyapunov)."""
    unravel = ravel_pytree(sde.sampled.init())[1]
    drift = lambda x: ravel_pytree(sde.drift(unravel(x)))[0]  # noqa: E731
    a = np.asarray(jax.jacfwd(drift)(jnp.zeros(2)))
    b = np.asarray(drift(jnp.zeros(2)))
    g = np.asarray(sde.diffusion(unravel(jnp.zeros(2))))
    star = -np.linalg.solve(a, b)
    e = scipy.linalg.expm(a * t1)
    x = scipy.linalg.solve_continuous_lyapunov(a, -g @ g.T)
    return a, g, star + e @ (x0 - star), x - e @ x @ e.T


def test_euler_maruyama_has_weak_order_one_on_a_linear_game():
    """Mean and covariance at T = 1 of 2¹⁷ Euler–Maruyama paths of the SDE of
    simultaneous GD (h = 1, B = 1) on `NoisyLinear`, against the Ornstein–Uhlenbeck
    closed forms: their errors shrink as O(dt) (log-log slope ≈ 1) over dt = 1/2…1/16.
    The smallest error is ≥ 8 Monte Carlo standard errors, so the slope holds on any
    seed."""
    game = NoisyLinear()
    sde = gd.minibatch_sde(game, gd.SimultaneousGD(), 1.0, 1, examples=2)
    x0 = np.asarray(ravel_pytree(game.init())[0])
    a, g, mean, cov = _ou_moments(sde, x0, 1.0)
    np.testing.assert_allclose(a, [[-1.0, -1.0], [1.0, -1.0]], atol=1e-12)
    # The diffusion is the same everywhere (additive noise).
    np.testing.assert_allclose(np.asarray(sde.diffusion(game.init())), g, atol=1e-12)
    paths = 2**17
    dts = [1 / 2, 1 / 4, 1 / 8, 1 / 16]
    mean_errors, cov_errors = [], []
    for dt in dts:
        sol = sde.solve(game.init(), t1=1.0, dt=dt, seeds=paths, key=jax.random.key(3))
        xs = np.stack([np.asarray(sol.ys.generator[:, -1]),
                       np.asarray(sol.ys.discriminator[:, -1])], axis=1)
        mean_errors.append(np.linalg.norm(xs.mean(0) - mean))
        cov_errors.append(np.linalg.norm(np.cov(xs.T) - cov))
    standard_error = np.sqrt(np.trace(cov) / paths)
    assert min(mean_errors) > 8 * standard_error, (mean_errors, standard_error)
    assert min(cov_errors) > 8 * np.trace(cov) * np.sqrt(2 / paths), (cov_errors, cov)
    for errors in (mean_errors, cov_errors):
        slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
        assert 0.85 < slope < 1.3, (errors, slope)


def test_covariance_is_the_per_example_covariance_of_the_fixed_sample():
    """On the Gaussian game with the WGAN loss the field of one example (x, z) is, by
    hand, `(w₁ + 2w₂f, (w₁ + 2w₂f)z, x − f, x² − f²)` with `f = μ + σz`: the SDE's
    covariance is their covariance over its fixed examples, and its diffusion the
    factor of `h/B` times it, to 1e-12."""
    game = gd.GaussianGAN(gd.losses.WGAN(), mean=0.5, std=1.5, nodes=None, batch_size=32)
    h, batch = 0.2, 8
    sde = gd.minibatch_sde(game, gd.SimultaneousGD(), h, batch, examples=16,
                           key=jax.random.key(7))
    y = gd.Players(jnp.array([0.3, 1.1]), jnp.array([0.4, -0.2]))
    (mu, sigma), (w1, w2) = np.asarray(y.generator), np.asarray(y.discriminator)
    one = with_batch(game, 1)
    rows = []
    for key in sde.keys:
        real, fake = one.samples(y, key)
        x, f = float(real[0, 0]), float(fake[0, 0])
        z = (f - mu) / sigma
        rows.append([w1 + 2 * w2 * f, (w1 + 2 * w2 * f) * z, x - f, x**2 - f**2])
    rows = np.asarray(rows)
    assert np.std(rows[:, 2]) > 0.1  # the examples differ
    np.testing.assert_allclose(np.asarray(sde.directions(y)), rows, atol=1e-12)
    expected = np.cov(rows.T, bias=True)
    np.testing.assert_allclose(np.asarray(sde.covariance(y)), expected, atol=1e-12)
    factor = np.asarray(sde.diffusion(y))
    assert factor.shape == (4, 16)
    np.testing.assert_allclose(factor @ factor.T, h / batch * expected, atol=1e-12)
    # The drift is the expected field: WGAN's moments ≤ 2 are exact on the quadrature.
    drift = np.asarray(ravel_pytree(sde.drift(y))[0])
    ez, ez2 = 0.0, 1.0
    exact = [w1 + 2 * w2 * (mu + sigma * ez), w1 * ez + 2 * w2 * (mu * ez + sigma * ez2),
             0.5 - mu, (0.5**2 + 1.5**2) - (mu**2 + sigma**2)]
    np.testing.assert_allclose(drift, exact, atol=1e-12)


def test_games_without_minibatches_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="DiracGAN draws no minibatches"):
        gd.minibatch_sde(gd.DiracGAN(gd.losses.WGAN()), gd.SimultaneousGD(), 0.1, 4)
    game = gd.GaussianGAN(gd.losses.WGAN(), nodes=None)
    with pytest.raises(ValueError, match="batch must be a positive integer, got 0"):
        gd.minibatch_sde(game, gd.SimultaneousGD(), 0.1, 0)
    with pytest.raises(ValueError, match="examples must be an integer ≥ 2, got 1"):
        gd.minibatch_sde(game, gd.SimultaneousGD(), 0.1, 4, examples=1)


runner = CliRunner()


@pytest.mark.parametrize("args, fragments", [
    (["--game", "gaussian", "-m", "sde:simgd", "--opt", "batch=-1"], ("batch", "-1")),
    (["--game", "gaussian", "-m", "sde:simgd", "--opt", "examples=1"], ("examples", "1")),
    (["--game", "dirac", "-m", "sde:simgd"], ("DiracGAN draws no minibatches", "gaussian")),
])
def test_cli_refuses_bad_sde_settings_in_one_line(tmp_path, args, fragments):
    result = runner.invoke(app, ["simulate", *args, "--steps", "4", "-o", str(tmp_path)])
    assert_one_line_error(result, *fragments)


def test_one_step_of_sde_method_has_the_sde_increment_moments():
    """`sde:simgd` (`StochasticModifiedFlow`, one Euler–Maruyama substep) moves by
    `h f(y) + G ΔW`, `ΔW ~ N(0, h I)`: over 2¹⁴ step keys the increment's mean is
    `h f(y)` and its covariance `h² Σ̂ / B`, within 6 standard errors."""
    game, h, batch = NoisyLinear(a=0.5, s=2.0), 0.3, 4
    method = gd.StochasticModifiedFlow(gd.SimultaneousGD(), batch=batch, examples=4,
                                       substeps=1, sample_seed=5)
    sde = gd.minibatch_sde(game, gd.SimultaneousGD(), h, batch, examples=4,
                           drift_examples=1024, key=jax.random.key(5))
    y = game.init()
    keys = jax.random.split(jax.random.key(11), 2**14)
    step = jax.jit(jax.vmap(lambda k: ravel_pytree(method.step(game, y, None, 0.0, h, k)[0])[0]))
    dx = np.asarray(step(keys)) - np.asarray(ravel_pytree(y)[0])
    cov = h**2 / batch * np.asarray(sde.covariance(y))
    mean = h * np.asarray(ravel_pytree(sde.drift(y))[0])
    se = np.sqrt(np.diag(cov) / dx.shape[0])
    assert np.all(np.abs(dx.mean(0) - mean) < 6 * se), (dx.mean(0), mean, se)
    # The standard error of a sample covariance entry: √((c_ii c_jj + c_ij²)/n).
    cov_se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / dx.shape[0])
    assert np.all(np.abs(np.cov(dx.T) - cov) < 6 * cov_se), (np.cov(dx.T), cov)

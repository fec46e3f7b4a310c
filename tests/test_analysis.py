import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gandyn as gd
from gandyn import losses


def linear_game(gamma=0.7):
    """WGAN Dirac-GAN with R1: the field (ψ, −θ − γψ) is exactly linear."""
    return gd.DiracGAN(losses.wgan, regularizers=(gd.R1(gamma),))


METHODS = {
    "euler": gd.SimultaneousGD(),
    "heun": gd.Flow(diffrax.Heun()),
    "midpoint": gd.Flow(diffrax.Midpoint()),
    "rk4": gd.Flow(gd.RK4()),
    "tsit5-fixed": gd.Flow(diffrax.Tsit5()),
    "implicit-euler": gd.Flow(diffrax.ImplicitEuler(diffrax.VeryChord(rtol=1e-12, atol=1e-12))),
    "extragradient": gd.Extragradient(),
    "optimistic": gd.OptimisticGD(),
}


@pytest.mark.parametrize("name", list(METHODS))
@pytest.mark.parametrize("h", [0.1, 0.6, 1.5])
def test_stability_function_matches_one_measured_step(name, h):
    method = METHODS[name]
    game = linear_game()
    y = game.equilibrium()
    eig = gd.eigenvalues(game, y)
    predicted = np.sort(gd.stability_function(method)(h * eig))
    measured = np.abs(np.linalg.eigvals(np.asarray(gd.step_matrix(game, method, y, h))))
    if name == "optimistic":  # a two-step method: 4 roots, 2 per eigenvalue; compare the largest
        np.testing.assert_allclose(measured.max(), predicted.max(), rtol=1e-8)
    else:  # FSAL solvers (Tsit5) carry the last field value: extra zero eigenvalues
        np.testing.assert_allclose(np.sort(measured[measured > 1e-12]), predicted, rtol=1e-8)


def test_known_stability_functions():
    z = np.array([0.3j, -0.2 + 0.5j, 1.1j])
    rk4 = gd.stability_function(METHODS["rk4"])(z)
    np.testing.assert_allclose(rk4, np.abs(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24), rtol=1e-12)
    heun = gd.stability_function(METHODS["heun"])(z)
    np.testing.assert_allclose(heun, np.abs(1 + z + z**2 / 2), rtol=1e-12)
    y = 0.8
    assert gd.stability_function(METHODS["rk4"])(1j * y) ** 2 == pytest.approx(1 - y**6 / 72 + y**8 / 576)


def test_largest_stable_steps_on_the_wgan_rotation():
    game = gd.DiracGAN(losses.wgan)
    eig = gd.eigenvalues(game, game.equilibrium())
    step = lambda name: gd.stable_step_for_spectrum(METHODS[name], eig)
    assert step("rk4") == pytest.approx(2 * np.sqrt(2), rel=1e-8)
    assert step("extragradient") == pytest.approx(1.0, rel=1e-8)
    assert step("euler") == 0.0
    assert step("heun") == 0.0
    assert step("implicit-euler") == np.inf
    # SGAN's rotation is slower (a = 1/2): twice the step.
    sgan = gd.DiracGAN(losses.sgan)
    eig = gd.eigenvalues(sgan, sgan.equilibrium())
    assert gd.stable_step_for_spectrum(METHODS["rk4"], eig) == pytest.approx(4 * np.sqrt(2), rel=1e-8)


def test_alternating_gd_is_neutrally_stable_up_to_h_two():
    game = gd.DiracGAN(losses.wgan)
    y = game.equilibrium()
    for h in (0.3, 1.0, 1.9):
        assert gd.amplification(game, gd.AlternatingGD(), y, h) == pytest.approx(1.0, abs=1e-12)
        assert gd.verdict(gd.amplification(game, gd.AlternatingGD(), y, h)) == "cycles"
    assert gd.amplification(game, gd.AlternatingGD(), y, 2.5) > 1
    growth = lambda h: gd.amplification(game, gd.AlternatingGD(), y, h)
    assert gd.largest_stable_step(growth) == pytest.approx(2.0, rel=1e-6)


def test_amplification_predicts_the_simulated_rate():
    game = linear_game(0.4)
    h = 0.3
    for method in (gd.SimultaneousGD(), gd.Flow(gd.RK4()), gd.Extragradient(), gd.AlternatingGD()):
        predicted = gd.amplification(game, method, game.equilibrium(), h)
        sol = gd.simulate(game, method, game.state(1.0, 0.0), h=h, steps=400)
        assert float(sol.rate) == pytest.approx(predicted, rel=2e-3)


def test_find_equilibrium_from_a_nearby_start():
    game = gd.DiracGAN(losses.nsgan, real_point=0.7, bias=True, regularizers=(gd.R1(1.0),))
    y = gd.find_equilibrium(game, game.state(0.5, 0.2, 0.1))
    np.testing.assert_allclose(y.generator, 0.7, atol=1e-9)
    np.testing.assert_allclose(y.discriminator, [0.0, 0.0], atol=1e-9)


def test_top_eigenvalues_matrix_free_matches_dense():
    class LinearGAN(gd.DiracGAN):
        """A d-dimensional Dirac-GAN with mixing matrices: G(θ) = Mθ, C(x) = xᵀNψ."""

        mix_g: jax.Array = None
        mix_d: jax.Array = None

        def init(self, key=None):
            d = self.mix_g.shape[0]
            return gd.Players(jnp.zeros(d), jnp.zeros(d))

        def real_samples(self, key):
            return jnp.zeros((1, self.mix_g.shape[0]))

        def generate(self, generator, key):
            return (self.mix_g @ generator)[None]

        def discriminate(self, discriminator, samples):
            return samples @ (self.mix_d @ discriminator)

        def equilibrium(self):
            return self.init()

    rng = np.random.default_rng(0)
    d = 30
    game = LinearGAN(losses.wgan, regularizers=(gd.L2(0.2, generator=True), gd.R1(0.5)),
                     mix_g=jnp.asarray(rng.normal(size=(d, d))), mix_d=jnp.asarray(rng.normal(size=(d, d))))
    y = game.init()
    dense = gd.eigenvalues(game, y)
    for which, key in (("real", lambda e: -e.real), ("magnitude", lambda e: -abs(e))):
        top = gd.top_eigenvalues(game, y, k=4, which=which, krylov=2 * d)
        expected = dense[np.argsort(key(dense), kind="stable")][:4]
        np.testing.assert_allclose(np.sort_complex(top), np.sort_complex(expected), atol=1e-8)

import jax
import numpy as np
import pytest
from helpers import KEY, jacobian

import gandyn as gd
from gandyn import losses


A = {"sgan": 0.5, "nsgan": 0.5, "wgan": 1.0}
F2 = {"sgan": -0.25, "nsgan": -0.25}  # f''(0) of the loss's f(t) (Mescheder et al. 2018)


def spectrum(name, *regs, real_point=0.0):
    game = gd.DiracGAN(losses.get(name), real_point=real_point, regularizers=regs)
    return np.sort_complex(np.linalg.eigvals(jacobian(game, game.equilibrium())))


def roots(re, disc):
    s = np.sqrt(complex(disc))
    return np.sort_complex(np.array([re - s, re + s]))


@pytest.mark.parametrize("name", ["sgan", "nsgan", "wgan"])
def test_unregularized_spectrum(name):
    np.testing.assert_allclose(spectrum(name), [-1j * A[name], 1j * A[name]], atol=1e-12)


@pytest.mark.parametrize("name", ["sgan", "wgan"])
@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("reg", [gd.R1, gd.R2])
def test_zero_centred_penalties(name, gamma, reg):
    a = A[name]
    expected = roots(-gamma / 2, gamma**2 / 4 - a**2)
    np.testing.assert_allclose(spectrum(name, reg(gamma)), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["sgan", "wgan"])
@pytest.mark.parametrize("gamma", [0.1, 1.0, 4.0])
@pytest.mark.parametrize("reg", [gd.Consensus, gd.SGA])
def test_consensus_and_sga(name, gamma, reg):
    a = A[name]
    expected = np.sort_complex(np.array([-gamma * a**2 - 1j * a, -gamma * a**2 + 1j * a]))
    np.testing.assert_allclose(spectrum(name, reg(gamma)), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["sgan", "nsgan"])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
def test_instance_noise(name, sigma):
    a, f2 = A[name], F2[name]
    expected = roots(f2 * sigma**2, f2**2 * sigma**4 - a**2)
    np.testing.assert_allclose(spectrum(name, gd.InstanceNoise(sigma)), expected, atol=1e-6)


def test_r1_penalty_value_on_a_point():
    game = gd.DiracGAN(losses.wgan, regularizers=(gd.R1(3.0),))
    y = game.state(0.4, 0.7)
    _, penalized = game.losses(y)
    _, plain = game.loss_terms(y)
    assert float(penalized - plain) == pytest.approx(0.5 * 3.0 * 0.7**2)


def test_wgan_gp_field_on_the_dirac_gan():
    # ∇_x C = ψ everywhere, so the penalty is λ(|ψ| − 1)² and the field gains
    # −2λ(|ψ| − 1)·sign(ψ) in ψ.
    lam = 10.0
    for psi in (0.4, -0.3, 1.7):
        game = gd.DiracGAN(losses.wgan, regularizers=(gd.WGANGP(lam),))
        v = game.field(game.state(0.2, psi), KEY)
        assert float(v.discriminator) == pytest.approx(-0.2 - 2 * lam * (abs(psi) - 1) * np.sign(psi), rel=1e-9)


def test_l2_and_odegan_penalties():
    lam = 0.3
    game = gd.DiracGAN(losses.wgan, regularizers=(gd.L2(lam, generator=True),))
    v = game.field(game.state(0.5, 2.0), KEY)
    np.testing.assert_allclose([v.generator, v.discriminator], [2.0 - lam * 0.5, -0.5 - lam * 2.0])
    # WGAN: ∇θ L_G = −ψ, so the ODE-GAN penalty is λψ² and the field gains −2λψ.
    game = gd.DiracGAN(losses.wgan, regularizers=(gd.GeneratorGradientPenalty(lam),))
    v = game.field(game.state(0.5, 2.0), KEY)
    np.testing.assert_allclose(v.discriminator, -0.5 - 2 * lam * 2.0)


def test_weight_clipping_keeps_the_critic_in_its_box():
    game = gd.DiracGAN(losses.wgan, regularizers=(gd.WeightClipping(0.1),))
    sol = gd.simulate(game, gd.SimultaneousGD(), game.state(1.0, 0.05), h=0.1, steps=500)
    assert np.nanmax(np.abs(sol.ys.discriminator)) <= 0.1 + 1e-12
    # Clipped WGAN does not converge to the equilibrium (Mescheder et al. 2018, Sec. 3).
    assert sol.status not in (gd.Status.CONVERGED, gd.Status.CONVERGING)


def test_regularizers_compose():
    game = gd.DiracGAN(losses.sgan, regularizers=(gd.R1(1.0), gd.Consensus(0.5)))
    J = jacobian(game, game.equilibrium())
    # R1 adds −γ in the ψψ entry; consensus then subtracts γ_c JᵀJ of the R1 field.
    J1 = np.array([[0, 0.5], [-0.5, -1.0]])
    np.testing.assert_allclose(J, J1 - 0.5 * J1.T @ J1, atol=1e-10)


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.0])
def test_r1_makes_simultaneous_gd_converge_and_unregularized_does_not(gamma):
    h = 0.05
    game = gd.DiracGAN(losses.sgan, regularizers=(gd.R1(gamma),))
    sol = gd.simulate(game, gd.SimultaneousGD(), game.state(0.8, -0.6), h=h, steps=4000)
    assert sol.status in (gd.Status.CONVERGED, gd.Status.CONVERGING)
    assert float(np.asarray(sol.distance)[-1]) < 1e-3
    plain = gd.DiracGAN(losses.sgan)
    sol = gd.simulate(plain, gd.SimultaneousGD(), plain.state(0.8, -0.6), h=h, steps=4000)
    assert sol.status not in (gd.Status.CONVERGED, gd.Status.CONVERGING)
    assert float(np.asarray(sol.distance)[-1]) > 1.0


def test_instance_noise_without_nodes_is_random_and_seeded():
    game = gd.DiracGAN(losses.sgan, regularizers=(gd.InstanceNoise(0.5, nodes=None),))
    y = game.state(0.3, 0.4)
    a = game.field(y, jax.random.key(1))
    b = game.field(y, jax.random.key(1))
    c = game.field(y, jax.random.key(2))
    assert float(a.generator) == float(b.generator) != float(c.generator)


@pytest.mark.parametrize(
    "text, message",
    [
        ("r3=1", "unknown regularizer 'r3'; choose from: r1, r2, gp"),
        ("r1", "malformed regularizer 'r1': expected NAME=WEIGHT"),
        ("r1=abc", "malformed regularizer 'r1=abc'"),
        ("r1=-1", r"regularizer weight must be a finite number in \[0, 1e6\], got r1=-1.0"),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        gd.regularizers.parse(text)


def test_parse():
    assert gd.regularizers.parse("consensus=0.5") == gd.Consensus(0.5)
    assert gd.regularizers.parse("noise=0.2") == gd.InstanceNoise(0.2)

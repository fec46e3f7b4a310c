import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import KEY, jacobian

import gandyn as gd
from gandyn import losses


@pytest.mark.parametrize("theta, psi", [(1.0, 1.0), (-0.7, 2.0), (3.0, -0.2)])
def test_autodiff_field_matches_the_closed_forms(theta, psi):
    sigma = 1 / (1 + np.exp(-psi * theta))
    game = gd.DiracGAN(losses.sgan)
    v = game.field(game.state(theta, psi), KEY)
    np.testing.assert_allclose([v.generator, v.discriminator], [psi * sigma, -theta * sigma], rtol=1e-12)
    game = gd.DiracGAN(losses.wgan)
    v = game.field(game.state(theta, psi), KEY)
    np.testing.assert_allclose([v.generator, v.discriminator], [psi, -theta], rtol=1e-12)


@pytest.mark.parametrize("name, a", [("sgan", 0.5), ("nsgan", 0.5), ("rsgan", 0.5), ("wgan", 1.0)])
def test_jacobian_at_equilibrium_is_a_rotation(name, a):
    game = gd.DiracGAN(losses.get(name))
    J = jacobian(game, game.equilibrium())
    np.testing.assert_allclose(J, [[0, a], [-a, 0]], atol=1e-12)
    eig = np.sort_complex(np.linalg.eigvals(J))
    np.testing.assert_allclose(eig, [-1j * a, 1j * a], atol=1e-12)


def test_equilibrium_is_a_zero_of_the_field_wherever_the_real_point_is():
    for name in losses.names():
        game = gd.DiracGAN(losses.get(name), real_point=1.5, bias=True)
        v = game.field(game.equilibrium(), KEY)
        np.testing.assert_allclose(np.asarray(v.generator), 0.0, atol=1e-12)
        np.testing.assert_allclose(np.asarray(v.discriminator), 0.0, atol=1e-12)


def test_nsgan_and_rsgan_coincide_at_the_origin_and_differ_away_from_it():
    y = (0.8, -1.3)
    same = [gd.DiracGAN(losses.get(n)) for n in ("nsgan", "rsgan")]
    v = [g.field(g.state(*y), KEY) for g in same]
    np.testing.assert_allclose(v[0].generator, v[1].generator, rtol=1e-12)
    apart = [gd.DiracGAN(losses.get(n), real_point=1.0) for n in ("nsgan", "rsgan")]
    v = [g.field(g.state(*y), KEY) for g in apart]
    assert abs(float(v[0].generator - v[1].generator)) > 1e-2


def test_bias_adds_a_discriminator_parameter():
    game = gd.DiracGAN(losses.sgan, bias=True)
    y = game.state(0.5, 1.0, 0.3)
    assert y.discriminator.shape == (2,)
    logits = game.discriminate(y.discriminator, jnp.array([2.0]))
    np.testing.assert_allclose(logits, [1.0 * 2.0 + 0.3])
    # The bias's own gradient: −∂L_D/∂b = σ(−(w c + b)) − σ(wθ + b) for SGAN, c = 0.
    v = game.field(y, KEY)
    expected = jax.nn.sigmoid(-0.3) - jax.nn.sigmoid(0.5 + 0.3)
    np.testing.assert_allclose(v.discriminator[1], expected, rtol=1e-12)

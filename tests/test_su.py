"""Su Jianlin's 2-D Dirac-GAN study ("从动力学角度看优化算法(四):GAN的第三个阶段", 2019):
the models it needs (GAN-QP, a centred gradient penalty, the normalized critic, weight
averaging) and the behaviours it reports, as checks of those models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gandyn as gd
from gandyn import losses


START = (jnp.array([[0.1, 0.2]]), jnp.array([[0.2, 0.1]]))  # his θ and φ


def solve(game, steps=2000, h=0.1):
    return gd.simulate(game, gd.AdaptiveFlow(rtol=1e-9, atol=1e-11), game.state(*START), h=h, steps=steps)


def test_ganqp_loss_on_hand_computed_inputs():
    real = jnp.array([[0.0, 0.0], [1.0, 1.0]])
    fake = jnp.array([[3.0, 4.0], [1.0, 2.0]])
    r, f = jnp.array([0.5, -1.0]), jnp.array([2.0, 1.0])
    loss = losses.GANQP(scale=2.0)
    # pairs: ‖x_r − x_f‖ = 5 and 1; r − f = −1.5 and −2.
    expected_d = -(-1.5 - 2.0) / 2 + ((1.5**2) / (2 * 2 * 5) + (2.0**2) / (2 * 2 * 1)) / 2
    assert float(loss.discriminator(r, f, real=real, fake=fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(loss.generator(r, f, real=real, fake=fake)) == pytest.approx((-1.5 - 2.0) / 2)
    with pytest.raises(ValueError, match="needs the samples"):
        loss.discriminator(r, f)
    assert losses.get("ganqp").uses_samples


def test_ganqp_critic_optimum_on_a_pair_is_lambda_times_the_distance():
    """With θ frozen, the critic's optimum on the Dirac pair satisfies
    T(x_r) − T(x_f) = λ‖x_r − x_f‖ (the quadratic potential's maximiser)."""
    game = gd.DiracGAN(losses.GANQP(scale=0.5), dim=2)
    theta = jnp.array([0.6, -0.8])  # ‖θ − 0‖ = 1
    sol = gd.simulate(game, gd.Frozen(gd.SimultaneousGD()), gd.Players(theta, jnp.zeros(2)), h=0.5,
                      steps=2000)
    psi = sol.final.second
    difference = float(-(psi @ theta))  # T(x_r) − T(x_f) = ψ·0 − ψ·θ
    assert difference == pytest.approx(0.5 * 1.0, rel=1e-4)


def test_gp_centre_one_ends_on_the_unit_circle_and_centre_zero_converges():
    circle = solve(gd.DiracGAN(losses.wgan, dim=2, regularizers=(gd.WGANGP(1.0, center=1.0),)))
    theta, psi = np.asarray(circle.final.first[0]), np.asarray(circle.final.second[0])
    assert np.linalg.norm(psi) == pytest.approx(1.0, abs=1e-4)
    assert np.linalg.norm(theta) == pytest.approx(1.0, abs=1e-3)  # θ keeps circling at ‖θ‖ = 1
    assert circle.labels()[0] == "cycling"
    zero = solve(gd.DiracGAN(losses.wgan, dim=2, regularizers=(gd.WGANGP(1.0, center=0.0),)))
    assert zero.labels()[0] == "converged"
    assert gd.regularizers.parse("gp0=1") == gd.WGANGP(1.0, center=0.0)


def test_gp_constant_against_mescheders_code():
    """GAN_stability's Dirac-GAN adds −reg·(|ψ| − target)·sign ψ to ψ's field: gandyn's
    gp = λ reproduces it with reg = 2λ (1-D, |∇_x C| = |ψ|, real and fake points equal
    weight in the interpolates)."""
    lam, target = 0.3, 1.0
    game = gd.DiracGAN(losses.wgan, regularizers=(gd.WGANGP(lam, center=target),))
    for psi in (0.4, -1.7, 2.5):
        v = game.field(game.state(0.7, psi))
        unregularized = gd.DiracGAN(losses.wgan).field(game.state(0.7, psi))
        term = -(2 * lam) * (abs(psi) - target) * np.sign(psi)
        assert float(v.second - unregularized.second) == pytest.approx(term, rel=1e-6)


def test_normalized_wgan_oscillates():
    sol = solve(gd.DiracGAN(losses.wgan, dim=2, critic="normalized"), steps=3000)
    theta = np.asarray(sol.ys.first[0])
    radius = np.linalg.norm(theta, axis=1)
    assert radius[-1000:].min() > 0.05  # the generator keeps moving around the real point


def test_the_averaged_iterate_of_a_cycling_method_converges_to_the_centre():
    game = gd.DiracGAN(losses.wgan)
    y0 = game.state(jnp.array([1.0]), jnp.array([1.0]))
    raw = gd.simulate(game, gd.AlternatingGD(), y0, h=0.3, steps=20000)
    uniform = gd.simulate(game, gd.Averaged(gd.AlternatingGD(), decay=None), y0, h=0.3, steps=20000)
    ema = gd.simulate(game, gd.Averaged(gd.AlternatingGD(), decay=0.999), y0, h=0.3, steps=20000)
    assert raw.labels()[0] == "cycling" and float(raw.distance[0, -1]) > 1.0
    assert float(uniform.distance[0, -1]) < 1e-3
    assert float(ema.distance[0, -1]) < 1e-2
    # The raw iterates inside the average are the wrapped method's, exactly.
    _, raw_state, count = ema.method_state
    np.testing.assert_allclose(raw_state.first, raw.final.first, rtol=1e-12)
    assert int(count[0]) == 20000


@pytest.mark.parametrize("name", [n for n in gd.losses.names()])
def test_every_loss_conserves_the_cross_product_on_the_2d_dirac_gan(name):
    """With a linear critic and the real point at 0 the field is (−h′(s)φ, −g′(s)θ) for
    s = φ·θ, so d/dt(θ₁φ₂ − θ₂φ₁) = 0 for every loss: none can converge from a start
    where it is non-zero (Su's "every f-GAN oscillates", generalised)."""
    game = gd.DiracGAN(gd.losses.get(name), dim=2)
    rng = np.random.default_rng(0)
    for theta, phi in rng.normal(size=(5, 2, 2)):
        v = game.field(gd.Players(jnp.asarray(theta), jnp.asarray(phi)))
        dtheta, dphi = np.asarray(v.first), np.asarray(v.second)
        rate = dtheta[0] * phi[1] + theta[0] * dphi[1] - dtheta[1] * phi[0] - theta[1] * dphi[0]
        assert rate == pytest.approx(0.0, abs=1e-12)


def test_nsgan_linearisation_is_theta_double_dot_minus_theta_over_four():
    game = gd.DiracGAN(losses.nsgan, dim=2)
    eig = gd.eigenvalues(game, game.equilibrium())
    np.testing.assert_allclose(np.sort(eig.imag), [-0.5, -0.5, 0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(eig.real, 0, atol=1e-12)


# ------------------------------------------------ the 2018 article: RSGAN's "Turing test"

MU, SIGMA = 1.0, 1.5  # the frozen generator q = N(1, 1.5²); the data p = N(0, 1)


def log_ratio(x):
    """log p(x)/q(x) for p = N(0, 1), q = N(MU, SIGMA²)."""
    return (-0.5 * x**2) - (-0.5 * ((x - MU) / SIGMA) ** 2 - np.log(SIGMA))


def optimal_critic():
    """log p/q = w₁x + w₂x² + b: the quadratic critic represents it exactly."""
    return np.array([-MU / SIGMA**2, -0.5 + 0.5 / SIGMA**2, np.log(SIGMA) + MU**2 / (2 * SIGMA**2)])


def gaussian_kl(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


@pytest.mark.parametrize("loss", [losses.nsgan, losses.RSGAN()], ids=["sgan", "rsgan"])
def test_the_optimal_discriminator_is_the_log_density_ratio(loss):
    """Su (2018): the optimal SGAN critic is T = log p/q, the optimal RSGAN critic
    T = log p/q + const. The generator frozen (`gd.Frozen`), the critic trained by SGD
    on minibatches of 1,024 and its iterates averaged (`gd.Averaged`, Polyak): the RMSE
    to the analytic log-ratio on [−3, 3] (after removing the mean for RSGAN) is
    0.003–0.005 here; the bound 0.03 leaves a 6× margin for the minibatch noise, which
    is the only thing that varies between machines (the problem is convex)."""
    game = gd.GaussianGAN(loss, mean=0.0, std=1.0, bias=True, nodes=None, batch_size=1024)
    y0 = gd.Players(jnp.array([MU, SIGMA]), jnp.array([-0.3, -0.1, 0.3]))
    method = gd.Averaged(gd.Frozen(gd.SimultaneousGD()), decay=0.999)
    sol = gd.simulate(game, method, y0, h=0.5, steps=20000)
    np.testing.assert_array_equal(sol.final.first, y0.first)  # the generator did not move
    w = np.asarray(sol.final.second)
    x = np.linspace(-3, 3, 201)
    error = w[0] * x + w[1] * x**2 + w[2] - log_ratio(x)
    if loss.name == "rsgan":
        assert w[2] == pytest.approx(0.3, abs=1e-12)  # blind to a constant: b never moves
        error = error - error.mean()
    assert np.sqrt(np.mean(error**2)) < 0.03


@pytest.mark.parametrize("h", ["linear", "logsigmoid"])
def test_the_generator_loss_at_the_optimal_critic_is_the_predicted_divergence(h):
    """With T* = log p/q, the non-saturating generator loss E_q h(T*) is the
    f-divergence ∫ q f(p/q), f(u) = h(log u); the relativistic one, E h(T*(x_f) −
    T*(x_r)) over independent pairs, is the f-divergence between p(x_r)q(x_f) and
    p(x_f)q(x_r). For h(t) = −t these are KL(q‖p) and KL(p‖q) + KL(q‖p) in closed form;
    otherwise they are checked against quadrature. Monte Carlo on 20,000 draws (all
    4·10⁸ pairs would be too many: 2,000 × 2,000 pairs for RSGAN); tolerance 3 %."""
    key = jax.random.key(7)
    critic = jnp.asarray(optimal_critic())
    ns = gd.GaussianGAN(losses.SGANNonSaturating(h=h), bias=True, nodes=None, batch_size=20000)
    rs = gd.GaussianGAN(losses.RSGAN(h=h, pairs="all"), bias=True, nodes=None, batch_size=2000)
    players = gd.Players(jnp.array([MU, SIGMA]), critic)
    ns_loss = float(ns.loss_terms(players, key)[0])
    rs_loss = float(rs.loss_terms(players, key)[0])
    x = np.linspace(-12, 14, 20001)
    p = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    q = np.exp(-0.5 * ((x - MU) / SIGMA) ** 2) / (SIGMA * np.sqrt(2 * np.pi))
    f = {"linear": lambda u: -np.log(u), "logsigmoid": lambda u: np.log1p(1 / u)}[h]
    ns_expected = np.trapezoid(q * f(p / q), x)
    if h == "linear":
        assert ns_expected == pytest.approx(gaussian_kl(MU, SIGMA, 0.0, 1.0), rel=1e-6)
        rs_expected = gaussian_kl(MU, SIGMA, 0.0, 1.0) + gaussian_kl(0.0, 1.0, MU, SIGMA)
    else:  # ∬ p(a)q(b) f(p(b)q(a) / (p(a)q(b))) da db on the grid
        ratio = (p[None, ::40] * q[::40, None]) / (p[::40, None] * q[None, ::40])
        weights = p[::40, None] * q[None, ::40] * (x[40] - x[0]) ** 2
        rs_expected = float(np.sum(weights * f(ratio)))
    assert ns_loss == pytest.approx(ns_expected, rel=0.03)
    assert rs_loss == pytest.approx(rs_expected, rel=0.03)

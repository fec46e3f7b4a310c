"""Game optimisers on the bilinear game `L = xy` (eigenvalues ±i), each against its
paper's analysis: measured growth per step = the predicted one."""

import jax.numpy as jnp
import pytest

import gandyn as gd


GAME = gd.Bilinear()
Y0 = gd.Players(jnp.array([[1.0]]), jnp.array([[0.5]]))


def run(method, h, steps=3000):
    return gd.simulate(GAME, method, Y0, h=h, steps=steps)


@pytest.mark.parametrize("h", [0.1, 0.5, 1.5])
def test_hamiltonian_gd_converges_at_one_minus_h_sigma_squared(h):
    sol = run(gd.HamiltonianGD(), h)
    assert sol.labels()[0] == "converged"
    assert float(sol.rate[0]) == pytest.approx(abs(1 - h), rel=1e-6)  # σ = 1: I − hJᵀJ
    radius = gd.spectral_radius(gd.step_matrix(GAME, gd.HamiltonianGD(), GAME.equilibrium(), h))
    assert radius == pytest.approx(abs(1 - h), rel=1e-9)


@pytest.mark.parametrize("h", [0.1, 0.3])
def test_extrapolation_from_the_past_is_optimistic_on_a_linear_field(h):
    method = gd.ExtrapolationFromThePast()
    sol = run(method, h)
    assert sol.labels()[0] == "converged"
    predicted = float(gd.stability_function(method)(h * 1j))
    assert float(sol.rate[0]) == pytest.approx(predicted, rel=1e-6)
    radius = gd.spectral_radius(gd.step_matrix(GAME, method, GAME.equilibrium(), h))
    assert radius == pytest.approx(predicted, rel=1e-9)
    assert method.evaluations() == 1


def test_negative_momentum_makes_alternating_gd_converge_where_zero_momentum_cycles():
    h = 0.5
    cycling = run(gd.AlternatingGD(), h)
    assert cycling.labels()[0] == "cycling"
    damped = run(gd.NegativeMomentum(-0.5), h)
    assert damped.labels()[0] == "converged"
    radius = gd.spectral_radius(gd.step_matrix(GAME, gd.NegativeMomentum(-0.5), GAME.equilibrium(), h))
    assert float(damped.rate[0]) == pytest.approx(radius, rel=1e-3)
    assert radius < 1
    positive = gd.spectral_radius(gd.step_matrix(GAME, gd.NegativeMomentum(0.5), GAME.equilibrium(), h))
    assert positive > 1  # positive momentum makes it worse (Gidel et al. 2019)


@pytest.mark.parametrize("k, alpha, h", [(5, 0.5, 0.1), (10, 0.3, 0.05)])
def test_lookahead_over_gd_converges_at_its_k_step_rate(k, alpha, h):
    """Per complex mode, k fast GD steps multiply by (1 + ih)^k, then the slow weights
    move α of the way: growth |1 − α + α(1 + ih)^k|^{1/k} per step, < 1 for small h
    although GD alone grows by |1 + ih| > 1."""
    sol = run(gd.Lookahead(gd.SimultaneousGD(), k=k, alpha=alpha), h, steps=20 * k * 50)
    predicted = abs(1 - alpha + alpha * (1 + 1j * h) ** k) ** (1 / k)
    assert predicted < 1 < abs(1 + 1j * h)
    assert float(sol.rate[0]) == pytest.approx(predicted, rel=1e-4)
    assert sol.labels()[0] in ("converged", "converging")


def test_the_zoo_is_registered_and_runs_on_a_gan():
    game = gd.DiracGAN(gd.losses.wgan)
    y0 = game.state(jnp.array([1.0]), jnp.array([1.0]))
    for name in ("hamiltonian", "eg-past", "negative-momentum", "lookahead"):
        method = gd.methods.get(name)
        sol = gd.simulate(game, method, y0, h=0.1, steps=4000)
        assert sol.labels()[0] in ("converged", "converging"), name
        if name == "lookahead":  # k = 5, α = ½ over GD: its k-step rate (see above)
            predicted = abs(0.5 + 0.5 * (1 + 0.1j) ** 5) ** (1 / 5)
        else:  # the spectral radius of one step at the equilibrium (WGAN: a linear game)
            predicted = gd.spectral_radius(gd.step_matrix(game, method, game.equilibrium(), 0.1))
        assert predicted < 1 and float(sol.rate[0]) == pytest.approx(predicted, rel=1e-4), name

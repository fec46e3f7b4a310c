"""Games beyond the Dirac-GAN: equilibria, Jacobians and the known behaviour of the
basic methods on them, from the formulas in each game's docstring."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gandyn as gd
from gandyn import losses


def batch(game, *points):
    """A batch of states from flattened parameter rows."""
    _, unravel = jax.flatten_util.ravel_pytree(game.init())
    return jax.vmap(unravel)(jnp.asarray(points, dtype=float))


# ----------------------------------------------------------------- bilinear


@pytest.mark.parametrize("seed", [0, 1])
def test_bilinear_jacobian_and_equilibrium(seed):
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=2)
    game = gd.Bilinear(a, b, c)
    star = game.equilibrium()
    # Ay* = −b has no exact solution for a 3×2 A: the least-norm stationary point of the
    # consistent part; here check the field's Jacobian and a square case's zero.
    jac = np.asarray(gd.jacobian(game, star))
    expected = np.block([[np.zeros((3, 3)), -a], [a.T, np.zeros((2, 2))]])
    np.testing.assert_allclose(jac, expected, atol=1e-12)
    eig = gd.eigenvalues(game, star)
    sigma = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(np.abs(eig.real), 0, atol=1e-10)
    np.testing.assert_allclose(np.sort(np.abs(eig.imag))[-4:], np.sort(np.repeat(sigma, 2)), rtol=1e-9)
    square = gd.Bilinear(rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=2))
    v = square.field(square.equilibrium())
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(v)[0], 0, atol=1e-10)


def test_matching_pennies_equilibrium_is_one_half():
    game = gd.Bilinear.matching_pennies()
    star = game.equilibrium()
    np.testing.assert_allclose([star.first[0], star.second[0]], [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(gd.eigenvalues(game, star), [4j, -4j], atol=1e-12)


def test_simultaneous_gd_diverges_alternating_cycles_extragradient_converges_on_xy():
    game = gd.Bilinear()
    y0 = batch(game, [1.0, 0.5])
    h = 0.2
    sim = gd.simulate(game, gd.methods.get("simgd"), y0, h=h, steps=300)
    # ‖(x, y)‖² grows by exactly 1 + h² per Euler step on the rotation.
    r2 = np.asarray(sim.ys.first[0, :, 0]) ** 2 + np.asarray(sim.ys.second[0, :, 0]) ** 2
    np.testing.assert_allclose(r2[1:] / r2[:-1], 1 + h**2, rtol=1e-9)
    alt = gd.simulate(game, gd.methods.get("altgd"), y0, h=h, steps=3000)
    assert alt.labels()[0] == "cycling"
    radius = np.hypot(np.asarray(alt.ys.first[0, :, 0]), np.asarray(alt.ys.second[0, :, 0]))
    assert radius.max() < 1.3 and radius.min() > 0.85  # bounded, bounded away from 0
    eg = gd.simulate(game, gd.Extragradient(), y0, h=h, steps=3000)
    assert eg.labels()[0] == "converged"
    assert float(eg.rate[0]) == pytest.approx(abs(1 + 0.2j + (0.2j) ** 2), rel=1e-6)


def test_optimistic_gd_is_optax_and_converges_on_xy():
    game = gd.Bilinear()
    sol = gd.simulate(game, gd.OptimisticGD(), batch(game, [1.0, 0.5]), h=0.2, steps=3000)
    assert sol.labels()[0] == "converged"
    rho = gd.stability_function(gd.OptimisticGD())(0.2j)
    assert float(sol.rate[0]) == pytest.approx(float(rho), rel=1e-4)
    # The hand-written recursion y_{n+1} = y_n + 2h v(y_n) − h v(y_{n−1}), v(y_{−1}) = v(y_0).
    z, prev = np.array([1.0, 0.5]), None
    for _ in range(50):
        v = np.array([-z[1], z[0]])
        prev = v if prev is None else prev
        z, prev = z + 2 * 0.2 * v - 0.2 * prev, v
    short = gd.simulate(game, gd.OptimisticGD(), batch(game, [1.0, 0.5]), h=0.2, steps=50)
    np.testing.assert_allclose([short.ys.first[0, -1, 0], short.ys.second[0, -1, 0]], z, rtol=1e-10)


# ---------------------------------------------------------------- quadratic


def test_strongly_monotone_quadratic_game():
    game = gd.Quadratic(P=np.diag([1.0, 2.0]), A=np.eye(2), Q=np.diag([0.5, 3.0]))
    star = game.equilibrium()
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(star)[0], 0, atol=1e-12)
    jac = np.asarray(gd.jacobian(game, star))
    expected = -np.block([[np.diag([1.0, 2.0]), np.eye(2)], [-np.eye(2), np.diag([0.5, 3.0])]])
    np.testing.assert_allclose(jac, expected, atol=1e-12)
    assert np.all(gd.eigenvalues(game, star).real < 0)
    sol = gd.simulate(game, gd.SimultaneousGD(), batch(game, [1.0, -1.0, 0.5, 2.0]), h=0.1, steps=2000)
    assert sol.labels()[0] == "converged"


def test_tandem_game_fixed_points_and_jacobian():
    game = gd.Quadratic.tandem()
    star = game.equilibrium()
    np.testing.assert_allclose([star.first[0], star.second[0]], [0.5, 0.5], atol=1e-12)
    # Every point of the line x + y = 1 is a fixed point.
    v = game.field(gd.Players(jnp.array([0.9]), jnp.array([0.1])))
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(v)[0], 0, atol=1e-12)
    np.testing.assert_allclose(np.sort(gd.eigenvalues(game, star).real), [-4.0, 0.0], atol=1e-12)
    l1, l2 = game.losses(gd.Players(jnp.array([0.3]), jnp.array([0.2])))
    assert float(l1) == pytest.approx((0.3 + 0.2) ** 2 - 2 * 0.3)
    assert float(l2) == pytest.approx((0.3 + 0.2) ** 2 - 2 * 0.2)


def test_general_sum_quadratic_losses_are_not_zero_sum():
    game = gd.Quadratic(P=[[1.0]], A=[[2.0]], Q=[[3.0]], B=[[5.0]])
    l1, l2 = game.losses(gd.Players(jnp.array([1.0]), jnp.array([2.0])))
    assert (float(l1), float(l2)) == (0.5 + 4.0, 6.0 + 10.0)


# ---------------------------------------------------------------- Dirac-GAN in d dimensions


def test_dirac_dim_one_is_the_scalar_game():
    old = gd.DiracGAN(losses.sgan)
    same = gd.DiracGAN(losses.sgan, dim=1)
    y = old.state(0.3, -0.7)
    assert old == same
    np.testing.assert_allclose(old.field(y).first, -0.7 * jax.nn.sigmoid(-0.21), rtol=1e-12)  # ψσ(ψθ)


def test_two_dimensional_dirac_gan_conserves_the_cross_product_under_nsgan():
    """Su Jianlin (2019): for D(x) = x·φ in 2-D, the non-saturating flow conserves
    θ₁φ₂ − θ₂φ₁ (the field is (φ·s, −θ·s) for a common scalar s)."""
    game = gd.DiracGAN(losses.nsgan, dim=2)
    y0 = game.state(jnp.array([[0.1, 0.2]]), jnp.array([[0.2, 0.1]]))
    sol = gd.simulate(game, gd.AdaptiveFlow(rtol=1e-10, atol=1e-12), y0, h=0.1, steps=2000)
    theta, psi = np.asarray(sol.ys.first[0]), np.asarray(sol.ys.second[0])
    cross = theta[:, 0] * psi[:, 1] - theta[:, 1] * psi[:, 0]
    np.testing.assert_allclose(cross, cross[0], rtol=1e-7)
    assert cross[0] == pytest.approx(0.1 * 0.1 - 0.2 * 0.2)


def test_dirac_bias_and_real_point_in_two_dimensions():
    game = gd.DiracGAN(losses.lsgan, dim=2, real_point=(1.0, -2.0), bias=True)
    star = game.equilibrium()
    np.testing.assert_allclose(star.first, [1.0, -2.0])
    np.testing.assert_allclose(star.second, [0.0, 0.0, 0.5], atol=1e-9)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(game.field(star))[0], 0, atol=1e-9)
    assert game.coordinates() == ("θ1", "θ2", "ψ1", "ψ2", "b")


def test_normalized_critic_has_unit_slope():
    game = gd.DiracGAN(losses.wgan, dim=2, critic="normalized")
    logits = game.discriminate(jnp.array([3.0, 4.0]), jnp.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(logits, [0.6, 0.8], rtol=1e-9)
    # WGAN with a unit critic: the critic's gradient is orthogonal to ψ, so ‖ψ‖ only grows.
    v = game.field(gd.Players(jnp.array([0.5, 0.2]), jnp.array([3.0, 4.0])))
    assert float(jnp.dot(v.second, jnp.array([3.0, 4.0]))) == pytest.approx(0.0, abs=1e-12)
    assert game.equilibrium() is None


@pytest.mark.parametrize("bad, message", [({"dim": 0}, "dim must be a positive integer"),
                                          ({"critic": "cubic"}, "unknown critic 'cubic'"),
                                          ({"dim": 2, "real_point": (1.0,)}, "real_point has 1")])
def test_dirac_options_are_checked(bad, message):
    with pytest.raises(ValueError, match=message):
        gd.DiracGAN(losses.wgan, **bad)


# ---------------------------------------------------------------- Gaussian GAN


def test_gaussian_gan_equilibrium_and_rotation_under_wgan():
    game = gd.GaussianGAN(losses.wgan, mean=1.5, std=1.0)
    star = game.equilibrium()
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(game.field(star))[0], 0, atol=1e-9)
    eig = gd.eigenvalues(game, star)
    np.testing.assert_allclose(eig.real, 0, atol=1e-9)
    assert np.all(np.abs(eig.imag) > 0.5)  # both moments rotate: WGAN alone does not converge


def test_gaussian_gan_with_r1_learns_mean_and_spread():
    game = gd.GaussianGAN(losses.nsgan, mean=1.0, std=0.5, regularizers=(gd.R1(1.0),))
    y0 = jax.tree_util.tree_map(lambda x: x[None], game.init())
    sol = gd.simulate(game, gd.Flow(gd.RK4()), y0, h=0.2, steps=3000)
    mu, sigma = np.asarray(sol.final.first[0])
    assert mu == pytest.approx(1.0, abs=1e-3) and abs(sigma) == pytest.approx(0.5, abs=1e-3)


# ---------------------------------------------------------------- user games


def test_from_losses_builds_a_game_and_simulates_it():
    game = gd.AbstractGame.from_losses(lambda x, y: x * y, lambda x, y: -x * y, 1.0, 0.5,
                                       equilibrium=(0.0, 0.0))
    np.testing.assert_allclose(gd.eigenvalues(game, game.equilibrium()), [1j, -1j], atol=1e-12)
    sol = gd.simulate(game, gd.Extragradient(), game.init(), h=0.3, steps=2000)
    assert sol.labels() == "converged"


def test_games_registry_options():
    assert {"dirac", "gaussian", "bilinear", "matching-pennies", "quadratic", "tandem"} <= set(gd.games.names())
    assert gd.games.takes_loss("dirac") and not gd.games.takes_loss("bilinear")
    assert gd.games.get("bilinear", dim=3).A.shape == (3, 3)
    with pytest.raises(ValueError, match="takes no option 'critic'"):
        gd.games.get("bilinear", critic="linear")
    with pytest.raises(ValueError, match="unknown game 'chess'; choose from: dirac"):
        gd.games.get("chess")


def test_slice_plane_of_a_quadratic_game_is_its_eigenplane():
    # J = −[[P, A], [−Aᵀ, Q]] with a rotation only in the (x1, y1) plane.
    game = gd.Quadratic(P=np.diag([0.1, 2.0]), A=np.diag([1.0, 0.0]), Q=np.diag([0.1, 3.0]))
    plane = gd.slice_plane(game)
    basis = np.stack([plane.e1, plane.e2], axis=1)
    expected = np.zeros((4, 2))
    expected[0, 0] = expected[2, 1] = 1.0
    # Same plane: the projector onto it agrees.
    np.testing.assert_allclose(basis @ basis.T, expected @ expected.T, atol=1e-10)
    jac = np.asarray(gd.jacobian(game, game.equilibrium()))
    restricted = basis.T @ jac @ basis
    assert np.allclose(np.sort_complex(np.linalg.eigvals(restricted)), [-0.1 - 1j, -0.1 + 1j])


def test_an_adaptive_solve_out_of_steps_is_its_own_outcome():
    game = gd.DiracGAN(losses.wgan)
    y0 = game.state(jnp.array([1.0, 0.5]), jnp.array([1.0, 0.0]))
    sol = gd.simulate(game, gd.AdaptiveFlow(max_steps=8), y0, h=0.1, steps=1000)
    assert list(sol.labels()) == ["max_steps", "max_steps"]
    assert np.all(np.asarray(sol.diverged_at) == -1)
    enough = gd.simulate(game, gd.AdaptiveFlow(), y0, h=0.1, steps=1000)
    assert list(enough.labels()) == ["cycling", "cycling"]


def test_a_sweep_over_another_game(tmp_path):
    spec = gd.SweepSpec(game="dirac", dim=2, losses=("wgan",), regularizers=("none", "r1=1"),
                        methods=("rk4",), step_sizes=(0.1,), seeds=(0, 1), steps=300)
    rows = gd.run_sweep(spec, tmp_path / "dirac2")
    assert len(rows) == 4 and all(len(r["init"]) == 4 for r in rows)
    by = {(r["regularizer"], r["seed"]): r for r in rows}
    assert by["r1=1", 0]["status"] == "converged" and by["none", 0]["status"] != "converged"
    game = gd.DiracGAN(losses.wgan, dim=2, regularizers=(gd.R1(1.0),))
    start = np.asarray(by["r1=1", 1]["init"])
    sol = gd.simulate(game, gd.Flow(gd.RK4()), game.state(start[:2], start[2:]), h=0.1, steps=300)
    assert float(sol.distance[-1]) == pytest.approx(by["r1=1", 1]["final_distance"], rel=1e-6)
    gaussian = gd.run_sweep(gd.SweepSpec(game="gaussian", losses=("nsgan",), regularizers=("r1=1",),
                                         methods=("rk4",), step_sizes=(0.2,), seeds=(0,), steps=2000,
                                         init_radius=0.3), tmp_path / "gaussian")
    assert gaussian[0]["status"] == "converged" and len(gaussian[0]["init"]) == 4
    with pytest.raises(ValueError, match="game 'bilinear' is not a GAN"):
        gd.SweepSpec(game="bilinear")

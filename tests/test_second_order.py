"""Second-order game optimisers and game-level analysis, each against its paper:
competitive GD's closed-form contraction (Schäfer & Anandkumar 2019), LOLA and SOS on
the tandem game and matching pennies (Letcher et al. 2019), SGA, extra-Adam,
optimistic Adam and unrolled GANs (Metz et al. 2017)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optax
import pytest

import gandyn as gd


BILINEAR = gd.Bilinear()
Y0 = gd.Players(jnp.array([[1.0]]), jnp.array([[0.5]]))


def flat(tree):
    return np.asarray(jax.flatten_util.ravel_pytree(tree)[0])


# --- competitive gradient descent ---------------------------------------------------


@pytest.mark.parametrize("h", [0.1, 1.0, 10.0])
def test_cgd_contracts_the_bilinear_game_at_its_closed_form_rate_for_every_step(h):
    """On L = xy the CGD step matrix is [[1, −h], [h, 1]]/(1 + h²): eigenvalues
    (1 ± ih)/(1 + h²), contraction 1/√(1 + h²) per step at any h (Schäfer &
    Anandkumar 2019, Section 3)."""
    predicted = 1 / np.sqrt(1 + h * h)
    method = gd.CompetitiveGD()
    radius = gd.spectral_radius(gd.step_matrix(BILINEAR, method, BILINEAR.equilibrium(), h))
    assert radius == pytest.approx(predicted, rel=1e-6)
    steps = int(min(3000, 25 / -np.log(predicted)))
    sol = gd.simulate(BILINEAR, method, Y0, h=h, steps=steps)
    assert sol.labels()[0] == "converged"
    assert float(sol.rate[0]) == pytest.approx(predicted, rel=1e-3)


def test_cgd_step_is_the_dense_nash_step_of_the_bilinear_approximation():
    """One step on a general-sum quadratic game equals `y − h(I + hH_o)⁻¹ξ` with the
    dense off-diagonal Hessian `H_o = [[0, A], [B, 0]]`, with GMRES and (for a
    zero-sum game, whose reduced operator is positive definite) with CG."""
    rng = np.random.default_rng(0)
    n, m, h = 3, 2, 0.7
    P, A, Q, B = (rng.normal(size=s) for s in ((n, n), (n, m), (m, m), (m, n)))
    P, Q = P @ P.T, Q @ Q.T
    game = gd.Quadratic(P=P, A=A, Q=Q, B=B, b=rng.normal(size=n), c=rng.normal(size=m))
    y = gd.Players(jnp.asarray(rng.normal(size=n)), jnp.asarray(rng.normal(size=m)))
    xi = -flat(game.field(y))
    h_o = np.block([[np.zeros((n, n)), A], [B, np.zeros((m, m))]])
    expected = flat(y) - h * np.linalg.solve(np.eye(n + m) + h * h_o, xi)
    def step(method, game):
        return method.step(game, y, method.init(game, y, h, None), 0.0, h, None)

    y1, applications = step(gd.CompetitiveGD(), game)
    assert 2 <= int(applications) <= n  # GMRES ends within n = dim x iterations
    np.testing.assert_allclose(flat(y1), expected, rtol=1e-5, atol=1e-5)

    zero_sum = gd.Quadratic(P=P, A=A, Q=Q, b=rng.normal(size=n), c=rng.normal(size=m))
    cg, _ = step(gd.CompetitiveGD(lx.CG(rtol=1e-7, atol=1e-8)), zero_sum)
    gmres, _ = step(gd.CompetitiveGD(), zero_sum)
    np.testing.assert_allclose(flat(cg), flat(gmres), rtol=1e-5, atol=1e-5)


def test_cgd_step_matrix_is_the_dense_steps_derivative_with_no_callback_in_its_program():
    """The step map's derivative (the spectrum's) at the NS-GAN Gaussian game's
    equilibrium, where the right-hand side is 0 and the solve's derivative is all:
    equal to `jax.jacfwd` of CGD's step written with dense Hessians and `np.linalg`'s
    solve, `y − h(I + hH_o)⁻¹ξ`. The solve is differentiated implicitly
    (`lax.custom_linear_solve`), so the compiled program holds no host callback and can
    be kept between runs (lineax's derivative rule checks its tangent solves with one;
    with restart-2 GMRES this very derivative stopped with a "breakdown" error)."""
    from gandyn._analysis import _step_matrix_program

    game = gd.games.get("gaussian", loss=gd.losses.nsgan)
    y, h, key = game.equilibrium(), 0.7, jax.random.key(0)
    flat0, unravel = jax.flatten_util.ravel_pytree(y)

    def dense_step(f):
        x, z = unravel(f).generator, unravel(f).discriminator
        losses = lambda a, b: game.losses(gd.Players(a, b), key)  # noqa: E731
        n, m = x.size, z.size
        xi = -jax.flatten_util.ravel_pytree(game.field(unravel(f), key))[0]
        a_block = jax.jacfwd(jax.grad(lambda a, b: losses(a, b)[0]), 1)(x, z).reshape(n, m)
        b_block = jax.jacfwd(jax.grad(lambda a, b: losses(a, b)[1], 1), 0)(x, z).reshape(m, n)
        h_o = jnp.block([[jnp.zeros((n, n)), a_block], [b_block, jnp.zeros((m, m))]])
        return f - h * jnp.linalg.solve(jnp.eye(n + m) + h * h_o, xi)

    expected = jax.jacfwd(dense_step)(flat0)
    program = eqx.filter_jit(_step_matrix_program)
    got = program(game, gd.methods.get("cgd"), y, jnp.asarray(h), key)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-7)
    text = program.lower(game, gd.methods.get("cgd"), y, jnp.asarray(h), key).as_text()
    assert "callback" not in text


def test_cgd_small_steps_take_one_gmres_iteration_and_keep_the_nash_step():
    """Where `h²‖D_xy L₁ D_yx L₂‖` is below the tolerance one GMRES iteration is the
    solve (one application of the reduced operator), and the step is still the dense
    `y − h(I + hH_o)⁻¹ξ`; with `krylov_steps=0` lineax's GMRES alone gives the same
    step."""
    rng = np.random.default_rng(1)
    n, m, h = 3, 2, 1e-4
    P, A, Q, B = (rng.normal(size=s) for s in ((n, n), (n, m), (m, m), (m, n)))
    game = gd.Quadratic(P=P @ P.T, A=A, Q=Q @ Q.T, B=B, b=rng.normal(size=n),
                        c=rng.normal(size=m))
    y = gd.Players(jnp.asarray(rng.normal(size=n)), jnp.asarray(rng.normal(size=m)))
    xi = -flat(game.field(y))
    h_o = np.block([[np.zeros((n, n)), A], [B, np.zeros((m, m))]])
    expected = flat(y) - h * np.linalg.solve(np.eye(n + m) + h * h_o, xi)
    steps = {}
    for terms in (1, 0):
        method = gd.CompetitiveGD(krylov_steps=terms)
        steps[terms] = method.step(game, y, method.init(game, y, h, None), 0.0, h, None)
    assert int(steps[1][1]) == 1 and int(steps[0][1]) > 1
    for y1, _ in steps.values():
        np.testing.assert_allclose(flat(y1), expected, rtol=1e-9, atol=1e-12)


def test_cgd_gmres_is_exact_within_the_players_dimension_where_restarted_gmres_stalls():
    """Unrestarted GMRES ends within n = dim x iterations (Saad & Schultz 1986): on a
    general-sum quadratic game whose reduced operator has eigenvalues near ±0.94i,
    where lineax's GMRES with restart 2 stalls, the step is the dense Nash step after
    at most n applications, for each member of a batch as for one."""
    rng = np.random.default_rng(0)
    n, m, h = 6, 4, 0.5
    P, A, Q, B = (rng.normal(size=s) for s in ((n, n), (n, m), (m, m), (m, n)))
    game = gd.Quadratic(P=P @ P.T, A=A, Q=Q @ Q.T, B=B, b=rng.normal(size=n),
                        c=rng.normal(size=m))
    h_o = np.block([[np.zeros((n, n)), A], [B, np.zeros((m, m))]])
    method = gd.CompetitiveGD()
    starts = gd.Players(jnp.asarray(rng.normal(size=(2, n))), jnp.asarray(rng.normal(size=(2, m))))
    moved, applications = jax.vmap(
        lambda y: method.step(game, y, method.init(game, y, h, None), 0.0, h, None))(starts)
    for i in range(2):
        y = jax.tree_util.tree_map(lambda a: a[i], starts)
        xi = -flat(game.field(y))
        expected = flat(y) - h * np.linalg.solve(np.eye(n + m) + h * h_o, xi)
        assert int(applications[i]) <= n
        np.testing.assert_allclose(flat(jax.tree_util.tree_map(lambda a: a[i], moved)), expected,
                                   rtol=1e-9, atol=1e-9)


# --- opponent shaping: the tandem game and matching pennies -----------------------


TANDEM = gd.Quadratic.tandem()
START = gd.Players(jnp.array([0.1]), jnp.array([-0.05]))


@pytest.mark.parametrize("h", [0.05, 0.1])
def test_lola_leaves_the_tandem_games_fixed_points_and_sos_keeps_them(h):
    """Letcher et al. 2019, Proposition 2: on L₁ = (x + y)² − 2x, L₂ = (x + y)² − 2y
    every point of x + y = 1 is a stable fixed point; LOLA (α = h) instead settles on
    x + y = (1 − 2α)/(1 − 4α), where both players lose more; SOS and LookAhead stay on
    the game's line."""
    sums = {}
    for name, method in (("lola", gd.LOLA()), ("sos", gd.SOS()), ("la", gd.LookAheadOpponent()),
                         ("gd", gd.SimultaneousGD())):
        sol = gd.simulate(TANDEM, method, START, h=h, steps=3000)
        sums[name] = float(sol.final.first[0] + sol.final.second[0])
    assert sums["lola"] == pytest.approx((1 - 2 * h) / (1 - 4 * h), rel=1e-5)
    for name in ("sos", "la", "gd"):
        assert sums[name] == pytest.approx(1.0, abs=1e-5), name
    # On the line every point is as good as any other: LOLA's point costs both players.
    lola_point = gd.Players(jnp.array([sums["lola"] / 2]), jnp.array([sums["lola"] / 2]))
    game_point = gd.Players(jnp.array([0.5]), jnp.array([0.5]))
    assert all(a > b for a, b in zip(TANDEM.losses(lola_point), TANDEM.losses(game_point)))


PENNIES = gd.MatrixGame.matching_pennies()
PENNIES_START = gd.Players(jnp.array([1.0]), jnp.array([-0.5]))


def test_matching_pennies_in_logits_is_a_rotation_at_its_mixed_equilibrium():
    eig = gd.eigenvalues(PENNIES, PENNIES.equilibrium())
    np.testing.assert_allclose(sorted(eig.imag), [-0.25, 0.25], atol=1e-7)
    np.testing.assert_allclose(eig.real, 0, atol=1e-7)
    assert gd.jacobian_split(PENNIES, PENNIES.equilibrium())["rotation_share"] == pytest.approx(1.0)


def test_naive_learning_spirals_out_of_matching_pennies_while_sos_lola_and_sga_converge():
    """Letcher et al. 2019, Figure 2: simultaneous gradient steps do not reach the
    mixed equilibrium of matching pennies; LookAhead, LOLA, SOS and SGA do."""
    def run(method):
        return gd.simulate(PENNIES, method, PENNIES_START, h=1.0, steps=600)

    naive = run(gd.SimultaneousGD())  # one trajectory: no batch axis
    assert naive.labels()[()] != "converged"
    assert float(naive.rate) > 1.0
    assert float(naive.distance[-1]) > float(naive.distance[0])
    for method in (gd.SOS(), gd.LOLA(), gd.LookAheadOpponent(), gd.SymplecticGradientAdjustment(),
                   gd.CompetitiveGD()):
        sol = run(method)
        assert sol.labels()[()] == "converged", type(method).__name__
        assert float(sol.distance[-1]) < 1e-3 * float(sol.distance[0])


@pytest.mark.parametrize("name", ["cgd", "lola", "lookahead-opponent", "sga-fixed"])
def test_measured_contraction_equals_the_step_matrix_radius(name):
    """On matching pennies (a rotation at the equilibrium) each method with a linear
    analysis contracts per step at its step matrix's spectral radius."""
    method = (gd.SymplecticGradientAdjustment(align=False) if name == "sga-fixed"
              else gd.methods.get(name))
    h = 1.0
    radius = gd.spectral_radius(gd.step_matrix(PENNIES, method, PENNIES.equilibrium(), h))
    assert radius < 1
    start = gd.Players(jnp.array([0.02]), jnp.array([-0.01]))  # the linear regime
    steps = int(min(4000, 20 / -np.log(radius)))
    sol = gd.simulate(PENNIES, method, start, h=h, steps=steps)
    assert float(sol.rate) == pytest.approx(radius, rel=2e-3)


def test_lookahead_opponent_step_matrix_matches_its_formula_on_the_bilinear_game():
    """ξ_LA = (I − hH_o)ξ: on L = xy, H_o = [[0, 1], [−1, 0]] and H = H_o, so the step
    matrix is I − h(I − hH_o)H = [[1 − h², −h], [h, 1 − h²]]: radius √((1 − h²)² + h²)."""
    h = 0.3
    matrix = np.asarray(gd.step_matrix(BILINEAR, gd.LookAheadOpponent(), BILINEAR.equilibrium(), h))
    np.testing.assert_allclose(matrix, [[1 - h * h, -h], [h, 1 - h * h]], atol=1e-6)


# --- Adam-based game optimisers ------------------------------------------------------


def test_extra_optax_with_sgd_is_extragradient():
    y = gd.Players(jnp.array([0.3, -1.0]), jnp.array([0.7, 0.2]))
    game = gd.Quadratic(P=np.eye(2) * 0.2, A=[[1.0, 0.5], [-0.3, 1.0]], Q=np.eye(2) * 0.1)
    method = gd.ExtraOptax(optax.sgd(1.0))
    state = method.init(game, y, 0.1, None)
    y1, _ = method.step(game, y, state, 0.0, 0.1, None)
    y2, _ = gd.Extragradient().step(game, y, None, 0.0, 0.1, None)
    np.testing.assert_allclose(flat(y1), flat(y2), rtol=1e-6)


def test_extra_adam_advances_adams_moments_in_both_half_steps():
    """Gidel et al.'s Extra-Adam: the extrapolation's update and the step's update
    are two Adam updates in sequence (moments advanced twice), both applied at y."""
    adam = optax.adam(1.0, b1=0.5)
    y = gd.Players(jnp.array([1.0]), jnp.array([0.5]))
    h = 0.1
    gradient = lambda point: jax.tree_util.tree_map(jnp.negative, BILINEAR.field(point))  # noqa: E731
    state = adam.init(y)
    u1, state = adam.update(gradient(y), state, y)
    look_ahead = jax.tree_util.tree_map(lambda a, b: a + h * b, y, u1)
    u2, _ = adam.update(gradient(look_ahead), state, y)
    method = gd.ExtraOptax(adam)
    out, _ = method.step(BILINEAR, y, method.init(BILINEAR, y, h, None), 0.0, h, None)
    np.testing.assert_allclose(flat(out), flat(y) + h * flat(u2), rtol=1e-6)


def test_extra_adam_and_optimistic_adam_damp_adams_drift_on_the_bilinear_game():
    """With a constant step, Adam's normalised updates drift away from the equilibrium
    of a rotation; extrapolation (Gidel et al. 2019) and optimism (Daskalakis et al.
    2018) pull the iterates in (to a neighbourhood of size ~h: Adam's steps do not
    shrink with the gradient)."""
    h, steps = 0.01, 4000
    start = float(np.linalg.norm(flat(Y0)))
    ends = {name: float(gd.simulate(BILINEAR, gd.methods.get(name), Y0, h=h, steps=steps).distance[0, -1])
            for name in ("adam", "extra-adam", "optimistic-adam")}
    assert ends["adam"] > start
    assert ends["extra-adam"] < 0.5 * start
    assert ends["optimistic-adam"] < 0.9 * start


def test_optimistic_adam_is_twice_the_new_adam_update_minus_the_previous_one():
    b1, b2, h = 0.5, 0.999, 0.05
    y = gd.Players(jnp.array([1.0]), jnp.array([0.5]))
    method = gd.OptimisticAdam(b1=b1, b2=b2)
    key = jax.random.key(0)
    state = method.init(BILINEAR, y, h, key)
    ys = [y]
    for _ in range(3):
        y, state = method.step(BILINEAR, y, state, 0.0, h, key)
        ys.append(y)
    # Adam's unit updates u_n along the trajectory, by hand.
    m = v = np.zeros(2)
    updates = []
    for n, point in enumerate(ys[:3], start=1):
        g = -flat(BILINEAR.field(point))
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        updates.append((m / (1 - b1**n)) / (np.sqrt(v / (1 - b2**n)) + 1e-8))
    expected = flat(ys[2]) - 2 * h * updates[2] + h * updates[1]
    np.testing.assert_allclose(flat(ys[3]), expected, rtol=1e-5)


# --- unrolled GANs -------------------------------------------------------------------


def test_unrolled_generator_field_on_the_bilinear_game():
    """L₁ = xy, L₂ = −xy: k discriminator steps of rate η give y_k = y + kηx, so the
    unrolled generator loss x(y + kηx) has gradient y + 2kηx; the discriminator's
    field is unchanged, and k = 0 is the game itself."""
    k, eta = 5, 0.1
    game = BILINEAR
    x, y = 0.7, -0.4
    point = gd.Players(jnp.array([x]), jnp.array([y]))
    view = gd.UnrolledGame(game, jnp.asarray(eta), k)
    v = view.field(point)
    assert float(v.first[0]) == pytest.approx(-(y + 2 * k * eta * x), rel=1e-6)
    assert float(v.second[0]) == pytest.approx(float(game.field(point).second[0]), rel=1e-6)
    np.testing.assert_allclose(flat(gd.UnrolledGame(game, jnp.asarray(eta), 0).field(point)),
                               flat(game.field(point)), rtol=1e-6)


def test_unrolling_stabilises_the_bilinear_game_for_gd():
    """With the generator looking k steps ahead, simultaneous GD's Jacobian on L = xy
    becomes [[−2kη, −1], [1, 0]]: a damped rotation, so GD converges where it spirals
    out without unrolling."""
    h = 0.1
    plain = gd.simulate(BILINEAR, gd.SimultaneousGD(), Y0, h=h, steps=2000)
    unrolled = gd.simulate(BILINEAR, gd.Unrolled(gd.SimultaneousGD(), k=5), Y0, h=h, steps=2000)
    assert plain.labels()[0] == "diverging"
    assert unrolled.labels()[0] == "converged"
    k_eta = 5 * h
    jac = np.array([[-2 * k_eta, -1.0], [1.0, 0.0]])
    radius = np.max(np.abs(np.linalg.eigvals(np.eye(2) + h * jac)))
    assert float(unrolled.rate[0]) == pytest.approx(radius, rel=1e-3)


def _small_gan():
    target = gd.data.Ring(modes=8, radius=1.0, std=0.01)
    return gd.MLPGAN(gd.losses.sgan, target, width=5, depth=1, latent_size=3, batch_size=12,
                     activation="tanh")


def _adam_by_hand(psi, grad, mu, nu, count, rate, b1, b2, eps):
    """One Adam step written out (Kingma & Ba, Algorithm 1), on flat arrays."""
    count = count + 1
    mu = b1 * mu + (1 - b1) * grad
    nu = b2 * nu + (1 - b2) * grad * grad
    step = (mu / (1 - b1**count)) / (jnp.sqrt(nu / (1 - b2**count)) + eps)
    return psi - rate * step, mu, nu, count


def test_unrolled_adam_generator_gradient_equals_finite_differences_through_k_adam_steps():
    """Metz et al. 2017 unroll the discriminator's Adam with its state: the generator's
    gradient of L_G(θ, ψ_k(θ)), ψ_k after k Adam steps from the discriminator's current
    moments and step count, on one minibatch. Checked against central differences of
    that function computed with Adam written by hand (float64), along random
    directions; and it is not plain-GD unrolling nor the un-unrolled gradient."""
    b1, b2, eps, h, scale, k = 0.5, 0.999, 1e-8, 0.05, 0.4, 3
    adam = optax.adam(1.0, b1=b1, b2=b2, eps=eps)
    game = _small_gan()
    y = game.init(jax.random.key(1))
    key = jax.random.key(2)
    base = gd.Optax(adam, discriminator_scale=scale, linear=False)
    method = gd.Unrolled(base, k=k)
    jit = eqx.filter_jit  # each quantity one compiled program, not hundreds of eager ops
    state = method.init(game, y, h, key)
    for i in range(2):  # give the discriminator's Adam non-trivial moments and count
        _, state = jit(base.step)(game, y, state, 0.0, h, jax.random.key(10 + i))
    adam_state = state[1][0]
    psi0, unravel = jax.flatten_util.ravel_pytree(y.discriminator)
    theta0, unravel_theta = jax.flatten_util.ravel_pytree(y.generator)

    def unrolled_loss(theta):
        x = unravel_theta(theta)
        d_loss = lambda p: game.losses(gd.Players(x, unravel(p)), key)[1]  # noqa: E731
        psi = psi0
        mu = jax.flatten_util.ravel_pytree(adam_state.mu)[0]
        nu = jax.flatten_util.ravel_pytree(adam_state.nu)[0]
        count = adam_state.count
        for _ in range(k):
            psi, mu, nu, count = _adam_by_hand(psi, jax.grad(d_loss)(psi), mu, nu, count,
                                               h * scale, b1, b2, eps)
        return game.losses(gd.Players(x, unravel(psi)), key)[0]

    gradient = -flat(jit(lambda game, state: method.view(game, h, state).generator_field(y, key))(
        game, state))
    plain = -flat(jit(lambda game: game.generator_field(y, key))(game))
    gd_unrolled = -flat(jit(lambda game: gd.UnrolledGame(game, jnp.asarray(h * scale), k)
                            .generator_field(y, key))(game))
    rng = np.random.default_rng(0)
    f = jax.jit(unrolled_loss)
    for _ in range(3):
        d = rng.normal(size=theta0.shape)
        d /= np.linalg.norm(d)
        fd = (f(theta0 + 1e-5 * d) - f(theta0 - 1e-5 * d)) / 2e-5
        assert gradient @ d == pytest.approx(float(fd), rel=1e-6, abs=1e-10)
    # The moments matter: plain GD unrolling and no unrolling give other gradients.
    assert np.linalg.norm(gradient - gd_unrolled) > 0.1 * np.linalg.norm(gradient)
    assert np.linalg.norm(gradient - plain) > 0.1 * np.linalg.norm(gradient)


def test_unrolled_adam_discriminator_takes_its_own_single_step():
    """Unrolling changes the generator's update only: the discriminator's parameters
    and Adam state after a step are those of the plain method, and k = 0 is it."""
    game = _small_gan()
    adam = optax.adam(1.0, b1=0.5)
    base = gd.Optax(adam, discriminator_scale=0.1, linear=False)
    y, key, h = game.init(jax.random.key(3)), jax.random.key(4), 0.01
    state = base.init(game, y, h, key)
    plain, plain_state = base.step(game, y, state, 0.0, h, key)
    unrolled, unrolled_state = gd.Unrolled(base, k=4).step(game, y, state, 0.0, h, key)
    np.testing.assert_allclose(flat(unrolled.discriminator), flat(plain.discriminator), rtol=1e-12)
    np.testing.assert_allclose(flat(unrolled_state[1]), flat(plain_state[1]), rtol=1e-12)
    assert np.linalg.norm(flat(unrolled.generator) - flat(plain.generator)) > 1e-6
    zero, _ = gd.Unrolled(base, k=0).step(game, y, state, 0.0, h, key)
    np.testing.assert_allclose(flat(zero), flat(plain), rtol=1e-12)
    with pytest.raises(ValueError, match="through='gd'"):
        gd.Unrolled(gd.SimultaneousGD(), k=2, through="optimizer")


# --- game-level analysis -------------------------------------------------------------


def test_jacobian_split_separates_potential_and_rotation():
    rng = np.random.default_rng(1)
    P = rng.normal(size=(2, 2))
    P = P @ P.T
    A = rng.normal(size=(2, 2))
    game = gd.Quadratic(P=P, A=A, Q=np.zeros((2, 2)))
    split = gd.jacobian_split(game, game.equilibrium())
    # J = −[[P, A], [−Aᵀ, 0]]: S = −diag(P, 0), A-part = −[[0, A], [−Aᵀ, 0]].
    np.testing.assert_allclose(split["symmetric_eigenvalues"],
                               np.sort(np.concatenate([-np.linalg.eigvalsh(P), [0, 0]])), atol=1e-6)
    sigma = np.linalg.svd(A, compute_uv=False)
    np.testing.assert_allclose(split["antisymmetric_eigenvalues"],
                               np.concatenate([sigma, -sigma[::-1]]), atol=1e-6)
    share = np.sum(A**2) * 2 / (np.sum(P**2) + 2 * np.sum(A**2))
    assert split["rotation_share"] == pytest.approx(share, rel=1e-6)
    assert gd.jacobian_split(TANDEM, TANDEM.equilibrium())["rotation_share"] == 0.0


def test_hamiltonian_along_a_trajectory():
    """ℋ = ½‖v‖²: on L = xy it is ½‖y‖², which Hamiltonian GD shrinks by (1 − h)² per
    step and alternating GD keeps bounded."""
    h = 0.2
    sol = gd.simulate(BILINEAR, gd.HamiltonianGD(), Y0, h=h, steps=50, save_every=1)
    ham = np.asarray(sol.hamiltonian[0])
    assert ham[0] == pytest.approx(gd.hamiltonian(BILINEAR, gd.Players(Y0.first[0], Y0.second[0])),
                                   rel=1e-6)
    assert ham[0] == pytest.approx(0.5 * (1.0 + 0.25), rel=1e-6)
    np.testing.assert_allclose(ham[1:] / ham[:-1], (1 - h) ** 2, rtol=1e-4)


def test_stability_report_gives_every_method_a_row():
    """Each method gets a row: growth and verdict from its step matrix (or stability
    function), or `no linear analysis` where neither applies (SOS, Adam)."""
    methods = {name: gd.methods.get(name) for name in ("simgd", "altgd", "rk4", "cgd", "sos", "adam")}
    report = gd.stability_report(PENNIES, methods, 0.5)
    assert report["rotation_share"] == pytest.approx(1.0)
    rows = report["methods"]
    assert rows["simgd"]["verdict"] == "diverges"
    assert rows["cgd"]["verdict"] == "converges"
    assert rows["cgd"]["growth_per_step"] == pytest.approx(
        1 / np.sqrt(1 + (0.5 * 0.25) ** 2), rel=1e-5)  # CGD on a rotation of rate ¼
    assert rows["sos"]["verdict"] == "no linear analysis"
    assert rows["altgd"]["verdict"] == "cycles"
    assert rows["adam"]["verdict"] == "no linear analysis"

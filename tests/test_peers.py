"""Methods and regularizers that peers' code offers, each against that code's update
written out in NumPy (the reference algorithm, dense) or a closed form: ACGD and
two-rate CGD (devzhk/cgds-package), LSS and consensus optimisation
(aletcher/stable-opponent-shaping), extrapolation from the past with Adam and
optimistic Adam's first step (GauthierGidel/Variational-Inequality-GAN), DRAGAN
(kodalinaveen3/DRAGAN) and LeCam (google/lecam-gan; ChristophReich1996/Dirac-GAN's
constant anchors)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optax
import pytest
from typer.testing import CliRunner

import gandyn as gd
from gandyn import losses
from gandyn.cli import app


def flat(tree):
    return np.asarray(jax.flatten_util.ravel_pytree(tree)[0])


def run(game, method, y, h, steps, key=None):
    """The iterates `y_1 … y_steps` of `method.step`, flattened."""
    key = jax.random.key(0) if key is None else key
    state = method.init(game, y, h, key)
    step = eqx.filter_jit(lambda y, state: method.step(game, y, state, 0.0, h, key))
    out = []
    for _ in range(steps):
        y, state = step(y, state)
        out.append(flat(y))
    return np.array(out)


# --- ACGD and CGD with two learning rates (CGDs package) ----------------------------


def _acgd_reference(x, y, steps, lr_max=1.0, lr_min=1.0, beta=0.99, eps=1e-5):
    """CGDs' `ACGD(max_params=G, min_params=D)` on tests/acgd_test.py's game,
    f = W_D(W_G·1 + b_G) + b_D, G = (W_G, b_G) maximizing, D = (W_D, b_D) minimizing,
    written out densely (exact solves; the package alternates which player's system
    it solves, `solve_x`, both branches transcribed)."""
    d_xy = np.array([[1.0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])  # ∂²f/∂x∂y
    d_yx = d_xy.T
    sx, sy, solve_x = np.zeros(4), np.zeros(3), False
    out = []
    for t in range(1, steps + 1):
        gx = np.array([y[0], y[1], y[0], y[1]])
        gy = np.array([x[0] + x[2], x[1] + x[3], 1.0])
        sx = beta * sx + (1 - beta) * gx * gx
        sy = beta * sy + (1 - beta) * gy * gy
        bc = 1 - beta**t
        lx_, ly = np.sqrt(bc) * lr_max / (np.sqrt(sx) + eps), np.sqrt(bc) * lr_min / (np.sqrt(sy) + eps)
        if not solve_x:
            p_x = (gx - d_xy @ (ly * gy)) * np.sqrt(lx_)
            a = np.eye(4) + np.diag(np.sqrt(lx_)) @ d_xy @ np.diag(ly) @ d_yx @ np.diag(np.sqrt(lx_))
            max_update = np.sqrt(lx_) * np.linalg.solve(a, p_x)
            min_update = -ly * (d_yx @ max_update + gy)
        else:
            p_y = (gy + d_yx @ (lx_ * gx)) * np.sqrt(ly)
            a = np.eye(3) + np.diag(np.sqrt(ly)) @ d_yx @ np.diag(lx_) @ d_xy @ np.diag(np.sqrt(ly))
            min_update = -np.sqrt(ly) * np.linalg.solve(a, p_y)
            max_update = lx_ * (d_xy @ min_update + gx)
        x, y = x + max_update, y + min_update
        solve_x = not solve_x
        out.append(np.concatenate([x, y]))
    return np.array(out)


def _acgd_game():
    def f(x, y):
        return y[0] * (x[0] + x[2]) + y[1] * (x[1] + x[3]) + y[2]

    # x = (W_G, b_G) = (4, 4, 1, 1), y = (W_D, b_D) = (2, 2, −1), as acgd_test.py.
    return gd.CustomGame(lambda x, y: -f(x, y), f, [4.0, 4.0, 1.0, 1.0], [2.0, 2.0, -1.0])


@pytest.mark.parametrize("solver", [None, lx.CG(rtol=1e-12, atol=1e-14, max_steps=50)])
def test_acgd_matches_the_cgds_package_on_its_own_test_game(solver):
    game = _acgd_game()
    method = gd.ACGD() if solver is None else gd.ACGD(solver)
    ours = run(game, method, game.init(), 1.0, 5)
    # ε as the package's mode: GACGD's 1e-6 with GMRES, ACGD's 1e-5 with CG.
    eps = 1e-6 if solver is None else 1e-5
    reference = _acgd_reference(np.array([4.0, 4, 1, 1]), np.array([2.0, 2, -1]), 5, eps=eps)
    np.testing.assert_allclose(ours, reference, rtol=1e-7, atol=1e-9)


def test_cgd_with_two_learning_rates_is_the_dense_nash_step():
    """Δ = −(I + E H_o)⁻¹ E ξ, E = diag(η_x I, η_y I), on a random general-sum
    quadratic game (GACGD's block system without the adaptive rates)."""
    rng = np.random.default_rng(3)
    n, m, h, gs, ds = 3, 2, 0.4, 0.5, 2.0
    P, A, Q, B = (rng.normal(size=s) for s in ((n, n), (n, m), (m, m), (m, n)))
    game = gd.Quadratic(P=P @ P.T, A=A, Q=Q @ Q.T, B=B, b=rng.normal(size=n), c=rng.normal(size=m))
    y = gd.Players(jnp.asarray(rng.normal(size=n)), jnp.asarray(rng.normal(size=m)))
    xi = -flat(game.field(y))
    h_o = np.block([[np.zeros((n, n)), A], [B, np.zeros((m, m))]])
    e = np.diag([h * gs] * n + [h * ds] * m)
    expected = flat(y) - np.linalg.solve(np.eye(n + m) + e @ h_o, e @ xi)
    method = gd.CompetitiveGD(lx.GMRES(rtol=1e-10, atol=0.0, max_steps=50, restart=5),
                              generator_scale=gs, discriminator_scale=ds)
    np.testing.assert_allclose(run(game, method, y, h, 1)[0], expected, rtol=1e-8, atol=1e-10)


# --- LSS and consensus optimisation (Letcher et al.'s code) --------------------------


def _letcher_reference(game, y, h, steps, algo, gam=1.0, lss_lam=0.1):
    """stable_opponent_shaping.ipynb's `update_th` for 'co' and 'lss', dense: ξ and
    the game Hessian H = ∂ξ/∂y by autodiff, the update `th -= α·grads`."""
    x = flat(y)
    _, unravel = jax.flatten_util.ravel_pytree(y)
    xi_of = lambda z: -jax.flatten_util.ravel_pytree(game.field(unravel(z)))[0]  # noqa: E731
    both = jax.jit(lambda z: (xi_of(z), jax.jacobian(xi_of)(z)))
    out = []
    for _ in range(steps):
        xi, hess = (np.asarray(a) for a in both(x))
        if algo == "co":
            grads = xi + gam * hess.T @ xi  # ∇(ξ·stop(ξ)) = Hᵀξ
        else:
            if np.linalg.det(hess) == 0:
                h_inv = np.linalg.inv(hess.T @ hess + lss_lam * np.eye(len(x))) @ hess.T
            else:
                h_inv = np.linalg.inv(hess)
            grads = (np.eye(len(x)) + hess.T @ h_inv) @ xi / 2
        x = x - h * grads
        out.append(x)
    return np.array(out)


PENNIES = gd.MatrixGame.matching_pennies()
START = gd.Players(jnp.array([0.8]), jnp.array([-0.6]))


def test_consensus_method_matches_letchers_co_and_its_closed_form_spectrum():
    np.testing.assert_allclose(run(PENNIES, gd.ConsensusOptimization(0.7), START, 0.5, 6),
                               _letcher_reference(PENNIES, START, 0.5, 6, "co", gam=0.7), rtol=1e-10)
    # WGAN Dirac-GAN, J = [[0, 1], [−1, 0]]: I + h(J − γJᵀJ) has eigenvalues 1 − hγ ± ih.
    game, h, gamma = gd.DiracGAN(losses.wgan), 0.2, 0.5
    eig = np.linalg.eigvals(np.asarray(gd.step_matrix(game, gd.ConsensusOptimization(gamma),
                                                      game.equilibrium(), h)))
    np.testing.assert_allclose(sorted(eig.imag), [-h, h], atol=1e-12)
    np.testing.assert_allclose(eig.real, 1 - h * gamma, atol=1e-12)


def test_lss_matches_letchers_code_on_a_general_sum_game_and_the_damped_tandem():
    rng = np.random.default_rng(5)
    P, A, Q, B = (rng.normal(size=(2, 2)) for _ in range(4))
    game = gd.Quadratic(P=P @ P.T, A=A, Q=Q @ Q.T, B=B, b=rng.normal(size=2), c=rng.normal(size=2))
    y = gd.Players(jnp.asarray(rng.normal(size=2)), jnp.asarray(rng.normal(size=2)))
    np.testing.assert_allclose(run(game, gd.LocalSymplecticSurgery(), y, 0.1, 5),
                               _letcher_reference(game, y, 0.1, 5, "lss"), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(run(PENNIES, gd.LocalSymplecticSurgery(), START, 1.0, 5),
                               _letcher_reference(PENNIES, START, 1.0, 5, "lss"), rtol=1e-7, atol=1e-10)
    # The tandem game's H = [[2, 2], [2, 2]] is singular: the reference's damped inverse.
    tandem = gd.Quadratic.tandem()
    start = gd.Players(jnp.array([0.3]), jnp.array([-0.1]))
    np.testing.assert_allclose(run(tandem, gd.LocalSymplecticSurgery(damping=0.1), start, 0.1, 5),
                               _letcher_reference(tandem, start, 0.1, 5, "lss"), rtol=1e-7)


def test_registered_lss_is_letchers_on_the_singular_tandem_game_to_its_fixed_point(tmp_path):
    """`gandyn simulate --game tandem -m lss --step 0.1 --steps 30 --float64 --init
    0.3,-0.1`: H = [[2, 2], [2, 2]] everywhere, so every step takes the notebook's damped
    inverse (λ = 0.1, `damping`, declared); it ends at (0.7, 0.3), as Letcher's code. A
    matrix-free solve falls back to the damped one where its own solve fails, and ends
    there too."""
    assert gd.methods.registry.options("lss")["damping"].default == 0.1
    tandem = gd.Quadratic.tandem()
    start = gd.Players(jnp.array([0.3]), jnp.array([-0.1]))
    reference = _letcher_reference(tandem, start, 0.1, 30, "lss")
    np.testing.assert_allclose(reference[-1], [0.7, 0.3], atol=1e-6)
    result = CliRunner().invoke(app, ["simulate", "--game", "tandem", "-m", "lss", "--step", "0.1",
                                      "--steps", "30", "--float64", "--init", "0.3,-0.1",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    ours = np.load(run_dir / "trajectories.npz")["tandem__lss__params"][0, 1:]
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)
    free = gd.LocalSymplecticSurgery(lx.GMRES(rtol=1e-10, atol=0.0, max_steps=20, restart=2))
    np.testing.assert_allclose(run(tandem, free, start, 0.1, 30)[-1], [0.7, 0.3], atol=1e-6)
    assert gd.methods.get("lss", damping=1.0).damping == 1.0


def _mazumdar(x, y):
    """Mazumdar, Jordan & Sastry's toy function (arXiv 1901.00838, Section 5)."""
    return jnp.exp(-0.01 * (x**2 + y**2)) * ((0.3 * x**2 + y) ** 2 + (0.5 * y**2 + x) ** 2)


# x maximises f, y minimises it: then the game has strict local Nash equilibria (e.g.
# (12.395, −6.373), (−12.477, −8.678)) and a critical point (−1.3165, −1.2243) where
# f_xx > 0 and f_yy > 0 (not Nash) that simultaneous GD finds stable (eigenvalues of
# H: 0.707 ± 2.472i).
MAZUMDAR = gd.CustomGame(lambda x, y: -_mazumdar(x, y), _mazumdar, 0.0, 0.0)
NON_NASH = np.array([-1.31653, -1.22427])


def _is_local_nash(point):
    hess = np.asarray(jax.hessian(lambda z: _mazumdar(z[0], z[1]))(jnp.asarray(point)))
    grad = np.asarray(jax.grad(lambda z: _mazumdar(z[0], z[1]))(jnp.asarray(point)))
    return np.linalg.norm(grad) < 1e-6 and hess[0, 0] < 0 < hess[1, 1]


def test_lss_escapes_the_non_nash_point_gradient_play_converges_to():
    """The paper's claim on its toy game: simultaneous GD converges to the non-Nash
    critical point from nearby starts; LSS, exact (Letcher's form) or two-timescale,
    does not, and ends at a strict local Nash equilibrium."""
    starts = gd.Players(jnp.array([-1.0, -0.5, -1.3]), jnp.array([-1.0, -1.0, -1.2]))
    finals = lambda sol: np.stack([np.asarray(sol.final.generator),  # noqa: E731
                                   np.asarray(sol.final.discriminator)], axis=1)
    simgd = finals(gd.simulate(MAZUMDAR, gd.SimultaneousGD(), starts, h=0.01, steps=4000))
    np.testing.assert_allclose(simgd, np.tile(NON_NASH, (3, 1)), atol=1e-4)
    assert not _is_local_nash(NON_NASH)
    exact = finals(gd.simulate(MAZUMDAR, gd.methods.get("lss"), starts, h=0.01, steps=4000))
    two = finals(gd.simulate(MAZUMDAR, gd.TwoTimescaleLSS(), starts,
                             h=0.0005, steps=60_000))
    for point in [*exact, *two]:
        assert np.linalg.norm(point - NON_NASH) > 1.0
        assert _is_local_nash(point), point


def test_lss_is_gradient_descent_on_a_potential_game_and_still_on_a_rotation():
    rng = np.random.default_rng(6)
    P = rng.normal(size=(2, 2))
    potential = gd.CustomGame(lambda x, y: 0.5 * (x @ x) + x @ y + y @ y,
                              lambda x, y: 0.5 * (x @ x) + x @ y + y @ y, np.array([1.0, -2.0]), np.array([0.5, 0.3]))
    y = potential.init()
    np.testing.assert_allclose(run(potential, gd.LocalSymplecticSurgery(), y, 0.1, 1)[0],
                               flat(y) + 0.1 * flat(potential.field(y)), rtol=1e-9)
    bilinear = gd.Bilinear(P)
    y = gd.Players(jnp.array([1.0, 0.5]), jnp.array([-0.3, 0.2]))
    np.testing.assert_allclose(run(bilinear, gd.LocalSymplecticSurgery(), y, 0.5, 1)[0], flat(y),
                               atol=1e-9)  # HᵀH⁻¹ = −I: no motion


# --- Adam variants (Gidel et al.'s code) -----------------------------------------------


BILINEAR = gd.Bilinear()
Y0 = gd.Players(jnp.array([1.0]), jnp.array([0.5]))


def _gidel_adam(state, grad, lr, b1, b2, eps):
    """ExtraAdam.update / OptimisticAdam's moments, torch's eps placement: returns
    the step `−lr·√bc₂/bc₁ · m/(√v + ε)` and the new state."""
    t, m, v = state
    t, m, v = t + 1, b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad * grad
    step = -lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return step, (t, m, v)


def _gradient(point):
    return -flat(BILINEAR.field(gd.Players(jnp.array([point[0]]), jnp.array([point[1]]))))


def test_extrapolation_from_the_past_with_adam_is_gidels_pastextraadam():
    """train_pastextraadam.py: `extrapolation()` applies ExtraAdam's update with the
    gradient stored from the previous step (none at the first step), `step()` the
    update with the look-ahead's gradient to the saved parameters; both advance Adam.
    β = (0.5, 0.9) as their configs (`-b2 0.9`): the registered `eg-past-adam`."""
    b1, b2, eps, h = 0.5, 0.9, 1e-8, 0.05
    y, state, past, expected = flat(Y0), (0, np.zeros(2), np.zeros(2)), None, []
    for _ in range(5):
        look = y
        if past is not None:
            u, state = _gidel_adam(state, past, h, b1, b2, eps)
            look = y + u
        past = _gradient(look)
        u, state = _gidel_adam(state, past, h, b1, b2, eps)
        y = y + u
        expected.append(y)
    method = gd.ExtrapolationFromThePast(optax.adam(1.0, b1=b1, b2=b2, eps=eps))
    np.testing.assert_allclose(run(BILINEAR, method, Y0, h, 5), np.array(expected), rtol=1e-6)
    assert method.evaluations() == 1
    registered = gd.methods.get("eg-past-adam")
    np.testing.assert_allclose(run(BILINEAR, registered, Y0, h, 5), np.array(expected), rtol=1e-6)


@pytest.mark.parametrize("first_step", ["optax", "zero-previous"])
def test_optimistic_adams_first_step_conventions(first_step):
    """Gidel et al.'s `OptimisticAdam` (optim/omd.py): y −= 2·step, then from the
    second step on y += lr·u_{n−1}: the first step is 2h·u₀ from a zero previous
    update. optax's `optimistic_adam_v2` takes h·u₀; after that both are
    y_{n+1} = y_n − 2h·u_n + h·u_{n−1}."""
    b1, b2, eps, h = 0.5, 0.999, 1e-8, 0.05
    y, state, previous, expected = flat(Y0), (0, np.zeros(2), np.zeros(2)), None, []
    for n in range(4):
        step, state = _gidel_adam(state, _gradient(y), h, b1, b2, eps)
        move = 2 * step if (n > 0 or first_step == "zero-previous") else step
        y = y + move - (previous if previous is not None else 0)
        previous = step
        expected.append(y)
    ours = run(BILINEAR, gd.OptimisticAdam(b1, b2, eps, first_step=first_step), Y0, h, 4)
    np.testing.assert_allclose(ours, np.array(expected), rtol=1e-6)
    with pytest.raises(ValueError, match="first_step"):
        gd.OptimisticAdam(first_step="gidel")


# --- DRAGAN and LeCam (the authors' code) -------------------------------------------


KEY = jax.random.key(0)


@pytest.mark.parametrize("psi", [0.4, -0.3, 1.7])
def test_dragan_on_the_dirac_gan_is_lambda_abs_psi_minus_one_squared(psi):
    """∇_x C = ψ at every (perturbed) input: the penalty is λ(|ψ| − 1)² whatever the
    noise, and the field gains −2λ(|ψ| − 1) sign ψ in ψ."""
    lam, theta = 0.1, 0.2
    plain = gd.DiracGAN(losses.sgan).field(gd.DiracGAN(losses.sgan).state(theta, psi), KEY)
    game = gd.DiracGAN(losses.sgan, regularizers=(gd.DRAGAN(lam),))
    v = game.field(game.state(theta, psi), KEY)
    assert float(v.discriminator - plain.discriminator) == pytest.approx(
        -2 * lam * (abs(psi) - 1) * np.sign(psi), rel=1e-9)
    assert float(v.generator) == pytest.approx(float(plain.generator), rel=1e-12)


def test_dragan_is_the_authors_penalty_on_a_fixed_minibatch():
    """kodalinaveen3/DRAGAN (DRAGAN.ipynb), its arithmetic in NumPy on the uniform draws
    u, α the regularizer takes from its key: x_p = x + 0.5·x.std()·u, x̂ = x + α(x_p − x),
    slopes ‖∇C(x̂)‖, λ·mean((slopes − 1)²), λ = 10. The critic C(x) = ψ₁x + ψ₂x² has
    C'(x) = ψ₁ + 2ψ₂x, so the gradient depends on where it is taken."""
    game = gd.GaussianGAN(losses.sgan, mean=2.0, std=3.0, batch_size=16)
    psi = np.array([0.7, -0.4])
    y = gd.Players(game.init().generator, jnp.asarray(psi))
    real, fake = game.samples(y, KEY)
    noise_key, mix_key = jax.random.split(KEY)
    u = np.asarray(jax.random.uniform(noise_key, real.shape))
    alpha = np.asarray(jax.random.uniform(mix_key, (real.shape[0], 1)))
    x = np.asarray(real)
    x_p = x + 0.5 * x.std() * u
    x_hat = x + alpha * (x_p - x)
    slopes = np.abs(psi[0] + 2 * psi[1] * x_hat[:, 0])
    expected = 10 * np.mean((slopes - 1.0) ** 2)
    reg = gd.DRAGAN()
    assert (reg.weight, reg.scale, reg.centre) == (10.0, 0.5, 1.0)
    assert float(reg.discriminator_penalty(game, y, real, fake, KEY)) == pytest.approx(expected, rel=1e-10)
    # The perturbation scales with the data: c·std(x) = 0.5·std(x), one-sided.
    moved = np.asarray(reg.points(real, KEY)) - x
    assert 0 <= moved.min() and moved.max() <= 0.5 * x.std()
    wider = gd.DRAGAN(scale=2.0).discriminator_penalty(game, y, real, fake, KEY)
    assert float(wider) != pytest.approx(expected)


@pytest.mark.parametrize("theta, psi", [(0.5, 0.3), (-1.2, 0.8)])
def test_lecam_with_constant_anchors_on_the_dirac_gan(theta, psi):
    """ChristophReich1996/Dirac-GAN's form (`fixed_anchors`, two-sided, α_F = α_R = 1,
    λ = 0.15): real logit ψ·0 = 0, fake logit ψθ, the penalty λ(α_F² + (ψθ − α_R)²)
    adds −2λθ(ψθ − α_R) to ψ's field and nothing to θ's."""
    reg = gd.LeCam(0.15, one_sided=False, fixed_anchors=(1.0, 1.0))
    assert not reg.carries_state()
    plain = gd.DiracGAN(losses.nsgan)
    game = gd.DiracGAN(losses.nsgan, regularizers=(reg,))
    v, w = game.field(game.state(theta, psi), KEY), plain.field(plain.state(theta, psi), KEY)
    assert float(v.discriminator - w.discriminator) == pytest.approx(
        -2 * 0.15 * theta * (psi * theta - 1.0), rel=1e-9)
    assert float(v.generator) == pytest.approx(float(w.generator), rel=1e-12)
    penalty = game.losses(game.state(theta, psi), KEY)[1] - plain.losses(plain.state(theta, psi), KEY)[1]
    assert float(penalty) == pytest.approx(0.15 * (1.0 + (psi * theta - 1.0) ** 2), rel=1e-9)


# Four minibatches of logits, and λ·lecam_reg after each step from google/lecam-gan's
# code (biggan_cifar/losses.py `lecam_reg`, third_party/utils.py `ema_losses`), by this
# NumPy transcription of its arithmetic (torch is not installed here; run once):
#
#   class Ema:  # ema_losses(init=1000., decay=d, start_itr=1)
#       def update(self, cur, mode, itr):
#           decay = 0.0 if itr < self.start_itr else self.decay
#           setattr(self, mode, getattr(self, mode) * decay + cur * (1 - decay))
#   relu = lambda a: np.maximum(a, 0)
#   lecam_reg = lambda r, f, ema: (np.mean(relu(r - ema.D_fake) ** 2)
#                                  + np.mean(relu(ema.D_real - f) ** 2))
#   for itr, (r, f) in enumerate(zip(LOGITS_REAL, LOGITS_FAKE)):  # as loss_hinge_dis:
#       ema.update(f.mean(), "D_fake", itr); ema.update(r.mean(), "D_real", itr)
#       out.append(0.3 * lecam_reg(r, f, ema))
LOGITS_REAL = [[0.9, 1.4, -0.2], [1.1, 0.3, 2.0], [-0.5, 0.8, 1.6], [0.2, 0.4, 0.6]]
LOGITS_FAKE = [[-0.7, 0.1, 0.5], [0.6, -1.2, 0.0], [1.3, -0.4, -0.9], [0.9, 1.2, 0.3]]
LECAM_REFERENCE = {
    0.99: ([0.5285555555555553, 0.9675131333333332, 0.7158313502088889, 0.07856740470231598],
           (0.7005870999999998, -0.026303499999999987)),
    0.5: ([0.5285555555555553, 1.1555, 0.7673055555555557, 0.013602430555555564],
          (0.5875000000000001, 0.3708333333333333)),
}


@pytest.mark.parametrize("decay", [0.99, 0.5])
def test_lecam_matches_the_official_lecam_reg_with_its_moving_averages(decay):
    """With the critic C(x) = x (GaussianGAN, ψ = (1, 0)) the samples are the logits:
    each step advances the anchors on its minibatch, then takes the one-sided penalty;
    the real logits are measured against the *fake* anchor."""
    game = gd.GaussianGAN(losses.sgan)
    y = gd.Players(game.init().generator, jnp.array([1.0, 0.0]))
    reg = gd.LeCam(0.3, decay=decay)
    assert reg.carries_state() and reg.one_sided and gd.LeCam().decay == 0.99
    state = reg.init_state(game, y)
    penalties = []
    for r, f in zip(LOGITS_REAL, LOGITS_FAKE):
        real, fake = jnp.array(r)[:, None], jnp.array(f)[:, None]
        state = reg.next_state(game, y, real, fake, state)
        penalty = reg.with_state(state).discriminator_penalty(game, y, real, fake, KEY)
        penalties.append(float(penalty))
    expected, anchors = LECAM_REFERENCE[decay]
    np.testing.assert_allclose(penalties, expected, rtol=1e-12)
    np.testing.assert_allclose([float(state[0]), float(state[1])], anchors, rtol=1e-12)
    # The paper's two-sided form differs where a logit is on the anchor's other side.
    two = gd.LeCam(0.3, decay=decay, one_sided=False).with_state(state)
    real, fake = jnp.array(LOGITS_REAL[-1])[:, None], jnp.array(LOGITS_FAKE[-1])[:, None]
    r, f, (a_real, a_fake) = np.array(LOGITS_REAL[-1]), np.array(LOGITS_FAKE[-1]), anchors
    assert float(two.discriminator_penalty(game, y, real, fake, KEY)) == pytest.approx(
        0.3 * (np.mean((r - a_fake) ** 2) + np.mean((f - a_real) ** 2)), rel=1e-12)


def test_simulate_carries_the_lecam_anchors_across_steps():
    """The anchors are state: `simulate` advances them once a step on the step's own
    minibatch (`fold_in(key, n)`) at the step's start; replaying the saved trajectory
    gives the same moving averages, and a run continued from its state matches one
    uninterrupted run."""
    decay = 0.9
    game = gd.GaussianGAN(losses.sgan, mean=1.0, std=2.0, nodes=None, batch_size=8,
                          regularizers=(gd.LeCam(0.3, decay=decay),))
    key = jax.random.key(3)
    # Each run given its starting state and the default saves (every step here): one
    # compiled program serves the three.
    method = gd.SimultaneousGD()
    start = gd.CarryGameState(method).init(game, game.init(), 0.05, key)
    run_ = lambda y, steps, state, first=0: gd.simulate(  # noqa: E731
        game, method, y, h=0.05, steps=steps, key=key, method_state=state, start_step=first)
    sol = run_(game.init(), 6, start)
    ys = jax.tree_util.tree_map(np.asarray, sol.ys)
    ema = None
    for n in range(6):
        point = gd.Players(jnp.asarray(ys.generator[n]), jnp.asarray(ys.discriminator[n]))
        real_logits, fake_logits = game.logits(point, jax.random.fold_in(key, n))
        means = np.array([np.mean(real_logits), np.mean(fake_logits)])
        ema = means if ema is None else decay * ema + (1 - decay) * means
    _, (anchors,) = sol.method_state
    np.testing.assert_allclose([float(anchors[0]), float(anchors[1])], ema, rtol=1e-10)
    assert int(anchors[2]) == 6
    half = run_(game.init(), 3, start)
    rest = run_(half.final, 3, half.method_state, 3)
    np.testing.assert_allclose(flat(rest.final), flat(sol.final), rtol=1e-12)


def test_new_entries_are_the_papers_methods_with_their_constants():
    """Each new name builds the method or regularizer its description cites, with the
    paper's constants. On the WGAN Dirac-GAN (J = [[0, 1], [−1, 0]]) the step matrices
    have closed forms: consensus (γ = 1, Mescheder 2017) I + h(J − JᵀJ), multipliers
    1 − h ± ih; LSS's field ξ − A H⁻¹ξ has the Jacobian S = (H + Hᵀ)/2 = 0 there
    (Letcher 2019), so its step matrix is I; gradient play's is I + hJ, 1 ± ih."""
    game, h = gd.DiracGAN(losses.wgan), 0.2
    eig = lambda name: np.sort_complex(np.linalg.eigvals(np.asarray(  # noqa: E731
        gd.step_matrix(game, gd.methods.get(name), game.equilibrium(), h))))
    np.testing.assert_allclose(eig("co"), [1 - h - 1j * h, 1 - h + 1j * h], atol=1e-12)
    np.testing.assert_allclose(eig("lss"), [1, 1], atol=1e-12)
    np.testing.assert_allclose(eig("simgd"), [1 - 1j * h, 1 + 1j * h], atol=1e-12)
    acgd = gd.methods.get("acgd")  # the CGDs package's ACGD: RMSProp β = 0.99
    assert isinstance(acgd, gd.ACGD) and acgd.beta == 0.99
    assert isinstance(gd.methods.get("lss-two-timescale"), gd.TwoTimescaleLSS)
    unrolled = gd.methods.get("unrolled-gd")  # Metz 2017: 5 unrolled steps, here plain GD
    assert isinstance(unrolled, gd.Unrolled) and (unrolled.k, unrolled.through) == (5, "gd")
    dragan = gd.regularizers.parse("dragan=10")  # Kodali 2017: λ = 10, δ = 0.5·std, centre 1
    assert isinstance(dragan, gd.DRAGAN) and (dragan.weight, dragan.scale, dragan.centre) == (
        10.0, 0.5, 1.0)
    lecam = gd.regularizers.parse("lecam=0.1")  # Tseng 2021: EMA decay 0.99
    assert isinstance(lecam, gd.LeCam) and (lecam.weight, lecam.decay) == (0.1, 0.99)
"""Modified fields of step methods (backward error analysis) against closed forms: the
logarithm series of linear maps, the Dirac-GAN's linearisation, Rosca et al.'s drift
terms (arXiv 2105.13922), the principal roots of multistep recursions, and the global
error orders of the modified flows."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg
from jax import lax
from jax.flatten_util import ravel_pytree

import gandyn as gd

K = jnp.array([[1.0, 0.4], [-0.3, 0.8]])
BILINEAR = gd.Bilinear(K)
POINT = gd.Players(jnp.array([0.3, -0.5]), jnp.array([0.7, 0.2]))
FLAT = np.asarray(ravel_pytree(POINT)[0])
J = np.block([[np.zeros((2, 2)), -np.asarray(K)], [np.asarray(K).T, np.zeros((2, 2))]])
ZERO = np.zeros((2, 2))


def flat(tree):
    return np.asarray(ravel_pytree(tree)[0])


def terms_at(game, method, point, order):
    return [flat(t) for t in gd.modified_field(game, method, 0.1, order=order).terms(point)]


def _linear_cases():
    """`(method, B)` with the method's map `M = I + hJ + h²B` on the bilinear game."""
    ktk, kkt = np.asarray(K.T @ K), np.asarray(K @ K.T)
    return {
        "simultaneous": (gd.SimultaneousGD(), np.zeros((4, 4))),
        # x' = x − hKy, then y' = y + hKᵀx' = y + hKᵀx − h²KᵀKy.
        "alternating": (gd.AlternatingGD(), np.block([[ZERO, ZERO], [ZERO, -ktk]])),
        # y' = y + hKᵀx, then x' = x − hKy' = x − hKy − h²KKᵀx.
        "alternating, discriminator first": (
            gd.AlternatingGD(generator_first=False), np.block([[-kkt, ZERO], [ZERO, ZERO]])),
    }


@pytest.mark.parametrize("case", list(_linear_cases()))
def test_linear_maps_have_the_logarithm_series_as_modified_generator(case):
    """For M = I + hA + h²B, log(M)/h = A + h(B − A²/2) + h²(A³/3 − (AB + BA)/2) + O(h³):
    the terms F₁, F₂ at a point are those matrices times it, to 1e-12; and the order-2
    generator matches scipy's logm(M)/h to O(h³) (the error falls 8× when h halves)."""
    method, b = _linear_cases()[case]
    f0, f1, f2 = terms_at(BILINEAR, method, POINT, 2)
    a = J
    np.testing.assert_allclose(f0, a @ FLAT, atol=1e-12)
    np.testing.assert_allclose(f1, (b - a @ a / 2) @ FLAT, atol=1e-12)
    np.testing.assert_allclose(f2, (a @ a @ a / 3 - (a @ b + b @ a) / 2) @ FLAT, atol=1e-12)
    errors = []
    for h in (0.02, 0.01):
        exact = np.real(scipy.linalg.logm(np.eye(4) + h * a + h * h * b)) / h @ FLAT
        errors.append(np.linalg.norm(exact - (f0 + h * f1 + h * h * f2)))
    assert errors[0] / errors[1] == pytest.approx(8, rel=0.05)


def test_dirac_gan_simultaneous_gd_linearises_to_j_minus_half_h_j_squared():
    """At the Dirac-GAN's equilibrium v = 0, so the Jacobian of v − (h/2)Jv is
    J − (h/2)J² (the terms with ∂J vanish), to 1e-12."""
    game = gd.DiracGAN(gd.losses.SGANNonSaturating(), bias=True, real_point=0.5)
    star = game.equilibrium()
    x, unravel = ravel_pytree(star)
    jac = np.asarray(jax.jacfwd(lambda x: ravel_pytree(game.field(unravel(x)))[0])(x))
    h = 0.3
    field = gd.modified_field(game, gd.SimultaneousGD(), h, order=1)
    modified = np.asarray(jax.jacfwd(lambda x: ravel_pytree(field(unravel(x)))[0])(x))
    np.testing.assert_allclose(modified, jac - h / 2 * jac @ jac, atol=1e-12)


# --- Rosca et al. 2021: explicit drift terms -----------------------------------------

GAN = gd.DiracGAN(gd.losses.SGANNonSaturating(), bias=True, real_point=0.5)
GAN_POINT = GAN.state(0.8, -0.6, 0.3)


def _player_gradients(game, point):
    """`∇_φ L_1`, `∇_θ L_1`, `∇_φ L_2`, `∇_θ L_2` as functions of (φ, θ), with φ the
    generator, θ the discriminator."""
    l1 = lambda p, t: game.losses(gd.Players(p, t))[0]  # noqa: E731
    l2 = lambda p, t: game.losses(gd.Players(p, t))[1]  # noqa: E731
    return (jax.grad(l1, 0), jax.grad(l1, 1), jax.grad(l2, 0), jax.grad(l2, 1))


def rosca_modified_losses(game, point, h, first="generator"):
    """Rosca et al.'s modified losses (arXiv 2105.13922, Theorems 3.1 and 3.2, equal
    learning rates h): each player i descends

        L̃_i = L_i + (h/4)‖∇_i L_i‖² + c_i (h/2) ∇_j L_i · sg(∇_j L_j)   (j the other),

    c = 1 for both players of simultaneous GD and for the first mover of alternating
    GD, c = −(2α/λ − 1) = −1 for the second mover (the sign flip of its interaction
    term). Returns the drifted field (−∇_φ L̃_1, −∇_θ L̃_2) at `point`."""
    g1p, g1t, g2p, g2t = _player_gradients(game, point)
    sg = lax.stop_gradient
    c_gen = -1.0 if first == "discriminator" else 1.0
    c_disc = -1.0 if first == "generator" else 1.0

    def generator_loss(p, t):
        base = game.losses(gd.Players(p, t))[0]
        return (base + h / 4 * jnp.sum(g1p(p, t) ** 2)
                + c_gen * h / 2 * jnp.sum(g1t(p, t) * sg(g2t(p, t))))

    def discriminator_loss(p, t):
        base = game.losses(gd.Players(p, t))[1]
        return (base + h / 4 * jnp.sum(g2t(p, t) ** 2)
                + c_disc * h / 2 * jnp.sum(g2p(p, t) * sg(g1p(p, t))))

    p, t = point.generator, point.discriminator
    return flat(gd.Players(-jax.grad(generator_loss, 0)(p, t),
                           -jax.grad(discriminator_loss, 1)(p, t)))


@pytest.mark.parametrize("method, first", [
    (gd.SimultaneousGD(), None),
    (gd.AlternatingGD(), "generator"),
    (gd.AlternatingGD(generator_first=False), "discriminator"),
])
def test_first_order_drift_is_rosca_et_al_on_a_nonlinear_gan(method, first):
    """The generic order-1 field equals Rosca et al.'s explicit drift (self terms
    (h/4)‖∇_i L_i‖², interaction terms ±(h/2)∇_j L_i·∇_j L_j, sign − for the second
    mover of alternating GD) on the non-zero-sum non-saturating Dirac-GAN, to 1e-10."""
    h = 0.07
    generic = flat(gd.modified_field(GAN, method, h, order=1)(GAN_POINT))
    np.testing.assert_allclose(generic, rosca_modified_losses(GAN, GAN_POINT, h, first),
                               atol=1e-10)


@pytest.mark.parametrize("alternating", [False, True])
def test_per_player_learning_rates_give_the_drift_in_the_joint_time(alternating):
    """With rates αh (generator φ) and λh (discriminator θ) the map is y + h(αf, λg) +
    h²(0, αλ g_φ f)·[alternating]: in the joint time t = n·h its drift is

        φ: −(h/2)(α² f_φ f + αλ f_θ g),
        θ: −(h/2)(λ² g_θ g + αλ g_φ f) + [alternating] αλ h g_φ f.

    (Rosca et al. state theirs in each player's own time, φ over αh and θ over λh,
    whence their factor (2α/λ − 1); at α = λ the two agree, previous test.)"""
    alpha, lam, h = 0.6, 1.7, 0.05
    method = gd.Optax(optax.sgd(1.0), alternating=alternating, generator_scale=alpha,
                      discriminator_scale=lam)
    x, unravel = ravel_pytree(GAN_POINT)
    n = GAN_POINT.generator.size
    field = lambda x: ravel_pytree(GAN.field(unravel(x)))[0]  # noqa: E731
    v = np.asarray(field(x))
    jac = np.asarray(jax.jacfwd(field)(x))
    f, g = v[:n], v[n:]
    f_phi, f_theta, g_phi, g_theta = jac[:n, :n], jac[:n, n:], jac[n:, :n], jac[n:, n:]
    drift_phi = -h / 2 * (alpha**2 * f_phi @ f + alpha * lam * f_theta @ g)
    drift_theta = -h / 2 * (lam**2 * g_theta @ g + alpha * lam * g_phi @ f)
    if alternating:
        drift_theta = drift_theta + alpha * lam * h * g_phi @ f
    expected = np.concatenate([alpha * f + drift_phi, lam * g + drift_theta])
    generic = flat(gd.modified_field(GAN, method, h, order=1)(GAN_POINT))
    np.testing.assert_allclose(generic, expected, atol=1e-10)


# --- methods with state: the slow manifold --------------------------------------------


def _principal_root_terms(beta, optimistic):
    """`(c₁, c₂)` of the principal root ξ = 1 + c₁z + c₂z² + … of the method's
    characteristic polynomial on y' = λy (z = hλ); the modified generator is
    log ξ / h = c₁λ + h(c₂ − c₁²/2)λ² + …"""
    if optimistic:  # ξ² − (1 + 2z)ξ + z = 0 (Daskalakis et al. 2018)
        return 1.0, 1.0
    c1 = 1 / (1 - beta)  # heavy ball: ξ² − (1 + β + z)ξ + β = 0
    return c1, (c1 - c1 * c1) / (1 - beta)


@pytest.mark.parametrize("name", ["optimistic", "extrapolation from the past", "momentum",
                                  "negative momentum, simultaneous"])
def test_methods_with_state_follow_their_principal_root(name):
    """On the bilinear game a two-step method's iterates, on its slow manifold, follow
    the principal root ξ(hJ) of its characteristic polynomial: F₀ = c₁J and
    F₁ = (c₂ − c₁²/2)J², to 1e-12."""
    method, beta, optimistic = {
        "optimistic": (gd.OptimisticGD(), 0.0, True),
        "extrapolation from the past": (gd.ExtrapolationFromThePast(), 0.0, True),
        "momentum": (gd.Optax(optax.sgd(1.0, momentum=0.5)), 0.5, False),
        "negative momentum, simultaneous": (gd.Optax(optax.sgd(1.0, momentum=-0.5)), -0.5,
                                            False),
    }[name]
    c1, c2 = _principal_root_terms(beta, optimistic)
    f0, f1 = terms_at(BILINEAR, method, POINT, 1)
    np.testing.assert_allclose(f0, c1 * J @ FLAT, atol=1e-12)
    np.testing.assert_allclose(f1, (c2 - c1 * c1 / 2) * J @ J @ FLAT, atol=1e-12)


def test_a_second_order_runge_kutta_method_has_no_first_order_drift():
    """Heun's method has one-step error O(h³): its modified field is the field plus
    O(h²), so F₁ = 0 on a nonlinear game, while Euler's F₁ = −½Jv is not."""
    f0, f1 = terms_at(GAN, gd.Flow(diffrax.Heun()), GAN_POINT, 1)
    np.testing.assert_allclose(f0, flat(GAN.field(GAN_POINT)), atol=1e-12)
    np.testing.assert_allclose(f1, 0, atol=1e-12)
    assert np.linalg.norm(terms_at(GAN, gd.SimultaneousGD(), GAN_POINT, 1)[1]) > 1e-2


def test_methods_without_a_smooth_step_map_are_refused_in_one_line():
    for method in (gd.AdaptiveFlow(), gd.Averaged(gd.SimultaneousGD()), gd.OptimisticAdam()):
        with pytest.raises(ValueError, match=type(method).__name__ + ".*works for") as info:
            gd.modified_field(BILINEAR, method, 0.1)(POINT)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="order"):
        gd.modified_field(BILINEAR, gd.SimultaneousGD(), 0.1, order=-1)
    with pytest.raises(ValueError, match="time must be one of rosca, joint"):
        gd.drift_penalties(BILINEAR, POINT, 0.1, time="own")


# --- global error of the modified flows -----------------------------------------------


@eqx.filter_jit
def _errors(field, y0, h):
    """|flow of `field` over T = 1 − map's iterate at n = 1/h| for the field's method."""
    flow = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: field(y)), diffrax.Tsit5(), 0.0, 1.0, 0.01, y0,
        stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12), max_steps=100_000)
    steps = jnp.round(1.0 / h).astype(int)
    iterate = lax.fori_loop(0, steps, lambda i, y: field.method.step(
        field.game, y, None, 0.0, h, field.key)[0], y0)
    end = jax.tree_util.tree_map(lambda a: a[-1], flow.ys)
    return jnp.linalg.norm(ravel_pytree(end)[0] - ravel_pytree(iterate)[0])


@pytest.mark.parametrize("order", [0, 1, 2])
def test_modified_flow_follows_the_map_with_global_error_of_order_k_plus_one(order):
    """Simultaneous GD on the nonlinear Dirac-GAN over T = 1: the flow of the order-k
    modified field ends within O(h^{k+1}) of the map's iterate (log-log slope k + 1)."""
    hs = np.array([0.1, 0.05, 0.025])
    y0 = GAN.state(1.0, 0.5, 0.2)
    errors = [float(_errors(gd.modified_field(GAN, gd.SimultaneousGD(), h, order=order),
                            y0, h)) for h in hs]
    slope = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert slope == pytest.approx(order + 1, abs=0.2)


# --- Rosca et al.'s decomposition into self and interaction penalties -----------------


def _penalty_drift(players, h, rates, **options):
    """`(−α_i ∇_i(self_i + interaction_i))_i`: the drift the penalties put on the field."""
    def player_penalty(name, part):
        y = eqx.tree_at(lambda p: getattr(p, name), players, part)
        terms = gd.drift_penalties(GAN, y, h, rates=rates, **options)
        return terms[f"{name} self"] + terms[f"{name} interaction"]

    g = jax.grad(lambda p: player_penalty("generator", p))(players.generator)
    d = jax.grad(lambda p: player_penalty("discriminator", p))(players.discriminator)
    return flat(gd.Players(-rates[0] * g, -rates[1] * d))


@pytest.mark.parametrize("alternating, generator_first", [(False, True), (True, True),
                                                          (True, False)])
def test_drift_penalties_add_up_to_the_generic_first_order_drift(alternating, generator_first):
    """In the joint time the gradients of the self and interaction penalties give
    h·F₁ of `modified_field` (per-player rates 0.6, 1.7), to 1e-10; in Rosca et al.'s
    per-player time they differ from it by their factors: the interaction scaled by
    the player's own rate (own/other = α/λ for the generator of simultaneous GD), the
    second mover's by −(2α/λ − 1)λ (their code's `get_dd_coeffs`)."""
    alpha, lam, h = 0.6, 1.7, 0.05
    method = gd.Optax(optax.sgd(1.0), alternating=alternating, generator_first=generator_first,
                      generator_scale=alpha, discriminator_scale=lam)
    f1 = terms_at(GAN, method, GAN_POINT, 1)[1]
    options = dict(alternating=alternating, generator_first=generator_first)
    joint = _penalty_drift(GAN_POINT, h, (alpha, lam), time="joint", **options)
    np.testing.assert_allclose(joint, h * f1, atol=1e-10)
    rosca = gd.drift_penalties(GAN, GAN_POINT, h, rates=(alpha, lam), **options)
    plain = gd.drift_penalties(GAN, GAN_POINT, h, rates=(alpha, lam), time="joint", **options)
    rates = {"generator": alpha, "discriminator": lam}
    for player, other in (("generator", "discriminator"), ("discriminator", "generator")):
        assert float(rosca[f"{player} self"]) == pytest.approx(float(plain[f"{player} self"]))
        second = alternating and (player == "discriminator") == generator_first
        if second:  # their −(2α/λ − 1)λ against the joint time's −α (α: first mover's rate)
            ratio = (2 * rates[other] - rates[player]) / rates[other]
        else:
            ratio = rates[player] / rates[other]
        assert float(rosca[f"{player} interaction"]) == pytest.approx(
            ratio * float(plain[f"{player} interaction"]), rel=1e-12)


# --- the modified flow as a method (`-m modified:NAME`) -------------------------------

WGAN = gd.DiracGAN(gd.losses.WGAN())


@pytest.mark.parametrize("order", [0, 1, 2])
def test_modified_flow_predicts_simultaneous_gds_growth_on_the_wgan_dirac_gan(order):
    """J = [[0, 1], [−1, 0]] (λ = ±i): simultaneous GD grows by |1 + ih| = √(1 + h²) per
    step while the plain flow's Re λ = 0. The order-k modified field's spectrum is the
    truncated log(1 + hλ)/h: Re λ̃ = 0 at order 0 and h/2 at orders 1, 2 (the h² term
    i³/3 is imaginary), Im λ̃ = 1 − h²/3 at order 2, to 1e-12; the method's growth per
    step (its step matrix, RK4 substeps) is exp(h Re λ̃), within h⁴ of the map's."""
    h = 0.2
    method = gd.ModifiedFlow(gd.SimultaneousGD(), order=order)
    star = WGAN.equilibrium()
    flow = method.flow_eigenvalues(WGAN, star, h)
    real, imag = (0.0, 1.0) if order == 0 else (h / 2, 1.0 if order == 1 else 1 - h**2 / 3)
    np.testing.assert_allclose(np.sort_complex(flow), [real - 1j * imag, real + 1j * imag],
                               atol=1e-12)
    row = gd.stability_report(WGAN, {"modified": method}, h)["methods"]["modified"]
    growth = row["growth_per_step"]  # eigen's row: the spectrum beside the growth
    np.testing.assert_allclose(sorted(row["flow_eigenvalues"]), [[real, -imag], [real, imag]],
                               atol=1e-12)
    assert growth == pytest.approx(np.exp(h * real), rel=1e-7)
    map_growth = gd.amplification(WGAN, gd.SimultaneousGD(), star, h)
    assert map_growth == pytest.approx(np.sqrt(1 + h**2), rel=1e-12)
    if order > 0:
        assert abs(growth - map_growth) < h**4 and growth > 1


def test_modified_simgd_is_a_method_by_name_with_its_and_its_maps_options():
    """`modified:altgd` passes every name check, takes `order`, `substeps` and altgd's
    own options, is in the "modified flows" family; an unknown or stateful inner name
    is one line naming the valid ones; runs like any method (10 steps on the
    WGAN Dirac-GAN end where the order-1 modified flow's exact rotation ends)."""
    registry = gd.methods.registry
    assert {"order", "substeps", "discriminator_steps"} <= set(registry.options("modified:altgd"))
    assert registry.family("modified:simgd") == "modified flows" and "modified:simgd" in registry
    spec = gd.RunSpec(game="dirac", losses=("wgan",), methods=("altgd", "Modified: AltGD"),
                      options={"order": 2, "discriminator_steps": 3})
    built = spec.methods_built()["modified:altgd"]
    assert built.order == 2 and built.method.discriminator_steps == 3
    for bad in ("modified:nope", "modified:adam", "nope"):
        with pytest.raises(ValueError, match="simgd, altgd") as info:
            gd.RunSpec(methods=(bad,))
        message = str(info.value)
        assert "\n" not in message and ("NAME takes" in message) == (bad != "nope")
        if bad != "nope":  # the stateful Adam has no modified field: not offered
            assert "adam" not in message.partition("one of:")[2]
    h, n = 0.1, 10
    solution = gd.simulate(WGAN, gd.ModifiedFlow(gd.SimultaneousGD()), WGAN.state(1.0, 0.5),
                           h=h, steps=n, save_every=1)
    # v = Jy with J = [[0, 1], [−1, 0]]: v − (h/2)Jv = (J + h/2)y, a clockwise rotation by
    # t = n·h growing as exp(ht/2).
    t = n * h
    rotation = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) * np.exp(h * t / 2)
    np.testing.assert_allclose(flat(jax.tree_util.tree_map(lambda a: a[-1], solution.ys)),
                               rotation @ np.array([1.0, 0.5]), atol=1e-8)


# --- the drift as regularizers (`--reg drift-self=c`, `--reg drift-interaction=c`) -----


@eqx.filter_jit
def _iterate(game, y0, h):
    """Simultaneous GD's iterate at n = 1/h (h traced: one program for every h)."""
    steps = jnp.round(1.0 / h).astype(int)
    return lax.fori_loop(0, steps, lambda i, y: gd.SimultaneousGD().step(
        game, y, None, 0.0, h, jax.random.key(0))[0], y0)


def _drift_game(loss, parts, h, **options):
    regs = tuple(gd.DriftPenalty(-1.0, part, jnp.asarray(h)) for part in parts)
    return gd.DiracGAN(loss, regularizers=regs, **options)


@pytest.mark.parametrize("loss, options, parts, slope", [
    (gd.losses.WGAN(), {}, ("interaction",), 2),
    (gd.losses.SGANNonSaturating(), {"bias": True, "real_point": 0.5}, ("interaction",), 1),
    (gd.losses.SGANNonSaturating(), {"bias": True, "real_point": 0.5},
     ("self", "interaction"), 2),
])
def test_cancelling_the_drift_makes_simultaneous_gd_follow_the_flow_one_order_closer(
        loss, options, parts, slope):
    """Simultaneous GD at step h ends O(h) from the plain flow at T = 1; with the drift
    penalties at c = −1 (Rosca et al.'s explicit cancellation) it ends O(h²) from it
    (log-log slope 2). On the WGAN Dirac-GAN the self terms vanish (‖∇_θ L_G‖² = ψ² does
    not depend on θ), so cancelling the interaction terms suffices; on the nonlinear
    one (non-saturating loss, bias, real point 0.5) the self terms remain and only
    cancelling both gains the order."""
    plain = gd.DiracGAN(loss, **options)
    y0 = plain.state(0.9, 0.4, 0.2) if options else plain.state(0.9, 0.4)
    flow = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: plain.field(y)), diffrax.Tsit5(), 0.0, 1.0, 0.01, y0,
        stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12), max_steps=10_000)
    end = flat(jax.tree_util.tree_map(lambda a: a[-1], flow.ys))
    hs = np.array([0.1, 0.05, 0.025])
    errors = [np.linalg.norm(flat(_iterate(_drift_game(loss, parts, h, **options), y0,
                                           jnp.asarray(h))) - end) for h in hs]
    fitted = np.polyfit(np.log(hs), np.log(errors), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.2)


def test_drift_regularizers_by_name_take_a_sign_and_the_step():
    """`--reg drift-interaction=-1 --opt drift-interaction.h=0.05` builds the penalty
    with c = −1 and h = 0.05; a negative weight stays refused for other regularizers."""
    spec = gd.RunSpec(game="dirac", losses=("wgan",), regularizers=("drift-interaction=-1",),
                      options={"drift-interaction.h": 0.05})
    (_, game), = spec.games()
    (penalty,) = game.regularizers
    assert (penalty.weight, penalty.part, penalty.h) == (-1.0, "interaction", 0.05)
    with pytest.raises(ValueError, match=r"weight must be a finite number in \[0, 1e6\]"):
        gd.RunSpec(game="dirac", regularizers=("r1=-1",))


def test_a_game_with_both_drift_penalties_has_the_modified_fields_jacobian():
    """At the nonlinear Dirac-GAN's equilibrium the field of the game with
    `drift-self=1` and `drift-interaction=1` has the Jacobian J − (h/2)J² of simultaneous
    GD's order-1 modified field, to 1e-12: the other player's gradient is held only to
    first order, so eigen's spectrum of a game with drift penalties is the modified
    flow's (a stop-gradient would give J)."""
    h = 0.3
    game = gd.DiracGAN(gd.losses.SGANNonSaturating(), bias=True, real_point=0.5, regularizers=(
        gd.DriftPenalty(1.0, "self", h), gd.DriftPenalty(1.0, "interaction", h)))
    x, unravel = ravel_pytree(GAN.equilibrium())
    jac = np.asarray(jax.jacfwd(lambda z: ravel_pytree(GAN.field(unravel(z)))[0])(x))
    drifted = jax.jit(jax.jacfwd(lambda z: ravel_pytree(game.field(unravel(z)))[0]))(x)
    np.testing.assert_allclose(drifted, jac - h / 2 * jac @ jac, atol=1e-12)

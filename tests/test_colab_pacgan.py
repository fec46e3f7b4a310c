"""ODE-GAN's colab update, haiku initialisation, PacGAN's packing and mode metrics."""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gandyn as gd
from gandyn._methods._flows import erk_step, explicit_tableau
from gandyn.metrics import mode_coverage, pacgan_mode_metrics

# --- PacGAN's metrics --------------------------------------------------------------------


CENTRES = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
STD = 0.01


def test_pacgan_metrics_by_hand():
    # 3 samples at mode 0, 1 at mode 1 (2.9σ off: assigned), one 3.1σ off mode 2
    # (not assigned), one far away; mode 3 empty.
    x = np.array([[0, 0], [0.005, 0], [0, -0.01], [1.029, 0], [0, 1.031], [0.5, 0.5]])
    m = pacgan_mode_metrics(x, CENTRES, STD)
    assert m["counts"] == [3, 1, 0, 0]
    assert m["modes"] == 2
    assert m["high_quality"] == pytest.approx(4 / 6)
    # KL(p‖u) with p = (3/4, 1/4, 0, 0), u = 1/4: Σ p ln(4p) = ¾ ln 3 + ¼ ln 1.
    assert m["reverse_kl"] == pytest.approx(0.75 * math.log(3.0))


def test_pacgan_metrics_uniform_and_collapsed():
    x = np.repeat(CENTRES, 5, axis=0)
    m = pacgan_mode_metrics(x, CENTRES, STD)
    assert (m["modes"], m["high_quality"]) == (4, 1.0)
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    # All on one mode: KL = ln K; a single stray sample on another mode is a mode for
    # PacGAN (≥ 1 sample) but not for gandyn's mode_coverage (≥ a tenth of n/K).
    x = np.concatenate([np.zeros((99, 2)), CENTRES[1:2]])
    m = pacgan_mode_metrics(x, CENTRES, STD)
    assert m["modes"] == 2
    assert m["reverse_kl"] == pytest.approx(0.99 * math.log(4 * 0.99) + 0.01 * math.log(4 * 0.01))
    assert mode_coverage(x, CENTRES, STD)[0] == 1
    assert np.isnan(pacgan_mode_metrics(np.full((3, 2), 9.0), CENTRES, STD)["reverse_kl"])


def test_pacgan_threshold_is_strict_in_sigma_units():
    # exactly 3σ is not assigned (PacGAN: `min_dis < dis_thre`); gandyn's radius is ≤ 3σ.
    x = np.array([[3 * 0.5, 0.0]])
    assert pacgan_mode_metrics(x, np.zeros((1, 2)), 0.5)["modes"] == 0
    assert mode_coverage(x, np.zeros((1, 2)), 0.5)[0] == 1


# --- packing ------------------------------------------------------------------------------


def _game(pack, loss=gd.losses.nsgan, regularizers=(), **kw):
    target = gd.data.Ring(modes=8, radius=1.0, std=0.01)
    kw = dict(width=8, depth=2, latent_size=2, batch_size=6) | kw
    return gd.MLPGAN(loss, target, regularizers=regularizers, pack=pack, **kw)


def test_packed_samples_and_logits_shape():
    game = _game(3)
    players = game.init(jax.random.key(1))
    real, fake = game.samples(players, jax.random.key(2))
    assert real.shape == fake.shape == (6, 3, 2)
    assert game.discriminate(players.discriminator, fake).shape == (6,)
    with pytest.raises(ValueError, match=r"pack=3.*\(n, 3, 2\)"):
        game.discriminate(players.discriminator, fake[:, :2])
    with pytest.raises(ValueError, match="pack must be a positive integer"):
        _game(0)


def test_pack_is_the_unpacked_discriminator_on_the_concatenation():
    packed = _game(2)
    players = packed.init(jax.random.key(3))
    x = jax.random.normal(jax.random.key(4), (5, 2, 2))
    # the discriminator network itself (input 2·2) on x₁ ⊕ x₂, one pack at a time
    network = eqx.combine(players.discriminator, packed._static()[1])
    expected = jnp.stack([network(jnp.concatenate([p[0], p[1]])) for p in x])
    np.testing.assert_allclose(packed.discriminate(players.discriminator, x), expected, rtol=1e-12)
    # Not invariant to the order within a pack (a first layer sees x₁ and x₂ through
    # different weights), for a generic network.
    swapped = packed.discriminate(players.discriminator, x[:, ::-1])
    assert np.max(np.abs(swapped - expected)) > 1e-3


@pytest.mark.parametrize("loss", gd.losses.names())
def test_pack_works_with_every_loss(loss):
    game = _game(2, gd.losses.get(loss), regularizers=(gd.R1(1.0),))
    players = game.init(jax.random.key(0))
    v = jax.jit(game.field)(players, jax.random.key(1))
    for a, b in zip(jax.tree_util.tree_leaves(v), jax.tree_util.tree_leaves(players)):
        assert a.shape == b.shape and bool(jnp.all(jnp.isfinite(a)))
    assert float(sum(jnp.sum(a**2) for a in jax.tree_util.tree_leaves(v))) > 0


@pytest.mark.parametrize("regularizer", [gd.R1(1.0), gd.WGANGP(10.0), gd.R2(1.0)])
def test_pack_works_with_gradient_penalties(regularizer):
    game = _game(2, gd.losses.wgan, regularizers=(regularizer,))
    bare = _game(2, gd.losses.wgan)
    players = game.init(jax.random.key(0))
    key = jax.random.key(1)
    (_, with_penalty), (_, without) = jax.jit(game.losses)(players, key), bare.losses(players, key)
    assert float(with_penalty - without) > 0 and np.isfinite(float(with_penalty))
    v = jax.jit(game.field)(players, key)
    assert all(bool(jnp.all(jnp.isfinite(a))) for a in jax.tree_util.tree_leaves(v))


def test_r1_on_a_pack_is_the_gradient_over_the_whole_pack():
    # C(x₁ ⊕ x₂) = w·(x₁ ⊕ x₂) + b with depth 0: ‖∇C‖² = ‖w‖² for every pack.
    game = _game(2, regularizers=(gd.R1(2.0),), depth=0)
    players = game.init(jax.random.key(0))
    w = players.discriminator.layers[0].weight
    _, ld = game.losses(players, jax.random.key(1))
    _, ld0 = game.loss_terms(players, jax.random.key(1))
    assert float(ld - ld0) == pytest.approx(0.5 * 2.0 * float(jnp.sum(w**2)))
    assert w.shape == (1, 4)


def test_conv_pack_concatenates_channels():
    game = gd.ConvGAN(gd.losses.nsgan, gd.data.digits(), width=2, latent_size=3, batch_size=2,
                      pack=2)
    players = game.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (3, 2, 1, 8, 8))
    network = eqx.combine(players.discriminator, game._static()[1])
    expected = jnp.stack([network(jnp.concatenate([p[0], p[1]])) for p in x])  # (2, 8, 8) each
    got = game.discriminate(players.discriminator, x)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, jnp.ravel(expected), rtol=1e-10)


# --- haiku initialisation -------------------------------------------------------------------


def test_haiku_initialisation_statistics():
    target = gd.data.Grid(side=4, spacing=1.0, std=0.02)
    game = gd.MLPGAN(gd.losses.nsgan, target, width=400, depth=2, latent_size=32,
                     init_scheme="haiku")
    players = game.init(jax.random.key(0))
    # std of N(0, 1) truncated to [−2, 2]: √(1 − 2·2φ(2)/(Φ(2) − Φ(−2))) = 0.8796
    phi = math.exp(-2.0) / math.sqrt(2 * math.pi)
    tn_std = math.sqrt(1 - 4 * phi / math.erf(2 / math.sqrt(2)))
    assert tn_std == pytest.approx(0.8796, abs=1e-4)
    for net in (players.generator, players.discriminator):
        for layer in net.layers:
            fan_in = layer.weight.shape[1]
            z = np.asarray(layer.weight) * math.sqrt(fan_in)
            assert np.all(np.abs(z) <= 2.0)
            assert np.all(np.asarray(layer.bias) == 0.0)
            if z.size >= 10_000:
                assert z.std() == pytest.approx(tn_std, rel=0.02)
                assert abs(z.mean()) < 0.02
    with pytest.raises(ValueError, match="init_scheme 'flax'.*equinox, haiku"):
        gd.MLPGAN(gd.losses.nsgan, target, init_scheme="flax")


# --- the colab's "euler_heun" -----------------------------------------------------------------


@pytest.mark.parametrize("h", [0.1, 0.5, 1.0])
def test_colab_euler_heun_one_step_on_decay(h):
    solver = gd.ColabEulerHeun()
    y1 = erk_step(lambda y: -y, jnp.array(1.0), h, explicit_tableau(solver))
    assert float(y1) == pytest.approx(1 - h + h**2 / 4, rel=1e-14)
    assert float(gd.methods.get("euler-heun-flow").stability_function()(np.array(-h))) == \
        pytest.approx(abs(1 - h + h**2 / 4))
    # Heun (diffrax's) gives 1 − h + h²/2
    assert float(erk_step(lambda y: -y, jnp.array(1.0), h, explicit_tableau(diffrax.Heun()))) == \
        pytest.approx(1 - h + h**2 / 2, rel=1e-14)


def test_colab_euler_heun_is_first_order():
    # global error at t = 1 on y' = −y, against e⁻¹: slope 1 in log-log (Heun: 2)
    def error(solver, n):
        step = jax.jit(lambda y: erk_step(lambda x: -x, y, 1.0 / n, explicit_tableau(solver)))
        y = jnp.array(1.0)
        y = jax.lax.fori_loop(0, n, lambda i, y: step(y), y)
        return abs(float(y) - math.exp(-1.0))

    ns = np.array([50, 100, 200, 400])
    for solver, order in ((gd.ColabEulerHeun(), 1), (diffrax.Heun(), 2)):
        errors = np.array([error(solver, n) for n in ns])
        slope = -np.polyfit(np.log(ns), np.log(errors), 1)[0]
        assert slope == pytest.approx(order, abs=0.05)
    # the leading error constant: Σ b c = ¼ instead of ½, so y(1) ≈ e⁻¹(1 + h/4 · 1)·…;
    # the method's local error is (½ − ¼)h²y = h²/4 per unit step → global ≈ e⁻¹/4 · h
    assert error(gd.ColabEulerHeun(), 400) * 400 == pytest.approx(math.exp(-1.0) / 4, rel=0.02)


# --- the colab's regularizer placement ---------------------------------------------------------


# The colab's integrators, verbatim tableaux (`alpha`, `beta`, `c_sol`): stage i takes
# y0 + dt·Σ_j beta[i−1, j] k_j, the step y0 + dt·Σ c_j k_j.
_COLAB = {
    "euler": (np.zeros((0, 1)), np.array([1.0])),
    "euler_heun": (np.array([[0.5, 0.0]]), np.array([0.5, 0.5])),
    "runge_kutta": (np.array([[0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1.0, 0]]),
                    np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6])),
}


def _colab_step(func, y0, dt, tableau):
    beta, c_sol = tableau
    tmap = jax.tree_util.tree_map
    k = [func(y0)]
    for row in beta:
        yi = tmap(lambda u, *v: u + dt * sum(b * x for b, x in zip(row, v)), y0, *k)
        k.append(func(yi))
    return tmap(lambda u, *v: u + dt * sum(c * x for c, x in zip(c_sol, v)), y0, *k)


def _colab_ode_update(game, players, key, dt, reg, tableau):
    """`ode_update` of odegan_mog16.ipynb, written out with its own losses: logits with
    the sign flipped (`l = −C_ψ`), gradient *ascent* on `disc_loss`, `gen_loss`, each
    player stepped with the other frozen, `Δt·reg·∇_ψ(−‖∇_θ gen_loss‖²)` added once."""
    real_key, fake_key, _ = jax.random.split(key, 3)  # the game's minibatch of `key`
    real = game.real_samples(real_key)
    logits = lambda psi, x: -game.discriminate(psi, x)  # noqa: E731

    def disc_loss(psi, theta):
        r, f = logits(psi, real), logits(psi, game.generate(theta, fake_key))
        return -jnp.mean((r - jax.nn.log_sigmoid(r)) + (-jax.nn.log_sigmoid(f)))

    def gen_loss(psi, theta):
        f = logits(psi, game.generate(theta, fake_key))
        return -jnp.mean(f - jax.nn.log_sigmoid(f))

    def gen_norm(psi, theta):
        grad = jax.grad(gen_loss, argnums=1)(psi, theta)
        return -sum(jnp.sum(a * a) for a in jax.tree_util.tree_leaves(grad))

    psi, theta = players.discriminator, players.generator
    disc_gen_grad = jax.grad(gen_norm, argnums=0)(psi, theta)
    new_theta = _colab_step(lambda t: jax.grad(gen_loss, argnums=1)(psi, t), theta, dt, tableau)
    new_psi = _colab_step(lambda p: jax.grad(disc_loss, argnums=0)(p, theta), psi, dt, tableau)
    new_psi = jax.tree_util.tree_map(lambda x, y: x + dt * reg * y, new_psi, disc_gen_grad)
    return gd.Players(new_theta, new_psi)


@pytest.mark.parametrize("name,solver", [("runge_kutta", gd.RK4()), ("euler", diffrax.Euler()),
                                         ("euler_heun", gd.ColabEulerHeun())])
def test_explicit_penalties_is_the_colab_update(name, solver):
    target = gd.data.Grid(side=4, spacing=1.0, std=0.02, stratified=True)
    game = gd.MLPGAN(gd.losses.nsgan, target, width=4, depth=2, latent_size=3, batch_size=8,
                     regularizers=(gd.GeneratorGradientPenalty(0.07),), init_scheme="haiku")
    players = game.init(jax.random.key(7))
    key, h = jax.random.key(11), 0.1
    expected = _colab_ode_update(game, players, key, h, 0.07, _COLAB[name])
    method = gd.ExplicitPenalties(gd.PlayerwiseFlow(solver))
    got, _ = method.step(game, players, method.init(game, players, h, key), 0.0, h, key)
    flat = lambda t: jnp.concatenate([jnp.ravel(a) for a in jax.tree_util.tree_leaves(t)])  # noqa: E731
    np.testing.assert_allclose(flat(got), flat(expected), rtol=1e-10, atol=1e-12)

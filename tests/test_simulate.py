import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import radius2

import gandyn as gd
from gandyn import losses


def wgan():
    return gd.DiracGAN(losses.wgan)


def rk4_amplification(y):
    z = 1j * y
    return abs(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24)


@pytest.mark.parametrize("name", ["sgan", "wgan"])
def test_continuous_flow_conserves_the_radius(name):
    game = gd.DiracGAN(losses.get(name))
    y0 = game.state(jnp.array([1.0, -0.5, 2.0]), jnp.array([1.0, 1.5, 0.1]))
    method = gd.AdaptiveFlow(diffrax.Tsit5(), rtol=1e-11, atol=1e-12)
    sol = gd.simulate(game, method, y0, h=0.05, steps=400)
    r2 = radius2(sol)
    np.testing.assert_allclose(r2, r2[:, :1] * np.ones_like(r2), rtol=1e-8)
    assert (sol.status == gd.Status.CYCLING).all()


def test_simultaneous_gd_on_wgan_grows_the_radius_by_exactly_one_plus_h_squared():
    h = 0.1
    sol = gd.simulate(wgan(), gd.SimultaneousGD(), wgan().state(1.0, 0.5), h=h, steps=50, save_every=1)
    r2 = radius2(sol)
    np.testing.assert_allclose(r2[1:] / r2[:-1], 1 + h**2, rtol=1e-12)
    assert sol.status == gd.Status.DIVERGING
    assert float(sol.rate) == pytest.approx(np.sqrt(1 + h**2), rel=1e-9)


def test_divergence_is_a_result_with_the_exact_step():
    # WGAN + Euler: z = θ + iψ evolves as z_n = (1 − ih)^n z_0.
    h, blowup = 0.5, 1e3
    sol = gd.simulate(wgan(), gd.SimultaneousGD(), wgan().state(1.0, 0.0), h=h, steps=200,
                      blowup=blowup, save_every=1)
    z = (1 - 1j * h) ** np.arange(201)
    expected = int(np.argmax(np.maximum(abs(z.real), abs(z.imag)) > blowup))
    assert int(sol.diverged_at) == expected
    assert sol.status == gd.Status.DIVERGED
    assert np.isnan(np.asarray(sol.ys.generator)[expected:]).all()
    assert np.isfinite(np.asarray(sol.ys.generator)[:expected]).all()
    # The final state is the last one before the divergence, and it is finite.
    np.testing.assert_allclose(float(sol.final.generator), z[expected - 1].real, rtol=1e-9)


def test_nan_and_inf_are_caught_not_raised():
    sol = gd.simulate(wgan(), gd.SimultaneousGD(), wgan().state(1.0, 1.0), h=1e200, steps=10,
                      blowup=np.inf)
    assert sol.status == gd.Status.DIVERGED
    assert int(sol.diverged_at) in (1, 2, 3)


def test_alternating_gd_on_wgan_is_area_preserving_and_cycles():
    h = 0.3
    game = wgan()
    y0 = game.state(1.0, 0.0)
    one = gd.simulate(game, gd.AlternatingGD(), y0, h=h, steps=1, save_every=1)
    M = np.array([[1, h], [-h, 1 - h**2]])
    np.testing.assert_allclose(
        [float(one.final.generator), float(one.final.discriminator)], M @ [1.0, 0.0], rtol=1e-12
    )
    assert np.linalg.det(M) == pytest.approx(1.0)
    sol = gd.simulate(game, gd.AlternatingGD(), y0, h=h, steps=20_000)
    r2 = radius2(sol)
    # Bounded on a closed curve, never approaching the equilibrium.
    assert r2.max() < 2.0 and r2.min() > 0.5
    assert sol.status == gd.Status.CYCLING


@pytest.mark.parametrize("name, a", [("wgan", 1.0), ("sgan", 0.5)])
@pytest.mark.parametrize("ha", [0.5, 1.0, 2.0, 2.7])
def test_rk4_contracts_for_h_a_below_two_root_two(name, a, ha):
    game = gd.DiracGAN(losses.get(name))
    h = ha / a
    sol = gd.simulate(game, gd.Flow(gd.RK4()), game.state(1e-4, 1e-4), h=h, steps=300)
    distance = np.asarray(sol.distance)
    assert distance[-1] < distance[0]
    # Near the equilibrium the measured rate is the stability function's modulus.
    assert float(sol.rate) == pytest.approx(rk4_amplification(ha), rel=1e-3)


def test_rk4_expands_beyond_two_root_two():
    sol = gd.simulate(wgan(), gd.Flow(gd.RK4()), wgan().state(1e-3, 0.0), h=3.0, steps=100)
    assert float(sol.rate) == pytest.approx(rk4_amplification(3.0), rel=1e-6)
    assert float(sol.rate) > 1


@pytest.mark.parametrize("h, contracts", [(0.3, True), (0.9, True), (1.2, False)])
def test_extragradient_contracts_exactly_when_h_a_below_one(h, contracts):
    sol = gd.simulate(wgan(), gd.Extragradient(), wgan().state(1e-3, 0.0), h=h, steps=200)
    z = 1j * h
    assert float(sol.rate) == pytest.approx(abs(1 + z + z**2), rel=1e-6)
    assert (float(sol.rate) < 1) == contracts


def test_optimistic_gd_converges_for_small_steps():
    sol = gd.simulate(wgan(), gd.OptimisticGD(), wgan().state(1.0, 1.0), h=0.2, steps=2000)
    assert sol.status in (gd.Status.CONVERGED, gd.Status.CONVERGING)
    assert float(np.asarray(sol.distance)[-1]) < 1e-3


def test_implicit_euler_is_the_proximal_point_method():
    h = 0.5
    method = gd.Flow(diffrax.ImplicitEuler(diffrax.VeryChord(rtol=1e-12, atol=1e-12)))
    sol = gd.simulate(wgan(), method, wgan().state(1.0, 0.0), h=h, steps=50)
    assert float(sol.rate) == pytest.approx(1 / np.sqrt(1 + h**2), rel=1e-9)


def test_named_flows_match_their_diffrax_solvers():
    game = gd.DiracGAN(losses.sgan)
    y0 = game.state(0.7, -0.4)
    euler = gd.simulate(game, gd.Flow(diffrax.Euler()), y0, h=0.2, steps=30)
    simgd = gd.simulate(game, gd.SimultaneousGD(), y0, h=0.2, steps=30)
    sgd = gd.simulate(game, gd.Optax(optax.sgd(1.0)), y0, h=0.2, steps=30)
    np.testing.assert_allclose(euler.ys.generator, simgd.ys.generator, rtol=1e-14)
    np.testing.assert_allclose(euler.ys.generator, sgd.ys.generator, rtol=1e-12)


def test_optax_method_equals_a_hand_written_optax_loop():
    game = gd.DiracGAN(losses.nsgan, real_point=0.5)
    h, steps = 0.05, 25
    y = game.state(1.0, 0.3)
    sol = gd.simulate(game, gd.Optax(optax.adam(1.0), discriminator_scale=2.0), y, h=h, steps=steps)
    g_opt, d_opt = optax.adam(h), optax.adam(2 * h)
    g_state, d_state = g_opt.init(y.generator), d_opt.init(y.discriminator)
    key = jax.random.key(0)
    for _ in range(steps):
        v = game.field(y, key)
        gu, g_state = g_opt.update(-v.generator, g_state)
        du, d_state = d_opt.update(-v.discriminator, d_state)
        y = gd.Players(y.generator + gu, y.discriminator + du)
    np.testing.assert_allclose(float(sol.final.generator), float(y.generator), rtol=1e-10)
    np.testing.assert_allclose(float(sol.final.discriminator), float(y.discriminator), rtol=1e-10)


def test_alternating_with_several_discriminator_steps():
    h, k = 0.1, 3
    sol = gd.simulate(wgan(), gd.AlternatingGD(discriminator_steps=k), wgan().state(1.0, 1.0),
                      h=h, steps=1)
    theta = 1.0 + h * 1.0
    psi = 1.0
    for _ in range(k):
        psi = psi - h * theta
    np.testing.assert_allclose([float(sol.final.generator), float(sol.final.discriminator)],
                               [theta, psi], rtol=1e-12)


def test_batched_runs_equal_single_runs():
    game = gd.DiracGAN(losses.sgan)
    thetas, psis = jnp.array([1.0, -0.5, 0.2]), jnp.array([0.5, 1.0, -2.0])
    batch = gd.simulate(game, gd.Flow(gd.RK4()), game.state(thetas, psis), h=0.3, steps=100)
    assert batch.status.shape == (3,)
    for i in range(3):
        single = gd.simulate(game, gd.Flow(gd.RK4()), game.state(thetas[i], psis[i]), h=0.3, steps=100)
        np.testing.assert_allclose(batch.ys.generator[i], single.ys.generator, rtol=1e-12)
        assert int(batch.status[i]) == int(single.status)


def test_same_seed_same_numbers():
    game = gd.DiracGAN(losses.rsgan, real_point=0.3, bias=True)
    run = lambda: gd.simulate(game, gd.methods.get("adam-alt"), game.init(), h=0.01, steps=300,
                              key=jax.random.key(7))
    a, b = run(), run()
    np.testing.assert_array_equal(a.ys.discriminator, b.ys.discriminator)


def test_saves_include_the_last_step_when_it_is_off_the_grid():
    sol = gd.simulate(wgan(), gd.SimultaneousGD(), wgan().init(), h=0.01, steps=10, save_every=4)
    np.testing.assert_array_equal(sol.steps, [0, 4, 8, 10])
    np.testing.assert_allclose(sol.ts, [0, 0.04, 0.08, 0.1])


def test_minimax_sgan_stalls_where_the_generator_saturates():
    game = gd.DiracGAN(losses.sgan)
    sol = gd.simulate(game, gd.SimultaneousGD(), game.state(1.0, 1.0), h=1.0, steps=2000)
    assert sol.status == gd.Status.STALLED
    assert float(np.asarray(sol.distance)[-1]) > 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(h=0.0, steps=10), "step size h must be positive"),
        (dict(h=float("nan"), steps=10), "step size h must be positive"),
        (dict(h=0.1, steps=0), "steps must be a positive integer"),
        (dict(h=0.1, steps=10, save_every=0), "save_every must be a positive integer"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gd.simulate(wgan(), gd.SimultaneousGD(), wgan().init(), **kwargs)


def test_wrong_shapes_are_named():
    game = wgan()
    with pytest.raises(ValueError, match="parameter shapes"):
        gd.simulate(game, gd.SimultaneousGD(), gd.Players(jnp.ones((2, 3)), jnp.ones((2, 3))),
                    h=0.1, steps=2)


def test_method_registry():
    assert {"simgd", "altgd", "extragradient", "optimistic", "rk4", "heun", "midpoint",
            "tsit5", "dopri5", "adam", "rmsprop", "momentum"} <= set(gd.methods.names())
    with pytest.raises(ValueError, match="unknown method 'rk5'; choose from: simgd"):
        gd.methods.get("rk5")
    with pytest.raises(ValueError, match="RK4 has no error estimate"):
        gd.AdaptiveFlow(gd.RK4())


def test_float32_steps_keep_their_size_late_in_a_long_run():
    # Regression: a step taken over [n·h, (n+1)·h] has a float32 size error of ~1e-3 by
    # t = 100, which shows up as a phase error on the rotation z_n = (1 − ih)^n z_0.
    jax.config.update("jax_enable_x64", False)
    h, n = 0.01, 10_000
    game = wgan()
    sol = gd.simulate(game, gd.SimultaneousGD(), game.state(1.0, 0.0), h=h, steps=n)
    assert sol.final.generator.dtype == jnp.float32
    z = (1 - 1j * h) ** n
    got = complex(float(sol.final.generator), float(sol.final.discriminator))
    assert abs(got - z) / abs(z) < 1e-4


def test_rate_survives_underflow_to_zero():
    jax.config.update("jax_enable_x64", False)
    h = 0.5
    sol = gd.simulate(wgan(), gd.Extragradient(), wgan().state(1.0, 1.0), h=h, steps=1000)
    assert sol.status == gd.Status.CONVERGED
    z = 1j * h
    assert float(sol.rate) == pytest.approx(abs(1 + z + z**2), rel=1e-3)


def test_equal_methods_compare_equal_so_jit_does_not_recompile():
    assert gd.AlternatingGD() == gd.AlternatingGD()
    assert hash(gd.methods.get("adam")) == hash(gd.methods.get("adam"))


def test_a_run_in_two_parts_equals_one_run():
    game = gd.DiracGAN(losses.rsgan, real_point=0.5, bias=True,
                       regularizers=(gd.InstanceNoise(0.3, nodes=None),))
    method = gd.methods.get("adam-alt")
    y0 = game.state(jnp.array([1.0, -0.3]), jnp.array([0.5, 0.2]))
    key = jax.random.key(3)
    whole = gd.simulate(game, method, y0, h=0.01, steps=300, key=key)
    first = gd.simulate(game, method, y0, h=0.01, steps=120, key=key)
    second = gd.simulate(game, method, first.final, h=0.01, steps=180, key=key,
                         method_state=first.method_state, start_step=120)
    np.testing.assert_array_equal(second.final.discriminator, whole.final.discriminator)
    np.testing.assert_array_equal(np.asarray(second.steps)[[0, -1]], [120, 300])


@pytest.mark.parametrize("name, loss, h, members", [("adam", "nsgan", 0.05, 3),
                                                    ("optimistic", "sgan", 0.2, 3),
                                                    ("simgd", "wgan", 0.5, 1)])
def test_a_run_in_chunks_equals_one_run_bit_for_bit(name, loss, h, members, monkeypatch):
    """With `progress`, a step method runs in compiled chunks with the host between
    them (here sized by their cap alone: 1, 16, 256, … steps); every array of the
    `Solution` equals the one-piece run's bit for bit: the method's state (Adam's
    moments, optimistic GD's last field) is continued exactly across chunks that cut
    blocks of saves, and a member that blows up mid-chunk (simultaneous GD on the WGAN
    Dirac-GAN, `|1 + ih|` = 1.118 a step) has the same divergence step. `progress` is
    told the steps done after each chunk but the last; a continued run counts on."""
    from gandyn import _simulate

    monkeypatch.setattr(_simulate, "CHUNK_SECONDS", 1e9)  # no pace limits a chunk
    game = gd.DiracGAN(losses.get(loss), real_point=0.5)
    y0 = game.state(jnp.linspace(1.0, -0.3, members), jnp.linspace(0.5, -1.0, members)) \
        if members > 1 else game.state(1.0, 0.5)
    method = gd.methods.get(name)
    whole = gd.simulate(game, method, y0, h=h, steps=300, save_every=7)
    told = []
    chunked = gd.simulate(game, method, y0, h=h, steps=300, save_every=7, progress=told.append)
    assert told == [1, 17, 273]
    leaves = lambda solution: [np.asarray(x) for x in jax.tree_util.tree_leaves(solution)]  # noqa: E731
    assert all(np.array_equal(a, b, equal_nan=True) and a.dtype == b.dtype
               for a, b in zip(leaves(whole), leaves(chunked), strict=True))
    if name == "simgd":  # ‖y‖ reaches 1e6 mid-run, inside the third chunk
        assert 17 < int(whole.diverged_at) < 273
    if name != "optimistic":
        return
    told.clear()  # continued: the last field carried over, the steps counted on
    more = dict(h=h, steps=20, method_state=whole.method_state, start_step=300)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(
        leaves(gd.simulate(game, method, whole.final, **more)),
        leaves(gd.simulate(game, method, whole.final, **more, progress=told.append)),
        strict=True))
    assert told == [301, 317]


def test_a_new_step_count_h_weight_or_number_of_starts_reuses_the_compiled_program():
    """What a user changes most is traced (steps, save interval, h, a regularizer's
    weight) or bucketed (the number of starts, the number of saves): no compile. The
    results are those of the steps taken one by one."""
    from helpers import Compilations

    def game(weight):
        return gd.DiracGAN(losses.sgan, regularizers=(gd.regularizers.get("r1", weight),))

    starts = lambda k: game(0.1).state(jnp.linspace(-1.0, 1.0, k), jnp.linspace(1.5, 0.5, k))  # noqa: E731
    method = gd.SimultaneousGD()
    y0s = {k: starts(k) for k in (3, 4)}
    gd.simulate(game(0.1), method, y0s[3], h=0.1, steps=1000)  # compiles (1,024 saves' room)
    gd.simulate(game(0.1), method, y0s[3], h=0.1, steps=600, save_every=50)  # and 16 saves
    with Compilations() as counted:
        runs = [gd.simulate(game(0.1), method, y0s[3], h=0.1, steps=1500),  # 751 saves
                gd.simulate(game(0.1), method, y0s[3], h=0.1, steps=700, save_every=50),  # 15 saves
                gd.simulate(game(0.1), method, y0s[3], h=0.05, steps=1000),
                gd.simulate(game(0.3), method, y0s[3], h=0.1, steps=1000),
                gd.simulate(game(0.1), method, y0s[4], h=0.1, steps=1000)]
        jax.block_until_ready(runs)
    assert counted.compiled == 0
    # Each equals the steps taken one at a time, y ← y + h·v(y).
    for (weight, h, steps, save_every, k), run in zip(
            [(0.1, 0.1, 1500, 2, 3), (0.1, 0.1, 700, 50, 3), (0.1, 0.05, 1000, 1, 3), (0.3, 0.1, 1000, 1, 3),
             (0.1, 0.1, 1000, 1, 4)], runs):
        g = game(weight)
        field = jax.vmap(lambda y: g.field(y, jax.random.key(0)))
        ys = jax.lax.scan(lambda y, _: (jax.tree_util.tree_map(lambda a, b: a + h * b, y, field(y)),) * 2,
                          y0s[k], None, length=steps)[1]
        saved = np.minimum(np.arange(0, steps + save_every, save_every), steps)[1:]
        assert run.ys.generator.shape == (k, len(saved) + 1)
        np.testing.assert_array_equal(run.steps[1:], saved)
        np.testing.assert_allclose(run.ys.generator[:, 1:], ys.generator[saved - 1].T, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(run.ys.discriminator[:, 1:], ys.discriminator[saved - 1].T, rtol=1e-5, atol=1e-7)


def test_adam_alt_with_five_critic_steps_is_the_wgan_gp_loop():
    """`--method adam-alt --opt discriminator_steps=5 --opt generator_first=false` is
    WGAN-GP's training loop (Gulrajani et al. 2017, arXiv 1704.00028, Algorithm 1):
    five Adam updates of the critic, each on its own minibatch, then one of the
    generator, from the updated critic; checked against optax's Adam stepped by hand
    on a stochastic Gaussian GAN."""
    import optax

    game = gd.games.get("gaussian", loss=losses.wgan, batch=4, real_point=0.5)
    method = gd.methods.get("adam-alt", discriminator_steps=5, generator_first=False, b1=0.0,
                            b2=0.9)
    assert method.turns() == (("discriminator", 5), ("generator", 1))
    y0, h, steps, key = game.init(), 1e-2, 7, jax.random.key(2)
    run = gd.simulate(game, method, y0, h=h, steps=steps, key=key)
    adam = optax.adam(h, b1=0.0, b2=0.9)
    y = y0
    g_state, d_state = adam.init(y.generator), adam.init(y.discriminator)
    for n in range(steps):
        g_key, d_key = jax.random.split(jax.random.fold_in(key, n))
        for k in range(5):
            update, d_state = adam.update(jax.tree_util.tree_map(
                jnp.negative, game.discriminator_field(y, jax.random.fold_in(d_key, k))), d_state)
            y = gd.Players(y.generator, optax.apply_updates(y.discriminator, update))
        update, g_state = adam.update(jax.tree_util.tree_map(
            jnp.negative, game.generator_field(y, g_key)), g_state)
        y = gd.Players(optax.apply_updates(y.generator, update), y.discriminator)
    np.testing.assert_allclose(np.concatenate([np.ravel(run.final.generator),
                                               np.ravel(run.final.discriminator)]),
                               np.concatenate([np.ravel(y.generator), np.ravel(y.discriminator)]),
                               rtol=1e-10)

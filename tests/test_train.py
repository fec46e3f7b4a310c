import importlib.util
import json

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import gandyn as gd
from gandyn import train
from gandyn.cli import app


def small_game(**kwargs):
    return gd.MLPGAN(gd.losses.nsgan, gd.data.Gaussian1D(mean=1.0, std=0.5), width=32, depth=2,
                     latent_size=1, batch_size=256, **kwargs)


def test_rk4_with_r1_matches_a_1d_gaussian():
    # One hidden layer: the same outcome as two, at half the compile time of RK4 over R1.
    game = gd.MLPGAN(gd.losses.nsgan, gd.data.Gaussian1D(mean=1.0, std=0.5), width=32, depth=1,
                     latent_size=1, batch_size=256, regularizers=(gd.R1(1.0),))
    result = train(game, gd.Flow(gd.RK4()), h=0.1, steps=1500, seeds=2, log_every=500,
                   eigen_checkpoints=0)
    last = [r for r in result.history if r["step"] == 1500]
    assert len(last) == 2
    for row in last:
        assert abs(row["mean"] - 1.0) < 0.1 and abs(row["std"] - 0.5) < 0.1, row
    assert result.diverged_at == [None, None]


def test_training_is_reproducible_and_seeds_differ():
    game = small_game()
    a = train(game, gd.methods.get("adam"), h=1e-3, steps=60, seeds=2, log_every=30, eigen_checkpoints=0)
    b = train(game, gd.methods.get("adam"), h=1e-3, steps=60, seeds=2, log_every=30, eigen_checkpoints=0)
    assert a.history == b.history
    leaves = jax.tree_util.tree_leaves(a.final.generator)
    assert not np.allclose(leaves[0][0], leaves[0][1])


def test_a_diverging_run_stops_early_and_says_when():
    game = small_game()
    result = train(game, gd.SimultaneousGD(), h=1e8, steps=5000, log_every=100, eigen_checkpoints=0)
    assert result.diverged_at[0] is not None and result.diverged_at[0] <= 100
    assert result.steps_done == 100 < 5000


def test_eigenvalues_are_logged_at_checkpoints():
    game = small_game()
    # Two seeds (seed 0's eigenvalues are logged): the program of the test above.
    result = train(game, gd.methods.get("adam"), h=1e-3, steps=40, seeds=2, log_every=20,
                   eigen_checkpoints=2)
    assert set(result.eigenvalues) == {0, 40}
    assert all(len(v) == 4 for v in result.eigenvalues.values())
    # Step 0's are seed 0's top four by magnitude, at its initial point and minibatch (the
    # keys `train` splits from seed 0), and converged: each Ritz pair (λ, x) leaves a
    # residual ‖Jx − λx‖ below 1e-3·|λ|, J applied by one JVP of the field.
    init_key, batch_key, _, _ = jax.random.split(jax.random.key(0), 4)
    y0 = jax.tree_util.tree_map(lambda x: x[0], jax.vmap(game.init)(jax.random.split(init_key, 2)))
    key = jax.random.fold_in(batch_key, 0)
    values, vectors, _ = gd.top_eigenvectors(game, y0, k=4, which="magnitude", krylov=30, key=key)
    np.testing.assert_allclose(np.array(result.eigenvalues[0]),
                               np.stack([values.real, values.imag], axis=1), rtol=1e-6)
    assert np.all(np.diff(np.abs(values)) <= 0)
    flat, unravel = jax.flatten_util.ravel_pytree(y0)
    field = lambda f: jax.flatten_util.ravel_pytree(game.field(unravel(f), key))[0]  # noqa: E731
    for value, x in zip(values, vectors.T):
        jx = (jax.jvp(field, (flat,), (jnp.asarray(x.real, flat.dtype),))[1]
              + 1j * jax.jvp(field, (flat,), (jnp.asarray(x.imag, flat.dtype),))[1])
        assert np.linalg.norm(np.asarray(jx) - value * x) < 1e-3 * abs(value), value


def test_cli_train_writes_its_run_folder(tmp_path):
    result = CliRunner().invoke(app, ["train", "--data", "ring8", "--steps", "40", "--log-every", "20",
                                      "--width", "16", "--depth", "1", "--batch", "64", "--seeds", "2",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    # TensorBoard event files where tensorboardX is installed (`gandyn[tensorboard]`).
    events = {"tensorboard"} if importlib.util.find_spec("tensorboardX") else set()
    assert {p.name for p in run_dir.iterdir()} == {"metrics.json", "metrics.csv", "params.npz",
                                                   "samples.png", "curves.png", "training.gif",
                                                   "settings.json", "checkpoint.npz"} | events
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [r["step"] for r in metrics["history"]] == [0, 0, 20, 20, 40, 40]
    # By default every row holds the rotation share (16 Hutchinson probes) ± its error.
    assert all(0 <= r["rotation_share"] <= 1 and r["rotation_share_se"] > 0 for r in metrics["history"])
    assert json.loads((run_dir / "settings.json").read_text())["rotation_probes"] == 16
    assert metrics["summary"][0]["modes_total"] == 8
    # 40 Adam steps of h = 1e-3 leave both generators near their initial spread, while
    # a ring-8 mode is a disc of radius 3σ = 0.06 at radius 2 and counts only with a tenth
    # of a uniform share (1/80) of the samples: no mode is covered, both seeds failed.
    for row in metrics["summary"]:
        assert row["status"] == "failed" and row["modes"] == 0, row
        assert row["high_quality"] < 0.05 and row["diverged_at"] is None, row
    assert result.output.strip().splitlines()[-1] == (
        "status: seed 0 failed (0/8 modes); seed 1 failed (0/8 modes)")
    assert np.load(run_dir / "params.npz")["flat"].shape[0] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "ring9"], "Error: unknown data 'ring9'; choose from: gaussian"),
        (["--method", "tsit5"], "Error: --method 'tsit5' is adaptive"),
        (["--loss", "nope"], "Error: unknown loss 'nope'"),
        (["--activation", "gelu"], "Error: unknown activation 'gelu'; choose from: relu"),
        (["--seeds", "0"], "Error: --seeds must be a positive integer of at most 1,024, got 0"),
        (["--reg", "r1"], "Error: malformed --reg 'r1'"),
        (["--rotation-probes", "1"], "Error: --rotation-probes must be 0 (off) or at least 2"),
        (["--rotation-probes", "-1"], "Error: --rotation-probes must be"),
        (["--no-dynamics", "--dynamics-every", "2"], "Error: --no-dynamics turns the recorder"),
        (["--dynamics-samples", "0"], "Error: --dynamics-samples must be a positive integer"),
    ],
)
def test_cli_train_errors(tmp_path, args, message):
    result = CliRunner().invoke(app, ["train", *args, "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.output.strip().startswith(message), result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

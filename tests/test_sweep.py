import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from gandyn.sweeps import SweepSpec, ranking, read_rows, run_sweep
from gandyn.cli import app


SMALL = SweepSpec(losses=("sgan", "wgan"), regularizers=("none", "r1=1"), methods=("simgd", "rk4"),
                  step_sizes=(0.02, 0.1, 0.5), seeds=(0, 1), steps=400)


@pytest.fixture(scope="module")
def small_rows(tmp_path_factory):
    return run_sweep(SMALL, tmp_path_factory.mktemp("sweep"))


def test_every_configuration_has_one_row(small_rows):
    assert len(small_rows) == SMALL.size() == 48
    keys = {(r["loss"], r["regularizer"], r["method"], r["step"], r["seed"]) for r in small_rows}
    assert len(keys) == 48


def test_atlas_agrees_with_theory(small_rows):
    converging = ("converged", "converging")
    for r in small_rows:
        if r["regularizer"] == "none" and r["method"] == "simgd":
            # Euler on a rotation: never converges, at any step size.
            assert r["status"] not in converging, r
        if r["regularizer"] == "none" and r["loss"] == "wgan" and r["method"] == "simgd":
            assert r["rate"] == pytest.approx(np.sqrt(1 + r["step"] ** 2), rel=1e-4)
        if r["regularizer"] == "r1=1" and r["step"] <= 0.5:
            assert r["status"] in converging, r


def test_rows_equal_a_direct_simulation(small_rows):
    import jax.numpy as jnp

    import gandyn as gd

    row = next(r for r in small_rows if (r["loss"], r["regularizer"], r["method"], r["step"], r["seed"])
               == ("wgan", "r1=1", "rk4", 0.1, 1))
    game = gd.DiracGAN(gd.losses.wgan, regularizers=(gd.R1(1.0),))
    sol = gd.simulate(game, gd.Flow(gd.RK4()), game.state(jnp.asarray(row["init"][0]), jnp.asarray(row["init"][1])),
                      h=0.1, steps=400, save_every=2)
    assert row["rate"] == pytest.approx(float(sol.rate), rel=1e-9)
    assert row["final_distance"] == pytest.approx(float(np.asarray(sol.distance)[-1]), rel=1e-9)


def test_combined_regularizers_are_one_grid_value_as_in_a_training_sweep(tmp_path):
    """`"r1=1+consensus=0.5"`: both regularizers in one run, the training sweep's syntax
    (one parser for both); its rows equal `gd.simulate` with both, order does not make
    a new setting, and a bad part is the `--reg` message. On the WGAN Dirac-GAN, R1
    damps the discriminator (Mescheder et al. 2018): with consensus fixed, the run with
    R1's weight 1 contracts faster than the one with 0.3, and both converge."""
    import jax.numpy as jnp

    import gandyn as gd

    spec = SweepSpec(losses=("wgan",), regularizers=("none", "r1=0.3+consensus=0.5",
                                                     "r1=1+consensus=0.5"),
                     methods=("simgd",), step_sizes=(0.1,), seeds=(0,), steps=300)
    rows = {r["regularizer"]: r for r in run_sweep(spec, tmp_path)}
    assert set(rows) == {"none", "r1=0.3+consensus=0.5", "r1=1+consensus=0.5"}
    row = rows["r1=1+consensus=0.5"]
    game = gd.DiracGAN(gd.losses.wgan, regularizers=(gd.regularizers.get("r1", 1.0),
                                                     gd.regularizers.get("consensus", 0.5)))
    sol = gd.simulate(game, gd.SimultaneousGD(), game.state(jnp.asarray(row["init"][0]),
                                                            jnp.asarray(row["init"][1])),
                      h=0.1, steps=300, save_every=1)
    assert row["rate"] == pytest.approx(float(sol.rate), rel=1e-9)
    assert rows["r1=1+consensus=0.5"]["rate"] < rows["r1=0.3+consensus=0.5"]["rate"] < 1
    with pytest.raises(ValueError, match="duplicate regularizer setting 'consensus=0.5"):
        SweepSpec(regularizers=("r1=1+consensus=0.5", "consensus=0.5+r1=1.0"))
    with pytest.raises(ValueError, match="--reg weight must be a finite number"):
        SweepSpec(regularizers=("r1=1+consensus=nan",))
    with pytest.raises(ValueError, match="regularizer 'r1' is given twice"):
        SweepSpec(regularizers=("r1=1+r1=2",))


def test_resume_neither_redoes_nor_loses_rows(tmp_path, small_rows):
    full = {(r["loss"], r["regularizer"], r["method"], r["step"], r["seed"]): r for r in small_rows}
    run_sweep(SMALL, tmp_path)
    csv_path = tmp_path / "results.csv"
    lines = csv_path.read_text().splitlines()
    # Interrupted: the last 10 rows never written, the one before cut mid-line.
    kept = lines[:-11] + [lines[-11][: len(lines[-11]) // 2]]
    csv_path.write_text("\n".join(kept))
    groups = []
    rows = run_sweep(SMALL, tmp_path, on_group=lambda i, n: groups.append(n))
    assert groups and groups[-1] < 8  # only the unfinished groups ran again
    keys = [(r["loss"], r["regularizer"], r["method"], r["step"], r["seed"]) for r in read_rows(csv_path)]
    assert len(keys) == len(set(keys)) == 48
    for r in read_rows(csv_path):
        key = (r["loss"], r["regularizer"], r["method"], r["step"], r["seed"])
        assert r["status"] == full[key]["status"]
        assert r["rate"] == pytest.approx(full[key]["rate"], rel=1e-12)
    assert len(json.loads((tmp_path / "results.json").read_text())["rows"]) == 48
    # A finished sweep resumed runs nothing.
    again = []
    run_sweep(SMALL, tmp_path, on_group=lambda i, n: again.append(n))
    assert again == []


def test_ranking_puts_regularized_methods_first(small_rows):
    ranked = ranking(small_rows)
    assert ranked[0]["regularizer"] == "r1=1" and ranked[0]["converged_share"] == 1.0
    worst = [r for r in ranked if r["regularizer"] == "none" and r["method"] == "simgd"]
    assert all(r["converged_share"] == 0.0 for r in worst)


@pytest.mark.parametrize(
    "content, message",
    [
        ("[sweep]\nlosses = ['sgan'\n", "is not valid TOML"),
        ("[sweep]\nlossess = ['sgan']\n", "unknown key 'lossess'; valid keys: losses"),
        ("[sweep]\nlosses = ['sgn']\n", "unknown loss 'sgn'; choose from"),
        ("[sweep]\nmethods = 'rk4'\n", "methods must be a list"),
        ("[sweep]\nstep_sizes = [0.1, -1.0]\n", "--step must be a positive finite number of at most 1e+06, got -1.0"),
        ("[sweep]\nregularizers = ['r1']\n", "malformed --reg 'r1'"),
        ("[sweep]\nsteps = 0\n", "--steps must be a positive integer of at most 1,000,000,000, got 0"),
    ],
)
def test_malformed_sweep_files(tmp_path, content, message):
    path = tmp_path / "sweep.toml"
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(message)):
        SweepSpec.from_toml(path)
    result = CliRunner().invoke(app, ["sweep", "--config", str(path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.output.startswith("Error: sweep file") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_missing_sweep_file(tmp_path):
    result = CliRunner().invoke(app, ["sweep", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_cli_sweep_from_toml_with_plot_and_resume(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent("""
        [sweep]
        losses = ["wgan"]
        regularizers = ["none", "consensus=0.5"]
        methods = ["simgd", "extragradient"]
        step_sizes = [0.1, 0.3]
        seeds = 2
        steps = 200
    """))
    runner = CliRunner()
    result = runner.invoke(app, ["sweep", "-c", str(path), "--out", str(tmp_path / "runs"), "--plot"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert {p.name for p in run_dir.iterdir()} >= {"results.csv", "results.json", "spec.json",
                                                    "ranking.json", "atlas.png"}
    assert len(read_rows(run_dir / "results.csv")) == 16
    result = runner.invoke(app, ["sweep", "--resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert len(read_rows(run_dir / "results.csv")) == 16
    bad = runner.invoke(app, ["sweep", "--resume", str(tmp_path)])
    assert bad.exit_code == 2 and "is not a sweep folder" in bad.output


SHARDED = """
import json, sys
import jax
from gandyn.sweeps import SweepSpec, run_sweep
spec = SweepSpec(losses=("sgan",), regularizers=("none", "r1=0.5", "r1=2"), methods=("simgd", "altgd"),
                 step_sizes=(0.05, 0.2), seeds=(0, 1, 2), steps=300)
rows = run_sweep(spec, sys.argv[1], shard=sys.argv[2] == "1")
print(json.dumps({"devices": jax.device_count(), "rows": rows}))
"""


def test_sharded_sweep_gives_the_same_numbers_as_one_device(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu"}
    outputs = []
    for shard in ("0", "1"):
        proc = subprocess.run([sys.executable, "-c", SHARDED, str(tmp_path / shard), shard],
                              capture_output=True, text=True, env=env, check=True)
        outputs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert outputs[1]["devices"] == 4
    one, sharded = outputs[0]["rows"], outputs[1]["rows"]
    assert len(one) == len(sharded) == 36
    # Same configurations, statuses and divergence steps exactly; the numbers to float32
    # rounding (the partitioned program may fuse operations differently).
    for a, b in zip(one, sharded):
        for k in ("loss", "regularizer", "method", "step", "seed", "status", "diverged_at"):
            assert a[k] == b[k]
        for k in ("final_distance", "final_speed", "rate"):
            assert a[k] == pytest.approx(b[k], rel=1e-5)

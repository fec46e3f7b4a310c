"""The flight recorder (`gd.Recorder`, `gd.record`) against dense linear algebra on tiny
games, the stochastic Lanczos density against the dense spectrum, the path cosine
against its closed form on a bilinear game, and the TensorBoard event files of a run
read back with TensorBoard's own reader."""

import equinox as eqx
import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import gandyn as gd
from gandyn._recorder import PREFIX, SCALARS, evaluation_game


def tiny_game(width=4):
    return gd.MLPGAN(gd.losses.nsgan, gd.data.Gaussian1D(mean=1.0, std=0.5), width=width,
                     depth=1, latent_size=1, batch_size=16)


@eqx.filter_jit
def _dense(game, y, key):
    """J, ∇²_x L₁ and ∇²_y L₂ at `y`, by forward-mode differentiation of the field
    (compiled once per game structure)."""
    flat, unravel = ravel_pytree(y)
    jacobian = jax.jacfwd(lambda f: ravel_pytree(game.field(unravel(f), key))[0])(flat)
    fg, ug = ravel_pytree(y.generator)
    fd, ud = ravel_pytree(y.discriminator)
    hg = -jax.jacfwd(lambda f: ravel_pytree(game.generator_field(
        gd.Players(ug(f), y.discriminator), key))[0])(fg)
    hd = -jax.jacfwd(lambda f: ravel_pytree(game.discriminator_field(
        gd.Players(y.generator, ud(f)), key))[0])(fd)
    return jacobian, hg, hd


def dense(game, y, key):
    return tuple(np.asarray(m) for m in _dense(game, y, key))


def test_recorded_extremes_match_a_dense_eigendecomposition(tmp_path):
    # Krylov spaces as large as the operators: Arnoldi and Lanczos are then exact, so
    # the recorded extremes must be those of the dense matrices to rounding error.
    game = tiny_game()
    recorder = gd.Recorder(samples=32, krylov=64, probes=2)

    def keep(state):
        if state.step == 1:
            gd.save_checkpoint(tmp_path, state)

    result = gd.train(game, gd.SimultaneousGD(), h=0.05, steps=2, seeds=2, log_every=1,
                      eigen_checkpoints=0, dynamics=recorder, checkpoint_every=1,
                      on_checkpoint=keep)
    # Resumed from its checkpoint file at step 1: the same record, path cosine included.
    state = gd.load_checkpoint(tmp_path, game, gd.SimultaneousGD(), h=0.05, seeds=2)
    resumed = gd.train(game, gd.SimultaneousGD(), h=0.05, steps=2, log_every=1,
                       eigen_checkpoints=0, dynamics=recorder, resume=state)
    assert resumed.history == result.history and resumed.densities == result.densities
    # The fixed evaluation minibatch: `train`'s fourth root key, split once.
    sample_key = jax.random.split(jax.random.split(jax.random.key(0), 4)[3])[0]
    evaluation = evaluation_game(game, 32)
    rows = {(r["step"], r["seed"]): r for r in result.history}
    assert set(result.densities) == {0, 1, 2}
    for step in (0, 1, 2):
        for seed in (0, 1):
            y = jax.tree_util.tree_map(lambda x: x[seed], result.checkpoints[step])
            jacobian, hg, hd = dense(evaluation, y, sample_key)
            row = rows[step, seed]
            eig = np.linalg.eigvals(jacobian)
            assert row["dynamics/max_re_eig_J"] == pytest.approx(eig.real.max(), abs=1e-9)
            assert row["dynamics/max_im_eig_J"] == pytest.approx(eig.imag.max(), abs=1e-9)
            for name, h in (("G", hg), ("D", hd)):
                lam = np.linalg.eigvalsh(0.5 * (h + h.T))
                assert row[f"dynamics/min_eig_hessian_{name}"] == pytest.approx(lam[0], abs=1e-9)
                assert row[f"dynamics/max_eig_hessian_{name}"] == pytest.approx(lam[-1], abs=1e-9)
            v = np.asarray(ravel_pytree(evaluation.field(y, sample_key))[0])
            assert row["dynamics/hamiltonian"] == pytest.approx(0.5 * v @ v, rel=1e-12)
            if step == 0:
                assert row["dynamics/path_cosine"] is None
            else:  # the update taken since the previous log point against the field there
                before = jax.tree_util.tree_map(lambda x: x[seed], result.checkpoints[step - 1])
                taken = np.asarray(ravel_pytree(y)[0] - ravel_pytree(before)[0])
                field = np.asarray(ravel_pytree(evaluation.field(before, sample_key))[0])
                cosine = taken @ field / np.linalg.norm(taken) / np.linalg.norm(field)
                assert row["dynamics/path_cosine"] == pytest.approx(cosine, abs=1e-12)


def test_stochastic_lanczos_density_matches_the_dense_spectrum():
    # Lanczos with m steps integrates polynomials of degree < 2m exactly, so the SLQ
    # moments Σ w θᵏ (k ≤ 3 < 2m) are the Hutchinson estimates of tr(Hᵏ)/n: unbiased,
    # with a standard error from the probes. The CDF is a step function: its Gauss
    # quadrature is only as fine as the nodes, so its tolerance adds the largest weight.
    game = tiny_game(width=16)
    y = jax.vmap(game.init)(jax.random.split(jax.random.key(3), 1))
    key, probes, m = jax.random.key(4), 64, 8
    rows, densities = gd.record(game, y, None, key, jax.random.key(5),
                                gd.Recorder(samples=64, krylov=m, probes=probes))
    _, _, hd = dense(evaluation_game(game, 64), jax.tree_util.tree_map(lambda x: x[0], y), key)
    lam = np.linalg.eigvalsh(0.5 * (hd + hd.T))
    assert lam.size > 4 * m  # a real test of the quadrature, not of an exact Lanczos
    nodes = np.reshape(densities["D"]["nodes"][0], (probes, m))
    weights = np.reshape(densities["D"]["weights"][0], (probes, m)) * probes
    for k in (1, 2, 3):
        per_probe = np.sum(weights * nodes**k, axis=1)
        error = per_probe.std(ddof=1) / np.sqrt(probes)
        assert abs(per_probe.mean() - np.mean(lam**k)) < 4 * error, k
    for q in (0.25, 0.5, 0.75):
        point = np.quantile(lam, q)
        per_probe = np.sum(weights * (nodes <= point), axis=1)
        error = per_probe.std(ddof=1) / np.sqrt(probes) + weights.max()
        assert abs(per_probe.mean() - np.mean(lam <= point)) < 4 * error, q
    assert rows[0]["dynamics/min_eig_hessian_D"] >= lam[0] - 1e-9
    assert rows[0]["dynamics/max_eig_hessian_D"] <= lam[-1] + 1e-9


def test_path_cosine_on_a_bilinear_game_has_its_closed_form():
    # L = xy: v = (−y, x), i.e. z = x + iy moves as ż = iz, and k steps of simultaneous
    # GD give z_k = (1 + ih)ᵏ z₀. The update w·z₀ (w = (1 + ih)ᵏ − 1) against the field
    # i·z₀ at the start: cos = Re(conj(i z₀) w z₀)/(|z₀|²|w|) = Im(w)/|w|. J has the
    # eigenvalues ±i; both players' Hessians are 0.
    game = gd.Bilinear()
    h, k = 0.1, 7
    y0 = jax.tree_util.tree_map(lambda x: x[None], game.init())
    yk = gd.simulate(game, gd.SimultaneousGD(), game.init(), h=h, steps=k).final
    yk = jax.tree_util.tree_map(lambda x: x[None], yk)
    rows, _ = gd.record(game, yk, y0, jax.random.key(0), jax.random.key(1), gd.Recorder())
    w = (1 + 1j * h) ** k - 1
    row = rows[0]
    assert row["dynamics/path_cosine"] == pytest.approx(w.imag / abs(w), abs=1e-12)
    assert row["dynamics/max_re_eig_J"] == pytest.approx(0.0, abs=1e-12)
    assert row["dynamics/max_im_eig_J"] == pytest.approx(1.0, abs=1e-12)
    for name in ("min_eig_hessian_G", "max_eig_hessian_G", "min_eig_hessian_D",
                 "max_eig_hessian_D"):
        assert row[f"dynamics/{name}"] == pytest.approx(0.0, abs=1e-12)
    z = complex(*(float(x[0, 0]) for x in (yk.generator, yk.discriminator)))
    assert row["dynamics/hamiltonian"] == pytest.approx(0.5 * abs(z) ** 2, rel=1e-12)


# The options of test_train's CLI run: one set of compiled programs for all three runs.
CLI_RUN = ["--data", "ring8", "--steps", "40", "--log-every", "20", "--width", "16", "--depth",
           "1", "--batch", "64", "--seeds", "2"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """A `gandyn train --dynamics-every 1` run folder (float32, as a user runs it)."""
    from typer.testing import CliRunner

    from gandyn.cli import app

    out = tmp_path_factory.mktemp("train")
    result = CliRunner().invoke(app, ["train", *CLI_RUN, "--no-gif", "--dynamics-every", "1",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return next(out.iterdir())


def test_a_training_run_writes_tensorboard_events_and_its_dynamics_figure(cli_run):
    # TensorBoard's own reader; the writer is tensorboardX (both in the `test` extra).
    reader = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="tensorboard is not installed (pip install 'gandyn[test]'); its reader checks "
               "the event files")
    pytest.importorskip("tensorboardX", reason="the event files' writer (gandyn[tensorboard])")
    import json

    run = cli_run
    assert (run / "dynamics.png").stat().st_size > 0
    history = json.loads((run / "metrics.json").read_text())["history"]
    for seed in (0, 1):
        events = reader.EventAccumulator(str(run / "tensorboard" / f"seed_{seed}"),
                                         size_guidance={"scalars": 0, "histograms": 0})
        events.Reload()
        tags = events.Tags()
        rows = {r["step"]: r for r in history if r["seed"] == seed}
        assert sorted(rows) == [0, 20, 40]
        for name in ("max_re_eig_J", "max_im_eig_J", "rotation_share", "hamiltonian",
                     "min_eig_hessian_G", "min_eig_hessian_D", "max_eig_hessian_G",
                     "max_eig_hessian_D"):
            logged = {e.step: e.value for e in events.Scalars(f"dynamics/{name}")}
            key = name if name == "rotation_share" else f"dynamics/{name}"
            assert logged == pytest.approx({s: r[key] for s, r in rows.items()}, rel=1e-6)
        assert {e.step for e in events.Scalars("dynamics/path_cosine")} == {20, 40}
        assert {e.step for e in events.Scalars("metrics/kl")} == {0, 20, 40}
        for player in ("G", "D"):
            histograms = events.Histograms(f"dynamics/hessian_density_{player}")
            assert [h.step for h in histograms] == [0, 20, 40]
            for h in histograms:  # counts are eigenvalues: they sum to the player's size
                assert sum(h.histogram_value.bucket) == pytest.approx(h.histogram_value.num)
        assert set(tags["scalars"]) >= {"metrics/generator_loss", "metrics/speed"}


def test_a_training_sweep_carries_the_recorded_values_and_colours_its_atlas_by_one(tmp_path,
                                                                                    cli_run):
    # The sweep's one configuration is the CLI run's settings, seeds and keys: its
    # results.csv holds that run's last recorded values; the atlas colours a cell by the
    # median over its seeds of the chosen column, on a linear scale.
    import csv
    import json

    from typer.testing import CliRunner

    from gandyn.cli import app
    from gandyn.plotting import training_atlas

    colour = "dynamics/max_re_eig_J"
    result = CliRunner().invoke(app, ["sweep", *CLI_RUN, "--step", "1e-3", "--dynamics-every",
                                      "1", "--atlas-colour", colour, "--plot", "--out",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    sweep = next(tmp_path.iterdir())
    assert (sweep / "atlas.png").stat().st_size > 0
    with open(sweep / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    history = json.loads((cli_run / "metrics.json").read_text())["history"]
    last = {r["seed"]: r for r in history if r["step"] == 40}
    names = [PREFIX + name for name in SCALARS]
    for row in rows:
        for name in names:
            assert float(row[name]) == pytest.approx(last[int(row["seed"])][name], rel=1e-6)
    records = json.loads((sweep / "results.json").read_text())["rows"]
    figure = training_atlas(records, colour)
    (image,) = figure.axes[0].images
    assert image.get_array()[0, 0] == pytest.approx(np.median([last[s][colour] for s in (0, 1)]))
    assert "max Re λ(J)" in figure.axes[-1].get_ylabel()  # the colour bar names it


def test_a_bad_atlas_colour_is_one_line_naming_the_valid_columns():
    from gandyn._spec import InputError
    from gandyn._train_sweep import TrainSweepSpec

    with pytest.raises(InputError, match=r"atlas_colour must be one of kl, fd.*dynamics/max_re_"
                                         r"eig_J.*; got 'nope'"):
        TrainSweepSpec(atlas_colour="nope")
    with pytest.raises(InputError, match="set dynamics_every = 1"):
        TrainSweepSpec(atlas_colour="dynamics/max_re_eig_J", dynamics_every=0)
    spec = TrainSweepSpec(atlas_colour="dynamics/hamiltonian", dynamics_every=2)
    assert spec.configurations()[0][1].dynamics_every == 2
    # Coloured by a recorded quantity, a short sweep (500 steps, 2 log intervals) records
    # its first and last log points; coloured by KL it leaves the recorder off.
    short = TrainSweepSpec(steps=500, atlas_colour="dynamics/hamiltonian")
    assert short.configurations()[0][1].dynamics_every == 2
    assert TrainSweepSpec(steps=500).configurations()[0][1].dynamics_every == 0
    assert TrainSweepSpec.from_dict(spec.to_dict()) == spec


def brute_force_cadence(log_every, steps, batch, recorder):
    """The smallest k whose recorded log points (multiples of k·log_every from 0, and
    the last), each `products × PRODUCT_COST` steps, cost at most a quarter of the
    steps, counted point by point; 0 if none."""
    from gandyn._recorder import PRODUCT_COST, products

    samples = recorder.samples or batch
    for k in range(1, -(-steps // log_every) + 1):
        points = {s for s in range(0, steps + 1, log_every) if s % (k * log_every) == 0}
        points.add(steps)
        if len(points) * products(recorder) * PRODUCT_COST * max(1, samples / batch) \
                <= 0.25 * steps:
            return k
    return 0


@pytest.mark.parametrize("log_every, steps", [(1, 7), (20, 40), (100, 400), (250, 1000),
                                              (250, 2000), (250, 5000), (500, 5000),
                                              (300, 4999), (7, 3000), (1000, 25_000)])
@pytest.mark.parametrize("batch, recorder", [(256, gd.Recorder()), (64, gd.Recorder()),
                                             (64, gd.Recorder(samples=256)),
                                             (256, gd.Recorder(samples=64)),
                                             (32, gd.Recorder(krylov=2, probes=1))])
def test_the_default_cadence_is_the_cheapest_within_a_quarter_of_the_training(
        log_every, steps, batch, recorder):
    from gandyn._recorder import default_every, recorder_cost

    every = default_every(log_every=log_every, steps=steps, batch=batch, recorder=recorder)
    assert every == brute_force_cadence(log_every, steps, batch, recorder)
    cost = lambda k: recorder_cost(recorder, k, log_every=log_every,  # noqa: E731
                                   steps=steps, batch=batch)
    if every:
        assert cost(every) <= 0.25 and (every == 1 or cost(every - 1) > 0.25)
    forced = default_every(log_every=log_every, steps=steps, batch=batch, recorder=recorder,
                           at_least_once=True)
    assert forced == (every or -(-steps // log_every))


def test_runs_record_by_default_at_the_modelled_cadence_and_keep_it_in_their_settings(
        tmp_path):
    import dataclasses
    import json

    from gandyn._spec import InputError
    from gandyn._train_runs import OLD_SETTINGS, read_settings, recorder_line

    # ring-8's defaults (5,000 steps logged every 250, batch 256): 64 products of 2.5
    # steps each per recorded point; every 3rd log point would record 8 points, 1,280
    # steps > 1,250; every 4th records 6 (0, 1,000, …, 5,000): 960 steps, 19 %.
    ring8 = gd.RunSpec.train(data="ring8")
    assert ring8.dynamics_every == 4
    assert recorder_line(ring8) == ("dynamics recorded every 1,000 steps and at the end: "
                                     "6 points, ≈ 19% of the training")
    assert gd.RunSpec.train(data="digits").dynamics_every == 2  # 6 points of 11: 15 %
    # A short run would spend more than a quarter on its first and last points alone:
    # off, unless asked for (then those two).
    assert gd.RunSpec.train(data="ring8", steps=1000).dynamics_every == 0
    assert "a run this short would spend over 25 %" in \
        recorder_line(gd.RunSpec.train(data="ring8", steps=1000))
    assert gd.RunSpec.train(data="ring8", steps=1000, dynamics=True).dynamics_every == 4
    assert gd.RunSpec.train(data="ring8", dynamics=False).dynamics_every == 0
    assert gd.RunSpec.train(data="ring8", dynamics_every=1).dynamics_every == 1
    # A larger fixed minibatch than the batch costs proportionally more.
    assert gd.RunSpec.train(data="ring8", dynamics_samples=512).dynamics_every == 10
    # settings.json keeps the cadence; a run saved before the recorder was on by default
    # (its settings by name, without the recorder's) resumes with it off.
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(ring8.to_dict()))
    assert read_settings(path) == ring8
    flat = {"data": "ring8", "loss": "nsgan", "method": "adam", **ring8.options,
            **{k: v for k, v in ring8.to_dict().items() if k in OLD_SETTINGS}}
    path.write_text(json.dumps({k: flat[k] for k in OLD_SETTINGS}))
    assert read_settings(path) == dataclasses.replace(ring8, dynamics_every=0,
                                                      dynamics_samples=256)
    with pytest.raises(InputError, match="--steps"):
        gd.RunSpec.train(data="ring8", steps=0)

"""The fast paths give the reference numbers: unrolled Runge–Kutta stages against
diffrax's step, the hand-derived Dirac-GAN field against automatic differentiation,
the batched stability region against a per-point solve, and a CLI run read from the
persistent compilation cache against one compiled afresh. (Speed itself is measured in
`benchmarks/`, never here.)"""

import json
import os
import subprocess
import sys

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import patient

import gandyn as gd
from gandyn._games._base import AbstractGame
from gandyn._methods._flows import explicit_tableau


def _max_diff(a, b) -> float:
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in
               zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def _steps(game, method, y0, h, steps):
    """`steps` steps of `method` from `y0` (one member), jitted: the final state."""
    key = jax.random.key(0)

    @jax.jit
    def run(y0):
        def body(carry, n):
            y, state = carry
            return method.step(game, y, state, 0.0, h, jax.random.fold_in(key, n)), None

        return jax.lax.scan(body, (y0, method.init(game, y0, h, key)), jnp.arange(steps))[0][0]

    return run(y0)


@pytest.mark.parametrize("solver", [diffrax.Euler(), diffrax.Heun(), diffrax.Midpoint(),
                                    diffrax.Ralston(), gd.RK4()], ids=lambda s: type(s).__name__)
def test_fast_runge_kutta_is_diffrax_on_the_dirac_gan(solver):
    """Unrolled stages and diffrax's generic step agree to float64 rounding after 500
    steps of a rotation-dominated flow (the error of either is ~1e-3 at h = 0.1)."""
    game = gd.DiracGAN(gd.losses.sgan, real_point=0.3, bias=True)
    y0 = game.state(0.8, -0.6, 0.2)
    fast = _steps(game, gd.Flow(solver), y0, 0.1, 500)
    reference = _steps(game, gd.Flow(solver, reference=True), y0, 0.1, 500)
    assert _max_diff(fast, reference) < 1e-12
    assert _max_diff(fast, y0) > 0.1  # it moved


def test_fast_rk4_is_diffrax_on_an_mlp_gan():
    """The same on a neural game with minibatches (every stage sees the step's batch):
    float32, 20 steps, agreement to a few float32 roundings of parameters of size ~0.5."""
    jax.config.update("jax_enable_x64", False)
    game = gd.MLPGAN(gd.losses.nsgan, gd.data.get("ring8"), width=8, depth=1, latent_size=2,
                     batch_size=32)
    y0 = game.init(jax.random.key(1))
    fast = _steps(game, gd.Flow(gd.RK4()), y0, 0.05, 20)
    reference = _steps(game, gd.Flow(gd.RK4(), reference=True), y0, 0.05, 20)
    assert jax.tree_util.tree_leaves(fast)[0].dtype == jnp.float32
    assert _max_diff(fast, reference) < 2e-6
    assert _max_diff(fast, y0) > 1e-3  # it moved


def test_fsal_and_implicit_solvers_keep_diffrax():
    assert explicit_tableau(diffrax.Bosh3()) is None  # FSAL
    assert explicit_tableau(diffrax.ImplicitEuler()) is None
    a, b = explicit_tableau(gd.RK4())
    assert a == ((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)) and b == pytest.approx((1 / 6, 1 / 3, 1 / 3, 1 / 6))


@pytest.mark.parametrize("loss", gd.losses.names())
@pytest.mark.parametrize("dim, bias, real_point", [(1, False, 0.0), (1, True, 0.0), (1, True, 0.7),
                                                   (3, False, -1.3), (3, True, 0.5)])
def test_hand_dirac_field_is_autodiff(loss, dim, bias, real_point):
    """`DiracGAN.field` (slopes through the linear critic) equals differentiating the
    losses, under jit, for every loss, with a bias, in 3-D and with c ≠ 0."""
    game = gd.DiracGAN(gd.losses.get(loss), real_point=real_point, bias=bias, dim=dim)
    rng = np.random.default_rng(dim + 2 * bias)
    y = jax.tree_util.tree_map(lambda x: jnp.asarray(rng.normal(size=(6,) + np.shape(x))), game.init())
    hand = jax.jit(jax.vmap(game.field))(y)
    auto = jax.jit(jax.vmap(lambda y: AbstractGame.field(game, y)))(y)
    scale = max(1.0, max(float(jnp.max(jnp.abs(x))) for x in jax.tree_util.tree_leaves(auto)))
    assert _max_diff(hand, auto) <= 1e-14 * scale


def test_hand_dirac_field_at_the_minimax_sgan_formula():
    """`v = (ψσ(ψθ), −θσ(ψθ))` (Mescheder et al. 2018), the real logit dropped at c = 0."""
    game = gd.DiracGAN(gd.losses.sgan)
    theta, psi = jnp.asarray(0.7), jnp.asarray(-1.2)
    v = game.field(game.state(theta, psi))
    s = jax.nn.sigmoid(psi * theta)
    assert float(v.generator) == pytest.approx(float(psi * s), rel=1e-15)
    assert float(v.discriminator) == pytest.approx(float(-theta * s), rel=1e-15)


def test_divergence_step_is_exact():
    """WGAN under simultaneous GD spirals out by √(1 + h²) per step: from radius 1 it
    passes `blowup` at the first n with (1 + h²)^(n/2) > blowup."""
    game = gd.DiracGAN(gd.losses.wgan)
    h, blowup = 0.5, 1e3
    y0 = game.state(jnp.asarray([1.0, 0.0]), jnp.asarray([0.0, 1.0]))
    sol = gd.simulate(game, gd.SimultaneousGD(), y0, h=h, steps=200, save_every=7, blowup=blowup)
    # |θ|, |ψ| ≤ r: the step at which the larger coordinate first exceeds blowup.
    ys = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = []
    for theta, psi in ys:
        n = 0
        while max(abs(theta), abs(psi)) <= blowup:
            theta, psi, n = theta + h * psi, psi - h * theta, n + 1
        expected.append(n)
    np.testing.assert_array_equal(sol.diverged_at, expected)


def test_batched_stability_region_is_the_per_point_solve():
    """`R(z) = 1 + z bᵀ(I − zA)⁻¹𝟙` in one batched solve equals one solve per point
    (on the plotting grid), and RK4's is the Taylor polynomial to degree 4."""
    rho = gd.stability_function(gd.Flow(gd.RK4()))
    x, y = np.meshgrid(np.linspace(-3.5, 1.75, 61), np.linspace(-3.5, 3.5, 81))
    z = x + 1j * y
    a = np.zeros((4, 4))
    a[1, 0], a[2, 1], a[3, 2] = 0.5, 0.5, 1.0
    b = np.array([1, 2, 2, 1]) / 6
    one_by_one = np.vectorize(
        lambda zi: abs(1 + zi * b @ np.linalg.solve(np.eye(4) - zi * a, np.ones(4))))(z)
    np.testing.assert_allclose(rho(z), one_by_one, rtol=1e-13)
    np.testing.assert_allclose(rho(z), np.abs(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24), rtol=1e-12)


def test_largest_stable_step_of_rk4_on_a_rotation():
    """RK4 on `λ = ±i`: stable up to h = 2√2 (the imaginary-axis limit of its region)."""
    eigs = np.array([1j, -1j])
    h = gd.stable_step_for_spectrum(gd.Flow(gd.RK4()), eigs)
    assert h == pytest.approx(2 * np.sqrt(2), rel=1e-8)


def test_batched_step_matrices_are_the_per_step_ones():
    """Alternating GD on the WGAN Dirac-GAN: growth per step from step matrices vmapped
    over h equals one step matrix at a time, and the largest stable step found by
    batched scans is h = 2 (the step matrix's eigenvalues leave the unit circle there)."""
    from gandyn._analysis import amplifications

    game = gd.DiracGAN(gd.losses.wgan)
    y, method = game.equilibrium(), gd.AlternatingGD()
    hs = np.array([0.3, 1.0, 1.9, 2.1, 3.0])
    one_by_one = [gd.amplification(game, method, y, h) for h in hs]
    np.testing.assert_allclose(amplifications(game, method, y, hs), one_by_one, rtol=1e-12)
    largest = gd.largest_stable_step(lambda hs: amplifications(game, method, y, hs), batched=True)
    assert largest == pytest.approx(2.0, rel=1e-9)


def test_sweep_shares_one_program_across_losses(tmp_path):
    """Losses that see only the logits run in one program per regularizer kind × method
    (a switch on a traced loss index), GAN-QP in its own; each row equals simulating
    its configuration alone."""
    from gandyn.sweeps import SweepSpec, run_sweep

    from gandyn._sweep_grid import _loss_families

    assert _loss_families(("sgan", "ganqp", "wgan")) == [("sgan", "wgan"), ("ganqp",)]
    spec = SweepSpec(losses=("sgan", "wgan"), regularizers=("none", "r1=0.5"),
                     methods=("rk4",), step_sizes=(0.4,), seeds=(0,), steps=200)
    groups = []
    rows = run_sweep(spec, tmp_path, on_group=lambda i, n: groups.append(n))
    assert groups[-1] == 2  # (sgan, wgan) × (none | r1), not 4
    for r in rows:
        regs = () if r["regularizer"] == "none" else (gd.R1(0.5),)
        game = gd.DiracGAN(gd.losses.get(r["loss"]), regularizers=regs)
        sol = gd.simulate(game, gd.Flow(gd.RK4()), game.state(*map(jnp.asarray, r["init"])),
                          h=r["step"], steps=200, save_every=1)
        assert r["status"] == sol.labels().item()
        assert r["final_distance"] == pytest.approx(float(sol.distance[-1]), rel=1e-9, abs=1e-300)
        assert r["rate"] == pytest.approx(float(sol.rate), rel=1e-9)


def _gandyn(args, env, cwd):
    command = [sys.executable, "-c", "from gandyn.cli import main; main()", *args]
    result = subprocess.run(command, env=env, cwd=cwd,
                            capture_output=True, text=True,
                            timeout=patient(300))  # scaled on a busy machine
    assert result.returncode == 0, result.stderr
    return result


def test_cached_and_uncached_cli_runs_give_the_same_numbers(tmp_path):
    """A run compiled afresh, one that fills the persistent cache and one read from it
    write identical trajectories and metrics."""
    args = ["simulate", "-l", "nsgan", "-m", "rk4", "--steps", "300", "--init", "1,0.5"]
    env = {**os.environ, "GANDYN_CACHE_DIR": str(tmp_path / "cache"), "JAX_ENABLE_X64": "0"}
    runs = {}
    for name, cache in (("uncached", "0"), ("filling", "1"), ("cached", "1")):
        out = tmp_path / name
        _gandyn([*args, "--out", str(out)], {**env, "GANDYN_COMPILE_CACHE": cache}, tmp_path)
        (run,) = out.iterdir()
        runs[name] = run
        if name == "uncached":
            assert not (tmp_path / "cache" / "xla").exists()
    assert any((tmp_path / "cache" / "xla").iterdir())
    arrays = {name: np.load(run / "trajectories.npz") for name, run in runs.items()}
    for key in arrays["uncached"].files:
        for name in ("filling", "cached"):
            np.testing.assert_array_equal(arrays[name][key], arrays["uncached"][key])
    metrics = {name: json.loads((run / "metrics.json").read_text())["results"] for name, run in runs.items()}
    assert metrics["cached"] == metrics["uncached"] == metrics["filling"]


@pytest.mark.real_compile_cache
def test_compile_cache_switches(tmp_path, monkeypatch):
    """On by default in `<cache>/xla`; off with `--no-compile-cache` or
    `GANDYN_COMPILE_CACHE=0` (and then JAX's setting is left alone)."""
    from typer.testing import CliRunner

    from gandyn.cli import app
    from gandyn.cli._common import use_compile_cache

    monkeypatch.setenv("GANDYN_CACHE_DIR", str(tmp_path))
    before = jax.config.jax_compilation_cache_dir
    assert use_compile_cache(False) is None
    monkeypatch.setenv("GANDYN_COMPILE_CACHE", "0")
    assert use_compile_cache(True) is None
    result = CliRunner().invoke(app, ["--no-compile-cache", "losses"])
    assert result.exit_code == 0 and "rsgan" in result.output
    assert jax.config.jax_compilation_cache_dir == before

"""Bifurcations of training maps against closed forms (float64).

The NS-GAN Dirac-GAN (Mescheder et al. 2018, arXiv 1801.04406) with R1 weight γ (gandyn's
R1 adds (γ/2)ψ² to L_D, so the field gains −γψ, as in Mescheder et al.'s §4.1; checked
below) linearises to
J = [[0, ½], [−½, −γ]]. Simultaneous GD multiplies by μ = 1 + hλ:
|μ|² = 1 − hγ + h²/4 for γ < 1 (a complex pair leaves the unit disc at h* = 4γ,
Neimark–Sacker); for γ > 1 the real λ₋ = −(γ + √(γ² − 1))/2 sends μ through −1 at
h = 4/(γ + √(γ² − 1)) (a flip). WGAN + R1: J = [[0, 1], [−1, −γ]], |μ|² = 1 − hγ + h²,
h* = γ.
"""

import json

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

import gandyn as gd
from gandyn.cli import app


SIMGD = gd.methods.get("simgd")


def dirac(loss: str, gamma: float) -> gd.DiracGAN:
    # The weight as an array: games that differ only in it share compiled programs.
    return gd.games.get("dirac", loss=gd.losses.get(loss),
                        regularizers=(gd.R1(jnp.asarray(gamma)),))


def flip_step(gamma: float) -> float:
    return 4 / (gamma + np.sqrt(gamma**2 - 1))


@pytest.fixture(scope="module")
def nsgan_over_h():
    return {g: gd.continuation(dirac("nsgan", g), SIMGD, "h", np.linspace(0.05, 4.0, 9),
                               attractor=False)
            for g in (0.2, 0.45, 0.7, 1.5, 3.0)}


def test_nsgan_r1_linearisation_matches_the_closed_form():
    for gamma in (0.3, 1.5):
        game = dirac("nsgan", gamma)
        jac = np.asarray(gd.jacobian(game, game.equilibrium()))
        np.testing.assert_allclose(jac, [[0, 0.5], [-0.5, -gamma]], atol=1e-15)


@pytest.mark.parametrize("gamma", [0.2, 0.45, 0.7])
def test_neimark_sacker_at_four_gamma(nsgan_over_h, gamma):
    result = nsgan_over_h[gamma]
    (b,) = result.bifurcations
    assert b.kind == "neimark-sacker"
    assert abs(b.value - 4 * gamma) < 1e-9  # the grid spacing is 0.49
    # The crossing pair is 1 + h*λ, on the unit circle, λ = −γ/2 + i√(1 − γ²)/2.
    lam = complex(-gamma / 2, np.sqrt(1 - gamma**2) / 2)
    assert b.crossing == pytest.approx(1 + 4 * gamma * lam, abs=1e-6)
    # Along the branch: |μ|² = 1 − hγ + h²/4, and stable exactly below h*.
    h = result.values
    np.testing.assert_allclose(np.max(np.abs(result.multipliers), axis=1) ** 2,
                               1 - h * gamma + h**2 / 4, rtol=1e-12)
    np.testing.assert_array_equal(result.stable, h < 4 * gamma)


@pytest.mark.parametrize("gamma", [1.5, 3.0])
def test_flip_beyond_critical_damping(nsgan_over_h, gamma):
    (b,) = nsgan_over_h[gamma].bifurcations
    assert b.kind == "flip"
    assert abs(b.value - flip_step(gamma)) < 1e-9
    assert b.crossing == pytest.approx(-1, abs=1e-6)


def test_stability_chart_boundary_is_the_closed_form(nsgan_over_h):
    # Rows share the compiled programs of `nsgan_over_h` (same game structure).
    gammas = np.array([0.3, 0.6, 1.5])
    chart = gd.stability_chart(dirac("nsgan", 0.1), SIMGD, ("h", np.linspace(0.05, 4.0, 9)),
                               ("r1", gammas), simulate_grid=False)
    expected = [4 * 0.3, 4 * 0.6, flip_step(1.5)]
    np.testing.assert_allclose(chart.boundary, np.c_[expected, gammas], atol=1e-9)
    assert chart.kinds == ("neimark-sacker", "neimark-sacker", "flip")


def test_wgan_r1_neimark_sacker_at_gamma():
    for gamma in (0.3, 1.2):
        result = gd.continuation(dirac("wgan", gamma), SIMGD, "h", np.linspace(0.1, 1.9, 7),
                                 attractor=False)
        (b,) = result.bifurcations
        assert b.kind == "neimark-sacker" and abs(b.value - gamma) < 1e-9


def test_continuation_in_the_r1_weight_finds_the_same_boundary():
    # At h = 1 the equilibrium is stable for 1/4 < γ < (4/h + h/4)/2 = 2.125.
    game = gd.games.get("dirac", loss=gd.losses.get("nsgan"))  # no R1: "r1" adds it
    result = gd.continuation(game, SIMGD, "r1", np.linspace(0.05, 3.0, 8), h=1.0,
                             attractor=False)
    kinds = [(b.kind, b.value) for b in result.bifurcations]
    assert [k for k, _ in kinds] == ["neimark-sacker", "flip"]
    assert abs(kinds[0][1] - 0.25) < 1e-9 and abs(kinds[1][1] - 2.125) < 1e-9
    assert result.parameter == "r1"
    # The flip's cubic coefficient vanishes identically on the Dirac-GAN: the cubic
    # terms of v are −θψ²/4 and −θ²ψ/4 (σ(t) = ½ + t/4 + O(t³)), the critical vectors
    # q ∝ (1, 2λ), p ∝ (1, −2λ), so ⟨p, C(q,q,q)⟩ ∝ q₁q₂(p₁q₂ + p₂q₁) = 0.
    assert [b.criticality for b in result.bifurcations] == ["supercritical", "degenerate"]
    assert abs(result.bifurcations[1].coefficient) < 1e-15


def test_nsgan_neimark_sacker_coefficient_from_the_cubic_terms():
    # NS-GAN + R1 γ = 0.3 at h* = 1.2: v is odd (B = 0), its cubic terms −θψ²/4 and
    # −θ²ψ/4, so d = ½e^{−iθ}⟨p, hC(q, q, q̄)⟩ with C by hand and q, p of I + hJ.
    gamma, h = 0.3, 1.2
    result = gd.continuation(dirac("nsgan", gamma), SIMGD, "h", [1.0, 1.4], attractor=False)
    (b,) = result.bifurcations
    a = np.eye(2) + h * np.array([[0, 0.5], [-0.5, -gamma]])

    def cubic(u, v, w):
        return -0.5 * h * np.array([u[0] * v[1] * w[1] + u[1] * v[0] * w[1] + u[1] * v[1] * w[0],
                                    u[0] * v[0] * w[1] + u[0] * v[1] * w[0] + u[1] * v[0] * w[0]])

    values, vectors = np.linalg.eig(a)
    mu, q = values[np.argmax(values.imag)], vectors[:, np.argmax(values.imag)]
    values_t, vectors_t = np.linalg.eig(a.T)
    p = vectors_t[:, np.argmin(np.abs(values_t - np.conj(mu)))]
    p = p / np.conj(np.vdot(p, q))
    expected = (0.5 * np.conj(mu) * np.vdot(p, cubic(q, q, np.conj(q)))).real
    assert expected == pytest.approx(-0.123, abs=1e-12)
    assert b.coefficient == pytest.approx(expected, rel=1e-9)
    assert b.criticality == "supercritical"


def test_hopf_of_the_flow_first_lyapunov_coefficient():
    # The NS-GAN Dirac-GAN flow with R1 weight γ through 0: J = [[0, ½], [−½, −γ]], a Hopf
    # point at γ = 0 with ω = ½, q = p = (1, i)/√2; with B = 0 and the cubic terms above,
    # ℓ₁ = Re⟨p, C(q, q, q̄)⟩/(2ω) = −1/4: supercritical.
    game = gd.games.get("dirac", loss=gd.losses.get("nsgan"))
    result = gd.continuation(game, SIMGD, "r1", [0.2, -0.1], h=1.0, analysis="flow",
                             attractor=False)
    (b,) = result.bifurcations
    assert b.kind == "hopf" and abs(b.value) < 1e-9
    assert b.coefficient == pytest.approx(-0.25, rel=1e-9)
    assert b.criticality == "supercritical"


def test_supercritical_cycle_amplitude_grows_as_a_square_root():
    gamma, h_star = 0.3, 1.2
    eps = np.geomspace(5e-3, 5e-2, 4)
    values = np.concatenate([[0.9 * h_star], h_star * (1 + eps)])
    result = gd.continuation(dirac("nsgan", gamma), SIMGD, "h", values, transient=12000,
                             record=500)
    (b,) = result.bifurcations
    assert b.kind == "neimark-sacker" and b.criticality == "supercritical"
    assert b.simulated == "supercritical"  # the simulation agrees with the normal form
    a = result.attractor
    assert a.status[0] == "converged" and list(a.status[1:]) == ["cycle"] * 4
    slope = np.polyfit(np.log(values[1:] - h_star), np.log(a.amplitude[1:, 1]), 1)[0]
    assert abs(slope - 0.5) < 0.1
    # The invariant circle turns by about arg μ* / 2π per step.
    assert a.rotation[1] == pytest.approx(np.angle(b.crossing) / (2 * np.pi), rel=0.05)


def test_wgan_beyond_its_neimark_sacker_point_diverges_subcritical():
    result = gd.continuation(dirac("wgan", 0.5), SIMGD, "h", np.linspace(0.3, 0.8, 6),
                             transient=3000, record=200)
    (b,) = result.bifurcations
    # The map is linear (v = (ψ, −θ − γψ)): no cubic term, the normal form is degenerate;
    # nothing bounds the orbit, so the runs beyond the point diverge.
    assert b.coefficient == 0 and b.criticality == "degenerate"
    assert b.simulated == "subcritical"
    status = result.attractor.status
    assert list(status[:2]) == ["converged"] * 2
    assert all(s == "diverged" for s in status[3:])
    assert np.all(result.attractor.diverged_at[3:] > 0)


class Fold(gd.AbstractGame):
    """`v = (p − x², −y)`: equilibria x = ±√p, which meet in a fold at p = 0."""

    p: float = 1.0

    def init(self, key=None):
        return gd.Players(jnp.asarray(1.0), jnp.asarray(0.0))

    def losses(self, players, key=None):
        x, y = players.generator, players.discriminator
        return -self.p * x + x**3 / 3, 0.5 * y**2


def test_pseudo_arclength_turns_round_a_fold():
    result = gd.continuation(Fold(), SIMGD, "p", np.linspace(1.0, -0.5, 5), h=0.1,
                             attractor=False)
    (b,) = result.bifurcations
    assert b.kind == "fold" and abs(b.value) < 1e-8
    # The map y + h·v: ∂²F = −2h along x, so the quadratic coefficient is ±h (its sign
    # follows the orientation of q).
    assert abs(b.coefficient) == pytest.approx(0.1, rel=1e-9) and b.criticality is None
    np.testing.assert_allclose(result.lost, [-0.125, -0.5])  # no equilibrium past the fold
    # Arclength points stay on the parabola x² = p, round the turn and back along
    # x = −√p to the end of the range.
    x, p = result.points[~result.on_grid, 0], result.values[~result.on_grid]
    np.testing.assert_allclose(x**2, p, atol=1e-9)
    assert x[-1] < -0.9 and np.all(np.diff(x) < 0)


class BranchPoint(gd.AbstractGame):
    """`v = (p x − xᵏ, −y)`: the equilibrium x = 0 persists for every p; k = 2 a
    transcritical point (the branch x = p crosses it at p = 0), k = 3 a pitchfork
    (x = ±√p for p > 0)."""

    p: float = 0.0
    power: int = eqx.field(static=True, default=2)

    def init(self, key=None):
        return gd.Players(jnp.asarray(0.0), jnp.asarray(0.0))

    def losses(self, players, key=None):
        x, y = players.generator, players.discriminator
        return -self.p * x**2 / 2 + x ** (self.power + 1) / (self.power + 1), 0.5 * y**2


@pytest.mark.parametrize("power, kind, criticality", [(2, "transcritical", None),
                                                       (3, "pitchfork", "supercritical")])
def test_a_crossing_through_plus_one_where_the_equilibrium_persists(power, kind, criticality):
    # Simultaneous GD, h = 0.1: the multiplier 1 + hp passes +1 at p = 0 with x = 0 on
    # both sides. On the centre manifold w ↦ (1 + hp)w + a w² + b w³: a = −h (k = 2);
    # a = 0, b = −h (k = 3, odd field: a supercritical pitchfork).
    result = gd.continuation(BranchPoint(power=power), SIMGD, "p", np.linspace(-0.5, 0.4, 4),
                             h=0.1, attractor=False)
    (b,) = result.bifurcations
    assert b.kind == kind and abs(b.value) < 1e-9 and b.criticality == criticality
    assert b.coefficient == pytest.approx(-0.1, rel=1e-9)
    assert len(result.lost) == 0  # the branch x = 0 goes on past the point


def test_parameters_by_field_name_and_by_callable():
    game = dirac("wgan", 0.5)
    method = gd.methods.get("sgd")  # optax SGD: generator_scale, discriminator_scale
    names = gd.numeric_parameters(game, method)
    assert {"h", "r1", "real_point", "discriminator_scale"} <= set(names)
    # A two-time-scale ratio r: y' = y + h·diag(1, r)·v, |μ|² = 1 − hrγ + h²r.
    r = np.array([0.5, 1.0, 2.0])
    result = gd.continuation(game, method, "discriminator_scale", r, h=0.4, attractor=False)
    np.testing.assert_allclose(np.max(np.abs(result.multipliers), axis=1) ** 2,
                               1 - 0.4 * r * 0.5 + 0.4**2 * r, rtol=1e-12)
    # The real point moves the equilibrium: θ* = c.
    moved = gd.continuation(game, SIMGD, "real_point", [-1.0, 0.0, 1.5], h=0.4, attractor=False)
    np.testing.assert_allclose(moved.points[:, 0], [-1.0, 0.0, 1.5], atol=1e-12)
    # A callable p ↦ (game, method) is the same as the name.
    base = gd.games.get("dirac", loss=gd.losses.get("wgan"))
    by_callable = gd.continuation(
        base, SIMGD, lambda g: (eqx.tree_at(lambda x: x.regularizers, base, (gd.R1(g),)), SIMGD),
        np.linspace(0.1, 1.0, 4), h=0.7, attractor=False)
    (b,) = by_callable.bifurcations
    assert abs(b.value - 0.7) < 1e-9  # WGAN + R1: stable for γ > h
    with pytest.raises(ValueError, match="unknown parameter 'lr'.*real_point"):
        gd.continuation(game, SIMGD, "lr", [0.1, 0.2], h=0.1)


runner = CliRunner()


def test_cli_writes_the_diagram_and_json(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    from test_figures import all_title_text, capture, check_figure

    made = capture(monkeypatch, "bifurcation_diagram")
    result = runner.invoke(app, ["bifurcation", "--param", "r1", "--from", "0.1", "--to", "1.0",
                                 "--points", "4", "-l", "wgan", "--step", "0.5", "--steps", "800",
                                 "--record", "100", "--float64", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.endswith("-bifurcation")
    assert sorted(p.name for p in run_dir.iterdir()) == ["bifurcation.json", "bifurcation.png"]
    data = json.loads((run_dir / "bifurcation.json").read_text())
    (b,) = data["bifurcations"]
    assert b["kind"] == "neimark-sacker" and abs(b["value"] - 0.5) < 1e-9
    # The normal form of the linear WGAN map is degenerate; the simulated runs diverge.
    assert b["criticality"] == "degenerate" and b["coefficient"] == 0
    assert b["simulated_criticality"] == "subcritical"
    assert [row["stable"] for row in data["branch"]] == [False, False, True, True]
    assert len(data["branch"][0]["multipliers"]) == 2
    assert [row["status"] for row in data["attractor"]][2:] == ["converged"] * 2
    assert data["attractor"][0]["status"] == "diverged"
    # The figure: every setting in its title, the house rules (text ≥ 9 pt, labelled axes,
    # nothing outside the figure), the bifurcation named on it.
    (fig,) = made
    title = all_title_text(fig)
    for setting in ("dirac", "wgan", "simgd", "h = 0.5", "r1 from 0.1 to 1", "4 values",
                    "800 transient", "float64"):
        assert setting in title, (setting, title)
    check_figure(fig)
    assert any("Neimark–Sacker" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_cli_takes_the_methods_options(tmp_path):
    """`--opt` reaches the method (and the game), as in every other command: alternating
    GD with two discriminator steps is another map, with other multipliers."""
    def branch(*opt):
        out = tmp_path / str(len(opt))
        result = runner.invoke(app, ["bifurcation", "--param", "r1", "--from", "0.1", "--to", "1",
                                     "--points", "2", "-l", "wgan", "-m", "altgd", *opt,
                                     "--step", "0.5", "--steps", "50", "--record", "16",
                                     "--float64", "--out", str(out)])
        assert result.exit_code == 0, result.output
        (run_dir,) = out.iterdir()
        return json.loads((run_dir / "bifurcation.json").read_text())

    one, two = branch(), branch("--opt", "discriminator_steps=2")
    assert two["settings"]["discriminator_steps"] == 2
    assert "discriminator_steps" not in one["settings"]
    assert one["branch"][0]["multipliers"] != two["branch"][0]["multipliers"]
    bad = runner.invoke(app, ["bifurcation", "--param", "h", "--from", "0.1", "--to", "1",
                              "-m", "altgd", "--opt", "nope=1", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "unknown option 'nope'" in bad.output
    assert "discriminator_steps" in bad.output


def test_cli_a_regularizer_parameter_keeps_its_options(tmp_path):
    """`--param l2` varies the weight λ of the regularizer that the option table built,
    `--opt l2.generator=true` included. WGAN Dirac-GAN: L2 on ψ alone gives
    J = [[0, 1], [−1, −λ]], |μ|² = 1 − hλ + h² (Neimark–Sacker at λ = h = 0.5, outside
    [0.1, 0.4], where the option was lost before); on θ too, J = [[−λ, 1], [−1, −λ]],
    |μ|² = (1 − hλ)² + h², which leaves the unit disc at λ = (1 − √(1 − h²))/h = 2 − √3
    at h = 0.5."""
    def bifurcations(*opt):
        out = tmp_path / str(len(opt))
        result = runner.invoke(app, ["bifurcation", "--param", "l2", "--from", "0.1", "--to",
                                     "0.4", "--points", "2", "-l", "wgan", *opt, "--step", "0.5",
                                     "--steps", "16", "--record", "16", "--float64",
                                     "--out", str(out)])
        assert result.exit_code == 0, result.output
        (run_dir,) = out.iterdir()
        return json.loads((run_dir / "bifurcation.json").read_text())["bifurcations"]

    (b,) = bifurcations("--opt", "l2.generator=true")
    assert b["kind"] == "neimark-sacker" and abs(b["value"] - (2 - np.sqrt(3))) < 1e-9
    # Given with --reg, the same regularizer (not a second one with default options).
    (again,) = bifurcations("--reg", "l2=0.3", "--opt", "l2.generator=true")
    assert abs(again["value"] - b["value"]) < 1e-12


def test_a_regularizer_reads_back_through_the_option_table():
    for name in gd.regularizers.names():
        declared = gd.regularizers.options(name)
        options = {k: o.default for k, o in declared.items() if o.kind is not str}
        if "generator" in options:
            options["generator"] = True
        built = gd.regularizers.build(name, 0.4, options)
        assert gd.regularizers.settings_of(name, built) == (0.4, options), name
    assert gd.regularizers.settings_of("r1", gd.R2(0.4)) is None
    assert gd.regularizers.settings_of("gp0", gd.regularizers.build("gp", 1.0)) is None


@pytest.mark.parametrize("args, message", [
    (["--param", "lr", "--from", "0.1", "--to", "1"], "unknown parameter 'lr'"),
    (["--param", "h", "--from", "0.1", "--to", "1", "--points", "1"], "--points"),
    (["--param", "h", "--from", "-1", "--to", "1"], "positive"),
    (["--param", "h", "--from", "0.1", "--to", "1", "--step", "0.3"], "give no --step"),
    (["--param", "h", "--from", "0.1", "--to", "1", "-m", "simgd", "-m", "rk4"], "one --loss"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    result = runner.invoke(app, ["bifurcation", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_explorer_answers_the_diagram_against_h():
    import threading
    import urllib.request

    from gandyn._explore import make_server

    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = (f"{server.url.rstrip('/')}/api/bifurcation?game=dirac&loss=wgan&reg=r1%3D0.5"
               "&method=simgd&step=0.2&steps=300")
        with urllib.request.urlopen(url, timeout=300) as response:
            data = json.loads(response.read())
    finally:
        server.shutdown()
        server.server_close()
    (b,) = data["bifurcations"]  # h from 0.05 to 0.8: WGAN + R1 loses stability at h = γ
    assert b["kind"] == "neimark-sacker" and abs(b["value"] - 0.5) < 1e-9
    assert len(data["attractor"]) == 24


# --------------------------------------------------------------------------------------
# Normal forms (Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed. 2004, chapters
# 3–5): criticality from the map's derivatives at the point, not from simulation.


def polynomial_forms(quadratic=None, cubic=None):
    """`second(u, v)`, `third(u, v, w)` as `_normal_form` calls them (rows of real
    directions), from B and C given as functions of single vectors."""
    def second(u, v):
        return np.stack([quadratic(a, b) if quadratic else 0 * a for a, b in zip(u, v)])

    def third(u, v, w):
        return np.stack([cubic(a, b, c) if cubic else 0 * a for a, b, c in zip(u, v, w)])
    return second, third


@pytest.mark.parametrize("d", [complex(-0.3, 0.7), complex(0.2, -0.4)])
def test_neimark_sacker_coefficient_of_the_normal_form_map(d):
    # z ↦ e^{iθ}z(1 + d|z|²) in x = (Re z, Im z). With ⟨q, q⟩ = 1, q = (1, −i)/√2, so
    # z = √2 w and the map in w is w ↦ e^{iθ}w(1 + 2d|w|²): first Lyapunov coefficient
    # Re(2d), supercritical iff Re d < 0.
    from gandyn._bifurcation._normal_forms import _normal_form

    theta = 0.9
    rot = np.exp(1j * theta)
    c = rot * d  # the cubic term c z|z|²: Re and Im parts as a real trilinear form

    def cubic(u, v, w):
        zu, zv, zw = (complex(x[0], x[1]) for x in (u, v, w))
        # Polarisation of z|z|² = z·z·z̄: (1/3)(zu zv z̄w + zu zw z̄v + zv zw z̄u), times 3!
        value = 2 * c * (zu * zv * np.conj(zw) + zu * zw * np.conj(zv) + zv * zw * np.conj(zu))
        return np.array([value.real, value.imag])

    a = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    form = _normal_form("neimark-sacker", a, *polynomial_forms(cubic=cubic), "map", rot,
                        True, np.finfo(float).eps)
    assert form.coefficient == pytest.approx(2 * d.real, rel=1e-12)
    assert form.criticality == ("supercritical" if d.real < 0 else "subcritical")


def test_delayed_logistic_map_is_supercritical_at_r_2():
    # x' = r x(1 − y), y' = x at r = 2: around (½, ½), u' = u − w − 2uw, w' = u, the
    # multipliers e^{±iπ/3}. Against Kuznetsov's two-dimensional formula (ch. 4):
    # c₁ = g₂₀g₁₁(1 − 2λ)/(2(λ² − λ)) + |g₁₁|²/(1 − λ̄) + |g₀₂|²/(2(λ² − λ̄)) + g₂₁/2,
    # first Lyapunov coefficient Re(e^{−iθ}c₁), g_kl = ⟨p, ∂ᵏ∂̄ˡF⟩ (here −1 exactly with
    # ⟨q, q⟩ = 1; Wan's 1978 form gives the same). A closed curve appears for r > 2.
    from gandyn._bifurcation._normal_forms import _normal_form

    a = np.array([[1.0, -1.0], [1.0, 0.0]])
    lam = np.exp(1j * np.pi / 3)

    def quadratic(u, v):  # B(u, v) of the quadratic part −2uw
        return np.array([-2 * (u[0] * v[1] + u[1] * v[0]), 0 * u[0]])

    q = np.array([lam, 1]) / np.sqrt(2)
    p = np.array([-np.conj(lam), 1])
    p = p / np.conj(np.vdot(p, q))
    np.testing.assert_allclose(a @ q, lam * q, atol=1e-15)
    np.testing.assert_allclose(a.T @ p, np.conj(lam) * p, atol=1e-15)
    qc = np.conj(q)
    g20, g11, g02 = (np.vdot(p, quadratic(x, y)) for x, y in ((q, q), (q, qc), (qc, qc)))
    lb = np.conj(lam)
    c1 = (g20 * g11 * (1 - 2 * lam) / (2 * (lam**2 - lam)) + abs(g11) ** 2 / (1 - lb)
          + abs(g02) ** 2 / (2 * (lam**2 - lb)))
    expected = (lb * c1).real
    assert expected == pytest.approx(-1.0, rel=1e-12)
    form = _normal_form("neimark-sacker", a, *polynomial_forms(quadratic), "map", lam, True,
                        np.finfo(float).eps)
    assert form.coefficient == pytest.approx(expected, rel=1e-12)
    assert form.criticality == "supercritical"


def test_logistic_map_flip_at_r_3():
    # x ↦ r x(1 − x) at r = 3: around x* = 2/3, u ↦ −u − 3u²; c = a² + b = 9 > 0
    # (f'' = −6, f''' = 0): a supercritical period doubling.
    from gandyn._bifurcation._normal_forms import _normal_form

    form = _normal_form("flip", np.array([[-1.0]]),
                        *polynomial_forms(lambda u, v: -6.0 * u * v), "map", -1 + 0j, True,
                        np.finfo(float).eps)
    assert form.coefficient == pytest.approx(9.0, rel=1e-14)
    assert form.criticality == "supercritical"

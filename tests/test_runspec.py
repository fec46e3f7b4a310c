"""One run description for every front end: a game and a method registered here, from
outside the package, each with an option of its own, run through the command line
(`--opt`), the explorer's API and a sweep's TOML with no other file changed; a bad value
reads the same on all three. Also: `RunSpec` round-trips, `--opt` on a built-in game,
and gandyn's imports (the library never imports its CLI; no cycles)."""

import ast
import json
import math
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Annotated

import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

import gandyn as gd
from gandyn._explore import make_server
from gandyn.cli import app


def tilted(loss: gd.losses.AbstractLoss = gd.losses.wgan, regularizers: tuple = (),
           tilt: Annotated[float, gd.Option(low=0.0, high=20.0, help="where the data sit")] = 0.0):
    """The Dirac-GAN with its data at `tilt`: an option no built-in game has."""
    return gd.DiracGAN(loss, real_point=tilt, regularizers=tuple(regularizers))


class ScaledGD(gd.AbstractStepMethod):
    """y ↦ y + s·h·v(y): gradient descent with its step scaled by `scale`, R(z) = 1 + s z."""

    scale: float = 1.0

    def evaluations(self):
        return 1

    def stability_function(self):
        return lambda z: np.abs(1 + self.scale * np.asarray(z))

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        v = game.field(y, key)
        return jax.tree_util.tree_map(lambda a, b: a + self.scale * h * b, y, v), state


@pytest.fixture(scope="module", autouse=True)
def registered():
    gd.games.register("tilted", "the Dirac-GAN, its data at --opt tilt", tilted)
    gd.methods.register("scaled-gd", "GD with a scaled step", ScaledGD,
                        options=[gd.Option("scale", low=0.01, high=10.0, help="step scale s")])
    yield
    gd.games.registry.unregister("tilted")
    gd.methods.registry.unregister("scaled-gd")


@pytest.fixture(scope="module")
def server():
    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def api(server, path, params):
    url = server.url.rstrip("/") + path + "?" + urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cli(*args):
    return CliRunner().invoke(app, list(args))


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error: ")]
    return line.removeprefix("Error: ")


# On the WGAN Dirac-GAN the field at its equilibrium (tilt, 0) is a rotation, λ = ±i:
# scaled GD grows the distance by |1 + i s h| per step, from (1, 1): √((tilt−1)² + 1).
H, SCALE, TILT, STEPS = 0.1, 2.0, 10.0, 50
RATE = math.hypot(1.0, SCALE * H)
START_DISTANCE = math.hypot(TILT - 1.0, 1.0)


def test_outside_game_and_method_through_the_cli(tmp_path):
    result = cli("simulate", "--game", "tilted", "--opt", f"tilt={TILT}", "-l", "wgan", "-m",
                 "scaled-gd", "--opt", f"scale={SCALE}", "--step", str(H), "--steps", str(STEPS),
                 "--init", "1,1", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    (row,) = json.loads((run_dir / "metrics.json").read_text())["results"]
    assert row["rate"] == pytest.approx(RATE, rel=1e-5)
    assert row["final_distance"] == pytest.approx(START_DISTANCE * RATE**STEPS, rel=1e-4)
    settings = json.loads((run_dir / "settings.json").read_text())
    assert settings["options"] == {"tilt": TILT, "scale": SCALE}


def test_outside_game_and_method_through_the_explorer(server):
    code, body = api(server, "/api/trajectory", {"game": "tilted", "tilt": TILT, "loss": "wgan",
                                                 "method": "scaled-gd", "opt": f"scale={SCALE}",
                                                 "step": H, "steps": STEPS, "point": "1,1"})
    assert code == 200, body
    (row,) = body["trajectories"]
    assert row["distance"][0] == pytest.approx(START_DISTANCE, rel=1e-6)
    assert row["rate"] == pytest.approx(RATE, rel=1e-5)
    code, options = api(server, "/api/options", {})
    (game,) = [g for g in options["games"] if g["name"] == "tilted"]
    assert game["options"] == [{"name": "tilt", "type": "float", "default": 0.0, "low": 0.0,
                                "high": 20.0, "choices": None, "help": "where the data sit"}]


def test_outside_game_and_method_through_a_sweep_toml(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(f'[sweep]\ngame = "tilted"\ntilt = {TILT}\nlosses = ["wgan"]\n'
                      f'regularizers = ["none"]\nmethods = ["scaled-gd"]\nscale = {SCALE}\n'
                      f'step_sizes = [{H}]\nseeds = 2\nsteps = {STEPS}\n')
    result = cli("sweep", "--config", str(config), "--out", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    rows = json.loads((run_dir / "results.json").read_text())["rows"]
    assert len(rows) == 2
    for row in rows:
        assert row["rate"] == pytest.approx(RATE, rel=1e-5)
        assert abs(row["init"][0] - TILT) <= 1.5  # drawn around the tilted equilibrium


@pytest.mark.parametrize("option, value, message", [
    ("tilt", 50, "tilt must be a finite number in [0, 20], got 50.0"),
    ("scale", 0, "scale must be a finite number in [0.01, 10], got 0.0"),
    ("tilt", "x", "tilt must be a finite number in [0, 20], got 'x'"),
])
def test_a_bad_value_reads_the_same_on_all_three(server, tmp_path, option, value, message):
    given = [f"{option}={value}"]
    line = one_error_line(cli("simulate", "--game", "tilted", "-m", "scaled-gd", "--opt", *given,
                              "--out", str(tmp_path)))
    assert line == message
    code, body = api(server, "/api/field", {"game": "tilted", "method": "scaled-gd",
                                            option: value})
    assert code == 400 and body["error"] == message
    config = tmp_path / "bad.toml"
    toml_value = f'"{value}"' if isinstance(value, str) else value
    config.write_text(f'game = "tilted"\nmethods = ["scaled-gd"]\n{option} = {toml_value}\n')
    line = one_error_line(cli("sweep", "--config", str(config), "--out", str(tmp_path)))
    assert line == f"sweep file {str(config)!r}: {message}"


def test_opt_reaches_a_builtin_game_and_names_the_valid_options(tmp_path):
    result = cli("simulate", "--game", "gaussian", "--opt", "std=2", "-l", "wgan", "-m", "simgd",
                 "--steps", "10", "--step", "0.01", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    (row,) = json.loads((run_dir / "metrics.json").read_text())["results"]
    assert row["init"][1] == pytest.approx(1.0)  # the start σ₀ = std / 2
    spec = gd.RunSpec.from_dict({k: v for k, v in json.loads(
        (run_dir / "settings.json").read_text()).items() if k != "command"})
    assert spec.games()[0][1].target.std == 2.0
    line = one_error_line(cli("simulate", "--game", "gaussian", "--opt", "bogus=1",
                              "--out", str(tmp_path)))
    assert line.startswith("unknown option 'bogus' for game 'gaussian'")
    # The game's, the default methods' (altgd) and the default losses' (rsgan) options.
    assert ("valid options: batch, bias, discriminator_steps, generator_first, h, pairs, "
            "real_point, std") in line


def test_runspec_checks_itself_and_round_trips():
    spec = gd.RunSpec(game="DIRAC", options={"dim": "2", "real-point": 1, "discriminator_steps": 3},
                      losses=("wgan", "sgan"), regularizers=("r1=0.5",), methods=("altgd",),
                      step=0.1, steps=10, inits=("1,2,0,0",), random_inits=2, seed=3)
    assert spec.game == "dirac" and spec.options == {"dim": 2, "real_point": 1.0,
                                                      "discriminator_steps": 3}
    again = gd.RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.to_dict() == spec.to_dict()
    np.testing.assert_array_equal(again.points(), spec.points())
    assert spec.method("altgd").discriminator_steps == 3
    assert [label for label, _ in spec.games()] == ["wgan", "sgan"]
    for bad, message in [({"game": "nope"}, "unknown game 'nope'; choose from: dirac"),
                         ({"step": 0}, "--step must be a positive finite number"),
                         ({"options": {"dim": 0}}, "dim (--dim) must be an integer from 1 to 64, got 0"),
                         ({"options": {"critic": "cubic"}}, "unknown critic 'cubic'"),
                         ({"colour": 1}, "unknown key 'colour'; valid keys: game, options")]:
        with pytest.raises(ValueError, match=None) as error:
            gd.RunSpec.from_dict({**spec.to_dict(), **bad})
        assert message in str(error.value) and "\n" not in str(error.value)


# -- imports -------------------------------------------------------------------------

PACKAGE = Path(gd.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The gandyn modules `path` imports, anywhere in it (a function's imports too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for alias in node.names:  # `from . import games` imports the module gandyn.games
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def test_the_library_never_imports_its_cli_and_has_no_import_cycle():
    paths = [p for p in PACKAGE.rglob("*.py")]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imports(p, modules) for p in paths}
    for module, imported in graph.items():
        if not module.startswith("gandyn.cli"):
            assert not {m for m in imported if m.startswith("gandyn.cli")}, module
    # A package importing its own modules (its `__init__`) is how Python builds it, not a
    # cycle; any other path back to a module is.
    edges = {m: {i for i in imported if not (m.startswith(i + ".") and i in graph)}
             for m, imported in graph.items()}
    state: dict[str, int] = {}

    def visit(module, trail):
        state[module] = 1
        for nxt in sorted(edges[module]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])


def test_experiments_use_only_the_public_api():
    """The reproductions in `experiments/` are what a user can write: no module or name
    of gandyn whose path has a part starting with `_` (issue 34, "No leaks")."""
    experiments = PACKAGE.parent / "experiments"
    private = []
    for path in sorted(experiments.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in ("gd", "gandyn"):
                names = [f"gandyn.{node.attr}"]
            private += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "gandyn"
                        and any(part.startswith("_") for part in n.split(".")[1:])]
    if not (experiments / "common.py").exists():
        pytest.skip("no experiments/ beside the package (an installed copy)")
    assert private == []


# -- gandyn rerun --------------------------------------------------------------------


def _rerun(run_dir: Path, out: Path) -> Path:
    result = cli("rerun", str(run_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    (again,) = out.iterdir()
    return again


def test_rerun_reproduces_a_simulate_run_exactly(tmp_path):
    result = cli("simulate", "--game", "gaussian", "--opt", "std=1.5", "-l", "sgan", "-m", "altgd",
                 "--opt", "discriminator_steps=2", "--random-inits", "3", "--seed", "7", "--steps",
                 "200", "--step", "0.05", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    (first,) = (tmp_path / "a").iterdir()
    again = _rerun(first, tmp_path / "b")
    assert json.loads((again / "settings.json").read_text()) == json.loads(
        (first / "settings.json").read_text())
    with np.load(first / "trajectories.npz") as a, np.load(again / "trajectories.npz") as b:
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert (json.loads((again / "metrics.json").read_text())["results"]
            == json.loads((first / "metrics.json").read_text())["results"])


def test_rerun_reproduces_a_sweep_exactly(tmp_path):
    result = cli("sweep", "-l", "wgan", "-l", "sgan", "-r", "none", "-r", "r1=0.5", "-m", "simgd",
                 "-s", "0.1", "--seeds", "2", "--steps", "100", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    (first,) = (tmp_path / "a").iterdir()
    again = _rerun(first, tmp_path / "b")
    rows = json.loads((first / "results.json").read_text())["rows"]
    assert len(rows) == 8
    assert json.loads((again / "results.json").read_text())["rows"] == rows


def test_rerun_reproduces_a_training_run_exactly(tmp_path):
    result = cli("train", "--data", "gaussian", "--steps", "20", "--log-every", "10", "--width", "8",
                 "--depth", "1", "--batch", "32", "--no-gif", "--opt", "b1=0.3",
                 "--rotation-probes", "0", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    (first,) = (tmp_path / "a").iterdir()
    settings = json.loads((first / "settings.json").read_text())
    assert settings["kind"] == "train" and settings["game"] == "mlp-gan"
    assert settings["options"] == {"data": "gaussian", "width": 8, "depth": 1, "latent": 2,
                                   "batch": 32, "activation": "relu", "spectral_norm": False,
                                   "b1": 0.3}
    assert settings["rotation_probes"] == 0
    again = _rerun(first, tmp_path / "b")
    assert (json.loads((again / "metrics.json").read_text())["history"]
            == json.loads((first / "metrics.json").read_text())["history"])
    with np.load(first / "params.npz") as a, np.load(again / "params.npz") as b:
        np.testing.assert_array_equal(a["flat"], b["flat"])


def test_a_run_extended_by_resume_records_its_new_length_and_reruns_to_it(tmp_path):
    """`gandyn train --resume RUN --steps 30` of a 20-step run: its settings.json says
    30 steps (it kept 20, and a rerun trained 20), so a rerun reproduces the extended
    run exactly; a folder in the settings-by-name form of before is read the same way
    and rewritten in today's."""
    result = cli("train", "--data", "ring8", "--width", "8", "--depth", "1", "--batch", "32",
                 "--steps", "20", "--log-every", "10", "--no-gif", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "a").iterdir()
    settings = json.loads((run / "settings.json").read_text())
    old = {"data": "ring8", "loss": "nsgan", "method": "adam",
           **{k: v for k, v in settings.items() if k in ("regularizers", "step", "steps", "seeds",
                                                        "seed", "log_every", "checkpoint_every",
                                                        "gif", "float64", "rotation_probes",
                                                        "dynamics_every", "dynamics_samples")},
           **{k: settings["options"][k] for k in ("width", "depth", "latent", "batch",
                                                   "activation", "spectral_norm")}}
    (run / "settings.json").write_text(json.dumps(old))
    result = cli("train", "--resume", str(run), "--steps", "30")
    assert result.exit_code == 0, result.output
    extended = json.loads((run / "settings.json").read_text())
    assert extended == {**settings, "steps": 30}
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert history[-1]["step"] == 30
    again = _rerun(run, tmp_path / "b")
    assert json.loads((again / "metrics.json").read_text())["history"] == history


def test_rerun_reproduces_a_training_sweep_row_for_row(tmp_path):
    result = cli("sweep", "--data", "gaussian", "--width", "8", "--depth", "1", "--batch", "32",
                 "--steps", "20", "--log-every", "10", "--seeds", "2", "--reg", "none",
                 "--reg", "r1=1", "--step", "1e-3", "--out", str(tmp_path / "a"))
    assert result.exit_code == 0, result.output
    (first,) = (tmp_path / "a").iterdir()
    again = _rerun(first, tmp_path / "b")
    rows = (first / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2  # a header, 2 regularizers × 2 seeds
    assert (again / "results.csv").read_text().splitlines() == rows


def test_rerun_runs_no_code_that_a_settings_file_names(tmp_path, monkeypatch):
    """A run folder is shared between people: its settings.json naming `MODULE:FUNCTION`
    must not make `rerun` import that module, unless the user names it again."""
    (tmp_path / "planted.py").write_text(
        "import pathlib, gandyn as gd\n"
        f"pathlib.Path({str(tmp_path / 'imported')!r}).touch()\n"
        "def game():\n    return gd.games.get('bilinear')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "shared-run"
    folder.mkdir()
    (folder / "settings.json").write_text(json.dumps(
        {"command": "simulate", "game": "planted:game", "methods": ["simgd"], "step": 0.1,
         "steps": 10}))
    line = one_error_line(cli("rerun", str(folder), "--out", str(tmp_path / "out")))
    assert "names the game 'planted:game', a Python function" in line
    assert "gandyn rerun RUN_DIR --game planted:game" in line
    assert not (tmp_path / "imported").exists() and not (tmp_path / "out").exists()
    assert "names the game 'planted:game'" in one_error_line(
        cli("rerun", str(folder), "--game", "other:game", "--out", str(tmp_path / "out")))
    assert not (tmp_path / "imported").exists()
    again = _rerun_with(folder, tmp_path / "out", "--game", "planted:game")
    assert (tmp_path / "imported").exists()
    assert json.loads((again / "metrics.json").read_text())["results"][0]["method"] == "simgd"


def _rerun_with(run_dir: Path, out: Path, *args) -> Path:
    result = cli("rerun", str(run_dir), "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    (again,) = out.iterdir()
    return again


def test_rerun_refuses_a_folder_without_settings(tmp_path):
    line = one_error_line(cli("rerun", str(tmp_path)))
    assert line == f"RUN_DIR {str(tmp_path)!r} is not a run folder (no settings.json)"
    (tmp_path / "settings.json").write_text('{"command": "nope"}')
    assert "names no command gandyn can rerun" in one_error_line(cli("rerun", str(tmp_path)))


def test_competitive_gd_takes_any_lineax_solver_that_fits_or_names_them():
    import jax.numpy as jnp
    import lineax as lx

    y0 = gd.Players(jnp.array([1.0]), jnp.array([1.0]))
    for solver in (lx.LU(), lx.QR()):
        solution = gd.simulate(gd.games.get("bilinear"), gd.CompetitiveGD(solver), y0, h=0.5,
                               steps=20)
        assert float(solution.rate) == pytest.approx(1 / math.sqrt(1 + 0.5**2), rel=1e-6)
    with pytest.raises(ValueError, match="solver must be one of lineax's GMRES, .*LU, QR, SVD, "
                                         "got Cholesky"):
        gd.CompetitiveGD(lx.Cholesky())


# -- every description, generated --------------------------------------------------------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
_NAMES = {"game": ["dirac", "gaussian", "bilinear", "tandem", "nope", "DIRAC", "mlp-gan",
                   "conv-gan"],
          "losses": ["sgan", "nsgan", "wgan", "ganqp", "rsgan", "bogus"],
          "methods": ["simgd", "altgd", "rk4", "adam", "cgd", "bogus"],
          "regularizers": ["r1=1", "gp=0.5", "r1=-1", "lecam=0.1", "r1", "none", "x=1"],
          "options": ["real_point", "dim", "std", "h", "discriminator_steps", "gp.center",
                      "nsgan.h", "bogus", "b1", "data", "width", "depth", "game.batch"]}
_TRAINING = {"seeds": st.one_of(_VALUES, st.integers(1, 4)),
             "log_every": st.one_of(_VALUES, st.integers(1, 100)),
             "checkpoint_every": st.integers(0, 100), "gif": _VALUES,
             "rotation_probes": st.one_of(_VALUES, st.integers(0, 4)),
             "dynamics_every": st.one_of(_VALUES, st.integers(0, 3)),
             "dynamics_samples": st.integers(0, 300)}


@st.composite
def _run_settings(draw):
    """A settings table as a user or a file could give it: mostly sensible, sometimes not."""
    data = {}
    if draw(st.booleans()):
        data["game"] = draw(st.sampled_from(_NAMES["game"]))
    for key in ("losses", "methods", "regularizers"):
        if draw(st.booleans()):
            data[key] = draw(st.lists(st.sampled_from(_NAMES[key]), max_size=3))
    if draw(st.booleans()):
        data["options"] = draw(st.dictionaries(st.sampled_from(_NAMES["options"]), st.one_of(
            _VALUES, st.sampled_from(["linear", "2", "0.5", "logsigmoid"])), max_size=3))
    for key, values in (("step", st.one_of(_VALUES, st.floats(1e-3, 2))),
                        ("steps", st.one_of(_VALUES, st.integers(1, 100))),
                        ("seed", _VALUES), ("random_inits", st.integers(-1, 3)),
                        ("float64", _VALUES)):
        if draw(st.booleans()):
            data[key] = draw(values)
    if draw(st.booleans()):  # a training run (kind "train"), or a bad kind
        data["kind"] = draw(st.one_of(st.just("train"), st.just("train"), _VALUES))
        if draw(st.booleans()):  # mostly sensible: a simulation's own settings left out
            for key in ("game", "losses", "methods", "regularizers", "options", "random_inits",
                        "step", "float64"):
                data.pop(key, None)
        for key, values in _TRAINING.items():
            if draw(st.booleans()):
                data[key] = draw(values)
        if data.get("options") and draw(st.booleans()):
            data["options"]["data"] = draw(st.sampled_from(["ring8", "digits", "", "grid25"]))
    return data


@settings(max_examples=150, deadline=None)
@given(_run_settings())
def test_any_settings_either_round_trip_or_are_one_line_refusals(data):
    """One description, one check: whatever a settings table holds, `RunSpec.from_dict`
    gives a spec that round-trips through its plain data (settings.json), or refuses it
    with one line that names where it came from, never another error."""
    try:
        spec = gd.RunSpec.from_dict(data, source="settings")
    except gd.InputError as e:
        line = str(e)
        assert line.startswith("settings: ") and "\n" not in line and len(line) < 2000
        return
    again = gd.RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())), source="settings")
    assert again == spec and again.to_dict() == spec.to_dict()
    assert spec.options == gd.RunSpec.from_dict(spec.to_dict()).options


def test_trainings_networks_are_options_of_registered_games():
    """`mlp-gan` and `conv-gan` are registered games whose options are `gandyn train`'s
    networks: training builds its GAN through the registry (the same object as
    `gd.games.get`), `--opt width=8` is `--width 8`, and one declaration bounds a
    value from every front door with one message."""
    from gandyn._train_runs import build

    settings = gd.RunSpec.train(data="ring8", width=8, depth=1, batch=32, activation="TANH")
    game, _, kind = build(settings)
    assert kind == "toy" and settings.options["activation"] == "tanh"
    direct = gd.games.get("mlp-gan", loss=gd.losses.get("nsgan"), data="ring8", width=8, depth=1,
                          batch=32, activation="tanh")
    assert jax.tree_util.tree_structure(game) == jax.tree_util.tree_structure(direct)
    flat = lambda g: np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(g.init())])
    np.testing.assert_array_equal(flat(game), flat(direct))
    assert gd.RunSpec.train(data="ring8", options={"width": "8", "game.depth": 1}) \
        == gd.RunSpec.train(data="ring8", width=8, depth=1)
    image, _, kind = build(gd.RunSpec.train(data="digits", options={"latent": 4}))
    assert kind == "image" and image.latent_size == 4 and type(image).__name__ == "ConvGAN"
    declared = gd.games.registry.options("mlp-gan")["width"]
    messages = set()
    for attempt in (lambda: gd.RunSpec.train(data="ring8", width=0),
                    lambda: gd.RunSpec.train(data="ring8", options={"width": 0}),
                    lambda: gd.RunSpec(game="mlp-gan", options={"width": 0}, methods=("adam",))):
        with pytest.raises(ValueError) as e:
            attempt()
        messages.add(str(e.value))
    with pytest.raises(ValueError) as e:
        declared.check(0)
    assert messages == {str(e.value)} == {"width (--width) must be an integer from 1 to 4,096, got 0"}
    with pytest.raises(ValueError, match="--opt width and --width disagree"):
        gd.RunSpec.train(data="ring8", width=16, options={"width": 8})


def test_a_training_run_is_a_runspec_of_kind_train(tmp_path):
    """One run description: a training run is a `RunSpec` with `kind="train"`, whatever
    builds it (`RunSpec.train` from `gandyn train`'s settings by name, the fields
    directly, a settings file of today or of before), with every default filled in and
    each bad value refused in the one text every front door gives."""
    from gandyn._train_runs import read_settings

    by_name = gd.RunSpec.train(data="ring8", width=64, depth=2, loss="wgan", method="adam",
                               steps=500, log_every=100)
    direct = gd.RunSpec(kind="train", game="mlp-gan", options={"width": 64, "game.depth": 2},
                        losses=("WGAN",), steps=500, log_every=100)
    assert by_name == direct
    assert by_name.to_dict() == {
        "kind": "train", "game": "mlp-gan",
        "options": {"data": "ring8", "width": 64, "depth": 2, "latent": 2, "batch": 256,
                    "activation": "relu", "spectral_norm": False},
        "losses": ["wgan"], "regularizers": [], "methods": ["adam"], "step": 1e-3, "steps": 500,
        "seed": 0, "float64": False, "seeds": 1, "log_every": 100, "checkpoint_every": 100,
        "gif": True, "rotation_probes": 16, "dynamics_every": 0, "dynamics_samples": 256}
    assert gd.RunSpec.from_dict(by_name.to_dict()) == by_name
    # The data picks the game and its kind's defaults (a conv-gan has no depth).
    images = gd.RunSpec(kind="train", options={"data": "mnist5k"})
    assert (images.game, images.step, images.log_every) == ("conv-gan", 2e-4, 500)
    assert set(images.options) == {"data", "width", "latent", "batch", "spectral_norm"}
    # A folder written before training runs were RunSpecs (its settings by name) reads
    # back as the same description.
    flat = {"data": "ring8", "loss": "wgan", "regularizers": [], "method": "adam",
            "step": 1e-3, "steps": 500, "seeds": 1, "seed": 0, "width": 64, "depth": 2,
            "latent": 2, "batch": 256, "activation": "relu", "spectral_norm": False,
            "log_every": 100, "checkpoint_every": 100, "gif": True, "float64": False}
    (tmp_path / "settings.json").write_text(json.dumps(flat))
    assert read_settings(tmp_path / "settings.json") == by_name
    (tmp_path / "settings.json").write_text(json.dumps(by_name.to_dict()))
    assert read_settings(tmp_path / "settings.json") == by_name
    # One text per bad value, from the simulation's description and the training's.
    for attempt, message in (
            (lambda: gd.RunSpec(kind="train", step=-1.0),
             "--step must be a positive finite number of at most 1e+06, got -1.0"),
            (lambda: gd.RunSpec(game="dirac", step=-1.0),
             "--step must be a positive finite number of at most 1e+06, got -1.0"),
            (lambda: gd.RunSpec.train(seed=-1), "--seed must be an integer ≥ 0"),
            (lambda: gd.RunSpec(kind="train", game="dirac"),
             "--game 'dirac' cannot be trained: a training run trains a network game "
             "(mlp-gan, conv-gan), picked by --data"),
            (lambda: gd.RunSpec(kind="train", losses=("wgan", "sgan")),
             "a training run takes one loss, got 2: wgan, sgan"),
            (lambda: gd.RunSpec(kind="train", inits=("0,0",)),
             "inits and random_inits are settings of a simulation"),
            (lambda: gd.RunSpec(game="dirac", log_every=10),
             "log_every is a setting of a training run (kind 'train'), not of a simulation"),
            (lambda: gd.RunSpec.train(data="digits", depth=2),
             "--depth is an option of the other network game: conv-gan takes width, latent, "
             "batch, spectral_norm"),
            (lambda: gd.RunSpec(kind="train", game="conv-gan", options={"data": "ring8"}),
             "--data 'ring8' is trained by the game mlp-gan, not conv-gan"),
            (lambda: gd.RunSpec(kind="sweep"), "kind must be one of simulate, train, got 'sweep'"),
            (lambda: gd.RunSpec.from_dict({**by_name.to_dict(), "inits": []}),
             "run settings: unknown key 'inits'; valid keys: game, options, losses, "
             "regularizers, methods, step, steps, seed, float64, kind, seeds, log_every, "
             "checkpoint_every, gif, rotation_probes, dynamics_every, dynamics_samples")):
        with pytest.raises(gd.InputError) as e:
            attempt()
        assert str(e.value).startswith(message), str(e.value)

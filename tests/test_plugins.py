"""A plugin installed as a package would be (an entry point of the group
`gandyn.plugins`) adds a method, a loss with an option, a regularizer and a game with an
option, each in one file (tests/plugin/gandyn_demo_plugin.py); they appear in `--help`,
run in `simulate` and a sweep with their options, are listed by the explorer and rerun
to the same numbers. In a subprocess, so the suite's own registries stay as they are."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = Path(__file__).parent / "plugin" / "gandyn_demo_plugin.py"

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import numpy as np
    from typer.testing import CliRunner
    import gandyn as gd
    from gandyn.cli import app
    from gandyn._explore._compute import options

    out, found = Path(sys.argv[1]), {}
    cli = lambda *a: CliRunner().invoke(app, [str(x) for x in a])
    found["loaded"] = gd._plugins.loaded
    found["help"] = cli("simulate", "--help").output
    found["sweep_help"] = cli("sweep", "--help").output

    def simulate(folder, *args):
        result = cli("simulate", *args, "--step", "0.05", "--steps", "50", "--init", "1,1",
                     "--float64", "--out", out / folder)
        assert result.exit_code == 0, result.output
        (run,) = (out / folder).iterdir()
        return run

    plugin = simulate("plugin", "--game", "demo-dirac", "-l", "demo-wgan", "-m", "demo-alt",
                      "--opt", "c=0", "--opt", "demo-wgan.scale=2", "--opt", "d_steps=2")
    builtin = cli("simulate", "--game", "dirac", "-l", "wgan", "-m", "altgd", "--opt",
                  "discriminator_steps=2", "--step", "0.1", "--steps", "50", "--init", "1,1",
                  "--float64", "--out", out / "builtin")
    assert builtin.exit_code == 0, builtin.output
    (builtin,) = (out / "builtin").iterdir()
    again = cli("rerun", plugin, "--out", out / "again")
    assert again.exit_code == 0, again.output
    (again,) = (out / "again").iterdir()
    with np.load(plugin / "trajectories.npz") as a, np.load(builtin / "trajectories.npz") as b, \\
            np.load(again / "trajectories.npz") as c:
        found["vs_builtin"] = float(np.max(np.abs(a["demo-wgan__demo-alt__params"]
                                                  - b["wgan__altgd__params"])))
        found["vs_rerun"] = float(np.max(np.abs(a["demo-wgan__demo-alt__params"]
                                                - c["demo-wgan__demo-alt__params"])))
        found["moved"] = float(np.max(np.abs(np.diff(a["demo-wgan__demo-alt__params"], axis=1))))
    sweep = cli("sweep", "--game", "demo-dirac", "-l", "demo-wgan", "-l", "wgan", "-r", "none",
                "-r", "demo-l2=0.5", "-m", "demo-alt", "-s", "0.1", "--seeds", "1", "--steps",
                "40", "--opt", "demo-wgan.scale=2", "--opt", "demo-l2.weight=1",
                "--out", out / "sweep")
    found["sweep_bad_option"] = sweep.output.strip()
    sweep = cli("sweep", "--game", "demo-dirac", "-l", "demo-wgan", "-l", "wgan", "-r", "none",
                "-r", "demo-l2=0.5", "-m", "demo-alt", "-s", "0.1", "--seeds", "1", "--steps",
                "40", "--opt", "demo-wgan.scale=2", "--out", out / "sweep")
    assert sweep.exit_code == 0, sweep.output
    (folder,) = (out / "sweep").iterdir()
    found["sweep_rows"] = json.loads((folder / "results.json").read_text())["rows"]
    listed = options()
    found["explorer_methods"] = [m["name"] for m in listed["methods"]]
    found["explorer_games"] = {g["name"]: [o["name"] for o in g["options"]] for g in listed["games"]}
    found["explorer_losses"] = [m["name"] for m in listed["losses"]]
    found["explorer_regularizers"] = [m["name"] for m in listed["regularizers"]]
    print(json.dumps(found))
""")


def _install(site: Path) -> None:
    """The plugin as pip would leave it: its module and a dist-info naming its entry point."""
    shutil.copy(PLUGIN, site / PLUGIN.name)
    info = site / "gandyn_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gandyn-demo-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[gandyn.plugins]\ndemo = gandyn_demo_plugin\n")


def test_a_plugin_reaches_every_front_end(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["loaded"] == {"demo": "gandyn_demo_plugin"}
    help_text = " ".join(found["help"].split())
    for entry in ("demo-alt", "demo-wgan", "demo-l2", "demo-dirac", "demo-alt: d_steps",
                  "demo-wgan: scale", "demo-dirac: c"):
        assert entry in help_text.replace("│", " ").replace("  ", " "), entry
    # The plugin's loss at scale 2 and step h is WGAN at step 2h; its method with
    # d_steps=2 is altgd with discriminator_steps=2: the same trajectory, to rounding.
    assert found["moved"] > 1e-3
    assert found["vs_builtin"] < 1e-12 and found["vs_rerun"] == 0.0
    assert "unknown option 'demo-l2.weight'" in found["sweep_bad_option"]
    rows = found["sweep_rows"]
    assert sorted((r["loss"], r["regularizer"]) for r in rows) == [
        ("demo-wgan", "demo-l2=0.5"), ("demo-wgan", "none"), ("wgan", "demo-l2=0.5"),
        ("wgan", "none")]
    # The regularizer changes the run; the scaled loss is the unscaled one at twice the step.
    by = {(r["loss"], r["regularizer"]): r for r in rows}
    assert by["wgan", "none"]["final_distance"] != by["wgan", "demo-l2=0.5"]["final_distance"]
    assert by["demo-wgan", "none"]["final_distance"] != by["wgan", "none"]["final_distance"]
    assert "demo-alt" in found["explorer_methods"]
    assert found["explorer_games"]["demo-dirac"] == ["c"]
    assert "demo-wgan" in found["explorer_losses"] and "demo-l2" in found["explorer_regularizers"]


def test_a_broken_plugin_is_a_warning_not_a_crash(tmp_path):
    site = tmp_path / "site"
    info = site / "broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[gandyn.plugins]\nbroken = no_such_module_here\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", "import gandyn; print(gandyn.__version__)"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "gandyn plugin 'broken' (no_such_module_here) failed to load" in done.stderr
    assert "ModuleNotFoundError" in done.stderr

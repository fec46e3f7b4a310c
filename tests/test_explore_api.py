"""`gandyn explore`'s JSON API, without a browser: each endpoint against the Dirac-GAN's
closed forms, bad input answered by a 400 with the command line's own message, and 50
requests at once all answered.

On the WGAN Dirac-GAN (real point 0) the field is `v(θ, ψ) = (ψ, −θ)`, a rotation with
Jacobian eigenvalues ±i. Simultaneous GD multiplies `‖y‖` by `|1 + ih| = √(1 + h²)` per
step (spiral out), extragradient by `|1 + ih + (ih)²| = √(1 − h² + h⁴)` (spiral in for
h < 1), alternating GD's step map has `|μ| = 1` for h < 2 (cycles).
"""

import json
import math
import posixpath
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from typer.testing import CliRunner

import gandyn as gd
from gandyn._explore import make_server
from gandyn.cli import app
from helpers import patient


H = 0.1


@pytest.fixture(scope="module")
def server():
    server = make_server(0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def get(server, path, params=(), headers=None):
    """`(status, body)`: the body parsed as JSON unless it is CSV or HTML."""
    query = f"?{urlencode(params, doseq=True)}" if params else ""
    url = f"{server.url.rstrip('/')}{path}{query}"
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            code, kind, raw = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as e:
        code, kind, raw = e.code, e.headers["Content-Type"], e.read()
    return code, json.loads(raw) if kind.startswith("application/json") else raw.decode()


WGAN = {"game": "dirac", "loss": "wgan", "step": H}


def test_options_list_every_registry_entry(server):
    code, options = get(server, "/api/options")
    assert code == 200
    networks = {"mlp-gan", "conv-gan"}  # thousands of parameters: no plane draws them
    assert [g["name"] for g in options["games"]] == [n for n in gd.games.names()
                                                     if n not in networks]
    assert networks <= set(gd.games.names())
    assert [m["name"] for m in options["methods"]] == list(gd.methods.registry.expanded())
    assert {m["name"]: m["group"] for m in options["methods"]}["modified:simgd"] \
        == "modified flows"
    assert [x["name"] for x in options["losses"]] == list(gd.losses.names())
    assert [r["name"] for r in options["regularizers"]] == list(gd.regularizers.names())
    dirac = next(g for g in options["games"] if g["name"] == "dirac")
    assert dirac["gan"] and [o["name"] for o in dirac["options"]] == ["dim", "real-point", "bias",
                                                                        "critic"]
    assert {m["name"]: m["analysis"] for m in options["methods"]}["adam"] is False
    assert {s["name"] for s in options["statuses"]} == {s.label for s in gd.Status}


def test_a_newly_registered_game_and_method_appear_and_run(server):
    """Nothing on the page or in the server names an entry: a game and a method
    registered now are offered and answered (rotation ω·xy with ω = 3: eigenvalues
    ±3i; the explicit midpoint rule multiplies ‖y‖ by |1 + z + z²/2| at z = 3ih)."""
    import jax.numpy as jnp

    class Rotation(gd.AbstractGame):
        def init(self, key=None):
            return gd.Players(jnp.array(1.0), jnp.array(0.0))

        def losses(self, players, key=None):
            value = 3.0 * players.first * players.second
            return value, -value

        def equilibrium(self):
            return gd.Players(jnp.array(0.0), jnp.array(0.0))

    gd.games.register("explore-rotation", "3·xy", lambda: Rotation())
    gd.methods.register("explore-midpoint", "explicit midpoint rule",
                        lambda: gd.methods.get("midpoint"))
    try:
        _, options = get(server, "/api/options")
        assert "explore-rotation" in [g["name"] for g in options["games"]]
        assert "explore-midpoint" in [m["name"] for m in options["methods"]]
        params = {"game": "explore-rotation", "method": "explore-midpoint", "step": H,
                  "steps": 300}
        code, answer = get(server, "/api/spectrum", params)
        assert code == 200
        imaginary = sorted(e[1] for e in answer["eigenvalues"])
        np.testing.assert_allclose(imaginary, [-3, 3], atol=1e-12)
        z = 3j * H
        assert answer["growth_per_step"] == pytest.approx(abs(1 + z + z**2 / 2), rel=1e-9)
        code, answer = get(server, "/api/trajectory", {**params, "point": "1,0"})
        assert code == 200
        assert answer["trajectories"][0]["rate"] == pytest.approx(abs(1 + z + z**2 / 2), rel=1e-6)
    finally:
        gd.games.registry.unregister("explore-rotation")
        gd.methods.registry.unregister("explore-midpoint")


def test_field_is_the_wgan_rotation(server):
    code, field = get(server, "/api/field", {**WGAN, "grid": 9, "lim": 2})
    assert code == 200
    n = field["n"]
    a, b = np.meshgrid(field["x"], field["y"])
    np.testing.assert_allclose(field["u"], b.ravel(), atol=1e-12)  # θ' = ψ
    np.testing.assert_allclose(field["w"], -a.ravel(), atol=1e-12)  # ψ' = −θ
    np.testing.assert_allclose(field["speed"], np.hypot(a, b).ravel(), atol=1e-12)
    assert n == 9 and field["x"][0] == -2 and field["equilibrium"] == [0, 0]
    assert field["labels"] == ["θ (generator)", "ψ (discriminator)"]


def test_field_of_a_shifted_real_point_is_drawn_in_its_coordinates(server):
    """With the real point at c the equilibrium is (c, 0), and the axes are the
    coordinates' own values around it."""
    code, field = get(server, "/api/field", {**WGAN, "real-point": 1.5, "grid": 5, "lim": 1})
    assert code == 200
    assert field["equilibrium"] == pytest.approx([1.5, 0])
    assert field["x"] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5])


@pytest.mark.parametrize("method, per_step", [
    ("simgd", math.sqrt(1 + H**2)),                   # |1 + ih|: spiral out
    ("extragradient", math.sqrt(1 - H**2 + H**4)),    # |1 + ih − h²|: spiral in
])
def test_trajectories_follow_the_closed_form(server, method, per_step):
    code, answer = get(server, "/api/trajectory", {**WGAN, "method": method, "steps": 1000,
                                                   "point": ["1,1", "-0.5,0.3"]})
    assert code == 200
    steps = np.asarray(answer["steps"])
    assert steps[0] == 0 and steps[-1] == 1000
    first, second = answer["trajectories"]
    for row, r0 in ((first, math.sqrt(2)), (second, math.hypot(0.5, 0.3))):
        np.testing.assert_allclose(row["distance"], r0 * per_step ** steps, rtol=1e-9)
        assert row["rate"] == pytest.approx(per_step, rel=1e-6)
        assert row["status"] == ("diverging" if per_step > 1 else "converging")
        assert row["diverged_at"] is None
        # The path is in the plane's coordinates: (θ, ψ) itself here.
        np.testing.assert_allclose(np.hypot(*np.asarray(row["path"])), row["distance"], rtol=1e-9)
        # WGAN losses: L_G = −θψ, L_D = θψ; ‖v‖ = ‖y‖.
        theta, psi = np.asarray(row["path"])
        np.testing.assert_allclose(row["generator_loss"], -theta * psi, atol=1e-9)
        np.testing.assert_allclose(row["discriminator_loss"], theta * psi, atol=1e-9)
        np.testing.assert_allclose(row["speed"], row["distance"], rtol=1e-9)
    assert first["start"] == [1, 1]


def test_a_blown_up_trajectory_says_where(server):
    """Simultaneous GD at h = 1 multiplies ‖y‖ by √2 per step: from ‖y₀‖ = √2 it passes
    the blow-up bound 10⁶ after ⌈2·log₂(10⁶/√2)⌉ = 39 steps."""
    code, answer = get(server, "/api/trajectory", {**WGAN, "step": 1, "steps": 200,
                                                   "method": "simgd", "point": "1,1"})
    assert code == 200
    row = answer["trajectories"][0]
    assert row["status"] == "diverged"
    assert row["diverged_at"] == math.ceil(2 * math.log2(1e6 / math.sqrt(2)))
    assert row["distance"][-1] is None  # NaN after the divergence is sent as null


def test_csv_has_every_saved_step(server):
    code, text = get(server, "/api/trajectory.csv", {**WGAN, "method": "simgd", "steps": 20,
                                                     "point": ["1,1", "0,2"]})
    assert code == 200
    comment, *lines = text.strip().splitlines()
    # The settings travel in the file, not only in its name (issue 38).
    assert comment == "# gandyn explore: dirac · loss wgan · method simgd · h = 0.1 · 20 steps"
    assert lines[0] == ("trajectory,start_a,start_b,status,step,t,θ,ψ,distance,generator_loss,"
                        "discriminator_loss,speed")
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 2 * 21
    last = rows[20]
    assert last[:6] == ["0", "1", "1", "diverging", "20", "2"]
    assert float(last[8]) == pytest.approx(math.sqrt(2) * (1 + H**2) ** 10, rel=1e-8)
    code, text = get(server, "/api/trajectory.csv", {**WGAN, "method": "altgd", "steps": 20,
                                                     "reg": "r1=0.3", "real-point": 0.5,
                                                     "discriminator-steps": 2, "point": "1,1"})
    assert code == 200
    assert text.splitlines()[0] == ("# gandyn explore: dirac (real_point=0.5) · loss wgan · "
                                    "r1=0.3 · method altgd (discriminator_steps=2) · h = 0.1 · "
                                    "20 steps")


def test_spectrum_of_the_wgan_dirac_gan(server):
    code, s = get(server, "/api/spectrum", {**WGAN, "method": "simgd"})
    assert code == 200 and s["available"]
    np.testing.assert_allclose(sorted(e[1] for e in s["eigenvalues"]), [-1, 1], atol=1e-12)
    np.testing.assert_allclose([e[0] for e in s["eigenvalues"]], 0, atol=1e-12)
    np.testing.assert_allclose(sorted(z[1] for z in s["scaled"]), [-H, H], atol=1e-12)
    assert s["growth_per_step"] == pytest.approx(math.sqrt(1 + H**2), rel=1e-12)
    assert s["verdict"] == "diverges"
    assert not s["largest_stable_step"]  # |1 + ih| > 1 for every h > 0
    # The region |1 + z| < 1: the unit disc around −1, area π.
    n, extent = s["n"], s["extent"]
    inside = np.array([c == "1" for c in s["region"]]).reshape(n, n)
    cell = (2 * extent / (n - 1)) ** 2
    assert inside.sum() * cell == pytest.approx(math.pi, rel=0.03)
    axis = np.linspace(-extent, extent, n)
    assert inside[np.argmin(abs(axis)), np.argmin(abs(axis + 1))]  # z = −1
    assert not inside[np.argmin(abs(axis)), np.argmin(abs(axis - 0.5))]  # z = 0.5


def test_spectrum_moves_with_the_step_and_a_regularizer(server):
    """Extragradient is stable for h < 1 on the rotation; consensus optimisation with
    weight γ adds −γ to each eigenvalue (J = A − γAᵀA = A − γI here)."""
    _, s = get(server, "/api/spectrum", {**WGAN, "method": "extragradient", "step": 0.5})
    assert s["verdict"] == "converges" and s["largest_stable_step"] == pytest.approx(1, rel=1e-6)
    _, s = get(server, "/api/spectrum", {**WGAN, "method": "extragradient", "step": 1.2})
    assert s["verdict"] == "diverges"
    _, s = get(server, "/api/spectrum", {**WGAN, "method": "simgd", "reg": "consensus=0.5"})
    np.testing.assert_allclose(sorted(s["eigenvalues"]), [[-0.5, -1], [-0.5, 1]], atol=1e-9)
    assert s["verdict"] == "converges"


def test_spectrum_of_a_step_map_and_of_a_method_without_analysis(server):
    _, s = get(server, "/api/spectrum", {**WGAN, "method": "altgd", "step": 0.5})
    assert s["kind"] == "multipliers" and s["verdict"] == "cycles"
    np.testing.assert_allclose(np.hypot(*np.asarray(s["multipliers"]).T), 1, atol=1e-9)
    assert s["largest_stable_step"] == pytest.approx(2, rel=1e-6)
    code, s = get(server, "/api/spectrum", {**WGAN, "method": "adam"})
    assert code == 200 and not s["available"] and "adam" in s["reason"]


def cli_error(args) -> str:
    """The one line `gandyn simulate ARGS` prints for bad input, without `Error: `."""
    result = CliRunner().invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    line = next(x for x in result.output.splitlines() if x.startswith("Error: "))
    return line.removeprefix("Error: ")


@pytest.mark.parametrize("params, cli", [
    ({"loss": "wgna"}, ["--loss", "wgna"]),
    ({"method": "rk5"}, ["--method", "rk5"]),
    ({"game": "nope"}, ["--game", "nope"]),
    ({"step": "-1"}, ["--step", "-1"]),
    ({"step": "nan"}, ["--step", "nan"]),
    ({"step": "inf"}, ["--step", "inf"]),
    ({"reg": "r3=1"}, ["--reg", "r3=1"]),
    ({"reg": "r1=-2"}, ["--reg", "r1=-2"]),
    ({"dim": "0"}, ["--dim", "0"]),
    ({"real-point": "1e9"}, ["--real-point", "1e9"]),
    ({"game": "bilinear", "loss": "wgan"}, ["--game", "bilinear", "--loss", "wgan"]),
])
def test_bad_input_is_a_400_with_the_command_lines_message(server, params, cli):
    for path in ("/api/field", "/api/spectrum", "/api/trajectory"):
        code, body = get(server, path, {**params, "point": "1,1"})
        assert code == 400
        assert body == {"error": cli_error(cli)}


@pytest.mark.parametrize("params, fragment", [
    ({"steps": "100001"}, "--steps must be a positive integer of at most 100,000, got 100001"),
    ({"steps": "1.5"}, "--steps must be a positive integer"),
    ({"point": [f"{k},0" for k in range(17)]}, "at most 16 --point are allowed, got 17"),
    ({"point": "1;2"}, "malformed --point '1;2'"),
    ({"point": "nan,1"}, "malformed --point 'nan,1'"),
    ({"grid": "500"}, "--grid must be an integer ≥ 2 of at most 81, got 500"),
    ({"lim": "-1"}, "--lim must be a positive finite number"),
    ({"colour": "red"}, "unknown parameter 'colour'; choose from: game,"),
    ({"step": ["0.1", "0.2"]}, "parameter 'step' is given 2 times"),
    ({"bias": "maybe"}, "bias (--bias) must be true or false, got 'maybe'"),
    ({"critic": "cubic"}, "unknown critic 'cubic'; choose from: linear, normalized"),
])
def test_bad_request_numbers_are_400s(server, params, fragment):
    code, body = get(server, "/api/trajectory", {"point": "1,1", **params})
    assert code == 400 and fragment in body["error"] and "\n" not in body["error"]


def test_no_point_no_long_query_no_foreign_host(server):
    code, body = get(server, "/api/trajectory", WGAN)
    assert code == 400 and "no --point given" in body["error"]
    code, body = get(server, "/api/field", {"point": "1,1" * 3000})
    assert code == 400 and "longer than the 8,192 allowed" in body["error"]
    code, _ = get(server, "/api/field", WGAN, headers={"Host": "attacker.example:80"})
    assert code == 403
    code, _ = get(server, "/api/nothing")
    assert code == 404
    # ... and it serves on.
    code, field = get(server, "/api/field", {**WGAN, "grid": 3})
    assert code == 200 and field["n"] == 3


def test_a_module_function_game_is_refused_and_never_imported(server, tmp_path, monkeypatch):
    """A `MODULE:FUNCTION` game runs code from a module: the API refuses it before
    anything is imported."""
    marker = tmp_path / "imported"
    (tmp_path / "explore_probe_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef game():\n    raise SystemExit\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, body = get(server, "/api/trajectory", {"game": "explore_probe_module:game",
                                                 "point": "1,1"})
    assert code == 400
    assert "command-line option only; choose from: dirac," in body["error"]
    assert not marker.exists() and "explore_probe_module" not in sys.modules


def test_a_network_game_is_refused_before_its_data_is_read(server, monkeypatch):
    """`mlp-gan` / `conv-gan` (registered games whose options are `gandyn train`'s
    networks) have thousands of parameters: the page refuses them with the drawable
    games, before a data path named by the request is opened."""
    from gandyn import data

    opened = []
    monkeypatch.setattr(data, "load", lambda *a, **k: opened.append(a))
    for game, extra in (("mlp-gan", {}), ("conv-gan", {"data": "/etc/passwd"})):
        code, body = get(server, "/api/trajectory", {"game": game, "point": "1,1", **extra})
        assert code == 400, body
        assert f"--game '{game}' is a network GAN" in body["error"]
        assert "choose from: dirac, gaussian" in body["error"] and "mlp-gan," not in body["error"]
    assert opened == []


def test_the_page_and_its_files_are_served(server):
    code, page = get(server, "/")
    assert code == 200 and '<script type="module" src="/static/main.js">' in page
    static = Path(gd.__file__).parent / "_explore" / "static"
    files = sorted(f.relative_to(static).as_posix() for f in static.rglob("*") if f.is_file())
    assert {"main.js", "state.js", "api.js", "controls.js", "plot.js", "views/portrait.js",
            "explore.css"} <= set(files)
    kinds = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
             ".html": "text/html; charset=utf-8"}
    texts = {}
    for name in files:
        url = f"{server.url}static/{name}"
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.status == 200
            # A browser runs an ES module only when it is served as JavaScript.
            assert response.headers["Content-Type"] == kinds[Path(name).suffix], name
            texts[name] = response.read().decode()
        assert texts[name] == (static / name).read_text(encoding="utf-8")
    # Every module's imports name a served file (relative to the importing module).
    for name, text in texts.items():
        if name.endswith(".js"):
            for target in re.findall(r'^import [^;]*? from "([^"]+)";', text, re.M | re.S):
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                assert target.startswith(".") and resolved in texts, (name, target)
    # Nothing is fetched from elsewhere: no absolute URL in the page or its files (SVG's
    # XML namespace, an identifier that is never fetched, aside).
    svg_namespace = '"http://www.w3.org/2000/svg"'
    for text in (page, *texts.values()):
        text = text.replace(svg_namespace, "")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


@pytest.mark.parametrize("path", [
    "/static/../_server.py", "/static/views/../../_server.py", "/static/views/../main.js",
    "/static/views/%2e%2e/%2e%2e/_server.py", "/static/views%2fportrait.js",
    "/static/views/..%2f..%2f_server.py", "/static//views/portrait.js", "/static/views",
    "/static/views/", "/static/./main.js", "/static/main.js/", "/static/%6dain.js",
    "/static/views/portrait.js%00.css", "/static/__init__.py", "/static/../__init__.py",
])
def test_a_static_path_outside_the_listed_files_is_a_404(server, path):
    """Only the files under static/, each by its exact path, are served: a dot segment,
    an encoded slash or dot, a doubled slash or a folder is a 404 (sent as is, unnormalised)."""
    code, body = _raw(server, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n".encode())
    assert code == 404 and "no such page" in body["error"]


def test_fifty_concurrent_requests_are_all_answered(server):
    """50 clients at once, half simultaneous GD and half extragradient from different
    starts: every one is answered, each with its own closed-form rate."""
    def ask(k):
        method = ("simgd", "extragradient")[k % 2]
        return method, get(server, "/api/trajectory", {**WGAN, "method": method, "steps": 200,
                                                       "point": f"{1 + k / 50},{-k / 50}"})

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(ask, range(50)))
    assert all(code == 200 for _, (code, _) in answers)
    for k, (method, (_, body)) in enumerate(answers):
        row = body["trajectories"][0]
        assert row["start"] == pytest.approx([1 + k / 50, -k / 50])
        expected = math.sqrt(1 + H**2) if method == "simgd" else math.sqrt(1 - H**2 + H**4)
        assert row["rate"] == pytest.approx(expected, rel=1e-6)


def test_the_command_serves_on_localhost_and_stops_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gandyn.cli import main; "
                               "sys.argv = ['gandyn', 'explore']; main()"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not inherited as ignored
    try:
        line = process.stdout.readline()
        assert line.startswith("gandyn explore: serving on http://127.0.0.1:")
        url = line.split()[4]
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.status == 200 and b"gandyn explore" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "stopped" in out and "Traceback" not in err


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_bad_port_is_one_line(port):
    result = CliRunner().invoke(app, ["explore", "--port", port])
    assert result.exit_code == 2
    assert "Error: --port must be an integer ≥ 0 of at most 65,535" in result.output


# ------------------------------------------------------------- issue 27: bounded, exact

def _raw(server, request: bytes) -> tuple[int, dict]:
    """Send `request` as is; `(status, JSON body)`."""
    import socket

    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=60) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body else {}


@pytest.mark.parametrize("request_text, fragment", [
    ("GET /api/options HTTP/1.1\r\nHost: 127.0.0.1:80@evil.com\r\n", "addressed to 127.0.0.1"),
    ("GET /api/options HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.com\r\n", "one Host header, not 2"),
    ("GET http://evil.com/api/options HTTP/1.1\r\nHost: 127.0.0.1\r\n", "request target must be a path"),
    ("GET /api/options HTTP/1.1\r\nHost: localhost.evil.com\r\n", "addressed to 127.0.0.1"),
])
def test_the_host_and_request_target_checks_are_exact(server, request_text, fragment):
    code, body = _raw(server, (request_text + "Connection: close\r\n\r\n").encode())
    assert code == 403 and fragment in body["error"] and "\n" not in body["error"]


def test_an_absolute_target_naming_this_server_is_served(server):
    port = server.server_address[1]
    code, body = _raw(server, f"GET http://127.0.0.1:{port}/api/field?grid=3 HTTP/1.1\r\n"
                              f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    assert code == 200 and body["n"] == 3


def test_a_request_at_its_limits_is_stopped_and_never_blocks_a_field():
    """`implicit-euler` on a 64-dimensional Dirac-GAN, 100,000 steps from 16 points (12
    minutes of work when it ran to the end, holding the one lock there was): stopped
    past its budget with a 503, and a field asked for meanwhile comes back within a
    second."""
    server = make_server(0, seconds=2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        field = {"game": "dirac", "dim": 64, "grid": 21}
        assert get(server, "/api/field", field)[0] == 200  # compiled before the clock starts
        points = [f"{i / 8},1" for i in range(16)]
        heavy = {"game": "dirac", "dim": 64, "method": "implicit-euler", "steps": 100_000,
                 "point": points}
        answers = {}
        worker = threading.Thread(target=lambda: answers.update(heavy=get(server, "/api/trajectory", heavy)))
        worker.start()
        started = time.monotonic()
        while worker.is_alive() and time.monotonic() - started < 5:
            time.sleep(0.5)
            before = time.monotonic()
            code, body = get(server, "/api/field", field)
            assert code == 200 and body["n"] == 21
            assert time.monotonic() - before < patient(1.0)  # scaled on a busy machine
        worker.join(300)
        code, body = answers["heavy"]
        assert code == 503 and "longer than the 2 s one request may use" in body["error"]
        assert "\n" not in body["error"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_second_order_breakdown_is_a_result_in_the_spectrum(server):
    """CGD's default solve is differentiated implicitly (its spectrum is available);
    with `krylov_steps=0` the solve is lineax's restart-2 GMRES alone, whose tangent
    solve breaks down at the NS-GAN Gaussian game's equilibrium: said, not a 500."""
    code, body = get(server, "/api/spectrum", {"game": "gaussian", "method": "cgd",
                                               "krylov-steps": "0"})
    assert code == 200 and body["available"] is False
    assert "method 'cgd' cannot be linearised on game GaussianGAN" in body["reason"]
    code, body = get(server, "/api/spectrum", {"game": "gaussian", "method": "cgd"})
    assert code == 200 and body["available"] is True


def test_a_request_whose_page_gave_up_on_it_stops_computing():
    """Latest wins on the server too: a page that aborts a stale fetch closes its
    connection, and the computation behind it stops at its next chunk of steps (here a
    run that would compute for its whole 120 s budget) instead of holding a slot."""
    import socket

    from gandyn._explore import _compute

    server = make_server(0, seconds=120)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        heavy = {"game": "dirac", "dim": 64, "method": "implicit-euler", "steps": 100_000,
                 "point": [f"{i / 8},1" for i in range(16)]}
        port = server.server_address[1]
        connection = socket.create_connection(("127.0.0.1", port), timeout=60)
        connection.sendall(f"GET /api/trajectory?{urlencode(heavy, doseq=True)} HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{port}\r\n\r\n".encode())
        started = time.monotonic()
        budget = None
        while time.monotonic() - started < 300:  # compiling, then the first chunk
            budget = next(iter(_compute._budgets.values()), None)
            if budget is not None and budget.deadline is not None:
                break
            time.sleep(0.1)
        assert budget is not None and budget.deadline is not None, "the run never started"
        connection.close()  # the page's AbortController
        closed = time.monotonic()
        while _compute._budgets and time.monotonic() - closed < patient(20):
            time.sleep(0.1)
        assert not _compute._budgets, "the abandoned computation kept running"
        assert budget.reason is not None and budget.reason.cancelled
        assert time.monotonic() - closed < patient(20) and 20 < budget.seconds
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_is_stopped_between_its_chunks_when_over_budget_or_abandoned(monkeypatch):
    """A trajectory's budget is checked on the host between the compiled chunks of its
    run (here 1, 16, 256, … steps: no pace limits a chunk). With no time at all, the
    deadline is set at the first check (after the first chunk: compiling is not
    counted) and the second stops the run, saying how far it got; a client that is gone
    is seen at the first check. Either way no further chunk, and no summary, is
    computed."""
    from gandyn import _program_cache, _simulate
    from gandyn._explore import _compute

    # Counted by calling the programs themselves: no stored program (an earlier test
    # in this process may have turned the program cache on) stands in for them.
    monkeypatch.setattr(_program_cache, "_folder", None)
    monkeypatch.setattr(_simulate, "CHUNK_SECONDS", 1e9)
    ran = []
    for name in ("_chunk", "_finish"):
        real = getattr(_simulate, name)
        monkeypatch.setattr(_simulate, name, lambda *a, name=name, real=real, **k:
                            ran.append(name) or real(*a, **k))
    request = _compute.parse({"game": ["dirac"], "loss": ["wgan"], "steps": ["5000"],
                              "point": ["1,1"]})
    explorer = _compute.Explorer(seconds=0)
    with pytest.raises(_compute.OverBudget, match=r"longer than the 0 s one request may use "
                       r"\(stopped after 17 steps\)") as stop:
        with explorer.budget():
            explorer.solve(request)
    assert not stop.value.cancelled and ran == ["_chunk", "_chunk"]
    ran.clear()
    with pytest.raises(_compute.OverBudget, match="the client closed the connection") as stop:
        with explorer.budget(gone=lambda: True):
            explorer.solve(request)
    assert stop.value.cancelled and ran == ["_chunk"] and not _compute._budgets


def test_a_new_step_count_step_weight_or_start_compiles_nothing(server):
    """What a slider or a click changes is traced: after a configuration's first
    answers, a new step count, h, regularizer weight or set of starts is answered by
    the programs already compiled, for the field, the spectrum and the trajectories."""
    from helpers import Compilations

    first = {"game": "dirac", "loss": "sgan", "method": "simgd", "step": 0.1, "steps": 1000,
             "reg": "r1=0.1", "point": "1,1"}
    paths = ("/api/field", "/api/spectrum", "/api/trajectory")
    for path in paths:
        assert get(server, path, first)[0] == 200
    changes = [{"steps": 1500}, {"step": 0.05}, {"reg": "r1=0.3"}, {"point": ["0.5,0.2", "1,-1"]}]
    with Compilations() as counted:
        answers = [get(server, path, {**first, **change}) for change in changes for path in paths]
    assert all(code == 200 for code, _ in answers)
    assert counted.compiled == 0
    # The answers are the new settings' (not a cached old one): 1,500 steps saved
    # every 2, the spectrum at h = 0.05 and two trajectories.
    assert answers[2][1]["steps"][-1] == 1500
    assert answers[4][1]["scaled"] != answers[1][1]["scaled"]
    assert len(answers[11][1]["trajectories"]) == 2


def test_the_server_drops_compiled_programs_near_the_memory_map_limit(server, monkeypatch):
    """The explorer is a long-lived process: past half of Linux's memory-map limit it
    drops JAX's compiled programs once no request is computing (a process past the
    limit crashes inside XLA's compiler)."""
    import jax
    import jax.numpy as jnp

    from gandyn import _budget

    square = jax.jit(lambda x: x * x)
    square(jnp.ones(3))
    code, _ = get(server, "/api/field", {**WGAN, "grid": 5, "lim": 1})
    assert code == 200 and square._cache_size() == 1  # far below the limit: kept
    monkeypatch.setattr(_budget, "_memory_maps", lambda: (40_000, 65_530))
    code, field = get(server, "/api/field", {**WGAN, "grid": 5, "lim": 1})
    assert code == 200 and field["n"] == 5 and square._cache_size() == 0


# ---------------------------------------------------------------------------------------
# The drawing plane of a game of more than two parameters, and a method's own options:
# chosen, checked and answered as the command line's `--plane` and `--opt`.


def portrait_error(args) -> str:
    """The one line `gandyn portrait ARGS` prints for bad input, without `Error: `."""
    result = CliRunner().invoke(app, ["portrait", *args])
    assert result.exit_code == 2, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Error: "))
    return line.removeprefix("Error: ")


DIRAC2 = {**WGAN, "dim": 2, "grid": 5, "lim": 1}


def test_the_drawing_plane_is_chosen_as_portraits_plane(server):
    """The 2-D WGAN Dirac-GAN (real point 0): `v = (ψ, −θ)` coordinatewise. In the plane
    of θ1 and ψ1 (θ2 = ψ2 = 0) the field is the 1-D rotation and a run stays in it,
    spiralling out by √(1 + h²) per simultaneous step. The players' plane at the start
    θ = ψ = (1, 1): `e₁ = (1, 1)/√2` in θ, `e₂ = −(1, 1)/√2` in ψ, on which the field is
    `(v·e₁, v·e₂) = (−b, a)`."""
    code, field = get(server, "/api/field", {**DIRAC2, "plane": "θ1,ψ1"})
    assert code == 200 and field["labels"] == ["θ1", "ψ1"] and field["kind"] == "coordinates"
    assert field["coordinates"] == ["θ1", "θ2", "ψ1", "ψ2"]
    a, b = np.meshgrid(field["x"], field["y"])
    np.testing.assert_allclose(field["u"], b.ravel(), atol=1e-12)
    np.testing.assert_allclose(field["w"], -a.ravel(), atol=1e-12)
    code, by_index = get(server, "/api/field", {**DIRAC2, "plane": "0,2"})  # as --plane 0,2
    assert code == 200 and by_index["u"] == field["u"] and by_index["labels"] == ["θ1", "ψ1"]

    code, answer = get(server, "/api/trajectory", {**DIRAC2, "plane": "θ1,ψ1", "method": "simgd",
                                                   "steps": 100, "point": "1,0.5"})
    assert code == 200
    row, steps = answer["trajectories"][0], np.asarray(answer["steps"])
    np.testing.assert_allclose(row["distance"], np.hypot(*np.asarray(row["path"])), rtol=1e-9)
    np.testing.assert_allclose(row["distance"], math.hypot(1, 0.5) * math.sqrt(1 + H**2) ** steps,
                               rtol=1e-9)

    code, players = get(server, "/api/field", {**DIRAC2, "plane": "players"})
    assert code == 200 and players["kind"] == "players' fields at the default start"
    assert players["labels"] == ["v_G = 0.71·θ1 + 0.71·θ2", "v_D = −0.71·ψ1 − 0.71·ψ2"]
    a, b = np.meshgrid(players["x"], players["y"])
    np.testing.assert_allclose(players["u"], -b.ravel(), atol=1e-12)
    np.testing.assert_allclose(players["w"], a.ravel(), atol=1e-12)

    for plane in ({}, {"plane": "eigen"}):  # the game's default: the rotation plane, named
        code, eigen = get(server, "/api/field", {**DIRAC2, **plane})
        assert code == 200 and eigen["kind"].startswith("rotation plane of λ = 0 ± 1i")
        assert all(label.startswith(e) and "·" in label
                   for label, e in zip(eigen["labels"], ("e₁ = ", "e₂ = ")))


@pytest.mark.parametrize("plane", ["θ1,θ9", "θ1,θ1", "θ1", "diagonal"])
def test_a_bad_plane_is_a_400_with_portraits_message(server, plane):
    cli = portrait_error(["--game", "dirac", "--dim", "2", "--loss", "wgan", "--steps", "1",
                          "--plane", plane])
    assert cli.startswith(f"malformed --plane {plane!r}: expected eigen, players, or two")
    for path in ("/api/field", "/api/trajectory"):
        code, body = get(server, path, {**DIRAC2, "plane": plane, "point": "1,1"})
        assert code == 400 and body == {"error": cli}


def test_a_methods_options_change_its_run_as_simulate_opt_does(server, tmp_path):
    """NS-GAN Dirac-GAN by alternating GD with 5 discriminator steps per generator step
    takes another path than with 1, the one `gandyn simulate --opt
    discriminator_steps=5` writes; a bad value is the command line's message."""
    common = {"game": "dirac", "loss": "nsgan", "method": "altgd", "step": 0.1, "steps": 40,
              "point": "1,0.5"}
    code, one = get(server, "/api/trajectory", common)
    code5, five = get(server, "/api/trajectory", {**common, "discriminator-steps": 5})
    assert code == code5 == 200
    path1, path5 = (np.asarray(a["trajectories"][0]["path"]) for a in (one, five))
    assert np.max(np.abs(path5 - path1)) > 0.05
    result = CliRunner().invoke(app, ["simulate", "-g", "dirac", "-l", "nsgan", "-m", "altgd",
                                      "-s", "0.1", "-n", "40", "--init", "1,0.5", "--opt",
                                      "discriminator_steps=5", "--float64", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (npz,) = tmp_path.rglob("trajectories.npz")
    with np.load(npz) as saved:
        np.testing.assert_allclose(saved["step"], five["steps"])
        np.testing.assert_allclose(saved["nsgan__altgd__params"][0].T, path5, rtol=1e-12,
                                   atol=1e-12)
    code, body = get(server, "/api/trajectory", {**common, "discriminator-steps": 0})
    assert code == 400 and body == {"error": cli_error(["-m", "altgd", "--opt",
                                                        "discriminator_steps=0"])}


def test_a_method_that_moves_the_players_in_turns_says_so(server):
    """Alternating GD on the WGAN Dirac-GAN, generator first: `θ₁ = θ₀ + hψ₀`, then
    `ψ₁ = ψ₀ − hθ₁`, so between saves 0 and 1 the state `(θ₁, ψ₀)` is the one after the
    generator's move alone; the reverse order and 3 discriminator steps are named too."""
    code, answer = get(server, "/api/trajectory", {**WGAN, "method": "altgd", "steps": 10,
                                                   "point": "1,0.5"})
    assert code == 200 and answer["turns"] == [["generator", 1], ["discriminator", 1]]
    thetas, psis = answer["trajectories"][0]["path"]
    assert thetas[1] == pytest.approx(1 + H * 0.5) and psis[1] == pytest.approx(0.5 - H * thetas[1])
    code, answer = get(server, "/api/trajectory", {**WGAN, "method": "altgd", "steps": 10,
                                                   "point": "1,0.5", "generator-first": "false",
                                                   "discriminator-steps": 3})
    assert answer["turns"] == [["discriminator", 3], ["generator", 1]]
    code, answer = get(server, "/api/trajectory", {**WGAN, "method": "simgd", "steps": 10,
                                                   "point": "1,0.5"})
    assert answer["turns"] is None

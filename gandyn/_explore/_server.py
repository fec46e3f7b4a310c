"""A local HTTP server for the explorer: one page and a JSON API, standard library only.

| path | answer |
|---|---|
| `/` | the page (`static/index.html`), its style and its script's ES modules from `/static/` |
| `/api/options` | the registries: games and their options, losses, methods, regularizers |
| `/api/field` | the field on the drawing plane (`Explorer.field`) |
| `/api/trajectory` | trajectories from `point=a,b` starts (`Explorer.trajectories`) |
| `/api/trajectory.csv` | the same as CSV, for download |
| `/api/spectrum` | `hλ` over the method's stability region (`Explorer.spectrum`) |
| `/api/bifurcation` | the current setting against h (`Explorer.bifurcation`) |

`HEAD` is answered as `GET`, without the body.
Query parameters are named as the command line's options (`game`, `loss`, `method`,
`reg=NAME=WEIGHT`, `step`, `steps`, `plane`, `dim`, `real-point`, `bias`, `critic`, a
method's options such as `discriminator-steps`) plus
`point`, `lim` and `grid`. Bad input is a 400 with the command line's one-line message,
as JSON `{"error": …}`; nothing a request carries is run as code. A computation past
its time budget is stopped and answered 503; one whose client left (a page that
aborted a stale fetch) is stopped and answered nothing; a bifurcation diagram computes
in a pool of its own (`MAX_HEAVY`), never in a slot a field waits for, and is dropped
if its client leaves while it waits; a request addressed to another
host (Host header, absolute request target) is a 403.
"""

import json
import os
import re
import select
import socket
import sys
import tempfile
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import equinox as eqx

from .._spec import InputError
from ._compute import Explorer, OverBudget, options, parse


CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 # ES modules: a browser runs a module script only with a JavaScript type.
                 ".js": "text/javascript; charset=utf-8"}
MAX_QUERY = 8192


def _static_files() -> dict[str, str]:
    """The files the page may load, `{path under static/: Content-Type}` (`main.js`,
    `views/portrait.js`): listed once, from the installed package, so that a request
    can only name one of them (no file path is ever built from a request)."""
    found = {}

    def walk(folder, prefix):
        for entry in folder.iterdir():
            if entry.name.startswith("."):
                continue
            kind = CONTENT_TYPES.get(os.path.splitext(entry.name)[1])
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif kind:
                found[prefix + entry.name] = kind

    walk(resources.files(__package__).joinpath("static"), "")
    return found


STATIC = _static_files()


_LOCAL = re.compile(r"(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?", re.IGNORECASE)


def _one_line(error: Exception, marker: str | None = None) -> str:
    """An error's message on one line (after `marker`, where it occurs), bounded: long
    enough for the command line's list of valid choices (every method's name)."""
    text = str(error)
    if marker and marker in text:
        text = text.rsplit(marker, 1)[1]
    return " ".join(text.split())[:4000] or type(error).__name__


def _save_traceback() -> str:
    fd, path = tempfile.mkstemp(prefix="gandyn-explore-error-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        traceback.print_exc(file=f)
    return path


def _static(name: str) -> bytes:
    """A file of `STATIC`, by its path under static/."""
    return resources.files(__package__).joinpath("static", *name.split("/")).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server_version = "gandyn-explore"
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's name
        refused = self._foreign()
        if refused:
            return self._send(403, {"error": refused})
        url = urlsplit(self.path)
        if len(url.query) > MAX_QUERY:
            return self._send(400, {"error": f"query of {len(url.query):,} characters is longer "
                                             f"than the {MAX_QUERY:,} allowed"})
        path = url.path
        if path in ("/", "/index.html"):
            return self._send(200, _static("index.html"), STATIC["index.html"])
        if path == "/favicon.ico":
            return self._send(204, b"", "image/x-icon")
        if path.startswith("/static/") and path[len("/static/"):] in STATIC:
            name = path[len("/static/"):]
            return self._send(200, _static(name), STATIC[name])
        routes = {"/api/options": None, "/api/field": "field", "/api/trajectory": "trajectories",
                  "/api/trajectory.csv": "csv", "/api/spectrum": "spectrum",
                  "/api/bifurcation": "bifurcation"}
        if path not in routes:
            return self._send(404, {"error": f"no such page {path!r}; the API: "
                                             + ", ".join(routes)})
        try:
            query = parse_qs(url.query, keep_blank_values=True, max_num_fields=64)
            if routes[path] is None:
                return self._send(200, options())
            explorer = self.server.explorer
            with explorer.budget(gone=self._client_gone):
                answer = getattr(explorer, routes[path])(parse(query))
        except (BrokenPipeError, ConnectionResetError):  # the page left while we answered
            self.close_connection = True
            return None
        except OverBudget as e:
            if e.cancelled:  # a newer request replaced it (the page aborted this one)
                self.close_connection = True
                return None
            return self._send(503, {"error": _one_line(e)}, headers={"Retry-After": "1"})
        except (InputError, ValueError) as e:  # bad input, named by the checks
            return self._send(400, {"error": _one_line(e)})
        except eqx.EquinoxRuntimeError as e:  # a runtime check of the computation failed
            return self._send(422, {"error": "the computation failed a runtime check: "
                                             + _one_line(e, marker="EquinoxRuntimeError: ")})
        except Exception as e:  # noqa: BLE001 - a bug: one line, the traceback in a file
            where = _save_traceback()
            print(f"gandyn explore: internal error ({type(e).__name__}); traceback in {where}",
                  file=sys.stderr)
            return self._send(500, {"error": f"internal error ({type(e).__name__}: "
                                             f"{_one_line(e)[:300]}); traceback in {where}"})
        if routes[path] == "csv":
            return self._send(200, answer.encode(), "text/csv; charset=utf-8",
                              {"Content-Disposition": 'attachment; filename="trajectories.csv"'})
        return self._send(200, answer)

    def do_HEAD(self):  # noqa: N802 - answered as GET, without the body
        self._head = True
        try:
            self.do_GET()
        finally:
            self._head = False

    def do_POST(self):  # noqa: N802
        self._send(405, {"error": "only GET and HEAD are served"},
                   headers={"Allow": "GET, HEAD"})

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _foreign(self) -> str | None:
        """Why the request is not addressed to this machine, or None: exactly one Host
        header, naming 127.0.0.1, localhost or [::1] with an optional port and nothing
        else (refuses DNS-rebinding pages), and a request target that is a path, or an
        absolute URL naming the same local host."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            return f"a request must have one Host header, not {len(hosts)}"
        host = hosts[0].strip() if hosts else ""
        if host and not _LOCAL.fullmatch(host):
            return "requests must be addressed to 127.0.0.1 or localhost"
        if self.path.startswith("//") or not self.path.startswith("/"):
            target = urlsplit(self.path)
            if target.scheme != "http" or not _LOCAL.fullmatch(target.netloc) \
                    or (host and target.netloc.lower() != host.lower()):
                return "the request target must be a path on 127.0.0.1 or localhost"
        return None

    def _client_gone(self) -> bool:
        """Whether the client closed its connection (a page that aborted its fetch for a
        newer one): readable with nothing to read."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _send(self, code: int, body, content_type="application/json", headers=None):
        if not isinstance(body, bytes):
            body = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not getattr(self, "_head", False):
            self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        if self.server.verbose:
            super().log_message(format, *args)


class ExploreServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` on 127.0.0.1 with an `Explorer` (which bounds each
    request's computation)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int = 0, *, verbose: bool = False, seconds: float | None = None):
        self.explorer = Explorer() if seconds is None else Explorer(seconds=seconds)
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request, client_address):
        """A browser that closed its connection early is no error worth a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


def make_server(port: int = 0, *, verbose: bool = False, seconds: float | None = None) -> ExploreServer:
    """An `ExploreServer` bound to 127.0.0.1 (`port=0`: a free port); call
    `serve_forever()` on it (or in a thread) and `shutdown()` to stop. `seconds`: the
    most time one request may compute (default `MAX_SECONDS`)."""
    return ExploreServer(port, verbose=verbose, seconds=seconds)

"""A local HTTP server for the explorer: one page and a JSON API, standard library only.

| path | answer |
|---|---|
| `/` | the page (`static/index.html`), its script and style from `/static/` |
| `/api/options` | the registries: games and their options, losses, methods, regularizers |
| `/api/field` | the field on the drawing plane (`Explorer.field`) |
| `/api/trajectory` | trajectories from `point=a,b` starts (`Explorer.trajectories`) |
| `/api/trajectory.csv` | the same as CSV, for download |
| `/api/spectrum` | `hλ` over the method's stability region (`Explorer.spectrum`) |
| `/api/bifurcation` | the current setting against h (`Explorer.bifurcation`) |

Query parameters are named as the command line's options (`game`, `loss`, `method`,
`reg=NAME=WEIGHT`, `step`, `steps`, `dim`, `real-point`, `bias`, `critic`) plus
`point`, `lim` and `grid`. Bad input is a 400 with the command line's one-line message,
as JSON `{"error": …}`; nothing a request carries is run as code.
"""

import json
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from ..cli._common import InputError
from ._compute import Explorer, options, parse


STATIC = {"index.html": "text/html; charset=utf-8", "explore.js": "text/javascript; charset=utf-8",
          "explore.css": "text/css; charset=utf-8"}
MAX_QUERY = 8192


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server_version = "gandyn-explore"
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if not self._local_host():
            return self._send(403, {"error": "requests must be addressed to 127.0.0.1 or "
                                             "localhost"})
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
            answer = getattr(self.server.explorer, routes[path])(parse(query))
        except (InputError, ValueError) as e:  # bad input, named by the checks
            return self._send(400, {"error": " ".join(str(e).split())})
        except Exception as e:  # noqa: BLE001 - a bug: answered, logged, serving on
            traceback.print_exc(file=sys.stderr)
            return self._send(500, {"error": f"internal error ({type(e).__name__}: "
                                             f"{' '.join(str(e).split())[:300]})"})
        if routes[path] == "csv":
            return self._send(200, answer.encode(), "text/csv; charset=utf-8",
                              {"Content-Disposition": 'attachment; filename="trajectories.csv"'})
        return self._send(200, answer)

    def do_POST(self):  # noqa: N802
        self._send(405, {"error": "only GET is served"}, headers={"Allow": "GET"})

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _local_host(self) -> bool:
        """The Host header names this machine (refuses DNS-rebinding pages)."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "")

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
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        if self.server.verbose:
            super().log_message(format, *args)


class ExploreServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` on 127.0.0.1 with an `Explorer` (which serialises the
    computations)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int = 0, *, verbose: bool = False):
        self.explorer = Explorer()
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


def make_server(port: int = 0, *, verbose: bool = False) -> ExploreServer:
    """An `ExploreServer` bound to 127.0.0.1 (`port=0`: a free port); call
    `serve_forever()` on it (or in a thread) and `shutdown()` to stop."""
    return ExploreServer(port, verbose=verbose)

from typing import Annotated

import typer

from ._common import InputError, check_int, fail, set_precision


def explore(
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1 to serve on "
                                      "(0, the default: a free port).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default "
                                               "web browser.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every request on "
                                          "stderr.")] = False,
) -> None:
    """Explore the dynamics in a browser: a local page (127.0.0.1 only) with any game's
    field, trajectories from where you click, the spectrum over the method's stability
    region and the time series, computed by the same functions as the other commands
    (in float64, as `eigen`). Ctrl-C stops it."""
    try:
        check_int("--port", port, 0, 65535)
    except InputError as e:
        fail(str(e))
    set_precision(True)
    from .._explore import make_server

    try:
        server = make_server(port, verbose=verbose)
    except OSError as e:
        fail(f"cannot serve on 127.0.0.1:{port}: {e.strerror or e}")
    typer.echo(f"gandyn explore: serving on {server.url} (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()

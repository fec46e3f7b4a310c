"""`gandyn explore`: the parameter-space dynamics in a browser, served locally."""

from ._compute import Explorer as Explorer, options as options, parse as parse
from ._server import make_server as make_server

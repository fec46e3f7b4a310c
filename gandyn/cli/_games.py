"""From the command line's game options to a run description (`gandyn.RunSpec`)."""

from .._spec import InputError, build_games, parse_options, parse_point  # noqa: F401

SHORTCUTS = {"dim": "--dim", "real_point": "--real-point", "bias": "--bias", "critic": "--critic"}


def game_options(dim=None, real_point=None, bias=None, critic=None, opt=None) -> dict:
    """The options the user gave (`--dim` and the other shortcuts, then every
    `--opt NAME=VALUE`), by name; checked later by the game's and methods' declarations."""
    given = {"dim": dim, "real_point": real_point, "bias": bias, "critic": critic}
    given = {k: v for k, v in given.items() if v is not None}
    for name, value in parse_options(opt).items():
        if name in given:
            raise InputError(f"{SHORTCUTS[name]} and --opt {name} are both given; give one")
        given[name] = value
    return given

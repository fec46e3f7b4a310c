"""From the command line's game options to games and initial points."""

import math

import numpy as np

from ._common import InputError, check_real_point, parse_regularizers, resolve_names
from ._options import DEFAULT_LOSSES


def game_options(dim, real_point, bias, critic) -> dict:
    """The game options the user gave (`None`: not given), named as the games take them."""
    given = {"dim": dim, "real_point": real_point, "bias": bias, "critic": critic}
    given = {k: v for k, v in given.items() if v is not None}
    if "dim" in given and not 1 <= given["dim"] <= 64:
        raise InputError(f"--dim must be an integer from 1 to 64, got {given['dim']}")
    if "real_point" in given:
        check_real_point(given["real_point"])
    return given


def build_games(game: str, losses: list[str] | None, regs: list[str] | None, options: dict,
                default_losses: list[str] = DEFAULT_LOSSES):
    """`[(label, game)]`: one per `--loss` for a GAN game (label: the loss), one for
    any other game (label: its name). A loss, regularizer or option the game does not
    take is a one-line `InputError`."""
    from .. import games, losses as loss_registry

    try:
        if ":" not in game:
            games.registry.check(game)
            takes_loss = games.takes_loss(game)
        else:
            takes_loss = None  # known once loaded
        flags = {"dim": "--dim", "real_point": "--real-point", "bias": "--bias", "critic": "--critic"}
        if ":" not in game:
            accepted = games.options(game)
            for option in options:
                if option not in accepted:
                    valid = [flags[o] for o in accepted if o in flags]
                    raise InputError(f"--game {game} takes no {flags[option]} (its options: "
                                     f"{', '.join(valid) or 'none'})")
        if takes_loss is False and (losses or regs):
            raise InputError(f"--game {game} is not a GAN: it takes no --loss or --reg")
        regularizers = parse_regularizers(regs)
        names = resolve_names(loss_registry.registry, losses, default_losses)
        if takes_loss is False:
            return [(game, games.get(game, **options))]
        if takes_loss is True:
            return [(name, games.get(game, loss=loss_registry.get(name), regularizers=regularizers,
                                     **options)) for name in names]
        return _user_games(game, names, regularizers, options, losses or regs)
    except (KeyError, TypeError) as e:
        raise InputError(f"--game {game}: {e}") from None
    except ValueError as e:
        raise InputError(str(e)) from None


def _user_games(spec, names, regularizers, options, gan_options_given):
    """A user's `MODULE:FUNCTION` game: per loss if the function takes `loss`."""
    import inspect

    from .. import games, losses as loss_registry

    parameters = inspect.signature(games.resolve(spec)).parameters
    if "loss" not in parameters:
        if gan_options_given:
            raise InputError(f"--game {spec} takes no loss: give no --loss or --reg")
        return [(spec, games.load(spec, **options))]
    extra = {"regularizers": regularizers} if "regularizers" in parameters else {}
    if regularizers and not extra:
        raise InputError(f"--game {spec} takes no regularizers: give no --reg")
    return [(name, games.load(spec, loss=loss_registry.get(name), **extra, **options))
            for name in names]


def coordinates(game) -> tuple[str, ...]:
    return tuple(game.coordinates())


def parse_point(text: str, game, flag: str = "--init") -> np.ndarray:
    """`"a,b,…"` → the game's flattened parameters (as many numbers as it has)."""
    names = coordinates(game)
    expected = ",".join(names)
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != len(names) or not all(map(math.isfinite, values)):
        raise InputError(f"malformed {flag} {text!r}: expected finite numbers {expected}")
    if max(abs(v) for v in values) > 1e6:
        raise InputError(f"{flag} {text!r} is beyond ±1e6, where a run counts as diverged")
    return np.asarray(values)


def initial_points(game, init: list[str] | None, random_inits: int, seed: int) -> np.ndarray:
    """Rows of flattened parameters: the `--init` points, then `random_inits` points
    uniform in ±2 around the equilibrium (the default start if it has none); the
    game's default start if neither is given."""
    from jax.flatten_util import ravel_pytree

    points = [parse_point(text, game) for text in (init or [])]
    centre = game.equilibrium()
    centre = np.asarray(ravel_pytree(game.init() if centre is None else centre)[0], dtype=float)
    if random_inits:
        rng = np.random.default_rng(seed)
        points += list(centre + rng.uniform(-2.0, 2.0, size=(random_inits, centre.size)))
    if not points:
        points = [np.asarray(ravel_pytree(game.init())[0], dtype=float)]
    return np.asarray(points, dtype=float)

"""A training run's description: the checks and defaults of a `RunSpec` with
`kind="train"` (`check_training`, what its construction calls) and `gandyn train`'s
settings by name turned into its fields (`train_fields`, what `RunSpec.train` calls).

A training run trains a network game (`mlp-gan` on a toy target, `conv-gan` on
images, picked by its `data` option) whose options are the networks (width, depth,
latent, batch, activation, spectral norm); its step size and log cadence default by
the data's kind."""

from ._checks import (
    MAX_STEPS,
    InputError,
    check_int,
    check_seed,
    check_step,
    resolve_names,
    strings as _strings,
)

# The schedule's defaults for toy targets (MLPs) and images (convnets); the networks'
# defaults are their games' declared options'.
DEFAULTS = {"toy": {"step": 1e-3, "steps": 5000, "log_every": 250},
            "image": {"step": 2e-4, "steps": 5000, "log_every": 500}}
SMALL_IMAGE_STEP = {"digits": 1e-3, "stacked-digits": 1e-3}
"""The 8×8 digits train at 10⁻³; other images at DCGAN's 2·10⁻⁴ (Radford et al. 2016).
At 2·10⁻⁴ the 8×8 convnets' discriminator wins before the generator finds the digits;
at 10⁻³ the 28×28 generator saturates to a blank image."""


def network_game(data: str) -> str:
    """The registered game a training run on `data` is: `mlp-gan` for a toy target,
    `conv-gan` for images."""
    from . import data as data_registry

    return "mlp-gan" if str(data).lower() in data_registry.names() else "conv-gan"


NETWORK = ("width", "depth", "latent", "batch", "activation", "spectral_norm")
"""The settings that are the network game's options (`mlp-gan`, `conv-gan`), checked by
their declarations; `data` picks the game."""


def network_options(data: str | None = None) -> dict:
    """The network game's options that are settings of a training run (all of them
    for `data` None): `--opt width=64` or `--opt game.spectral_norm=true` sets them as
    `--width 64` or `--spectral-norm` does, and `settings.json` keeps each as a setting
    of its own."""
    from . import games

    names = ("mlp-gan", "conv-gan") if data is None else (network_game(data),)
    declared = {}
    for name in names:
        declared.update({k: v for k, v in games.registry.options(name).items() if k in NETWORK})
    return declared


NETWORK_GAMES = ("mlp-gan", "conv-gan")
"""The games a training run trains (family `network`)."""


def _take_game_options(options: dict, given: dict, declared: dict) -> tuple[dict, dict]:
    """`options` split into the network game's (`declared`: plain names, typed) and the
    rest; a one-line `InputError` for a bad value or one `given` as a setting too,
    differently."""
    from ._options import split_name

    options, network = dict(options), {}
    for name in list(options):
        owner, key = split_name(name)
        if key not in declared or owner not in (None, "game"):
            continue
        try:
            value = declared[key].check(options.pop(name))
        except ValueError as e:
            raise InputError(str(e)) from None
        if key in network:
            raise InputError(f"--opt {key} is given twice")
        if key in given and given[key] != value:
            raise InputError(f"--opt {name} and {declared[key].flag} disagree: give one")
        network[key] = value
    return network, options


# Bounds of the integer settings: beyond them a run overflows or can never finish.
_INTS = {"seeds": (1, 1024), "log_every": (1, MAX_STEPS), "checkpoint_every": (1, MAX_STEPS),
         "rotation_probes": (0, 4096), "dynamics_every": (0, MAX_STEPS),
         "dynamics_samples": (1, 65_536)}


def check_training(spec, max_steps: int = MAX_STEPS) -> dict:
    """The canonical fields of a training run's `RunSpec` (`kind="train"`), every
    default filled in: its network game (picked by the `data` option), the game's
    options, one loss, one method, the schedule. A one-line `InputError` names the
    first bad value (`--flag` as `gandyn train` calls it)."""
    from collections.abc import Mapping

    from . import games, losses as loss_registry, methods as method_registry

    if not isinstance(spec.options, Mapping):
        raise InputError(f"options must be a table of NAME = VALUE, got {spec.options!r}")
    game = spec.game
    if game is not None:
        known = isinstance(game, str) and game.strip().lower() in NETWORK_GAMES
        if not known:
            raise InputError(f"--game {game!r} cannot be trained: a training run trains a "
                             f"network game ({', '.join(NETWORK_GAMES)}), picked by --data")
        game = game.strip().lower()
    everything = {**network_options(), "data": games.registry.options("mlp-gan")["data"]}
    network, rest = _take_game_options(spec.options, {}, everything)
    data = network.pop("data", None)
    if data is None:
        data = "ring8" if game is None else games.registry.options(game)["data"].default
    if not data.strip():
        raise InputError("--data must not be empty; give a toy target, digits, stacked-digits "
                         "or a path to images")
    name = network_game(data)
    if game is not None and game != name:
        raise InputError(f"--data {data!r} is trained by the game {name}, not {game}")
    declared = games.registry.options(name)
    foreign = [k for k in network if k not in declared]
    if foreign:
        raise InputError(f"{everything[foreign[0]].flag} is an option of the other network game: "
                         f"{name} takes {', '.join(k for k in declared if k != 'data')}")
    network = {"data": data, **{k: network.get(k, o.default) for k, o in declared.items()
                                if k != "data"}}
    defaults = DEFAULTS["toy" if name == "mlp-gan" else "image"]
    step = SMALL_IMAGE_STEP.get(data.lower(), defaults["step"]) if spec.step is None else spec.step
    log_every = defaults["log_every"] if spec.log_every is None else spec.log_every
    values = {"game": name, "step": check_step(step),
              "steps": defaults["steps"] if spec.steps is None else spec.steps,
              "seed": check_seed(spec.seed), "seeds": 1 if spec.seeds is None else spec.seeds,
              "log_every": log_every,
              "checkpoint_every": log_every if spec.checkpoint_every is None
              else spec.checkpoint_every,
              "rotation_probes": 16 if spec.rotation_probes is None else spec.rotation_probes,
              "dynamics_samples": network["batch"] if spec.dynamics_samples is None
              else spec.dynamics_samples,
              "dynamics_every": spec.dynamics_every, "gif": True if spec.gif is None else spec.gif}
    check_int("--steps", values["steps"], 1, max_steps)
    for key, (low, high) in _INTS.items():
        if key != "dynamics_every" or values[key] is not None:
            check_int(f"--{key.replace('_', '-')}", values[key], low, high)
    if values["dynamics_every"] is None:  # the recorder's cadence by its cost model
        values["dynamics_every"] = _cadence(values["log_every"], values["steps"],
                                            network["batch"], values["dynamics_samples"])
    if values["rotation_probes"] == 1:
        raise InputError("--rotation-probes must be 0 (off) or at least 2 (a standard error "
                         "needs two probes), got 1")
    for key, value in (("gif", values["gif"]), ("float64", spec.float64)):
        if not isinstance(value, bool):
            raise InputError(f"--{key} must be true or false, got {value!r}")
    if spec.inits or spec.random_inits:
        raise InputError("inits and random_inits are settings of a simulation, not of a "
                         "training run (its starts are its seeds')")
    losses = resolve_names(loss_registry.registry, _strings("losses", spec.losses), ("nsgan",))
    methods = resolve_names(method_registry.registry, _strings("methods", spec.methods),
                            ("adam",))
    for what, names in (("loss", losses), ("method", methods)):
        if len(names) != 1:
            raise InputError(f"a training run takes one {what}, got {len(names)}: "
                             f"{', '.join(names)}")
    regularizers = tuple(r.strip() for r in _strings("regularizers", spec.regularizers))
    options = _method_options(methods[0], rest, losses[0], regularizers) if rest else {}
    return {**values, "losses": tuple(losses), "methods": tuple(methods),
            "regularizers": regularizers, "options": {**network, **options}}


def train_fields(given: dict) -> dict:
    """`RunSpec.train`'s work: a training run's `RunSpec` fields from `gandyn train`'s
    settings by name (the network's as options of its game, `loss` and `method` as
    one-element `losses` and `methods`)."""
    from . import games

    given = dict(given)
    names = {"data", "loss", "method", "regularizers", "options", "step", "steps", "seed",
             "float64", *NETWORK, *_INTS, "gif"}
    unknown = sorted(set(given) - names)
    if unknown:
        raise InputError(f"unknown training setting {unknown[0]!r}; valid settings: "
                         f"{', '.join(sorted(names))}")
    data = given.pop("data", "ring8")
    if not isinstance(data, str) or not data.strip():
        raise InputError("--data must not be empty; give a toy target, digits, stacked-digits "
                         "or a path to images")
    options = given.pop("options", None) or {}
    if not isinstance(options, dict):
        raise InputError(f"--opt must be a table of NAME = VALUE, got {options!r}")
    declared = games.registry.options(network_game(data))
    flags = {k: given.pop(k) for k in NETWORK if k in given}
    network, rest = _take_game_options(options, flags, declared)
    for key, value in flags.items():
        option = network_options()[key]
        if key not in declared:
            raise InputError(f"{option.flag} is an option of the other network game: "
                             f"{network_game(data)} takes "
                             f"{', '.join(k for k in declared if k != 'data')}")
        try:
            network[key] = option.check(value)
        except ValueError as e:
            raise InputError(str(e)) from None
    loss, method = given.pop("loss", None), given.pop("method", None)
    for flag, value in (("--loss", loss), ("--method", method)):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{flag} must be a string, got {value!r}")
    regularizers = given.pop("regularizers", ())
    if isinstance(regularizers, str):
        raise InputError(f"--reg must be NAME=WEIGHT strings, got {regularizers!r}")
    return {"kind": "train", "options": {"data": data, **network, **rest},
            "losses": () if loss is None else (loss,),
            "methods": () if method is None else (method,),
            "regularizers": tuple(regularizers or ()), **given}


def default_cadence(spec, *, at_least_once: bool = False) -> int:
    """The flight recorder's cadence for a training run by its cost model
    (`default_every`): the smallest k whose recorded points cost at most 25 % of the
    training steps (0: none does; `at_least_once`: then the first and last points)."""
    return _cadence(spec.log_every, spec.steps, spec.options["batch"], spec.dynamics_samples,
                    at_least_once)


def _cadence(log_every: int, steps: int, batch: int, samples: int,
             at_least_once: bool = False) -> int:
    from ._recorder import Recorder, default_every

    return default_every(log_every=log_every, steps=steps, batch=batch,
                         recorder=Recorder(samples=samples), at_least_once=at_least_once)




def _method_options(method: str, given: dict, loss: str = "", regularizers=()) -> dict:
    """`given` checked by the declarations of the method's, the loss's and the
    regularizers' options (a name `OWNER.NAME` for one of them alone), kept as given
    with typed values."""
    from . import losses as loss_registry, methods as method_registry, regularizers as reg_registry
    from ._options import assign, split_name

    owners = {method: method_registry.registry.options(method)}
    if loss in loss_registry.registry:
        owners[loss.lower()] = loss_registry.registry.options(loss)
    for text in regularizers:
        name = text.partition("=")[0].strip().lower()
        if name in reg_registry.registry:
            owners[name] = reg_registry.options(name)
    try:
        assign(given, owners, f"method {method!r}, loss {loss!r}"
               + "".join(f", {n}" for n in list(owners)[2:]))
    except ValueError as e:
        raise InputError(str(e)) from None
    canonical = {}
    for name, value in given.items():
        owner, key = split_name(name)
        taker = next(o for o, declared in owners.items() if key in declared
                     and owner in (None, o))
        canonical[key if owner is None else f"{owner}.{key}"] = owners[taker][key].check(value)
    return canonical

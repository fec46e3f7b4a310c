r"""One run description, `RunSpec`: what every front end (the command line, the explorer,
sweeps, `gandyn rerun`) builds a run from.

A `RunSpec` holds a game and the options it declares, losses, regularizers with
weights, methods and their options, `h`, `steps`, initial points and a seed. It checks
itself on construction (one-line `ValueError`s that name the bad value and the valid
choices: what the command line prints after `Error:`, the explorer answers with a 400
and a sweep file reports after its name), builds the library's objects (`games()`,
`methods()`, `points()`), and round-trips through a plain dict (`to_dict`,
`from_dict`): the `settings.json` of a run folder.

```python
spec = gd.RunSpec(game="gaussian", options={"std": 2.0}, losses=("wgan",),
                  methods=("altgd",), step=0.1, steps=500)
spec.games()      # [("wgan", GaussianGAN(...))]
spec.methods()    # {"altgd": AlternatingGD(...)}
gd.RunSpec.from_dict(spec.to_dict()) == spec
```
"""

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from ._checks import (  # noqa: F401  (the checks every description shares)
    DEFAULT_LOSSES,
    DEFAULT_METHODS,
    MAX_MAGNITUDE,
    MAX_SEED,
    MAX_STEP,
    MAX_STEPS,
    InputError,
    check_int,
    check_seed,
    check_step,
    resolve_names,
    strings as _strings,
)
from ._options import Option, assign, for_owner, parse_assignment


# --------------------------------------------------------------------------------------
# Values of several parts


def parse_regularizers(texts, options: Mapping | None = None) -> tuple:
    """`NAME=WEIGHT` texts → regularizer objects, each with the options of `options`
    (checked; plain or `NAME.OPTION`) that it declares."""
    from . import regularizers

    try:
        return tuple(regularizers.parse(t, label="--reg",
                                        options=_owner_options("regularizer", t, options))
                     for t in (texts or []))
    except ValueError as e:
        raise InputError(str(e)) from None


NO_REGULARIZER = "none"
"""A sweep's regularizer value for a run without one."""


def regularizer_combination(text) -> tuple[str, ...]:
    """A sweep's regularizer value, the one syntax of every sweep: `"none"` → `()`,
    `"r1=1"` → `("r1=1",)`, `"r1=1+consensus=0.5"` → both (each part what `--reg`
    takes, checked by the same parser; a name twice is refused)."""
    from . import regularizers

    if not isinstance(text, str):
        try:
            regularizers.parse(text, label="--reg")  # `--reg`'s message for a non-string
        except ValueError as e:
            raise InputError(str(e)) from None
    if text.strip().lower() == NO_REGULARIZER:
        return ()
    parts = tuple(part.strip() for part in text.split("+"))
    names = []
    for part in parts:
        try:
            regularizers.parse(part, label="--reg")
        except ValueError as e:
            raise InputError(str(e)) from None
        names.append(part.partition("=")[0].strip().lower())
    repeated = [n for i, n in enumerate(names) if n in names[:i]]
    if repeated:
        raise InputError(f"regularizer {repeated[0]!r} is given twice in {text!r}")
    return parts


def _owner_options(family: str, text, options: Mapping | None) -> dict:
    """The options in `options` that the loss or regularizer `text` names declares."""
    from . import losses, regularizers
    from ._options import for_owner

    if not options or not isinstance(text, str):
        return {}
    name = text.partition("=")[0].strip().lower()
    if family == "loss":
        declared = losses.registry.options(name) if name in losses.registry else {}
    else:
        declared = regularizers.options(name) if name in regularizers.registry else {}
    return for_owner(options, name, declared)


def parse_options(texts) -> dict[str, str]:
    """`--opt NAME=VALUE` texts → `{name: value text}` (checked later by the owners'
    declarations); a name given twice is refused."""
    given: dict[str, str] = {}
    for text in texts or ():
        try:
            name, value = parse_assignment(text)
        except ValueError as e:
            raise InputError(str(e)) from None
        if name in given:
            raise InputError(f"--opt {name} is given twice")
        given[name] = value
    return given


def parse_point(text: str, game, flag: str = "--init") -> np.ndarray:
    """`"a,b,…"` → the game's flattened parameters (as many numbers as it has)."""
    names = tuple(game.coordinates())
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != len(names) or not all(map(math.isfinite, values)):
        raise InputError(f"malformed {flag} {text!r}: expected finite numbers {','.join(names)}")
    if max(abs(v) for v in values) > MAX_MAGNITUDE:
        raise InputError(f"{flag} {text!r} is beyond ±1e6, where a run counts as diverged")
    return np.asarray(values)


PLANES = ("eigen", "players")
"""The named drawing planes `--plane` takes besides two parameters (see `drawing_plane`)."""


def parse_plane(text: str, names, flag: str = "--plane") -> str | tuple[int, int]:
    """`--plane`: `eigen`, `players`, or two different parameters of the game by name
    or index (`θ1,ψ1`, `0,2`): the name, or the two indices into `names`."""
    text = str(text).strip()
    if text.lower() in PLANES:
        return text.lower()
    names = tuple(names)
    parts = [p.strip() for p in text.split(",")]
    indices = [names.index(p) if p in names else int(p) if p.isdigit() and int(p) < len(names)
               else None for p in parts]
    if len(parts) != 2 or None in indices or indices[0] == indices[1]:
        raise InputError(f"malformed {flag} {text!r}: expected {', '.join(PLANES)}, or two "
                         f"different parameters of {', '.join(names)} (names or indices)")
    return indices[0], indices[1]


def center(game) -> np.ndarray:
    """The game's equilibrium (its default start if it knows none), flattened."""
    from jax.flatten_util import ravel_pytree

    y = game.equilibrium()
    return np.asarray(ravel_pytree(game.init() if y is None else y)[0], dtype=float)


# --------------------------------------------------------------------------------------
# Options: which game or method takes each


def game_options(game: str) -> dict[str, Option]:
    """The options game `game` (a registered name or a user's `MODULE:FUNCTION`) declares."""
    from . import games
    from ._options import infer

    if ":" in game:
        return infer(games.resolve(game))
    return games.registry.options(game)


def option_owners(game: str, methods=(), losses=(), regularizers=()) -> dict[str, dict]:
    """`{owner: its declared options}`: `"game"`, then each method, loss and regularizer
    (by name; a regularizer given as `NAME=WEIGHT`), the one table every front end
    checks `--opt` against."""
    from . import losses as loss_registry, methods as method_registry, regularizers as reg_registry

    owners = {"game": game_options(game)}
    owners.update({m: method_registry.registry.options(m) for m in methods})
    owners.update({n: loss_registry.registry.options(n) for n in losses
                   if n in loss_registry.registry})
    for text in regularizers:
        name = text.partition("=")[0].strip().lower() if isinstance(text, str) else None
        if name in reg_registry.registry:
            owners[name] = reg_registry.options(name)
    return owners


def split_options(game: str, methods, given: Mapping, losses=(), regularizers=()
                  ) -> tuple[dict, dict[str, dict]]:
    """`given` options (`{name: value}`, values typed or text; a name `OWNER.NAME` for one
    owner alone) checked by the declarations of the game and of each method, loss and
    regularizer that takes them: `(game's, {owner: its})`. A name that none declares is
    an `InputError` naming the valid ones."""
    owners = option_owners(game, methods, losses, regularizers)
    named = [*methods, *losses, *(r.partition("=")[0] for r in regularizers if isinstance(r, str))]
    where = f"game {game!r}" + (f" and {', '.join(named)}" if named else "")
    try:
        assigned = assign(given, owners, where)
    except ValueError as e:
        raise InputError(str(e)) from None
    return assigned.pop("game"), assigned


def check_options(game: str, given: Mapping, methods=(), losses=(), regularizers=()) -> dict:
    """`given` checked (as `split_options`) and kept as given — a plain name for every
    owner that declares it, `OWNER.NAME` for one — with typed values: what a run
    description stores."""
    from ._options import split_name

    split_options(game, methods, given, losses, regularizers)  # refuses what none takes
    owners = option_owners(game, methods, losses, regularizers)
    canonical = {}
    for name, value in given.items():
        owner, key = split_name(name)
        taker = next(o for o, declared in owners.items()
                     if key in declared and owner in (None, o))
        canonical[key if owner is None else f"{owner}.{key}"] = owners[taker][key].check(value)
    return canonical


# --------------------------------------------------------------------------------------
# Games from names


def build_games(game: str, losses, regs, options: Mapping, default_losses=DEFAULT_LOSSES,
                extra: Mapping | None = None):
    """`[(label, game)]`: one per loss for a GAN game (label: the loss), one for any
    other game (label: its name). An option, loss or regularizer the game does not take
    (or a value out of an option's bounds) is a one-line `InputError`. `extra`: checked
    options (plain or `OWNER.NAME`) from which each loss and regularizer takes its own."""
    from . import games, losses as loss_registry

    options, _ = split_options(game, (), options)  # idempotent on checked options
    try:
        if ":" not in game:
            games.registry.check(game)
            takes_loss = games.takes_loss(game)
        else:
            takes_loss = None  # known once loaded
        if takes_loss is False and (losses or regs):
            raise InputError(f"--game {game} is not a GAN: it takes no --loss or --reg")
        regularizers = parse_regularizers(regs, extra)
        names = resolve_names(loss_registry.registry, losses, default_losses)
        if takes_loss is False:
            return [(game, games.get(game, **options))]
        if takes_loss is True:
            return [(name, games.get(game, loss=loss_registry.get(
                name, **_owner_options("loss", name, extra)), regularizers=regularizers,
                **options)) for name in names]
        return _user_games(game, names, regularizers, options, losses or regs, extra)
    except InputError:
        raise
    except (KeyError, TypeError) as e:
        raise InputError(f"--game {game}: {e}") from None
    except ValueError as e:
        raise InputError(str(e)) from None


def _user_games(spec, names, regularizers, options, gan_options_given, extra=None):
    """A user's `MODULE:FUNCTION` game: per loss if the function takes `loss`."""
    import inspect

    from . import games, losses as loss_registry

    parameters = inspect.signature(games.resolve(spec)).parameters
    if "loss" not in parameters:
        if gan_options_given:
            raise InputError(f"--game {spec} takes no loss: give no --loss or --reg")
        return [(spec, games.load(spec, **options))]
    takes = {"regularizers": regularizers} if "regularizers" in parameters else {}
    if regularizers and not takes:
        raise InputError(f"--game {spec} takes no regularizers: give no --reg")
    return [(name, games.load(spec, loss=loss_registry.get(
        name, **_owner_options("loss", name, extra)), **takes, **options)) for name in names]


# --------------------------------------------------------------------------------------
# The run description


def _loss_names(game: str, losses, default_losses) -> tuple[str, ...]:
    """The losses a GAN game runs under (none for a game that takes no loss), for the
    options table; a bad name is left to `build_games` to name."""
    from . import games, losses as loss_registry

    if ":" not in game and not games.takes_loss(game):
        return ()
    try:
        return tuple(resolve_names(loss_registry.registry, losses or None, default_losses))
    except InputError:
        return ()


KINDS = ("simulate", "train")
"""The kinds of run a `RunSpec` describes: a simulation of a game (any game, several
losses, methods and starts) or the training of a network game (`mlp-gan`, `conv-gan`:
one loss, one method, `seeds` seeds, log points and checkpoints)."""

TRAINING = ("seeds", "log_every", "checkpoint_every", "gif", "rotation_probes",
            "dynamics_every", "dynamics_samples")
"""The fields only a training run has (its schedule: seeds trained at once, log and
checkpoint cadence, the GIF, the rotation share's probes, the flight recorder)."""


@dataclasses.dataclass(frozen=True, eq=False)
class RunSpec:
    """A run: `game` with its `options` (and its methods', losses' and regularizers'
    options, by name), `losses` (a GAN game; empty: the defaults), `regularizers`
    (`"NAME=WEIGHT"`), `methods`, step size `step`, `steps`, a `seed` and `float64`.

    `kind="simulate"` (the default) follows a game from initial points `inits`
    (`"a,b,…"` texts or number lists) plus `random_inits` points uniform in ±2 around
    the equilibrium drawn with `seed`. `kind="train"` trains a network game
    (`mlp-gan` on a toy target, `conv-gan` on images: picked by its `data` option)
    with one loss and one method for `seeds` seeds at once, logging every `log_every`
    steps (the rotation share with `rotation_probes` probes, the flight recorder at
    every `dynamics_every`-th log point on `dynamics_samples` samples), a checkpoint
    every `checkpoint_every` steps and, with `gif`, training.gif. `RunSpec.train(...)`
    builds one from `gandyn train`'s flags. A field left None takes its kind's default
    (a training run's step size and log cadence depend on its data).

    Construction checks everything and stores canonical values (lower-case names,
    typed options, every default filled in); a bad value is a one-line `InputError`
    (a `ValueError`)."""

    game: str | None = None
    options: Mapping = dataclasses.field(default_factory=dict)
    losses: tuple[str, ...] = ()
    regularizers: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    step: float | None = None
    steps: int | None = None
    inits: tuple = ()
    random_inits: int = 0
    seed: int = 0
    float64: bool = False
    kind: str = "simulate"
    seeds: int | None = None
    log_every: int | None = None
    checkpoint_every: int | None = None
    gif: bool | None = None
    rotation_probes: int | None = None
    dynamics_every: int | None = None
    dynamics_samples: int | None = None
    default_losses: dataclasses.InitVar[tuple[str, ...]] = DEFAULT_LOSSES
    default_methods: dataclasses.InitVar[tuple[str, ...]] = DEFAULT_METHODS
    max_steps: dataclasses.InitVar[int] = MAX_STEPS

    def __post_init__(self, default_losses, default_methods, max_steps):
        from . import games, methods as method_registry

        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind == "train":
            from ._train_spec import check_training

            for name, value in check_training(self, max_steps).items():
                set_(name, value)
            return
        given = [name for name in TRAINING if getattr(self, name) is not None]
        if given:
            raise InputError(f"{given[0]} is a setting of a training run (kind 'train'), not "
                             f"of a simulation")
        set_("game", "dirac" if self.game is None else self.game)
        set_("step", 1.0 if self.step is None else self.step)
        set_("steps", 2000 if self.steps is None else self.steps)
        if not isinstance(self.game, str) or not self.game.strip():
            raise InputError(f"--game must be a game's name, got {self.game!r}; choose from: "
                             + ", ".join(games.names()))
        if ":" not in self.game:
            try:
                set_("game", games.registry.check(self.game))
            except ValueError as e:
                raise InputError(str(e)) from None
        set_("methods", tuple(resolve_names(method_registry.registry,
                                            _strings("methods", self.methods), default_methods)))
        set_("step", check_step(self.step))
        set_("steps", check_int("--steps", self.steps, 1, max_steps))
        set_("seed", check_seed(self.seed))
        set_("random_inits", check_int("--random-inits", self.random_inits, 0, 10**9))
        if not isinstance(self.float64, bool):
            raise InputError(f"float64 must be true or false, got {self.float64!r}")
        if not isinstance(self.options, Mapping):
            raise InputError(f"options must be a table of NAME = VALUE, got {self.options!r}")
        losses, regs = _strings("losses", self.losses), _strings("regularizers", self.regularizers)
        set_("options", check_options(self.game, dict(self.options), self.methods,
                                      _loss_names(self.game, losses, default_losses), regs))
        built = build_games(self.game, list(losses) or None, list(regs) or None,
                            self.game_options(), default_losses=list(default_losses),
                            extra=self.options)
        gan = built[0][0] != self.game
        set_("losses", tuple(label for label, _ in built) if gan else ())
        set_("regularizers", tuple(r.strip() for r in regs))
        inits = []
        for point in self.inits or ():
            text = point if isinstance(point, str) else ",".join(map(repr, point)) \
                if isinstance(point, (list, tuple)) else repr(point)
            inits.append(tuple(float(x) for x in parse_point(text, built[0][1])))
        set_("inits", tuple(inits))

    @classmethod
    def train(cls, *, dynamics: bool | None = None, **given) -> "RunSpec":
        """A training run from `gandyn train`'s settings by name (`data`, `loss`,
        `method`, `regularizers`, `step`, `steps`, `seeds`, `seed`, the network's
        `width`, `depth`, `latent`, `batch`, `activation`, `spectral_norm`, `log_every`,
        `checkpoint_every`, `gif`, `float64`, `options`, `rotation_probes`,
        `dynamics_every`, `dynamics_samples`), the rest the data's defaults. Unless
        `dynamics_every` is given, the flight recorder records at the cadence its cost
        model picks (at most 25 % of the training): `dynamics=True` records at least the
        first and last log points, `dynamics=False` turns it off.

        ```python
        spec = gd.RunSpec.train(data="ring8", steps=500, width=64)
        spec.game, spec.options["width"], spec.methods    # "mlp-gan", 64, ("adam",)
        ```"""
        from ._train_spec import default_cadence, train_fields

        spec = cls(**train_fields(given))
        if dynamics is False:
            return dataclasses.replace(spec, dynamics_every=0)
        if dynamics and "dynamics_every" not in given:
            return dataclasses.replace(spec, dynamics_every=default_cadence(
                spec, at_least_once=True))
        return spec

    # -- what it builds --------------------------------------------------------------

    def game_options(self) -> dict:
        """The options the game takes (the rest are its methods', losses' and
        regularizers')."""
        return for_owner(self.options, "game", game_options(self.game))

    def method_options(self, method: str) -> dict:
        from . import methods as method_registry

        return for_owner(self.options, method, method_registry.registry.options(method))

    def games(self) -> list[tuple[str, object]]:
        """`[(label, game)]`: one per loss for a GAN game, else `[(name, game)]`."""
        return build_games(self.game, list(self.losses) or None, list(self.regularizers) or None,
                           self.game_options(), extra=self.options)

    def method(self, name: str):
        from . import methods as method_registry

        return method_registry.get(name, **self.method_options(name))

    def methods_built(self) -> dict[str, object]:
        """`{name: method}` with each method's options."""
        return {name: self.method(name) for name in self.methods}

    def points(self, game=None) -> np.ndarray:
        """Rows of flattened parameters: `inits`, then `random_inits` points uniform in
        ±2 around the equilibrium; the game's default start if neither is given."""
        from jax.flatten_util import ravel_pytree

        game = self.games()[0][1] if game is None else game
        points = [np.asarray(p, dtype=float) for p in self.inits]
        if self.random_inits:
            middle = center(game)
            rng = np.random.default_rng(self.seed)
            points += list(middle + rng.uniform(-2.0, 2.0, size=(self.random_inits, middle.size)))
        if not points:
            points = [np.asarray(ravel_pytree(game.init())[0], dtype=float)]
        return np.asarray(points, dtype=float)

    # -- plain data ------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain data (JSON and TOML): every field of its kind, lists for tuples."""
        common = {"game": self.game, "options": dict(self.options), "losses": list(self.losses),
                  "regularizers": list(self.regularizers), "methods": list(self.methods),
                  "step": self.step, "steps": self.steps}
        if self.kind == "train":
            return {"kind": "train", **common, "seed": self.seed, "float64": self.float64,
                    **{name: getattr(self, name) for name in TRAINING}}
        return {**common, "inits": [list(p) for p in self.inits],
                "random_inits": self.random_inits, "seed": self.seed, "float64": self.float64}

    @classmethod
    def from_dict(cls, data, *, source: str = "run settings", **limits) -> "RunSpec":
        """A spec from `to_dict`'s plain data (a JSON object or TOML table); unknown keys
        are refused naming the valid ones; errors start with `source`."""
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: expected a table of run settings, got a "
                             f"{type(data).__name__}")
        simulation = ["game", "options", "losses", "regularizers", "methods", "step", "steps",
                      "inits", "random_inits", "seed", "float64", "kind"]
        fields = simulation if data.get("kind", "simulate") != "train" else \
            [*(k for k in simulation if k not in ("inits", "random_inits")), *TRAINING]
        unknown = sorted(str(k) for k in set(data) - set(fields))
        if unknown:
            raise InputError(f"{source}: unknown key {unknown[0]!r}; valid keys: {', '.join(fields)}")
        values = {k: tuple(v) if isinstance(v, list) and k != "options" else v
                  for k, v in data.items()}
        try:
            return cls(**values, **limits)
        except (ValueError, TypeError) as e:
            raise InputError(f"{source}: {e}") from None

    def __eq__(self, other) -> bool:
        return isinstance(other, RunSpec) and self.to_dict() == other.to_dict()

    __hash__ = None

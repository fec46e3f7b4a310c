"""Sweeps of training runs: a grid of data × width × depth × loss × regularizer × method ×
step size, each configuration trained for `seeds` seeds at once by `train` (one vmapped
program, as `gandyn train --seeds` runs them), each seed one row holding `train`'s final
metrics (modes, KL, high-quality share for a toy target; FD and classes for images).

Every configuration is a training run's `RunSpec` (`RunSpec.train`: the run description
of `gandyn train`), checked by it: a bad value is the one-line error `gandyn train`
gives. A `[sweep]` table with a `data` key is a training sweep:

```toml
[sweep]
data = ["ring8"]
widths = [8]
depths = [1]
losses = ["nsgan", "wgan"]
regularizers = ["none", "r1=1"]      # "A=1+B=0.5" combines two
methods = ["adam"]
step_sizes = [1e-3, 3e-3]
seeds = 2                             # per configuration, trained at once
steps = 500
dynamics_every = 1                    # the flight recorder at every log point (0: off;
                                      # default: gandyn train's, ≤ 25 % of the training)
atlas_colour = "dynamics/max_re_eig_J"  # the atlas's colour (default: KL or FD)
```

With the recorder on (`dynamics_every`, `dynamics_samples`: `gandyn train`'s
`--dynamics-every`, `--dynamics-samples`), `results.csv` has the recorded quantities of
each seed's last log point (`dynamics/max_re_eig_J`, …); `atlas_colour` names the
column the training atlas is coloured by (the median over a cell's non-diverged seeds).
"""

import dataclasses
import itertools
from collections.abc import Iterable

from ._spec import NO_REGULARIZER, InputError, regularizer_combination
from ._metrics import FINAL_METRICS as METRICS
from ._spec import RunSpec

KEY_COLUMNS = ["data", "width", "depth", "loss", "regularizer", "method", "step", "seed"]
MAX_RUNS = 100_000
# Settings that are one value for the whole sweep (given: the same for every run).
_SCALARS = ("latent", "batch", "activation", "spectral_norm", "log_every", "float64",
            "dynamics_every", "dynamics_samples")
_LISTS = ("data", "widths", "depths", "losses", "regularizers", "methods", "step_sizes")


def _show(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclasses.dataclass(frozen=True)
class TrainSweepSpec:
    """A grid of training runs: every data × width × depth × loss × regularizer ×
    method × step size, each trained for `seeds` seeds (base seed `seed`) for `steps`
    steps. Empty `widths` / `depths`: `gandyn train`'s default for the data. `latent`,
    `batch`, `activation`, `spectral_norm`, `log_every` (None: the data's default),
    `float64` and the methods' `options` are the same for every run.

    Construction builds (and so checks) every configuration's `RunSpec`; a
    configuration given twice is refused."""

    data: tuple[str, ...] = ("ring8",)
    widths: tuple[int, ...] = ()
    depths: tuple[int, ...] = ()
    losses: tuple[str, ...] = ("nsgan",)
    regularizers: tuple[str, ...] = (NO_REGULARIZER,)
    methods: tuple[str, ...] = ("adam",)
    step_sizes: tuple[float, ...] = (1e-3,)
    seeds: int = 1
    seed: int = 0
    steps: int = 2000
    latent: int | None = None
    batch: int | None = None
    activation: str | None = None
    spectral_norm: bool = False
    log_every: int | None = None
    float64: bool = False
    options: dict = dataclasses.field(default_factory=dict)
    dynamics_every: int | None = None
    dynamics_samples: int | None = None
    atlas_colour: str | None = None

    def __post_init__(self):
        for name in _LISTS:
            value = getattr(self, name)
            if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
                raise InputError(f"{name} must be a list, got {_show(value)}")
            value = tuple(value)
            if not value and name not in ("widths", "depths"):
                raise InputError(f"{name} must not be empty")
            object.__setattr__(self, name, value)
        if not isinstance(self.options, dict):
            raise InputError(f"options must be a table of NAME = VALUE, got {_show(self.options)}")
        configs = self.configurations()
        self._check_atlas_colour(configs)
        if len(configs) * self.seeds > MAX_RUNS:
            raise InputError(f"the grid has {len(configs) * self.seeds:,} runs, more than the "
                             f"{MAX_RUNS:,} one sweep may hold; split it into several sweeps")
        _check_names(configs)
        seen = {}
        for key, spec in configs:
            canonical = (spec.options["data"].lower(), *key[1:3], spec.losses[0],
                         tuple(r.lower() for r in spec.regularizers), spec.methods[0], spec.step)
            if canonical in seen:
                raise InputError(f"the grid holds the run {', '.join(map(str, key))} twice "
                                 f"(same as {', '.join(map(str, seen[canonical]))}): give every "
                                 "value once")
            seen[canonical] = key

    def _check_atlas_colour(self, configs) -> None:
        from ._recorder import PREFIX, SCALARS

        colour = self.atlas_colour
        if colour is None:
            return
        recorded = [PREFIX + name for name in SCALARS]
        valid = [*METRICS, *ATLAS_COLUMNS, *recorded]
        if colour not in valid:
            raise InputError(f"atlas_colour must be one of {', '.join(valid)}; got "
                             f"{_show(colour)}")
        if colour in recorded and not configs[0][1].dynamics_every:
            raise InputError(f"atlas_colour {colour!r} is recorded by the flight recorder, "
                             "which dynamics_every = 0 turns off: set dynamics_every = 1 (or k: "
                             "every k-th log point) or leave it out")

    def configurations(self) -> list[tuple[tuple, RunSpec]]:
        """`[(key, spec)]` in grid order: key `(data, width, depth, loss, regularizer,
        method, step)`, spec that of `gandyn train --seeds seeds --seed seed`."""
        from . import games
        from ._train_runs import network_game, network_options
        from ._recorder import PREFIX, SCALARS

        fixed = {k: getattr(self, k) for k in _SCALARS if getattr(self, k) is not None}
        # The atlas coloured by a recorded quantity: the recorder on at its default cadence
        # even in a short run (then at the first and last log points).
        recorded = self.atlas_colour in [PREFIX + name for name in SCALARS]
        out = []
        for data, width, depth, loss, reg, method, h in itertools.product(
                self.data, self.widths or (None,), self.depths or (None,), self.losses,
                self.regularizers, self.methods, self.step_sizes):
            given = {"data": data, "loss": loss, "method": method, "step": h, "steps": self.steps,
                     "seeds": self.seeds, "seed": self.seed, "regularizers": regularizer_combination(reg),
                     "gif": False, **fixed}
            # A network option the data's game lacks (an image run's depth, activation) is
            # not passed; the key keeps the value given, or mlp-gan's default, as before.
            shape = {"width": width, "depth": depth}
            declared = games.registry.options(network_game(data)) if isinstance(data, str) else {}
            given.update({k: v for k, v in shape.items() if v is not None and k in declared})
            if "activation" not in declared:
                given.pop("activation", None)
            if self.options:
                given["options"] = dict(self.options)
            spec = RunSpec.train(dynamics=recorded or None, **given)
            width, depth = (spec.options.get(k, network_options()[k].default if v is None else v)
                            for k, v in shape.items())
            key = (data, width, depth, loss, reg.strip() if isinstance(reg, str) else reg,
                   method, float(h))
            out.append((key, spec))
        return out

    def size(self) -> int:
        return len(self.configurations()) * self.seeds

    def keys(self) -> set[tuple]:
        return {(*key, s) for key, _ in self.configurations() for s in range(self.seeds)}

    def to_dict(self) -> dict:
        return {"kind": "train",
                **{k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}}

    @classmethod
    def from_dict(cls, data, *, source: str = "sweep spec") -> "TrainSweepSpec":
        """A spec from a `[sweep]` table or a saved `spec.json`; unknown keys are refused
        naming the valid ones. Errors are one-line `InputError`s starting with `source`."""
        fields = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a table of sweep settings, got a {type(data).__name__}")
        data = {k: v for k, v in data.items() if k != "kind"}
        unknown = sorted(str(k) for k in set(data) - set(fields))
        if unknown:
            raise InputError(f"{source}: unknown key {unknown[0]!r}; a training sweep takes: "
                             f"{', '.join(fields)}")
        try:
            for name in _LISTS:
                if name in data and isinstance(data[name], (str, int, float)) \
                        and not isinstance(data[name], bool):
                    data[name] = [data[name]]  # one value: a list of one
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        except (ValueError, TypeError) as e:
            raise InputError(f"{source}: {e}") from None

    # -- the work, in units that `gandyn._shards` hands to processes ------------------

    def units(self) -> list[tuple[list[tuple], "callable"]]:
        """`[(keys, run)]`: one unit per configuration (its seeds trained at once);
        `run()` returns its rows, one per seed, in seed order."""
        return [([(*key, s) for s in range(self.seeds)],
                 lambda key=key, spec=spec: run_configuration(key, spec))
                for key, spec in self.configurations()]

    @staticmethod
    def row_key(row: dict) -> tuple:
        return (row["data"], int(row["width"]), int(row["depth"]), row["loss"], row["regularizer"],
                row["method"], float(row["step"]), int(row["seed"]))

    @staticmethod
    def columns(rows: list[dict]) -> list[str]:
        metrics = sorted({k for r in rows for k in r} - set(KEY_COLUMNS)
                         - {"status", "diverged_at", "steps_done"})
        return KEY_COLUMNS + ["status", "diverged_at", "steps_done"] + metrics


def _check_names(configs) -> None:
    """What `gandyn train` checks when it builds a run, once per distinct value: the
    data (one run built per data), losses, methods (a step method) and regularizers."""
    from . import losses as loss_registry, methods as method_registry
    from ._methods import AbstractStepMethod
    from ._options import for_owner
    from ._spec import parse_regularizers
    from ._train_runs import build, recorder

    checked = set()
    for _, spec in configs:
        for what, value in (("data", spec.options["data"]), ("loss", spec.losses[0]),
                            ("method", spec.methods[0]), ("regularizers", spec.regularizers)):
            if (what, value) in checked:
                continue
            checked.add((what, value))
            try:
                if what == "data":
                    build(spec)
                elif what == "loss":
                    loss_registry.get(value)
                elif what == "method":
                    method = method_registry.get(value, **for_owner(
                        spec.options, value.lower(), method_registry.registry.options(value)))
                    if not isinstance(method, AbstractStepMethod):
                        raise InputError(f"method {value!r} is adaptive; training needs a step method")
                else:
                    parse_regularizers(value)
            except InputError:
                raise
            except (ValueError, KeyError, TypeError) as e:
                raise InputError(str(e).strip().splitlines()[0] if str(e).strip() else repr(e)) from None


def run_configuration(key: tuple, spec: RunSpec) -> list[dict]:
    """Train one configuration's seeds at once (`train`, as `gandyn train` does) and
    return one row per seed: the key, `status` (trained / partial / failed /
    diverged), `diverged_at` and the last logged metrics."""
    from ._train import summary, train
    from ._train_runs import build, recorder

    game, method, kind = build(spec)
    extra = {}
    if kind == "image":
        from ._image_metrics import ImageMetrics

        extra = {"metrics": ImageMetrics(game.target, seed=spec.seed), "eval_samples": 2000}
    result = train(game, method, h=spec.step, steps=spec.steps, seeds=spec.seeds,
                   seed=spec.seed, log_every=spec.log_every,
                   keep_samples=0, keep_checkpoints=False, eigen_checkpoints=0,
                   dynamics=recorder(spec), **extra)
    rows = []
    for s, last in enumerate(summary(result)):
        metrics = {k: v for k, v in last.items() if k not in ("step", "seed", "diverged_at", "status")}
        rows.append({**dict(zip(KEY_COLUMNS, (*key, s))), "status": last["status"],
                     "diverged_at": last["diverged_at"], "steps_done": result.steps_done, **metrics})
    return rows


# Other columns `atlas_colour` may name (besides the recorder's `dynamics/…`).
ATLAS_COLUMNS = ("speed", "generator_loss", "discriminator_loss")


def final_metric(rows: list[dict]) -> str | None:
    """The metric a training sweep's rows are compared by: KL for a toy target, FD
    for images (the first of `METRICS` they hold)."""
    return next((m for m in METRICS if any(r.get(m) is not None for r in rows)), None)


def summarize_rows(rows: list[dict]) -> list[dict]:
    """Per configuration (all key columns but the seed): its seeds, how many trained
    (status `trained`), and the median over its non-diverged seeds of the final metric;
    best first."""
    import numpy as np

    metric = final_metric(rows)
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault(tuple(r[c] for c in KEY_COLUMNS if c != "seed"), []).append(r)
    out = []
    for key, cell in cells.items():
        values = [r[metric] for r in cell if metric and r.get(metric) is not None
                  and r["status"] != "diverged"]
        out.append({**dict(zip([c for c in KEY_COLUMNS if c != "seed"], key)), "seeds": len(cell),
                    "trained": sum(r["status"] == "trained" for r in cell),
                    "diverged": sum(r["status"] == "diverged" for r in cell), "metric": metric,
                    "median": float(np.median(values)) if values else None})
    out.sort(key=lambda r: (-r["trained"], np.inf if r["median"] is None else r["median"]))
    return out

"""Sweeps: a grid of loss × regularizer × method × step size × seed on the Dirac-GAN,
run in groups that share one compiled program, written incrementally and resumable."""

import csv
import dataclasses
import itertools
import math
import os
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from . import losses as loss_registry, methods as method_registry, regularizers as reg_registry
from ._games import DiracGAN
from ._runs import summarize, write_json
from ._sharding import shard_batch
from ._simulate import simulate


COLUMNS = [
    "loss", "regularizer", "method", "step", "seed", "theta0", "psi0", "status",
    "diverged_at", "final_distance", "final_speed", "rate",
]
NO_REGULARIZER = "none"


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A grid of Dirac-GAN runs: every loss × regularizer × method × step size × seed.

    `regularizers` are `"none"` or `"NAME=WEIGHT"` strings; each seed draws one initial
    point `(θ, ψ) = (c + u₁, u₂)`, `u ~ U[−init_radius, init_radius]²`.
    """

    losses: tuple[str, ...] = ("sgan", "nsgan", "rsgan", "wgan")
    regularizers: tuple[str, ...] = (NO_REGULARIZER, "r1=0.3", "r1=1", "consensus=0.5")
    methods: tuple[str, ...] = ("simgd", "altgd", "extragradient", "rk4")
    step_sizes: tuple[float, ...] = tuple(float(f"{h:.4g}") for h in np.geomspace(0.01, 1.0, 8))
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    steps: int = 1000
    real_point: float = 0.0
    init_radius: float = 1.5

    def __post_init__(self):
        for name in self.losses:
            loss_registry.get(name)
        for name in self.methods:
            method_registry.get(name)
        for text in self.regularizers:
            if text != NO_REGULARIZER:
                reg_registry.parse(text)
        for h in self.step_sizes:
            if not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0):
                raise ValueError(f"step sizes must be positive finite numbers, got {h!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if not self.seeds or not all(isinstance(s, int) for s in self.seeds):
            raise ValueError(f"seeds must be a non-empty list of integers, got {list(self.seeds)!r}")
        for field in ("losses", "regularizers", "methods", "step_sizes"):
            if not getattr(self, field):
                raise ValueError(f"{field} must not be empty")

    def size(self) -> int:
        return (len(self.losses) * len(self.regularizers) * len(self.methods)
                * len(self.step_sizes) * len(self.seeds))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "sweep spec") -> "SweepSpec":
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(f"{source}: unknown key {unknown[0]!r}; valid keys: {', '.join(fields)}")
        values = {}
        for key, value in data.items():
            if key in ("losses", "regularizers", "methods", "step_sizes", "seeds"):
                if isinstance(value, int) and key == "seeds":
                    value = list(range(value))
                if not isinstance(value, list):
                    raise ValueError(f"{source}: {key} must be a list, got {value!r}")
                value = tuple(float(v) if key == "step_sizes" and isinstance(v, int) else v for v in value)
            values[key] = value
        try:
            return cls(**values)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: {e}") from None

    @classmethod
    def from_toml(cls, path: Path) -> "SweepSpec":
        """Read a `[sweep]` table (or top-level keys) from a TOML file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"sweep file {str(path)!r} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"sweep file {str(path)!r} is not valid TOML: {e}") from None
        return cls.from_dict(data.get("sweep", data), source=f"sweep file {str(path)!r}")


def _key(row) -> tuple:
    return (row["loss"], row["regularizer"], row["method"], float(row["step"]), int(row["seed"]))


def _regularizer_parts(text: str) -> tuple[str | None, float]:
    if text == NO_REGULARIZER:
        return None, 0.0
    reg_registry.parse(text)  # validates
    name, _, weight = text.partition("=")
    return name.strip().lower(), float(weight)


def _initial_points(spec: SweepSpec) -> np.ndarray:
    points = []
    for seed in spec.seeds:
        u = np.asarray(jax.random.uniform(jax.random.key(seed), (2,), minval=-spec.init_radius,
                                          maxval=spec.init_radius, dtype=jnp.float64
                                          if jax.config.jax_enable_x64 else jnp.float32))
        points.append((spec.real_point + float(u[0]), float(u[1])))
    return np.asarray(points)


def _run_group(loss_name, reg_name, method_name, weights, steps_h, inits, spec, shard):
    """All (weight, h) pairs of one (loss, regularizer kind, method): one compiled
    program, vmapped over the pairs, each pair over every seed's initial point."""
    loss = loss_registry.get(loss_name)
    method = method_registry.get(method_name)

    def one(weight, h):
        regs = () if reg_name is None else (reg_registry.build(reg_name, weight),)
        game = DiracGAN(loss, real_point=spec.real_point, regularizers=regs)
        y0 = game.state(jnp.asarray(inits[:, 0]), jnp.asarray(inits[:, 1]))
        return simulate(game, method, y0, h=h, steps=spec.steps,
                        save_every=max(1, spec.steps // 200))

    weights = jnp.asarray(weights, dtype=float)
    steps_h = jnp.asarray(steps_h, dtype=float)
    if shard:
        weights, steps_h = shard_batch((weights, steps_h))
    return eqx.filter_jit(jax.vmap(one))(weights, steps_h)


def run_sweep(
    spec: SweepSpec,
    out: Path,
    *,
    shard: bool = False,
    on_group: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Run every configuration of `spec` not already in `out/results.csv`, appending
    each group's rows as soon as it finishes (and rewriting `results.json`
    atomically), so that an interrupted sweep keeps every finished row and a second
    call resumes where it stopped. Returns all rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "results.csv", out / "results.json"
    rows = read_rows(csv_path)
    _rewrite_csv(csv_path, rows)  # drops a line cut short by an interruption
    done = {_key(r) for r in rows}
    inits = _initial_points(spec)

    groups = []
    for loss_name, reg_text_kind, method_name in itertools.product(
        spec.losses, _kinds(spec.regularizers), spec.methods
    ):
        pending = [
            (text, h) for text in spec.regularizers if _kind(text) == reg_text_kind
            for h in spec.step_sizes
            if any((loss_name, text, method_name, float(h), seed) not in done for seed in spec.seeds)
        ]
        if pending:
            groups.append((loss_name, reg_text_kind, method_name, pending))

    for index, (loss_name, kind, method_name, pending) in enumerate(groups):
        weights = [_regularizer_parts(text)[1] for text, _ in pending]
        sol = _run_group(loss_name, None if kind == NO_REGULARIZER else kind, method_name,
                         weights, [h for _, h in pending], inits, spec, shard)
        new_rows = []
        for i, (text, h) in enumerate(pending):
            member = jax.tree_util.tree_map(lambda x: x[i], sol)
            for seed, point, record in zip(spec.seeds, inits, summarize(member)):
                row = {"loss": loss_name, "regularizer": text, "method": method_name,
                       "step": float(h), "seed": seed, "theta0": float(point[0]),
                       "psi0": float(point[1]), **record}
                if _key(row) not in done:
                    new_rows.append(row)
        _append_csv(csv_path, new_rows)
        rows += new_rows
        done |= {_key(r) for r in new_rows}
        write_json(json_path, {"spec": spec.to_dict(), "rows": rows})
        if on_group is not None:
            on_group(index + 1, len(groups))
    if not json_path.exists():
        write_json(json_path, {"spec": spec.to_dict(), "rows": rows})
    return rows


def _kind(text: str) -> str:
    return text if text == NO_REGULARIZER else text.partition("=")[0].strip().lower()


def _kinds(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_kind(t) for t in texts))


def _format(value) -> str:
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)


def _append_csv(path: Path, rows: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_format(row[c]) for c in COLUMNS])
        f.flush()
        os.fsync(f.fileno())


def _rewrite_csv(path: Path, rows: list[dict]) -> None:
    if not path.exists():
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    _append_csv(tmp, rows)
    if not rows:
        tmp.write_text(",".join(COLUMNS) + "\n")
    os.replace(tmp, path)


def _parse(row: dict) -> dict:
    def num(x, kind=float):
        return None if x == "" else kind(x)

    return {
        "loss": row["loss"], "regularizer": row["regularizer"], "method": row["method"],
        "step": float(row["step"]), "seed": int(row["seed"]), "theta0": float(row["theta0"]),
        "psi0": float(row["psi0"]), "status": row["status"],
        "diverged_at": num(row["diverged_at"], int), "final_distance": num(row["final_distance"]),
        "final_speed": num(row["final_speed"]), "rate": num(row["rate"]),
    }


def read_rows(path: Path) -> list[dict]:
    """The rows of a sweep's CSV; a last line cut short by an interruption is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            try:
                rows.append(_parse(raw))
            except (KeyError, TypeError, ValueError):
                continue
    return rows


def ranking(rows: list[dict]) -> list[dict]:
    """Per loss × regularizer × method: the share of runs that converged (or are
    converging), the largest step size at which every seed did, and the median rate
    over those runs; best first."""
    table = {}
    for row in rows:
        table.setdefault((row["loss"], row["regularizer"], row["method"]), []).append(row)
    ranked = []
    for (loss, reg, method), group in table.items():
        good = [r for r in group if r["status"] in ("converged", "converging")]
        by_step = {}
        for r in group:
            by_step.setdefault(r["step"], []).append(r["status"] in ("converged", "converging"))
        stable_steps = [h for h, ok in by_step.items() if all(ok)]
        rates = [r["rate"] for r in good if r["rate"] is not None]
        ranked.append({
            "loss": loss, "regularizer": reg, "method": method,
            "converged_share": len(good) / len(group),
            "largest_converging_step": max(stable_steps) if stable_steps else None,
            "median_rate": float(np.median(rates)) if rates else None,
        })
    ranked.sort(key=lambda r: (-r["converged_share"], r["median_rate"] if r["median_rate"] is not None else 2.0))
    return ranked

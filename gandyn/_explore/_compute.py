r"""What `gandyn explore` answers, from the library's compiled functions.

A request is checked by the run description every front end builds (`RunSpec`: same
bounds, same one-line messages as the command line), then becomes a hashable `Configuration`: the game, its options, loss and
regularizer *names*. Regularizer weights are kept apart and passed traced, so a
weight slider reuses one compiled program per configuration:

- `field`: the game's field `v(y) = (−∇_θ L_G, −∇_ψ L_D)` on a grid of its drawing
  plane `y = o + a·e₁ + b·e₂` (`drawing_plane`, as `portrait` draws it), projected,
  `(v·e₁, v·e₂)`, under `jit ∘ vmap`;
- `trajectories`: `simulate` from points clicked in that plane, padded to a fixed
  batch so that adding a trajectory does not recompile;
- `spectrum`: `stability_report` (the eigenvalues λ of `J = ∂v/∂y` at the
  equilibrium, the verdict at `h` and the largest stable step) and the method's
  stability region `ρ(z) < 1` around `hλ`, or its step-matrix multipliers μ;
- `bifurcation`: `continuation` of the current setting against h (the diagram of
  `gandyn bifurcation --param h`).
"""

import contextlib
import functools
import itertools
import math
import threading
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .. import games as game_registry
from .. import losses as loss_registry
from .. import methods as method_registry
from .. import regularizers as reg_registry
from .._analysis import stability_report, step_matrix
from .._planes import Plane, drawing_plane
from .._budget import release_compiled_programs
from .._simulate import Status, simulate
from .._spec import InputError, RunSpec, check_int, parse_options, parse_plane, resolve_names


# Bounds on a web request, beyond the command line's: each answer must come back fast.
MAX_STEPS = 100_000
MAX_POINTS = 16
MAX_GRID = 81
MAX_REGULARIZERS = 8
MAX_LIM = 1e6
MAX_SECONDS = 30.0
"""The most time one request's computation may take (a trajectory is stopped past it)."""
MAX_CONCURRENT = 4
"""Requests computed at once; more wait their turn (each at most `MAX_SECONDS`)."""
MAX_HEAVY = 1
"""Heavy requests (a bifurcation diagram: a continuation and a simulation per value,
not stopped midway) computed at once, in their own pool: they never hold a slot that
a field, a spectrum or a trajectory waits for."""
MAX_HEAVY_WAITING = 4
"""Heavy requests that may wait for the heavy pool; one more is answered 503 at once."""
DEFAULTS = {"game": "dirac", "loss": "sgan", "method": "simgd", "step": 0.1, "steps": 1000,
            "lim": 2.5, "grid": 41}
# Query parameters, named as the command line's options (without the dashes); besides
# these, every option the game or the method declares (`real-point`, `std`, …).
SINGLE = ("game", "loss", "method", "step", "steps", "lim", "grid", "plane")
REPEATED = ("reg", "point", "opt")


class Configuration(NamedTuple):
    """A game as the registries build it, minus the regularizer weights (traced)."""

    game: str
    options: tuple[tuple[str, object], ...]
    loss: str | None
    regularizers: tuple[str, ...]

    def build(self, weights) -> "game_registry.AbstractGame":
        """The game with regularizer weights `weights` (floats or traced arrays)."""
        options = dict(self.options)
        if self.loss is None:
            return game_registry.get(self.game, **options)
        regs = tuple(reg_registry.build(n, w) for n, w in zip(self.regularizers, weights))
        return game_registry.get(self.game, loss=loss_registry.get(self.loss), regularizers=regs,
                                 **options)


class Request(NamedTuple):
    """A checked request: the configuration, its weights and the numbers asked for."""

    configuration: Configuration
    weights: tuple[float, ...]
    method: str
    step: float
    steps: int
    points: np.ndarray  # (k, 2), in the drawing plane's coordinates
    lim: float
    grid: int
    method_options: tuple[tuple[str, object], ...] = ()
    plane: str | tuple[int, int] | None = None  # as `--plane` (`parse_plane`); None: the game's

    def build_method(self):
        return method_registry.get(self.method, **dict(self.method_options))

    def settings_text(self) -> str:
        """The settings as one line, `dirac (dim=2) · loss wgan · r1=0.3 · method altgd
        (discriminator_steps=5) · h = 0.1 · 1000 steps · plane …` (a CSV's header)."""
        def listed(pairs):
            return f" ({', '.join(f'{k}={v}' for k, v in pairs)})" if pairs else ""

        c = self.configuration
        regs = " + ".join(f"{n}={w:g}" for n, w in zip(c.regularizers, self.weights))
        parts = [f"{c.game}{listed(c.options)}", f"loss {c.loss}" if c.loss else "",
                 regs if c.loss else "", f"method {self.method}{listed(self.method_options)}",
                 f"h = {self.step:g}", f"{self.steps} steps",
                 "" if self.plane is None else f"plane {self.plane}"]
        return " · ".join(p for p in parts if p)


# --------------------------------------------------------------------------------------
# Checking a request


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InputError(f"parameter {name!r} is given {len(values)} times; give it once")
    return values[0]


def _number(text: str, kind: type):
    """`text` as an int or a float, or the text itself (which the checks then name)."""
    try:
        return kind(text)
    except ValueError:
        return text


def _declared(game: str, method: str) -> dict:
    """The options the game and the method declare, by query name (`real-point`)."""
    declared = dict(game_registry.registry.options(game))
    declared.update(method_registry.registry.options(method))
    return {name.replace("_", "-"): option for name, option in declared.items()}


def _drawable(game: str) -> bool:
    """Whether the page can draw the game: any but the network GANs (`mlp-gan`,
    `conv-gan`: family `network`), whose thousands of parameters no plane shows."""
    return game_registry.registry.family(game) != "network"


def parse(query: dict[str, list[str]]) -> Request:
    """A checked `Request` from a parsed query string; an `InputError` (one line, the
    command line's message) for anything bad. A `MODULE:FUNCTION` game is refused:
    it would run code named by the request."""
    game = _one(query, "game") or DEFAULTS["game"]
    if ":" in game:
        raise InputError(f"--game {game!r}: a user's MODULE:FUNCTION game runs code, so it is "
                         f"a command-line option only; choose from: "
                         + ", ".join(filter(_drawable, game_registry.names())))
    try:
        game = game_registry.registry.check(game)
    except ValueError as e:
        raise InputError(str(e)) from None
    if not _drawable(game):
        raise InputError(f"--game {game!r} is a network GAN (thousands of parameters), which "
                         f"the page cannot draw: train it with `gandyn train`; choose from: "
                         + ", ".join(filter(_drawable, game_registry.names())))
    method = resolve_names(method_registry.registry,
                           [m] if (m := _one(query, "method")) is not None else None,
                           [DEFAULTS["method"]])[0]
    declared = _declared(game, method)
    unknown = [k for k in query if k not in SINGLE + REPEATED and k not in declared]
    if unknown:
        raise InputError(f"unknown parameter {unknown[0]!r}; choose from: "
                         + ", ".join(SINGLE + REPEATED + tuple(declared)))
    given = {name.replace("-", "_"): _one(query, name) for name in declared if name in query}
    for name, value in parse_options(query.get("opt", [])).items():
        if name in given:
            raise InputError(f"option {name!r} is given twice")
        given[name] = value
    loss = _one(query, "loss")
    regs = query.get("reg", [])
    if len(regs) > MAX_REGULARIZERS:
        raise InputError(f"at most {MAX_REGULARIZERS} --reg are allowed, got {len(regs)}")
    spec = RunSpec(game=game, options=given, losses=(loss,) if loss is not None else (),
                   regularizers=tuple(regs), methods=(method,),
                   step=_number(_one(query, "step") or str(DEFAULTS["step"]), float),
                   steps=_number(_one(query, "steps") or str(DEFAULTS["steps"]), int),
                   default_losses=(DEFAULTS["loss"],), default_methods=(DEFAULTS["method"],),
                   max_steps=MAX_STEPS)
    configuration = Configuration(
        game, tuple(sorted(spec.game_options().items())), spec.losses[0] if spec.losses else None,
        tuple(reg_registry.registry.check(r.partition("=")[0]) for r in spec.regularizers))
    weights = tuple(float(r.partition("=")[2]) for r in spec.regularizers)
    lim = _number(_one(query, "lim") or str(DEFAULTS["lim"]), float)
    if not (isinstance(lim, float) and math.isfinite(lim) and 0 < lim <= MAX_LIM):
        raise InputError(f"--lim must be a positive finite number of at most 1e6, got {lim}")
    grid = check_int("--grid", _number(_one(query, "grid") or str(DEFAULTS["grid"]), int), 2,
                     MAX_GRID)
    plane = _one(query, "plane")
    if plane is not None:
        plane = parse_plane(plane, configuration.build(weights).coordinates())
    points = query.get("point", [])
    if len(points) > MAX_POINTS:
        raise InputError(f"at most {MAX_POINTS} --point are allowed, got {len(points)}")
    return Request(configuration, weights, method, spec.step, spec.steps,
                   np.array([_plane_point(p) for p in points], dtype=float).reshape(-1, 2),
                   lim, grid, tuple(sorted(spec.method_options(method).items())), plane)


def _plane_point(text: str) -> tuple[float, float]:
    """`"a,b"`: a point of the drawing plane, in its axes' coordinates."""
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or not all(map(math.isfinite, values)):
        raise InputError(f"malformed --point {text!r}: expected two finite numbers a,b (the "
                         f"drawing plane's coordinates)")
    if max(map(abs, values)) > 1e6:
        raise InputError(f"--point {text!r} is beyond ±1e6, where a run counts as diverged")
    return values


# --------------------------------------------------------------------------------------
# Compiled programs, one per configuration (weights, points and h traced)


def _dtype():
    return jnp.float64 if jax.config.jax_enable_x64 else jnp.float32


@functools.lru_cache(maxsize=64)
def _field_program(configuration: Configuration):
    """`(weights, points) ↦ v(points)` on flattened parameters, compiled once."""
    _, unravel = ravel_pytree(configuration.build((1.0,) * len(configuration.regularizers)).init())

    def field(weights, points):
        game = configuration.build(weights)
        one = lambda f: ravel_pytree(game.field(unravel(f), jax.random.key(0)))[0]
        return jax.vmap(one)(points)

    return jax.jit(field)


_SERIES = ("ts", "steps", "ys", "generator_loss", "discriminator_loss", "speed", "distance",
           "status", "diverged_at", "rate")


@functools.lru_cache(maxsize=64)
def _unravel_program(configuration: Configuration):
    """Flattened parameters `(k, n)` → a batch of the game's states, compiled once."""
    _, unravel = ravel_pytree(configuration.build((1.0,) * len(configuration.regularizers)).init())
    return jax.jit(jax.vmap(unravel))


def _run(configuration: Configuration, weights, method, points, h: float, steps: int, ticket):
    """`simulate` on a batch of `MAX_POINTS` starts, in compiled chunks with the
    request's budget checked between them (`_check_budget`). The weights, h, the step
    count, the starts and a chunk's bounds are traced values of one compiled program per
    configuration and method (`simulate` runs a traced number of steps into saves padded
    to a bucket); the programs hold no host callback, so they are kept across runs."""
    dtype = _dtype()
    game = configuration.build(tuple(jnp.asarray(w, dtype) for w in weights))
    return simulate(game, method, _unravel_program(configuration)(jnp.asarray(points, dtype)),
                    h=jnp.asarray(h, dtype), steps=steps,
                    progress=functools.partial(_check_budget, ticket))


@functools.lru_cache(maxsize=256)
def _plane(configuration: Configuration, weights: tuple[float, ...], choice=None) -> Plane:
    """The drawing plane `choice` (`drawing_plane`), an eigenplane's signs fixed as
    `portrait` fixes them."""
    from .._planes import oriented_plane

    return oriented_plane(drawing_plane(configuration.build(weights), choice))


@functools.lru_cache(maxsize=256)
def _report(configuration: Configuration, weights: tuple[float, ...], method: str,
            method_options: tuple, step: float):
    # The weights as arrays: traced by the compiled Jacobians, not a compile each.
    game = configuration.build(tuple(np.asarray(w, _dtype()) for w in weights))
    return stability_report(game, {method: method_registry.get(method, **dict(method_options))},
                            step)


def _shift(plane: Plane) -> np.ndarray:
    """A coordinate plane is drawn in the coordinates' own values; an eigenplane in
    offsets from its origin (as `portrait` draws them)."""
    if plane.kind in ("full", "coordinates"):
        return np.array([plane.origin @ plane.e1, plane.origin @ plane.e2])
    return np.zeros(2)


def _to_plane(plane: Plane, flat: np.ndarray) -> np.ndarray:
    """Flattened parameters `(..., n)` → drawn plane coordinates `(..., 2)`."""
    a, b = plane.project(np.asarray(flat, dtype=float))
    return np.stack([a, b], axis=-1) + _shift(plane)


def _from_plane(plane: Plane, points: np.ndarray) -> np.ndarray:
    """Drawn plane coordinates `(k, 2)` → flattened parameters `(k, n)`."""
    d = np.asarray(points, dtype=float) - _shift(plane)
    return plane.lift(d[:, 0], d[:, 1])


def _finite(values) -> list:
    """A JSON-ready list: NaN and ±inf as `None`."""
    flat = np.asarray(values, dtype=float).ravel().tolist()
    return [v if math.isfinite(v) else None for v in flat]


def _axis_labels(game, plane: Plane) -> list[str]:
    roles = {"θ": "θ (generator)", "ψ": "ψ (discriminator)"}
    labels = [roles.get(label, label) for label in plane.labels]
    if plane.kind not in ("full", "coordinates"):  # say what each axis is made of
        from .._planes import axis_components

        names = game.coordinates()
        labels = [f"{label} = {axis_components(names, vector)}"
                  for label, vector in zip(plane.labels, (plane.e1, plane.e2))]
    return labels


# --------------------------------------------------------------------------------------
# The answers


class OverBudget(Exception):
    """A request whose computation ran past its time budget (answered 503), or whose
    client went away (`cancelled`: answered nothing)."""

    def __init__(self, message: str, cancelled: bool = False):
        super().__init__(message)
        self.cancelled = cancelled


_request = threading.local()  # the ticket of the request this (handler) thread computes
_budgets: dict[int, "_Budget"] = {}  # every request computing now, by ticket
_tickets = itertools.count(1)


class _Budget:
    """A request's time budget, counted from the end of its run's first chunk
    (compiling is not counted), and optionally a test of whether its client is gone."""

    def __init__(self, seconds: float, gone=None):
        self.seconds, self.gone, self.deadline = seconds, gone, None
        self.reason: OverBudget | None = None


def _check_budget(ticket: int, steps_done: int) -> None:
    """`simulate`'s `progress`, called on the host between compiled chunks of the
    request `ticket`'s run: stop it, by raising, once it is past its deadline (counted
    from its first call) or its client has gone."""
    budget = _budgets.get(ticket)
    if budget is None:
        return
    now = time.monotonic()
    if budget.deadline is None:
        budget.deadline = now + budget.seconds
    if budget.gone is not None and budget.gone():
        budget.reason = OverBudget("the client closed the connection", cancelled=True)
    elif now > budget.deadline:
        budget.reason = OverBudget(
            f"the computation took longer than the {budget.seconds:g} s one request may use "
            f"(stopped after {int(steps_done):,} steps); ask for fewer steps or points, or a "
            f"cheaper method")
    if budget.reason is not None:
        raise budget.reason


class Explorer:
    """The server's computations. Several requests compute at once (`slots`); each is
    bounded: a trajectory's run is stopped past `seconds` (an `OverBudget` error) or
    when `gone()` says its client has left, checked between compiled chunks of steps
    (each about `_simulate.CHUNK_SECONDS` of computing);
    a field or a spectrum is one bounded evaluation (at most `MAX_GRID²` points, a
    game of at most 64-dimensional players). No request holds a lock that others
    wait on for longer than its own budget."""

    def __init__(self, *, seconds: float = MAX_SECONDS, slots: int = MAX_CONCURRENT,
                 heavy: int = MAX_HEAVY):
        self.seconds = seconds
        self.lock = threading.BoundedSemaphore(slots)
        self.heavy = threading.BoundedSemaphore(heavy)
        self.heavy_waiting = threading.BoundedSemaphore(heavy + MAX_HEAVY_WAITING)

    @contextlib.contextmanager
    def heavy_slot(self):
        """A slot of the heavy pool, waited for while the request's client is there: a
        request whose client left while it waited (or left before it starts) is
        dropped (`OverBudget`, cancelled), never computed; past `MAX_HEAVY_WAITING`
        waiting, a 503 at once."""
        budget = _budgets.get(getattr(_request, "ticket", 0))
        gone = budget.gone if budget is not None and budget.gone is not None else lambda: False
        if not self.heavy_waiting.acquire(blocking=False):
            raise OverBudget(f"{MAX_HEAVY_WAITING} bifurcation diagrams are already waiting to "
                             f"be computed; ask again once they are done")
        try:
            while not self.heavy.acquire(timeout=0.25):
                if gone():
                    raise OverBudget("the client closed the connection", cancelled=True)
            try:
                if gone():
                    raise OverBudget("the client closed the connection", cancelled=True)
                yield
            finally:
                self.heavy.release()
        finally:
            self.heavy_waiting.release()

    @contextlib.contextmanager
    def budget(self, gone=None):
        """The current thread's request, bounded by `self.seconds` (and `gone`)."""
        ticket = next(_tickets)
        budget = _budgets[ticket] = _Budget(self.seconds, gone)
        _request.ticket = ticket
        try:
            yield budget
        except Exception as e:  # noqa: BLE001 - a stop's reason, however it arrives
            if budget.reason is not None:
                raise budget.reason from None
            raise e
        finally:
            _request.ticket = 0
            del _budgets[ticket]
            if not _budgets:  # no request computing: a safe moment to drop old programs
                release_compiled_programs()

    def field(self, request: Request) -> dict:
        """The field on a `grid × grid` lattice of the drawing plane, `±lim` around its
        origin: projected components `u = v·e₁`, `w = v·e₂`, `‖v‖` (full), and the
        equilibrium's position."""
        with self.lock:
            configuration, weights = request.configuration, request.weights
            plane = _plane(configuration, weights, request.plane)
            game = configuration.build(weights)
            shift = _shift(plane)
            axis = np.linspace(-request.lim, request.lim, request.grid)
            a, b = np.meshgrid(axis, axis)
            points = plane.lift(a.ravel(), b.ravel()).astype(_dtype())
            v = np.asarray(_field_program(configuration)(jnp.asarray(weights, _dtype()), points),
                           dtype=float)
            equilibrium = game.equilibrium()
            star = None if equilibrium is None else _finite(
                _to_plane(plane, ravel_pytree(equilibrium)[0]))
            n = request.grid
            return {
                "x": _finite(axis + shift[0]), "y": _finite(axis + shift[1]),
                "u": _finite(v @ plane.e1), "w": _finite(v @ plane.e2),
                "speed": _finite(np.linalg.norm(v, axis=1)), "n": n,
                "labels": _axis_labels(game, plane), "kind": plane.kind,
                "coordinates": list(game.coordinates()), "equilibrium": star,
                "origin": _finite(shift),
                "default_start": _finite(_to_plane(plane, ravel_pytree(game.init())[0])),
            }

    def solve(self, request: Request) -> tuple[dict, Plane, object]:
        """`simulate` from the request's points (padded to `MAX_POINTS` with copies of
        the first, which are dropped again)."""
        if not len(request.points):
            raise InputError("no --point given: give at least one start a,b in the plane")
        configuration, weights = request.configuration, request.weights
        plane = _plane(configuration, weights, request.plane)
        flat = _from_plane(plane, request.points)
        padded = np.concatenate([flat, np.repeat(flat[:1], MAX_POINTS - len(flat), axis=0)])
        solution = _run(configuration, weights, request.build_method(), padded, request.step,
                        request.steps, getattr(_request, "ticket", 0))
        solution = {name: getattr(solution, name) for name in _SERIES}
        keep = len(flat)
        solution = {k: v if k in ("ts", "steps") else
                    jax.tree_util.tree_map(lambda x: np.asarray(x)[:keep], v)
                    for k, v in solution.items()}
        return _Trajectories(**solution), plane, configuration.build(weights)

    def trajectories(self, request: Request) -> dict:
        """Each trajectory's status, divergence step, rate, its path in the drawing plane
        and its series: distance to equilibrium, both losses, `‖v‖`; and the method's
        `turns()` (the players' moves within a step, for a method that alternates); and
        trajectory 1's parameters by name at each saved step (`first`: `names`, the
        count of the generator's, `values` per parameter), which the data space draws."""
        with self.lock:
            solution, plane, game = self.solve(request)
            flat = _flatten(solution.ys)
            paths = _to_plane(plane, flat)
            rows = []
            for i, start in enumerate(request.points):
                rows.append({
                    "start": _finite(start),
                    "status": Status(int(solution.status[i])).label,
                    "diverged_at": int(solution.diverged_at[i]) if solution.diverged_at[i] >= 0
                    else None,
                    "rate": _finite([solution.rate[i]])[0],
                    "path": [_finite(paths[i, :, 0]), _finite(paths[i, :, 1])],
                    "distance": _finite(solution.distance[i]),
                    "generator_loss": _finite(solution.generator_loss[i]),
                    "discriminator_loss": _finite(solution.discriminator_loss[i]),
                    "speed": _finite(solution.speed[i]),
                })
            turns = request.build_method().turns()
            generator = getattr(solution.ys, "generator", None)
            leaves = [] if generator is None else jax.tree_util.tree_leaves(generator)
            first = {"names": list(game.coordinates()),
                     "generator": None if generator is None else sum(
                         int(np.prod(np.shape(x)[2:])) for x in leaves),
                     "values": [_finite(flat[0, :, k]) for k in range(flat.shape[-1])]}
            return {"steps": np.asarray(solution.steps).tolist(), "trajectories": rows,
                    "turns": None if turns is None else [list(t) for t in turns], "first": first}

    def csv(self, request: Request) -> str:
        """The trajectories as CSV: one row per trajectory and saved step, with the
        game's parameters by name, after a first line `# gandyn explore: SETTINGS` (so
        that the file says what it holds; `pandas.read_csv(…, comment="#")`)."""
        with self.lock:
            solution, _, game = self.solve(request)
            flat = _flatten(solution.ys)
            names = list(game.coordinates())
            lines = [f"# gandyn explore: {request.settings_text()}"]
            lines += [",".join(["trajectory", "start_a", "start_b", "status", "step", "t", *names,
                               "distance", "generator_loss", "discriminator_loss", "speed"])]
            steps, ts = np.asarray(solution.steps), np.asarray(solution.ts, dtype=float)
            for i, start in enumerate(request.points):
                status = Status(int(solution.status[i])).label
                for k in range(len(steps)):
                    numbers = [*flat[i, k], solution.distance[i, k], solution.generator_loss[i, k],
                               solution.discriminator_loss[i, k], solution.speed[i, k]]
                    lines.append(",".join([str(i), f"{start[0]:g}", f"{start[1]:g}", status,
                                           str(steps[k]), f"{ts[k]:.6g}",
                                           *(f"{float(x):.9g}" for x in numbers)]))
            return "\n".join(lines) + "\n"

    def spectrum(self, request: Request) -> dict:
        """The eigenvalues λ of J at the equilibrium, `hλ`, the verdict and growth per
        step at `h`, the largest stable step (`stability_report`), and what to draw
        them on: the region `ρ(z) < 1` on a grid of the z-plane, or, for a method with
        no scalar stability function, the step matrix's multipliers μ and |μ| < 1."""
        with self.lock:
            configuration, weights = request.configuration, request.weights
            game = configuration.build(weights)
            method = request.build_method()
            if not method.linear_analysis():
                return {"available": False, "reason": f"{request.method} has no local linear "
                        "analysis (its update depends on a step counter or a nonlinear state)"}
            if game.equilibrium() is None:
                return {"available": False, "reason": f"{configuration.game} knows no "
                        "equilibrium in closed form: no spectrum to draw"}
            try:
                report = _report(configuration, weights, request.method, request.method_options,
                                 request.step)
            except ValueError as e:  # a second-order method's solve broke down: said, not a 500
                return {"available": False, "reason": " ".join(str(e).split())}
            row = report["methods"][request.method]
            eig = np.array([complex(*e) for e in report["eigenvalues"]])
            z = request.step * eig
            answer = {"available": True, "eigenvalues": report["eigenvalues"],
                      "scaled": [[float(x.real), float(x.imag)] for x in z], **row}
            rho = method.stability_function()
            if rho is not None:
                extent = max(3.5, 1.2 * float(np.max(np.abs(z), initial=0)))
                n = 201
                axis = np.linspace(-extent, extent, n)
                zr, zi = np.meshgrid(axis, axis)
                inside = rho(zr + 1j * zi) < 1
                answer.update(kind="region", extent=extent, n=n,
                              region="".join("1" if x else "0" for x in inside.ravel()),
                              growth=_finite(rho(z)))
                reach = float(np.max(np.abs(z), initial=0))
                if 0 < reach and 1.5 * reach < extent / 4:  # the spectrum's crosses overlap: a zoom
                    zoom = 1.5 * reach
                    axis = np.linspace(-zoom, zoom, n)
                    zr, zi = np.meshgrid(axis, axis)
                    answer.update(zoom_extent=zoom, zoom_region="".join(
                        "1" if x else "0" for x in (rho(zr + 1j * zi) < 1).ravel()))
            else:
                dtype = _dtype()
                y = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), game.equilibrium())
                mu = np.linalg.eigvals(np.asarray(step_matrix(game, method, y, request.step),
                                                  dtype=float))
                answer.update(kind="multipliers",
                              multipliers=[[float(m.real), float(m.imag)] for m in mu],
                              growth=_finite(np.abs(mu)))
            return answer


    def bifurcation(self, request: Request) -> dict:
        """The current setting against the step size: `continuation` over
        `BIFURCATION_POINTS` values of h from h/4 to 4h, the attractor simulated for
        `min(steps, 2000)` steps and recorded for 200: `bifurcation.json`'s content."""
        from .._analysis import _breakdown_named
        from .._bifurcation import check_step_method, continuation
        from .._io import jsonable

        method = request.build_method()
        check_step_method(request.method, method, "method")
        with self.heavy_slot():
            game = request.configuration.build(request.weights)
            values = np.linspace(request.step / 4, 4 * request.step, BIFURCATION_POINTS)
            with _breakdown_named(request.method, game):
                result = continuation(game, method, "h", values,
                                      transient=min(request.steps, 2000), record=200,
                                      require_equilibrium=False)
            return jsonable(result.to_json())


BIFURCATION_POINTS = 24


class _Trajectories(NamedTuple):
    """What the page is sent of a `Solution`, the padding dropped."""

    ts: np.ndarray
    steps: np.ndarray
    ys: object
    generator_loss: np.ndarray
    discriminator_loss: np.ndarray
    speed: np.ndarray
    distance: np.ndarray
    status: np.ndarray
    diverged_at: np.ndarray
    rate: np.ndarray


def _flatten(ys) -> np.ndarray:
    """Saved states `(k, saves, …)` → `(k, saves, n)` flattened parameters."""
    leaves = [np.asarray(x, dtype=float) for x in jax.tree_util.tree_leaves(ys)]
    k, saves = leaves[0].shape[:2]
    return np.concatenate([x.reshape(k, saves, -1) for x in leaves], axis=-1)


def options() -> dict:
    """Everything the page offers, from the registries: games with their options,
    losses, methods (whether each has a local analysis), regularizers; the bounds and
    defaults; the status codes with the colours the figures use."""
    def described(registry, name):
        return [{**option.describe(), "name": option.name.replace("_", "-")}
                for option in registry.options(name).values()]

    def game(name):
        return {"name": name, "description": game_registry.describe(name),
                "gan": game_registry.takes_loss(name),
                "options": described(game_registry.registry, name)}

    def entries(registry, describe, **extra):
        return [{"name": n, "description": describe(n), **{k: f(n) for k, f in extra.items()}}
                for n in registry.expanded()]

    return {
        "games": [game(n) for n in game_registry.names() if _drawable(n)],
        "losses": entries(loss_registry.registry, loss_registry.registry.describe),
        "methods": entries(method_registry.registry, method_registry.describe,
                           analysis=lambda n: method_registry.get(n).linear_analysis(),
                           options=lambda n: described(method_registry.registry, n),
                           group=_method_group),
        "regularizers": entries(reg_registry.registry, reg_registry.describe),
        "statuses": [{"name": s.label, "colour": colour, "dash": _DASHES[s]}
                     for s, colour in _colours().items()],
        "defaults": DEFAULTS,
        "limits": {"steps": MAX_STEPS, "points": MAX_POINTS, "grid": MAX_GRID,
                   "regularizers": MAX_REGULARIZERS, "lim": MAX_LIM},
    }


@functools.cache
def _colours() -> dict[Status, str]:
    """Each status in the colour `portrait` draws it in (`#rrggbb`; the palette is
    matplotlib-free, so the page's first request imports no plotting)."""
    from .._palette import STATUS_STYLE

    return {s: c.lower() for s, (c, _, _) in STATUS_STYLE.items()}


# Each status's line on the page's canvases (`setLineDash`, px), as `portrait` draws it.
_DASHES = {Status.CONVERGED: [], Status.CONVERGING: [7, 2], Status.CYCLING: [5, 2, 1, 2],
           Status.DIVERGING: [5, 4], Status.DIVERGED: [1.5, 3], Status.STALLED: [1.5, 1.5],
           Status.MAX_STEPS: [6, 2, 1, 2, 1, 2]}


def _method_group(name: str) -> str:
    """The page's grouping of methods: the family each declares (`gd.methods.FAMILIES`;
    "other" for one that declares none)."""
    return method_registry.registry.family(name) or "other"

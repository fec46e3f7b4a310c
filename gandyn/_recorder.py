r"""The flight recorder: a game's local dynamics at every log point of a training run.

At a log point, for every seed at once (`vmap`), on one evaluation minibatch fixed for
the whole run (so that log points compare the dynamics, not the minibatch noise):

- `max_re_eig_J`, `max_im_eig_J`: the largest real and imaginary parts among the Ritz
  values of the game Jacobian `J = ∂v/∂y` after `m` Arnoldi steps on Jacobian-vector
  products (`_eigs.krylov_matrix`, gandyn's one Arnoldi). A positive real part: the point repels
  along that direction; a large imaginary part: the field rotates there. Exact when
  `m` is the number of parameters; for fewer, the extremes of the Krylov space (Arnoldi
  finds the outermost eigenvalues first).
- `hamiltonian`: `½‖v‖²` (Balduzzi et al. 2018, arXiv 1802.05642; Mescheder et al.
  2017, arXiv 1705.10461), zero exactly at stationary points.
- `min_eig_hessian_G/D`, `max_eig_hessian_G/D`: the extreme eigenvalues of each
  player's Hessian of its own loss, `∇²_x L₁` and `∇²_y L₂` (a negative smallest one:
  the player is not at a local minimum of its loss), and the spectral density of each
  Hessian by stochastic Lanczos quadrature (Golub & Meurant 1994; Ubaru, Chen & Saad
  2017, SIAM J. Matrix Anal. Appl. 38(4); Ghorbani, Krishnan & Xiao 2019,
  arXiv 1901.10159): `p` Rademacher probes `u`, `m` Lanczos steps from each
  (the same Arnoldi, fully reorthogonalised: on a symmetric operator the Lanczos
  process, and unlike a symmetrised tridiagonalisation it shows where the Krylov space
  breaks down, as ReLU networks' Hessians with exact null directions make it), the
  tridiagonal
  `T = S diag(θ) Sᵀ` gives nodes `θ_j` with weights `S₁ⱼ²/p`; `Σ_j w_j f(θ_j)`
  estimates `tr f(H)/n` (exactly in expectation for polynomials of degree < 2m).
  The extremes are those of the Ritz values (exact when `m` is the player's size).
- `path_cosine`: the cosine between the update actually taken since the previous
  recorded point and the field there, `⟨y_t − y_s, v(y_s)⟩ / (‖y_t − y_s‖ ‖v(y_s)‖)`:
  Berard et al.'s path-angle (arXiv 1906.04848) at `α = 0` of the segment the run
  travelled. 1 for an infinitesimal step of gradient play; near 0 when the run
  rotates around the field's direction.

The rotation share (`rotation_share`, Hutchinson) is logged by `train` itself
(`rotation_probes`); TensorBoard shows it as `dynamics/rotation_share`.

`gandyn train` and training sweeps record by default, at every k-th log point and the
last, k from a cost model in training steps (`default_every`: at most 25 % of the run's
steps; never from timings); `gandyn.train` records only when given a `Recorder`.

Signs as in `gandyn.landscape`: `v = −(∇_x L₁, ∇_y L₂)`, a stable point has every
eigenvalue of J in the closed left half-plane.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._eigs import krylov_matrix
from ._games import AbstractGame, Players

PREFIX = "dynamics/"
SCALARS = ("max_re_eig_J", "max_im_eig_J", "hamiltonian", "min_eig_hessian_G",
           "max_eig_hessian_G", "min_eig_hessian_D", "max_eig_hessian_D", "path_cosine")
"""What the recorder adds to a log row, each under `dynamics/` (e.g. `dynamics/max_re_eig_J`)."""
PLAYERS = {"G": "generator", "D": "discriminator"}


@dataclasses.dataclass(frozen=True)
class Recorder:
    """How `train` records the dynamics: at every `every`-th log point (and the last),
    on a fixed evaluation minibatch of `samples` (None: the game's own batch size, as
    for a game without one), with `krylov` Arnoldi / Lanczos steps (at most the
    operator's size) and `probes` stochastic-Lanczos probes per player."""

    every: int = 1
    samples: int | None = None
    krylov: int = 20
    probes: int = 1

    def __post_init__(self):
        for name in ("every", "samples", "krylov", "probes"):
            value = getattr(self, name)
            if name == "samples" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Recorder {name} must be a positive integer, got {value!r}")

    def records(self, step: int, log_every: int, steps: int) -> bool:
        """Whether the log point at `step` is recorded: every `every`-th, and the last."""
        return step % (log_every * self.every) == 0 or step >= steps


BUDGET = 0.25
"""The share of a run's training that the recorder may cost when it is on by default
(issue 36)."""

PRODUCT_COST = 2.5
"""One of the recorder's products (a Jacobian- or Hessian-vector product of the field
on its minibatch, or a field evaluation) in training steps (one Adam step, a gradient
of both players) at the same batch size. Measured per recorded point at the defaults,
warm: 1.5–2.0 at ring-8, 1.2 at digits, 0.8 at mnist5k (benchmarks/README.md,
`recorder_cost.py --per-point`); rounded up so that the model errs on the side of
recording less. A constant, not a timing: the cadence must not depend on the machine."""


def products(recorder: Recorder) -> int:
    """The products one recorded point costs per seed, at most: `krylov` Arnoldi steps
    on J, `probes × krylov` Lanczos steps on each player's Hessian, and four field-sized
    evaluations (the two linearisations, the Hessians' and the path cosine's field)."""
    return recorder.krylov * (1 + 2 * recorder.probes) + 4


def recorded_points(every: int, log_every: int, steps: int) -> int:
    """How many log points of a `steps`-step run logged every `log_every` steps the
    recorder records at every `every`-th (0: none): the multiples of `every × log_every`
    from 0, and the last."""
    if not every:
        return 0
    stride = every * log_every
    return steps // stride + 1 + (steps % stride != 0)


def point_cost(recorder: Recorder, batch: int) -> float:
    """One recorded point's cost in training steps at `batch` (the cost model of
    `default_every`): `products × PRODUCT_COST × max(1, samples / batch)` (a smaller
    minibatch than the batch counted as the batch: a small product's fixed costs
    dominate it)."""
    samples = batch if recorder.samples is None else recorder.samples
    return products(recorder) * PRODUCT_COST * max(1.0, samples / batch)


def recorder_cost(recorder: Recorder, every: int, *, log_every: int, steps: int,
                  batch: int) -> float:
    """The recorder's modelled cost over a run as a share of its training:
    `recorded_points × point_cost / steps`."""
    return recorded_points(every, log_every, steps) * point_cost(recorder, batch) / steps


def default_every(*, log_every: int, steps: int, batch: int, recorder: Recorder = Recorder(),
                  budget: float = BUDGET, at_least_once: bool = False) -> int:
    """The recorder's default cadence: the smallest `k` (record every `k`-th log point,
    and the last) whose modelled cost over the run (`recorder_cost`, in training steps,
    never wall-clock time: the same settings give the same cadence on every machine) is
    at most `budget` of the run's training. 0 (off) when even the first and the last log
    points cost more (a short run), unless `at_least_once`: then those two (`k` the
    number of log intervals)."""
    intervals = -(-steps // log_every)
    most = int(budget * steps / point_cost(recorder, batch))  # the points it may record
    if most >= 2:
        # `k` records more than steps / (k log_every) points and at most 2 more: the
        # smallest fitting `k` lies in this range (a few values, for long runs or short).
        low = max(1, steps // (log_every * most))
        high = intervals if most == 2 else min(intervals, -(-steps // (log_every * (most - 2))))
        for every in range(low, high + 1):
            if recorded_points(every, log_every, steps) <= most:
                return every
    return intervals if at_least_once else 0


def evaluation_game(game: AbstractGame, samples: int | None) -> AbstractGame:
    """`game` with a minibatch of `samples` (None, or a game without a `batch_size`:
    as it is)."""
    if samples is None or getattr(game, "batch_size", None) in (None, samples):
        return game
    return dataclasses.replace(game, batch_size=samples)


def _flat(tree) -> jax.Array:
    return ravel_pytree(tree)[0]


def _hessian_tridiagonals(game, y, key, starts, m, player):
    """The `m × m` Lanczos tridiagonals of `player`'s Hessian of its own loss at `y`
    (as Arnoldi's Hessenberg matrices, tridiagonal up to rounding until a breakdown),
    one per start vector (`starts`, vmapped), from Hessian-vector products (the JVP of
    minus its part of the field, linearised once)."""
    part = getattr(y, player)
    flat, unravel = ravel_pytree(part)
    if player == "generator":
        gradient = lambda f: -_flat(game.generator_field(  # noqa: E731
            Players(unravel(f), y.discriminator), key))
    else:
        gradient = lambda f: -_flat(game.discriminator_field(  # noqa: E731
            Players(y.generator, unravel(f)), key))
    _, hvp = jax.linearize(gradient, flat)
    return jax.vmap(lambda u: krylov_matrix(hvp, u.astype(flat.dtype), m))(starts)


def _one(game, y, y_prev, key, probe_key, sizes, probes):
    flat, unravel = ravel_pytree(y)
    field = lambda f: _flat(game.field(unravel(f), key))  # noqa: E731
    v, jvp = jax.linearize(field, flat)
    m_game, m_generator, m_discriminator = sizes
    start = jax.random.normal(jax.random.fold_in(probe_key, 0), flat.shape, flat.dtype)
    hessenberg = krylov_matrix(jvp, start, m_game)
    tridiagonals = {}
    players = (("generator", m_generator), ("discriminator", m_discriminator))
    for i, (name, m) in enumerate(players):
        n = _flat(getattr(y, name)).size
        starts = jax.random.rademacher(jax.random.fold_in(probe_key, i + 1), (probes, n),
                                       flat.dtype)
        tridiagonals[name] = _hessian_tridiagonals(game, y, key, starts, m, name)
    v_prev = _flat(game.field(y_prev, key))
    step = flat - _flat(y_prev)
    scale = jnp.linalg.norm(step) * jnp.linalg.norm(v_prev)
    cosine = jnp.where(scale > 0, step @ v_prev / jnp.where(scale > 0, scale, 1), jnp.nan)
    return {"hessenberg": hessenberg, "generator": tridiagonals["generator"],
            "discriminator": tridiagonals["discriminator"], "hamiltonian": 0.5 * v @ v,
            "path_cosine": cosine}


@eqx.filter_jit
def _program(game, y, y_prev, key, probe_key, sizes, probes):
    """Every seed's Krylov matrices, `½‖v‖²` and path cosine: one compiled program per
    game structure and recorder, reused at every log point."""
    return jax.vmap(lambda a, b: _one(game, a, b, key, probe_key, sizes, probes))(y, y_prev)


def _leading_block(matrix: np.ndarray, eps: float) -> np.ndarray:
    """The leading block of a Hessenberg / tridiagonal matrix before the Krylov space
    broke down (an invariant subspace: a zero, tiny or non-finite subdiagonal entry,
    after which the entries are those of rounding noise). Its eigenvalues are exact
    eigenvalues. `eps`: the machine epsilon of the precision it was computed in."""
    n = matrix.shape[0]
    scale = float(np.max(np.abs(np.nan_to_num(matrix[:2, :1]))))
    for i in range(1, n):
        sub = matrix[i, i - 1]
        if not np.isfinite(sub) or abs(sub) <= 10 * n * eps * scale:
            return matrix[:i, :i]
        scale = max(scale, float(np.max(np.abs(matrix[:i + 1, :i + 1]))))
    return matrix


def _quadrature(tridiagonals: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic Lanczos quadrature: the nodes (Ritz values) of every probe's
    tridiagonal and their weights `S₁ⱼ²/p`, concatenated (the weights sum to 1)."""
    nodes, weights = [], []
    for t in tridiagonals:
        block = _leading_block(np.asarray(t, dtype=np.float64), eps)
        if not np.all(np.isfinite(block)):
            return np.array([]), np.array([])
        theta, vectors = np.linalg.eigh(0.5 * (block + block.T))
        nodes.append(theta)
        weights.append(vectors[0] ** 2 / len(tridiagonals))
    return np.concatenate(nodes), np.concatenate(weights)


def _number(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def record(game: AbstractGame, y: Players, y_prev: Players | None, key, probe_key,
           recorder: Recorder = Recorder()) -> tuple[list[dict], dict]:
    """The recorded dynamics of every seed of `y` (a leading seed axis) on the
    minibatch `key` draws (`recorder.samples` of them), the probes from `probe_key`,
    the path cosine from `y_prev` (None: not recorded). Returns `(rows, densities)`:
    per seed a dict of `dynamics/…` numbers (None where not finite), and
    `{"G" | "D": {"nodes": [[…] per seed], "weights": [[…] per seed]}}`."""
    game = evaluation_game(game, recorder.samples)
    one = jax.tree_util.tree_map(lambda x: x[0], y)
    sizes = (min(recorder.krylov, _flat(one).size),
             min(recorder.krylov, _flat(one.generator).size),
             min(recorder.krylov, _flat(one.discriminator).size))
    out = _program(game, y, y if y_prev is None else y_prev, key, probe_key, sizes,
                   recorder.probes)
    out = jax.tree_util.tree_map(np.asarray, out)
    eps = float(np.finfo(out["hessenberg"].dtype).eps)
    rows, densities = [], {p: {"nodes": [], "weights": []} for p in PLAYERS}
    for s in range(len(out["hamiltonian"])):
        row = dict.fromkeys(PREFIX + k for k in SCALARS)
        block = _leading_block(out["hessenberg"][s].astype(np.float64), eps)
        if np.all(np.isfinite(block)):
            eigenvalues = np.linalg.eigvals(block)
            row[PREFIX + "max_re_eig_J"] = _number(np.max(eigenvalues.real))
            row[PREFIX + "max_im_eig_J"] = _number(np.max(eigenvalues.imag))
        row[PREFIX + "hamiltonian"] = _number(out["hamiltonian"][s])
        if y_prev is not None:
            row[PREFIX + "path_cosine"] = _number(out["path_cosine"][s])
        for short, player in PLAYERS.items():
            nodes, weights = _quadrature(out[player][s], eps)
            if nodes.size:
                row[PREFIX + f"min_eig_hessian_{short}"] = _number(nodes.min())
                row[PREFIX + f"max_eig_hessian_{short}"] = _number(nodes.max())
            densities[short]["nodes"].append([float(x) for x in nodes])
            densities[short]["weights"].append([float(x) for x in weights])
        rows.append(row)
    return rows, densities


def density_on_grid(nodes, weights, edges: np.ndarray) -> np.ndarray:
    """The SLQ density as a histogram over `edges` (weights summed per bin; nodes
    outside go to the nearest end bin), normalised to a probability per bin."""
    nodes, weights = np.asarray(nodes, float), np.asarray(weights, float)
    if not nodes.size:
        return np.full(len(edges) - 1, np.nan)
    index = np.clip(np.searchsorted(edges, nodes, side="right") - 1, 0, len(edges) - 2)
    return np.bincount(index, weights=weights, minlength=len(edges) - 1)

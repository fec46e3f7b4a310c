r"""The optimization landscape of a game between two points and at one point
(Berard et al. 2020, "A Closer Look at the Optimization Landscapes of Generative
Adversarial Networks", arXiv 1906.04848; their code: facebookresearch/
GAN-optimization-landscape, `plot_path_tools.py`).

- `path_angle`: along the segment `y(α) = (1 − α)y₁ + αy₂`, the cosine between the
  field `v(y(α))` and `y₂ − y₁`, and `‖v‖`. Descent on a potential gives a cosine of
  ±1 with a sign change at the minimum; a rotation around a stationary point gives a
  cosine near 0 there and a bump of `‖v‖` that does not reach 0.
- `top_spectrum`: the `k` eigenvalues of largest magnitude of the game Jacobian
  `J = ∂v/∂y` or of a player's Hessian `∇²_x L₁`, `∇²_y L₂`, by restarted Arnoldi /
  Lanczos (ARPACK through scipy) over Jacobian- and Hessian-vector products: no
  matrix is formed (`_eigs.arpack`). (`gandyn.top_eigenvalues` is the fixed-size,
  in-jit Arnoldi of the same module that the training log uses; this one iterates to
  convergence.)
- `rotation_share`: Hutchinson's estimate of `‖A‖²_F/‖J‖²_F = (1 − tr(J²)/‖J‖²_F)/2`,
  the share of the antisymmetric (rotational) part of J, with its standard error.
- `FixedSamples`: a network GAN on `n` fixed samples (real data and latent draws chosen
  once), evaluated in chunks, so that every instrument sees the field of a fixed
  sample set larger than a minibatch: Berard et al. use 10,000 samples for the
  mixture of Gaussians, 5,000 MNIST images for the path-angle and 1,000 for the
  eigenvalues (`landscape(..., path_samples=, eigen_samples=)`).

Sign convention: gandyn's field is `v = −(∇_x L₁, ∇_y L₂)`, so a locally stable point
has every eigenvalue of J with a non-positive real part. Berard et al. take the
Jacobian of the gradient `(∇_x L₁, ∇_y L₂)`, i.e. `−J`: their stable points have
eigenvalues with non-negative real parts.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._custom_types import Key
from ._eigs import arpack
from ._games import AbstractGame, Players
from ._program_cache import arrays, kept

# --------------------------------------------------------------------------------------
# The field on a fixed sample set


def _divisor_at_most(n: int, chunk: int) -> int:
    """The largest divisor of `n` that is at most `chunk` (equal chunks, one mean)."""
    return next(d for d in range(min(n, chunk), 0, -1) if n % d == 0)


class FixedSamples(AbstractGame):
    r"""`game` (a network GAN, `MLPGAN` or `ConvGAN`) on a fixed sample set: `real`,
    `n` real samples chosen once, and `n` latent draws fixed by `key`, split into
    `n/chunk` equal chunks. Its losses are the means over the chunks of `game`'s
    losses on each chunk,

        L(θ, ψ) = (1/m) Σ_c L(θ, ψ; x_c, z_c),

    which, for a loss and penalties that are means over samples (NS-GAN, WGAN, their
    gradient penalties), are the losses on all `n` samples at once; a loss of batch
    statistics (a relativistic average) sees chunks. The key a caller passes is
    ignored: every evaluation sees the same samples. Chunks run one after another
    (`lax.map`, each rematerialised in the backward pass), so memory is that of one
    chunk whatever `n`. Build it with `fixed_samples(game, n, key)`."""

    game: AbstractGame
    real: jax.Array
    key: Key
    chunk: int = eqx.field(static=True)

    def init(self, key: Key | None = None) -> Players:
        return self.game.init(key)

    @property
    def samples_count(self) -> int:
        return int(self.real.shape[0]) // getattr(self.game, "pack", 1)

    def losses(self, players: Players, key: Key | None = None):
        del key
        game, chunk = self.game, self.chunk
        pack = getattr(game, "pack", 1)
        count = self.samples_count // chunk
        real = self.real.reshape((count, chunk * pack) + self.real.shape[1:])
        keys = jax.random.split(self.key, count)

        @jax.checkpoint
        def one(args):
            x, k = args
            fake_key, noise_key, penalty_key = jax.random.split(k, 3)
            fake = game.generate(players.generator, fake_key, chunk * pack)
            for i, regularizer in enumerate(game.regularizers):
                x, fake = regularizer.perturb(x, fake, jax.random.fold_in(noise_key, i))
            if pack > 1:
                x, fake = game.pack_samples(x), game.pack_samples(fake)
            return game.losses_on(players, x, fake, penalty_key)

        first, second = jax.lax.map(one, (real, keys))
        return jnp.mean(first), jnp.mean(second)


def fixed_samples(game: AbstractGame, n: int, key: Key | None = None, *,
                  chunk: int = 500) -> FixedSamples:
    """`game` on `n` fixed samples (see `FixedSamples`): the real ones are `n` distinct
    images of an image set that holds at least `n` (a fixed random subset, as Berard
    et al.'s `Subset` of MNIST), otherwise `n` draws from the target; the latent draws
    are fixed by `key`. Chunks of the largest divisor of `n` not above `chunk`.
    Raises `ValueError` for a game that is not a network GAN or `n < 1`."""
    if not (hasattr(game, "generate") and hasattr(game, "target")
            and hasattr(game, "pack_samples")):
        raise ValueError(f"fixed samples need a network GAN (MLPGAN, ConvGAN), got "
                         f"{type(game).__name__}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of fixed samples must be a positive integer, got {n!r}")
    key = jax.random.key(0) if key is None else key
    real_key, latent_key = jax.random.split(key)
    total = n * getattr(game, "pack", 1)
    images = getattr(game.target, "images", None)
    if images is not None and images.shape[0] >= total:
        real = images[jax.random.permutation(real_key, images.shape[0])[:total]]
    else:
        real = game.target.sample(real_key, total)
    return FixedSamples(game, real, latent_key, _divisor_at_most(n, int(chunk)))


def _flat(y: Players) -> jax.Array:
    return ravel_pytree(y)[0]


@eqx.filter_jit
def _path_fields(game, y1, y2, alphas, key, chunk):
    """`(cos, ‖v‖)` at every `α`: one compiled program, the field vmapped over α (in
    chunks of `chunk` points, `lax.map`, to bound memory on large games)."""
    f1, unravel = ravel_pytree(y1)
    f2 = _flat(y2)
    direction = f2 - f1

    def at(alpha):
        v = _flat(game.field(unravel((1 - alpha) * f1 + alpha * f2), key))
        norm = jnp.linalg.norm(v)
        scale = norm * jnp.linalg.norm(direction)
        cos = jnp.where(scale > 0, v @ direction / jnp.where(scale > 0, scale, 1), 0.0)
        return cos, norm

    return jax.lax.map(at, alphas, batch_size=chunk)


def path_angle(
    game: AbstractGame, y1: Players, y2: Players, n: int = 100, *, key: Key | None = None,
    alpha_range: tuple[float, float] = (-0.1, 1.1), chunk: int | None = None,
) -> dict:
    r"""The path-angle of Berard et al. (arXiv 1906.04848, Section 4): at `n` points

        y(α) = (1 − α)·y₁ + α·y₂,    α ∈ alpha_range (default [−0.1, 1.1]),

    the cosine between the field and the segment, `⟨v(y(α)), y₂ − y₁⟩ /
    (‖v(y(α))‖ ‖y₂ − y₁‖)`, and `‖v(y(α))‖`. Every point sees the same minibatch
    (`key`; give the game a large `batch_size` for a full-batch estimate). One
    compiled call, the field vmapped over α (`chunk` points at a time if given).

    Returns `{"alpha", "cosine", "grad_norm"}` (NumPy arrays of length `n`). Raises
    `ValueError` for `n < 2`, points of different structure or `y₁ = y₂`."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer ≥ 2 (points on the path), got {n!r}")
    f1, f2 = _flat(y1), _flat(y2)
    structure = jax.tree_util.tree_structure
    if f1.shape != f2.shape or structure(y1) != structure(y2):
        raise ValueError(f"y1 and y2 must be parameters of one game, got {f1.shape} and "
                         f"{f2.shape} parameters")
    if not bool(jnp.any(f1 != f2)):
        raise ValueError("y1 and y2 are the same point: the path has no direction")
    key = jax.random.key(0) if key is None else key
    alphas = jnp.linspace(*alpha_range, n, dtype=f1.dtype)
    cos, norm = _path_fields(game, y1, y2, alphas, key, chunk)
    return {"alpha": np.asarray(alphas), "cosine": np.asarray(cos), "grad_norm": np.asarray(norm)}


# --------------------------------------------------------------------------------------
# Top-k spectra, matrix-free

OPERATORS = ("game", "generator", "discriminator")
"""What `top_spectrum` can take the eigenvalues of: the game Jacobian `J = ∂v/∂y`,
the generator's Hessian `∇²_x L₁`, the discriminator's Hessian `∇²_y L₂`."""


@eqx.filter_jit
def _matvec(game, y, key, u, of):
    """One product with the operator `of` at `y`: `J u` (a JVP of the field) or
    `∇²L u` (a JVP of the player's gradient, `−` its part of the field)."""
    if of == "game":
        flat, unravel = ravel_pytree(y)
        field = lambda f: _flat(game.field(unravel(f), key))  # noqa: E731
        return jax.jvp(field, (flat,), (u.astype(flat.dtype),))[1]
    if of == "generator":
        flat, unravel = ravel_pytree(y.generator)
        field = lambda f: _flat(  # noqa: E731
            game.generator_field(Players(unravel(f), y.discriminator), key))
    else:
        flat, unravel = ravel_pytree(y.discriminator)
        field = lambda f: _flat(  # noqa: E731
            game.discriminator_field(Players(y.generator, unravel(f)), key))
    return -jax.jvp(field, (flat,), (u.astype(flat.dtype),))[1]


def _size(y: Players, of: str) -> int:
    part = y if of == "game" else getattr(y, of)
    return int(_flat(part).size)


def operator(game: AbstractGame, y: Players, of: str = "game", *, key: Key | None = None):
    """A `scipy.sparse.linalg.LinearOperator` for `J` (`of="game"`) or a player's
    Hessian (`"generator"`: `∇²_x L₁`, `"discriminator"`: `∇²_y L₂`) at `y`: each
    product one compiled JVP (compiled once per game structure), no matrix formed."""
    from scipy.sparse.linalg import LinearOperator

    matvec, n = _numpy_matvec(game, y, of, key)
    return LinearOperator((n, n), matvec=matvec, dtype=np.float64)


def _numpy_matvec(game, y, of, key):
    """`(u ↦ Au, n)` for the operator `of` at `y`, NumPy float64 in and out."""
    if of not in OPERATORS:
        raise ValueError(f"unknown operator {of!r}; choose from: {', '.join(OPERATORS)}")
    key = jax.random.key(0) if key is None else key
    dtype = np.dtype(_flat(y).dtype)

    def matvec(u):
        u = jnp.asarray(np.real(np.asarray(u)).ravel(), dtype)
        return np.asarray(_matvec(game, y, key, u, of), dtype=np.float64)

    return matvec, _size(y, of)


def top_spectrum(
    game: AbstractGame, y: Players, k: int = 6, *, of: str = "game", key: Key | None = None,
    tol: float = 0.0, seed: int = 0, max_iterations: int | None = None, which: str = "LM",
) -> np.ndarray:
    r"""The `k` eigenvalues of largest magnitude of the game Jacobian `J = ∂v/∂y`
    (`of="game"`, complex, by ARPACK's restarted Arnoldi, `scipy.sparse.linalg.eigs`)
    or of a player's Hessian (`of="generator"`: `∇²_x L₁`; `"discriminator"`:
    `∇²_y L₂`; real with their signs, by Lanczos, `eigsh`), from Jacobian-/Hessian-
    vector products at `y` (`operator`), sorted by decreasing magnitude (by `which`).
    `key` fixes the minibatch; `seed` the start vector; `tol` is ARPACK's relative accuracy (0:
    machine precision). `which` is ARPACK's choice: `"LM"` (largest magnitude, the
    default), or `"LR"` for the game (largest real part: the local stability check)
    and `"LA"`/`"SA"` for a Hessian (most positive / most negative). Berard et al.
    (arXiv 1906.04848) compute the same with
    `eigs`/`eigsh` on PyTorch's Hessian-vector products.

    Raises `ValueError` for an unknown `of` or `k` not below the operator's size
    (ARPACK needs `k < n − 1` for `eigs`, `k < n` for `eigsh`): a dense `eig` fits
    such a small problem."""
    choices = ("LM", "LR", "SR") if of == "game" else ("LM", "LA", "SA")
    if which not in choices:
        raise ValueError(f"which {which!r} is not one for the {of} operator; choose from: "
                         f"{', '.join(choices)}")
    matvec, n = _numpy_matvec(game, y, of, key)
    return arpack(matvec, n, k, which, symmetric=of != "game", seed=seed, tol=tol,
                  max_iterations=max_iterations, what=f"{of} operator")


def spectra(game: AbstractGame, y: Players, k: int = 6, *, key: Key | None = None,
            **kwargs) -> dict:
    """`top_spectrum` of the game Jacobian and of both players' Hessians at `y`:
    `{"game_eigenvalues", "generator_hessian", "discriminator_hessian"}`, each `k`
    eigenvalues (fewer for a player with fewer than `k + 1` parameters)."""
    out = {}
    names = ("game_eigenvalues", "generator_hessian", "discriminator_hessian")
    for of, name in zip(OPERATORS, names):
        size = _size(y, of)
        out[name] = top_spectrum(game, y, min(k, size - (2 if of == "game" else 1)), of=of,
                                 key=key, **kwargs)
    return out


# --------------------------------------------------------------------------------------
# Rotation share, Hutchinson


@eqx.filter_jit
def _hutchinson_terms(game, y, key, probes, chunk: int | None = None):
    """Per probe `u`: `‖Ju‖²` and `u·J(Ju) = (Jᵀu)·(Ju)`, whose means are `‖J‖²_F`
    and `tr(J²)` for probes with `E[uuᵀ] = I`. One linearisation and two
    Jacobian-vector products per probe (no transpose: it would triple the compiled
    program, 17 s of compiling for a small conv GAN), vmapped (`chunk` probes at a time
    if given, which bounds the memory of a large game)."""
    flat, unravel = ravel_pytree(y)
    field = lambda f: _flat(game.field(unravel(f), key))  # noqa: E731
    _, jvp = jax.linearize(field, flat)

    def one(u):
        ju = jvp(u)
        return ju @ ju, u @ jvp(ju)

    probes = probes.astype(flat.dtype)
    if chunk is None:
        return jax.vmap(one)(probes)
    return jax.lax.map(one, probes, batch_size=chunk)


_hutchinson_program = eqx.filter_jit(_hutchinson_terms)


def rotation_share(game: AbstractGame, y: Players, *, probes: int = 16, key: Key | None = None,
                   probe_key: Key | None = None, chunk: int | None = 16) -> tuple[float, float]:
    r"""Hutchinson's estimate of the rotation share of the Jacobian `J = S + A` at `y`,

        ‖A‖²_F / ‖J‖²_F = (1 − tr(J²)/‖J‖²_F) / 2,

    (`tr(J²) = ‖S‖² − ‖A‖²`, `‖J‖² = ‖S‖² + ‖A‖²`), from `probes` Rademacher vectors
    `u`: `‖J‖²_F ≈ mean ‖Ju‖²`, `tr(J²) ≈ mean (Jᵀu)·(Ju)` (one JVP and one VJP each,
    vmapped, no matrix). Returns `(share, standard error)`, the error of the ratio
    by the delta method, `½·sd(b_i − R a_i)/(√m ā)` with `R = b̄/ā`. The dense value
    is `jacobian_split(...)["rotation_share"]`. `key` fixes the minibatch,
    `probe_key` the probes; `chunk` probes are computed at a time (one compiled
    program; `None`: all at once)."""
    if not isinstance(probes, int) or probes < 2:
        raise ValueError(f"probes must be an integer ≥ 2, got {probes!r}")
    key = jax.random.key(0) if key is None else key
    probe_key = jax.random.key(1) if probe_key is None else probe_key
    n = int(_flat(y).size)
    u = jax.random.rademacher(probe_key, (probes, n), dtype=_flat(y).dtype)
    a, b = (np.asarray(t, dtype=np.float64)
            for t in _hutchinson_program(game, y, key, u, None if chunk is None else int(chunk)))
    return _share(a, b)


def _share(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    mean_a = float(np.mean(a))
    if not np.isfinite(mean_a) or mean_a <= 0:
        return (0.0 if mean_a == 0 else float("nan")), float("nan")
    ratio = float(np.mean(b)) / mean_a
    error = 0.5 * float(np.std(b - ratio * a, ddof=1)) / (np.sqrt(len(a)) * mean_a)
    return 0.5 * (1 - ratio), error


def _rotation_shares_program(game: AbstractGame, y: Players, key: Key, probe_key: Key,
                             probes: int = 16) -> tuple[jax.Array, jax.Array]:
    """`rotation_share` of a batch of states `y` (a leading seed axis), traceable:
    `(share, standard error)` arrays, for the training log."""
    n = _flat(jax.tree_util.tree_map(lambda x: x[0], y)).size

    def one(state, k):
        u = jax.random.rademacher(k, (probes, n), dtype=_flat(state).dtype)
        a, b = _hutchinson_terms(game, state, key, u)
        mean_a = jnp.mean(a)
        safe = jnp.where(mean_a > 0, mean_a, 1.0)
        ratio = jnp.mean(b) / safe
        error = 0.5 * jnp.std(b - ratio * a, ddof=1) / (jnp.sqrt(probes) * safe)
        return jnp.where(mean_a > 0, 0.5 * (1 - ratio), 0.0), error

    seeds = jax.tree_util.tree_leaves(y)[0].shape[0]
    return jax.vmap(one)(y, jax.random.split(probe_key, seeds))


rotation_shares = kept(_rotation_shares_program, arrays(2))  # a later run loads it, untraced


# --------------------------------------------------------------------------------------
# Both instruments between two checkpoints


def _complex_pairs(values) -> list[list[float]]:
    return [[float(np.real(e)), float(np.imag(e))] for e in np.asarray(values, dtype=complex)]


def landscape(game: AbstractGame, points: dict, *, k: int = 6, n: int = 100,
              key: Key | None = None, chunk: int | None = None, tol: float = 0.0,
              path_samples: int | None = None, eigen_samples: int | None = None,
              sample_chunk: int = 500) -> dict:
    """Berard et al.'s two instruments between the first and the last of `points`
    (`{step: Players}`, in order): the path-angle along the segment from the first to
    the last, and at every point the top-`k` spectra of the game Jacobian and of both
    players' Hessians. The field is that of `path_samples` fixed samples for the path
    and of `eigen_samples` for the spectra and the rotation share (`fixed_samples`,
    evaluated `sample_chunk` at a time; Berard et al.: 10,000 for their mixture of
    Gaussians, 5,000 and 1,000 MNIST images); `None` means the minibatch `key` draws.
    JSON-ready:
    `{"path_angle": {"alpha", "cosine", "grad_norm", "from", "to"},
    "game_eigenvalues": {step: [[re, im], …]}, "generator_hessian": {step: […]},
    "discriminator_hessian": {step: […]}, "rotation_share": {step: [share, se]},
    "samples": {"path", "eigen"}}` (`None`: the minibatch); `tol` is ARPACK's (see
    `top_spectrum`), `chunk` the path's points evaluated at once."""
    steps = list(points)
    if len(steps) < 2:
        raise ValueError(f"landscape needs two points to compare, got {len(steps)}")
    key = jax.random.key(0) if key is None else key
    path_game = game if path_samples is None else fixed_samples(game, path_samples, key,
                                                                 chunk=sample_chunk)
    eigen_game = game if eigen_samples is None else fixed_samples(game, eigen_samples, key,
                                                                  chunk=sample_chunk)
    first, last = steps[0], steps[-1]
    path = path_angle(path_game, points[first], points[last], n, key=key, chunk=chunk)
    out = {"path_angle": {**{name: [float(x) for x in values] for name, values in path.items()},
                          "from": first, "to": last},
           "game_eigenvalues": {}, "generator_hessian": {}, "discriminator_hessian": {},
           "rotation_share": {}, "samples": {"path": path_samples, "eigen": eigen_samples}}
    for step in steps:
        found = spectra(eigen_game, points[step], k, key=key, tol=tol)
        out["game_eigenvalues"][str(step)] = _complex_pairs(found["game_eigenvalues"])
        for name in ("generator_hessian", "discriminator_hessian"):
            out[name][str(step)] = [float(x) for x in found[name]]
        out["rotation_share"][str(step)] = list(rotation_share(eigen_game, points[step],
                                                               probes=64, key=key))
    return out

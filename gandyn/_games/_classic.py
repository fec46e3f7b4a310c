"""The classic games of the literature on differentiable games, and a user's own."""


import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key
from ._base import AbstractGame, CustomGame as CustomGame, Players


def _matrix(a, name: str) -> jax.Array:
    a = jnp.asarray(a, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a matrix, got shape {a.shape}")
    return a


def _vector(b, size: int, name: str) -> jax.Array:
    b = jnp.zeros(size) if b is None else jnp.asarray(b, dtype=float)
    if b.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {b.shape}")
    return b


def _stationary_point(blocks: jax.Array, rhs: jax.Array, n: int) -> Players:
    """The least-norm solution of `blocks · (x, y) = rhs` (exact where it exists);
    traceable, so `simulate` can ask for it under `jit`."""
    z = jnp.linalg.lstsq(blocks, rhs)[0]
    return Players(z[:n], z[n:])


def _ones(a: jax.Array) -> Players:
    """The default start of a matrix game: every parameter 1."""
    n, m = a.shape
    return Players(jnp.ones(n), jnp.ones(m))


class Bilinear(AbstractGame):
    r"""The bilinear zero-sum game

        L_1(x, y) = xᵀAy + bᵀx + cᵀy,    L_2 = −L_1,

    with `x ∈ R^n`, `y ∈ R^m` and `A` of shape `(n, m)` (default: the scalar game
    `L = xy`). Its field `v = (−Ay − b, Aᵀx + c)` has the constant Jacobian
    `J = [[0, −A], [Aᵀ, 0]]`, whose eigenvalues are `±iσ_k` for the singular values
    σ_k of A: a pure rotation. Simultaneous GD spirals out (`|1 + ihσ| > 1`),
    alternating GD stays on a closed orbit for `hσ < 2`, extragradient and optimistic
    GD converge for small h. The stationary point solves `Ay = −b`, `Aᵀx = −c`.
    """

    A: jax.Array
    b: jax.Array
    c: jax.Array

    def __init__(self, A=((1.0,),), b=None, c=None):
        self.A = _matrix(A, "A")
        n, m = self.A.shape
        self.b = _vector(b, n, "b")
        self.c = _vector(c, m, "c")

    @classmethod
    def matching_pennies(cls) -> "Bilinear":
        """Matching pennies over mixed strategies: `x`, `y` the probabilities of heads,
        player 1 pays `(2x − 1)(2y − 1) = 4xy − 2x − 2y + 1` (the constant dropped);
        the unique Nash equilibrium is `x = y = ½`."""
        return cls([[4.0]], [-2.0], [-2.0])

    def init(self, key: Key | None = None) -> Players:
        return _ones(self.A)

    def losses(self, players, key=None):
        x, y = players.generator, players.discriminator
        value = x @ self.A @ y + self.b @ x + self.c @ y
        return value, -value

    def equilibrium(self) -> Players:
        n, m = self.A.shape
        blocks = jnp.block([[jnp.zeros((n, n)), self.A], [self.A.T, jnp.zeros((m, m))]])
        return _stationary_point(blocks, -jnp.concatenate([self.b, self.c]), n)


class Quadratic(AbstractGame):
    r"""A quadratic game,

        zero-sum (B = None):  L_1 = ½xᵀPx + xᵀAy − ½yᵀQy + bᵀx + cᵀy,   L_2 = −L_1;
        general-sum:          L_1 = ½xᵀPx + xᵀAy + bᵀx + ½yᵀRy,
                              L_2 = ½yᵀQy + yᵀBx + cᵀy + ½xᵀSx.

    Its field `v = −(Px + Ay + b, Qy + Bx + c)` (B = −Aᵀ in the zero-sum case) has the
    constant Jacobian `J = −[[P, A], [B, Q]]`. With P, Q ≻ 0 the zero-sum game is
    strongly monotone (every eigenvalue of J has a negative real part); with P = Q = 0
    it is bilinear; `tandem()` is the general-sum game of Letcher et al. 2019
    (arXiv 1811.08469). `R` and `S` (default 0) are the terms of a player's loss that
    only its opponent moves: they leave the field unchanged but enter every method
    that differentiates through the opponent's learning (LOLA, SOS). The stationary
    point solves `[[P, A], [B, Q]](x, y) = −(b, c)`
    (least-norm where the solutions form a subspace).
    """

    P: jax.Array
    A: jax.Array
    Q: jax.Array
    B: jax.Array | None
    b: jax.Array
    c: jax.Array
    R: jax.Array | None
    S: jax.Array | None

    def __init__(self, P=((0.1,),), A=((1.0,),), Q=((0.1,),), B=None, b=None, c=None,
                 R=None, S=None):
        self.A = _matrix(A, "A")
        n, m = self.A.shape
        self.P, self.Q = _matrix(P, "P"), _matrix(Q, "Q")
        self.B = None if B is None else _matrix(B, "B")
        self.R = None if R is None else _matrix(R, "R")
        self.S = None if S is None else _matrix(S, "S")
        if self.B is None and (self.R is not None or self.S is not None):
            raise ValueError("R and S belong to a general-sum game: give B as well")
        for name, matrix, shape in (("P", self.P, (n, n)), ("Q", self.Q, (m, m)),
                                    ("B", self.B, (m, n)), ("R", self.R, (m, m)),
                                    ("S", self.S, (n, n))):
            if matrix is not None and matrix.shape != shape:
                raise ValueError(f"{name} must have shape {shape} for A of shape {(n, m)}, got "
                                 f"{matrix.shape}")
        self.b, self.c = _vector(b, n, "b"), _vector(c, m, "c")

    @classmethod
    def tandem(cls) -> "Quadratic":
        """Letcher et al.'s tandem game, `L_1 = (x + y)² − 2x`, `L_2 = (x + y)² − 2y`:
        its fixed points are the line `x + y = 1`, all stable; the least-norm one is
        `x = y = ½`."""
        return cls(P=[[2.0]], A=[[2.0]], Q=[[2.0]], B=[[2.0]], b=[-2.0], c=[-2.0],
                   R=[[2.0]], S=[[2.0]])

    def _coupling(self) -> jax.Array:
        return -self.A.T if self.B is None else self.B

    def init(self, key: Key | None = None) -> Players:
        return _ones(self.A)

    def losses(self, players, key=None):
        x, y = players.generator, players.discriminator
        if self.B is None:
            value = 0.5 * x @ self.P @ x + x @ self.A @ y - 0.5 * y @ self.Q @ y + self.b @ x + self.c @ y
            return value, -value
        own = lambda M, z: 0.0 if M is None else 0.5 * z @ M @ z  # noqa: E731
        return (0.5 * x @ self.P @ x + x @ self.A @ y + self.b @ x + own(self.R, y),
                0.5 * y @ self.Q @ y + y @ self.B @ x + self.c @ y + own(self.S, x))

    def equilibrium(self) -> Players:
        n, _ = self.A.shape
        blocks = jnp.block([[self.P, self.A], [self._coupling(), self.Q]])
        return _stationary_point(blocks, -jnp.concatenate([self.b, self.c]), n)


class MatrixGame(AbstractGame):
    r"""A two-player matrix game played with mixed strategies parametrised by logits:
    player 1 plays action i with probability `p = softmax(x, 0)ᵢ` (its last logit
    fixed at 0, so `n` actions take `n − 1` parameters and two actions are `σ(x)`),
    player 2 likewise with `q`, and each minimizes its expected loss

        L_1 = pᵀM_1 q,     L_2 = pᵀM_2 q     (M_2 = −M_1 by default: zero-sum).

    The form of Letcher et al. 2019 (arXiv 1811.08469) and their code: unlike the
    bilinear game in probabilities (`Bilinear.matching_pennies`), the logits are
    unconstrained and the field vanishes only at a mixed equilibrium. `equilibrium`
    is the one given, if any (`matching_pennies()`: both logits 0)."""

    first_payoff: jax.Array
    second_payoff: jax.Array
    known_equilibrium: Players | None

    def __init__(self, first_payoff, second_payoff=None, equilibrium: Players | None = None):
        self.first_payoff = _matrix(first_payoff, "first_payoff")
        self.second_payoff = (-self.first_payoff if second_payoff is None
                              else _matrix(second_payoff, "second_payoff"))
        if self.second_payoff.shape != self.first_payoff.shape:
            raise ValueError(f"the payoff matrices must have one shape, got "
                             f"{self.first_payoff.shape} and {self.second_payoff.shape}")
        if min(self.first_payoff.shape) < 2:
            raise ValueError(f"each player needs at least 2 actions, got {self.first_payoff.shape}")
        self.known_equilibrium = equilibrium

    @classmethod
    def matching_pennies(cls) -> "MatrixGame":
        """Matching pennies, `M_1 = [[1, −1], [−1, 1]]`, `M_2 = −M_1`: player 1 wants
        the coins to differ, player 2 to match; the unique equilibrium is both coins
        fair, logits 0. Its Jacobian there is a rotation (eigenvalues `±i/4`)."""
        return cls([[1.0, -1.0], [-1.0, 1.0]], equilibrium=Players(jnp.zeros(1), jnp.zeros(1)))

    def init(self, key: Key | None = None) -> Players:
        n, m = self.first_payoff.shape
        return Players(jnp.ones(n - 1), jnp.ones(m - 1))

    def losses(self, players, key=None):
        strategy = lambda z: jax.nn.softmax(jnp.append(z, 0.0))  # noqa: E731
        p, q = strategy(players.generator), strategy(players.discriminator)
        return p @ self.first_payoff @ q, p @ self.second_payoff @ q

    def equilibrium(self) -> Players | None:
        return self.known_equilibrium

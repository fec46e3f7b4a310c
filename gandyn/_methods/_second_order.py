r"""Game optimisers that use the players' second derivatives: competitive gradient
descent, LookAhead, LOLA, stable opponent shaping and symplectic gradient adjustment.

Notation (Letcher et al. 2019, arXiv 1811.08469): player 1 has parameters x and loss
L₁, player 2 has y and L₂; the simultaneous gradient is `ξ = (∇ₓL₁, ∇_yL₂) = −v` and
the game's Hessian `H = ∇ξ` has the off-diagonal blocks

    H_o = [[0, D_xy L₁], [D_yx L₂, 0]],     D_xy L = ∂²L/∂x∂y.

Every second-order term is a mixed Hessian-vector product, `D_xy L·w` being the
derivative of `∇ₓL(x, y + εw)` in ε: one `jax.jvp` of a `jax.grad` (forward over
reverse), never a dense Hessian, so the methods run on neural games. The players'
parameters may be any PyTrees.
"""

import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.flatten_util
import jax.numpy as jnp
import lineax as lx
import optax

from .._games import AbstractGame, Players
from ._base import AbstractStepMethod
from ._maps import _axpy

_dot = optax.tree_utils.tree_vdot  # ⟨a, b⟩ over PyTrees


class _Partials(eqx.Module):
    """The players' gradients and mixed Hessian-vector products at one point."""

    game: AbstractGame
    point: Players
    key: object

    def _loss(self, i, x, y):
        return self.game.losses(Players(x, y), self.key)[i]

    def gradients(self):
        """`(∇ₓL₁, ∇_yL₁), (∇ₓL₂, ∇_yL₂)` from one forward pass."""
        _, pullback = jax.vjp(lambda p: self.game.losses(p, self.key), self.point)
        one, zero = jnp.ones(()), jnp.zeros(())
        (g1,) = pullback((one, zero))
        (g2,) = pullback((zero, one))
        return (g1.generator, g1.discriminator), (g2.generator, g2.discriminator)

    def cross_x(self, i, w):
        """`D_xy Lᵢ·w` (in x's space) for a direction `w` in y's space."""
        x, y = self.point.generator, self.point.discriminator
        grad_x = lambda b: jax.grad(lambda a: self._loss(i, a, b))(x)  # noqa: E731
        return jax.jvp(grad_x, (y,), (w,))[1]

    def linearized_cross_x(self, i):
        """`(∇ₓLᵢ, w ↦ D_xy Lᵢ·w)`: the gradient and its derivative in y, linearised
        once (`jax.linearize`), so that repeated products reuse one forward pass."""
        x, y = self.point.generator, self.point.discriminator
        return jax.linearize(lambda b: jax.grad(lambda a: self._loss(i, a, b))(x), y)

    def linearized_cross_y(self, i):
        """`(∇_yLᵢ, u ↦ D_yx Lᵢ·u)`, linearised once."""
        x, y = self.point.generator, self.point.discriminator
        return jax.linearize(lambda a: jax.grad(lambda b: self._loss(i, a, b))(y), x)

    def linearized_both_x(self):
        """`((∇ₓL₁, ∇ₓL₂), w ↦ (D_xy L₁·w, D_xy L₂·w))`: both losses' gradients in x from
        one forward pass, linearised in y once (applying the map to one direction and
        keeping one output costs half a product: XLA drops the unused part)."""
        x, y = self.point.generator, self.point.discriminator

        def gradients(b):
            _, pullback = jax.vjp(lambda a: self.game.losses(Players(a, b), self.key), x)
            one, zero = jnp.ones(()), jnp.zeros(())
            return pullback((one, zero))[0], pullback((zero, one))[0]

        return jax.linearize(gradients, y)

    def linearized_both_y(self):
        """`((∇_yL₁, ∇_yL₂), u ↦ (D_yx L₁·u, D_yx L₂·u))`, linearised once in x."""
        x, y = self.point.generator, self.point.discriminator

        def gradients(a):
            _, pullback = jax.vjp(lambda b: self.game.losses(Players(a, b), self.key), y)
            one, zero = jnp.ones(()), jnp.zeros(())
            return pullback((one, zero))[0], pullback((zero, one))[0]

        return jax.linearize(gradients, x)

    def cross_y(self, i, u):
        """`D_yx Lᵢ·u` (in y's space) for a direction `u` in x's space."""
        x, y = self.point.generator, self.point.discriminator
        grad_y = lambda a: jax.grad(lambda b: self._loss(i, a, b))(y)  # noqa: E731
        return jax.jvp(grad_y, (x,), (u,))[1]


def _descend(y: Players, h, direction: tuple) -> Players:
    """`y − h·d` for a descent direction `d = (dₓ, d_y)`."""
    return Players(_axpy(-h, direction[0], y.generator), _axpy(-h, direction[1], y.discriminator))


class CompetitiveGD(AbstractStepMethod):
    r"""Competitive gradient descent (Schäfer & Anandkumar 2019, arXiv 1905.12103):
    each player steps to the Nash equilibrium of the bilinear approximation of the game
    at the current point, with a quadratic penalty `1/(2h)` on its own move,

        (I + h H_o) d = ξ,      y' = y − h d,

    solved by block elimination: one matrix-free linear solve in x's space,

        (I − h² D_xy L₁ D_yx L₂) dₓ = ∇ₓL₁ − h D_xy L₁ ∇_yL₂,
        d_y = ∇_yL₂ − h D_yx L₂ dₓ,

    whose operator is applied by two Hessian-vector products. `solver` (lineax) is the
    solve where GMRES below has not converged, and at a fixed point: GMRES (the
    default) for any game; for a zero-sum game (`L₂ = −L₁`) the operator is
    `I + h²BBᵀ`, symmetric positive definite, and `lineax.CG` applies (Schäfer's
    choice). On the bilinear game `L = xy` the step
    matrix has eigenvalues `(1 ± ih)/(1 + h²)`: contraction `1/√(1 + h²)` per step,
    for every step size.

    Two learning rates (general-sum CGD as the CGDs package's `GACGD` without its
    adaptive part): `η_x = h·generator_scale`, `η_y = h·discriminator_scale` put
    `E = diag(η_x I, η_y I)` in place of h, `Δ = −(I + E H_o)⁻¹ E ξ`, reduced to
    `(I − η_xη_y D_xy L₁ D_yx L₂) dₓ = ∇ₓL₁ − η_y D_xy L₁ ∇_yL₂`, `Δx = −η_x dₓ`,
    `Δy = −η_y(∇_yL₂ − η_x D_yx L₂ dₓ)`.

    The reduced system is solved by unrestarted GMRES from 0, as the CGDs package's
    `GMRES` (devzhk/cgds-package; `_gmres`): one application of the operator per
    iteration, stopping where the least-squares residual meets `‖residual‖₂ ≤ atol +
    rtol‖r‖₂` (the solver's tolerances; the package's CG tests `‖residual‖² <
    10⁻¹²‖r‖²`, the same 10⁻⁶), and `D_yx L₂ dₓ` for `d_y` a by-product of the
    iterations. Up to `krylov_steps` iterations (default 8); members not converged
    by then are finished by `solver`, started from the GMRES iterate. On the ring-8
    MLP GAN at h = 10⁻³ one iteration meets 10⁻⁶ near the initialisation and two
    after 2,000 Adam steps (a step costs `1 + 2k` Hessian-vector products).
    (The Neumann term with lineax's GMRES after it, the earlier default, took 5
    applications there: lineax recomputes a start's residual and also tests the
    last correction.) `krylov_steps=0` is `solver`'s solve alone. The solve starts
    from 0 at every step:
    the package's CG starts from the previous step's solution, its GMRES (`GACGD`)
    from 0; on the ring-8 GAN, whose minibatch changes every step, the previous
    solution's residual (10⁻² relative after training) costs an extra application
    and saves none.

    Where gandyn is compared with the CGDs package (devzhk/cgds-package,
    `cgd_utils.conjugate_gradient`): its CG warm-started from the previous solution
    subtracts one from its iteration budget (`nsteps -= 1`), so on an n-parameter
    player it may stop after n − 1 iterations, short of the exact solve; gandyn's
    solves run to their tolerance."""

    solver: lx.AbstractLinearSolver = lx.GMRES(rtol=1e-6, atol=0.0, max_steps=100, restart=2)
    generator_scale: float = 1.0
    discriminator_scale: float = 1.0
    krylov_steps: int = eqx.field(static=True, default=8)

    def __check_init__(self):
        if not isinstance(self.solver, _CGD_SOLVERS):
            raise ValueError(f"CompetitiveGD's solver must be one of lineax's "
                             f"{', '.join(c.__name__ for c in _CGD_SOLVERS)}, got "
                             f"{type(self.solver).__name__} (it needs a structure the reduced "
                             "operator does not have)")

    def evaluations(self):
        """`None`: it varies. A step costs the two players' gradients linearised (≈ 2
        evaluations), one Hessian-vector product for the right-hand side and 2 per
        application of the reduced operator (one per GMRES iteration), plus one where
        `solver` finishes the solve; the state counts the applications
        (`Solution.method_state`: the total over the run)."""
        return None

    def init(self, game, y0, h, key):
        return jnp.zeros((), jnp.int32)

    def step(self, game, y, state, t, h, key):
        at = _Partials(game, y, key)
        a, b = h * self.generator_scale, h * self.discriminator_scale
        # Both mixed derivatives are linearised once and applied at every iteration.
        g1x, d_xy_l1 = at.linearized_cross_x(0)
        g2y, d_yx_l2 = at.linearized_cross_y(1)
        rhs = _axpy(-b, d_xy_l1(g2y), g1x)
        dx, d_yx_dx, applied = _solve_reduced(self.solver, self.krylov_steps, d_xy_l1, d_yx_l2,
                                              a * b, rhs)
        dy = _axpy(-a, d_yx_dx, g2y)
        moved = Players(_axpy(-a, dx, y.generator), _axpy(-b, dy, y.discriminator))
        return moved, state + applied.astype(state.dtype)


def _norm(tree):
    return jnp.sqrt(_dot(tree, tree))


def _safe_norm(v):
    """`‖v‖₂` of a flat vector, with derivative 0 (not NaN) at `v = 0`."""
    square = jnp.vdot(v, v)
    positive = square > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, square, 1)), 0)


def _safe_divide(a, b):
    """`a/b`, and 0 where `b = 0` (no NaN in a branch a `where` or `cond` discards,
    nor in its derivative)."""
    nonzero = b != 0
    return jnp.where(nonzero, a, 0) / jnp.where(nonzero, b, 1)


def _givens(a, b):
    """`(c, s, r)` with `[[c, s], [−s, c]]·(a, b) = (r, 0)`, `r = √(a² + b²)`."""
    r = jnp.sqrt(jnp.where((a == 0) & (b == 0), 1, a * a + b * b))
    r = jnp.where((a == 0) & (b == 0), 0, r)
    return _safe_divide(a, r) + jnp.where(r == 0, 1, 0), _safe_divide(b, r), r


def _gmres(apply, rhs, steps: int, tolerance):
    r"""Unrestarted GMRES from 0 (Saad & Schultz 1986) as the CGDs package's `GMRES`
    (devzhk/cgds-package): Arnoldi on `K_k(A, b)`, Givens rotations giving the least
    squares residual `‖b − A z_k‖₂` without another application, stopping at the first
    `k` where it is `≤ tolerance`, at most `steps` iterations.

    `apply(v) -> (A v, e(v))` on flat vectors, `e` linear (the step's `D_yx L₂ v`):
    `(z, e(z), k, converged)` with `e(z) = Σ yⱼ e(vⱼ)` a by-product. One application
    per iteration; the Gram–Schmidt is classical and repeated once (CGS2). After the
    first iteration the loop is a `lax.scan` whose iterations past convergence are
    skipped (`lax.cond` on any batch member still going), so that it can be
    differentiated in both modes."""
    size, dtype = rhs.shape[0], rhs.dtype
    beta = _safe_norm(rhs)
    active = beta > tolerance

    def arnoldi(carry, j):
        basis, extras, hessenberg, cosines, sines, g, k, active = carry
        w, e = apply(basis[j])
        w, column = _orthogonalise(w, basis)  # rows past j are zero
        norm = _safe_norm(w)
        column = column.at[j + 1].set(norm)
        for i in range(steps):  # the earlier rotations, in order
            a, b = column[i], column[i + 1]
            use = i < j
            column = column.at[i].set(jnp.where(use, cosines[i] * a + sines[i] * b, a))
            column = column.at[i + 1].set(
                jnp.where(use, -sines[i] * a + cosines[i] * b, b))
        c, s, r = _givens(column[j], column[j + 1])
        column = column.at[j].set(r).at[j + 1].set(0)
        # A batch member that has converged keeps its values (rows only: no copy of
        # the basis).
        keep = lambda n, o: jnp.where(active, n, o)  # noqa: E731
        g_j, g_next = keep(c * g[j], g[j]), keep(-s * g[j], g[j + 1])
        return (basis.at[j + 1].set(keep(_safe_divide(w, norm), basis[j + 1])),
                extras.at[j].set(keep(e, extras[j])),
                hessenberg.at[:, j].set(keep(column, hessenberg[:, j])),
                cosines.at[j].set(keep(c, cosines[j])), sines.at[j].set(keep(s, sines[j])),
                g.at[j].set(g_j).at[j + 1].set(g_next), k + active.astype(k.dtype),
                active & (jnp.abs(g_next) > tolerance))

    def iterate(carry, j):
        return jax.lax.cond(eqxi.unvmap_any(carry[-1]), arnoldi, lambda c, j: c, carry, j), None

    # The first iteration, always needed (but at b = 0), on one vector: the Krylov
    # basis is built only where some member needs a second.
    first = _safe_divide(rhs, beta)
    w, e = apply(first)
    w, (h,) = _orthogonalise(w, first[None])
    norm = _safe_norm(w)
    c, s, r = _givens(h, norm)
    g0, g1 = jnp.where(active, c * beta, beta), jnp.where(active, -s * beta, 0)
    k = active.astype(jnp.int32)
    going = active & (jnp.abs(g1) > tolerance)

    def one_iteration():
        y = jnp.where(active, _safe_divide(g0, r), 0)
        return y * first, y * e, k, ~going

    def more_iterations():
        row = lambda x: jnp.where(active, x, 0)  # noqa: E731
        carry = (jnp.zeros((steps + 1, size), dtype).at[0].set(first)
                 .at[1].set(row(_safe_divide(w, norm))),
                 jnp.zeros((steps, e.shape[0]), e.dtype).at[0].set(e),
                 jnp.zeros((steps + 1, steps), dtype).at[0, 0].set(row(r)),
                 jnp.zeros(steps, dtype).at[0].set(row(c)),
                 jnp.zeros(steps, dtype).at[0].set(row(s)),
                 jnp.zeros(steps + 1, dtype).at[0].set(g0).at[1].set(g1), k, going)
        carry, _ = jax.lax.scan(iterate, carry, jnp.arange(1, steps))
        basis, extras, hessenberg, _, _, g, k_, going_ = carry
        used = jnp.arange(steps) < k_
        triangle = jnp.where(used[:, None] & used[None, :], hessenberg[:steps], 0)
        triangle = triangle + jnp.diag(jnp.where(used, 0, 1).astype(dtype))
        y = jax.scipy.linalg.solve_triangular(triangle, jnp.where(used, g[:steps], 0))
        return y @ basis[:steps], y @ extras, k_, ~going_

    return jax.lax.cond(eqxi.unvmap_any(going), more_iterations, one_iteration)


def _orthogonalise(w, basis):
    """`w` less its projection on the rows of `basis` (orthonormal or zero), and the
    projection's coefficients: classical Gram–Schmidt, done twice."""
    column = basis @ w
    w = w - column @ basis
    again = basis @ w
    return w - again @ basis, column + again


def _solve_reduced(solver, steps: int, outer, inner, scale, rhs):
    r"""`(z, inner(z), applications)` for `(I − s·outer∘inner) z = rhs`, differentiated
    implicitly (`lax.custom_linear_solve`): `(z, w = inner(z))` solves the linear system
    `[[I, −s·outer], [−inner, I]] (z, w) = (rhs, 0)`, whose derivative is that of the
    solution whatever iterate the solver stopped at, with no host callback in it (a
    program that differentiates the step, the spectrum's, can be kept between runs:
    lineax's own derivative rules check their tangent solves with a callback). The
    solves, tangent and transposed, are `_solve_reduced_primal`'s: the tangent's by
    the Schur complement `z = (I − s·outer∘inner)⁻¹(b₁ + s·outer(b₂))`, `w = b₂ + inner(z)`;
    the transposed one's `p = (I − s·innerᵀ∘outerᵀ)⁻¹(c₁ + innerᵀc₂)`,
    `q = c₂ + s·outerᵀp`."""
    rtol, atol = getattr(solver, "rtol", None), getattr(solver, "atol", None)
    if steps == 0 or rtol is None or atol is None:
        return _solve_reduced_primal(solver, steps, outer, inner, scale, rhs)
    w_shape = jax.eval_shape(inner, rhs)
    zero_w = jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), w_shape)

    def matvec(zw):
        z, w = zw
        return _axpy(-scale, outer(w), z), _axpy(-1.0, inner(z), w)

    def unless_zero(apply, v, like):
        """`apply(v)`, skipped (zeros) where `v = 0`: the primal solve's `b₂`, so that a
        step costs no more products than before."""
        zeros = lambda: jax.tree_util.tree_map(  # noqa: E731
            lambda x: jnp.zeros(x.shape, x.dtype), jax.eval_shape(apply, like))
        nonzero = eqxi.unvmap_any(jnp.any(jnp.stack(
            [jnp.any(leaf != 0) for leaf in jax.tree_util.tree_leaves(v)])))
        return jax.lax.cond(nonzero, lambda: apply(v), zeros)

    def solve(_, b):
        b1, b2 = b
        z, inner_z, applied = _solve_reduced_primal(
            solver, steps, outer, inner, scale,
            _axpy(scale, unless_zero(outer, b2, zero_w), b1))
        return (z, _axpy(1.0, inner_z, b2)), applied

    def transpose_solve(_, c):
        c1, c2 = c
        outer_t = lambda q: jax.linear_transpose(outer, zero_w)(q)[0]  # noqa: E731
        inner_t = lambda p: jax.linear_transpose(inner, rhs)(p)[0]  # noqa: E731
        p, outer_t_p, applied = _solve_reduced_primal(
            solver, steps, inner_t, outer_t, scale, _axpy(1.0, unless_zero(inner_t, c2, zero_w), c1))
        return (p, _axpy(scale, outer_t_p, c2)), applied

    # JAX 0.10's JVP of `custom_linear_solve` binds a right-hand side leaf whose tangent
    # and whose operator tangent are both symbolic zeros as a `Zero` object (an error): a
    # zero that depends on every leaf of `rhs` gives each leaf a tangent.
    anchor = 0 * sum(jnp.sum(leaf) for leaf in jax.tree_util.tree_leaves(rhs))
    b = jax.tree_util.tree_map(lambda leaf: leaf + anchor.astype(leaf.dtype), (rhs, zero_w))
    (z, w), applied = jax.lax.custom_linear_solve(matvec, b, solve, transpose_solve,
                                                  has_aux=True)
    return z, w, applied


def _solve_reduced_primal(solver, steps: int, outer, inner, scale, rhs):
    r"""`(z, inner(z), applications)` for `(I − s·outer∘inner) z = rhs` (CGD's reduced
    system, `s = η_xη_y`, `outer = D_xy L₁`, `inner = D_yx L₂`).

    First up to `steps` iterations of unrestarted GMRES from 0 (`_gmres`, the CGDs
    package's solver and its residual test `‖b − Az‖₂ ≤ atol + rtol‖b‖₂`, with
    `solver`'s tolerances), one operator application each, `inner(z)` a by-product
    (the step needs it for `d_y`). Members not there are finished by `solver`, started
    from the GMRES iterate. The branch runs only where some member needs it
    (`unvmap_any`), so a converged batch costs `1 + 2k` Hessian-vector products for
    k GMRES iterations; `steps = 0`, or a solver without tolerances (a direct one), is
    `solver`'s solve alone."""
    operator = lx.FunctionLinearOperator(
        lambda u: _axpy(-scale, outer(inner(u)), u), jax.eval_shape(lambda: rhs),
        lx.positive_semidefinite_tag if isinstance(solver, lx.CG) else ())
    rtol, atol = getattr(solver, "rtol", None), getattr(solver, "atol", None)
    size = sum(x.size for x in jax.tree_util.tree_leaves(rhs))
    if steps == 0 or rtol is None or atol is None:
        solution = lx.linear_solve(operator, rhs, solver, throw=False)
        applied = _applications(solver, solution.stats.get("num_steps"), size)
        return solution.value, inner(solution.value), applied
    flat_rhs, unravel = jax.flatten_util.ravel_pytree(rhs)
    _, unravel_inner = jax.flatten_util.ravel_pytree(jax.tree_util.tree_map(
        lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(inner, rhs)))

    def apply(v):
        u = unravel(v)
        inner_u = inner(u)
        return (jax.flatten_util.ravel_pytree(_axpy(-scale, outer(inner_u), u))[0],
                jax.flatten_util.ravel_pytree(inner_u)[0])

    rhs_norm = _norm(rhs)
    flat_z, flat_inner_z, applied, converged = _gmres(apply, flat_rhs, steps,
                                                      atol + rtol * rhs_norm)
    z, inner_z = unravel(flat_z), unravel_inner(flat_inner_z)
    # At rhs = 0 (a fixed point) the test passes trivially, but the derivative
    # (`step_matrix`) of a Krylov iterate is not the solve's: there the solver decides.
    done = converged & (rhs_norm > 0)

    def finish(z, inner_z, applied):
        # (A start does not change the solution: no derivative flows through it.)
        solution = lx.linear_solve(operator, rhs, solver,
                                   options={"y0": jax.lax.stop_gradient(z)}, throw=False)
        count = _applications(solver, solution.stats.get("num_steps"), size)
        pick = lambda o, n: jax.tree_util.tree_map(  # noqa: E731
            lambda p, q: jnp.where(done, p, q), o, n)
        return (pick(z, solution.value), pick(inner_z, inner(solution.value)),
                applied + jnp.where(done, 0, count).astype(applied.dtype))

    return jax.lax.cond(eqxi.unvmap_any(~done), finish, lambda *c: c, z, inner_z, applied)


def _tree_mul(a, b):
    return jax.tree_util.tree_map(lambda x, y: x * y, a, b)


class ACGD(AbstractStepMethod):
    r"""Adaptive competitive gradient descent (Schäfer, Zheng & Anandkumar 2020,
    "Implicit competitive regularization in GANs", arXiv 1910.05852; the CGDs
    package's `ACGD`/`GACGD`, devzhk/cgds-package): competitive GD with a
    per-coordinate learning rate from RMSProp's running second moment,

        s ← βs + (1 − β)g²,      η = h·scale·√(1 − βᵗ)/(√s + ε)     (per player),
        Δ = −(I + E H_o)⁻¹ E ξ,   E = diag(η_x, η_y),

    solved in x's space in the symmetric form the package uses, `dₓ = √η_x w`,

        (I − √η_x D_xy L₁ η_y D_yx L₂ √η_x) w = √η_x (∇ₓL₁ − D_xy L₁ η_y ∇_yL₂),
        Δx = −√η_x w,      Δy = −η_y(∇_yL₂ + D_yx L₂ Δx).

    For a zero-sum game (`L₂ = −L₁`) the operator is `I + √η_x B η_y Bᵀ √η_x`,
    positive definite: `lineax.CG` (the package's choice) applies; GMRES (the
    default, the package's `GACGD`) serves any game. The state is `(t, s_x, s_y)`.
    `eps` defaults to each mode's constant in the package: 1e-6 as `GACGD` (GMRES, or
    any solver but CG), 1e-5 as `ACGD` (CG); give it to choose another.
    The package alternates which player's system it solves and warm-starts CG from
    the previous solution; with solves to tolerance the step is the same."""

    solver: lx.AbstractLinearSolver = lx.GMRES(rtol=1e-8, atol=0.0, max_steps=100, restart=4)
    beta: float = 0.99
    eps: float | None = None
    generator_scale: float = 1.0
    discriminator_scale: float = 1.0

    def linear_analysis(self) -> bool:
        return False  # the running second moments make it depend on the history

    def init(self, game, y0, h, key):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, y0)
        return jnp.zeros((), jnp.int32), zeros.generator, zeros.discriminator

    def step(self, game, y, state, t, h, key):
        count, sx, sy = state
        count = count + 1
        at = _Partials(game, y, key)
        g1x, d_xy_l1 = at.linearized_cross_x(0)
        g2y, d_yx_l2 = at.linearized_cross_y(1)
        correction = jnp.sqrt(1 - self.beta ** count.astype(jnp.result_type(h)))
        eps = self.eps if self.eps is not None else (
            1e-5 if isinstance(self.solver, lx.CG) else 1e-6)

        def moments_and_rate(s, g, scale):
            s = jax.tree_util.tree_map(lambda si, gi: self.beta * si + (1 - self.beta) * gi * gi, s, g)
            rate = jax.tree_util.tree_map(
                lambda si: h * scale * correction / (jnp.sqrt(si) + eps), s)
            return s, rate

        sx, eta_x = moments_and_rate(sx, g1x, self.generator_scale)
        sy, eta_y = moments_and_rate(sy, g2y, self.discriminator_scale)
        root_x = jax.tree_util.tree_map(jnp.sqrt, eta_x)
        rhs = _tree_mul(root_x, _axpy(-1.0, d_xy_l1(_tree_mul(eta_y, g2y)), g1x))

        def matvec(w):
            inner = _tree_mul(eta_y, d_yx_l2(_tree_mul(root_x, w)))
            return _axpy(-1.0, _tree_mul(root_x, d_xy_l1(inner)), w)

        tags = lx.positive_semidefinite_tag if isinstance(self.solver, lx.CG) else ()
        operator = lx.FunctionLinearOperator(matvec, jax.eval_shape(lambda: g1x), tags)
        w = lx.linear_solve(operator, rhs, self.solver, throw=False).value
        dx = jax.tree_util.tree_map(jnp.negative, _tree_mul(root_x, w))
        dy = jax.tree_util.tree_map(jnp.negative, _tree_mul(eta_y, _axpy(1.0, d_yx_l2(dx), g2y)))
        moved = Players(_axpy(1.0, dx, y.generator), _axpy(1.0, dy, y.discriminator))
        return moved, (count, sx, sy)


# The reduced operator is square, in general neither symmetric nor definite: iterative
# Krylov solvers (CG for a zero-sum game, where it is definite) and dense direct ones.
_CGD_SOLVERS = (lx.GMRES, lx.BiCGStab, lx.CG, lx.Normal, lx.LSMR, lx.LU, lx.QR, lx.SVD)


def _applications(solver, num_steps, size: int):
    """Operator applications behind lineax's `num_steps` for a solver, the initial
    residual `b − A y₀` included: GMRES's first pass is that residual alone and every
    later one `min(restart, size)` Arnoldi steps and a residual; BiCGStab takes 2 per
    iteration, CG 1 (its occasional exact residual aside); a direct solver (no
    `num_steps`) builds the matrix from `size` applications."""
    if num_steps is None:
        return jnp.asarray(size)
    if isinstance(solver, lx.GMRES):
        return num_steps + jnp.maximum(num_steps - 1, 0) * min(solver.restart, size)
    if isinstance(solver, lx.BiCGStab):
        return 1 + 2 * num_steps
    return 1 + num_steps


class _OpponentShaping(AbstractStepMethod):
    """Shared by LookAhead, LOLA and SOS: the look-ahead rate α (`None`: the step h,
    as in Letcher et al.'s code) and the two shaping terms."""

    alpha: float | None = None

    def init(self, game, y0, h, key):
        return None

    def _rate(self, h):
        return h if self.alpha is None else jnp.asarray(self.alpha, dtype=jnp.result_type(h))

    @staticmethod
    def _terms(game, y, key):
        r"""`ξ`, `H_oξ` and `χ = (D_xy L₂ ∇_yL₁, D_yx L₁ ∇ₓL₂)`, the opponent-shaping
        term: how a player's move changes what the opponent's learning step does to
        its own loss."""
        at = _Partials(game, y, key)
        # The four gradients come out of two linearisations, one per player's
        # parameters, whose maps give the four mixed products (one forward pass each).
        (g1x, g2x), d_xy = at.linearized_both_x()
        (g1y, g2y), d_yx = at.linearized_both_y()
        xi = (g1x, g2y)
        h_o_xi = (d_xy(g2y)[0], d_yx(g1x)[1])
        chi = (d_xy(g1y)[1], d_yx(g2x)[0])
        return xi, h_o_xi, chi


class LookAheadOpponent(_OpponentShaping):
    r"""LookAhead (Zhang & Lesser 2010; Letcher et al. 2019): each player descends its
    loss at the opponent's anticipated next move, the opponent's step treated as
    fixed (no shaping), `ξ_LA = (I − αH_o)ξ`. It keeps every fixed point of the game."""

    def evaluations(self):
        return 2

    def step(self, game, y, state, t, h, key):
        xi, h_o_xi, _ = self._terms(game, y, key)
        a = self._rate(h)
        return _descend(y, h, jax.tree_util.tree_map(lambda g, s: g - a * s, xi, h_o_xi)), state


class LOLA(_OpponentShaping):
    r"""Learning with opponent-learning awareness (Foerster et al. 2018, arXiv
    1709.04326), in its first-order form: player 1 descends
    `L₁(x, y − α∇_yL₂(x, y))` differentiated through the opponent's step,

        ξ_LOLA = (I − αH_o)ξ − αχ,    χ = (D_xy L₂ ∇_yL₁, D_yx L₁ ∇ₓL₂).

    The shaping term χ need not vanish at a fixed point of the game: on the tandem game
    LOLA leaves the line of equilibria `x + y = 1` for `x + y = (1 − 2α)/(1 − 4α)`,
    where both players lose more (Letcher et al. 2019, Proposition 2)."""

    def evaluations(self):
        return 3

    def step(self, game, y, state, t, h, key):
        xi, h_o_xi, chi = self._terms(game, y, key)
        a = self._rate(h)
        direction = jax.tree_util.tree_map(lambda g, s, c: g - a * s - a * c, xi, h_o_xi, chi)
        return _descend(y, h, direction), state


class SOS(_OpponentShaping):
    r"""Stable opponent shaping (Letcher et al. 2019, arXiv 1811.08469, Algorithm 1):
    LOLA's shaping term scaled by `p ∈ [0, 1]`,

        ξ₀ = (I − αH_o)ξ,      ξ_SOS = ξ₀ − pαχ,      p = min(p₁, p₂),
        p₁ = 1 if ⟨−αχ, ξ₀⟩ ≥ 0 else min(1, −a‖ξ₀‖²/⟨−αχ, ξ₀⟩),
        p₂ = ‖ξ‖² if ‖ξ‖ < b else 1,

    so that shaping never points against LookAhead's direction (p₁) and fades near a
    fixed point (p₂), where SOS keeps the game's stable fixed points and LOLA does not.
    `a = ½`, `b = 0.1` as in the paper."""

    a: float = 0.5
    b: float = 0.1

    def evaluations(self):
        return 3

    def linear_analysis(self) -> bool:
        return False  # p switches with ‖ξ‖: not a smooth map at a fixed point

    def step(self, game, y, state, t, h, key):
        xi, h_o_xi, chi = self._terms(game, y, key)
        a = self._rate(h)
        xi_0 = jax.tree_util.tree_map(lambda g, s: g - a * s, xi, h_o_xi)
        dot = -a * _dot(chi, xi_0)
        safe = jnp.where(dot >= 0, -1.0, dot)
        p1 = jnp.where(dot >= 0, 1.0, jnp.minimum(1.0, -self.a * _dot(xi_0, xi_0) / safe))
        norm2 = _dot(xi, xi)
        p2 = jnp.where(norm2 < self.b**2, norm2, 1.0)
        p = jnp.minimum(p1, p2)
        direction = jax.tree_util.tree_map(lambda g, c: g - p * a * c, xi_0, chi)
        return _descend(y, h, direction), state


class SymplecticGradientAdjustment(AbstractStepMethod):
    r"""Symplectic gradient adjustment as a method on any game (Balduzzi et al. 2018,
    arXiv 1802.05642; Letcher et al. 2019, JMLR): descend

        ξ + λAᵀξ,     A = (H − Hᵀ)/2,     Aᵀξ = (Hᵀξ − Hξ)/2,

    with one JVP and one VJP through the field. With `align=True` the sign of λ
    follows the paper's alignment criterion, `sign(⟨ξ, Hᵀξ⟩⟨Aᵀξ, Hᵀξ⟩/d + ε)`, which
    points the adjustment towards stable fixed points and away from unstable ones
    (the regularizer `gandyn.SGA` is the fixed-sign form for GANs)."""

    lam: float = 1.0
    align: bool = eqx.field(static=True, default=True)
    epsilon: float = 0.1

    def evaluations(self):
        return 3

    def linear_analysis(self) -> bool:
        return not self.align  # the sign is piecewise constant: smooth where fixed

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        field = lambda p: game.field(p, key)  # noqa: E731
        v, pullback = jax.vjp(field, y)
        _, jv = jax.jvp(field, (y,), (v,))
        (jtv,) = pullback(v)
        # In ξ = −v terms: Hξ = Jv, Hᵀξ = Jᵀv, Aᵀξ = (Jᵀv − Jv)/2.
        a_t_xi = jax.tree_util.tree_map(lambda a, b: 0.5 * (a - b), jtv, jv)
        lam = self.lam
        if self.align:
            d = sum(x.size for x in jax.tree_util.tree_leaves(y))
            score = -_dot(v, jtv) * _dot(a_t_xi, jtv) / d + self.epsilon
            lam = lam * jnp.sign(score)
        direction = jax.tree_util.tree_map(lambda vi, s: vi - lam * s, v, a_t_xi)
        return _axpy(h, direction, y), state


class ConsensusOptimization(AbstractStepMethod):
    r"""Consensus optimization as a method on any game (Mescheder et al. 2017, arXiv
    1705.10461; `'co'` in Letcher et al.'s code, aletcher/stable-opponent-shaping):
    descend `ξ + γ∇(½‖ξ‖²) = ξ + γHᵀξ`,

        y' = y + h(v − γJᵀv),

    one VJP through the field per step. Its step matrix at an equilibrium is
    `I + h(J − γJᵀJ)`: on a rotation `J = [[0, −a], [a, 0]]` the eigenvalues of
    `J − γJᵀJ` are `−γa² ± ia`. (The regularizer `gandyn.Consensus` is the same
    adjustment inside a GAN, for any method.)"""

    gamma: float = 1.0

    def evaluations(self):
        return 2

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        v, pullback = jax.vjp(lambda p: game.field(p, key), y)
        (jtv,) = pullback(v)
        return _axpy(h, jax.tree_util.tree_map(lambda vi, gi: vi - self.gamma * gi, v, jtv), y), state


class LocalSymplecticSurgery(AbstractStepMethod):
    r"""Local symplectic surgery as Letcher et al.'s code computes it (Letcher et al.
    2019, "Differentiable Game Mechanics", arXiv 1905.04926; their notebook's
    `update_th`, `'lss'`), the exact-solve form of Mazumdar et al.'s dynamics (arXiv
    1901.00838; their two-timescale procedure is `TwoTimescaleLSS`):

        ξ_LSS = ½(ξ + Hᵀ H⁻¹ ξ)                     where det H ≠ 0,
        ξ_LSS = ½(ξ + Hᵀ (HᵀH + λI)⁻¹ Hᵀ ξ)         where det H = 0,
        y' = y − h ξ_LSS,

    `H = ∂ξ/∂y` the game's Jacobian and λ = `damping` (the notebook's `lss_lam`, 0.1).
    In field terms (`v = −ξ`, `J = −H`), `y' = y + (h/2)(v + Jᵀs)` with `J s = v`, or
    `(JᵀJ + λI) s = Jᵀv` where J is singular. Where H is symmetric (a potential game)
    it is gradient descent; where it is antisymmetric (the bilinear game) `HᵀH⁻¹ = −I`
    and it does not move. At a fixed point its Jacobian is `S = (H + Hᵀ)/2`: in a
    zero-sum game the stable points are the strict local Nash equilibria.

    `solver=None` (the default) builds H densely, as the notebook does, and applies its
    rule exactly (`det H == 0`); a game with more than `dense_limit` parameters, or a
    lineax `solver`, solves matrix-free instead (JVPs through the field), and falls
    back to the damped solve (CG on the normal equations) where that solve fails."""

    solver: lx.AbstractLinearSolver | None = None
    damping: float = 0.1
    dense_limit: int = eqx.field(static=True, default=256)

    def evaluations(self):
        return None  # the solve's JVPs vary

    def init(self, game, y0, h, key):
        return None

    def step(self, game, y, state, t, h, key):
        field = lambda p: game.field(p, key)  # noqa: E731
        v, jvp = jax.linearize(field, y)
        pullback = jax.linear_transpose(jvp, y)
        flat_v, unravel = jax.flatten_util.ravel_pytree(v)
        if self.solver is None and flat_v.size <= self.dense_limit:
            s = unravel(_letcher_solve(jvp, y, flat_v, self.damping))
        else:
            s = _matrix_free_solve(jvp, pullback, v, self.solver, self.damping)
        (jts,) = pullback(s)
        return _axpy(0.5 * h, _axpy(1.0, jts, v), y), state


def _letcher_solve(jvp, y, flat_v, damping):
    """`J⁻¹v`, or `(JᵀJ + λI)⁻¹Jᵀv` where `det J = 0`, with J dense (one JVP per
    parameter): the notebook's rule."""
    _, unravel_y = jax.flatten_util.ravel_pytree(y)
    columns = jax.vmap(lambda e: jax.flatten_util.ravel_pytree(jvp(unravel_y(e)))[0])
    jac = columns(jnp.eye(flat_v.size, dtype=flat_v.dtype)).T
    eye = jnp.eye(flat_v.size, dtype=flat_v.dtype)
    return jax.lax.cond(
        jnp.linalg.det(jac) == 0,
        lambda: jnp.linalg.solve(jac.T @ jac + damping * eye, jac.T @ flat_v),
        lambda: jnp.linalg.solve(jac, flat_v),
    )


def _matrix_free_solve(jvp, pullback, v, solver, damping):
    """`J s = v` by a Krylov solve; where it fails (J singular), the damped normal
    equations `(JᵀJ + λI) s = Jᵀv` by CG."""
    structure = jax.eval_shape(lambda: v)
    solver = lx.GMRES(rtol=1e-8, atol=0.0, max_steps=200, restart=20) if solver is None else solver
    plain = lx.linear_solve(lx.FunctionLinearOperator(jvp, structure), v, solver, throw=False)
    ok = (plain.result == lx.RESULTS.successful) & jnp.all(
        jnp.isfinite(jax.flatten_util.ravel_pytree(plain.value)[0]))

    def damped():
        normal = lambda s: _axpy(damping, s, pullback(jvp(s))[0])  # noqa: E731
        operator = lx.FunctionLinearOperator(normal, structure, lx.positive_semidefinite_tag)
        cg = lx.CG(rtol=1e-10, atol=1e-12, max_steps=200)
        return lx.linear_solve(operator, pullback(v)[0], cg, throw=False).value

    return jax.lax.cond(ok, lambda: plain.value, damped)


class TwoTimescaleLSS(AbstractStepMethod):
    r"""Local symplectic surgery as Mazumdar, Jordan & Sastry's two-timescale procedure
    (arXiv 1901.00838), for zero-sum games. With `A = (H − Hᵀ)/2` the antisymmetric part
    of the game's Jacobian, LSS follows

        ξ_LSS = ξ − λ(y)·A H⁻¹ ξ           (= ½(ξ + HᵀH⁻¹ξ) where λ = 1),

    whose Jacobian at a critical point is `S = (H + Hᵀ)/2`: only strict local Nash
    equilibria are stable, and a non-Nash point that gradient play finds stable becomes a
    saddle. The procedure never solves `H w = ξ`: a second variable `w` tracks `H⁻¹ξ`
    on a faster timescale, by gradient descent on `½‖H w − ξ‖²`,

        y' = y − h (ξ − λ(y)·A w),      w' = w − β Hᵀ(H w − ξ),      w₀ = 0,

    both from `(y, w)`, with `β = fast_step` ≫ h (Hessian-vector products only: one
    JVP and two VJPs a step). The tracking is stable for `β·σ_max(H)² < 2`; on the
    paper's toy game β = 0.005 (the default) with h = 0.0005 separates the timescales.
    `λ(y) = exp(−bump·‖ξ(y)‖²)` is 1 at critical points; the
    paper's λ is a smooth function equal to 1 near critical points that removes the
    spurious zeros `ξ_LSS = 0, ξ ≠ 0` far from them; `bump = 0` (the default) keeps
    λ ≡ 1. The state is `w` (a PyTree like `y`)."""

    fast_step: float = 0.005
    bump: float = 0.0

    def evaluations(self):
        return 4  # the field, one JVP and two VJPs

    def linear_analysis(self) -> bool:
        return False  # the state w is part of the dynamics

    def init(self, game, y0, h, key):
        return jax.tree_util.tree_map(jnp.zeros_like, y0)

    def step(self, game, y, w, t, h, key):
        field = lambda p: game.field(p, key)  # noqa: E731
        v, jvp = jax.linearize(field, y)
        pullback = jax.linear_transpose(jvp, y)
        # In field terms (v = −ξ, J = −H): A w = −(Jw − Jᵀw)/2 and
        # Hᵀ(Hw − ξ) = Jᵀ(Jw − v).
        jw = jvp(w)
        residual = _axpy(-1.0, v, jw)
        (jtw,) = pullback(w)
        (jtr,) = pullback(residual)
        bump = jnp.exp(-self.bump * _dot(v, v))
        a_w = jax.tree_util.tree_map(lambda a, b: -0.5 * (a - b), jw, jtw)
        moved = _axpy(h, _axpy(bump, a_w, v), y)
        return moved, _axpy(-self.fast_step, jtr, w)


__all__ = ["ACGD", "CompetitiveGD", "ConsensusOptimization", "LOLA", "LocalSymplecticSurgery",
           "LookAheadOpponent", "SOS", "SymplecticGradientAdjustment", "TwoTimescaleLSS"]

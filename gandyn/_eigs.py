r"""Extreme eigenvalues of an operator known only by its products `u ↦ Au`: the one
top-k eigen solver behind `top_eigenvalues`/`top_eigenvectors` (`_analysis`) and
`top_spectrum` (`_landscape`).

Two ways, one ordering:

- `arnoldi(matvec, q0, m)`: `m` steps of Arnoldi with full reorthogonalisation,
  `A V_m = V_{m+1} H̄_m`, traceable (inside `jit`, a fixed `m`: what the training log
  runs at every checkpoint), then `ritz(V, H, m, k, which)`: the Ritz pairs
  `(λ_i, x_i = V_m s_i)` of `H_m s_i = λ_i s_i` with the residuals
  `‖A x_i − λ_i x_i‖ = h_{m+1,m}|s_i[m]|` (Saad 2011, *Numerical Methods for Large
  Eigenvalue Problems*, §6.2).
- `arpack(matvec, n, k, which, symmetric=…)`: ARPACK's implicitly restarted Arnoldi
  (`scipy.sparse.linalg.eigs`) or Lanczos (`eigsh`, a symmetric operator), iterated
  to convergence.

`which` is ARPACK's word in both: `"LM"` (largest magnitude), `"LR"`/`"SR"` (largest /
smallest real part), `"LA"`/`"SA"` (most positive / most negative, symmetric); `order`
sorts any set of eigenvalues by it, stably.

The flight recorder (`_recorder`) runs the same Arnoldi inside its compiled program
(`krylov_matrix`: `H_m` alone), on the game Jacobian and, as Lanczos, on each
player's Hessian (vmapped over probes, for spectral densities).

Why not `matfree.decomp.hessenberg` (or `tridiag_sym`): after a breakdown — an
invariant Krylov subspace, which ReLU networks' exact null directions and low-rank
games produce — matfree 0.6.3 goes on from the normalised rounding residue and its
`H_m` gains Ritz values outside the spectrum (on `diag(1, 2, 0, …, 0)`: 5.48 and
−0.86); here the rows after a breakdown stay zero, so the Ritz values are the exact
eigenvalues of the invariant subspace and zeros (`tests/test_slice.py`).
"""

import jax
import jax.numpy as jnp
import numpy as np

WHICH = ("LM", "LR", "SR", "LA", "SA")


def order(values, which: str = "LM") -> np.ndarray:
    """Indices sorting `values` by `which` (`"LM"`: decreasing magnitude, `"LR"`:
    decreasing real part, `"SR"`: increasing, `"LA"`/`"SA"` the same on real values),
    stable among ties."""
    values = np.asarray(values)
    key = {"LM": lambda: -np.abs(values), "LR": lambda: -values.real, "SR": lambda: values.real,
           "LA": lambda: -values.real, "SA": lambda: values.real}
    if which not in key:
        raise ValueError(f"which must be one of {', '.join(WHICH)}, got {which!r}")
    return np.argsort(key[which](), kind="stable")


def arnoldi(matvec, q0, m: int):
    """`(V, H)`: `m` Arnoldi steps on `matvec` from the unit vector `q0`, `V` the
    `(m + 1, n)` orthonormal basis (rows), `H` the `(m + 1, m)` Hessenberg matrix;
    classical Gram–Schmidt twice (full reorthogonalisation); a breakdown (`h_{j+1,j}`
    below 1e-12) leaves zero rows. Traceable: `m` must be static."""
    n = q0.size
    basis = jnp.zeros((m + 1, n), q0.dtype).at[0].set(q0)
    hess = jnp.zeros((m + 1, m), q0.dtype)

    def body(j, carry):
        basis, hess = carry
        w = matvec(basis[j])
        mask = (jnp.arange(m + 1) <= j)[:, None]
        for _ in range(2):  # classical Gram–Schmidt, twice: full reorthogonalisation
            coeffs = (basis * mask) @ w
            w = w - coeffs @ (basis * mask)
            hess = hess.at[:, j].add(coeffs)
        norm = jnp.linalg.norm(w)
        hess = hess.at[j + 1, j].set(norm)
        basis = basis.at[j + 1].set(
            jnp.where(norm > 1e-12, w / jnp.where(norm > 1e-12, norm, 1), 0))
        return basis, hess

    return jax.lax.fori_loop(0, m, body, (basis, hess))


def krylov_matrix(matvec, start, m: int):
    """`H_m`, the `m × m` Hessenberg matrix of `m` Arnoldi steps on `matvec` from the
    direction of `start` (any non-zero vector): tridiagonal up to rounding for a
    symmetric operator (Lanczos with full reorthogonalisation), its eigenvalues the Ritz
    values. A breakdown shows as a zero subdiagonal entry. Traceable; `m` static."""
    return arnoldi(matvec, start / jnp.linalg.norm(start), m)[1][:m]


def ritz_values(hessenberg, m: int, k: int, which: str = "LM") -> np.ndarray:
    """The `k` Ritz values of an Arnoldi factorisation (`H_m`'s eigenvalues) first by
    `which`."""
    values = np.linalg.eigvals(np.asarray(hessenberg)[:m, :m])
    return values[order(values, which)][:k]


def ritz(basis, hessenberg, m: int, k: int, which: str = "LM"
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(λ, X, r)`: the `k` Ritz values first by `which`, their Ritz vectors
    `X[:, i] = V_m s_i` (unit norm, complex) and residuals `r_i = h_{m+1,m}|s_i[m]|`."""
    basis, hessenberg = np.asarray(basis, dtype=float), np.asarray(hessenberg, dtype=float)
    values, small = np.linalg.eig(hessenberg[:m, :m])
    chosen = order(values, which)[:k]
    vectors = basis[:m].T @ small[:, chosen]
    vectors /= np.linalg.norm(vectors, axis=0)
    residuals = abs(hessenberg[m, m - 1]) * np.abs(small[m - 1, chosen])
    return values[chosen], vectors, residuals


def arpack(matvec, n: int, k: int, which: str = "LM", *, symmetric: bool = False,
           seed: int = 0, tol: float = 0.0, max_iterations: int | None = None,
           what: str = "operator") -> np.ndarray:
    """The `k` eigenvalues of the `n × n` operator `matvec` (NumPy in, NumPy out) first
    by `which`, by ARPACK (`eigsh` if `symmetric`, real; `eigs` otherwise, complex),
    from a seeded normal start vector. Needs `1 ≤ k ≤ n − 2` (`eigs`) or `n − 1`
    (`eigsh`); partial convergence returns the eigenvalues that converged; none is a
    `ValueError` naming `what`."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigs, eigsh

    limit = n - 1 if symmetric else n - 2
    if not isinstance(k, int) or not 1 <= k <= limit:
        raise ValueError(f"k must be an integer in 1..{limit} for this operator of size {n}, "
                         f"got {k!r}")
    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(n)
    try:
        values = (eigsh if symmetric else eigs)(op, k=k, which=which, v0=v0, tol=tol,
                                                maxiter=max_iterations,
                                                return_eigenvectors=False)
    except ArpackNoConvergence as e:
        if len(e.eigenvalues) == 0:
            raise ValueError(f"ARPACK found no converged eigenvalue of the {what}") from None
        values = e.eigenvalues
    values = np.asarray(values)
    if symmetric:
        values = values.real
    return values[order(values, which)]

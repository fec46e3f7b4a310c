"""The third-party APIs gandyn calls directly, checked on what is installed.

A new release of a dependency that renames or reorders these arguments fails here,
with the name of the API, instead of somewhere deep in a simulation."""

import inspect

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest


def parameters(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_diffrax_solver_init_and_step_signatures():
    assert parameters(diffrax.AbstractSolver.init)[:6] == ["self", "terms", "t0", "t1", "y0", "args"]
    assert parameters(diffrax.AbstractSolver.step)[:8] == [
        "self", "terms", "t0", "t1", "y0", "args", "solver_state", "made_jump"]


def test_diffrax_public_names_gandyn_uses():
    for name in ("ThirdOrderHermitePolynomialInterpolation", "ButcherTableau", "AbstractERK",
                 "AbstractRungeKutta", "ODETerm", "Euler", "Heun", "Midpoint", "ImplicitEuler",
                 "Tsit5", "Dopri5", "PIDController", "SaveAt", "VeryChord", "diffeqsolve"):
        assert hasattr(diffrax, name), name


def test_a_diffrax_step_returns_five_values_and_integrates():
    term = diffrax.ODETerm(lambda t, y, args: -y)
    solver = diffrax.Euler()
    state = solver.init(term, 0.0, 0.1, jnp.ones(()), None)
    out = solver.step(term, 0.0, 0.1, jnp.ones(()), None, state, made_jump=False)
    assert len(out) == 5
    assert float(out[0]) == pytest.approx(0.9)


def test_optax_update_and_equinox_serialisation_round_trip(tmp_path):
    opt = optax.adam(1.0)
    params = {"w": jnp.ones(3)}
    updates, _ = opt.update({"w": jnp.ones(3)}, opt.init(params), params)
    np.testing.assert_allclose(updates["w"], -1.0, rtol=1e-6)
    eqx.tree_serialise_leaves(tmp_path / "x.eqx", params)
    back = eqx.tree_deserialise_leaves(tmp_path / "x.eqx", {"w": jnp.zeros(3)})
    np.testing.assert_array_equal(back["w"], params["w"])
    assert jax.random.key_data(jax.random.key(0)).shape[-1] >= 1


def test_scipy_arpack_over_a_linear_operator():
    """`gandyn.top_spectrum` calls `eigs`/`eigsh` with these arguments on a
    `LinearOperator`."""
    import numpy as np
    from scipy.sparse.linalg import LinearOperator, eigs, eigsh

    matrix = np.diag(np.arange(1.0, 21.0))
    op = LinearOperator((20, 20), matvec=lambda u: matrix @ u, dtype=np.float64)
    values = eigs(op, k=2, which="LM", v0=np.ones(20), tol=0.0, maxiter=None,
                  return_eigenvectors=False)
    np.testing.assert_allclose(sorted(np.abs(values)), [19.0, 20.0], rtol=1e-12)
    values = eigsh(op, k=2, which="LM", v0=np.ones(20), tol=0.0, maxiter=None,
                   return_eigenvectors=False)
    np.testing.assert_allclose(sorted(values), [19.0, 20.0], rtol=1e-12)

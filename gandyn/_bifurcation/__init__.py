r"""Bifurcations of training: where an equilibrium loses stability, how, and what
training does instead.

`continuation(game, method, parameter, values)` follows an equilibrium `y*(p)` of the
field, `v(y*; p) = 0`, as a parameter `p` varies (Newton from the previous point;
pseudo-arclength where the branch folds), with at each point the eigenvalues `λ` of
the flow's Jacobian `J = ∂v/∂y` and the multipliers `μ` of the step map (the
eigenvalues of `step_matrix`). Its stability margin

    maps:   m(p) = max |μ| − 1,        flows:   m(p) = max Re λ,

changes sign at a bifurcation, which is located by root finding on `m` (Brent's
method, to 1e-12 in `p`), not by the grid, and named from the crossing multiplier:
a complex pair leaving the unit disc is a **Neimark–Sacker** point (a small invariant
closed curve, a "cycle", appears), a real multiplier through −1 a **flip** (period
doubling); for flows a complex pair crossing the imaginary axis is a **Hopf** point.
A real multiplier through +1 (eigenvalue through 0) is named by what the branch does:
a **fold** where it turns back (pseudo-arclength, Moore–Spence), a **transcritical**
or **pitchfork** point where the equilibrium persists through it (the normal form's
quadratic coefficient nonzero, or zero as under a symmetry).

Criticality comes from the normal form at the point (Kuznetsov 2004): the first
Lyapunov coefficient of a Neimark–Sacker or Hopf point, the cubic coefficient of a
flip or pitchfork, from the second and third derivatives of the step map (or field)
by `jax.jvp`; "degenerate" where it is zero to rounding (a linear map). Beyond the
point the attractor is measured by simulation from near the equilibrium, all
parameter values at once under `vmap` (converged, a cycle with its amplitude and
rotation number, a period-k orbit, chaos by a positive Lyapunov exponent, or diverged
at a step), which cross-checks the criticality (`Bifurcation.simulated`).

The parameter is `"h"` (the step size), a regularizer's registry name (its weight:
`"r1"`), any numeric field of the game's or the method's PyTree found by name
(`"real_point"`, `"discriminator_scale"`, `"regularizers.0.weight"`), or a callable
`p ↦ (game, method)`.

One concept a file: `_parameters` (names → setters, through the option table),
`_branch` (equilibria, folds, spectra along the branch), `_normal_forms`
(criticality), `_attractors` (simulated beyond the point), `_results` (what is
returned), `_continuation` (the entry point), `_chart` (two parameters).
"""

from ._chart import Chart as Chart, stability_chart as stability_chart
from ._continuation import (
    check_step_method as check_step_method,
    continuation as continuation,
    step_methods as step_methods,
)
from ._parameters import numeric_parameters as numeric_parameters
from ._results import (
    Attractor as Attractor,
    Bifurcation as Bifurcation,
    Continuation as Continuation,
)


__all__ = ["Attractor", "Bifurcation", "Chart", "Continuation", "continuation",
           "numeric_parameters", "stability_chart"]

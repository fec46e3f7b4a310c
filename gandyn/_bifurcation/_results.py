"""What a bifurcation diagram answers: `Bifurcation` (a located, named point),
`Attractor` (what training does at each value), `Continuation` (the whole diagram)."""

import dataclasses

import numpy as np



@dataclasses.dataclass(frozen=True)
class Bifurcation:
    """A bifurcation of the branch: the parameter `value`, its `kind`
    (`"neimark-sacker"`, `"flip"`, `"hopf"`; for a multiplier through +1, an
    eigenvalue through 0: `"fold"` where the branch turns back, `"transcritical"` or
    `"pitchfork"` where the equilibrium persists through it), the crossing multiplier
    (maps) or eigenvalue (flows) there, the equilibrium (flattened), and:

    - `coefficient`: the normal form's (see `_normal_form`): the first Lyapunov
      coefficient (Neimark–Sacker, Hopf), the cubic one (flip, pitchfork) or the
      quadratic one (fold, transcritical); None where it could not be computed.
    - `criticality`, from the coefficient's sign: `"supercritical"` (an attracting
      cycle or orbit appears on the unstable side), `"subcritical"`, `"degenerate"`
      (the coefficient is zero to rounding: the cubic terms do not decide), or None
      (fold, transcritical; or unknown).
    - `simulated`: the cross-check by simulation, once the attractor beyond the point
      is measured: `"supercritical"` (the first settled runs beyond it are a bounded
      cycle or orbit), `"subcritical"` (they diverge) or None (undecided)."""

    value: float
    kind: str
    crossing: complex
    point: np.ndarray
    criticality: str | None = None
    coefficient: float | None = None
    simulated: str | None = None


@dataclasses.dataclass(frozen=True)
class Attractor:
    """What simulation from near the equilibrium settles on, per parameter value.

    `status`: `"converged"`, `"converging"` (still contracting: slow near a
    bifurcation), `"cycle"` (an invariant closed curve: `rotation` turns per step,
    `period` = 1/rotation steps), `"period-k"` (`period` = k), `"chaos"` (largest
    Lyapunov exponent per step `lyapunov` > 0), `"diverging"` (bounded so far but
    growing) or `"diverged"` (`diverged_at`: the step). `amplitude`: min/mean/max
    distance from the equilibrium (from the orbit's mean where none is known) over
    the last stretch (`(values, 3)`); `orbit`: the visited values of coordinate
    `coordinate` over the last stretch (the orbit diagram)."""

    values: np.ndarray
    status: np.ndarray
    amplitude: np.ndarray
    period: np.ndarray
    rotation: np.ndarray
    lyapunov: np.ndarray
    diverged_at: np.ndarray
    orbit: np.ndarray
    coordinate: str
    centre: str

    def to_json(self) -> list[dict]:
        rows = []
        for i, value in enumerate(self.values):
            rows.append({
                "value": float(value), "status": str(self.status[i]),
                "amplitude": {"min": self.amplitude[i, 0], "mean": self.amplitude[i, 1],
                              "max": self.amplitude[i, 2]},
                "period": self.period[i], "rotation_number": self.rotation[i],
                "lyapunov": self.lyapunov[i],
                "diverged_at": int(self.diverged_at[i]) if self.diverged_at[i] >= 0 else None})
        return rows


@dataclasses.dataclass(frozen=True)
class Continuation:
    """A branch of equilibria `points` (flattened, `(m, n)`) over the parameter
    `values` (`(m,)`, in the order followed; grid values where `on_grid`, arclength
    points past a fold otherwise), the eigenvalues of J there (`(m, n)`), the step
    map's multipliers (`(m, k)`, None for a flow analysis), the stability `margin`
    (`max|μ| − 1` or `max Re λ`) and `stable` (`margin < −tol`), the located
    `bifurcations` and the `attractor` simulated at the grid values (None if not
    asked). `grid`: the values asked for; `lost`: grid values with no equilibrium on
    the branch (past a fold)."""

    parameter: str
    analysis: str
    grid: np.ndarray
    values: np.ndarray
    points: np.ndarray
    eigenvalues: np.ndarray
    multipliers: np.ndarray | None
    margin: np.ndarray
    stable: np.ndarray
    on_grid: np.ndarray
    bifurcations: tuple[Bifurcation, ...]
    attractor: Attractor | None
    coordinates: tuple[str, ...]
    lost: np.ndarray

    def to_json(self) -> dict:
        pair = lambda z: [float(z.real), float(z.imag)]  # noqa: E731
        branch = []
        for i, value in enumerate(self.values):
            row = {"value": float(value), "point": [float(x) for x in self.points[i]],
                   "eigenvalues": [pair(e) for e in self.eigenvalues[i]],
                   "margin": float(self.margin[i]), "stable": bool(self.stable[i]),
                   "on_grid": bool(self.on_grid[i])}
            if self.multipliers is not None:
                row["multipliers"] = [pair(m) for m in self.multipliers[i]]
            branch.append(row)
        return {
            "parameter": self.parameter, "analysis": self.analysis,
            "coordinates": list(self.coordinates), "branch": branch,
            "bifurcations": [{"value": b.value, "kind": b.kind, "crossing": pair(b.crossing),
                              "criticality": b.criticality, "coefficient": b.coefficient,
                              "simulated_criticality": b.simulated,
                              "point": [float(x) for x in b.point]} for b in self.bifurcations],
            "lost": [float(v) for v in self.lost],
            "attractor": None if self.attractor is None else self.attractor.to_json(),
        }

"""`stability_chart`: a two-parameter chart of stability, one continuation per row."""

import dataclasses
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from .._games import AbstractGame
from .._methods import AbstractMethod
from ._continuation import continuation
from ._parameters import _resolve


@dataclasses.dataclass(frozen=True)
class Chart:
    """A two-parameter stability chart: the bifurcation `boundary` (rows `(x, y)`
    with their `kinds`), found by continuation in x at each y, over the simulated
    attractor `status` of the grid (`(len(y_values), len(x_values))`)."""

    x_parameter: str
    y_parameter: str
    x_values: np.ndarray
    y_values: np.ndarray
    boundary: np.ndarray
    kinds: tuple[str, ...]
    status: np.ndarray
    amplitude: np.ndarray

    def to_json(self) -> dict:
        return {"x_parameter": self.x_parameter, "y_parameter": self.y_parameter,
                "x_values": self.x_values, "y_values": self.y_values,
                "boundary": [{"x": float(x), "y": float(y), "kind": k}
                             for (x, y), k in zip(self.boundary, self.kinds)],
                "status": [[str(s) for s in row] for row in self.status]}


def stability_chart(
    game: AbstractGame, method: AbstractMethod, x: tuple[str, Sequence[float]],
    y: tuple[str, Sequence[float]], *, h: float | None = None, transient: int = 3000,
    record: int = 500, simulate_grid: bool = True, **kwargs,
) -> Chart:
    """The stability chart over two parameters `x = (name, values)` and
    `y = (name, values)` (e.g. `("h", …)` and `("r1", …)`): at each y value a
    `continuation` in x gives the bifurcation points (the boundary curve), and the
    grid's attractors (one `vmap` per row) the outcome underneath."""
    x_name, x_values = x
    y_name, y_values = y
    y_values = np.asarray(y_values, dtype=float)
    y_setter, _ = _resolve(game, method, y_name)
    if y_setter.owner == "h" and h is not None:
        raise ValueError("the y parameter is the step size: give no h")
    boundary, kinds, status, amplitude = [], [], [], []
    dtype = jnp.result_type(float)
    for value in y_values:
        g, m, hh = y_setter(game, method, None if h is None else jnp.asarray(h, dtype),
                            jnp.asarray(value, dtype))
        result = continuation(g, m, x_name, x_values, h=None if hh is None else float(hh),
                              attractor=simulate_grid, transient=transient, record=record,
                              **kwargs)
        for b in result.bifurcations:
            boundary.append((b.value, value))
            kinds.append(b.kind)
        if simulate_grid:
            status.append(result.attractor.status)
            amplitude.append(result.attractor.amplitude[:, 2])
    return Chart(x_name, y_name, np.asarray(x_values, float), y_values,
                 np.asarray(boundary, float).reshape(-1, 2), tuple(kinds),
                 np.asarray(status, dtype=object), np.asarray(amplitude, float))

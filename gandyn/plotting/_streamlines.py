"""Streamlines of a field sampled on a grid, as `streamplot` draws them, integrated
for every seed at once with NumPy.

matplotlib's `streamplot` integrates one streamline at a time in Python (about a second
a panel); here every candidate line is integrated together, vectorised, and only the
density test (a line stops where it enters a cell another line, or itself, went
through) walks the lines one by one. The look is `streamplot`'s: a 30·density mask
grid, seeds in its spiral order from the edge inwards, lines of unit speed in axes
units up to 4 axes long (shorter than 0.1 dropped), coloured segment by segment, an
arrow halfway along each line.
"""

import matplotlib as mpl
import matplotlib.transforms as mtransforms
import numpy as np
from matplotlib.collections import LineCollection, PolyCollection

MAX_LENGTH = 4.0  # axes units, as streamplot's `maxlength`
MIN_LENGTH = 0.1  # as streamplot's `minlength`
CHUNK = 128  # seeds integrated together


def _interp(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of `field[y, x]` at fractional grid indices."""
    ny, nx = field.shape
    x0 = np.clip(np.floor(x).astype(int), 0, nx - 2)
    y0 = np.clip(np.floor(y).astype(int), 0, ny - 2)
    fx, fy = x - x0, y - y0
    a = field[y0, x0] * (1 - fx) + field[y0, x0 + 1] * fx
    b = field[y0 + 1, x0] * (1 - fx) + field[y0 + 1, x0 + 1] * fx
    return a * (1 - fy) + b * fy


def _spiral(nx: int, ny: int) -> np.ndarray:
    """Mask cells `(x, y)` in streamplot's seeding order: around the edge, inwards."""
    order, x, y = [], 0, 0
    xfirst, yfirst, xlast, ylast = 0, 1, nx - 1, ny - 1
    direction = "right"
    for _ in range(nx * ny):
        order.append((x, y))
        if direction == "right":
            x += 1
            if x >= xlast:
                xlast -= 1
                direction = "up"
        elif direction == "up":
            y += 1
            if y >= ylast:
                ylast -= 1
                direction = "left"
        elif direction == "left":
            x -= 1
            if x <= xfirst:
                xfirst += 1
                direction = "down"
        elif direction == "down":
            y -= 1
            if y <= yfirst:
                yfirst += 1
                direction = "right"
    return np.array(order)


def _integrate(ug, wg, starts, ds: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Backward and forward paths `(steps + 1, k, 2)` in grid indices from `starts`
    `(k, 2)`: Heun steps of arc length `ds` in axes units along `∓(ug, wg)` (the field
    in grid indices per unit time) at unit speed, all paths at once; NaN once a path
    leaves the grid or meets a zero of the field."""
    ny, nx = ug.shape
    speed = np.hypot(ug / (nx - 1), wg / (ny - 1))  # axes units per unit time
    with np.errstate(divide="ignore", invalid="ignore"):
        # Grid indices per axes unit of arc length (NaN where the field vanishes).
        unit = np.stack([ug, wg], -1) / np.where(speed > 0, speed, np.nan)[..., None]
    top = np.array([nx - 1, ny - 1], float)
    k = len(starts)
    sign = np.concatenate([-np.ones(k), np.ones(k)])[:, None]

    def velocity(p):
        x, y = p[:, 0], p[:, 1]
        x0 = np.minimum(x.astype(np.intp), nx - 2)
        y0 = np.minimum(y.astype(np.intp), ny - 2)
        fx, fy = (x - x0)[:, None], (y - y0)[:, None]
        v = (unit[y0, x0] * (1 - fx) + unit[y0, x0 + 1] * fx) * (1 - fy) \
            + (unit[y0 + 1, x0] * (1 - fx) + unit[y0 + 1, x0 + 1] * fx) * fy
        return v * sign[index]

    paths = np.full((steps + 1, 2 * k, 2), np.nan)
    p = np.concatenate([starts, starts]).astype(float)
    paths[0] = p
    index = np.arange(2 * k)  # the paths still running
    for n in range(steps):
        q = p[index]
        k1 = velocity(q)
        k2 = velocity(np.clip(np.nan_to_num(q + ds * k1), 0, top))  # NaN: ends below
        q = q + 0.5 * ds * (k1 + k2)
        alive = np.isfinite(q).all(1) & (q >= 0).all(1) & (q <= top).all(1)
        index, q = index[alive], q[alive]
        if not len(index):
            break
        p[index] = q
        paths[n + 1, index] = q
    return paths[:, :k], paths[:, k:]


def _walk(path_cells: np.ndarray, occupied: np.ndarray) -> tuple[int, np.ndarray]:
    """How many points of a path (mask cells `path_cells`, −1 past its end; the first
    is its seed's, already marked) it keeps: up to the first that enters a cell
    already `occupied` or one the path went through before; and the new cells it
    went through."""
    alive = np.flatnonzero(path_cells < 0)
    cells = path_cells[: alive[0] if len(alive) else len(path_cells)]
    # The points where the path enters a new cell.
    entering = np.flatnonzero(cells[1:] != cells[:-1]) + 1
    entered = cells[entering]
    _, first = np.unique(entered, return_index=True)
    repeat = np.ones(len(entered), bool)
    repeat[first] = False  # a cell entered a second time stops the path too
    stop = occupied[entered] | repeat | (entered == cells[0])
    hit = np.flatnonzero(stop)
    if len(hit):
        return int(entering[hit[0]]), entered[: hit[0]]
    return len(cells), entered


def streamlines(x: np.ndarray, y: np.ndarray, u: np.ndarray, w: np.ndarray,
                density: float = 1.0) -> list[np.ndarray]:
    """Streamlines of the field `(u, w)` sampled at `(x, y)` (1-D, evenly spaced;
    `u[j, i]` at `(x[i], y[j])`): a list of `(points, 2)` paths in data coordinates,
    evenly spread as `streamplot`'s are."""
    u, w = np.nan_to_num(np.asarray(u, float)), np.nan_to_num(np.asarray(w, float))
    ny, nx = u.shape
    # The field in grid indices per unit time.
    u, w = u / ((x[-1] - x[0]) / (nx - 1)), w / ((y[-1] - y[0]) / (ny - 1))
    mx = my = int(30 * density)
    cells = _spiral(mx, my)
    # Seeds at the mask cells' centres, in grid indices.
    to_grid = np.array([(nx - 1) / (mx - 1), (ny - 1) / (my - 1)])
    starts = cells * to_grid
    ds = 1.0 / max(mx, my)  # a mask cell, in axes units (streamplot's largest step)
    steps = int(np.ceil(MAX_LENGTH / ds))
    # Mask cell of every point (−1 where the path has ended).
    scale = np.array([(mx - 1) / (nx - 1), (my - 1) / (ny - 1)])

    def mask_cells(paths):
        valid = np.all(np.isfinite(paths), axis=-1)
        c = np.rint(np.where(valid[..., None], paths, 0) * scale).astype(int)
        return np.where(valid, c[..., 1] * mx + c[..., 0], -1)

    occupied = np.zeros(mx * my, bool)
    max_cells = MAX_LENGTH / ds
    lines = []
    seeds = cells[:, 1] * mx + cells[:, 0]
    position = 0
    while position < len(cells):
        # The next seeds whose cells are still free, integrated together (most seeds
        # of the spiral are covered by earlier lines and never integrated).
        free = np.flatnonzero(~occupied[seeds[position:]])[:CHUNK] + position
        if not len(free):
            break
        position = free[-1] + 1
        backward, forward = _integrate(u, w, starts[free], ds, steps)
        back_cells, fwd_cells = mask_cells(backward), mask_cells(forward)
        for k, start in enumerate(seeds[free]):
            if occupied[start]:
                continue
            occupied[start] = True
            mine, ends, budget = [np.array([start])], [], int(max_cells)
            for path_cells in (back_cells[:budget + 1, k], fwd_cells[:budget + 1, k]):
                n, visited = _walk(path_cells, occupied)
                occupied[visited] = True
                mine.append(visited)
                ends.append(n)
                budget -= n - 1
                if budget < 1:
                    break
            b, f = (ends + [1])[:2]
            path = np.concatenate([backward[b - 1:0:-1, k], forward[:f, k]])
            if (len(path) - 1) * ds < MIN_LENGTH or len(path) < 2:
                occupied[np.concatenate(mine)] = False
                continue
            lines.append(path)
    # Grid indices → data coordinates.
    x0, dx = x[0], (x[-1] - x[0]) / (nx - 1)
    y0, dy = y[0], (y[-1] - y[0]) / (ny - 1)
    return [np.stack([x0 + p[:, 0] * dx, y0 + p[:, 1] * dy], -1) for p in lines]


def draw_streamlines(ax, x, y, u, w, *, color: np.ndarray, cmap="Greys", norm=None,
                     density: float = 1.0, linewidth: float = 0.6, arrowsize: float = 0.7):
    """`ax.streamplot(x, y, u, w, color=…)`'s picture: lines as one `LineCollection`
    (segments coloured by `color` at their start, through `cmap`/`norm`), an arrow
    head halfway along each line as one `PolyCollection`. Returns the lines (a
    mappable for a colour bar)."""
    paths = streamlines(x, y, u, w, density)
    ny, nx = np.shape(u)
    segments, values, heads, at, head_values = [], [], [], [], []
    # Arrow heads of a fixed size in points whatever the axes' size, as streamplot's
    # (`mutation_scale = 10·arrowsize`): drawn in points around their data position.
    size = 6.5 * arrowsize  # head length, points
    for p in paths:
        gxp = (p[:, 0] - x[0]) / (x[-1] - x[0]) * (nx - 1)
        gyp = (p[:, 1] - y[0]) / (y[-1] - y[0]) * (ny - 1)
        c = _interp(np.asarray(color, float), gxp, gyp)
        segments.append(np.stack([p[:-1], p[1:]], 1))
        values.append(c[:-1])
        step = np.hypot(*np.diff(p, axis=0).T)
        s = np.cumsum(step)
        n = min(int(np.searchsorted(s, s[-1] / 2)), len(p) - 2)
        tail, tip = p[n], (p[n] + p[n + 1]) / 2
        direction = tip - tail
        norm_d = np.hypot(*direction)
        if norm_d == 0:
            continue
        d = direction / norm_d
        normal = np.array([-d[1], d[0]])
        apex, base = 0.5 * size * d, -0.5 * size * d
        heads.append([apex, base + 0.4 * size * normal, base - 0.4 * size * normal])
        at.append(tip)
        head_values.append(c[n])
    if norm is None:  # as streamplot: the colour values' range
        norm = mpl.colors.Normalize(np.nanmin(color), np.nanmax(color))
    if segments:
        lines = LineCollection(np.concatenate(segments), cmap=cmap, norm=norm, linewidths=linewidth,
                               capstyle="round")
        lines.set_array(np.concatenate(values))
    else:
        lines = LineCollection([], cmap=cmap, norm=norm, linewidths=linewidth)
        lines.set_array(np.array([]))
    ax.add_collection(lines)
    if heads:
        arrows = PolyCollection(heads, cmap=cmap, norm=norm, linewidths=0, offsets=np.array(at),
                                offset_transform=ax.transData,
                                transform=mtransforms.Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans)
        arrows.set_array(np.array(head_values))
        ax.add_collection(arrows)
    ax.update_datalim([[x[0], y[0]], [x[-1], y[-1]]])
    ax.autoscale_view()
    return lines

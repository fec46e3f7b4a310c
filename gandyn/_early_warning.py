r"""Early-warning signals from a run's recorded dynamics, the events they should
precede, and how well the first lead the second.

Everything here works on one seed's series at its log points (NumPy arrays, one entry
per log point, in step order); `warning_signals` turns the recorded quantities
(`gandyn.Recorder`, `rotation_share`) into boolean warnings, `collapse_events` turns a
training metric into event onsets, and `score_warnings` matches the two:

- an event at step `e` is *warned* when a warning is on at some log point in
  `[e − horizon, e)`; its *lead time* is `e` minus the earliest such point;
- a *false alarm* is a warning onset (the first point of a run of warnings) with no
  event onset in `(w, w + horizon]`, unless fewer than `horizon` steps of the run
  are left after it (then it cannot be judged and is not counted);
- `chance_share`: the share of events a warning series with the same pattern but an
  unrelated timing warns — the mean over every circular shift of the warning series —
  the base rate a signal must beat (a signal that is on all the time warns every event
  and raises no false alarm when events are frequent; the chance share shows that).

Signals (a missing value, None or NaN, counts as "no warning"):

- `unstable`: max Re λ(J) > 0 at this log point and the previous one (the point repels
  along some direction, sustained);
- `rotating`: the rotation share and max |Im λ(J)| both rose since the previous log
  point while the Hamiltonian `½‖v‖²` did not fall (Balduzzi et al. 2018,
  arXiv 1802.05642: a rotating field whose potential part no longer makes progress);
- `not_a_minimum_G`, `not_a_minimum_D`: that player's smallest Hessian eigenvalue below
  `−tolerance · (its largest)` at this log point and the previous one;
- `rise/NAME`: the quantity `NAME` above the mean plus `z` standard deviations of its
  previous `window` log points (a generic jump detector, applied to every recorded
  quantity so that their leads can be compared).
"""

import numpy as np

QUANTITIES = ("max_re_eig_J", "max_im_eig_J", "rotation_share", "hamiltonian",
              "min_eig_hessian_G", "max_eig_hessian_G", "min_eig_hessian_D",
              "max_eig_hessian_D", "path_cosine")
"""The recorded quantities `warning_signals` reads (keys of its `series`)."""


def _values(series: dict, name: str, n: int) -> np.ndarray:
    x = series.get(name)
    if x is None:
        return np.full(n, np.nan)
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def sustained(mask: np.ndarray, points: int = 2) -> np.ndarray:
    """True at log point `t` when `mask` holds at `t` and the `points − 1` before it."""
    mask = np.asarray(mask, bool)
    out = mask.copy()
    for k in range(1, points):
        out[k:] &= mask[:-k]
        out[:k] = False
    return out


def rise(x, *, window: int = 4, z: float = 2.0) -> np.ndarray:
    """True at `t` when `x[t] > mean(x[t−window:t]) + z·std(x[t−window:t])`, needing
    `window` finite previous values (the standard deviation floored at 1e-12·|mean|)."""
    x = np.asarray(x, float)
    out = np.zeros(len(x), bool)
    for t in range(window, len(x)):
        past = x[t - window:t]
        if np.all(np.isfinite(past)) and np.isfinite(x[t]):
            mean, spread = past.mean(), past.std()
            out[t] = x[t] > mean + z * max(spread, 1e-12 * abs(mean))
    return out


def warning_signals(series: dict, *, tolerance: float = 0.01, window: int = 4,
                    z: float = 2.0) -> dict[str, np.ndarray]:
    """The warnings of one seed's run. `series`: recorded quantity → values per log point
    (the names of `QUANTITIES`, without the `dynamics/` prefix; missing ones give no
    warning). Returns signal name → boolean array per log point (see the module's
    docstring for each definition)."""
    if not series:
        raise ValueError("warning_signals needs at least one recorded series, got none; "
                         f"the quantities it reads: {', '.join(QUANTITIES)}")
    n = max(len(v) for v in series.values())
    x = {name: _values(series, name, n) for name in QUANTITIES}
    with np.errstate(invalid="ignore"):
        previous = lambda a: np.concatenate([[np.nan], a[:-1]])  # noqa: E731
        signals = {"unstable": sustained(x["max_re_eig_J"] > 0)}
        im = np.abs(x["max_im_eig_J"])
        signals["rotating"] = ((x["rotation_share"] > previous(x["rotation_share"]))
                               & (im > previous(im))
                               & (x["hamiltonian"] >= previous(x["hamiltonian"])))
        for player in ("G", "D"):
            low, high = x[f"min_eig_hessian_{player}"], x[f"max_eig_hessian_{player}"]
            signals[f"not_a_minimum_{player}"] = sustained(
                low < -tolerance * np.abs(high))
        # Rises of every quantity; the smallest eigenvalues and the path cosine are
        # worrying when they fall, so their negatives are watched.
        for name in QUANTITIES:
            flip = name.startswith("min_eig") or name == "path_cosine"
            signals[f"rise/{'-' if flip else ''}{name}"] = rise(
                -x[name] if flip else x[name], window=window, z=z)
    return signals


def collapse_events(metric, *, drop: float | None = None, factor: float | None = None,
                    window: int = 3, persist: int = 1) -> np.ndarray:
    """Event onsets in a training metric per log point: with `drop`, where it falls to
    at least `drop` below its maximum over the previous `window` log points (modes or
    classes covered dropping); with `factor`, where it rises to at least `factor` times
    its minimum over them (a Fréchet-distance rise). The condition must hold at
    `persist` log points in a row (a collapse, not a one-point flicker); an event's
    onset is the first point of such a run. Missing values (None, NaN: a diverged
    seed) are never events."""
    if (drop is None) == (factor is None):
        raise ValueError("collapse_events needs exactly one of drop and factor")
    x = np.array([np.nan if v is None else v for v in metric], dtype=float)
    hit = np.zeros(len(x), bool)
    for t in range(1, len(x)):
        past = x[max(0, t - window):t]
        past = past[np.isfinite(past)]
        if not past.size or not np.isfinite(x[t]):
            continue
        hit[t] = x[t] <= past.max() - drop if drop is not None else x[t] >= factor * past.min()
    held = hit.copy()
    for k in range(1, persist):
        held[:-k] &= hit[k:]
        held[-k:] = False
    return onsets(held)


def onsets(mask) -> np.ndarray:
    """The first point of every run of True in `mask`."""
    mask = np.asarray(mask, bool)
    return mask & ~np.concatenate([[False], mask[:-1]])


def score_warnings(warnings, events, steps, *, horizon: int) -> dict:
    """How one run's `warnings` (boolean per log point) lead its event onsets (`events`,
    boolean per log point) at log steps `steps`, within `horizon` steps. Returns
    `events`, `warned`, `leads` (steps, one per warned event), `alarms` (warning onsets
    that can be judged), `false_alarms`, `steps` (the run's length) and
    `chance_warned` (the expected number of events warned by the warning series
    circularly shifted to a random other offset)."""
    warnings, events = np.asarray(warnings, bool), np.asarray(events, bool)
    steps = np.asarray(steps)

    def matched(w):
        leads = []
        for e in np.flatnonzero(events):
            before = (steps >= steps[e] - horizon) & (steps < steps[e]) & w
            if before.any():
                leads.append(int(steps[e] - steps[np.flatnonzero(before)[0]]))
        return leads

    leads = matched(warnings)
    alarms = false = 0
    for w in np.flatnonzero(onsets(warnings)):
        if steps[w] + horizon > steps[-1]:
            continue  # too late in the run to tell
        alarms += 1
        after = (steps > steps[w]) & (steps <= steps[w] + horizon) & events
        false += not after.any()
    shifts = range(1, len(warnings))
    chance = float(np.mean([len(matched(np.roll(warnings, k))) for k in shifts])) \
        if len(warnings) > 1 else 0.0
    return {"events": int(events.sum()), "warned": len(leads), "leads": leads,
            "alarms": alarms, "false_alarms": int(false), "steps": int(steps[-1] - steps[0]),
            "chance_warned": chance}

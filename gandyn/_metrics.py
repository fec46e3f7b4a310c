r"""Distances between generated samples and a target: modes, quality, divergences."""

import numpy as np

# What a training sweep's atlas and summary show: the first of these final metrics that
# the rows hold (lower is better).
FINAL_METRICS = ("kl", "fd", "fd_pixels", "energy")


def mode_coverage(samples, centres, std: float, *, radius: float = 3.0, min_share: float = 0.1):
    r"""`(modes covered, share of high-quality samples)`.

    A sample is high quality when it lies within `radius·σ` of some centre; a mode is
    covered when at least `min_share` of the count a uniform spread would give it
    (`n / modes`) falls within `radius·σ` of its centre (at least one sample).
    """
    x = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    c = np.asarray(centres, dtype=float).reshape(len(centres), -1)
    distance = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=-1)
    nearest = np.argmin(distance, axis=1)
    close = distance[np.arange(len(x)), nearest] <= radius * std
    counts = np.bincount(nearest[close], minlength=len(c))
    needed = max(1.0, min_share * len(x) / len(c))
    return int(np.sum(counts >= needed)), float(np.mean(close))


def pacgan_mode_metrics(samples, centres, std: float, *, threshold: float = 3.0) -> dict:
    r"""PacGAN's mode metrics (Lin et al. 2018, arXiv 1712.04086; `MetricLogger` in its
    code, `fjxmlzn/PacGAN`), exactly as defined there:

    - each sample is assigned to its nearest centre in units of σ,
      `d = ‖x − μ‖/σ`, when `d < threshold` (3); the others are not assigned;
    - `modes`: the number of centres with at least one assigned sample;
    - `high_quality`: the share of samples assigned, `Σ n_k / N`;
    - `reverse_kl`: `KL(p ‖ u) = Σ p_k ln(K p_k) = ln K − H(p)` in nats, of the
      histogram `p_k = n_k / Σ n_j` of the assigned samples over the K modes to the
      uniform `u_k = 1/K` (NaN when no sample is assigned). PacGAN's logger writes
      `entropy of coverage`, `H(p)` by `scipy.stats.entropy` (nats), from which the
      paper's reverse KL is `ln K − H(p)`.

    gandyn's own `mode_coverage` differs: a mode counts only when it holds a tenth of
    a uniform share (not one sample), and its radius is `≤ 3σ` in plain distance.
    Returns a dict with those three numbers and `counts` (the histogram `n_k`).
    """
    x = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    c = np.asarray(centres, dtype=float).reshape(len(centres), -1)
    distance = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=-1) / std
    nearest = np.argmin(distance, axis=1)
    assigned = distance[np.arange(len(x)), nearest] < threshold
    counts = np.bincount(nearest[assigned], minlength=len(c))
    total = counts.sum()
    if total:
        p = counts[counts > 0] / total
        reverse_kl = float(np.sum(p * np.log(len(c) * p)))
    else:
        reverse_kl = float("nan")
    return {"modes": int(np.count_nonzero(counts)), "high_quality": float(total / len(x)),
            "reverse_kl": reverse_kl, "counts": counts.tolist()}


def _histogram(x, edges):
    if x.shape[1] == 1:
        h, _ = np.histogram(x[:, 0], bins=edges[0])
    else:
        h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=edges)
    return h.ravel().astype(float)


def histogram_divergences(samples, reference, *, bins: int = 30, margin: float = 0.1,
                          eps: float = 1e-10) -> tuple[float, float]:
    r"""`(KL(P_ref ‖ P_model), JS(P_ref, P_model))` in bits, on a `bins`-per-axis grid
    histogram over the reference's bounding box widened by `margin` of its size (as GAN
    Lab does, 30×30). Samples outside the box are dropped; empty bins get `eps`."""
    x = np.asarray(samples, dtype=float).reshape(len(samples), -1)
    y = np.asarray(reference, dtype=float).reshape(len(reference), -1)
    lo, hi = y.min(axis=0), y.max(axis=0)
    pad = margin * (hi - lo)
    edges = [np.linspace(a - p, b + p, bins + 1) for a, b, p in zip(lo, hi, pad)]
    p = _histogram(y, edges) + eps
    q = _histogram(x, edges) + eps
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    kl = float(np.sum(p * np.log2(p / q)))
    js = float(0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m)))
    return kl, js


def energy_distance(x, y) -> float:
    r"""The energy distance `2E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖` (≥ 0, 0 iff the
    distributions agree), from all pairs of the two samples."""
    from scipy.spatial.distance import cdist, pdist

    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    within = lambda a: 2 * pdist(a).sum() / len(a) ** 2  # noqa: E731  (the zero diagonal included)
    return float(2 * cdist(x, y).mean() - within(x) - within(y))


def sample_metrics(samples, target, reference) -> dict:
    """Every metric of generated `samples` against a toy `target` (with `reference`
    samples drawn from it): modes and high-quality share where the target has modes,
    KL/JS on a grid histogram, energy distance, and mean/std in one dimension."""
    x = np.asarray(samples, dtype=float)
    out = {}
    if not np.all(np.isfinite(x)):
        return {"finite": False}
    if target.centres is not None:
        modes, quality = mode_coverage(x, target.centres, target.std)
        out.update(modes=modes, modes_total=len(target.centres), high_quality=quality)
    out["kl"], out["js"] = histogram_divergences(x, reference)
    out["energy"] = energy_distance(x[:1000], np.asarray(reference)[:1000])
    if x.shape[-1] == 1:
        out.update(mean=float(x.mean()), std=float(x.std()))
    return out

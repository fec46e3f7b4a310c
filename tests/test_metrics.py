import jax
import numpy as np
import pytest

from gandyn import data
from gandyn.metrics import energy_distance, histogram_divergences, mode_coverage, sample_metrics


@pytest.fixture
def ring():
    return data.get("ring8")


def test_ring_centres_are_eight_distinct_points_without_the_endpoint(ring):
    c = ring.centres
    assert c.shape == (8, 2)
    assert np.min(np.linalg.norm(c[:, None] - c[None], axis=-1) + 9 * np.eye(8)) > 1.5
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0)


def test_grids():
    assert data.get("grid25").centres.shape == (25, 2)
    np.testing.assert_allclose(sorted(set(data.get("grid25").centres[:, 0])), [-4, -2, 0, 2, 4])
    np.testing.assert_allclose(sorted(set(data.get("grid16").centres[:, 0])), [-1.5, -0.5, 0.5, 1.5])


def test_stratified_draws_hold_every_mode_equally_often():
    grid = data.Grid(side=4, spacing=1.0, std=0.02, stratified=True)
    x = np.asarray(grid.sample(jax.random.key(0), 512))
    nearest = np.argmin(np.linalg.norm(x[:, None] - grid.centres[None], axis=-1), axis=1)
    np.testing.assert_array_equal(np.bincount(nearest, minlength=16), np.full(16, 32))
    random = np.asarray(data.get("grid16").sample(jax.random.key(0), 512))
    counts = np.bincount(np.argmin(np.linalg.norm(random[:, None] - grid.centres[None], axis=-1), axis=1))
    assert counts.min() < 32 < counts.max()


def test_real_samples_cover_every_mode_with_high_quality(ring):
    x = ring.sample(jax.random.key(0), 4000)
    modes, quality = mode_coverage(x, ring.centres, ring.std)
    assert modes == 8
    assert quality == pytest.approx(1 - np.exp(-4.5), abs=0.005)  # mass of a 2-D Gaussian within 3σ


def test_one_mode_and_no_mode(ring):
    rng = np.random.default_rng(0)
    one = ring.centres[3] + ring.std * rng.normal(size=(1000, 2))
    assert mode_coverage(one, ring.centres, ring.std) == (1, pytest.approx(1.0, abs=0.01))
    nowhere = rng.normal(size=(1000, 2)) * 0.01  # all at the origin, far from every mode
    assert mode_coverage(nowhere, ring.centres, ring.std) == (0, 0.0)


def test_a_few_stray_samples_do_not_cover_a_mode(ring):
    rng = np.random.default_rng(1)
    x = np.concatenate([ring.centres[0] + ring.std * rng.normal(size=(990, 2)),
                        ring.centres[1] + ring.std * rng.normal(size=(5, 2))])
    modes, _ = mode_coverage(x, ring.centres, ring.std)
    assert modes == 1  # 5 samples < 10% of the 1000/8 a uniform spread would give


def test_divergences_are_zero_for_the_same_distribution_and_large_for_one_mode(ring):
    key1, key2 = jax.random.split(jax.random.key(0))
    a, b = ring.sample(key1, 20000), ring.sample(key2, 20000)
    kl, js = histogram_divergences(a, b)
    assert kl < 0.02 and js < 0.01
    one = np.repeat(ring.centres[:1], 20000, axis=0)
    kl, js = histogram_divergences(one, b)
    assert kl > 10 and js > 0.5
    assert energy_distance(a[:800], b[:800]) < 0.02 < energy_distance(one[:800], b[:800])


def test_energy_distance_of_shifted_gaussians():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 1)), rng.normal(size=(2000, 1)) + 1.0
    # For N(0,1) vs N(1,1): 2E|X−Y| − E|X−X'| − E|Y−Y'| with X−Y ~ N(−1, 2), X−X' ~ N(0, 2).
    from math import erf, exp, pi, sqrt

    s = sqrt(2)
    e_xy = s * sqrt(2 / pi) * exp(-1 / (2 * s**2)) + 1 * erf(1 / (s * sqrt(2)))
    expected = 2 * e_xy - 2 * s * sqrt(2 / pi)
    assert energy_distance(x, y) == pytest.approx(expected, abs=0.03)


def test_sample_metrics_in_one_dimension():
    target = data.get("gaussian")
    ref = target.sample(jax.random.key(1), 5000)
    m = sample_metrics(target.sample(jax.random.key(2), 5000), target, ref)
    assert abs(m["mean"]) < 0.05 and abs(m["std"] - 1) < 0.05 and m["modes"] == 1
    assert sample_metrics(np.full((10, 1), np.nan), target, ref) == {"finite": False}


def test_unknown_data_name():
    with pytest.raises(ValueError, match="unknown data 'ring9'; choose from: gaussian, bimodal, ring8"):
        data.get("ring9")

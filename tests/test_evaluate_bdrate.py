"""BD-rate: agrees with the bjontegaard package on clean curves, gives the exact answer
for a rate-scaled copy, and stays defined on flat and non-monotonic curves."""
import math

import bjontegaard
import numpy as np
import pytest

from npp.evaluate.bdrate import bd_rate, bootstrap_bd_rate, upper_envelope

RATE = np.array([0.15, 0.3, 0.6, 1.2, 2.0])
PSNR = np.array([29.0, 32.1, 35.0, 37.6, 39.2])


@pytest.mark.parametrize("scale", [0.8, 0.5, 1.25])
def test_scaled_copy_gives_exact_rate_change(scale):
    assert bd_rate(RATE, PSNR, scale * RATE, PSNR) == pytest.approx((scale - 1) * 100, abs=1e-9)


def test_matches_bjontegaard_package_on_clean_curves():
    test_rate = RATE * np.array([0.9, 0.85, 0.8, 0.82, 0.9])
    test_psnr = PSNR + np.array([0.1, 0.3, 0.2, 0.0, -0.1])
    ours = bd_rate(RATE, PSNR, test_rate, test_psnr)
    theirs = bjontegaard.bd_rate(RATE, PSNR, test_rate, test_psnr, method="pchip")
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours < 0


def test_accuracy_steps_and_dips_do_not_break_it():
    # top-1 on a few photos: repeated values and a dip at a higher rate
    acc = np.array([0.4, 0.6, 0.6, 0.8, 0.7])
    v = bd_rate(RATE, acc, 0.8 * RATE, acc)
    assert v == pytest.approx(-20.0, abs=1e-9)
    r, q = upper_envelope(RATE, acc)
    assert list(q) == [0.4, 0.6, 0.8] and list(r) == [0.15, 0.3, 1.2]


def test_unordered_points_are_sorted_by_rate():
    perm = [3, 0, 4, 1, 2]
    assert bd_rate(RATE[perm], PSNR[perm], 0.8 * RATE, PSNR) == pytest.approx(-20.0, abs=1e-9)


@pytest.mark.parametrize("q_anchor,q_test", [
    ([1, 1, 1, 1, 1], [1, 1, 1, 1, 1]),          # flat: nothing to compare
    ([0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1.0]),  # no common quality range
])
def test_undefined_cases_are_nan_not_errors(q_anchor, q_test):
    assert math.isnan(bd_rate(RATE, q_anchor, RATE, q_test))


def test_better_test_curve_is_negative_worse_is_positive():
    assert bd_rate(RATE, PSNR, RATE, PSNR + 1.0) < 0
    assert bd_rate(RATE, PSNR, RATE, PSNR - 1.0) > 0


def test_bootstrap_interval_brackets_a_consistent_saving():
    rng = np.random.default_rng(1)
    n, k = 12, len(RATE)
    pixels = np.full((n, k), 1e5)
    bits = RATE[None] * pixels * rng.uniform(0.7, 1.3, (n, 1))
    quality = PSNR[None] + rng.normal(0, 1.0, (n, 1))
    ratio = rng.uniform(0.75, 0.85, (n, 1))
    lo, hi = bootstrap_bd_rate((bits, pixels, quality), (bits * ratio, pixels, quality), samples=100)
    assert -25 < lo <= hi < -15


def test_bootstrap_needs_two_images():
    one = (np.ones((1, 3)), np.ones((1, 3)), np.array([[1.0, 2.0, 3.0]]))
    assert all(math.isnan(v) for v in bootstrap_bd_rate(one, one))

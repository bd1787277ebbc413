"""Bjontegaard delta rate between two rate-quality curves, robust to the curves a
classifier gives on a handful of photos (flat runs, dips, repeated values).

Fit: the `bjontegaard` package's PCHIP interpolation of log10(rate) as a function of
quality (monotone, so no cubic overshoot), integrated over the quality range both curves
cover. Before fitting, each curve is replaced by its operational upper envelope: sorted by
rate, quality becomes the best quality reachable at that rate or less (one can always pick
a cheaper QP), and points that add no quality are dropped. That makes quality strictly
increasing, which PCHIP needs, without inventing points."""
from __future__ import annotations

import math
import warnings
from typing import Sequence, Tuple

import numpy as np


def upper_envelope(rate: Sequence[float], quality: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """(rate, quality) of the points that raise the best quality seen so far, in rate order."""
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    keep = np.isfinite(r) & np.isfinite(q) & (r > 0)
    r, q = r[keep], q[keep]
    order = np.lexsort((-q, r))
    out_r, out_q = [], []
    best = -math.inf
    for i in order:
        if q[i] > best:
            out_r.append(r[i])
            out_q.append(q[i])
            best = q[i]
    return np.asarray(out_r), np.asarray(out_q)


def bd_rate(rate_anchor: Sequence[float], quality_anchor: Sequence[float],
            rate_test: Sequence[float], quality_test: Sequence[float]) -> float:
    """Average rate difference of `test` against `anchor` at equal quality, in percent
    (negative = test needs fewer bits). NaN when the curves share no quality range or
    either has fewer than two useful points. Quality must be higher-is-better."""
    import bjontegaard

    ra, qa = upper_envelope(rate_anchor, quality_anchor)
    rt, qt = upper_envelope(rate_test, quality_test)
    if len(ra) < 2 or len(rt) < 2:
        return float("nan")
    if min(qa.max(), qt.max()) <= max(qa.min(), qt.min()):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard.bd_rate(ra, qa, rt, qt, method="pchip",
                                    require_matching_points=False, min_overlap=0)
    return float(value)


def pooled_curve(bits: np.ndarray, pixels: np.ndarray, quality: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Curve of a set of images from (images x points) arrays: bpp = total bits / total
    pixels, quality = mean over images."""
    return bits.sum(axis=0) / pixels.sum(axis=0), quality.mean(axis=0)


def bootstrap_bd_rate(anchor: Tuple[np.ndarray, np.ndarray, np.ndarray],
                      test: Tuple[np.ndarray, np.ndarray, np.ndarray],
                      samples: int = 200, seed: int = 0, level: float = 0.95) -> Tuple[float, float]:
    """Percentile confidence interval of the BD-rate over images resampled with replacement.

    `anchor` and `test` are (bits, pixels, quality) arrays of shape (images, points) with
    the same images in the same order; each resample picks the same images for both
    (a paired comparison). NaN when fewer than two images or most resamples give no value."""
    n = anchor[0].shape[0]
    if n < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        idx = rng.integers(0, n, n)
        ra, qa = pooled_curve(*(a[idx] for a in anchor))
        rt, qt = pooled_curve(*(a[idx] for a in test))
        v = bd_rate(ra, qa, rt, qt)
        if math.isfinite(v):
            values.append(v)
    if len(values) < samples // 2:
        return float("nan"), float("nan")
    lo, hi = np.percentile(values, [50 * (1 - level), 100 - 50 * (1 - level)])
    return float(lo), float(hi)

"""Scores and yardsticks: the one place every backtest, benchmark, report and notebook takes them from.

Metrics (percent unless stated):

* :func:`error_summary` — MAPE (also alone: :func:`mape`), MedAPE, MPE (signed), over items with an outcome above 0;
  WAPE = Σ|p − a| / Σa and bias = Σ(p − a) / Σa over all items; n.
* :func:`brier`, :func:`reliability_table`, :func:`worst_reliability_gap`, :func:`hit_rates` —
  probability forecasts of a 0/1 outcome.
* :func:`skill` — 1 − model / yardstick (positive: the model is better).
* :func:`coverage` — percent of outcomes inside their interval.

Yardsticks (the forecasts a planner can make without a model), scored on the same items:

* :func:`persistence` — "the same as last year";
* :func:`persistence_growth` — last year × growth (e.g. of the entrant cohort);
* :func:`persistence_capped` — last year, capped at the known places;
* :func:`base_rate`, :func:`calibrated_persistence`, :func:`persistence_01` — for flags.

Pure functions on array-likes; nothing here reads files.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RELIABILITY_BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float).reshape(-1)


def _pair(p, a, what: str = "predictions") -> tuple[np.ndarray, np.ndarray]:
    p, a = _arr(p), _arr(a)
    if p.shape != a.shape:
        raise ValueError(f"{what} and outcomes differ in length: {len(p)} vs {len(a)}")
    return p, a


def error_summary(pred, actual) -> dict:
    """{'mape', 'medape', 'wape', 'bias', 'mpe', 'n'} in percent (n: number of items).

    MAPE, MedAPE and MPE (mean signed percentage error) over items whose outcome is above 0;
    WAPE = Σ|p − a| / Σa · 100 and bias = Σ(p − a) / Σa · 100 (size-weighted signed error) over
    all items. A NaN prediction or outcome is an error, never silently dropped. No items: n = 0 and
    NaN metrics.
    """
    p, a = _pair(pred, actual)
    if np.isnan(p).any():
        raise ValueError(f"{int(np.isnan(p).sum())} of {len(p)} predictions are NaN")
    if np.isnan(a).any():
        raise ValueError(f"{int(np.isnan(a).sum())} of {len(a)} outcomes are NaN")
    n = len(p)
    nan = float("nan")
    if n == 0:
        return {"mape": nan, "medape": nan, "wape": nan, "bias": nan, "mpe": nan, "n": 0}
    pos = a > 0
    pe = (p[pos] - a[pos]) / a[pos] * 100
    tot = a.sum()
    return {
        "mape": float(np.mean(np.abs(pe))) if pos.any() else nan,
        "medape": float(np.median(np.abs(pe))) if pos.any() else nan,
        "wape": float(np.abs(p - a).sum() / tot * 100) if tot > 0 else nan,
        "bias": float((p - a).sum() / tot * 100) if tot > 0 else nan,
        "mpe": float(np.mean(pe)) if pos.any() else nan,
        "n": int(n),
    }


def mape(pred, actual) -> float:
    """The MAPE of :func:`error_summary` alone, computed the same way (percent, over items whose
    outcome is above 0; NaN without such items; a NaN prediction or outcome is an error), for the
    many small scores a method selection computes."""
    p, a = _pair(pred, actual)
    if np.isnan(p).any() or np.isnan(a).any():
        raise ValueError(f"{int(np.isnan(p).sum())} predictions and {int(np.isnan(a).sum())} outcomes of "
                         f"{len(p)} are NaN")
    pos = a > 0
    if not pos.any():
        return float("nan")
    pe = (p[pos] - a[pos]) / a[pos] * 100
    return float(np.mean(np.abs(pe)))


def _probs(p, y) -> tuple[np.ndarray, np.ndarray]:
    p, y = _pair(p, y, "probabilities")
    if np.isnan(p).any() or np.isnan(y).any():
        raise ValueError(f"{int(np.isnan(p).sum())} probabilities and {int(np.isnan(y).sum())} outcomes are NaN")
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"{int(((p < 0) | (p > 1)).sum())} probabilities lie outside [0, 1]")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("outcomes must be 0 or 1")
    return p, y


def brier(p, y) -> float:
    """Mean squared difference between probability and 0/1 outcome (NaN for no items)."""
    p, y = _probs(p, y)
    return float(np.mean((p - y) ** 2)) if len(p) else float("nan")


def reliability_table(p, y, bins=RELIABILITY_BINS) -> pd.DataFrame:
    """Per probability bin: n, mean probability, observed frequency, gap = observed − mean_p.

    Bins are [b0, b1], (b1, b2], …: the lowest edge is included; empty bins are omitted.
    ``bin`` is a label such as '0.1–0.3'.
    """
    p, y = _probs(p, y)
    edges = np.asarray(bins, dtype=float)
    idx = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, len(edges) - 2)
    rows = []
    for i in range(len(edges) - 1):
        m = idx == i
        if m.any():
            mp, ob = float(p[m].mean()), float(y[m].mean())
            rows.append((f"{edges[i]:g}–{edges[i + 1]:g}", int(m.sum()), mp, ob, ob - mp))
    return pd.DataFrame(rows, columns=["bin", "n", "mean_p", "observed", "gap"])


def worst_reliability_gap(table: pd.DataFrame, min_n: int = 10) -> float:
    """Largest |gap| over bins with at least ``min_n`` items (NaN if there are none)."""
    t = table[table.n >= min_n]
    return float(t.gap.abs().max()) if len(t) else float("nan")


def hit_rates(p, y, threshold: float = 0.5) -> dict:
    """Items flagged (p ≥ threshold): how many, the share of them with the outcome; the outcome
    rate among the unflagged; recall (share of outcomes that were flagged). NaN where undefined."""
    p, y = _probs(p, y)
    f = p >= threshold
    nan = float("nan")
    return {
        "n_flagged": int(f.sum()),
        "hit_rate_flagged": float(y[f].mean()) if f.any() else nan,
        "rate_unflagged": float(y[~f].mean()) if (~f).any() else nan,
        "recall": float(f[y == 1].mean()) if (y == 1).any() else nan,
    }


def skill(model_score: float, yardstick_score: float) -> float:
    """1 − model / yardstick: 0.2 means a score 20% lower (better) than the yardstick's."""
    if not np.isfinite(yardstick_score) or yardstick_score == 0:
        return float("nan")
    return float(1.0 - model_score / yardstick_score)


def coverage(lo, hi, actual) -> float:
    """Percent of items with lo ≤ actual ≤ hi (NaN for no items)."""
    lo, hi, a = _arr(lo), _arr(hi), _arr(actual)
    if not (len(lo) == len(hi) == len(a)):
        raise ValueError(f"lo, hi and actual differ in length: {len(lo)}, {len(hi)}, {len(a)}")
    if len(a) == 0:
        return float("nan")
    return float(np.mean((lo <= a) & (a <= hi)) * 100)


# --- yardsticks ---------------------------------------------------------------------------

def persistence(prev) -> np.ndarray:
    """"The same as last year"."""
    return _arr(prev).copy()


def persistence_growth(prev, growth) -> np.ndarray:
    """Last year × growth (a ratio, e.g. projected entrants next year ÷ this year)."""
    return _arr(prev) * _arr(growth)


def persistence_capped(prev, places) -> np.ndarray:
    """Last year, capped at the known places: min(prev, places); unknown (NaN) places: prev."""
    p, c = _arr(prev), _arr(places)
    return np.where(np.isnan(c), p, np.minimum(p, c))


def base_rate(past_outcomes) -> float:
    """Share of past 0/1 outcomes that were 1 (NaN outcomes ignored; none: 0.5)."""
    y = _arr(past_outcomes)
    y = y[~np.isnan(y)]
    return float(y.mean()) if len(y) else 0.5


def calibrated_persistence(prev_state, past_prev_state, past_outcome) -> np.ndarray:
    """P(outcome | previous state), estimated from past (previous state, outcome) pairs.

    A previous state never seen in the past pairs, or a NaN previous state, gets the past base
    rate; with no past pairs at all, 0.5.
    """
    s = _arr(prev_state)
    ps, po = _pair(past_prev_state, past_outcome, "past states")
    ok = ~(np.isnan(ps) | np.isnan(po))
    ps, po = ps[ok], po[ok]
    if len(po) == 0:
        return np.full(len(s), 0.5)
    rate = float(po.mean())
    out = np.full(len(s), rate)
    for v in np.unique(ps):
        out[s == v] = po[ps == v].mean()
    return out


def persistence_01(prev_state, fill: float | None = None) -> np.ndarray:
    """Last year's 0/1 state as a probability; a NaN state gets ``fill`` (a base rate), else 0.5."""
    s = _arr(prev_state)
    return np.where(np.isnan(s), 0.5 if fill is None else float(fill), s)

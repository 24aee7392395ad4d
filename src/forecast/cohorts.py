"""Single-year population history, ages 0–19, by municipality and year (31 Dec).

The only single-year municipal figures are SCB's for 2019 (and any years fetched with
``forecast fetch scb``); every other year has exact age *bands* (0, 1–5, 6–12, 13–15, 16–18,
19). :func:`build_single_age_history` splits each band into single ages in proportion to a
*cohort proxy* for each age, then scales so the band total is kept exactly:

=========  =====================================================================  ===========
ages       proxy for age *a* at 31 Dec of year *t*                                 method
=========  =====================================================================  ===========
0, 19      the band is a single age                                                 exact
1–6        the municipality's 0-year-olds at 31 Dec *t − a* (the same cohort)      births_lag
7–15       pupils in grade *a − 6* in autumn *t* (Skolverket, school municipality)  grade_counts
16–18      the same cohort a year earlier, age *a − 1* at 31 Dec *t − 1*, as this   cohort_prev
           history holds it (home municipality; so last year's exact 16–18 band
           and any migration it showed carry over); in the first year: pupils in
           grade 9 in autumn *t − (a − 15)* (the same cohort at 15)                 grade_counts
any        where a proxy is missing: the county's single-age shares in year *t*    county_shares
           (SCB county series, 1968–2015), else the municipality's own exact        exact_shares
           shares from the latest exact year <= *t*, else the county's shares      county_shares_latest
           in the latest county year <= *t*
=========  =====================================================================  ===========

Where exact single ages exist (2019) they win. Every year is split using only data dated
at or before that year, so a history truncated at an origin is the history a forecaster
would have had then (the backtest relies on this). Rounding uses the largest-remainder method, so
single ages sum to the exact band in every municipality and year. See docs/methods.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ParameterError

# The proxy of ages 16–18 (docs/methods.md §1): "cohort" (the same cohort a year earlier in this
# history; in use), "grade9" (grade-9 counts 1–3 autumns earlier; the rule before session 2 of
# 2026-11-23) or "cohort15" (the same cohort's 15-year-olds in this history 1–3 years earlier).
# The last two are kept for benchmarks/cohort_floor.py, which compares the three.
OLDER_PROXIES = ("cohort", "grade9", "cohort15")
BANDS = {"0": (0, 0), "1-5": (1, 5), "6-12": (6, 12), "13-15": (13, 15), "16-18": (16, 18), "19": (19, 19)}
MAX_AGE = 19


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    w = np.asarray(weights, dtype=float)
    if total == 0:
        return np.zeros(len(w), dtype=np.int64)
    if w.sum() <= 0:
        w = np.ones(len(w))
    raw = total * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    short = int(total - base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:short]] += 1
    return base


def _proxies(bands: pd.DataFrame, pupils: pd.DataFrame) -> dict:
    """(kommun, year, age) -> proxy value, and where each came from."""
    age0 = bands[bands.age_band == "0"].set_index(["kommun_kod", "year"])["population"].to_dict()
    p = pupils[pupils.pupils.notna()].groupby(["kommun_kod", "school_year", "grade"])["pupils"].sum()
    grade = p.to_dict()
    return {"age0": age0, "grade": grade}


def _proxy(kommun: str, year: int, age: int, px: dict):
    if 1 <= age <= 6:
        v = px["age0"].get((kommun, year - age))
        return (float(v), "births_lag") if v is not None else (None, None)
    if 7 <= age <= 15:
        v = px["grade"].get((kommun, year, age - 6))
        return (float(v), "grade_counts") if v is not None else (None, None)
    if 16 <= age <= 18:
        v = px["grade"].get((kommun, year - (age - 15), 9))
        return (float(v), "grade_counts") if v is not None else (None, None)
    return None, None


def build_single_age_history(bands: pd.DataFrame, single_age: pd.DataFrame, pupils: pd.DataFrame,
                             municipalities, county: pd.DataFrame | None = None,
                             older: str = "cohort") -> pd.DataFrame:
    """kommun_kod, year, age (0–19), population, method — for the given municipalities.

    ``bands``: the population_bands table; ``single_age``: population_single_age (sexes are
    summed); ``pupils``: pupils_grundskola. Years are those with every derived band.
    ``older``: the proxy of ages 16–18, one of :data:`OLDER_PROXIES`.
    """
    if older not in OLDER_PROXIES:
        raise ParameterError(f"older must be one of {', '.join(OLDER_PROXIES)}, got {older!r}")
    codes = set(municipalities)
    b = bands[bands.kommun_kod.isin(codes) & bands.age_band.isin(list(BANDS))]
    wide = b.pivot_table(index=["kommun_kod", "year"], columns="age_band", values="population", aggfunc="first")
    wide = wide.dropna(subset=list(BANDS))
    sa = single_age[single_age.kommun_kod.isin(codes) & (single_age.age <= MAX_AGE)]
    exact = sa.groupby(["kommun_kod", "year", "age"])["population"].sum()
    exact_years = sorted({(k, int(y)) for k, y in exact.index.droplevel("age")}) if len(exact) else []
    exact_year_set = set(exact_years)
    px = _proxies(b, pupils[pupils.kommun_kod.isin(codes)])
    cty = {}
    if county is not None and len(county):
        cty = county[county.age <= MAX_AGE].groupby(["lan_kod", "year", "age"])["population"].sum().to_dict()
    county_years = sorted({y for _, y, _ in cty})

    def own_exact_year(kommun, year):
        """The latest year <= ``year`` with exact single ages for ``kommun`` (no look-ahead)."""
        ys = [y for k, y in exact_years if k == kommun and y <= year]
        return max(ys) if ys else None

    rows = []
    built: dict = {}   # (kommun, year, age) -> population as split so far (years ascend per kommun)
    for (kommun, year), r in wide.iterrows():
        year = int(year)
        if (kommun, year) in exact_year_set:
            for age in range(MAX_AGE + 1):
                n = int(exact.get((kommun, year, age), 0))
                rows.append((kommun, year, age, n, "exact"))
                built[(kommun, year, age)] = n
            continue
        for band, (lo, hi) in BANDS.items():
            total = int(r[band])
            ages = list(range(lo, hi + 1))
            if lo == hi:
                rows.append((kommun, year, lo, total, "exact"))
                built[(kommun, year, lo)] = total
                continue
            got = [_proxy(kommun, year, a, px) for a in ages]
            if band == "16-18" and older != "grade9":
                prev = [built.get((kommun, year - 1, a - 1)) if older == "cohort"
                        else built.get((kommun, year - (a - 15), 15)) for a in ages]
                if all(v is not None and v > 0 for v in prev):
                    got = [(float(v), "cohort_prev") for v in prev]
            if all(v is not None and v > 0 for v, _ in got):
                weights = np.array([v for v, _ in got])
                methods = [m for _, m in got]
            elif all((kommun[:2], year, a) in cty for a in ages):
                weights = np.array([float(cty[(kommun[:2], year, a)]) for a in ages])
                methods = ["county_shares"] * len(ages)
            elif (ref_year := own_exact_year(kommun, year)) is not None:
                weights = np.array([float(exact.get((kommun, ref_year, a), 0)) for a in ages])
                methods = ["exact_shares"] * len(ages)
            else:
                past = [y for y in county_years if y <= year]
                cy = past[-1] if past else None
                weights = np.array([float(cty.get((kommun[:2], cy, a), 1.0)) for a in ages])
                methods = ["county_shares_latest"] * len(ages)
            for a, n, m in zip(ages, largest_remainder(total, weights), methods):
                rows.append((kommun, year, a, int(n), m))
                built[(kommun, year, a)] = int(n)
    # Years after the last band year with exact single ages for every municipality the bands
    # cover (SCB single ages from `forecast fetch scb`): the population base moves forward to them.
    band_codes = {k for k, _ in wide.index}
    last_band = int(max(y for _, y in wide.index)) if len(wide) else None
    if last_band is not None and band_codes:
        newer = sorted({y for _, y in exact_years if y > last_band})
        for year in newer:
            have = {k for k, y in exact_years if y == year}
            if not band_codes <= have:
                break                 # an incomplete year (and any after it) is not a base
            for kommun in sorted(band_codes):
                for age in range(MAX_AGE + 1):
                    rows.append((kommun, year, age, int(exact.get((kommun, year, age), 0)), "exact"))
    out = pd.DataFrame(rows, columns=["kommun_kod", "year", "age", "population", "method"])
    return out.sort_values(["kommun_kod", "year", "age"]).reset_index(drop=True)

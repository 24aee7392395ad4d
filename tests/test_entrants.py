"""Entrants from the grade counts (forecast.entrants): hand-computed small cases, the nested weight
choice, and the real-data truncation test (nothing after the origin changes the forecast)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast import entrants as E
from forecast.errors import ParameterError
from forecast.projection import CohortHistory


def test_progression_ratios_shrink_small_municipalities_toward_the_pool():
    G = np.empty((2, 2, 9))
    G[0, 0], G[0, 1] = 100.0, 110.0     # A: every grade 100 -> next grade 110 a year later: 1.1
    G[1, 0], G[1, 1] = 300.0, 300.0     # B: 1.0; pooled (110 + 300) / (100 + 300) = 1.025
    assert E.progression_ratios(G, window=1, kappa=0) == pytest.approx(np.array([[1.1] * 8, [1.0] * 8]))
    r = E.progression_ratios(G, window=1, kappa=100)
    assert r[0] == pytest.approx([0.5 * 1.1 + 0.5 * 1.025] * 8)        # λ = 100 / (100 + 100)
    assert r[1] == pytest.approx([0.75 * 1.0 + 0.25 * 1.025] * 8)      # λ = 300 / (300 + 100)


def _stationary(years, bump=None):
    """One municipality, grade g has 10·g pupils every year; ``bump`` = (year, grade, pupils)."""
    G = np.tile(10.0 * np.arange(1, 10), (1, len(years), 1))
    if bump:
        y, g, v = bump
        G[0, list(years).index(y), g - 1] = v
    return np.array(years), G


def test_grade9_path_and_entrants_hand_computed():
    gyears, G = _stationary([2017, 2018, 2019, 2020], bump=(2020, 7, 100.0))
    # ratios over the pairs 2017→18 … 2019→20: r7 = (80·3)/(70·3) = 8/7, r8 = 9/8
    path = E.grade9_path(G, gyears, 2020, last_horizon=3)
    assert path[2020][0] == 90.0                                   # observed
    assert path[2021][0] == pytest.approx(80 * 9 / 8)              # grade 8 in 2020 × r8
    assert path[2022][0] == pytest.approx(100 * 8 / 7 * 9 / 8)     # grade 7 in 2020 × r7 × r8
    out = E.grade_entrants(G, gyears, 2020, np.array([0.5]), 2021, last_horizon=3)
    assert out[2021][0][0] == pytest.approx(0.5 * 90)              # grade 9 autumn 2020 -> 16 in 2021
    assert out[2023][0][0] == pytest.approx(0.5 * 900 / 7)
    assert out[2023][1][0] == pytest.approx(0.5 * (900 / 7 + 90 + 90))   # 16–18: grade 9 of 2022, 2021, 2020


def test_home_ratio_uses_the_exact_band_and_three_grade9_years():
    years = np.arange(2016, 2021)
    pop = np.zeros((1, len(years), 20))
    pop[0, :, 17] = [500, 500, 330, 330, 330]      # the 16–18 band (all in one age: only the sum counts)
    hist = CohortHistory(("0114",), years, pop)
    gyears = np.arange(2015, 2020)
    G = np.zeros((1, len(gyears), 9))
    G[0, :, 8] = 100.0
    # t with t + 1 ≤ 2020 and t − 2 ≥ 2015: 2017, 2018, 2019 -> (330 · 3) / (300 · 3)
    assert E.home_ratio(G, gyears, hist, ["0114"]) == pytest.approx([1.1])
    with pytest.raises(ParameterError, match="home-municipality ratio"):
        E.home_ratio(G, gyears, hist.truncate(2017), ["0114"])


def test_growth_corrected_replaces_projected_change_by_the_grade_counts():
    P, T = 2019, 2020
    gyears, G = _stationary([2016, 2017, 2018, 2019, 2020])
    G[:, :, :] = 100.0                            # progression ratios as known at 2019: 1
    G[0, -1, 8] = 110.0                           # grade 9 in autumn 2020 grew 10% more than usual
    central = np.arange(1, 1 + 10 * 20, dtype=float).reshape(1, 10, 20)
    out = E.growth_corrected(central, G, gyears, T, P, last_horizon=2)
    # entrants 2021 (aged 15 at 2020, grade 9): × 1.1; the 17- and 18-year-olds of 2021 left
    # grade 9 by autumn 2019 = P: no newer grade count, factor 1
    c = central[0, 2021 - P - 1]
    assert out[2021][0][0] == pytest.approx(c[16] * 1.1)
    assert out[2021][1][0] == pytest.approx(c[16] * 1.1 + c[17] + c[18])
    # origin = population year: nothing to correct
    same = E.growth_corrected(central, G[:, :-1], gyears[:-1], P, P, last_horizon=2)
    assert same[2020][1][0] == pytest.approx(central[0, 0, 16:19].sum())


def _item(P, actual, grade, cohort, growth=None):
    k = len(actual)
    d = {"grade16": np.asarray(grade) / 3, "grade16_18": np.asarray(grade, float),
         "cohort16": np.asarray(cohort) / 3, "cohort16_18": np.asarray(cohort, float),
         "growth16": np.asarray(cohort if growth is None else growth) / 3,
         "growth16_18": np.asarray(cohort if growth is None else growth, float),
         "cf16": np.full(k, np.nan), "cf16_18": np.full(k, np.nan),
         "actual16": np.asarray(actual) / 3, "actual16_18": np.asarray(actual, float)}
    return {"P": P, "years": {P + 1: d}, "persist16": np.ones(k), "persist16_18": np.ones(k)}


def test_choose_weights_nested_and_only_known_outcomes():
    # grade-based exact, cohort 10% high: with three earlier origins known, grade weight 1
    items = {o: _item(o, [100.0, 200.0], [100.0, 200.0], [110.0, 220.0]) for o in (2010, 2011, 2012, 2013)}
    assert E.choose_weights(items, 2013, 2013)[1] == ("grade", 1.0)
    # at 2013 with outcomes only to 2012, origin 2012's outcome (2013) is not known: two origins
    assert E.choose_weights(items, 2013, 2012)[1] == ("growth", 0.0)
    # half way is best when grade is 10% low and cohort 10% high
    items = {o: _item(o, [100.0], [90.0], [110.0]) for o in (2010, 2011, 2012)}
    assert E.choose_weights(items, 2013, 2013)[1] == ("grade", 0.5)


def test_score_entrants_uses_weights_from_earlier_origins_only():
    items = {o: _item(o, [100.0], [100.0], [110.0]) for o in (2010, 2011, 2012, 2013)}
    items[2013]["years"][2014]["grade16_18"] = np.array([150.0])   # a bad year for the grade counts
    t = E.score_entrants(items, codes=["0114"])
    nested = t[t.method == "nested"].set_index("origin")
    assert nested.loc[2013, "weight"] == 1.0 and nested.loc[2013, "component"] == "grade"
    assert nested.loc[2013, "forecast16_18"] == 150.0               # the outcome did not change its weight
    assert (nested.loc[[2010, 2011, 2012], "weight"] == 0.0).all()  # too few earlier origins
    s = E.summarise_entrants(t)
    assert s["age16_18"]["nested"]["1"]["mape"] == pytest.approx((10 + 10 + 10 + 50) / 4)
    assert s["age16_18"]["persistence"]["1"]["mape"] == pytest.approx(99.0)


@pytest.fixture(scope="module")
def real_tables():
    from forecast.data import load_table
    return {n: load_table(n) for n in ("pupils_kommun", "pupils_grundskola", "cohort_history")}


def test_project_entrants_ignores_everything_after_the_origin(real_tables):
    T = 2019
    got = E.project_entrants(real_tables, T, 2)
    assert list(got.columns) == ["kommun_kod", "year", "entrants", "lo80", "hi80", "basis"]
    assert len(got) == 28 * 2 and set(got.year) == {2020, 2021}
    assert (got.lo80 < got.entrants).all() and (got.entrants < got.hi80).all()
    # every input after the origin replaced by nonsense: identical entrants
    t = {n: d.copy() for n, d in real_tables.items()}
    for n in ("pupils_kommun", "pupils_grundskola"):
        late = t[n].school_year > T
        t[n].loc[late, "pupils"] = t[n].loc[late, "pupils"] * 3
    ch = t["cohort_history"]
    ch.loc[ch.year > T, "population"] = ch.loc[ch.year > T, "population"] * 5
    E._WEIGHT_CACHE.clear()
    again = E.project_entrants(t, T, 2)
    pd.testing.assert_frame_equal(got, again)
    # and the same with those years cut away
    cut = {n: d[d[("school_year" if n.startswith("pupils") else "year")] <= T] for n, d in real_tables.items()}
    E._WEIGHT_CACHE.clear()
    pd.testing.assert_frame_equal(got, E.project_entrants(cut, T, 2))


def test_project_entrants_refuses_an_origin_without_grade_counts(real_tables):
    with pytest.raises(ParameterError, match="no grade counts for autumn 2030"):
        E.project_entrants(real_tables, 2030, 1)


def test_interval_spread_and_out_of_sample_coverage():
    errs = {2010: np.arange(1, 11) / 100, 2011: np.arange(11, 21) / 100, 2012: np.arange(21, 31) / 100,
            2013: np.array([0.1] * 5 + [0.3] * 5)}
    items = {o: _item(o, [300.0] * 10, 300 * np.exp(e), 300 * np.exp(e)) for o, e in errs.items()}
    w = {h: ("growth", 0.0) for h in range(1, 10)}
    # 30 errors 0.01 … 0.30 before 2013: np.quantile at 0.8 = 0.242
    assert E.interval_spread(items, 2013, 2013, w)[("band16_18", 1)] == pytest.approx(0.242)
    assert ("band16_18", 1) not in E.interval_spread(items, 2011, 2011, w)     # 10 errors: too few
    # 2012 is scored with 0.162 (20 errors): its 0.21 … 0.30 all miss; 2013 with 0.242: 5 of 10 inside
    cov = E.interval_coverage(items)
    assert cov["band16_18"] == {"coverage_80": 25.0, "n": 20}


def test_project_entrants_first_year_adds_the_years_without_population(real_tables):
    P = int(real_tables["cohort_history"].year.max())
    T = P + 1                         # grade counts one autumn beyond the population
    got = E.project_entrants(real_tables, T, 1, first_year=P + 1)
    assert sorted(got.year.unique()) == [P + 1, P + 2]
    base = E.project_entrants(real_tables, T, 1)
    pd.testing.assert_frame_equal(got[got.year == P + 2].reset_index(drop=True), base)
    assert got.attrs["population_base_year"] == P
    with pytest.raises(ParameterError, match="first_year must be from"):
        E.project_entrants(real_tables, T, 1, first_year=P)

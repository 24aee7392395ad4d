"""Known answers for the cohort backtest's scoring (accuracy_table, county_accuracy, summarise,
interval_coverage, nested_interval_coverage) and for capacity.build_transition, on small hand-made
tables."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import (accuracy_table, county_accuracy, interval_coverage, nested_interval_coverage,
                               summarise)
from forecast.capacity import build_transition
from forecast.projection import CohortHistory, IntervalDesign


def _bt(rows):
    """rows: (method, origin, horizon, kommun_kod, forecast16_18, actual16_18)."""
    d = pd.DataFrame(rows, columns=["method", "origin", "horizon", "kommun_kod", "forecast16_18", "actual16_18"])
    d["forecast16"] = d.forecast16_18 / 3
    d["actual16"] = d.actual16_18 / 3
    d["chosen"] = d.method.where(d.method != "best", "shrunk")
    return d


def test_accuracy_table_hand_computed():
    bt = _bt([
        ("m", 2010, 1, "0114", 110.0, 100.0),     # +10%
        ("m", 2010, 1, "0115", 180.0, 200.0),     # −10%
        ("m", 2011, 1, "0114", 103.0, 100.0),     # +3%
        ("m", 2010, 2, "0114", 120.0, 100.0),     # +20%
        ("m", 2010, 1, "0330", 999.0, 100.0),     # outside the codes asked for
        ("m", 2010, 1, "0117", np.nan, 100.0),    # no forecast (no history at the origin): not scored
    ])
    t = accuracy_table(bt, codes=["0114", "0115", "0117"]).set_index(["method", "horizon"])
    h1 = t.loc[("m", 1)]
    assert h1.n == 3
    assert h1.mape == pytest.approx(23 / 3)
    assert h1.medape == pytest.approx(10.0)
    assert h1.malpe == pytest.approx(1.0)                     # (10 − 10 + 3) / 3
    assert h1.weighted_ape == pytest.approx(33 / 400 * 100)  # (10 + 20 + 3) / 400
    assert h1.bias == pytest.approx(-7 / 400 * 100)          # (10 − 20 + 3) / 400
    assert t.loc[("m", 2)].mape == pytest.approx(20.0)
    assert accuracy_table(bt).set_index(["method", "horizon"]).loc[("m", 1)].n == 4


def test_county_accuracy_sums_the_county_before_scoring():
    bt = _bt([
        ("m", 2010, 1, "0114", 110.0, 100.0),
        ("m", 2010, 1, "0115", 100.0, 100.0),     # county: 210 vs 200 -> +5%
        ("m", 2011, 1, "0114", 90.0, 100.0),
        ("m", 2011, 1, "0115", 100.0, 100.0),     # county: 190 vs 200 -> −5%
        ("m", 2010, 1, "0330", 500.0, 100.0),     # another county: ignored
    ])
    c = county_accuracy(bt).set_index(["method", "horizon"]).loc[("m", 1)]
    assert c.n == 2
    assert c.mape == pytest.approx(5.0)
    assert c.malpe == pytest.approx(0.0)


def _coverage_case(errors_T):
    """20 municipalities; origin 2002's one-year log errors are 0.01 … 0.20 (the error model for
    2003), origin 2003's are ``errors_T``. np.quantile of |e| at 0.8: 0.162; at 0.95: 0.1905."""
    codes = tuple(f"01{k:02d}" for k in range(20))
    years = np.arange(1999, 2005)
    hist = CohortHistory(codes, years, np.full((20, len(years), 20), 100.0))
    rows = []
    for o, errs in ((2002, np.arange(1, 21) / 100), (2003, np.asarray(errors_T))):
        for c, e in zip(codes, errs):
            rows.append(("best", o, 1, c, 300.0 * np.exp(e), 300.0))
    return hist, _bt(rows), codes


def test_interval_coverage_hand_computed():
    # at 2003: ten errors of 0.10 (inside both), five of 0.17 (outside 80%, inside 95%), five of 0.30
    errs = [0.10] * 10 + [-0.17] * 5 + [0.30] * 5
    hist, bt, codes = _coverage_case(errs)
    cov = interval_coverage(hist, bt, "best", codes, min_errors=20)
    assert cov["coverage_n"] == 20                      # origin 2002 has no earlier errors: not scored
    assert cov["coverage_80"] == pytest.approx(50.0)
    assert cov["coverage_95"] == pytest.approx(75.0)
    # only the codes asked for are scored
    assert interval_coverage(hist, bt, "best", codes[:10], min_errors=20)["coverage_80"] == pytest.approx(100.0)


def test_interval_coverage_two_sided_design():
    # signed errors 0.01 … 0.20 are all positive (over-forecasts): a two-sided 80% interval for
    # the outcome is f·exp(−q90) … f·exp(−q10), q10 = 0.029, q90 = 0.181 (np.quantile, linear)
    errs = [0.10] * 10 + [0.02] * 5 + [-0.05] * 5
    hist, bt, codes = _coverage_case(errs)
    sym = interval_coverage(hist, bt, "best", codes, min_errors=20)
    two = interval_coverage(hist, bt, "best", codes, min_errors=20, design=IntervalDesign((), False))
    assert sym["coverage_80"] == pytest.approx(100.0)
    assert two["coverage_80"] == pytest.approx(50.0)


def test_nested_interval_coverage_scores_only_designs_chosen_earlier():
    # Two designs; with too few earlier intervals (MIN_DESIGN_ITEMS) no origin can be scored.
    errs = [0.10] * 20
    hist, bt, codes = _coverage_case(errs)
    out = nested_interval_coverage(hist, bt, "best", codes, min_errors=20)
    assert out["coverage_n"] == 0 and out["design_by_origin"] == {}
    assert math.isnan(out["coverage_80"])
    # the per-design comparison over all origins still reports the single origin 2003
    assert out["per_design_all_origins"]["pooled, symmetric"]["coverage_80"] == pytest.approx(100.0)


def test_summarise_headline_is_the_nested_best_row():
    rows = []
    for h in (1, 3, 5):
        rows += [("best", 2010, h, "0114", 104.0, 100.0), ("best", 2010, h, "0115", 196.0, 200.0),
                 ("carry_forward", 2010, h, "0114", 90.0, 100.0), ("carry_forward", 2010, h, "0115", 180.0, 200.0),
                 ("ensemble", 2010, h, "0114", 101.0, 100.0), ("ensemble", 2010, h, "0115", 202.0, 200.0),
                 ("shrunk", 2010, h, "0114", 103.0, 100.0), ("shrunk", 2010, h, "0115", 197.0, 200.0)]
    bt = _bt(rows)
    hist = CohortHistory(("0114", "0115"), np.arange(2005, 2016), np.full((2, 11, 20), 40.0))
    out = summarise(hist, bt, codes=["0114", "0115"])
    assert out["headline"]["row"] == "best"
    assert out["headline"]["mape"] == {"1": 3.0, "3": 3.0, "5": 3.0}          # (4 + 2) / 2
    assert out["headline"]["malpe"]["1"] == pytest.approx(1.0)               # (4 − 2) / 2
    assert out["headline"]["bias"]["1"] == pytest.approx(0.0)                # (4 − 4) / 300
    assert out["headline"]["carry_forward_mape"]["5"] == pytest.approx(10.0)
    assert out["headline"]["wape"]["1"] == pytest.approx(8 / 300 * 100, abs=1e-3)   # (4 + 4) / 300
    # age 16 (a third of the band here) replaced by the outcome's: 0114 104 − 104/3 + 100/3 = 102.67
    # (APE 2.67), 0115 196 − 196/3 + 200/3 = 197.33 (APE 1.33) -> 2.0
    assert out["headline"]["mape_h1_if_age16_known"] == pytest.approx(2.0, abs=1e-3)
    assert out["best_vs_carry_forward_pct_lower"]["3"] == pytest.approx(70.0)
    # the best single method over all origins is reported, but labelled in-sample
    assert out["lowest_mean_mape_h1_5_in_sample"] == "ensemble"
    assert out["chosen_at_latest_origin"] == "shrunk"
    assert "best_method" not in out


def test_build_transition_hand_computed():
    adm = pd.DataFrame({
        "year": [2020, 2020, 2020, 2021, 2021, 2021, 2022, 2022, 2022, 2022],
        "programme_group": ["HF", "YP", "IM", "HF", "YP", "IM", "HF", "YP", "IM", "HF"],
        "admitted": [500, 300, 50, 550, 300, 60, 600, 330, 40, 999],
        "in_totals": [True] * 9 + [False],          # a repeated programme total: not counted
    })
    age16 = pd.Series({2020: 1000.0, 2021: 1000.0, 2022: 1100.0})
    tr = build_transition(adm, age16)
    rates = tr.observed.set_index(["year", "group"]).rate
    assert rates[(2022, "HF")] == pytest.approx(600 / 1100)
    # one-year rate forecasts of 2021 and 2022 (HF, IM, YP each) by the mean of the earlier years
    # and by the last year: 2021 both .50/.30/.05 -> APE 9.09, 0, 16.67; 2022 mean .525/.30/.055,
    # last .55/.30/.06 against 6/11, 3/11, 4/110
    hf, yp, im = 600 / 1100, 330 / 1100, 40 / 1100
    ape_mean = [abs(.5 - .55) / .55, 0, abs(.06 - .05) / .06,
                abs(.525 - hf) / hf, abs(.3 - yp) / yp, abs(.055 - im) / im]
    ape_last = [abs(.5 - .55) / .55, 0, abs(.06 - .05) / .06,
                abs(.55 - hf) / hf, abs(.3 - yp) / yp, abs(.06 - im) / im]
    assert tr.backtest_ape["mean"] == pytest.approx(np.mean(ape_mean) * 100)
    assert tr.backtest_ape["last"] == pytest.approx(np.mean(ape_last) * 100)
    assert tr.rule == "mean"                           # 13.5% vs 15.3%
    assert tr.rate["HF"] == pytest.approx((.5 + .55 + hf) / 3)
    assert tr.entrants(np.array([2000.0]), "YP")[0] == pytest.approx(2000 * (.3 + .3 + yp) / 3)

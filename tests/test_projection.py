"""Cohort projection: hand-computed small cases, demographic invariants, bad input, real data."""
import numpy as np
import pandas as pd
import pytest

from forecast.backtest import build_error_model, forecast_errors, run_backtest, select_method
from forecast.cohorts import build_single_age_history
from forecast.errors import ParameterError
from forecast.projection import (CohortHistory, ErrorModel, MethodParams, migration_shift, project_array,
                                 project_cohorts)
from forecast.scenarios import read_scenario


def _hist(pops: dict, years=(2000, 2001, 2002)) -> CohortHistory:
    """pops: code -> (Y, 20) array."""
    codes = tuple(sorted(pops))
    return CohortHistory(codes, np.array(years), np.stack([np.asarray(pops[c], float) for c in codes]))


def _flat(value, years=3):
    return np.full((years, 20), float(value))


def test_carry_forward_only_ages_the_cohort():
    P = np.arange(60, dtype=float).reshape(1, 3, 20)
    X = project_array(P, np.array(["01"]), 3, "carry_forward")
    last = P[0, -1]
    assert list(X[0, 0, 1:]) == list(last[:-1])           # everyone one year older
    assert list(X[0, 2, 3:]) == list(last[:-3])           # three years on
    assert X[0, 0, 0] == pytest.approx(P[0, :, 0].mean())  # births: mean of last 3 years' 0-year-olds


def test_hamilton_perry_hand_computed():
    # Ages grow by 10% per year of ageing in the data: P(a+1, y+1) = 1.1 * P(a, y).
    P = np.zeros((1, 3, 20))
    P[0, 0] = 100.0
    P[0, 1, 1:] = 110.0
    P[0, 1, 0] = 100.0
    P[0, 2, 1:] = 110.0
    P[0, 2, 2:] = 121.0
    P[0, 2, 0] = 100.0
    P[0, 2, 1] = 110.0
    X = project_array(P, np.array(["01"]), 1, "hamilton_perry", MethodParams(window=1))
    # window 1: ratio for age a -> a+1 from 2001 -> 2002 only: R(0)=110/100, R(a>=1)=121/110 = 1.1
    assert X[0, 0, 1] == pytest.approx(100.0 * 1.1)
    assert X[0, 0, 3] == pytest.approx(121.0 * 1.1)
    # window 2 pools both transitions: age 1 -> 2: (121 + 110) / (110 + 100) = 1.1
    X2 = project_array(P, np.array(["01"]), 1, "hamilton_perry", MethodParams(window=2))
    assert X2[0, 0, 2] == pytest.approx(110.0 * 231 / 210)


def test_shrunk_is_between_own_and_county_and_sums_to_county():
    a = np.zeros((3, 20))
    a[:] = 100.0
    b = np.zeros((3, 20))
    b[:] = 1000.0
    b[1:, 1:] = 1200.0                 # big municipality grows: ratio 1.2 in the first transition
    hist = _hist({"0114": a, "0115": b})
    P, c = hist.pop, hist.counties
    own = project_array(P, c, 2, "hamilton_perry", MethodParams(window=2))
    sh = project_array(P, c, 2, "shrunk", MethodParams(window=2, kappa=100.0))
    # county projection (pooled county ratios on the county sum) equals the sum of the shrunk ones
    C = P.sum(axis=0, keepdims=True)
    county = project_array(C, np.array(["01"]), 2, "hamilton_perry", MethodParams(window=2))
    assert sh.sum(axis=0) == pytest.approx(county[0])
    # kappa -> 0 gives own ratios before raking: the county total is still kept
    sh0 = project_array(P, c, 2, "shrunk", MethodParams(window=2, kappa=1e-9))
    assert sh0.sum(axis=0) == pytest.approx(county[0])
    assert np.all(sh >= 0)
    # the ensemble is the mean of hamilton_perry and shrunk
    ens = project_array(P, c, 2, "ensemble", MethodParams(window=2, kappa=100.0))
    assert ens == pytest.approx((own + sh) / 2)


def test_linear_trend_hand_computed():
    P = np.zeros((1, 3, 20))
    P[0, :, 5] = [10.0, 20.0, 30.0]     # slope 10 per year
    P[0, :, 6] = [30.0, 20.0, 10.0]     # falls to 0 and is clipped there
    X = project_array(P, np.array(["01"]), 4, "linear", MethodParams(window=3))
    assert list(X[0, :, 5]) == pytest.approx([40.0, 50.0, 60.0, 70.0])
    assert list(X[0, :, 6]) == pytest.approx([0.0, 0.0, 0.0, 0.0])


def test_migration_scenarios_order_low_main_high():
    rng = np.random.default_rng(3)
    P = 100 * np.cumprod(1 + rng.normal(0.01, 0.02, size=(2, 12, 20)), axis=1)
    low, main, high = (migration_shift(P, s) for s in ("low", "main", "high"))
    assert np.all(low <= 0) and np.all(main == 0) and np.all(high >= 0)
    c = np.array(["01", "01"])
    xs = [project_array(P, c, 5, "hamilton_perry", MethodParams(), s) for s in (low, main, high)]
    assert np.all(xs[0][:, :, 16:19].sum(axis=2) <= xs[1][:, :, 16:19].sum(axis=2) + 1e-9)
    assert np.all(xs[2][:, :, 16:19].sum(axis=2) >= xs[1][:, :, 16:19].sum(axis=2) - 1e-9)


def test_intervals_widen_with_horizon_and_paths_match_them():
    rng = np.random.default_rng(0)
    errors = {("age16", h, 0): rng.normal(0, 0.01 * h, 500) for h in range(1, 4)}
    errors |= {("band16_18", h, 0): rng.normal(0, 0.01 * h, 500) for h in range(1, 4)}
    em = ErrorModel(errors=errors, rho=0.3)
    widths = [em.interval("band16_18", h, 0, 80) for h in (1, 2, 3)]
    assert widths[0][1] < widths[1][1] < widths[2][1]
    assert widths[0][0] > widths[1][0] > widths[2][0]
    hist = _hist({"0114": _flat(100) * np.arange(1, 4)[:, None], "0115": _flat(50)})
    proj = project_cohorts(hist, 2002, 3, "carry_forward", params=MethodParams(), errors=em)
    tab = proj.table()
    assert (tab.lo95 <= tab.lo80).all() and (tab.lo80 <= tab.population).all()
    assert (tab.population <= tab.hi80).all() and (tab.hi80 <= tab.hi95).all()
    paths = proj.simulate(4000, np.random.default_rng(1))
    lo, hi = em.interval("age16", 2, 0, 80)
    central = proj.central[:, 1, 16]
    inside = ((paths[:, :, 1] >= central * lo) & (paths[:, :, 1] <= central * hi)).mean()
    assert inside == pytest.approx(0.80, abs=0.03)


def test_bad_parameters_name_the_parameter():
    hist = _hist({"0114": _flat(100, 6)}, years=tuple(range(2000, 2006)))
    em = ErrorModel(errors={("age16", 1, 0): np.zeros(30)})
    with pytest.raises(ParameterError, match="horizon"):
        project_cohorts(hist, 2005, 0, "carry_forward", params=MethodParams(), errors=em)
    with pytest.raises(ParameterError, match="horizon"):
        project_cohorts(hist, 2005, 21, "carry_forward", params=MethodParams(), errors=em)
    with pytest.raises(ParameterError, match="base_year must be from 2002 to 2005"):
        project_cohorts(hist, 2030, 5, "carry_forward", params=MethodParams(), errors=em)
    with pytest.raises(ParameterError, match="unknown method 'hamiltonperry'"):
        project_cohorts(hist, 2005, 5, "hamiltonperry")
    with pytest.raises(ParameterError, match="unknown scenario 'medium'.*low, main, high"):
        project_cohorts(hist, 2005, 5, "carry_forward", scenario="medium", params=MethodParams(), errors=em)
    with pytest.raises(ParameterError, match=r"unknown municipality code\(s\) \['9999'\]"):
        project_cohorts(hist, 2005, 5, "carry_forward", codes=["9999"], params=MethodParams(), errors=em)


def _scenario(tmp_path, text):
    p = tmp_path / "s.yml"
    p.write_text(text, encoding="utf-8")
    return p


def test_scenario_file_validation(tmp_path):
    ok = _scenario(tmp_path, 'name: Bostäder\npopulation:\n  - {kommun_kod: "0114", year: 2004, persons: 60}\n')
    sc = read_scenario(ok, {"0114"})
    assert sc.population.persons.tolist() == [60.0] and sc.label.startswith("Hypotetiskt")
    for text, msg in [
        ('name: x\npopulation:\n  - {kommun_kod: "0999", year: 2004, persons: 6}\n', "kommun_kod '0999'"),
        ('name: x\npopulation:\n  - {kommun_kod: "0114", year: 2004, persons: -6}\n', "persons must be >= 0"),
        ('name: x\npopulation:\n  - {kommun_kod: "0114", year: 2004, persons: many}\n', "persons must be a number"),
        ('name: x\npopulaton: []\n', r"unknown key\(s\) \['populaton'\]"),
        ('name: x\nhypothetical: false\n', "hypothetical must be true"),
        ('name: x\npopulation:\n  - {kommun_kod: 114, year: 2004, persons: 6}\n', "quoted 4-character"),
    ]:
        with pytest.raises(ParameterError, match=msg):
            read_scenario(_scenario(tmp_path, text), {"0114"})


def test_adjustment_adds_persons_who_then_age():
    hist = _hist({"0114": _flat(100, 6)}, years=tuple(range(2000, 2006)))
    em = ErrorModel(errors={(q, h, 0): np.zeros(30) for q in ("age16", "band16_18") for h in (1, 2, 3)})
    adj = pd.DataFrame({"kommun_kod": ["0114"], "year": [2006], "persons": [200.0]})
    base = project_cohorts(hist, 2005, 3, "carry_forward", params=MethodParams(), errors=em)
    more = project_cohorts(hist, 2005, 3, "carry_forward", adjustments=adj, params=MethodParams(), errors=em)
    assert more.hypothetical and not base.hypothetical
    d = more.central - base.central
    assert d[0, 0].sum() == pytest.approx(200.0)          # 200 persons, spread over ages 0–19 (10 each)
    assert d[0, 1, 6] == pytest.approx(10.0)              # last year's 5-year-olds are 6 now
    with pytest.raises(ParameterError, match="outside the projection years 2006–2008"):
        project_cohorts(hist, 2005, 3, "carry_forward", params=MethodParams(), errors=em,
                        adjustments=adj.assign(year=2012))


# --- real data -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tables():
    from forecast.data import load_table
    return {n: load_table(n) for n in ("population_bands", "population_single_age", "pupils_grundskola",
                                       "county_population", "municipalities", "cohort_history")}


def test_no_look_ahead_history_and_forecasts(tables):
    """Truncating every input after the origin gives the same history and the same forecasts."""
    t = tables
    origin = 2014
    full = CohortHistory.from_frame(t["cohort_history"])
    cut = build_single_age_history(
        t["population_bands"][t["population_bands"].year <= origin],
        t["population_single_age"][t["population_single_age"].year <= origin],
        t["pupils_grundskola"][t["pupils_grundskola"].school_year <= origin],
        t["municipalities"].kommun_kod,
        t["county_population"][t["county_population"].year <= origin])
    h_cut = CohortHistory.from_frame(cut)
    assert np.array_equal(h_cut.pop, full.truncate(origin).pop, equal_nan=True)
    a = project_cohorts(full, origin, 5, "best")
    b = project_cohorts(h_cut, origin, 5, "best")
    assert a.method == b.method and a.params == b.params
    assert np.array_equal(a.central, b.central, equal_nan=True)


def test_full_projection_on_real_data(tables):
    from forecast.regions import ADMISSION_REGION
    hist = CohortHistory.from_frame(tables["cohort_history"])
    assert hist.pop.shape == (290, 24, 20)
    proj = project_cohorts(hist, 2022, 10, "best")
    assert proj.method in ("hamilton_perry", "shrunk", "ensemble")
    assert np.all(proj.central >= 0)
    g = proj.gymnasium_ages(ADMISSION_REGION)
    k = g[(g.area_type == "kommun") & (g.measure == "age16_18")]
    county = g[(g.area == "01") & (g.measure == "age16_18")].set_index("year").population
    # the county equals the sum of its municipalities in every year
    s = k[k.area.str[:2] == "01"].groupby("year").population.sum()
    assert np.allclose(s, county)
    # one year ahead, the county's 16–18-year-olds are last year's 15–17-year-olds give or take 3%
    last = hist.pop[hist.counties == "01", -1, 15:18].sum()
    assert county[2023] == pytest.approx(last, rel=0.03)
    # intervals widen with the horizon
    w = g[g.area == "01"].assign(w=lambda d: d.hi80 - d.lo80).query("measure == 'age16_18'").w.to_numpy()
    assert np.all(np.diff(w) > 0)
    assert set(g[g.area_type == "region"].measure) == {"age16", "age16_18"}


def test_backtest_scores_every_method_without_seeing_outcomes(tables):
    hist = CohortHistory.from_frame(tables["cohort_history"])
    bt = run_backtest(hist, origins=[2016], horizons=(1, 3), methods=("carry_forward", "best"))
    assert set(bt.method) == {"carry_forward", "best"} and set(bt.horizon) == {1, 3}
    # the forecast for 2017 made in 2016 equals one made from a history that ends in 2016
    m, p = select_method(hist.truncate(2016))
    errs = forecast_errors(hist.truncate(2016), m, p, [2016], (1,), outcome=hist)
    got = bt[(bt.method == "best") & (bt.horizon == 1)].forecast16_18.to_numpy()
    assert np.allclose(got, errs[(2016, 1)][0], equal_nan=True)
    em = build_error_model(hist.truncate(2012), "carry_forward", MethodParams())
    # history 1999–2012: origins 2001–2011, so 1-year errors from 11 origins, 10-year from two (2001, 2002)
    assert max(h for (_, h, _) in em.errors) == 10
    assert len(em.errors[("county_band16_18", 1, 0)]) == 11 and len(em.errors[("county_band16_18", 10, 0)]) == 2

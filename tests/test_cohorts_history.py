"""Single-year history: hand-computed splits, exact band sums, and accuracy against SCB."""
import numpy as np
import pandas as pd
import pytest

from forecast.cohorts import build_single_age_history, largest_remainder


def test_largest_remainder_hand_case():
    assert list(largest_remainder(10, np.array([1, 1, 1]))) == [4, 3, 3]
    # 3.5, 1.75, 1.75 -> floors 3, 1, 1; the two largest remainders (.75, .75) get the 2 left
    assert list(largest_remainder(7, np.array([0.5, 0.25, 0.25]))) == [3, 2, 2]
    assert largest_remainder(0, np.array([1, 2])).sum() == 0


def _bands(year, values):
    return [{"kommun_kod": "0180", "year": year, "age_band": b, "population": v, "derived": False}
            for b, v in values.items()]


def test_split_by_cohort_proxies_hand_computed():
    rows = _bands(2012, {"0": 10, "1-5": 150, "6-12": 700, "13-15": 300, "16-18": 400, "19": 90})
    for y, n in zip(range(2006, 2012), (20, 30, 30, 30, 30, 30)):   # 0-year-olds 2006..2011
        rows += _bands(y, {"0": n})
    bands = pd.DataFrame(rows)
    pupils = [(2012, g, 100) for g in range(1, 7)] + [(2012, 7, 100), (2012, 8, 100), (2012, 9, 200),
                                                      (2011, 9, 100), (2010, 9, 100), (2009, 9, 200)]
    pupils = pd.DataFrame([{"school_year": y, "kommun_kod": "0180", "grade": g, "pupils": n}
                           for y, g, n in pupils])
    h = build_single_age_history(bands, pd.DataFrame(columns=["kommun_kod", "year", "age", "sex", "population"]),
                                 pupils, ["0180"])
    v = h[h.year == 2012].set_index("age")["population"]
    # 13-15: grades 7, 8, 9 in 2012 = 100, 100, 200  -> 75, 75, 150
    assert (v[13], v[14], v[15]) == (75, 75, 150)
    # 16-18: grade 9 in 2011, 2010, 2009 = 100, 100, 200 -> 100, 100, 200
    assert (v[16], v[17], v[18]) == (100, 100, 200)
    # 1-5: 0-year-olds in 2011..2007 = 30 each -> 30 each
    assert [v[a] for a in range(1, 6)] == [30] * 5
    # 6-12: age 6 from 0-year-olds in 2006 (20), ages 7-12 from grades 1-6 (100 each):
    # 700*20/620 = 22.58 -> 22; 700*100/620 = 112.90 -> 113 (the six .90 remainders win)
    assert v[6] + sum(v[a] for a in range(7, 13)) == 700 and v[6] == 22 and v[7] == 113
    assert v[0] == 10 and v[19] == 90
    assert h[h.year == 2012].method.value_counts().to_dict() == {"grade_counts": 12, "births_lag": 6, "exact": 2}


def test_ages_16_18_follow_last_years_cohort_hand_computed():
    """From the second year on, 16-18 is split in proportion to last year's 15, 16, 17 (the same
    cohorts, as this history holds them), not to the grade-9 counts of 1-3 autumns earlier."""
    rows = _bands(2011, {"0": 10, "1-5": 150, "6-12": 700, "13-15": 300, "16-18": 300, "19": 90})
    rows += _bands(2012, {"0": 10, "1-5": 150, "6-12": 700, "13-15": 300, "16-18": 400, "19": 90})
    for y, n in zip(range(2005, 2012), (20, 20, 30, 30, 30, 30, 30)):
        rows += _bands(y, {"0": n})
    bands = pd.DataFrame(rows)
    pupils = [(y, g, 100) for y in (2011, 2012) for g in range(1, 9)]
    # grade 9: 2011 -> 200, 2012 -> 200; 2008-2010 = 100 each (so 2011's 16-18 splits 100/100/100)
    pupils += [(2011, 9, 200), (2012, 9, 200), (2010, 9, 100), (2009, 9, 100), (2008, 9, 100)]
    pupils = pd.DataFrame([{"school_year": y, "kommun_kod": "0180", "grade": g, "pupils": n}
                           for y, g, n in pupils])
    empty = pd.DataFrame(columns=["kommun_kod", "year", "age", "sex", "population"])
    h = build_single_age_history(bands, empty, pupils, ["0180"])
    v11 = h[h.year == 2011].set_index("age")["population"]
    v12 = h[h.year == 2012].set_index("age")["population"]
    # 2011: 13-15 from grades 7, 8, 9 = 100, 100, 200 -> 75, 75, 150; 16-18 (first year) from
    # grade 9 in 2010, 2009, 2008 = 100 each -> 100, 100, 100
    assert (v11[15], v11[16], v11[17], v11[18]) == (150, 100, 100, 100)
    # 2012: 16-18 = 400 in proportion to 2011's ages 15, 16, 17 = 150, 100, 100 -> 171.4, 114.3, 114.3
    # -> floors 171, 114, 114; the one left goes to the largest remainder (.43, age 16)
    assert (v12[16], v12[17], v12[18]) == (172, 114, 114)
    assert set(h[(h.year == 2012) & h.age.between(16, 18)].method) == {"cohort_prev"}
    assert set(h[(h.year == 2011) & h.age.between(16, 18)].method) == {"grade_counts"}
    # the rule before (grade-9 counts of autumns 2011, 2010, 2009 = 200, 100, 100) -> 200, 100, 100
    g = build_single_age_history(bands, empty, pupils, ["0180"], older="grade9")
    g12 = g[g.year == 2012].set_index("age")["population"]
    assert (g12[16], g12[17], g12[18]) == (200, 100, 100)


@pytest.fixture(scope="module")
def real():
    from forecast.data import build_processed, load_table
    import tempfile, pathlib
    from conftest import RAW
    out = pathlib.Path(tempfile.mkdtemp())
    build_processed(RAW, out)
    t = {n: load_table(n, out) for n in ("population_bands", "population_single_age",
                                         "pupils_grundskola", "county_population")}
    from forecast.regions import ADMISSION_REGION
    h = build_single_age_history(t["population_bands"], t["population_single_age"], t["pupils_grundskola"],
                                 ADMISSION_REGION, t["county_population"])
    return h, t


def test_real_history_sums_to_exact_bands(real):
    h, t = real
    b = t["population_bands"]
    h = h.assign(band=pd.cut(h.age, [-1, 0, 5, 12, 15, 18, 19], labels=["0", "1-5", "6-12", "13-15", "16-18", "19"]))
    s = h.groupby(["kommun_kod", "year", "band"], observed=True).population.sum().rename("rec").reset_index()
    s["band"] = s["band"].astype(str)
    m = s.merge(b.rename(columns={"age_band": "band"}), on=["kommun_kod", "year", "band"])
    assert len(m) == len(s) and (m.rec == m.population).all()
    assert h.kommun_kod.nunique() == 28 and h.year.min() == 1999 and h.year.max() == 2022
    assert (h.population >= 0).all()


def test_real_history_uses_exact_2019_and_matches_county_single_ages(real):
    h, t = real
    sa = t["population_single_age"]
    exact = sa[(sa.year == 2019) & (sa.kommun_kod == "0180") & (sa.age == 16)].population.sum()
    assert h[(h.year == 2019) & (h.kommun_kod == "0180") & (h.age == 16)].population.iloc[0] == exact
    cp = t["county_population"]
    actual = cp[cp.lan_kod == "01"].groupby(["year", "age"]).population.sum()
    rec = h[h.kommun_kod.str.startswith("01")].groupby(["year", "age"]).population.sum()
    j = pd.concat([rec.rename("rec"), actual.rename("act")], axis=1, join="inner")
    j = j[(j.index.get_level_values("year") >= 2009) & j.index.get_level_values("age").isin(range(7, 16))]
    ape = ((j.rec - j.act).abs() / j.act * 100)
    assert ape.mean() < 0.5          # grade-count years: measured 0.3% on average


def test_unknown_16_18_proxy_is_refused():
    from forecast.errors import ParameterError
    empty = pd.DataFrame(columns=["kommun_kod", "year", "age", "sex", "population"])
    with pytest.raises(ParameterError, match="older must be one of cohort, grade9, cohort15"):
        build_single_age_history(pd.DataFrame(_bands(2012, {"0": 1})), empty, pd.DataFrame(
            columns=["school_year", "kommun_kod", "grade", "pupils"]), ["0180"], older="grade8")

"""Newer single ages (``forecast fetch scb``) move the population base forward: the history gains
the year when every municipality has it, and the chain's base is the latest year up to the origin.

The fixture is the recorded SCB response relabelled (two codes, single ages, year 2023) — a test
fixture, not data."""
from pathlib import Path

import pandas as pd

from forecast.cohorts import build_single_age_history
from forecast.scb_api import population_from_file

FIXTURE = Path(__file__).parent / "fixtures" / "scb_single_age_2023_RELABELLED_TEST_FIXTURE.json"

def bands_for(codes, years):
    from forecast.cohorts import BANDS as B
    rows = []
    for k in codes:
        for y in years:
            for band, (lo, hi) in B.items():
                rows.append((k, y, band, 100 * (hi - lo + 1)))
    return pd.DataFrame(rows, columns=["kommun_kod", "year", "age_band", "population"])


def test_fixture_parses_to_single_ages_of_2023():
    sa = population_from_file(FIXTURE, {"0114", "0115"})
    assert set(sa.year) == {2023} and sorted(sa.kommun_kod.unique()) == ["0114", "0115"]
    assert sorted(sa.age.unique()) == list(range(20)) and sa.sex.nunique() == 2 and len(sa) == 2 * 20 * 2


def test_newer_single_ages_extend_the_history_when_complete():
    sa = population_from_file(FIXTURE, {"0114", "0115"})
    pupils = pd.DataFrame(columns=["school_year", "skolenhetskod", "kommun_kod", "grade", "pupils"])
    hist = build_single_age_history(bands_for(["0114", "0115"], [2021, 2022]), sa, pupils, ["0114", "0115"])
    assert sorted(hist.year.unique()) == [2021, 2022, 2023]
    h23 = hist[hist.year == 2023].set_index(["kommun_kod", "age"]).population
    exact = sa.groupby(["kommun_kod", "age"]).population.sum()
    assert (h23 == exact.reindex(h23.index)).all() and (hist[hist.year == 2023].method == "exact").all()
    # one municipality missing from the newer year: it is not a base year
    hist2 = build_single_age_history(bands_for(["0114", "0115", "0117"], [2021, 2022]), sa, pupils,
                                     ["0114", "0115", "0117"])
    assert sorted(hist2.year.unique()) == [2021, 2022]

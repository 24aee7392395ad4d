"""Announced or decided places: validation names file, row and column; the places apply from
their year on in the simulation, and nothing else changes."""
import numpy as np
import pandas as pd
import pytest

from forecast.errors import DataError
from forecast.places import places_in_year, read_places

HEADER = "skolenhetskod,programme_group,year,places,status,source\n"
KNOWN = {"11111111", "22222222"}
GROUPS = {("11111111", "HF"), ("22222222", "YP")}


def write(tmp_path, body, name="a.csv"):
    d = tmp_path / "places"
    d.mkdir(exist_ok=True)
    (d / name).write_text(HEADER + body, encoding="utf-8")
    return d


def test_good_file_read_and_in_force_from_its_year(tmp_path):
    d = write(tmp_path, '11111111,HF,2026,150,decided,"Nämnd 2025-11-20 §14"\n11111111,HF,2028,120,announced,Utbud\n')
    a = read_places(d, KNOWN, 2024, GROUPS)
    assert a.places.tolist() == [150.0, 120.0] and a.year.tolist() == [2026, 2028]
    assert places_in_year(a, "11111111", "HF", 2025) is None
    assert places_in_year(a, "11111111", "HF", 2027) == 150.0
    assert places_in_year(a, "11111111", "HF", 2030) == 120.0


@pytest.mark.parametrize("row, column, words", [
    ("99999999,HF,2026,150,decided,x", "skolenhetskod", "row 2: a unit of the admission region"),
    ("11111111,XX,2026,150,decided,x", "programme_group", "row 2: HF or YP"),
    ("11111111,HF,2026,-5,decided,x", "places", "row 2: places of at least 0"),
    ("11111111,HF,2024,150,decided,x", "year", "row 2: a year after the origin 2024"),
    ("11111111,HF,2026,150,maybe,x", "status", "row 2: announced or decided"),
    ("11111111,HF,2026,150,decided,", "source", "row 2: where the figure comes from"),
    ("22222222,HF,2026,150,decided,x", "programme_group", "a new offering is a scenario"),
])
def test_bad_rows_are_named(tmp_path, row, column, words):
    d = write(tmp_path, row + "\n")
    with pytest.raises(DataError, match=words) as e:
        read_places(d, KNOWN, 2024, GROUPS)
    assert e.value.column == column and e.value.file.endswith("a.csv")


def test_duplicate_unit_group_year_across_files(tmp_path):
    write(tmp_path, "11111111,HF,2026,150,decided,x\n", "a.csv")
    d = write(tmp_path, "11111111,HF,2026,160,announced,y\n", "b.csv")
    with pytest.raises(DataError, match=r"duplicate unit-group-year 11111111 HF 2026 \(rows a.csv:2, b.csv:2\)"):
        read_places(d, KNOWN, 2024, GROUPS)


def test_announced_places_reach_the_simulation_and_nothing_else(tmp_path):
    from dataclasses import replace

    from forecast.chain import build_chain, load_places
    from forecast.risk import _places_for_year
    ch = build_chain(horizon=3)
    m = ch.region.models["HF"]
    u = m.units.sort_values("places").iloc[-1]
    y = ch.forecast_years[1]
    d = write(tmp_path, f"{u.skolenhetskod},HF,{y},{int(u.places) + 40},decided,test\n")
    rm = replace(ch.region, announced=load_places(ch.tables, ch.origin, d))
    j = int(np.flatnonzero(m.units.skolenhetskod.to_numpy() == u.skolenhetskod)[0])
    before, _ = _places_for_year(m, rm, "HF", y - 1)
    after, W = _places_for_year(m, rm, "HF", y)
    _, W_unannounced = _places_for_year(m, ch.region, "HF", y)   # the year's own attractiveness (A80)
    assert before[j] == u.places and after[j] == u.places + 40
    assert np.array_equal(np.delete(after, j), np.delete(before, j)) and np.array_equal(W, W_unannounced)

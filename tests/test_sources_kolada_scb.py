"""Kolada age bands (exact derived bands, the 2007 fix) and SCB files, on hand-made inputs."""
import pandas as pd
import pytest

from conftest import write
from forecast.errors import DataError
from forecast.sources import kolada, scb

# One municipality, two years; numbers chosen so every derived band is easy to check by hand.
BANDS = {"n01951": (1000, 1010), "n01817": (10, 11), "n01926": (50, 51), "n01952": (60, 62),
         "n01921": (160, 165), "n01953": (140, 142), "n01927": (90, 95), "n01954": (70, 999)}


def kolada_dir(tmp_path):
    for kpi, (v06, v07) in BANDS.items():
        write(tmp_path / "kolada" / f"ddf--datapoints--{kpi}--by--geo--year.csv",
              f"geo,year,{kpi}\n0,2006,{v06 * 100}.0\n0180,2006,{v06}.0\n0180,2007,{v07}.0\n")
    write(tmp_path / "kolada" / "ddf--datapoints--n01954--by--geo--gender--year.csv",
          "geo,gender,year,n01954\n0180,k,2007,35.0\n0180,m,2007,37.0\n")
    return tmp_path


def test_derived_bands_exact_and_2007_total_from_gender_file(tmp_path):
    df = kolada.read_population_bands(kolada_dir(tmp_path), {"0180"})
    v = df.set_index(["year", "age_band"])["population"]
    # 2006: 6-12 = 160-60 = 100; 13-15 = 140-100 = 40; 16-18 = 90-40 = 50; 19 = 70-50 = 20
    assert (v[2006, "6-12"], v[2006, "13-15"], v[2006, "16-18"], v[2006, "19"]) == (100, 40, 50, 20)
    # 2007: the total file says 999 for 16-19; women + men = 72 is used instead
    assert v[2007, "16-19"] == 72
    assert v[2007, "16-18"] == 95 - (142 - (165 - 62)) and v[2007, "19"] == 72 - v[2007, "16-18"]
    assert set(df.kommun_kod) == {"0180"}                    # Sweden (geo 0) dropped
    assert df.loc[df.age_band == "16-18", "derived"].all()


def test_kolada_geo_read_as_string_keeps_leading_zero(tmp_path):
    df = kolada.read_population_bands(kolada_dir(tmp_path), {"0180"})
    assert df.kommun_kod.str.len().eq(4).all()


def test_kolada_missing_file_named(tmp_path):
    d = kolada_dir(tmp_path)
    (d / "kolada" / "ddf--datapoints--n01927--by--geo--year.csv").unlink()
    with pytest.raises(DataError, match="missing") as e:
        kolada.read_population_bands(d, {"0180"})
    assert "n01927" in e.value.file


def test_kolada_negative_count_named(tmp_path):
    d = kolada_dir(tmp_path)
    write(d / "kolada" / "ddf--datapoints--n01953--by--geo--year.csv", "geo,year,n01953\n0180,2006,-5.0\n")
    with pytest.raises(DataError, match="non-negative") as e:
        kolada.read_population_bands(d, {"0180"})
    assert e.value.column == "n01953"


MUNI = pd.DataFrame({"kommun_kod": ["0180", "0305", "0643"], "kommun": ["Stockholm", "Håbo", "Habo"]})


def test_single_age_file_names_to_codes(tmp_path):
    p = write(tmp_path / "SCB_alderkon.csv",
              '"region","ålder","kön","X2019"\n"Stockholm","0","män",100\n"Stockholm","100+","kvinnor",7\n'
              '"Håbo","16","män",3\n')
    df = scb.read_single_age_2019(p, MUNI)
    assert list(df.kommun_kod) == ["0180", "0180", "0305"]
    assert (df.year == 2019).all() and df.age.max() == 100


def test_single_age_unknown_name_named(tmp_path):
    p = write(tmp_path / "SCB_alderkon.csv", '"region","ålder","kön","X2019"\n"Stokholm","0","män",1\n')
    with pytest.raises(DataError, match="unknown municipality name") as e:
        scb.read_single_age_2019(p, MUNI)
    assert "Stokholm" in str(e.value) and e.value.column == "region"


def test_folkmangd_ambiguous_folded_name_resolved_by_value(tmp_path):
    be = write(tmp_path / "BE0101N1.csv", "\ufeffland,lan,kommun,2016,2017\r\n"
               "Sverige,Uppsala län,Håbo,20000,20500\r\nSverige,Jönköpings län,Habo,11000,11500\r\n")
    fm = write(tmp_path / "folkmangd.csv", "\ufeffk_ID;kommun;ar_2017;ar_2018\r\n"
               "HAB;Habo;11500;11600\r\nHBO;Habo;20500;20700\r\n")
    df, notes = scb.read_municipal_totals(be, fm, MUNI)
    v = df.set_index(["kommun_kod", "year"])["population"]
    assert v["0305", 2018] == 20700 and v["0643", 2018] == 11600
    assert v["0305", 2017] == 20500 and df.set_index(["kommun_kod", "year"]).loc[("0305", 2017), "source"] == "BE0101N1"

"""forecast data: the committed extracts -> Parquet, with schemas and control totals."""
import shutil

import pandas as pd
import pytest

from conftest import RAW
from forecast.data import build_processed, load_table
from forecast.errors import DataError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("processed")
    return out, build_processed(RAW, out)


def test_control_totals_hold(built):
    _, res = built
    checks = res.checks.set_index("check")
    assert res.ok
    assert checks.loc["SCB population 31 Dec 2019, Stockholm County", "actual"] == 2_377_081
    assert checks.loc["SCB population 31 Dec 2019, Stockholm (0180)", "actual"] == 974_073
    adm = checks[checks.index.str.startswith("admitted")]
    published, lower = adm[adm.tolerance_pct.notna()], adm[adm.tolerance_pct.isna()]
    assert len(published) == 3 and (published.difference_pct.abs() <= 1.5).all()
    assert len(lower) == 1 and (lower.actual >= lower.expected).all()


def test_processed_tables_load_with_types(built):
    out, _ = built
    pop = load_table("population_bands", out)
    assert pop.kommun_kod.str.len().eq(4).all()
    county = pop[(pop.year == 2019) & (pop.age_band == "16-18") & pop.kommun_kod.str.startswith("01")]
    assert county.population.sum() == 77_691                # provenance-population §7 table


def test_rebuild_gives_same_bytes(built, tmp_path):
    out, _ = built
    build_processed(RAW, tmp_path)
    for p in out.glob("*"):
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), p.name


def test_bad_extract_fails_and_leaves_processed_untouched(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    df = pd.read_csv(raw / "gymnasium_costs.csv", dtype=str, keep_default_na=False)
    df.loc[3, "premises_per_pupil_sek"] = "-100"
    df.to_csv(raw / "gymnasium_costs.csv", index=False)
    out = tmp_path / "processed"
    out.mkdir()
    (out / "keep.parquet").write_bytes(b"earlier good build")
    with pytest.raises(DataError, match="negative") as e:
        build_processed(raw, out)
    assert e.value.column == "premises_per_pupil_sek" and "gymnasium_costs.csv" in e.value.file
    assert [p.name for p in out.iterdir()] == ["keep.parquet"]


def test_unknown_municipality_in_extract(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    text = (raw / "gymnasium_costs.csv").read_text().replace("\n2020,0180,", "\n2020,0999,", 1)
    (raw / "gymnasium_costs.csv").write_text(text)
    with pytest.raises(DataError, match="unknown municipality code"):
        build_processed(raw, tmp_path / "processed")

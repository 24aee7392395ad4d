"""The full ingest on the real publisher files (skipped where ../shared is absent)."""
import shutil

import pytest

from conftest import RAW
from forecast.errors import DataError
from forecast.ingest import run_ingest


@pytest.fixture(scope="module")
def fresh_raw(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    res = run_ingest(sources, out)
    return out, res


def test_ingest_reproduces_committed_extracts_byte_for_byte(fresh_raw):
    out, _ = fresh_raw
    produced = sorted(p.name for p in out.iterdir())
    committed = sorted(p.name for p in RAW.iterdir() if p.is_file())
    assert produced == committed
    for name in produced:
        assert (out / name).read_bytes() == (RAW / name).read_bytes(), f"{name} differs from data/raw"


def test_ingest_counts(fresh_raw):
    _, res = fresh_raw
    t = res.tables
    assert t["population_bands"].kommun_kod.nunique() == 290
    assert t["population_single_age"].kommun_kod.nunique() == 290
    assert sorted(t["admissions"].year.unique()) == [2020, 2021, 2022, 2023, 2024]
    assert sorted(t["pupils_kommun"].school_year.unique()) == [2020, 2021, 2022, 2023, 2024]
    assert t["admissions"].owner_type.notna().mean() > 0.999
    assert sorted(t["pupils_grundskola"].school_year.unique()) == list(range(2009, 2024))
    units = t["gymnasium_units"]
    county = units[units.kommun_kod.str.startswith("01")]
    assert len(county) == 190 and county.lat.notna().sum() == 189
    varmdo = units.set_index("skolenhetskod").loc["44412461"]
    assert varmdo.coordinate_flag == "outside_own_municipality" and varmdo.km_outside_own_municipality > 14
    regions = t["municipalities"]
    assert regions.in_admission_region.sum() == 28
    assert set(regions[regions.cluster == "syd"].kommun_kod) >= {"0127", "0181", "0128", "0126", "0140"}


def test_crosswalk_maps_most_admitted_students(fresh_raw):
    from forecast.crosswalk import mapped_share
    share = mapped_share(fresh_raw[1].tables["school_crosswalk"]).set_index("year")["share_mapped_pct"]
    assert (share >= 94.5).all()          # 2020 is 94.6%: closed units have no coordinates anywhere
    assert (share.loc[2021:] >= 95).all()


def _sources_copy(sources, tmp_path):
    copy = tmp_path / "sources"
    shutil.copytree(sources, copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return copy


def test_late_failure_leaves_previous_extracts_untouched(sources, tmp_path):
    copy = _sources_copy(sources, tmp_path)
    target = tmp_path / "raw"
    target.mkdir()
    (target / "admissions.csv").write_text("earlier good extract\n")
    cost = next((copy / "skolverket" / "gymnasieskola-kostnader").glob("*2023*"))
    cost.write_text(cost.read_text(encoding="utf-8-sig").replace("Lokaler per elev", "Lokalkostnad"), encoding="utf-8")
    with pytest.raises(DataError) as e:
        run_ingest(copy, target)
    assert e.value.column == "Lokaler per elev" and "Kostnader per kommun 2023" in e.value.file
    assert [p.name for p in target.iterdir()] == ["admissions.csv"]
    assert (target / "admissions.csv").read_text() == "earlier good extract\n"


def test_missing_source_file_named(sources, tmp_path):
    copy = _sources_copy(sources, tmp_path)
    (copy / "scb" / "SCB_alderkon.csv").unlink()
    with pytest.raises(DataError, match="no source file matches") as e:
        run_ingest(copy, tmp_path / "raw")
    assert "SCB_alderkon.csv" in e.value.file
    assert not (tmp_path / "raw").exists() or not any((tmp_path / "raw").iterdir())


def test_next_years_file_drops_in(sources, tmp_path):
    """A 2025 admission file in the same format, with GY25 programme codes ('EK25', the new
    'FR25' for Frisör- och stylistprogrammet) and no owner-type column, is picked up without code
    changes: codes are mapped, owner type comes from the unit register."""
    import pandas as pd
    copy = _sources_copy(sources, tmp_path)
    src = copy / "gymnasieantagningen" / "Slutantagningsresultat_2024.xlsx"
    df = pd.read_excel(src, dtype=str, keep_default_na=False)
    df["År"] = "2025"
    hv = df.StudieVagKod.str.startswith("HV")
    df["StudieVagKod"] = df.StudieVagKod.str[:2] + "25" + df.StudieVagKod.str[2:]
    df.loc[hv, "StudieVagKod"] = "FR25"
    df.loc[hv, "Studievag"] = "Frisör- och stylistprogrammet FR"
    df.to_excel(copy / "gymnasieantagningen" / "Slutantagningsresultat_2025.xlsx",
                sheet_name="Samverkansområdet", index=False)
    res = run_ingest(copy, tmp_path / "raw")
    adm = res.tables["admissions"]
    assert sorted(adm.year.unique()) == [2020, 2021, 2022, 2023, 2024, 2025]
    a24, a25 = adm[adm.year == 2024], adm[adm.year == 2025]
    assert set(a25.programme_code) == set(a24.programme_code) - {"HV"} | {"FR"}
    assert (a25[a25.programme_code == "FR"].programme_group == "YP").all()
    # same offerings, same groups and totals: the GY25 codes changed nothing but the labels
    for col in ("programme_group", "is_national", "in_totals"):
        assert a25[col].tolist() == a24[col].tolist()
    assert a25[a25.in_totals].admitted.sum() == a24[a24.in_totals].admitted.sum()
    assert a25.owner_type.notna().all() and set(a25.owner_basis) <= {"unit_register", "earlier_admission_file"}
    assert any("owner type 2025" in line for line in res.report)

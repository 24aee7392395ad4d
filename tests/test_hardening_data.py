"""Hard to break (issue 13), the data side: empty or unparsable files, unknown municipality codes and
files whose name and content disagree on the year are refused with one message naming the file,
at ingest and in `forecast data`, and nothing in data/raw or data/processed changes."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from forecast.cli import main
from forecast.files import folder_digest
from forecast.paths import PROCESSED_DIR, RAW_DIR

KOLADA_POP = "kolada/ddf--datapoints--n01951--by--geo--year.csv"
UNITS = "skolverket/grundskola-elever-per-arskurs/skolenhet"
KOMMUN = "skolverket/grundskola-elever-per-arskurs/kommun"




@pytest.fixture(scope="module")
def before():
    return folder_digest(RAW_DIR), folder_digest(PROCESSED_DIR)


@pytest.fixture
def src(tmp_path, sources):
    """A private copy of the publisher files, to break."""
    dst = tmp_path / "sources"
    shutil.copytree(sources, dst)
    return dst


def _stage_fails(stage: str, inputs: Path, folder: Path, tmp_path: Path, capsys, before) -> str:
    """``forecast <stage>`` on broken ``inputs`` into a copy of ``folder``: exit 2, one message,
    no traceback, nothing written (the copy, the project's data, no staging folder left)."""
    out = tmp_path / folder.name
    shutil.copytree(folder, out)
    out_before = folder_digest(out)
    flag = "--sources" if stage == "ingest" else "--raw"
    code = main([stage, flag, str(inputs), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert folder_digest(out) == out_before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{folder.name}-staging")]
    assert (folder_digest(RAW_DIR), folder_digest(PROCESSED_DIR)) == before
    return err


def _ingest_fails(src: Path, tmp_path: Path, capsys, before) -> str:
    return _stage_fails("ingest", src, RAW_DIR, tmp_path, capsys, before)


def _data_fails(raw: Path, tmp_path: Path, capsys, before) -> str:
    return _stage_fails("data", raw, PROCESSED_DIR, tmp_path, capsys, before)


@pytest.fixture
def raw(tmp_path):
    dst = tmp_path / "raw-in"
    shutil.copytree(RAW_DIR, dst)
    return dst


# --- empty and unparsable files name the file --------------------------------------------------------

def test_empty_kolada_csv_at_ingest_names_the_file(src, tmp_path, capsys, before):
    (src / KOLADA_POP).write_text("")
    err = _ingest_fails(src, tmp_path, capsys, before)
    assert f"file {src / KOLADA_POP}: is empty" in err


def test_empty_staff_csv_in_forecast_data_names_the_file(raw, tmp_path, capsys, before):
    (raw / "staff.csv").write_text("")
    err = _data_fails(raw, tmp_path, capsys, before)
    assert f"file {raw / 'staff.csv'}: is empty" in err


def test_unparsable_extract_names_the_file(raw, tmp_path, capsys, before):
    (raw / "leavers.csv").write_bytes(b'a,b\n"1,2\n3,4,5,6\n')
    err = _data_fails(raw, tmp_path, capsys, before)
    assert str(raw / "leavers.csv") in err


def test_empty_or_corrupt_processed_table_names_the_file(tmp_path):
    from forecast.data import load_table
    from forecast.errors import DataError
    shutil.copy(PROCESSED_DIR / "admissions.parquet", tmp_path / "admissions.parquet")
    (tmp_path / "cohort_history.parquet").write_bytes(b"")
    with pytest.raises(DataError, match=r"cohort_history.parquet: is empty or not a readable Parquet file"):
        load_table("cohort_history", tmp_path)


def test_empty_or_broken_json_names_the_file(tmp_path):
    from forecast.errors import DataError
    from forecast.files import read_json_named
    (tmp_path / "meta.json").write_text("")
    with pytest.raises(DataError, match="meta.json: is empty"):
        read_json_named(tmp_path / "meta.json")
    (tmp_path / "meta.json").write_text("{")
    with pytest.raises(DataError, match="meta.json: is not valid JSON"):
        read_json_named(tmp_path / "meta.json")


# --- codes against the municipality register --------------------------------------------------------

def test_kolada_file_with_an_unknown_municipality_code_is_refused(src, tmp_path, capsys, before):
    p = src / KOLADA_POP
    p.write_text(p.read_text(encoding="utf-8") + "9999,2020,123.0\n", encoding="utf-8")
    err = _ingest_fails(src, tmp_path, capsys, before)
    assert f"file {p}, column 'geo': unknown municipality code: not in the municipality register" in err
    assert "9999" in err


def test_register_that_disagrees_with_koladas_list_is_refused(src, tmp_path, capsys, before):
    p = src / "kolada/ddf--entities--geo--kommun.csv"
    p.write_text(p.read_text(encoding="utf-8") + "9999,Påhittad,01,0,TRUE\n", encoding="utf-8")
    err = _ingest_fails(src, tmp_path, capsys, before)
    assert "the municipality register (boundary file geo/kommun.parquet) and Kolada's list disagree" in err
    assert "only in Kolada ['9999']" in err


def test_register_row_9999_fails_forecast_data(raw, tmp_path, capsys, before):
    p = raw / "municipalities.csv"
    p.write_text(p.read_text(encoding="utf-8") + "9999,Påhittad,99,False,,\n", encoding="utf-8")
    err = _data_fails(raw, tmp_path, capsys, before)
    assert f"file {p}, column 'kommun_kod': municipality code(s) not in Kolada's list" in err and "9999" in err


def test_register_region_flag_must_match_the_boundaries(raw, tmp_path, capsys, before):
    p = raw / "municipalities.csv"
    text = p.read_text(encoding="utf-8").replace("0330,Knivsta,03,False", "0330,Knivsta,03,True")
    p.write_text(text, encoding="utf-8")
    err = _data_fails(raw, tmp_path, capsys, before)
    assert "in_admission_region disagrees with the boundary file" in err and "0330" in err


# --- name and content disagree on the year -----------------------------------------------------------

def test_admission_file_named_2024_with_2022_content_and_no_year_column(src, tmp_path, capsys, before):
    adm = src / "gymnasieantagningen"
    shutil.copy(adm / "Slutantagningsresultat_2022.xlsx", adm / "Slutantagningsresultat_2024.xlsx")
    err = _ingest_fails(src, tmp_path, capsys, before)
    assert "Slutantagningsresultat_2024.xlsx: the file name says 2024, but the workbook was last saved on 2022-" in err


def test_grade_count_file_whose_header_says_another_year(src, tmp_path, capsys, before):
    d = src / KOMMUN
    old = d / "Grundskola - Antal elever per årskurs 2023 Kommun.csv"
    new = d / "Grundskola - Antal elever per årskurs 2025 Kommun.csv"
    shutil.copy(old, new)
    err = _ingest_fails(src, tmp_path, capsys, before)
    assert f"file {new}: the file name says 2025 but its header line says 'Valt läsår: 2023/24'" in err


def test_copied_grade_count_file_duplicating_another_year_names_the_source(src, tmp_path, capsys, before):
    d = src / UNITS
    old = d / "Grundskolan - Antal elever per årskurs 2022 Skolenhet.csv"
    new = d / "Grundskolan - Antal elever per årskurs 2025 Skolenhet.csv"
    new.write_text(old.read_text(encoding="utf-8").replace("Valt läsår: 2022/23", "Valt läsår: 2025/26"),
                   encoding="utf-8-sig")
    err = _ingest_fails(src, tmp_path, capsys, before)
    assert f"file {new}: has the same figures, row for row, as {old.name} (school_year 2022)" in err


def test_school_year_rules():
    from forecast.errors import DataError
    from forecast.sources.skolverket import school_year_of
    assert school_year_of(Path("x 2020 Kommun.csv"), "Valt läsår: 2020/21") == 2020
    assert school_year_of(Path("x 2020 Kommun.csv"), "no preamble") == 2020
    with pytest.raises(DataError, match="the file name says 2021 but its header line says 'Valt läsår: 2020/21'"):
        school_year_of(Path("x 2021 Kommun.csv"), "Valt läsår: 2020/21")


def test_run_data_folder_with_an_empty_file_names_it(tmp_path):
    """What a notebook reads (its run data): an empty or corrupt file is named."""
    from forecast.errors import DataError
    from forecast.rundata import FILES, load_run_data
    (tmp_path / "meta.json").write_text("{}")
    (tmp_path / "backtest.json").write_text("")
    with pytest.raises(DataError, match=r"backtest.json: is empty"):
        load_run_data(tmp_path)
    (tmp_path / "backtest.json").write_text("{}")
    for n in FILES:
        (tmp_path / f"{n}.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"\.parquet: is empty or not a readable Parquet file .*compute it again"):
        load_run_data(tmp_path)


def test_scb_response_with_an_unknown_municipality_code_is_refused(tmp_path):
    import json

    from forecast import scb_api
    from forecast.errors import DataError
    data = {"version": "2.0", "class": "dataset", "id": ["Region", "Alder", "Kon", "Tid"], "size": [3, 1, 1, 1],
            "dimension": {"Region": {"category": {"index": ["01", "0180", "9999"]}},
                          "Alder": {"category": {"index": ["16"]}}, "Kon": {"category": {"index": ["1"]}},
                          "Tid": {"category": {"index": ["2024"]}}},
            "value": [10, 5, 1]}
    p = tmp_path / "TAB638_2024.json"
    p.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"(?s)TAB638_2024.json, column .Region.: unknown municipality code.*9999"):
        scb_api.population_from_file(p, {"0180"})
    data["dimension"]["Region"]["category"]["index"] = ["01", "0180", "0182"]
    p.write_text(json.dumps(data))
    assert set(scb_api.population_from_file(p, {"0180", "0182"}).kommun_kod) == {"0180", "0182"}

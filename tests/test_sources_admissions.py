"""Admission workbooks: year column variants, 'NA' code, P cells, repeated rows, shifted rows."""
import pytest
from openpyxl import Workbook

from forecast.errors import DataError
from forecast.sources.gymnasieantagningen import read_admissions

COLS = ["Kommun", "Skola", "Organistionsform", "StudieVagKod", "Studievag", "Antagningsgrans",
        "Median", "AntalPlatser", "AntalAntagna", "AntalReserver", "AntalLedigaPlatser"]
REGION = {"Botkyrka": "0127", "Stockholm": "0180"}


def workbook(path, rows, cols=COLS, extra_first=None):
    wb = Workbook()
    ws = wb.active
    ws.title = "Samverkansområdet"
    ws.append(([extra_first] if extra_first else []) + cols)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


ROWS = [
    ["Botkyrka", "S:t Botvids Gymnasium", "K", "EK", "Ekonomiprogrammet EK", 0, 217.5, 30, 26, 0, 4],
    ["Botkyrka", "S:t Botvids Gymnasium", "K", "EKEKO", "Ekonomiprogrammet EK", 0, 217.5, 30, 26, 0, 4],
    ["Botkyrka", "S:t Botvids Gymnasium", "K", "EKJUR", "Ekonomiprogrammet EK", 0, 217.5, 30, 26, 0, 4],
    ["Botkyrka", "S:t Botvids Gymnasium", "K", "NA", "Naturvetenskapsprogrammet NA", 0, 210, 28, 11, 0, 17],
    ["Botkyrka", "S:t Botvids Gymnasium", "K", "IMVHA", "Introduktionsprogram IM - Programinriktat val", 62.5, 77.5, 5, 5, 0, 0],
    ["Stockholm", "Alfa", "F", "BAHUS0L", "Bygg- och anläggningsprogrammet BA - Husbyggnad, lärling", 0, 150, 10, 3, 0, 7],
    ["Stockholm", "Alfa", "F", "SASAM", "Samhällsvetenskapsprogrammet SA - Samhällsvetenskap", "P", "P", "P", "P", "P", "P"],
]


def test_year_from_file_name_when_column_absent(tmp_path):
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2022.xlsx", ROWS), REGION)
    assert (df.year == 2022).all()


def test_year_column_variants_and_mismatch(tmp_path):
    rows = [[2021] + r for r in ROWS]
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2021.xlsx", rows, extra_first="Årtal"), REGION)
    assert (df.year == 2021).all()
    with pytest.raises(DataError, match="disagrees") as e:
        read_admissions(workbook(tmp_path / "Slutantagningsresultat_2020.xlsx", rows, extra_first="År"), REGION)
    assert e.value.column == "År"


def test_na_code_is_natural_science_not_missing(tmp_path):
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2022.xlsx", ROWS), REGION)
    na = df[df.study_path_code == "NA"]
    assert len(na) == 1 and na.programme_group.iloc[0] == "HF" and na.is_national.iloc[0]


def test_repeated_orientation_rows_counted_once(tmp_path):
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2022.xlsx", ROWS), REGION)
    ek = df[df.programme_code == "EK"].set_index("study_path_code")
    assert ek.in_totals.to_dict() == {"EK": True, "EKEKO": False, "EKJUR": False}
    assert ek.loc["EKEKO", "row_rule"] == "repeats:EK"
    national = df[df.is_national & df.in_totals]
    assert national.admitted.sum() == 26 + 11 + 3            # naive sum would be 26*3 + 11 + 3
    assert df[df.programme_group == "IM"].admitted.sum() == 5


def test_p_cells_are_missing_and_not_counted(tmp_path):
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2022.xlsx", ROWS), REGION)
    sa = df[df.study_path_code == "SASAM"].iloc[0]
    assert sa.places is None or str(sa.places) == "<NA>"
    assert not sa.in_totals and sa.row_rule == "reported_on_programme_row"


def test_flags(tmp_path):
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2022.xlsx", ROWS), REGION).set_index("study_path_code")
    assert df.loc["BAHUS0L", "is_apprenticeship"] and df.loc["BAHUS0L", "programme_group"] == "YP"
    assert df.loc["BAHUS0L", "owner_type"] == "enskild" and df.loc["EK", "owner_type"] == "kommunal"


def test_text_split_into_two_cells_is_repaired(tmp_path):
    cols = COLS + [None]
    rows = ROWS[:1] + [["Stockholm", "Alfa", "F", "IMVFT0Lper", "Introduktionsprogram IM -",
                        " Programinriktat val; mot Fordons- och transportprogrammet", 0, 0.0, 2, 0, 0, 2]]
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2021.xlsx", rows, cols=cols), REGION)
    r = df[df.study_path_code == "IMVFT0Lper"].iloc[0]
    assert (r.places, r.admitted, r.reserves, r.vacant) == (2, 0, 0, 2)
    assert r.study_path.endswith("mot Fordons- och transportprogrammet")
    assert "repaired" in r.row_rule


def test_missing_owner_column_is_noted_and_left_for_the_unit_register(tmp_path):
    cols = [c for c in COLS if c != "Organistionsform"]
    rows = [[v for i, v in enumerate(r) if i != 2] for r in ROWS]
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2024.xlsx", rows, cols=cols), REGION)
    assert df.owner_type.isna().all() and (df.owner_basis == "").all()
    assert any("no owner-type column" in n for n in df.attrs["notes"])


@pytest.mark.parametrize("mutate, column, words", [
    (lambda r: r[:3] + [""] + r[4:], "StudieVagKod", "empty study-path code"),
    (lambda r: ["Uppsala"] + r[1:], "Kommun", "not in the admission region"),
    (lambda r: r[:7] + [-5] + r[8:], "AntalPlatser", "negative"),
    (lambda r: r[:8] + ["många"] + r[9:], "AntalAntagna", "not a number"),
])
def test_bad_rows_named(tmp_path, mutate, column, words):
    rows = [mutate(ROWS[0])] + ROWS[1:]
    with pytest.raises(DataError, match=words) as e:
        read_admissions(workbook(tmp_path / "Slutantagningsresultat_2022.xlsx", rows), REGION)
    assert e.value.column == column and "Slutantagningsresultat_2022.xlsx" in e.value.file


def test_renamed_required_column_named(tmp_path):
    cols = [("Platser" if c == "AntalPlatser" else c) for c in COLS]
    with pytest.raises(DataError, match="required column missing") as e:
        read_admissions(workbook(tmp_path / "Slutantagningsresultat_2025.xlsx", ROWS, cols=cols), REGION)
    assert e.value.column == "AntalPlatser"


def test_gy25_codes_are_mapped_and_unknown_codes_classified_by_name():
    import pandas as pd
    from forecast.programmes import classify_codes
    codes = pd.Series(["EK25", "SA25SAM", "FR25", "ZZ25", "QQ25", "IMV", "HVFRI"])
    texts = pd.Series(["Ekonomiprogrammet", "Samhällsvetenskapsprogrammet", "Frisör- och stylistprogrammet",
                       "Teknikprogrammet (okänd kod)", "Glasblåsning", "Introduktionsprogram", "Hantverksprogrammet"])
    prog, group, notes = classify_codes(codes, texts)
    assert prog.tolist() == ["EK", "SA", "FR", "ZZ", "QQ", "IM", "HV"]
    assert group.tolist() == ["HF", "HF", "YP", "HF", "YP", "IM", "YP"]
    assert len(notes) == 2 and "'ZZ'" in notes[1 if "QQ" in notes[0] else 0]


def test_gy25_file_without_owner_column_is_read(tmp_path):
    cols = [c for c in COLS if c != "Organistionsform"]
    rows = [["Botkyrka", "S:t Botvids Gymnasium", "EK25", "Ekonomiprogrammet EK", 0, 217.5, 30, 26, 0, 4],
            ["Stockholm", "Alfa", "FR25", "Frisör- och stylistprogrammet FR", 0, 150, 10, 3, 0, 7]]
    df = read_admissions(workbook(tmp_path / "Slutantagningsresultat_2025.xlsx", rows, cols=cols), REGION)
    assert df.programme_group.tolist() == ["HF", "YP"] and df.is_national.all()
    assert df.owner_type.isna().all() and (df.owner_basis == "").all()


def test_owner_type_filled_from_unit_register_then_earlier_files():
    import pandas as pd
    from forecast.ingest import fill_owner_type
    adm = pd.DataFrame({
        "year": [2023, 2024, 2024, 2024, 2024],
        "skola": ["Alfa", "Alfa", "Beta", "Gamma", "Delta"],
        "school_kommun_kod": ["0180"] * 5,
        "owner_type": pd.array(["enskild", pd.NA, pd.NA, pd.NA, pd.NA], dtype="string"),
        "owner_basis": ["file", "", "", "", ""]})
    cw = pd.DataFrame({"year": [2024, 2024, 2024, 2024], "skola": ["Beta", "Gamma", "Gamma", "Alfa"],
                       "school_kommun_kod": ["0180"] * 4,
                       "skolenhetskod": ["11111111", "22222222", "33333333", None]})
    owners = pd.Series({"11111111": "kommunal", "22222222": "kommunal", "33333333": "enskild"})
    out, notes = fill_owner_type(adm, cw, owners)
    # Beta: its unit; Gamma: its two units disagree -> unknown; Alfa: unmatched, earlier file says enskild
    assert out.owner_type.tolist()[1:] == ["enskild", "kommunal", None, None] or \
        out.owner_type.fillna("?").tolist()[1:] == ["enskild", "kommunal", "?", "?"]
    assert out.owner_basis.tolist() == ["file", "earlier_admission_file", "unit_register", "", ""]
    assert "1 rows from the unit register" in notes[0] and "2 unknown" in notes[0]

"""Skolverket statistics exports (CSV and xlsx) and Planned Educations API snapshots."""
from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..files import read_text_utf8
from ._common import (check_numeric, parse_swedish_number, read_delimited_with_preamble,
                      require_columns)

OWNER = {"kommunal": "kommunal", "enskild": "enskild", "fristående": "enskild",
         "region": "region", "statlig": "statlig", "samtliga": "samtliga",
         "internationella skolor": "internationell", "kommunalförbund": "kommunalförbund"}
GRADE_COLS = [f"Elever, årskurs {g}" for g in range(1, 10)]


def owner_type(raw: pd.Series, path: Path, column: str) -> pd.Series:
    mapped = raw.astype("string").str.strip().str.lower().map(OWNER)
    bad = raw.notna() & (raw.astype("string").str.strip() != "") & mapped.isna()
    if bad.any():
        raise DataError(f"unknown owner type (known: {', '.join(sorted(OWNER))})", file=path,
                        column=column, examples=sorted(set(raw[bad]))[:5])
    return mapped


def year_in_name(path: Path) -> int | None:
    """The year a publisher's file name carries ('… 2023 Skolenhet.csv', '… 2020 Kommun.csv')."""
    m = re.search(r"(\d{4})\s+(?:Skolenhet|Kommun)\b", path.name) or re.search(r"(\d{4})", path.name)
    return int(m.group(1)) if m else None


def check_name_year(path: Path, header_year: int, header_line: str, name_year: int | None = None) -> int:
    """The header's year; a file whose name says another year is refused (a renamed copy)."""
    name_year = year_in_name(path) if name_year is None else name_year
    if name_year is not None and name_year != header_year:
        raise DataError(f"the file name says {name_year} but its header line says {header_line!r}: a renamed "
                        "copy of another year's file? Use the publisher's file for that year", file=path)
    return header_year


def school_year_of(path: Path, text_head: str | None = None) -> int:
    """Autumn year of a Skolverket export: from 'Valt läsår: 2009/10' if present, else the name.
    When both are present they must agree."""
    if text_head:
        m = re.search(r"Valt läsår:\s*(\d{4})/\d{2}", text_head)
        if m:
            return check_name_year(path, int(m.group(1)), m.group(0))
    year = year_in_name(path)
    if year is None:
        raise DataError("cannot tell the school year from the file name or its preamble", file=path)
    return year


def _check_codes(codes: pd.Series, path: Path, column: str, known: set[str]) -> None:
    bad = ~codes.isin(known)
    if bad.any():
        raise DataError("unknown municipality code", file=path, column=column,
                        examples=sorted(set(codes[bad]))[:5])


# --- grundskola pupils per unit and grade ---------------------------------------------------

def read_pupils_units(path: Path, known_codes: set[str], keep_codes: set[str]) -> pd.DataFrame:
    df = read_delimited_with_preamble(path, "Skola")
    require_columns(df, ["Skola", "Skol-enhetskod", "Kommun-kod", "Typ av huvudman"] + GRADE_COLS, path)
    year = school_year_of(path, read_text_utf8(path)[:400])
    code = df["Kommun-kod"].str.strip().str.zfill(4)
    _check_codes(code, path, "Kommun-kod", known_codes)
    df = df[code.isin(keep_codes)].copy()
    df["kommun_kod"] = code[code.isin(keep_codes)]
    unit = df["Skol-enhetskod"].str.strip()
    bad = ~unit.str.fullmatch(r"\d{8,9}")  # 2009-2011 still carry some older 9-digit codes
    if bad.any():
        raise DataError("school-unit code must be 8 (or, before 2012, 9) digits", file=path, column="Skol-enhetskod",
                        examples=df.loc[bad, ["Skola", "Skol-enhetskod"]].head(5).to_dict("records"))
    df["skolenhetskod"] = unit
    df["owner_type"] = owner_type(df["Typ av huvudman"], path, "Typ av huvudman")
    frames = []
    for g, col in enumerate(GRADE_COLS, start=1):
        values, suppressed = parse_swedish_number(df[col], none_as_zero=False)
        check_numeric(values, df[col], path, col)
        keep = values.notna() | suppressed
        if (values < 0).any():
            raise DataError("negative pupil count", file=path, column=col,
                            examples=df.loc[values < 0, ["Skola", col]].head(5).to_dict("records"))
        frames.append(pd.DataFrame({
            "school_year": year, "skolenhetskod": df["skolenhetskod"][keep],
            "skola": df["Skola"][keep].str.strip(), "kommun_kod": df["kommun_kod"][keep],
            "owner_type": df["owner_type"][keep], "grade": g,
            "pupils": values[keep].astype("Int64"), "suppressed": suppressed[keep]}))
    out = pd.concat(frames, ignore_index=True)
    out = out[(out.pupils != 0).fillna(True)]
    dup = out.duplicated(["school_year", "skolenhetskod", "grade"], keep=False)
    if dup.any():
        raise DataError("the same school unit appears twice", file=path, column="Skol-enhetskod",
                        examples=out.loc[dup, ["skolenhetskod", "skola"]].drop_duplicates().head(5).to_dict("records"))
    return out


def read_pupils_kommun(path: Path, known_codes: set[str]) -> pd.DataFrame:
    df = read_delimited_with_preamble(path, "Kommun")
    require_columns(df, ["Kommun", "Kommun-kod", "Typ av huvudman"] + GRADE_COLS, path)
    year = school_year_of(path, read_text_utf8(path)[:400])
    df = df[df["Kommun-kod"].str.strip() != ""].copy()
    code = df["Kommun-kod"].str.strip().str.zfill(4)
    _check_codes(code, path, "Kommun-kod", known_codes)
    owner = owner_type(df["Typ av huvudman"], path, "Typ av huvudman")
    frames = []
    for g, col in enumerate(GRADE_COLS, start=1):
        values, suppressed = parse_swedish_number(df[col], none_as_zero=True)
        check_numeric(values, df[col], path, col)
        frames.append(pd.DataFrame({"school_year": year, "kommun_kod": code, "owner_type": owner,
                                    "grade": g, "pupils": values.astype("Int64")}))
    return pd.concat(frames, ignore_index=True)


# --- gymnasium costs per municipality ------------------------------------------------------

COST_COLUMNS = {
    "Genomsnittligt elevantal": "average_pupils",
    "Totalt": "total_cost_ksek",
    "Totalt per elev": "cost_per_pupil_sek",
    "Undervisning per elev": "teaching_per_pupil_sek",
    "Lokaler per elev": "premises_per_pupil_sek",
}


def read_costs(path: Path, known_codes: set[str], keep_codes: set[str]) -> pd.DataFrame:
    """Costs for the municipalities in ``keep_codes`` (net costs elsewhere can be negative)."""
    df = read_delimited_with_preamble(path, "Kommun")
    require_columns(df, ["Kommun", "Kommun-kod"] + list(COST_COLUMNS), path)
    m = re.search(r"Valt år:\s*(\d{4})", read_text_utf8(path)[:400])
    year = check_name_year(path, int(m.group(1)), m.group(0)) if m else school_year_of(path)
    df = df[df["Kommun-kod"].str.strip() != ""].copy()
    if "Läns-kod" in df.columns:
        # Municipal associations (kommunalförbund, codes 3xxx) have no county: not municipalities.
        df = df[df["Läns-kod"].str.strip() != ""]
    code = df["Kommun-kod"].str.strip().str.zfill(4)
    _check_codes(code, path, "Kommun-kod", known_codes)
    df, code = df[code.isin(keep_codes)], code[code.isin(keep_codes)]
    out = pd.DataFrame({"year": year, "kommun_kod": code})
    for src, dst in COST_COLUMNS.items():
        values, _ = parse_swedish_number(df[src], none_as_zero=False)
        check_numeric(values, df[src], path, src)
        if (values < 0).any():
            raise DataError("negative cost or count", file=path, column=src,
                            examples=df.loc[values < 0, ["Kommun", src]].head(5).to_dict("records"))
        out[dst] = values
    out["average_pupils"] = out["average_pupils"].round().astype("Int64")
    return out.drop_duplicates().reset_index(drop=True)


# --- xlsx exports: leavers per programme, staff ---------------------------------------------

def _read_xlsx_sheet(path: Path, sheet, first_header: str = "Skola", book=None) -> pd.DataFrame:
    try:
        raw = pd.read_excel(book if book is not None else path, sheet_name=sheet, header=None, dtype=str)
    except FileNotFoundError:
        raise DataError("required source file is missing", file=path) from None
    except Exception as exc:  # zip, xml and openpyxl errors all mean "cannot read"
        raise DataError(f"cannot read this xlsx ({type(exc).__name__}: {exc})", file=path) from None
    first = raw.iloc[:, 0].astype("string").str.strip()
    hits = np.flatnonzero((first == first_header).fillna(False).to_numpy())
    if len(hits) == 0:
        raise DataError(f"sheet {sheet!r}: no header row starting with {first_header!r}",
                        file=path, column=first_header)
    h = hits[0]
    df = raw.iloc[h + 1:].copy()
    df.columns = [str(c).strip() if isinstance(c, str) else f"_col{i}"
                  for i, c in enumerate(raw.iloc[h])]
    df = df[df.iloc[:, 0].notna()]
    return df.fillna("")


def _read_xlsx_head(book, sheet) -> str:
    """The first rows of a sheet as one string (for the 'Valt läsår' preamble)."""
    try:
        head = pd.read_excel(book, sheet_name=sheet, header=None, nrows=6, dtype=str)
    except Exception:
        return ""
    return " ".join(head.fillna("").astype(str).values.ravel())


# The per-programme sheets carry (truncated) programme names; map them to programme codes.
PROGRAMME_NAMES = {
    "Barn- och fritidsprogrammet": "BF", "Bygg- och anläggningsprogrammet": "BA",
    "Ekonomiprogrammet": "EK", "El- och energiprogrammet": "EE", "Estetiska programmet": "ES",
    "Flygteknikutbildningen": "FX", "Fordons- och transportprogrammet": "FT",
    "Försäljnings- och serviceprogrammet": "FS", "Handels- och administrationsprogrammet": "HA",
    "Hantverksprogrammet": "HV", "Hotell- och turismprogrammet": "HT",
    "Humanistiska programmet": "HU", "Industritekniska programmet": "IN",
    "Marinteknikutbildningen": "MX", "Naturbruksprogrammet": "NB",
    "Naturvetenskapsprogrammet": "NA", "Restaurang- och livsmedelsprogrammet": "RL",
    "Samhällsvetenskapsprogrammet": "SA", "Sjöfartsutbildningen": "SX", "Teknikprogrammet": "TE",
    "VVS- och fastighetsprogrammet": "VF", "Vård- och omsorgsprogrammet": "VO",
    "Yrkesdansarutbildningen": "YD", "International Baccalaureate": "IB",
}
AGGREGATE_SHEETS = {"Nationella program": "ALLA", "Högskoleförberedande program": "HF",
                    "Yrkesprogram": "YP"}


def programme_of_sheet(sheet: str) -> str | None:
    if sheet in AGGREGATE_SHEETS:
        return AGGREGATE_SHEETS[sheet]
    for name, code in PROGRAMME_NAMES.items():
        if name.startswith(sheet.strip()):
            return code
    return None


def read_leavers(path: Path, known_codes: set[str], keep_codes: set[str]) -> pd.DataFrame:
    """All programme sheets of one avgångselever workbook (file year Y = läsår (Y-1)/Y)."""
    try:
        book = pd.ExcelFile(path)
        sheets = book.sheet_names
    except FileNotFoundError:
        raise DataError("required source file is missing", file=path) from None
    except Exception as exc:
        raise DataError(f"cannot read this xlsx ({type(exc).__name__}: {exc})", file=path) from None
    m = re.search(r"(\d{4}) Skolenhet", path.name)
    if not m:
        raise DataError("cannot tell the year from the file name ('… YYYY Skolenhet.xlsx')", file=path)
    school_year = int(m.group(1)) - 1
    frames = []
    head = _read_xlsx_head(book, sheets[0]) if sheets else ""
    h = re.search(r"Valt läsår:\s*(\d{4})/\d{2}", head)
    if h:   # the file of year Y holds läsår (Y-1)/Y
        check_name_year(path, int(h.group(1)) + 1, h.group(0), name_year=school_year + 1)
    for sheet in sheets:
        prog = programme_of_sheet(sheet)
        if prog is None:
            if not sheet.startswith("Rapportbeskrivning"):
                warnings.warn(f"{path.name}: sheet {sheet!r} is not a known programme; skipped")
            continue
        df = _read_xlsx_sheet(path, sheet, book=book)
        require_columns(df, ["Skola", "Skol-enhetskod", "Kommun-kod", "Typ av huvudman",
                             "Totalt antal"], path)
        code = df["Kommun-kod"].str.strip().str.zfill(4)
        _check_codes(code, path, "Kommun-kod", known_codes)
        df = df[code.isin(keep_codes)]
        values, suppressed = parse_swedish_number(df["Totalt antal"], none_as_zero=True)
        check_numeric(values, df["Totalt antal"], path, "Totalt antal")
        frames.append(pd.DataFrame({
            "school_year": school_year, "skolenhetskod": df["Skol-enhetskod"].str.strip(),
            "skola": df["Skola"].str.strip(), "kommun_kod": code[code.isin(keep_codes)],
            "owner_type": owner_type(df["Typ av huvudman"], path, "Typ av huvudman"),
            "programme": prog, "leavers": values.astype("Int64"), "suppressed": suppressed}))
    book.close()
    if not frames:
        raise DataError("no programme sheets found", file=path)
    return pd.concat(frames, ignore_index=True)


STAFF_COLUMNS = {
    "Lärare och rektor": "teachers_and_principals_fte", "Rektor": "principals_fte",
    "Lärare": "teachers_fte", "Elever per heltidstjänst": "pupils_per_teacher_fte",
    "Studie- och yrkesvägledare (SYV)": "counsellors_fte", "Elever per SYV": "pupils_per_counsellor",
}


def read_staff(path: Path, known_codes: set[str], keep_codes: set[str]) -> pd.DataFrame:
    df = _read_xlsx_sheet(path, 0)
    require_columns(df, ["Skola", "Skol-enhetskod", "Kommun-kod", "Typ av huvudman"] + list(STAFF_COLUMNS), path)
    text = " ".join(pd.read_excel(path, sheet_name=0, header=None, nrows=6, dtype=str)
                    .fillna("").astype(str).values.ravel())
    m = re.search(r"Valt läsår:\s*(\d{4})/\d{2}", text)
    year = check_name_year(path, int(m.group(1)), m.group(0)) if m else school_year_of(path)
    code = df["Kommun-kod"].str.strip().str.zfill(4)
    _check_codes(code, path, "Kommun-kod", known_codes)
    df = df[code.isin(keep_codes)]
    out = pd.DataFrame({"school_year": year, "skolenhetskod": df["Skol-enhetskod"].str.strip(),
                        "skola": df["Skola"].str.strip(), "kommun_kod": code[code.isin(keep_codes)],
                        "owner_type": owner_type(df["Typ av huvudman"], path, "Typ av huvudman")})
    for src, dst in STAFF_COLUMNS.items():
        values, _ = parse_swedish_number(df[src], none_as_zero=False)
        check_numeric(values, df[src], path, src)
        out[dst] = values
    return out.reset_index(drop=True)


# --- Planned Educations API snapshots ---------------------------------------------------------

def _load_json(path: Path) -> dict:
    text = read_text_utf8(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc})", file=path) from None


def read_gymnasium_units(path: Path, municipalities: pd.DataFrame, keep_codes: set[str]
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """skolkarta_gy-data.json: units (name, municipality name, owner, WGS84, pupils, programmes).

    Filtered by municipality name (never by bounding box: some points are misplaced).
    """
    data = _load_json(path)
    if "schools" not in data or not isinstance(data["schools"], list):
        raise DataError("expected an object with a 'schools' list", file=path, column="schools")
    rows, progs = [], []
    lookup = dict(zip(municipalities["kommun"], municipalities["kommun_kod"]))
    for i, s in enumerate(data["schools"]):
        for key in ("kod", "namn", "kommun", "huvudman"):
            if key not in s:
                raise DataError("required field missing", file=path, column=key,
                                examples=[f"schools[{i}]: {s.get('namn', s.get('kod'))}"])
        code = lookup.get(s["kommun"])
        if code is None:
            raise DataError("unknown municipality name", file=path, column="kommun",
                            examples=[f"schools[{i}]: {s['kommun']!r}"])
        if code not in keep_codes:
            continue
        rows.append({"skolenhetskod": str(s["kod"]), "skola": s["namn"].strip(), "kommun_kod": code,
                     "owner_type": OWNER.get(str(s["huvudman"]).lower()),
                     "lat": s.get("lat"), "lon": s.get("lng"), "pupils_latest": s.get("elever")})
        if rows[-1]["owner_type"] is None:
            raise DataError("unknown owner type", file=path, column="huvudman",
                            examples=[f"schools[{i}]: {s['huvudman']!r}"])
        for p in s.get("programs") or []:
            progs.append({"skolenhetskod": str(s["kod"]), "programme_code_gy25": p.get("c"),
                          "pupils": p.get("n")})
    units = pd.DataFrame(rows)
    programmes = pd.DataFrame(progs, columns=["skolenhetskod", "programme_code_gy25", "pupils"])
    programmes["pupils"] = pd.to_numeric(programmes["pupils"]).astype("Int64")
    units["pupils_latest"] = pd.to_numeric(units["pupils_latest"]).astype("Int64")
    return units, programmes


def read_grade9_schools(path: Path, known_codes: set[str]) -> pd.DataFrame:
    data = _load_json(path)
    if "schools" not in data or not isinstance(data["schools"], list):
        raise DataError("expected an object with a 'schools' list", file=path, column="schools")
    rows = []
    for i, s in enumerate(data["schools"]):
        for key in ("schoolUnitCode", "name", "municipalityCode", "lat", "lng"):
            if s.get(key) in (None, ""):
                raise DataError("required field missing", file=path, column=key,
                                examples=[f"schools[{i}]: {s.get('name')}"])
        rows.append({"skolenhetskod": str(s["schoolUnitCode"]), "skola": s["name"].strip(),
                     "kommun_kod": str(s["municipalityCode"]).zfill(4), "lat": s["lat"], "lon": s["lng"],
                     "merit_grade9": s.get("averageMeritGrade9")})
    df = pd.DataFrame(rows)
    _check_codes(df["kommun_kod"], path, "municipalityCode", known_codes)
    return df

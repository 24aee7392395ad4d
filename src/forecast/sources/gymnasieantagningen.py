"""Gymnasieantagningen Storsthlm: final admission results (slutantagning) per school × study path.

Traps handled here (domain.md §5): the year column is 'År', 'Årtal' or absent (then taken from
the file name); 'NA' is the natural-science programme code, not a missing value; 2021 has 'P'
cells (numbers reported on the programme row); orientation rows repeat the programme's
figures. The de-duplication rule is in :func:`mark_repeated_rows` and docs/data.md.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..programmes import SPECIAL_VARIANTS, classify_codes
from ._common import require_columns

NUMERIC = {"Antagningsgrans": "cutoff", "Median": "median", "AntalPlatser": "places",
           "AntalAntagna": "admitted", "AntalReserver": "reserves", "AntalLedigaPlatser": "vacant"}
REQUIRED = ["Kommun", "Skola", "StudieVagKod", "Studievag"] + list(NUMERIC)
YEAR_ALIASES = ("År", "Årtal", "Ar", "Year")
OWNER_ALIASES = ("Organistionsform", "Organisationsform")
OWNER_CODES = {"K": "kommunal", "F": "enskild", "L": "region", "R": "region"}



def year_from_name(path: Path) -> int:
    m = re.search(r"(20\d{2})", path.name)
    if not m:
        raise DataError("cannot tell the admission year from the file name", file=path)
    return int(m.group(1))


def read_admissions(path: Path, region_names: dict[str, str]) -> pd.DataFrame:
    """One admission workbook -> tidy rows (all rows kept; see ``in_totals``)."""
    try:
        with pd.ExcelFile(path) as xl:
            sheet = "Samverkansområdet" if "Samverkansområdet" in xl.sheet_names else xl.sheet_names[0]
            df = pd.read_excel(xl, sheet_name=sheet, dtype=str, keep_default_na=False)
            saved = getattr(getattr(getattr(xl, "book", None), "properties", None), "modified", None)
    except FileNotFoundError:
        raise DataError("required source file is missing", file=path) from None
    except Exception as exc:
        raise DataError(f"cannot read this xlsx ({type(exc).__name__}: {exc})", file=path) from None
    df.columns = [str(c).strip() for c in df.columns]
    require_columns(df, REQUIRED, path)
    df, repaired = _repair_split_text_rows(df)
    df = df.loc[:, [c for c in df.columns if not c.startswith("Unnamed")]]
    df = df[(df["Skola"].str.strip() != "") | (df["StudieVagKod"].str.strip() != "")]
    n = len(df)

    file_year = year_from_name(path)
    ycol = next((c for c in YEAR_ALIASES if c in df.columns), None)
    if ycol is None:
        # No year column: the workbook's own "last saved" date is the content's cue. Final
        # admission results are published in June of their year, so a file saved before that
        # year began holds an earlier year's results whatever its name says.
        if saved is not None and saved.year < file_year:
            raise DataError(f"the file name says {file_year}, but the workbook was last saved on {saved:%Y-%m-%d}, "
                            f"before the {file_year} results existed; it has no year column to tell otherwise: "
                            "it looks like another year's file renamed; use the publisher's file for that year",
                            file=path)
        year = pd.Series(file_year, index=df.index)
    else:
        year = pd.to_numeric(df[ycol], errors="coerce")
        if year.isna().any() or (year != file_year).any():
            raise DataError(f"year column disagrees with the file name ({file_year})", file=path,
                            column=ycol, examples=sorted(set(df.loc[year != file_year, ycol]))[:5])
    ocol = next((c for c in OWNER_ALIASES if c in df.columns), None)
    if ocol is None:
        # 2024 has no owner-type column: the ingest takes it from the unit register through the
        # crosswalk (forecast.ingest.fill_owner_type); column owner_basis says where it came from
        owner = pd.Series(pd.NA, index=df.index, dtype="string")
    else:
        o = df[ocol].str.strip().str.upper()
        owner = o.map(OWNER_CODES)
        bad = (o != "") & owner.isna()
        if bad.any():
            raise DataError("unknown owner code (allowed K, F, L)", file=path, column=ocol,
                            examples=sorted(set(o[bad]))[:5])

    kommun = df["Kommun"].str.strip()
    code = kommun.map(region_names)
    if code.isna().any():
        raise DataError("school municipality is not in the admission region", file=path,
                        column="Kommun", examples=sorted(set(kommun[code.isna()]))[:5])
    spc = df["StudieVagKod"].str.strip()
    empty = spc == ""
    if empty.any():
        raise DataError("empty study-path code", file=path, column="StudieVagKod",
                        examples=df.loc[empty, ["Skola", "Studievag"]].head(5).to_dict("records"))
    text = df["Studievag"].str.strip().str.replace(r"\s+", " ", regex=True)
    # GY11 and GY25 codes alike; an unknown prefix is classified from its name, never refused
    prog, group, notes = classify_codes(spc, text)
    low = text.str.lower()

    out = pd.DataFrame({
        "year": year.astype(int), "row_in_file": range(2, n + 2),
        "skola": df["Skola"].str.strip().str.replace(r"\s+", " ", regex=True),
        "school_kommun": kommun, "school_kommun_kod": code, "owner_type": owner,
        "study_path_code": spc, "study_path": text, "programme_code": prog,
        "programme_group": group, "is_national": group.isin(["HF", "YP"]),
        "is_apprenticeship": spc.str.contains("0L", regex=False) | low.str.contains("lärling"),
        "is_special_variant": low.str.contains("särskild variant|riksrekryter|spetsutbildning")
        | prog.isin(sorted(SPECIAL_VARIANTS)),
    })
    reported_elsewhere = pd.Series(False, index=df.index)
    for src, dst in NUMERIC.items():
        raw = df[src].str.strip()
        p = raw.str.upper() == "P"
        reported_elsewhere |= p
        values = pd.to_numeric(raw.mask(p | (raw == "")).str.replace(",", ".", regex=False),
                               errors="coerce")
        bad = values.isna() & ~p & (raw != "")
        if bad.any():
            raise DataError("not a number (only numbers, 'P' or empty are allowed)", file=path,
                            column=src, examples=df.loc[bad, ["Skola", "StudieVagKod", src]].head(5).to_dict("records"))
        if (values < 0).any():
            raise DataError("negative value", file=path, column=src,
                            examples=df.loc[values < 0, ["Skola", "StudieVagKod", src]].head(5).to_dict("records"))
        out[dst] = values
    for c in ("places", "admitted", "reserves", "vacant"):
        out[c] = out[c].astype("Int64")
    out["reported_elsewhere"] = reported_elsewhere.to_numpy()
    out = mark_repeated_rows(out.reset_index(drop=True))
    fixed = out.index[np.asarray(repaired)]
    out.loc[fixed, "row_rule"] = out.loc[fixed, "row_rule"] + ";repaired_split_text"
    out["owner_basis"] = np.where(out.owner_type.isna(), "", "file")
    out.attrs["notes"] = [f"{path.name}: {n}" for n in notes]
    if ocol is None:
        out.attrs["notes"].append(f"{path.name}: no owner-type column (Organistionsform); owner type "
                                  "taken from the unit register through the crosswalk")
    return out


def _repair_split_text_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose study-path text spilled into 'Antagningsgrans' (2021: two rows).

    The text continues in the cut-off column and every number sits one column to the right,
    with the last one in an unnamed extra column. Such rows are shifted back and the text is
    joined; anything else non-numeric is left for the number check to reject.
    """
    extra = [c for c in df.columns if c.startswith("Unnamed")]
    flags = np.zeros(len(df), dtype=bool)
    if not extra:
        return df, flags
    cols = list(NUMERIC) + [extra[0]]
    cut = pd.to_numeric(df["Antagningsgrans"].str.replace(",", ".", regex=False), errors="coerce")
    mask = (cut.isna() & (df["Antagningsgrans"].str.strip().str.upper() != "P")
            & (df["Antagningsgrans"].str.strip() != "") & (df[extra[0]].str.strip() != ""))
    if mask.any():
        df = df.copy()
        df.loc[mask, "Studievag"] = (df.loc[mask, "Studievag"].str.strip() + " "
                                     + df.loc[mask, "Antagningsgrans"].str.strip())
        df.loc[mask, cols[:-1]] = df.loc[mask, cols[1:]].to_numpy()
        flags = mask.to_numpy()
    return df, flags


def mark_repeated_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Decide which rows count towards totals.

    Rule (docs/data.md): within one year and school, rows with the same study-path text and
    identical places, admitted, reserves and vacant places are one offering listed under several
    codes (a programme row repeated on its orientation rows). The row with the shortest code
    (then alphabetical) counts; the others get ``in_totals = False`` and ``row_rule =
    'repeats:<code>'``. Rows with 'P' cells are reported on the programme row and never count.
    """
    df = df.copy()
    df["in_totals"] = ~df["reported_elsewhere"]
    df["row_rule"] = "counted"
    df.loc[df["reported_elsewhere"], "row_rule"] = "reported_on_programme_row"
    key = ["year", "skola", "study_path", "places", "admitted", "reserves", "vacant"]
    live = df[df["in_totals"]].copy()
    live["_len"] = live["study_path_code"].str.len()
    live = live.sort_values(["_len", "study_path_code", "row_in_file"])
    keep_code = live.groupby(key, dropna=False)["study_path_code"].transform("first")
    first = ~live.duplicated(key, keep="first")
    repeats = live.index[~first]
    df.loc[repeats, "in_totals"] = False
    df.loc[repeats, "row_rule"] = "repeats:" + keep_code.loc[repeats]
    return df.drop(columns="reported_elsewhere")

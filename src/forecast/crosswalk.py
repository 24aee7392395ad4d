"""Admission-file school names -> Skolverket school units (skolenhetskod).

The admission files name schools by their marketing name and carry no unit code. Rules are
tried in order, within the school's own municipality:

1. ``exact``      the name equals a unit name (case-insensitive);
2. ``normalised`` equal after :func:`normalise_name` (punctuation, 'gymnasiet'/'gy.' forms, …);
3. ``prefix``     the normalised name is a whole-word prefix of one or more unit names
                  (e.g. 'Rudbeck' -> five Rudbeck units);
4. ``manual``     ``data/manual/school_crosswalk_manual.csv``, reviewed by hand. A manual entry
                  also overrides a rule match (for the few names the rules get wrong).

A name that maps to several units has its intake split in proportion to the units' latest
pupil numbers (equal shares when none is known): column ``weight``.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from .errors import DataError

MANUAL_COLUMNS = ["skola", "school_kommun_kod", "skolenhetskod", "note"]

_REPLACEMENTS = [
    (r"\bgymnasieskola\b", "gy"), (r"\bgymnasiet\b", "gy"), (r"\bgymnasium\b", "gy"),
    (r"\bgymnasiesärskola\b", "gysar"), (r"\bgy\.", "gy "), (r"\bgymn\.?", "gy "),
    (r"\bst\b\.?", "sankt"), (r"\bs:t\b", "sankt"), (r"\bsankta\b", "sankt"),
]


def normalise_name(name: str) -> str:
    s = unicodedata.normalize("NFC", str(name)).lower().replace("&", " och ")
    s = s.replace("s:t ", "sankt ")
    for pat, rep in _REPLACEMENTS:
        s = re.sub(pat, rep, s)
    s = re.sub(r"[^\w]+", " ", s)
    s = re.sub(r"\b(ab|skolenhet)\b", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def read_manual(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=MANUAL_COLUMNS)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    except pd.errors.EmptyDataError:
        raise DataError("is empty (no header row); restore it from git", file=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse this CSV ({exc}); quote names that contain commas", file=path) from None
    missing = [c for c in MANUAL_COLUMNS if c not in df.columns]
    if missing:
        raise DataError("required column missing", file=path, column=missing[0])
    bad = ~df["skolenhetskod"].str.fullmatch(r"\d{8}") | ~df["school_kommun_kod"].str.fullmatch(r"\d{4}")
    if bad.any():
        raise DataError("skolenhetskod must be 8 digits and school_kommun_kod 4 digits", file=path,
                        column="skolenhetskod", examples=df[bad].head(5).to_dict("records"))
    return df


def match_by_rules(name: str, cand: pd.DataFrame) -> tuple[list[str], str]:
    """Apply the rules in order, first among units with coordinates, then among all units."""
    low, norm = name.lower().strip(), normalise_name(name)
    for pool in (cand[cand["has_coordinates"]], cand):
        for rule, hit in (("exact", pool["low"] == low), ("normalised", pool["norm"] == norm),
                          ("prefix", pool["norm"].str.startswith(norm + " ") & (len(norm) >= 4))):
            if hit.any():
                return sorted(set(pool.loc[hit, "skolenhetskod"])), rule
    return [], "unmatched"


def build_crosswalk(admissions: pd.DataFrame, units: pd.DataFrame, manual: pd.DataFrame,
                    *, manual_path: Path | None = None) -> pd.DataFrame:
    """Map each (year, school, municipality) in ``admissions`` to units.

    ``units`` has skolenhetskod, skola, kommun_kod, has_coordinates, pupils_latest (one row per
    unit; several names per unit are allowed as separate rows).
    """
    counted = admissions[admissions["in_totals"]]
    schools = (counted.groupby(["year", "skola", "school_kommun_kod"], as_index=False)["admitted"]
               .sum(min_count=1).fillna({"admitted": 0}))
    units = units.copy()
    units["norm"] = units["skola"].map(normalise_name)
    units["low"] = units["skola"].str.lower().str.strip()
    known = set(units["skolenhetskod"])
    unknown = manual[~manual["skolenhetskod"].isin(known)]
    if len(unknown):
        raise DataError("manual crosswalk names a school unit that is in none of the unit lists",
                        file=manual_path, column="skolenhetskod",
                        examples=unknown.head(5).to_dict("records"))
    man = manual.groupby(["skola", "school_kommun_kod"])["skolenhetskod"].apply(list).to_dict()
    by_code = units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")

    rows = []
    for s in schools.itertuples(index=False):
        cand = units[units["kommun_kod"] == s.school_kommun_kod]
        codes, rule = [], "unmatched"
        if (s.skola, s.school_kommun_kod) in man:
            codes, rule = man[(s.skola, s.school_kommun_kod)], "manual"
        else:
            codes, rule = match_by_rules(s.skola, cand)
        if not codes:
            rows.append({"year": s.year, "skola": s.skola, "school_kommun_kod": s.school_kommun_kod,
                         "skolenhetskod": pd.NA, "rule": "unmatched", "weight": 1.0,
                         "has_coordinates": False, "admitted": int(s.admitted)})
            continue
        info = by_code.loc[codes]
        size = info["pupils_latest"].astype("Float64").fillna(0).astype(float)
        w = size / size.sum() if size.sum() > 0 else pd.Series(1.0 / len(codes), index=info.index)
        for code in codes:
            rows.append({"year": s.year, "skola": s.skola, "school_kommun_kod": s.school_kommun_kod,
                         "skolenhetskod": code, "rule": rule, "weight": round(float(w[code]), 6),
                         "has_coordinates": bool(info.loc[code, "has_coordinates"]),
                         "admitted": int(s.admitted)})
    out = pd.DataFrame(rows)
    return out.sort_values(["year", "school_kommun_kod", "skola", "skolenhetskod"],
                           na_position="last").reset_index(drop=True)


def mapped_share(crosswalk: pd.DataFrame) -> pd.DataFrame:
    """Share of admitted students per year whose school maps to units with coordinates."""
    c = crosswalk.copy()
    c["mapped_admitted"] = c["admitted"] * c["weight"] * c["has_coordinates"]
    per_school = c.groupby(["year", "skola", "school_kommun_kod"]).agg(
        admitted=("admitted", "first"), mapped=("mapped_admitted", "sum"))
    g = per_school.groupby("year").sum()
    g["share_mapped_pct"] = (100 * g["mapped"] / g["admitted"]).round(2)
    return g.reset_index()

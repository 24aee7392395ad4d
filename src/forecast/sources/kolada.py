"""Kolada population key figures (SCB population at 31 Dec) by municipality, 1994–2022.

KPIs used: N01951 total, N01817 age 0, N01926 1–5, N01952 0–5, N01921 0–12, N01953 6–15,
N01927 13–18, N01954 16–19. Exact derived bands (provenance-population §7):
6–12 = 0–12 − 0–5; 13–15 = 6–15 − 6–12; 16–18 = 13–18 − 13–15; 19 = 16–19 − 16–18.
Derived bands are written from 1999 only, because the KPIs use different regional divisions
in 1998 (Nykvarn) and 2002 (Knivsta); see docs/data.md.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..files import read_csv_named
from ._common import require_columns

KPIS = {
    "n01951": "total", "n01817": "0", "n01926": "1-5", "n01952": "0-5",
    "n01921": "0-12", "n01953": "6-15", "n01927": "13-18", "n01954": "16-19",
}
DERIVED_FROM = 1999
# The N01954 (16-19) total file is wrong for 2007; women + men from the gender file is right.
BAD_TOTAL_YEARS = {"n01954": (2007,)}
# Municipality-years where the KPIs use different regional divisions (a municipality split):
# the cross-KPI derivation is wrong there, so no derived bands are written (docs/data.md).
SPLIT_YEARS = {("0380", 2002): "Knivsta split from Uppsala; KPIs disagree on the division",
               ("0330", 2002): "Knivsta split from Uppsala; KPIs disagree on the division"}


def kpi_files(sources: Path) -> dict[str, Path]:
    return {k: sources / "kolada" / f"ddf--datapoints--{k}--by--geo--year.csv" for k in KPIS}


def gender_file(sources: Path, kpi: str) -> Path:
    return sources / "kolada" / f"ddf--datapoints--{kpi}--by--geo--gender--year.csv"


def _read_kpi(path: Path, kpi: str, gender: bool = False, municipality_codes: set[str] | None = None
              ) -> pd.DataFrame:
    if not path.is_file():
        raise DataError("required source file is missing", file=path)
    df = read_csv_named(path, dtype=str, keep_default_na=False)
    cols = ["geo", "year", kpi] + (["gender"] if gender else [])
    require_columns(df, cols, path)
    if municipality_codes is not None:
        check_geo_codes(df["geo"], path, municipality_codes)
    value = pd.to_numeric(df[kpi], errors="coerce")
    bad = value.isna() | (value < 0) | (value != value.round())
    if bad.any():
        raise DataError("population must be a whole non-negative number", file=path, column=kpi,
                        examples=df.loc[bad, cols].head(5).to_dict("records"))
    year = pd.to_numeric(df["year"], errors="coerce")
    if year.isna().any():
        raise DataError("year is not a number", file=path, column="year",
                        examples=df.loc[year.isna(), cols].head(5).to_dict("records"))
    out = pd.DataFrame({"geo": df["geo"].astype(str), "year": year.astype(int),
                        "population": value.astype("int64")})
    if gender:
        out["gender"] = df["gender"]
    return out


def check_geo_codes(geo: pd.Series, path: Path, municipality_codes: set[str]) -> None:
    """Kolada's ``geo``: ``0`` (Sweden), a 2-digit county or a 4-digit municipality of the register.
    Anything else (a 4-digit code the register does not know, text) is refused, not dropped."""
    g = geo.astype(str).str.strip()
    shape = g.str.fullmatch(r"\d|\d{2}|\d{4}")
    bad = ~shape | (g.str.len() == 4) & ~g.isin(municipality_codes)
    if bad.any():
        raise DataError("unknown municipality code: not in the municipality register (the boundary file "
                        "geo/kommun.parquet); Kolada geo codes are 0, a county (2 digits) or a municipality",
                        file=path, column="geo", examples=sorted(set(g[bad]))[:5])


def check_register(register_codes: set[str], entities: Path) -> None:
    """The register (from the boundary file) against Kolada's own municipality list, when present."""
    if not entities.is_file():
        return
    df = read_csv_named(entities, dtype=str, keep_default_na=False)
    require_columns(df, ["kommun"], entities)
    theirs = set(df["kommun"].str.strip())
    if theirs != set(register_codes):
        raise DataError("the municipality register (boundary file geo/kommun.parquet) and Kolada's list "
                        f"disagree: only in the boundaries {sorted(set(register_codes) - theirs)[:5]}, only in "
                        f"Kolada {sorted(theirs - set(register_codes))[:5]}", file=entities, column="kommun")


def entities_file(sources: Path) -> Path:
    return sources / "kolada" / "ddf--entities--geo--kommun.csv"


def read_population_bands(sources: Path, municipality_codes: set[str]) -> pd.DataFrame:
    """Population by municipality × year × age band, incl. exact derived bands from 1999."""
    frames = []
    for kpi, band in KPIS.items():
        df = _read_kpi(kpi_files(sources)[kpi], kpi, municipality_codes=municipality_codes)
        for bad_year in BAD_TOTAL_YEARS.get(kpi, ()):
            g = _read_kpi(gender_file(sources, kpi), kpi, gender=True, municipality_codes=municipality_codes)
            g = g[g.year == bad_year].groupby(["geo", "year"], as_index=False)["population"].sum()
            df = pd.concat([df[df.year != bad_year], g], ignore_index=True)
        df = df[df.geo.isin(municipality_codes)]
        frames.append(df.assign(age_band=band, derived=False))
    bands = pd.concat(frames, ignore_index=True)
    bands = bands.rename(columns={"geo": "kommun_kod"})[
        ["kommun_kod", "year", "age_band", "population", "derived"]]

    wide = bands.pivot_table(index=["kommun_kod", "year"], columns="age_band",
                             values="population", aggfunc="first")
    wide = wide[wide.index.get_level_values("year") >= DERIVED_FROM]
    need = ["0-12", "0-5", "6-15", "13-18", "16-19"]
    wide = wide.dropna(subset=need)
    d = pd.DataFrame(index=wide.index)
    d["6-12"] = wide["0-12"] - wide["0-5"]
    d["13-15"] = wide["6-15"] - d["6-12"]
    d["16-18"] = wide["13-18"] - d["13-15"]
    d["19"] = wide["16-19"] - d["16-18"]
    split = d.index.isin(list(SPLIT_YEARS))
    d = d[~split]
    neg = (d < 0).any(axis=1)
    if neg.any():
        raise DataError("derived age band is negative: the KPI files disagree",
                        file=kpi_files(sources)["n01927"], column="n01927",
                        examples=d[neg].reset_index().head(5).to_dict("records"))
    derived = d.stack().rename("population").reset_index().rename(columns={"level_2": "age_band"})
    derived = derived.rename(columns={derived.columns[2]: "age_band"})
    derived["population"] = derived["population"].astype("int64")
    derived["derived"] = True
    out = pd.concat([bands, derived], ignore_index=True)
    return out.sort_values(["kommun_kod", "year", "age_band"]).reset_index(drop=True)

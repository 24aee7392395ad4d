"""SCB population files: single ages 2019, county series 1968–2015, municipal totals."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..files import read_csv_named, read_csv_text, read_text_utf8
from ._common import require_columns

SEX_EN = {"Females": "kvinnor", "Males": "män"}
SEX_SV = {"kvinnor": "kvinnor", "män": "män"}


def fold(name: str) -> str:
    """ASCII-fold a Swedish name: 'Håbo' -> 'Habo'."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def _codes_by_name(municipalities: pd.DataFrame, path: Path, names: pd.Series,
                   column: str) -> pd.Series:
    lookup = dict(zip(municipalities["kommun"], municipalities["kommun_kod"]))
    codes = names.map(lookup)
    if codes.isna().any():
        raise DataError("unknown municipality name (no code in the boundary file)", file=path,
                        column=column, examples=sorted(set(names[codes.isna()]))[:5])
    return codes


def read_single_age_2019(path: Path, municipalities: pd.DataFrame) -> pd.DataFrame:
    """SCB_alderkon.csv: municipality name × age × sex, column X<year>."""
    if not path.is_file():
        raise DataError("required source file is missing", file=path)
    df = read_csv_named(path, dtype=str, keep_default_na=False, encoding="utf-8")
    require_columns(df, ["region", "ålder", "kön"], path)
    year_cols = [c for c in df.columns if c.startswith("X") and c[1:].isdigit()]
    if len(year_cols) != 1:
        raise DataError("expected exactly one year column named X<year>", file=path,
                        column="X<year>", examples=list(df.columns))
    ycol = year_cols[0]
    sex = df["kön"].map(SEX_SV)
    if sex.isna().any():
        raise DataError("unknown sex (allowed: män, kvinnor)", file=path, column="kön",
                        examples=sorted(set(df.loc[sex.isna(), "kön"]))[:5])
    out = pd.DataFrame({
        "kommun_kod": _codes_by_name(municipalities, path, df["region"], "region"),
        "year": int(ycol[1:]),
        "age": pd.to_numeric(df["ålder"].str.replace("+", "", regex=False), errors="coerce"),
        "sex": sex,
        "population": pd.to_numeric(df[ycol], errors="coerce"),
    })
    for c in ("age", "population"):
        if out[c].isna().any():
            raise DataError("not a number", file=path, column=c if c != "population" else ycol,
                            examples=df[out[c].isna()].head(5).to_dict("records"))
    out = out.astype({"age": int, "population": "int64"})
    return out.sort_values(["kommun_kod", "year", "age", "sex"]).reset_index(drop=True)


def _county_codes(counties: pd.DataFrame) -> dict[str, str]:
    """ASCII county labels ('Sodermanland') -> county code, from the county boundary names."""
    m = {fold(name).replace(" lan", "").rstrip("s"): code
         for code, name in zip(counties["lan_kod"], counties["lan"])}
    m["Gotaland"] = m["Vastra Gotaland"]  # StatisticsNZ's label for Västra Götaland
    return m


def read_county_series(path: Path, counties: pd.DataFrame, value: str, age_col: str) -> pd.DataFrame:
    """The *_long.csv conversions of StatisticsNZ's demdata arrays (county × age × sex × year)."""
    if not path.is_file():
        raise DataError("required source file is missing", file=path)
    df = read_csv_named(path, dtype=str, keep_default_na=False)
    require_columns(df, ["region", "year", "sex", "age", "count"], path)
    codes = _county_codes(counties)
    lan = df["region"].map(codes)
    if lan.isna().any():
        raise DataError("unknown county name", file=path, column="region",
                        examples=sorted(set(df.loc[lan.isna(), "region"]))[:5])
    sex = df["sex"].map(SEX_EN)
    if sex.isna().any():
        raise DataError("unknown sex (allowed: Females, Males)", file=path, column="sex",
                        examples=sorted(set(df.loc[sex.isna(), "sex"]))[:5])
    count = pd.to_numeric(df["count"], errors="coerce")
    if count.isna().any() or (count < 0).any():
        raise DataError("count must be a non-negative number", file=path, column="count",
                        examples=df[count.isna() | (count < 0)].head(5).to_dict("records"))
    out = pd.DataFrame({"lan_kod": lan, "year": df["year"].astype(int), "sex": sex,
                        value: count.astype("int64")})
    if age_col == "mother_age":
        out[age_col] = df["age"].replace({"no information": "okänd"})
        order = ["lan_kod", "year", "mother_age", "sex"]
    else:
        out[age_col] = pd.to_numeric(df["age"].str.replace("+", "", regex=False)).astype(int)
        order = ["lan_kod", "year", "age", "sex"]
    return out[order + [value]].sort_values(order).reset_index(drop=True)


def read_municipal_totals(be_path: Path, fm_path: Path, municipalities: pd.DataFrame
                          ) -> tuple[pd.DataFrame, list[str]]:
    """Total population by municipality 1950–2019.

    BE0101N1.csv (1968–2017, names) wins where both exist; folkmangd.csv (ASCII-folded names,
    1950–2019) fills 1950–1967 and 2018–2019. Zeros before a municipality existed are dropped.
    Returns the table and a list of notes (disagreements between the two files).
    """
    be_text = read_text_utf8(be_path)
    be = read_csv_text(be_text, be_path, dtype=str, keep_default_na=False)
    require_columns(be, ["kommun"], be_path)
    years = [c for c in be.columns if c.isdigit()]
    if not years:
        raise DataError("no year columns (expected 1968 … 2017)", file=be_path, column="1968")
    be_long = be.melt(id_vars=["kommun"], value_vars=years, var_name="year", value_name="population")
    be_long["kommun_kod"] = _codes_by_name(municipalities, be_path, be_long["kommun"], "kommun")
    be_long["population"] = pd.to_numeric(be_long["population"], errors="raise")
    be_long["year"] = be_long["year"].astype(int)
    be_long["source"] = "BE0101N1"

    fm_text = read_text_utf8(fm_path)
    fm = read_csv_text(fm_text, fm_path, sep=";", dtype=str, keep_default_na=False)
    require_columns(fm, ["k_ID", "kommun"], fm_path)
    fyears = [c for c in fm.columns if c.startswith("ar_")]
    if not fyears:
        raise DataError("no year columns (expected ar_1950 … ar_2019)", file=fm_path, column="ar_1950")
    # Folded names are ambiguous for Håbo/Habo: resolve by the 2017 value shared with BE0101N1.
    by_fold: dict[str, list[str]] = {}
    for code, name in zip(municipalities["kommun_kod"], municipalities["kommun"]):
        by_fold.setdefault(fold(name), []).append(code)
    be2017 = be_long[be_long.year == 2017].set_index("kommun_kod")["population"]
    codes = []
    for _, row in fm.iterrows():
        cands = by_fold.get(row["kommun"], [])
        if len(cands) > 1 and "ar_2017" in fm.columns:
            v = int(row["ar_2017"])
            cands = [c for c in cands if be2017.get(c) == v]
        if len(cands) != 1:
            raise DataError("municipality name matches no code or several", file=fm_path,
                            column="kommun", examples=[row["kommun"]])
        codes.append(cands[0])
    fm["kommun_kod"] = codes
    if fm["kommun_kod"].duplicated().any():
        raise DataError("two rows map to the same municipality", file=fm_path, column="kommun",
                        examples=fm.loc[fm["kommun_kod"].duplicated(keep=False), "kommun"].tolist())
    fm_long = fm.melt(id_vars=["kommun_kod"], value_vars=fyears, var_name="year", value_name="population")
    fm_long["year"] = fm_long["year"].str[3:].astype(int)
    fm_long["population"] = pd.to_numeric(fm_long["population"], errors="raise")
    fm_long["source"] = "folkmangd"

    notes = []
    both = be_long.merge(fm_long, on=["kommun_kod", "year"], suffixes=("_be", "_fm"))
    diff = both[both.population_be != both.population_fm]
    notes.append(f"municipal totals: BE0101N1 and folkmangd overlap in {len(both)} municipality-years "
                 f"1968–2017 and differ in {len(diff)}")
    for r in diff.head(20).itertuples():
        notes.append(f"  {r.kommun_kod} {r.year}: BE0101N1 {r.population_be}, folkmangd {r.population_fm}")
    extra = fm_long[~fm_long.year.isin(be_long.year.unique())]
    out = pd.concat([be_long[["kommun_kod", "year", "population", "source"]],
                     extra[["kommun_kod", "year", "population", "source"]]], ignore_index=True)
    out = out[out.population > 0]
    return out.sort_values(["kommun_kod", "year"]).reset_index(drop=True), notes

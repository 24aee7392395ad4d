"""``forecast data``: ``data/raw/*.csv`` -> validated Parquet tables in ``data/processed/``.

Every table is validated against its schema (forecast.schemas) and the control totals below
are checked before anything is written; on any failure ``data/processed/`` is left as it was.
Also the one way in for the models and notebooks: :func:`load_table`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DataError
from .files import format_csv, read_csv_named, read_parquet_named, replace_dir_contents, staging_dir
from .paths import PROCESSED_DIR, RAW_DIR
from .cohorts import build_single_age_history
from .schemas import SCHEMAS, validate

TABLES = ("municipalities", "region_boundaries", "population_bands", "population_single_age",
          "county_population", "county_births", "county_deaths", "municipal_totals",
          "pupils_grundskola", "pupils_kommun", "gymnasium_units", "gymnasium_unit_programmes",
          "grade9_schools", "admissions", "school_crosswalk", "leavers", "staff",
          "gymnasium_costs", "sources")

# Published reference figures (domain.md, provenance-population.md, provenance-schools.md §F).
SCB_2019 = {"county_01": 2_377_081, "0180": 974_073}
COUNTY_16_18 = {2015: 67_698, 2022: 85_065}
ADMITTED_NATIONAL = {2021: 26_353, 2022: 27_246, 2023: 27_637}
ADMITTED_TOLERANCE_PCT = 1.5
# No final 2024 figure is published in our sources; the preliminary admission of April 2024
# (provenance-schools F12: 24 425 preliminarily admitted) is a lower bound for the final one.
ADMITTED_NATIONAL_AT_LEAST = {2024: 24_425}


@dataclass
class BuildResult:
    tables: dict[str, pd.DataFrame]
    checks: pd.DataFrame
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks["ok"].all())


def read_raw_table(raw_dir: Path, name: str, known_codes: set[str] | None = None) -> pd.DataFrame:
    path = Path(raw_dir) / f"{name}.csv"
    if not path.is_file():
        raise DataError("extract missing; run `forecast ingest` (or `make data`)", file=path)
    df = read_csv_named(path, dtype=str, keep_default_na=False, encoding="utf-8")
    return validate(df, SCHEMAS[name], source=path, known_codes=known_codes)


def check_register(t: dict[str, pd.DataFrame], raw_dir: Path) -> None:
    """The municipality register (municipalities.csv) against the publishers' own lists: every
    code has Kolada population and SCB totals (and nothing else has), its county is one of SCB's
    counties, and the admission region's rows are exactly the boundary file's municipalities."""
    muni = t["municipalities"]
    path = Path(raw_dir) / "municipalities.csv"
    codes = set(muni.kommun_kod)
    for table, publisher in (("population_bands", "Kolada"), ("municipal_totals", "SCB")):
        if table not in t:
            continue
        theirs = set(t[table].kommun_kod)
        extra, missing = sorted(codes - theirs), sorted(theirs - codes)
        if extra:
            raise DataError(f"municipality code(s) not in {publisher}'s list ({table}.csv has no rows for them): "
                            "not a Swedish municipality", file=path, column="kommun_kod", examples=extra)
        if missing:
            raise DataError(f"{publisher}'s list ({table}.csv) has municipality code(s) the register lacks",
                            file=path, column="kommun_kod", examples=missing)
    wrong_lan = muni[muni.lan_kod != muni.kommun_kod.str[:2]]
    if len(wrong_lan):
        raise DataError("lan_kod is not the first two digits of kommun_kod", file=path, column="lan_kod",
                        examples=wrong_lan[["kommun_kod", "lan_kod"]].to_dict("records"))
    if "county_population" in t:
        counties = set(t["county_population"].lan_kod)
        bad = muni[~muni.lan_kod.isin(counties)]
        if len(bad):
            raise DataError(f"county not among SCB's {len(counties)} counties (county_population.csv)",
                            file=path, column="lan_kod", examples=bad[["kommun_kod", "lan_kod"]].to_dict("records"))
    if "region_boundaries" in t:
        inside = set(muni[muni.in_admission_region].kommun_kod)
        drawn = set(t["region_boundaries"].kommun_kod)
        if inside != drawn:
            raise DataError("in_admission_region disagrees with the boundary file (region_boundaries.csv): "
                            f"only in the register {sorted(inside - drawn)}, only in the boundaries "
                            f"{sorted(drawn - inside)}", file=path, column="in_admission_region")


def control_totals(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    sa = t["population_single_age"]
    s19 = sa[sa.year == 2019]
    county = int(s19[s19.kommun_kod.str.startswith("01")].population.sum())
    rows.append(("SCB population 31 Dec 2019, Stockholm County", SCB_2019["county_01"], county, 0.0))
    sthlm = int(s19[s19.kommun_kod == "0180"].population.sum())
    rows.append(("SCB population 31 Dec 2019, Stockholm (0180)", SCB_2019["0180"], sthlm, 0.0))
    b = t["population_bands"]
    for year, expected in COUNTY_16_18.items():
        v = int(b[(b.year == year) & (b.age_band == "16-18") & b.kommun_kod.str.startswith("01")].population.sum())
        rows.append((f"16-18-year-olds {year}, Stockholm County (derived bands)", expected, v, 0.0))
    a = t["admissions"]
    for year, expected in ADMITTED_NATIONAL.items():
        v = int(a[(a.year == year) & a.is_national & a.in_totals].admitted.sum())
        rows.append((f"admitted to national programmes {year} (Storsthlm press release)", expected, v,
                     ADMITTED_TOLERANCE_PCT))
    lower = []
    for year, expected in ADMITTED_NATIONAL_AT_LEAST.items():
        if year in set(a.year):
            v = int(a[(a.year == year) & a.is_national & a.in_totals].admitted.sum())
            lower.append((f"admitted to national programmes {year}, at least the preliminary admission "
                          "(Storsthlm press release)", expected, v, float("nan")))
    df = pd.DataFrame(rows + lower, columns=["check", "expected", "actual", "tolerance_pct"])
    df["difference_pct"] = (100 * (df.actual - df.expected) / df.expected).round(3)
    df["ok"] = (df.difference_pct.abs() <= df.tolerance_pct) | (df.tolerance_pct.isna() & (df.actual >= df.expected))
    return df


def build_processed(raw_dir: Path = RAW_DIR, out_dir: Path = PROCESSED_DIR) -> BuildResult:
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    muni = read_raw_table(raw_dir, "municipalities")
    known = set(muni.kommun_kod)
    tables = {"municipalities": muni}
    for name in TABLES[1:]:
        tables[name] = read_raw_table(raw_dir, name, known)
    check_register(tables, raw_dir)
    checks = control_totals(tables)
    history = build_single_age_history(tables["population_bands"], tables["population_single_age"],
                                       tables["pupils_grundskola"], muni.kommun_kod,
                                       tables["county_population"])
    derived = {"cohort_history": validate(history, SCHEMAS["cohort_history"], source="cohort_history (derived)")}
    lines = ["control totals:"]
    for r in checks.itertuples():
        lines.append(f"  [{'ok' if r.ok else 'FAILED'}] {r.check}: expected {r.expected:,}, got {r.actual:,} "
                     + (f"({r.difference_pct:+.2f}%, tolerance {r.tolerance_pct}%)" if r.tolerance_pct == r.tolerance_pct
                        else "(lower bound)"))
    result = BuildResult(tables | derived, checks, lines)
    if not result.ok:
        failed = checks[~checks.ok]
        raise DataError("control totals failed; data/processed left unchanged: "
                        + "; ".join(f"{r.check} expected {r.expected}, got {r.actual}" for r in failed.itertuples()),
                        file=raw_dir)
    with staging_dir(out_dir) as tmp:
        for name, df in (tables | derived).items():
            df.to_parquet(tmp / f"{name}.parquet", index=False, engine="pyarrow", compression="zstd")
        (tmp / "control_totals.csv").write_bytes(format_csv(checks))
        replace_dir_contents(tmp, out_dir)
    return result


def load_table(name: str, processed_dir: Path = PROCESSED_DIR) -> pd.DataFrame:
    """Read one processed table (the models' and notebooks' way in)."""
    if name not in SCHEMAS and name != "control_totals":
        raise DataError(f"unknown table {name!r} (known: {', '.join(sorted(SCHEMAS))})")
    path = Path(processed_dir) / f"{name}.parquet"
    if not path.is_file():
        raise DataError("processed table missing; run `make data`", file=path)
    return read_parquet_named(path, "rebuild data/processed with `make data`")


def load_cohort_history(processed_dir: Path = PROCESSED_DIR):
    """The single-age history (municipality × year × age 0–19) as a CohortHistory."""
    from .projection import CohortHistory
    return CohortHistory.from_frame(load_table("cohort_history", processed_dir))

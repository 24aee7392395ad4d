"""``forecast ingest``: publisher files -> tidy, validated extracts in ``data/raw/``.

Everything is read and validated first; files are written to a staging folder and moved into
``data/raw/`` only when every table passed. Output is deterministic (sorted rows, fixed float
format), so re-running on the same sources reproduces the committed extracts byte for byte.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import catalogue, crosswalk, regions, scb_api
from .errors import DataError
from .files import format_csv, read_csv_named, replace_dir_contents, sha256_file, staging_dir
from .paths import MANUAL_DIR, RAW_DIR
from .schemas import validate
from .sources import gymnasieantagningen, kolada, scb, skolverket
from .sources import geo as geo_src

TABLE_ORDER = {
    "municipalities": ["kommun_kod"],
    "region_boundaries": ["kommun_kod"],
    "population_bands": ["kommun_kod", "year", "age_band"],
    "population_single_age": ["kommun_kod", "year", "age", "sex"],
    "county_population": ["lan_kod", "year", "age", "sex"],
    "county_births": ["lan_kod", "year", "mother_age", "sex"],
    "county_deaths": ["lan_kod", "year", "age", "sex"],
    "municipal_totals": ["kommun_kod", "year"],
    "pupils_grundskola": ["school_year", "kommun_kod", "skolenhetskod", "grade"],
    "pupils_kommun": ["school_year", "kommun_kod", "owner_type", "grade"],
    "gymnasium_units": ["kommun_kod", "skolenhetskod"],
    "gymnasium_unit_programmes": ["skolenhetskod", "programme_code_gy25"],
    "grade9_schools": ["kommun_kod", "skolenhetskod"],
    "admissions": ["year", "row_in_file"],
    "school_crosswalk": ["year", "school_kommun_kod", "skola", "skolenhetskod"],
    "leavers": ["school_year", "kommun_kod", "skolenhetskod", "programme"],
    "staff": ["school_year", "kommun_kod", "skolenhetskod"],
    "gymnasium_costs": ["year", "kommun_kod"],
}
OUTSIDE_KM = 2.0  # a unit further than this from its own municipality's polygon is flagged


@dataclass
class IngestResult:
    tables: dict[str, pd.DataFrame]
    sources: pd.DataFrame
    report: list[str] = field(default_factory=list)


def _need(sources: Path, family_key: str) -> list[Path]:
    fam = next(f for f in catalogue.FAMILIES if f.key == family_key)
    files = catalogue.files_of(fam, sources)
    if not files and fam.required:
        raise DataError(f"no source file matches {fam.pattern!r} ({fam.title})", file=sources / fam.pattern)
    return files


def build_tables(sources: Path, manual_dir: Path = MANUAL_DIR) -> IngestResult:
    """Read every source family and return validated tidy tables (nothing is written)."""
    sources = Path(sources)
    if not sources.is_dir():
        raise DataError("sources folder not found (pass --sources DIR)", file=sources)
    report: list[str] = []
    t: dict[str, pd.DataFrame] = {}

    # Municipalities and counties -----------------------------------------------------------
    kommun = geo_src.read_boundaries(_need(sources, "boundaries_kommun")[0], "kommun_kod", "kommun")
    lan = geo_src.read_boundaries(_need(sources, "boundaries_lan")[0], "lan_kod", "lan")
    known = set(kommun.kommun_kod)
    region = set(regions.ADMISSION_REGION)
    missing_region = region - known
    if missing_region:
        raise DataError("admission-region municipalities missing from the boundary file",
                        file=sources / "geo/kommun.parquet", column="kommun_kod", examples=sorted(missing_region))
    kolada.check_register(known, kolada.entities_file(sources))
    clusters_path = manual_dir / "clusters.csv"
    clusters = read_csv_named(clusters_path, dtype=str, keep_default_na=False)
    bad = clusters[~clusters.kommun_kod.isin(region)]
    if len(bad):
        raise DataError("cluster file names a municipality outside the admission region",
                        file=clusters_path, column="kommun_kod", examples=bad.kommun_kod.tolist())
    muni = pd.DataFrame({"kommun_kod": kommun.kommun_kod, "kommun": kommun.kommun,
                         "lan_kod": kommun.kommun_kod.str[:2],
                         "in_admission_region": kommun.kommun_kod.isin(region)})
    muni = muni.merge(clusters.rename(columns={"basis": "cluster_basis"})[["kommun_kod", "cluster", "cluster_basis"]],
                      on="kommun_kod", how="left")
    t["municipalities"] = muni
    t["region_boundaries"] = geo_src.region_wkt(kommun, region)
    names = dict(zip(kommun.kommun, kommun.kommun_kod))
    region_names = {n: c for n, c in names.items() if c in region}

    # Population ---------------------------------------------------------------------------
    _need(sources, "kolada")
    t["population_bands"] = kolada.read_population_bands(sources, known)
    single = [scb.read_single_age_2019(_need(sources, "scb_single_age")[0], muni)]
    for p in _need(sources, "scb_pxweb"):
        single.append(scb_api.population_from_file(p, known))
    sa = pd.concat(single, ignore_index=True)
    t["population_single_age"] = sa.drop_duplicates(["kommun_kod", "year", "age", "sex"], keep="first")
    t["county_population"] = scb.read_county_series(_need(sources, "scb_county_pop")[0], lan, "population", "age")
    t["county_births"] = scb.read_county_series(_need(sources, "scb_county_births")[0], lan, "births", "mother_age")
    t["county_deaths"] = scb.read_county_series(_need(sources, "scb_county_deaths")[0], lan, "deaths", "age")
    totals, notes = scb.read_municipal_totals(_need(sources, "scb_totals")[0],
                                              _need(sources, "scb_folkmangd")[0], muni)
    t["municipal_totals"] = totals
    report += notes

    # Compulsory-school pupils ------------------------------------------------------------
    units = _one_file_per_year([(p, skolverket.read_pupils_units(p, known, region))
                                for p in _need(sources, "pupils_units")], "school_year")
    t["pupils_grundskola"] = units
    kom = _one_file_per_year([(p, skolverket.read_pupils_kommun(p, known)) for p in _need(sources, "pupils_kommun")],
                             "school_year")
    t["pupils_kommun"] = kom
    report += _crosscheck_pupils(units, kom)

    # Gymnasium units, grade-9 schools ------------------------------------------------------
    gy, progs = skolverket.read_gymnasium_units(_need(sources, "gy_units")[0], muni, region)
    x, y = geo_src.to_sweref(gy["lat"], gy["lon"])
    gy["x_sweref99tm"], gy["y_sweref99tm"] = x, y
    km = geo_src.distance_outside_km(x, y, gy["kommun_kod"], kommun)
    gy["km_outside_own_municipality"] = km
    gy["coordinate_flag"] = np.where(np.isnan(x), "missing",
                                     np.where(np.nan_to_num(km) > OUTSIDE_KM, "outside_own_municipality", "ok"))
    gy["lat"], gy["lon"] = gy["lat"].round(6), gy["lon"].round(6)
    t["gymnasium_units"] = gy
    t["gymnasium_unit_programmes"] = progs.groupby(["skolenhetskod", "programme_code_gy25"], as_index=False)["pupils"].sum(min_count=1)
    flagged = gy[gy.coordinate_flag != "ok"]
    for r in flagged.itertuples():
        report.append(f"gymnasium unit {r.skolenhetskod} {r.skola} ({r.kommun_kod}): coordinate flag "
                      f"{r.coordinate_flag}" + (f", {r.km_outside_own_municipality} km outside its municipality"
                                                if r.coordinate_flag == "outside_own_municipality" else ""))

    g9 = skolverket.read_grade9_schools(_need(sources, "grade9")[0], known)
    gx, gy9 = geo_src.to_sweref(g9["lat"], g9["lon"])
    g9["x_sweref99tm"], g9["y_sweref99tm"] = gx, gy9
    g9["lat"], g9["lon"] = g9["lat"].round(6), g9["lon"].round(6)
    last = units[units.grade == 9].sort_values("school_year").drop_duplicates("skolenhetskod", keep="last")
    g9 = g9.merge(last[["skolenhetskod", "pupils", "school_year"]]
                  .rename(columns={"pupils": "pupils_grade9", "school_year": "pupils_school_year"}),
                  on="skolenhetskod", how="left")
    report.append(f"grade-9 schools: {len(g9)}, with grade-9 pupil counts from the unit files: "
                  f"{int(g9.pupils_grade9.notna().sum())}")
    t["grade9_schools"] = g9

    # Admissions, leavers, staff, costs ----------------------------------------------------
    adm_files = _need(sources, "admissions")
    adm_parts = [gymnasieantagningen.read_admissions(p, region_names) for p in adm_files]
    report += [n for part in adm_parts for n in part.attrs.get("notes", [])]
    _one_file_per_year(list(zip(adm_files, adm_parts)), "year", ignore=("row_in_file",))
    adm = pd.concat(adm_parts, ignore_index=True)
    t["admissions"] = adm
    leavers = pd.concat([skolverket.read_leavers(p, known, region) for p in _need(sources, "leavers")],
                        ignore_index=True)
    t["leavers"] = leavers
    staff = pd.concat([skolverket.read_staff(p, known, region) for p in _need(sources, "staff")],
                      ignore_index=True)
    t["staff"] = staff
    t["gymnasium_costs"] = pd.concat([skolverket.read_costs(p, known, region) for p in _need(sources, "costs")],
                                     ignore_index=True)

    # Crosswalk ----------------------------------------------------------------------------
    unit_list = _unit_universe(gy, leavers, staff)
    manual_path = manual_dir / "school_crosswalk_manual.csv"
    cw = crosswalk.build_crosswalk(adm, unit_list, crosswalk.read_manual(manual_path), manual_path=manual_path)
    t["school_crosswalk"] = cw
    t["admissions"], owner_notes = fill_owner_type(adm, cw, unit_owners(gy, leavers, staff))
    report += owner_notes
    share = crosswalk.mapped_share(cw)
    for r in share.itertuples():
        report.append(f"crosswalk {r.year}: {r.share_mapped_pct:.2f}% of {int(r.admitted)} admitted students "
                      "mapped to units with coordinates")
    un = cw[cw.rule == "unmatched"].sort_values(["year", "admitted"], ascending=[True, False])
    for r in un.itertuples():
        report.append(f"  unmatched {r.year}: {r.skola} ({r.school_kommun_kod}), {r.admitted} admitted")

    # Validate and order -------------------------------------------------------------------
    for name in TABLE_ORDER:
        df = validate(t[name], name, source=f"data/raw/{name}.csv", known_codes=known)
        t[name] = df.sort_values(TABLE_ORDER[name], na_position="last").reset_index(drop=True)

    src_rows = []
    for fam in catalogue.FAMILIES:
        for p in catalogue.files_of(fam, sources):
            for ex in fam.extracts:
                src_rows.append({"publisher": fam.publisher, "title": fam.title, "url": catalogue.url_of(fam, p),
                                 "years": catalogue.years_text(fam, p), "source_file": str(p.relative_to(sources)),
                                 "sha256": sha256_file(p), "extract": ex})
    for name in ("clusters.csv", "school_crosswalk_manual.csv"):
        p = manual_dir / name
        if p.is_file():
            src_rows.append({"publisher": "gymnasieprognos (reviewed by hand)", "title": f"manual table {name}",
                             "url": "", "years": "not applicable", "source_file": f"data/manual/{name}",
                             "sha256": sha256_file(p),
                             "extract": "municipalities.csv" if name == "clusters.csv" else "school_crosswalk.csv"})
    src = validate(pd.DataFrame(src_rows), "sources", source="data/raw/sources.csv")
    return IngestResult(t, src.sort_values(["source_file", "extract"]).reset_index(drop=True), report)


def unit_owners(gy: pd.DataFrame, leavers: pd.DataFrame, staff: pd.DataFrame) -> pd.Series:
    """skolenhetskod -> owner type from the unit register: the planned-educations snapshot first,
    then the latest leavers and staff files."""
    parts = [gy[["skolenhetskod", "owner_type"]]]
    for df, col in ((leavers, "school_year"), (staff, "school_year")):
        parts.append(df.sort_values(col, ascending=False)[["skolenhetskod", "owner_type"]])
    s = pd.concat(parts, ignore_index=True).dropna()
    s = s[s.owner_type.astype(str) != ""]
    return s.drop_duplicates("skolenhetskod", keep="first").set_index("skolenhetskod").owner_type


def fill_owner_type(adm: pd.DataFrame, cw: pd.DataFrame, owners: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """Owner type for admission rows whose file has none (2024): the owner of the units the
    crosswalk maps the school name to (all units must agree); for a name the crosswalk cannot map,
    the same school's owner type in earlier admission files. Column ``owner_basis`` records which."""
    adm = adm.copy()
    need = adm.owner_type.isna()
    if not need.any():
        return adm, []
    key = ["year", "skola", "school_kommun_kod"]
    m = cw[cw.skolenhetskod.notna() & (cw.skolenhetskod.astype(str) != "")].copy()
    m["owner"] = m.skolenhetskod.map(owners)
    agree = m.groupby(key).owner.agg(lambda s: s.iloc[0] if s.notna().all() and s.nunique() == 1 else None)
    via_units = pd.Series(list(zip(adm.year, adm.skola, adm.school_kommun_kod)), index=adm.index).map(agree.to_dict())
    own = adm[adm.owner_basis == "file"]
    earlier = own.sort_values("year").drop_duplicates(["skola", "school_kommun_kod"], keep="last")
    earlier = dict(zip(zip(earlier.skola, earlier.school_kommun_kod), earlier.owner_type))
    via_name = pd.Series(list(zip(adm.skola, adm.school_kommun_kod)), index=adm.index).map(earlier)
    a = need & via_units.notna()
    adm.loc[a, "owner_type"], adm.loc[a, "owner_basis"] = via_units[a], "unit_register"
    b = need & ~a & via_name.notna()
    adm.loc[b, "owner_type"], adm.loc[b, "owner_basis"] = via_name[b], "earlier_admission_file"
    notes = []
    for year, g in adm[need].groupby("year"):
        n_units, n_name = int(a[g.index].sum()), int(b[g.index].sum())
        left = g[~(a | b)[g.index]]
        notes.append(f"owner type {year}: {n_units} rows from the unit register through the crosswalk, "
                     f"{n_name} from the school's earlier admission files, {len(left)} unknown"
                     + (f" ({', '.join(sorted(set(left.skola)))[:300]})" if len(left) else ""))
    return adm, notes


def _one_file_per_year(parts: list[tuple[Path, pd.DataFrame]], year_col: str, ignore=()) -> pd.DataFrame:
    """Yearly files of one family, concatenated; refused when two files hold the same year, or the
    same figures under different years (a copied file), naming the source files."""
    seen_year: dict[int, Path] = {}
    seen_body: dict[int, tuple[Path, int]] = {}
    for path, df in parts:
        years = sorted(int(y) for y in df[year_col].dropna().unique())
        for y in years:
            if y in seen_year:
                raise DataError(f"holds {year_col} {y}, which {seen_year[y].name} holds too: one file per year",
                                file=path, column=year_col)
            seen_year[y] = path
        body = df.drop(columns=[year_col, *[c for c in ignore if c in df.columns]])
        if len(body):
            digest = int(pd.util.hash_pandas_object(body.astype("string"), index=False).sum())
            if digest in seen_body:
                other, oy = seen_body[digest]
                raise DataError(f"has the same figures, row for row, as {other.name} ({year_col} {oy}) under "
                                f"{year_col} {years[0] if years else '?'}: a copy of another year's file? Use the "
                                "publisher's file for that year", file=path)
            seen_body[digest] = (path, years[0] if years else None)
    return pd.concat([df for _, df in parts], ignore_index=True)


def _unit_universe(gy: pd.DataFrame, leavers: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """Every known gymnasium unit name (coordinates only from the API snapshot)."""
    a = gy[["skolenhetskod", "skola", "kommun_kod", "pupils_latest"]].assign(
        has_coordinates=gy["lat"].notna().to_numpy())
    others = pd.concat([leavers[["skolenhetskod", "skola", "kommun_kod"]],
                        staff[["skolenhetskod", "skola", "kommun_kod"]]]).drop_duplicates()
    others = others.merge(a[["skolenhetskod", "pupils_latest", "has_coordinates"]], on="skolenhetskod", how="left")
    others["has_coordinates"] = others["has_coordinates"].fillna(False).astype(bool)
    out = pd.concat([a, others], ignore_index=True).drop_duplicates(["skolenhetskod", "skola", "kommun_kod"])
    return out.reset_index(drop=True)


def _crosscheck_pupils(units: pd.DataFrame, kom: pd.DataFrame) -> list[str]:
    """Sum unit files per municipality and compare with the municipal files (Samtliga)."""
    lines = []
    s = units.groupby(["school_year", "kommun_kod", "grade"], as_index=False)["pupils"].sum(min_count=1)
    k = kom[kom.owner_type == "samtliga"][["school_year", "kommun_kod", "grade", "pupils"]]
    both = s.merge(k, on=["school_year", "kommun_kod", "grade"], suffixes=("_units", "_kommun"))
    diff = both[both.pupils_units != both.pupils_kommun].copy()
    diff["difference"] = diff.pupils_units - diff.pupils_kommun
    years = sorted(both.school_year.unique())
    lines.append(f"pupils cross-check (unit sums vs municipal files, admission region, years "
                 f"{', '.join(map(str, years))}): {len(both)} municipality-grade-years compared, "
                 f"{len(diff)} differ, total absolute difference {int(diff.difference.abs().sum())} pupils")
    for r in diff.sort_values(["school_year", "kommun_kod", "grade"]).itertuples():
        lines.append(f"  {r.school_year} {r.kommun_kod} grade {r.grade}: units {r.pupils_units}, "
                     f"municipal file {r.pupils_kommun} ({r.difference:+d})")
    return lines


def summary_lines(res: IngestResult) -> list[str]:
    """Counts for the ingest report: rows, municipalities and years per table."""
    lines = []
    for name, df in res.tables.items():
        parts = [f"{len(df)} rows"]
        for col in ("kommun_kod", "school_kommun_kod"):
            if col in df.columns:
                parts.append(f"{df[col].nunique()} municipalities")
        for col in ("year", "school_year"):
            if col in df.columns:
                parts.append(f"{col} {int(df[col].min())}–{int(df[col].max())} ({df[col].nunique()})")
        lines.append(f"- `{name}.csv`: " + ", ".join(parts))
    return lines


def write_raw(res: IngestResult, target: Path = RAW_DIR) -> list[Path]:
    """Write every extract plus sources.csv and ingest_report.md, atomically."""
    with staging_dir(target) as tmp:
        for name, df in res.tables.items():
            (tmp / f"{name}.csv").write_bytes(format_csv(df))
        (tmp / "sources.csv").write_bytes(format_csv(res.sources))
        text = ["# Ingest report", "", "Written by `forecast ingest`. Do not edit by hand.", "",
                "## Tables", ""] + summary_lines(res) + ["", "## Checks and notes", ""] + \
               [f"- {l}" if not l.startswith("  ") else f"    - {l.strip()}" for l in res.report] + [""]
        (tmp / "ingest_report.md").write_text("\n".join(text), encoding="utf-8")
        written = sorted(p.name for p in tmp.iterdir())
        replace_dir_contents(tmp, target)
    return [target / n for n in written]


def run_ingest(sources: Path, target: Path = RAW_DIR, manual_dir: Path = MANUAL_DIR) -> IngestResult:
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        res = build_tables(sources, manual_dir)
    write_raw(res, target)
    return res

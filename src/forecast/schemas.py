"""One schema per tidy table, checked with plain pandas.

Why plain pandas and not pandera: the checks we need (types, ranges, allowed codes, unique keys)
are a few dozen lines, the error messages must name the file, column and example rows in our
own words, and one dependency fewer keeps the fresh-machine install short.

``validate`` returns the frame with coerced types and the schema's column order, so it chains
with ``.pipe``. It raises :class:`~forecast.errors.DataError` on the first violation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError

OWNER_TYPES = ("kommunal", "enskild", "region", "statlig", "kommunalförbund",
               "internationell", "samtliga")
SEXES = ("kvinnor", "män")
AGE_BANDS = ("0", "1-5", "0-5", "0-12", "6-15", "13-18", "16-19", "total",
             "6-12", "13-15", "16-18", "19")
PROGRAMME_GROUPS = ("HF", "YP", "IB", "IM", "VI")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "int", "float", "bool"
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple | None = None
    pattern: str | None = None
    doc: str = ""


@dataclass(frozen=True)
class Schema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _code4(name="kommun_kod", doc="municipality code, 4 characters"):
    return Column(name, "str", pattern=r"\d{4}", doc=doc)


def _unit(name="skolenhetskod"):
    return Column(name, "str", pattern=r"\d{8}", doc="Skolverket school-unit code, 8 digits")


def _count(name, nullable=False, doc=""):
    return Column(name, "int", nullable=nullable, min=0, doc=doc)


def _owner(nullable=False):
    return Column("owner_type", "str", nullable=nullable, allowed=OWNER_TYPES,
                  doc="huvudman type, lower-case Swedish")


SCHEMAS: dict[str, Schema] = {}


def _add(schema: Schema) -> None:
    SCHEMAS[schema.name] = schema


_add(Schema("municipalities", (
    _code4(), Column("kommun", "str"), Column("lan_kod", "str", pattern=r"\d{2}"),
    Column("in_admission_region", "bool"),
    Column("cluster", "str", nullable=True, doc="planning cluster (admission region only)"),
    Column("cluster_basis", "str", nullable=True, allowed=("published", "assumed")),
), key=("kommun_kod",), doc="All 290 municipalities; region membership and planning cluster."))

_add(Schema("region_boundaries", (
    _code4(), Column("kommun", "str"),
    Column("geometry_wkt", "str", doc="MultiPolygon in EPSG:3006 (SWEREF 99 TM), metres, rounded to 1 m"),
), key=("kommun_kod",), doc="Generalised boundaries of the 28 admission-region municipalities."))

_add(Schema("population_bands", (
    _code4(), Column("year", "int", min=1990, max=2100),
    Column("age_band", "str", allowed=AGE_BANDS),
    _count("population"),
    Column("derived", "bool", doc="true for bands computed from other bands (13-15, 16-18, 19, 6-12)"),
), key=("kommun_kod", "year", "age_band"),
    doc="Population at 31 Dec by municipality and age band (Kolada/SCB)."))

_add(Schema("population_single_age", (
    _code4(), Column("year", "int", min=1960, max=2100), Column("age", "int", min=0, max=100),
    Column("sex", "str", allowed=SEXES), _count("population"),
), key=("kommun_kod", "year", "age", "sex"),
    doc="Population at 31 Dec by municipality, single age (100 = 100+) and sex (SCB)."))

_add(Schema("cohort_history", (
    _code4(), Column("year", "int", min=1990, max=2100), Column("age", "int", min=0, max=19),
    _count("population"),
    Column("method", "str", allowed=("exact", "births_lag", "grade_counts", "cohort_prev", "county_shares",
                                      "exact_shares", "county_shares_latest"),
           doc="how the single age was split from its band (docs/methods.md §1)"),
), key=("kommun_kod", "year", "age"),
    doc="Derived, processed only: single ages 0-19 at 31 Dec, split from the exact bands "
        "(forecast.cohorts.build_single_age_history)."))

_add(Schema("county_population", (
    Column("lan_kod", "str", pattern=r"\d{2}"), Column("year", "int", min=1960, max=2100),
    Column("age", "int", min=0, max=100), Column("sex", "str", allowed=SEXES), _count("population"),
), key=("lan_kod", "year", "age", "sex"), doc="County population at 31 Dec by single age and sex."))

_add(Schema("county_births", (
    Column("lan_kod", "str", pattern=r"\d{2}"), Column("year", "int", min=1960, max=2100),
    Column("mother_age", "str", pattern=r"<15|\d{2}|49\+|okänd"),
    Column("sex", "str", allowed=SEXES, doc="sex of the child"), _count("births"),
), key=("lan_kod", "year", "mother_age", "sex"), doc="Live births by county, mother's age, child's sex."))

_add(Schema("county_deaths", (
    Column("lan_kod", "str", pattern=r"\d{2}"), Column("year", "int", min=1960, max=2100),
    Column("age", "int", min=0, max=100), Column("sex", "str", allowed=SEXES), _count("deaths"),
), key=("lan_kod", "year", "age", "sex"), doc="Deaths by county, age reached during the year, sex."))

_add(Schema("municipal_totals", (
    _code4(), Column("year", "int", min=1950, max=2100), _count("population"),
    Column("source", "str", allowed=("BE0101N1", "folkmangd")),
), key=("kommun_kod", "year"), doc="Total population at 31 Dec by municipality."))

_add(Schema("pupils_grundskola", (
    Column("school_year", "int", min=2000, max=2100, doc="autumn year: 2023 = läsår 2023/24"),
    Column("skolenhetskod", "str", pattern=r"\d{8,9}",
           doc="school-unit code; 8 digits (2009-2011 files also hold older 9-digit codes)"),
    Column("skola", "str"), _code4(doc="school municipality"), _owner(),
    Column("grade", "int", min=1, max=9), _count("pupils", nullable=True),
    Column("suppressed", "bool"),
), key=("school_year", "skolenhetskod", "grade"),
    doc="Pupils per compulsory-school unit and grade, admission region."))

_add(Schema("pupils_kommun", (
    Column("school_year", "int", min=2000, max=2100), _code4(doc="school municipality"), _owner(),
    Column("grade", "int", min=1, max=9), _count("pupils", nullable=True),
), key=("school_year", "kommun_kod", "owner_type", "grade"),
    doc="Pupils per municipality, owner type and grade (Skolverket municipal files)."))

_add(Schema("gymnasium_units", (
    _unit(), Column("skola", "str"), _code4(), _owner(),
    Column("lat", "float", nullable=True, min=55, max=70),
    Column("lon", "float", nullable=True, min=10, max=25),
    Column("x_sweref99tm", "float", nullable=True, doc="easting, EPSG:3006, metres"),
    Column("y_sweref99tm", "float", nullable=True, doc="northing, EPSG:3006, metres"),
    Column("coordinate_flag", "str", allowed=("ok", "missing", "outside_own_municipality")),
    Column("km_outside_own_municipality", "float", nullable=True, min=0),
    _count("pupils_latest", nullable=True),
), key=("skolenhetskod",), doc="Gymnasium units in the admission region with coordinates."))

_add(Schema("gymnasium_unit_programmes", (
    _unit(), Column("programme_code_gy25", "str"), _count("pupils", nullable=True),
), key=("skolenhetskod", "programme_code_gy25"), doc="Latest pupils per unit and programme (GY25 codes)."))

_add(Schema("grade9_schools", (
    _unit(), Column("skola", "str"), _code4(),
    Column("lat", "float", min=55, max=70), Column("lon", "float", min=10, max=25),
    Column("x_sweref99tm", "float"), Column("y_sweref99tm", "float"),
    Column("merit_grade9", "float", nullable=True, min=0, max=340),
    _count("pupils_grade9", nullable=True),
    Column("pupils_school_year", "int", nullable=True, min=2000, max=2100),
), key=("skolenhetskod",), doc="Compulsory schools with grade 9 in Stockholm County, with coordinates."))

_add(Schema("admissions", (
    Column("year", "int", min=2000, max=2100), Column("row_in_file", "int", min=1),
    Column("skola", "str"), Column("school_kommun", "str"), _code4("school_kommun_kod"),
    _owner(nullable=True), Column("study_path_code", "str"), Column("study_path", "str"),
    Column("programme_code", "str", pattern=r"[A-Z]{2}"),
    Column("programme_group", "str", allowed=PROGRAMME_GROUPS),
    Column("is_national", "bool"), Column("is_apprenticeship", "bool"),
    Column("is_special_variant", "bool"),
    Column("cutoff", "float", nullable=True, min=0), Column("median", "float", nullable=True, min=0),
    _count("places", nullable=True), _count("admitted", nullable=True),
    _count("reserves", nullable=True), _count("vacant", nullable=True),
    Column("in_totals", "bool"), Column("row_rule", "str"),
    Column("owner_basis", "str", allowed=("file", "unit_register", "earlier_admission_file", ""),
           doc="where owner_type comes from: the file's own column, the unit register through the "
               "crosswalk (2024 has no owner column), the school's owner in an earlier admission file, "
               "or empty when unknown"),
), key=("year", "row_in_file"), doc="Final admission results per school and study path."))

_add(Schema("school_crosswalk", (
    Column("year", "int", min=2000, max=2100), Column("skola", "str"),
    _code4("school_kommun_kod"), Column("skolenhetskod", "str", nullable=True, pattern=r"\d{8}"),
    Column("rule", "str", allowed=("exact", "normalised", "prefix", "manual", "unmatched")),
    Column("weight", "float", min=0, max=1), Column("has_coordinates", "bool"),
    _count("admitted"),
), key=("year", "skola", "school_kommun_kod", "skolenhetskod"),
    doc="Admission-file school names to Skolverket units, with the share of intake per unit."))

_add(Schema("leavers", (
    Column("school_year", "int", min=2000, max=2100), _unit(), Column("skola", "str"), _code4(),
    _owner(), Column("programme", "str"), _count("leavers", nullable=True), Column("suppressed", "bool"),
), key=("school_year", "skolenhetskod", "programme"),
    doc="Leavers (avgångselever) per gymnasium unit and national programme, admission region."))

_add(Schema("staff", (
    Column("school_year", "int", min=2000, max=2100), _unit(), Column("skola", "str"), _code4(),
    _owner(),
    Column("teachers_and_principals_fte", "float", nullable=True, min=0),
    Column("principals_fte", "float", nullable=True, min=0),
    Column("teachers_fte", "float", nullable=True, min=0),
    Column("pupils_per_teacher_fte", "float", nullable=True, min=0),
    Column("counsellors_fte", "float", nullable=True, min=0),
    Column("pupils_per_counsellor", "float", nullable=True, min=0),
), key=("school_year", "skolenhetskod"), doc="Gymnasium staff per unit, admission region."))

_add(Schema("gymnasium_costs", (
    Column("year", "int", min=2000, max=2100), _code4(),
    _count("average_pupils", nullable=True),
    Column("total_cost_ksek", "float", nullable=True, min=0),
    Column("cost_per_pupil_sek", "float", nullable=True, min=0),
    Column("teaching_per_pupil_sek", "float", nullable=True, min=0),
    Column("premises_per_pupil_sek", "float", nullable=True, min=0),
), key=("year", "kommun_kod"), doc="Municipal gymnasium cost per pupil (municipal huvudman only)."))

_add(Schema("sources", (
    Column("publisher", "str"), Column("title", "str"), Column("url", "str", nullable=True),
    Column("years", "str"), Column("source_file", "str"), Column("sha256", "str", pattern=r"[0-9a-f]{64}"),
    Column("extract", "str"),
), key=("source_file", "extract"), doc="One row per source file and the extract it feeds."))


def _examples(df: pd.DataFrame, mask, cols) -> list[str]:
    cols = list(dict.fromkeys(c for c in cols if c in df.columns))
    rows = df.loc[mask, cols].head(5)
    return [", ".join(f"{k}={v!r}" for k, v in r.items()) for r in rows.to_dict("records")]


def _coerce(s: pd.Series, col: Column, table: str, source, df) -> pd.Series:
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        s = s.astype("string").str.strip()
        s = s.mask(s == "")
    if col.kind == "str":
        return s.astype("string")
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean")
        mapped = s.astype("string").str.lower().map({"true": True, "false": False})
        bad = s.notna() & mapped.isna()
        if bad.any():
            raise DataError(f"table {table}: not true/false", file=source, column=col.name,
                            examples=_examples(df, bad, [col.name]))
        return mapped.astype("boolean")
    num = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & num.isna()
    if bad.any():
        raise DataError(f"table {table}: not a number", file=source, column=col.name,
                        examples=_examples(df, bad, [col.name]))
    if col.kind == "int":
        frac = num.notna() & (num != np.floor(num.fillna(0)))
        if frac.any():
            raise DataError(f"table {table}: not a whole number", file=source, column=col.name,
                            examples=_examples(df, frac, [col.name]))
        return num.astype("Int64")
    return num.astype("Float64")


def validate(df: pd.DataFrame, schema: Schema | str, *, source=None,
             known_codes: set[str] | None = None) -> pd.DataFrame:
    """Check ``df`` against ``schema``; return it typed and ordered, or raise DataError."""
    if isinstance(schema, str):
        schema = SCHEMAS[schema]
    table = schema.name
    missing = [c for c in schema.names if c not in df.columns]
    if missing:
        raise DataError(f"table {table}: required column missing (have {list(df.columns)})",
                        file=source, column=missing[0])
    extra = [c for c in df.columns if c not in schema.names]
    if extra:
        raise DataError(f"table {table}: unexpected column", file=source, column=extra[0])
    out = pd.DataFrame(index=df.index)
    for col in schema.columns:
        s = _coerce(df[col.name], col, table, source, df)
        nulls = s.isna()
        if not col.nullable and nulls.any():
            raise DataError(f"table {table}: empty value in a required column", file=source,
                            column=col.name, examples=_examples(df, nulls, schema.key or schema.names))
        present = ~nulls
        if col.min is not None:
            bad = present & (s < col.min).fillna(False)
            if bad.any():
                word = "negative" if col.min == 0 else f"below {col.min}"
                raise DataError(f"table {table}: {word} value", file=source, column=col.name,
                                examples=_examples(df, bad, list(schema.key) + [col.name]))
        if col.max is not None:
            bad = present & (s > col.max).fillna(False)
            if bad.any():
                raise DataError(f"table {table}: value above {col.max}", file=source,
                                column=col.name, examples=_examples(df, bad, list(schema.key) + [col.name]))
        if col.allowed is not None:
            bad = present & ~s.isin(col.allowed).fillna(False)
            if bad.any():
                raise DataError(f"table {table}: value not allowed (allowed: {', '.join(map(str, col.allowed))})",
                                file=source, column=col.name, examples=_examples(df, bad, [col.name]))
        if col.pattern is not None:
            rx = re.compile(rf"^(?:{col.pattern})$")
            bad = present & ~s.astype("string").fillna("").map(lambda v: bool(rx.match(v))).astype(bool)
            if bad.any():
                raise DataError(f"table {table}: malformed value (expected pattern {col.pattern})",
                                file=source, column=col.name, examples=_examples(df, bad, [col.name]))
        out[col.name] = s
    if known_codes is not None:
        for name in ("kommun_kod", "school_kommun_kod"):
            if name in out.columns:
                bad = out[name].notna() & ~out[name].isin(known_codes).fillna(False)
                if bad.any():
                    raise DataError(f"table {table}: unknown municipality code", file=source,
                                    column=name, examples=_examples(df, bad, [name]))
    if schema.key:
        dup = out.duplicated(list(schema.key), keep=False)
        if dup.any():
            raise DataError(f"table {table}: duplicate key {schema.key}", file=source,
                            column=schema.key[0], examples=_examples(df, dup, schema.key))
    return out.reset_index(drop=True)

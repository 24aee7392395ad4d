"""Announced or decided places for coming years: a baseline input, not a hypothesis.

Files ``config/places/*.csv`` (one or more; UTF-8, comma-separated, ``#`` starts a comment line):

    skolenhetskod,programme_group,year,places,status,source
    12345678,HF,2026,150,decided,"Gymnasienämnden 2025-11-20 §14"

``status`` is ``announced`` or ``decided``; ``source`` names where the figure comes from (a
decision, a published offer). A row sets the unit's places of that programme group from its year
on, until a later row for the same unit and group. Without files the last known places carry
forward (A15). Reports name every row and its source.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError

COLUMNS = ["skolenhetskod", "programme_group", "year", "places", "status", "source"]
STATUSES = ("announced", "decided")
GROUPS = ("HF", "YP")
MAX_PLACES = 5000       # per unit and group: more is a typo (the largest unit offered 816 in 2023)


def read_places(folder: Path, known_units: set, origin: int, unit_groups: set | None = None) -> pd.DataFrame:
    """Every ``*.csv`` in ``folder``, validated: one clear error naming the file, row and column.

    ``known_units``: unit codes of the region; ``unit_groups``: (unit, group) pairs the model has
    (a new offering is a scenario, not an announced change); ``origin``: years must be after it."""
    folder = Path(folder)
    frames = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#", encoding="utf-8")
        except pd.errors.EmptyDataError:
            raise DataError("the places file is empty (it needs the header "
                            + ",".join(COLUMNS) + ")", file=path) from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot parse this CSV ({type(exc).__name__}); quote texts that contain commas",
                            file=path) from None
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise DataError(f"required column missing (columns: {', '.join(COLUMNS)})", file=path, column=missing[0])
        df = df[COLUMNS].copy()
        df["row"] = range(2, len(df) + 2)
        df["file"] = str(path)
        _check(df, path, known_units, origin, unit_groups)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=COLUMNS + ["row", "file"])
    out = pd.concat(frames, ignore_index=True)
    dup = out.duplicated(["skolenhetskod", "programme_group", "year"], keep=False)
    if dup.any():
        d = out[dup].iloc[0]
        rows = out[dup & (out.skolenhetskod == d.skolenhetskod) & (out.programme_group == d.programme_group)
                   & (out.year == d.year)]
        raise DataError(f"duplicate unit-group-year {d.skolenhetskod} {d.programme_group} {d.year} "
                        f"(rows {', '.join(f'{Path(r.file).name}:{r.row}' for r in rows.itertuples())})",
                        file=d.file, column="year")
    return out.sort_values(["skolenhetskod", "programme_group", "year"]).reset_index(drop=True)


def _bad(df, mask, path, column, what):
    r = df[mask].iloc[0]
    raise DataError(f"row {r.row}: {what}, got {r[column]!r}", file=path, column=column)


def _check(df: pd.DataFrame, path: Path, known_units: set, origin: int, unit_groups: set | None) -> None:
    _bad(df, ~df.skolenhetskod.str.fullmatch(r"\d{8}"), path, "skolenhetskod", "an 8-digit unit code") \
        if (~df.skolenhetskod.str.fullmatch(r"\d{8}")).any() else None
    if (~df.skolenhetskod.isin(known_units)).any():
        _bad(df, ~df.skolenhetskod.isin(known_units), path, "skolenhetskod", "a unit of the admission region")
    if (~df.programme_group.isin(GROUPS)).any():
        _bad(df, ~df.programme_group.isin(GROUPS), path, "programme_group", "HF or YP")
    if (~df.status.isin(STATUSES)).any():
        _bad(df, ~df.status.isin(STATUSES), path, "status", "announced or decided")
    if (df.source.str.strip() == "").any():
        _bad(df, df.source.str.strip() == "", path, "source", "where the figure comes from (a decision, an offer)")
    year = pd.to_numeric(df.year, errors="coerce")
    if year.isna().any() or (year != year.round()).any():
        _bad(df, year.isna() | (year != year.round()), path, "year", "a whole year")
    if (year <= origin).any():
        _bad(df, year <= origin, path, "year", f"a year after the origin {origin} (earlier years are observed)")
    places = pd.to_numeric(df.places, errors="coerce")
    if places.isna().any():
        _bad(df, places.isna(), path, "places", "a number of places")
    if (places < 0).any():
        _bad(df, places < 0, path, "places", "places of at least 0")
    if (places > MAX_PLACES).any():
        _bad(df, places > MAX_PLACES, path, "places",
             f"at most {MAX_PLACES} places per unit and group (the largest unit offered 816 in 2023)")
    df["year"] = year.astype(int)
    df["places"] = places.astype(float)
    if unit_groups is not None:
        new = [(u, g) not in unit_groups for u, g in zip(df.skolenhetskod, df.programme_group)]
        if any(new):
            _bad(df, pd.Series(new, index=df.index), path, "programme_group",
                 "a group the unit offered in the origin year (a new offering is a scenario: scenarios/)")


def places_in_year(announced: pd.DataFrame, unit: str, group: str, year: int) -> float | None:
    """The announced places in force in ``year`` (the latest row up to it), or None."""
    a = announced[(announced.skolenhetskod == unit) & (announced.programme_group == group)
                  & (announced.year <= year)]
    return None if a.empty else float(a.sort_values("year").places.iloc[-1])

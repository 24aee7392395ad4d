"""Helpers shared by the source readers."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..files import read_text_utf8


def require_columns(df: pd.DataFrame, required, path: Path, optional=()) -> None:
    cols = [str(c).strip() for c in df.columns]
    for c in required:
        if c not in cols:
            raise DataError(f"required column missing; the file has {cols}", file=path, column=c)
    for c in optional:
        if c not in cols:
            warnings.warn(f"{path.name}: optional column {c!r} is missing; continuing without it",
                          stacklevel=2)


def read_delimited_with_preamble(path: Path, first_header: str, sep: str = ";") -> pd.DataFrame:
    """Read a publisher CSV whose header row starts with ``first_header``.

    Skolverket's exports carry a few preamble lines (source, title, chosen year) before the
    header; their number varies between reports, so we look for the header instead of counting.
    All cells are returned as strings; the trailing empty column is dropped.
    """
    text = read_text_utf8(path)
    lines = text.splitlines()
    header_at = None
    for i, line in enumerate(lines[:30]):
        if line.split(sep)[0].strip() == first_header:
            header_at = i
            break
    if header_at is None:
        other = [s for s in (",", "\t", ";") if s != sep and lines and any(
            l.split(s)[0].strip() == first_header for l in lines[:30])]
        hint = f" (the header seems to use {other[0]!r} as separator, expected {sep!r})" if other else ""
        raise DataError(f"no header row starting with {first_header!r} in the first 30 lines{hint}",
                        file=path, column=first_header)
    body = [lines[header_at]]
    for line in lines[header_at + 1:]:
        if not line.strip() or sep not in line:
            break  # a blank line starts the footer ("Rapportbeskrivning och definitioner …")
        body.append(line)
    df = pd.read_csv(io.StringIO("\n".join(body)), sep=sep, dtype=str,
                     keep_default_na=False)
    df.columns = [str(c).strip() for c in df.columns]
    df = df.loc[:, [c for c in df.columns if c and not c.startswith("Unnamed")]]
    return df


def parse_swedish_number(s: pd.Series, *, none_as_zero: bool) -> tuple[pd.Series, pd.Series]:
    """Skolverket numbers: space thousands separator, decimal comma, '.' = none, '..' = suppressed.

    Returns (values as float, suppressed mask). Any other text is left for the caller to reject.
    """
    t = s.astype("string").str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    suppressed = t == ".."
    none = (t == ".") | (t == "")
    cleaned = t.str.replace(",", ".", regex=False).mask(suppressed | none)
    values = pd.to_numeric(cleaned, errors="coerce")
    if none_as_zero:
        values = values.mask(none & ~suppressed, 0.0)
    return values, suppressed.fillna(False).astype(bool)


def check_numeric(values: pd.Series, raw: pd.Series, path: Path, column: str) -> None:
    t = raw.astype("string").str.strip()
    bad = values.isna() & ~t.isin([".", "..", ""]).fillna(True)
    if bad.any():
        raise DataError("not a number", file=path, column=column,
                        examples=[f"row {i + 1}: {v!r}" for i, v in t[bad].head(5).items()])

"""Low-level file helpers shared by the ingest, the data build and the report runner.

Writes are atomic at folder level: callers write into a staging folder and
:func:`replace_dir_contents` swaps the finished files in only after everything succeeded.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import DataError


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError("required source file is missing", file=path)
    return path


def read_text_utf8(path: Path) -> str:
    """Read a UTF-8 file (with or without BOM); a wrong encoding is a clear error."""
    raw = require_file(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        snippet = raw[max(0, exc.start - 20): exc.start + 20]
        raise DataError(
            f"is not UTF-8 (byte {exc.start}: {snippet!r}); re-export it from the publisher as UTF-8",
            file=path,
        ) from None


def format_csv(df: pd.DataFrame) -> bytes:
    """Deterministic CSV bytes: UTF-8, LF, no index, floats without trailing noise."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", float_format="%.10g")
    return buf.getvalue().encode("utf-8")


@contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A temporary folder next to ``target``; removed on exit whatever happens."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-staging-", dir=target.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def replace_dir_contents(staging: Path, target: Path) -> None:
    """Move every file of ``staging`` into ``target`` (atomic rename per file, same filesystem).

    Files in ``target`` that the staging folder does not contain are left alone, so a user's own
    files (e.g. ``observed_flows.csv``) survive a rebuild.
    """
    target.mkdir(parents=True, exist_ok=True)
    for src in sorted(staging.rglob("*")):
        if src.is_dir():
            continue
        dst = target / src.relative_to(staging)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)

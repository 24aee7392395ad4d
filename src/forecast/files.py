"""Low-level file helpers shared by the ingest, the data build and the report runner.

Writes are atomic at folder level: callers write into a staging folder and
:func:`replace_dir_contents` swaps the finished files in only after everything succeeded.
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import signal
import tempfile
import threading
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


def folder_digest(folder: str | Path) -> dict:
    """{relative path: SHA-256} of every file below ``folder``: whether a folder changed at all."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def print_result(out: dict, as_json: bool) -> None:
    """A benchmark's result: one JSON object (``as_json``) or one ``key: value`` line per entry."""
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")


def json_ready(x, digits: int = 4):
    """``x`` (nested dicts and lists) for a JSON report: floats rounded to ``digits``, NaN → None."""
    if isinstance(x, float):
        return None if x != x else round(x, digits)
    if isinstance(x, dict):
        return {k: json_ready(v, digits) for k, v in x.items()}
    if isinstance(x, list):
        return [json_ready(v, digits) for v in x]
    return x


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


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done (a no-op outside the main thread).

    For the few steps that must not stop half-way: swapping finished files into place, renaming
    a run folder and its ``latest`` link, removing a staging folder. A signal that arrives
    meanwhile is delivered right after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def replace_dir_contents(staging: Path, target: Path) -> None:
    """Move every file of ``staging`` into ``target`` (atomic rename per file, same filesystem).

    Files in ``target`` that the staging folder does not contain are left alone, so a user's own
    files (e.g. ``observed_flows.csv``) survive a rebuild. Ctrl-C cannot stop it half-way.
    """
    with signals_deferred():
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(staging.rglob("*")):
            if src.is_dir():
                continue
            dst = target / src.relative_to(staging)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def folder_size(path: Path) -> int:
    """Bytes of every file under ``path`` (0 when it does not exist)."""
    total = 0
    for p in Path(path).rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def megabytes(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e6:.1f} MB"


def read_csv_named(path: Path, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` whose failures name the file: an empty file, a wrong encoding or a
    malformed CSV is a :class:`DataError`, never a bare pandas traceback."""
    path = Path(path)
    if not path.is_file():
        raise DataError("required file is missing", file=path)
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError("is empty (no header row); restore it or re-export it from the publisher",
                        file=path) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 (byte {exc.start}); re-export it as UTF-8", file=path) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse this CSV ({str(exc).strip()})", file=path) from None



def read_json_named(path: Path):
    """A JSON file; missing, empty, not UTF-8 or not JSON is a :class:`DataError` naming it."""
    text = read_text_utf8(Path(path))
    if not text.strip():
        raise DataError("is empty; restore it or rebuild it", file=path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"is not valid JSON ({exc})", file=path) from None


def read_parquet_named(path: Path, what: str = "rebuild it (make data)") -> pd.DataFrame:
    """A Parquet file; missing, empty or corrupt is a :class:`DataError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file missing; {what}", file=path)
    try:
        return pd.read_parquet(path)
    except Exception as exc:      # pyarrow raises ArrowInvalid, OSError or ValueError for a bad file
        msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DataError(f"is empty or not a readable Parquet file ({msg}); {what}", file=path) from None


def read_csv_text(text: str, path: Path, **kwargs) -> pd.DataFrame:
    """``pandas.read_csv`` on text already read from ``path``, failures naming ``path``."""
    if not text.strip():
        raise DataError("is empty (no header row); restore it or re-export it from the publisher", file=path)
    try:
        return pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError("is empty (no header row); restore it or re-export it from the publisher",
                        file=path) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse this CSV ({str(exc).strip()})", file=path) from None

"""Exceptions that name the thing at fault.

Every error raised for bad input is a :class:`DataError` (files and tables) or a
:class:`ParameterError` (arguments, config values). The CLI turns both into a one-paragraph
message and exit code 2, never a traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable


class ForecastError(Exception):
    """Base class for errors that are the user's input, not a bug."""


class DataError(ForecastError):
    """A source file or tidy table is missing, unreadable or violates its schema."""

    def __init__(self, message: str, *, file: str | Path | None = None,
                 column: str | None = None, examples: Iterable | None = None):
        self.file = str(file) if file is not None else None
        self.column = column
        self.examples = list(examples)[:5] if examples is not None else []
        parts = []
        if self.file:
            parts.append(f"file {self.file}")
        if column:
            parts.append(f"column {column!r}")
        where = (", ".join(parts) + ": ") if parts else ""
        text = where + message
        if self.examples:
            text += "\n  example rows: " + "; ".join(str(e) for e in self.examples)
        super().__init__(text)


class ParameterError(ForecastError):
    """A parameter or config value is unknown, misspelt or out of range."""


class DiskFullError(ForecastError):
    """The disk filled up while writing; the message names the folder and the space needed."""


class Interrupted(BaseException):
    """SIGTERM turned into an exception (SIGINT raises KeyboardInterrupt), so that ``finally``
    blocks remove staging folders; a BaseException, so ``except Exception`` never swallows it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"signal {signum}")

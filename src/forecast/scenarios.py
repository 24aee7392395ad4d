"""Hypothetical inputs: scenario files under ``scenarios/`` (YAML), validated before any work.

A scenario never mixes with source data: it is read here, checked, and handed to the models as
separate frames; every report that uses one labels it *hypotetiskt*. Format (all sections
optional except ``name``)::

    name: Ny gymnasieskola i Haninge 2028        # shown in reports
    description: free text
    hypothetical: true                           # must be true
    population:                                  # planned housing: persons aged 0–19 added
      - {kommun_kod: "0136", year: 2027, persons: 300}
    schools:
      - {action: new, name: "Haninge nya gymnasium", kommun_kod: "0136", lat: 59.17, lon: 18.15,
         programme_group: HF, first_year: 2028, places: 300, status: planned}
      - {action: change, skolenhetskod: "12345678", programme_group: YP, first_year: 2027,
         places_change: -60, status: decided}

``places`` and ``places_change`` are year-1 (intake) places per year, at most
:data:`MAX_PLACES` per school; ``persons`` at most :data:`MAX_PERSONS` per entry.

Names and descriptions are the user's text: reports show them through :func:`markdown_text`
(forecast.report.texts) or the autoescaping index template, never as markup.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .errors import ParameterError
from .sources.geo import to_sweref

TOP_KEYS = {"name", "description", "hypothetical", "population", "schools"}
POP_KEYS = {"kommun_kod", "year", "persons", "note"}
NEW_KEYS = {"action", "name", "kommun_kod", "lat", "lon", "programme_group", "first_year", "places",
            "status", "note"}
CHANGE_KEYS = {"action", "skolenhetskod", "programme_group", "first_year", "places_change", "status", "note"}
GROUPS = ("HF", "YP")
# The largest school in the region offered 816 year-1 places (2023) and the whole region about
# 33,000: 5,000 per school is generous for any plan and catches typos such as 1000000000.
MAX_PLACES = 5_000
PLACES_REASON = ("at most 5,000 year-1 places per school: the largest school in the region has about 800 and "
                 "the whole region about 33,000")
# Stockholm County grows by roughly 20,000–40,000 people a year in all ages.
MAX_PERSONS = 50_000
PERSONS_REASON = ("at most 50,000 persons aged 0–19 per entry: more than the whole county's yearly growth in all "
                  "ages")
STATUSES = ("planned", "decided")


@dataclass
class Scenario:
    name: str
    description: str
    path: str
    population: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["kommun_kod", "year", "persons"]))
    schools: pd.DataFrame = field(default_factory=pd.DataFrame)
    hypothetical: bool = True

    @property
    def label(self) -> str:
        return f"Hypotetiskt scenario: {self.name}"


def _err(path, where, msg):
    return ParameterError(f"scenario file {path}: {where}: {msg}")


def _number(path, where, key, value, *, integer=False, minimum=None, exclusive=False, maximum=None,
            reason=""):
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
            or value in (float("inf"), float("-inf")) or (integer and not float(value).is_integer())):
        raise _err(path, where, f"{key} must be a {'whole ' if integer else ''}number, got {value!r}")
    if minimum is not None and (value < minimum or (exclusive and value == minimum)):
        raise _err(path, where, f"{key} must be {'>' if exclusive else '>='} {minimum}, got {value!r}")
    if maximum is not None and abs(value) > maximum:
        raise _err(path, where, f"{key} {value!r} is too large: {reason}")
    return value


def _keys(path, where, entry, allowed):
    if not isinstance(entry, dict):
        raise _err(path, where, f"expected a mapping, got {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise _err(path, where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _code(path, where, code, known):
    if not isinstance(code, str) or code not in known:
        raise _err(path, where, f"kommun_kod {code!r} is not a known municipality code "
                   "(write it as a quoted 4-character string, e.g. \"0136\")")
    return code


def read_scenario(path, known_codes, units: pd.DataFrame | None = None,
                  inside=None) -> Scenario:
    """Read and validate a scenario file. ``units``: gymnasium_units (for ``change`` entries);
    ``inside(x, y) -> bool`` tests a SWEREF 99 TM point against the admission region."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"scenario file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParameterError(f"scenario file {path}: not valid UTF-8 YAML ({exc})") from None
    _keys(path, "top level", doc, TOP_KEYS)
    if not doc.get("name"):
        raise _err(path, "top level", "name is required")
    for k in ("name", "description"):
        if k in doc and not isinstance(doc[k], (str, int, float)):
            raise _err(path, "top level", f"{k} must be text, got {type(doc[k]).__name__}")
    if doc.get("hypothetical", True) is not True:
        raise _err(path, "top level", "hypothetical must be true: scenarios are never source data")
    known = set(known_codes)
    pop_rows = []
    for i, e in enumerate(doc.get("population") or []):
        where = f"population[{i}]"
        _keys(path, where, e, POP_KEYS)
        for k in ("kommun_kod", "year", "persons"):
            if k not in e:
                raise _err(path, where, f"{k} is required")
        pop_rows.append({"kommun_kod": _code(path, where, e["kommun_kod"], known),
                         "year": int(_number(path, where, "year", e["year"], integer=True, minimum=1990)),
                         "persons": float(_number(path, where, "persons", e["persons"], minimum=0,
                                                  maximum=MAX_PERSONS, reason=PERSONS_REASON))})
    school_rows = []
    for i, e in enumerate(doc.get("schools") or []):
        where = f"schools[{i}]"
        action = e.get("action") if isinstance(e, dict) else None
        if action not in ("new", "change"):
            raise _err(path, where, f"action must be 'new' or 'change', got {action!r}")
        _keys(path, where, e, NEW_KEYS if action == "new" else CHANGE_KEYS)
        req = ("name", "kommun_kod", "lat", "lon", "programme_group", "first_year", "places", "status") \
            if action == "new" else ("skolenhetskod", "programme_group", "first_year", "places_change", "status")
        for k in req:
            if k not in e:
                raise _err(path, where, f"{k} is required")
        if e["programme_group"] not in GROUPS:
            raise _err(path, where, f"programme_group {e['programme_group']!r} unknown; allowed: {list(GROUPS)}")
        if e["status"] not in STATUSES:
            raise _err(path, where, f"status {e['status']!r} unknown; allowed: {list(STATUSES)}")
        row = {"action": action, "programme_group": e["programme_group"], "status": e["status"],
               "first_year": int(_number(path, where, "first_year", e["first_year"], integer=True, minimum=1990))}
        if action == "new":
            row["name"] = str(e["name"])
            row["kommun_kod"] = _code(path, where, e["kommun_kod"], known)
            lat = _number(path, where, "lat", e["lat"])
            lon = _number(path, where, "lon", e["lon"])
            row["places"] = float(_number(path, where, "places", e["places"], integer=True, minimum=0, exclusive=True,
                                          maximum=MAX_PLACES, reason=PLACES_REASON))
            x, y = to_sweref(pd.Series([lat]), pd.Series([lon]))
            row["x"], row["y"] = float(x[0]), float(y[0])
            if inside is not None and not inside(row["x"], row["y"]):
                raise _err(path, where, f"coordinates lat={lat}, lon={lon} are outside the admission region")
            row["skolenhetskod"] = f"NY{i:02d}"
        else:
            code = str(e["skolenhetskod"])
            if units is not None and code not in set(units.skolenhetskod):
                raise _err(path, where, f"skolenhetskod {code!r} is not a gymnasium unit in the region")
            row["skolenhetskod"] = code
            row["places_change"] = float(_number(path, where, "places_change", e["places_change"], integer=True,
                                                 maximum=MAX_PLACES, reason=PLACES_REASON))
        school_rows.append(row)
    return Scenario(name=str(doc["name"]), description=str(doc.get("description", "")), path=str(path),
                    population=pd.DataFrame(pop_rows, columns=["kommun_kod", "year", "persons"]),
                    schools=pd.DataFrame(school_rows))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def markdown_text(text) -> str:
    """User text (a scenario's name or description) as inert Markdown: HTML special characters
    escaped as entities and Markdown's own characters backslash-escaped, so ``<img onerror=…>``
    or ``[link](javascript:…)`` display as the characters typed."""
    out = html.escape(str(text), quote=True)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", out)

"""SCB PxWebApi v2 client (json-stat2) for population by municipality × single age × sex × year.

``fetch_population`` downloads TAB638 ("Folkmängd efter region, civilstånd, ålder, kön och år")
in one request per year, saves each json-stat2 dataset under ``<sources>/scb/pxweb/`` and the
ingest turns them into the same tidy table as the 2019 file (``population_single_age``).
This is how a user with internet gets single-year ages for every year; the bundled data has
only 2019.
"""
from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError

DEFAULT_BASE_URL = "https://statistikdatabasen.scb.se/api/v2"
TABLE = "TAB638"
SEX = {"1": "män", "2": "kvinnor", "TotSa": "totalt"}


# --- parsing ---------------------------------------------------------------------------------

def parse_jsonstat2(data: dict, *, source=None) -> pd.DataFrame:
    """A json-stat2 dataset -> one row per cell: a column per dimension (codes) plus ``value``.

    Accepts a bare dataset or an envelope with a ``response`` member. Values may be dense (a
    list in row-major order of ``id``) or sparse (a dict of flat index -> value).
    """
    if "response" in data and "id" not in data:
        data = data["response"]
    for key in ("id", "size", "dimension", "value"):
        if key not in data:
            raise DataError(f"not a json-stat2 dataset: member {key!r} missing", file=source, column=key)
    ids, size = list(data["id"]), list(data["size"])
    if len(ids) != len(size):
        raise DataError("'id' and 'size' differ in length", file=source, column="size")
    codes = []
    for dim, n in zip(ids, size):
        index = data["dimension"][dim]["category"]["index"]
        if isinstance(index, dict):
            ordered = sorted(index, key=index.get)
        else:
            ordered = list(index)
        if len(ordered) != n:
            raise DataError(f"dimension {dim} has {len(ordered)} categories but size says {n}",
                            file=source, column=dim)
        codes.append(ordered)
    total = int(np.prod(size)) if size else 0
    values = data["value"]
    if isinstance(values, dict):
        dense = [None] * total
        for k, v in values.items():
            dense[int(k)] = v
        values = dense
    if len(values) != total:
        raise DataError(f"{len(values)} values for {total} cells", file=source, column="value")
    grid = np.array(list(product(*codes)), dtype=object).reshape(total, len(ids)) if total else \
        np.empty((0, len(ids)), dtype=object)
    df = pd.DataFrame(grid, columns=ids)
    df["value"] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return df


def _age_code(code: str):
    if re.fullmatch(r"\d{1,2}", code):
        return int(code)
    if code in ("100+", "100+1", "100"):
        return 100
    return None


def population_by_single_age(cells: pd.DataFrame, *, source=None) -> pd.DataFrame:
    """json-stat2 cells -> kommun_kod, year, age, sex, population (summed over other dimensions)."""
    for dim in ("Region", "Alder", "Kon", "Tid"):
        if dim not in cells.columns:
            raise DataError("dimension missing from the response", file=source, column=dim)
    df = cells.copy()
    df["age"] = df["Alder"].map(_age_code)
    df = df[df["age"].notna()]
    if df.empty:
        raise DataError("the response has no single-year ages", file=source, column="Alder")
    df["sex"] = df["Kon"].map(SEX)
    if df["sex"].isna().any():
        raise DataError("unknown sex code", file=source, column="Kon",
                        examples=sorted(set(df.loc[df.sex.isna(), "Kon"])))
    if df["value"].isna().any():
        raise DataError("missing values in the response", file=source, column="value",
                        examples=df[df.value.isna()].head(3).to_dict("records"))
    out = (df.groupby(["Region", "Tid", "age", "sex"], as_index=False)["value"].sum()
           .rename(columns={"Region": "kommun_kod", "Tid": "year", "value": "population"}))
    out["year"] = out["year"].astype(int)
    out["age"] = out["age"].astype(int)
    out["population"] = out["population"].round().astype("int64")
    return out[["kommun_kod", "year", "age", "sex", "population"]]


def population_from_file(path: Path, known_codes: set[str]) -> pd.DataFrame:
    """A saved response (``forecast fetch scb``) -> tidy rows for municipalities only."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not a readable JSON file ({exc})", file=path) from None
    out = population_by_single_age(parse_jsonstat2(data, source=path), source=path)
    # Sweden (00) and counties (2 digits) are dropped; a 4-digit code the register lacks is refused
    unknown = sorted(set(out.kommun_kod[(out.kommun_kod.str.len() == 4) & ~out.kommun_kod.isin(known_codes)]))
    if unknown:
        raise DataError("unknown municipality code: not in the municipality register (the boundary file "
                        "geo/kommun.parquet)", file=path, column="Region", examples=unknown)
    out = out[out.kommun_kod.isin(known_codes)]
    return out[out.sex != "totalt"].reset_index(drop=True)


# --- client ----------------------------------------------------------------------------------

def build_selection(regions: list[str], years: list[int]) -> dict:
    ages = [str(a) for a in range(100)] + ["100+"]
    return {"selection": [
        {"variableCode": "Region", "valueCodes": list(regions)},
        {"variableCode": "Civilstand", "valueCodes": ["OG", "G", "SK", "ÄNKL"]},
        {"variableCode": "Alder", "valueCodes": ages},
        {"variableCode": "Kon", "valueCodes": ["1", "2"]},
        {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
        {"variableCode": "Tid", "valueCodes": [str(y) for y in years]},
    ]}


def post_json(url: str, body: dict, *, timeout: float = 60, retries: int = 3, pause: float = 1.0,
              deadline: float | None = None) -> dict:
    """POST ``body`` and return the JSON answer; ``timeout`` per try, ``deadline`` (a
    ``time.monotonic()`` value) for all tries together: no try and no pause goes past it."""
    payload = json.dumps(body).encode("utf-8")
    last = None
    for attempt in range(retries):
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        req = urllib.request.Request(url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout if left is None else min(timeout, left)) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            last = exc
            if not (exc.code == 429 or exc.code >= 500):
                raise DataError(f"SCB answered HTTP {exc.code} {exc.reason}", file=url) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"SCB's answer is not JSON ({exc})", file=url) from None
        wait = pause * (attempt + 1)
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        time.sleep(wait)
    if deadline is not None and deadline - time.monotonic() <= 0:
        raise DataError(f"SCB did not answer within the overall deadline (--timeout); last error: {last}", file=url)
    raise DataError(f"SCB could not be reached after {retries} tries ({last})", file=url)


def fetch_population(sources: Path, regions: list[str], years: list[int], *,
                     base_url: str = DEFAULT_BASE_URL, pause: float = 0.5, timeout: float | None = None,
                     request_timeout: float = 60, progress=None) -> list[Path]:
    """Download TAB638 one year at a time into ``<sources>/scb/pxweb/``; returns the files.

    Each response is checked by parsing it before it is saved; a failed year leaves no file.
    ``timeout``: overall deadline in seconds for every request, retry and pause together;
    ``progress``: called with one line per request.
    """
    if not regions:
        raise ParameterError("no regions given")
    bad = [r for r in regions if not re.fullmatch(r"\d{4}", r)]
    if bad:
        raise ParameterError(f"region codes must be 4 digits: {bad[:5]}")
    if not years or min(years) < 1968:
        raise ParameterError("years must be 1968 or later (TAB638 starts in 1968)")
    if timeout is not None and not (timeout > 0):
        raise ParameterError(f"--timeout must be a positive number of seconds, got {timeout!r}")
    if not pause >= 0:
        raise ParameterError(f"--pause must be 0 or more seconds, got {pause!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    out_dir = Path(sources) / "scb" / "pxweb"
    url = f"{base_url.rstrip('/')}/tables/{TABLE}/data?lang=sv&outputFormat=json-stat2"
    written = []
    for i, year in enumerate(years, start=1):
        t0 = time.monotonic()
        if progress:
            left = "" if deadline is None else f", {max(0.0, deadline - t0):.0f} s left of --timeout"
            progress(f"fetch scb: {TABLE} {year} ({i}/{len(years)}) from {base_url}{left}")
        try:
            data = post_json(url, build_selection(regions, [year]), timeout=request_timeout, deadline=deadline)
        except DataError as exc:
            raise DataError(f"year {year} ({i}/{len(years)}), {len(written)} saved before it: {exc}") from None
        population_by_single_age(parse_jsonstat2(data, source=url), source=url)  # validate
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{TABLE}_{year}.json"
        tmp = path.with_suffix(".json.part")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(path)
        if progress:
            progress(f"  saved {path.name} in {time.monotonic() - t0:.1f} s")
        if i < len(years):
            time.sleep(pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic())))
    return written

"""Municipal and county boundaries (SCB-derived GeoParquet, EPSG:4326) and coordinate helpers."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ..errors import DataError

SWEREF = "EPSG:3006"
WGS84 = "EPSG:4326"


def read_boundaries(path: Path, code_col: str, name_col: str) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise DataError("required source file is missing", file=path)
    try:
        g = gpd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"cannot read this GeoParquet ({type(exc).__name__}: {exc})", file=path) from None
    for c in (code_col, name_col):
        if c not in g.columns:
            raise DataError(f"required column missing; the file has {list(g.columns)}", file=path, column=c)
    if g.crs is None:
        raise DataError("no CRS recorded", file=path, column="geometry")
    g[code_col] = g[code_col].astype(str)
    return g


def to_sweref(lat: pd.Series, lon: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees -> SWEREF 99 TM metres (NaN stays NaN)."""
    t = Transformer.from_crs(WGS84, SWEREF, always_xy=True)
    x, y = t.transform(lon.astype(float).to_numpy(), lat.astype(float).to_numpy())
    return np.round(x, 1), np.round(y, 1)


def distance_outside_km(x, y, codes: pd.Series, kommun: gpd.GeoDataFrame) -> np.ndarray:
    """Distance in km from each point to the polygon of its own municipality (0 when inside)."""
    poly = kommun.to_crs(SWEREF).set_index("kommun_kod").geometry
    out = np.full(len(codes), np.nan)
    for i, (xi, yi, c) in enumerate(zip(x, y, codes)):
        if np.isnan(xi) or c not in poly.index:
            continue
        out[i] = poly[c].distance(shapely.Point(xi, yi)) / 1000.0
    return np.round(out, 2)


def region_wkt(kommun: gpd.GeoDataFrame, codes) -> pd.DataFrame:
    g = kommun[kommun.kommun_kod.isin(codes)].to_crs(SWEREF)
    geoms = [shapely.set_precision(geom, 1.0) for geom in g.geometry]
    wkt = shapely.to_wkt(np.array(geoms, dtype=object), rounding_precision=0, trim=True)
    return pd.DataFrame({"kommun_kod": g.kommun_kod.to_numpy(), "kommun": g.kommun.to_numpy(),
                         "geometry_wkt": wkt}).sort_values("kommun_kod").reset_index(drop=True)

"""Swedish words and numbers shared by the report's figures, tables and texts.

Sources lines, programme-group and level names, and the Swedish number format (space as the
thousands separator, comma as the decimal mark).
"""
from __future__ import annotations

import numpy as np

SRC_POP = "Källa: SCB/Kolada (befolkning 31 dec), Skolverket (elever per årskurs); prognos: gymnasieprognos."
SRC_ADM = ("Källa: Gymnasieantagningen (slutantagning), Skolverket (skolenheter, kostnader); "
           "flöden skattade med gymnasieprognos.")
GROUP_SV = {"HF": "Högskoleförberedande", "YP": "Yrkesprogram"}
LEVEL_SV = {"enhet": "Skolenhet", "kommun": "Kommun", "kluster": "Kluster", "programgrupp": "Programgrupp"}


def fmt(x, decimals=0) -> str:
    """Swedish number format: space as thousands separator, comma as decimal mark."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    s = f"{x:,.{decimals}f}".replace(",", " ").replace(".", ",")
    return s


def pct(x, decimals=0) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{fmt(100 * x, decimals)} %"


def _area_name(rd, area: str, level: str, unit_names=None) -> str:
    """How a risk row's area reads: a unit's or municipality's name, a cluster, the whole region."""
    if level == "enhet":
        return unit_names.get(area, area) if unit_names is not None else area
    if level == "kommun":
        return rd.name(area)
    return "hela regionen" if level == "programgrupp" else area


"""Observed admissions in the shape of the risk table: admitted, places, vacant and reserves per
unit, school municipality, cluster and programme group (the region) for every admission year.

The reports show these beside the forecast (same levels, areas and groups as
:func:`forecast.risk.summarise_year`), so a reader sees the years we know next to the years we
forecast. Units are the ones the admission rows map to through the school crosswalk, the same
mapping :func:`forecast.capacity.unit_intake` uses for the forecast's places; rows whose names
map to no unit are left out of every level, exactly as in the forecast (their share is the
run's ``mapped_share_admitted``).
"""
from __future__ import annotations

import pandas as pd

from .flows import GROUPS

COLUMNS = ("year", "level", "area", "group", "places", "admitted", "vacant", "reserves", "utilisation",
           "vacant_municipal", "vacant_independent", "units")
LEVELS = ("enhet", "kommun", "kluster", "programgrupp")
MUNICIPAL_OWNERS = ("kommunal", "region", "planerad")   # public; a scenario's planned school (A52)


def is_municipal(owner_type: pd.Series) -> pd.Series:
    """True for units whose empty places the municipalities pay for (A52): municipal and regional
    owners, and a scenario's planned school; False for independent (enskild) units."""
    return owner_type.fillna("").astype(str).isin(MUNICIPAL_OWNERS)


def build_observed(admissions: pd.DataFrame, crosswalk: pd.DataFrame, units: pd.DataFrame,
                   clusters: dict) -> pd.DataFrame:
    """Observed rows (columns ``COLUMNS``) for every admission year in ``admissions``.

    ``admissions``: the processed admissions table (rows counted in totals, national programmes
    HF/YP); ``crosswalk``: school name → skolenhetskod with weights; ``units``: skolenhetskod →
    kommun_kod, owner_type; ``clusters``: kommun_kod → cluster name (others: "övrigt", as in the
    risk table). Owner type comes from the unit register (the 2024 file has none)."""
    a = admissions[admissions.in_totals.astype(bool) & admissions.programme_group.isin(GROUPS)]
    cw = crosswalk[crosswalk.skolenhetskod.notna() & (crosswalk.rule != "unmatched")]
    m = a.merge(cw[["year", "skola", "school_kommun_kod", "skolenhetskod", "weight"]],
                on=["year", "skola", "school_kommun_kod"], how="inner")
    u = units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    m = m[m.skolenhetskod.isin(u.index)].copy()
    for c in ("places", "admitted", "vacant", "reserves"):
        m[c] = m[c].astype(float).fillna(0.0) * m.weight.astype(float)
    m["kommun_kod"] = m.skolenhetskod.map(u.kommun_kod).astype(str)
    m["municipal"] = is_municipal(m.skolenhetskod.map(u.owner_type))
    m["vacant_municipal"] = m.vacant.where(m.municipal, 0.0)
    m["vacant_independent"] = m.vacant.where(~m.municipal, 0.0)
    m["group"] = m.programme_group.astype(str)
    m["year"] = m.year.astype(int)
    keys = {"enhet": m.skolenhetskod.astype(str), "kommun": m.kommun_kod,
            "kluster": m.kommun_kod.map(clusters).fillna("övrigt"), "programgrupp": m.group}
    frames = []
    for level in LEVELS:
        g = m.assign(area=keys[level]).groupby(["year", "area", "group"])
        d = g[["places", "admitted", "vacant", "reserves", "vacant_municipal", "vacant_independent"]].sum()
        d["units"] = g.skolenhetskod.nunique()
        frames.append(d.reset_index().assign(level=level))
    out = pd.concat(frames, ignore_index=True)
    out = out[out.places > 0]
    out["utilisation"] = out.admitted / out.places
    return out[list(COLUMNS)].sort_values(["level", "area", "group", "year"]).reset_index(drop=True)

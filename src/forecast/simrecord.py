"""Real-time track record of the reports' risk simulation (assumption A24).

The reports' unit-level probabilities come from the flow-model simulation of
:mod:`forecast.chain` / :mod:`forecast.risk`, not from the intake model of
:mod:`forecast.intake` whose record the reports print. This module scores the simulation itself
the same way: for each origin T with T + 1 observed, the whole chain is rebuilt from the tables
as published by T (:func:`forecast.intake.cut_tables`: admissions and crosswalk up to T, grade
counts up to autumn T, population up to 31 December T), with no announced places (the "places
unknown" variant), and its years T + 1 … T + 3 (those observed) are simulated in one run. Each
unit-group's mean placed students and P(utilisation < θ) in year T + h are then scored on exactly
the items, outcomes and yardsticks of the intake backtest at that horizon (variant places unknown,
``h``); a yardstick the backtest cannot give at a horizon (no earlier pairs with that lag) is left
out there, and the flags are scored on the items every remaining flag forecaster covers.

The students the simulation expects at units not yet known (A90; the ``unallocated`` column of the
risk table's municipality rows) are scored as the intake model's are (A28): as pseudo-items
``ofördelat:<kommun>`` with outcome 0 that count in the municipality and region totals and never
at unit level.

Known limits: the grade-9 school locations and the unit register (coordinates, owner) are the
latest snapshot, not the one of year T; they only place units and origins on the map.
"""
from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

from . import scores
from .intake import THETA, aggregate, cut_tables, platt_apply, platt_fit

LEVELS = ("unit_group", "municipality", "region")
FORECASTS = {"intake_model": "predicted", "simulation": "sim_predicted", "persistence": "persistence",
             "persistence_growth": "persistence_growth"}
FLAG_FORECASTS = {"intake_model": "p_overcapacity", "simulation": "sim_p_raw",
                  "simulation_recalibrated": "sim_p_overcapacity", "base_rate": "p_base_rate",
                  "persistence_calibrated": "p_persistence_calibrated", "persistence_01": "p_persistence_01"}
# scored on every item with an outcome and a simulated probability (all origins of a horizon): the
# forecasters every such item has
FLAG_FORECASTS_ALL = {"simulation": "sim_p_raw", "simulation_recalibrated": "sim_p_overcapacity",
                      "persistence_01": "p_persistence_01"}
HORIZONS = (1, 2, 3)


def simulation_backtest(tables: dict, origins=None, n_paths: int = 500, seed: int = 1,
                        theta: float = THETA, horizons=HORIZONS) -> pd.DataFrame:
    """Per origin T: the chain built once from the tables cut at T simulates T + h for every h in
    ``horizons`` with T + h observed, in one run (the paths of T + 1 are the ones a run of T + 1
    alone draws: the cohort paths come first, then the years in order). Rows: origin, year, h,
    skolenhetskod, group, sim_predicted (mean placed), sim_p_raw (P(utilisation < θ)), sim_places
    (the places the simulation assumed: the last known), unallocated (False; True for the
    pseudo-rows ``ofördelat:<kommun>`` of the students expected at units not yet known, A90, with
    their kommun_kod, no probability and no places)."""
    from .chain import build_chain
    years = sorted(int(y) for y in tables["admissions"].year.unique())
    origins = [int(o) for o in (origins if origins is not None else years[:-1]) if o + 1 <= years[-1]]
    out = []
    for o in origins:
        with tempfile.TemporaryDirectory() as no_places:
            ch = build_chain(origin=o, tables=cut_tables(tables, o), places_dir=no_places)
        target = [o + h for h in sorted(horizons) if o + h <= years[-1]]
        r = ch.risk(years=target, n_paths=n_paths, seed=seed, theta=theta)
        for y in target:
            u = r[(r.level == "enhet") & (r.year == y)]
            out.append(pd.DataFrame({"origin": o, "year": y, "h": y - o,
                                     "skolenhetskod": u.area.astype(str).to_numpy(),
                                     "group": u.group.to_numpy(), "sim_predicted": u.placed.to_numpy(float),
                                     "sim_p_raw": u.p_overcapacity.to_numpy(float),
                                     "sim_places": u.places.to_numpy(float), "unallocated": False}))
            k = r[(r.level == "kommun") & (r.year == y)]
            if "unallocated" in k:
                k = k[k.unallocated.fillna(0) > 0]
                out.append(pd.DataFrame({"origin": o, "year": y, "h": y - o,
                                         "skolenhetskod": ("ofördelat:" + k.area.astype(str)).to_numpy(),
                                         "group": k.group.to_numpy(), "sim_predicted": k.unallocated.to_numpy(float),
                                         "sim_p_raw": np.nan, "sim_places": 0.0, "unallocated": True,
                                         "kommun_kod": k.area.astype(str).to_numpy()}))
    return pd.concat(out, ignore_index=True)


def _with_h(sim: pd.DataFrame) -> pd.DataFrame:
    """``sim`` with its horizon column (year − origin when it has none)."""
    return sim if "h" in sim else sim.assign(h=(sim.year - sim.origin).astype(int))


def recalibrate(sim: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """sim_p_overcapacity: the simulation's probabilities after Platt scaling (forecast.intake.platt_fit;
    fewer flags than its minimum: left as simulated) fitted, for origin T and horizon h, only on the
    simulated years of the same horizon whose outcome was known at T (year ≤ T). ``items``: the
    outcomes per origin, unit-group (and horizon ``h`` when it has one)."""
    sim = _with_h(sim)
    keys = ["origin", "skolenhetskod", "group"] + (["h"] if "h" in items else [])
    m = items[keys + ["outcome_overcapacity"]].assign(skolenhetskod=lambda d: d.skolenhetskod.astype(str))
    s = sim.merge(m, on=keys, how="left")
    s["sim_p_overcapacity"] = s.sim_p_raw
    for h in sorted(s.h.unique()):
        for o in sorted(s[s.h == h].origin.unique()):
            known = s[(s.h == h) & (s.year <= o) & s.outcome_overcapacity.notna()]
            a, b = platt_fit(known.sim_p_raw.to_numpy(float), known.outcome_overcapacity.to_numpy(float))
            cur = (s.origin == o) & (s.h == h)
            s.loc[cur, "sim_p_overcapacity"] = platt_apply(s.loc[cur, "sim_p_raw"].to_numpy(float), a, b)
    return s.drop(columns="outcome_overcapacity")


def join_items(items: pd.DataFrame, sim: pd.DataFrame, h: int = 1) -> pd.DataFrame:
    """The intake backtest's items (places unknown, horizon ``h``) with the simulation's forecasts
    of the same origin and horizon; a unit-group the simulation does not know is forecast 0 (as for
    every forecaster)."""
    cur = items[(items.variant == "places_unknown") & (items.h == h)].copy()
    cur["skolenhetskod"] = cur.skolenhetskod.astype(str)
    s = _with_h(sim)
    s = s[s.h == h].drop(columns=["year", "h"])
    extra = [c for c in ("unallocated", "kommun_kod") if c in s]
    cur = cur.merge(s.drop(columns=extra), on=["origin", "skolenhetskod", "group"], how="left")
    cur["sim_predicted"] = cur.sim_predicted.fillna(0.0)
    if "unallocated" in s:
        # the simulation's unallocated students in a municipality where the intake model has none:
        # items of their own, outcome 0 and every other forecaster 0 (as for a unit it does not know)
        un = s[s.unallocated.astype(bool)]
        key = ["origin", "skolenhetskod", "group"]
        new = un.merge(cur[key], on=key, how="left", indicator=True)
        new = new[new._merge == "left_only"].drop(columns="_merge")
        if len(new):
            clusters = cur.drop_duplicates("kommun_kod").set_index("kommun_kod").get("cluster", pd.Series(dtype=object))
            add = new[key + ["kommun_kod", "sim_predicted", "sim_p_raw", "sim_places"]].assign(
                cluster=new.kommun_kod.map(clusters), unallocated=True, variant="places_unknown", h=h,
                year=new.origin + h, actual=0.0, places_actual=0.0, admitted_origin=0.0, places_origin=0.0,
                **{c: 0.0 for c in FORECASTS.values() if c != "sim_predicted"})
            cur = pd.concat([cur, add], ignore_index=True)
    return cur


def score(joined: pd.DataFrame, flag_forecasters: dict | None = None) -> dict:
    """{'intake': rows per level × origin × forecaster (WAPE, MAPE, bias, n), 'flags': Brier, worst
    reliability gap, mean probability and the share of outcomes per flag forecaster (``flag_forecasters``, default FLAG_FORECASTS) on the
    items every one of them covers. A flag forecaster with no probability on any item (the intake
    backtest gives none at that horizon: no earlier residuals or pairs with that lag) is left out
    rather than emptying the comparison; no items, no rows}."""
    rows = []
    for level in LEVELS:
        agg = aggregate(joined, level, ["actual"] + list(FORECASTS.values()))
        for origin in [None] + sorted(agg.origin.unique()):
            a = agg if origin is None else agg[agg.origin == origin]
            for f, col in FORECASTS.items():
                r = scores.error_summary(a[col].to_numpy(float), a.actual.to_numpy(float))
                rows.append({"level": level, "origin": "pooled" if origin is None else int(origin),
                             "forecaster": f, **r})
    flags = []
    fcs = {f: c for f, c in (flag_forecasters or FLAG_FORECASTS).items()
           if c in joined and joined[c].notna().any()}
    d = joined[joined.outcome_overcapacity.notna()].dropna(subset=list(fcs.values()))
    for origin in ([None] + sorted(d.origin.unique())) if len(d) and fcs else []:
        e = d if origin is None else d[d.origin == origin]
        y = e.outcome_overcapacity.to_numpy(float)
        for f, col in fcs.items():
            p = e[col].to_numpy(float)
            flags.append({"origin": "pooled" if origin is None else int(origin), "forecaster": f,
                          "brier": scores.brier(p, y), "n": len(y),
                          "worst_gap": scores.worst_reliability_gap(scores.reliability_table(p, y)),
                          "mean_p": float(p.mean()), "outcome_rate": float(y.mean())})
    return {"intake": pd.DataFrame(rows),
            "flags": pd.DataFrame(flags, columns=["origin", "forecaster", "brier", "n", "worst_gap", "mean_p",
                                                  "outcome_rate"])}


def track_record(tables: dict, intake_items: pd.DataFrame, n_paths: int = 500, seed: int = 1,
                 horizons=HORIZONS) -> dict:
    """The simulation's real-time record beside the intake model's and the yardsticks', per
    horizon with items in ``intake_items``: {'intake', 'flags'} of horizon 1 (as before),
    'by_horizon': {h: {'intake', 'flags', 'flags_all'}} ('flags_all': the simulation and the 0/1
    persistence on every item with an outcome), 'simulated'."""
    sim = simulation_backtest(tables, n_paths=n_paths, seed=seed, horizons=horizons)
    cur = intake_items[intake_items.variant == "places_unknown"]
    sim = recalibrate(sim, cur[cur.h.isin(list(horizons))])
    by_h = {}
    for h in sorted(set(int(v) for v in sim.h.unique()) & set(int(v) for v in cur.h.unique())):
        j = join_items(intake_items, sim, h)
        by_h[h] = score(j) | {"flags_all": score(j, FLAG_FORECASTS_ALL)["flags"]}
    first = by_h.get(1, {})
    return {"intake": first.get("intake"), "flags": first.get("flags"), "by_horizon": by_h, "simulated": sim}

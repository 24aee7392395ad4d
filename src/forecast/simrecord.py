"""Real-time track record of the reports' risk simulation (assumption A24).

The reports' unit-level probabilities come from the flow-model simulation of
:mod:`forecast.chain` / :mod:`forecast.risk`, not from the intake model of
:mod:`forecast.intake` whose record the reports print. This module scores the simulation itself
the same way: for each origin T with T + 1 observed, the whole chain is rebuilt from the tables
as published by T (:func:`forecast.intake.cut_tables`: admissions and crosswalk up to T, grade
counts up to autumn T, population up to 31 December T), with no announced places (the "places
unknown" variant), and its year T + 1 is simulated. Each unit-group's mean placed students and
P(utilisation < θ) are then scored on exactly the items, outcomes and yardsticks of the intake
backtest (variant places unknown, horizon 1).

Known limits: the grade-9 school locations and the unit register (coordinates, owner) are the
latest snapshot, not the one of year T; they only place units and origins on the map.
"""
from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

from . import scores
from .intake import THETA, cut_tables, platt_apply, platt_fit

LEVELS = ("unit_group", "municipality", "region")
_KEYS = {"unit_group": ["skolenhetskod", "group"], "municipality": ["kommun_kod"], "region": []}
FORECASTS = {"intake_model": "predicted", "simulation": "sim_predicted", "persistence": "persistence",
             "persistence_growth": "persistence_growth"}
FLAG_FORECASTS = {"intake_model": "p_overcapacity", "simulation": "sim_p_raw",
                  "simulation_recalibrated": "sim_p_overcapacity", "base_rate": "p_base_rate",
                  "persistence_calibrated": "p_persistence_calibrated"}


def simulation_backtest(tables: dict, origins=None, n_paths: int = 500, seed: int = 1,
                        theta: float = THETA) -> pd.DataFrame:
    """Per origin T: the chain built from the tables cut at T simulates T + 1. Rows: origin,
    year, skolenhetskod, group, sim_predicted (mean placed), sim_p_raw (P(utilisation < θ)),
    sim_places (the places the simulation assumed: the last known)."""
    from .chain import build_chain
    years = sorted(int(y) for y in tables["admissions"].year.unique())
    origins = [int(o) for o in (origins if origins is not None else years[:-1]) if o + 1 <= years[-1]]
    out = []
    for o in origins:
        with tempfile.TemporaryDirectory() as no_places:
            ch = build_chain(origin=o, tables=cut_tables(tables, o), places_dir=no_places)
        r = ch.risk(years=[o + 1], n_paths=n_paths, seed=seed, theta=theta)
        u = r[r.level == "enhet"]
        out.append(pd.DataFrame({"origin": o, "year": o + 1, "skolenhetskod": u.area.astype(str).to_numpy(),
                                 "group": u.group.to_numpy(), "sim_predicted": u.placed.to_numpy(float),
                                 "sim_p_raw": u.p_overcapacity.to_numpy(float),
                                 "sim_places": u.places.to_numpy(float)}))
    return pd.concat(out, ignore_index=True)


def recalibrate(sim: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """sim_p_overcapacity: the simulation's probabilities after Platt scaling (forecast.intake.platt_fit;
    fewer flags than its minimum: left as simulated) fitted, for origin T, only on the simulated
    years whose outcome was known at T (year ≤ T)."""
    m = items[["origin", "skolenhetskod", "group", "outcome_overcapacity"]]
    s = sim.merge(m, on=["origin", "skolenhetskod", "group"], how="left")
    s["sim_p_overcapacity"] = s.sim_p_raw
    for o in sorted(s.origin.unique()):
        known = s[(s.year <= o) & s.outcome_overcapacity.notna()]
        a, b = platt_fit(known.sim_p_raw.to_numpy(float), known.outcome_overcapacity.to_numpy(float))
        cur = s.origin == o
        s.loc[cur, "sim_p_overcapacity"] = platt_apply(s.loc[cur, "sim_p_raw"].to_numpy(float), a, b)
    return s.drop(columns="outcome_overcapacity")


def join_items(items: pd.DataFrame, sim: pd.DataFrame) -> pd.DataFrame:
    """The intake backtest's items (places unknown, horizon 1) with the simulation's forecasts;
    a unit-group the simulation does not know is forecast 0 (as for every forecaster)."""
    cur = items[(items.variant == "places_unknown") & (items.h == 1)].copy()
    cur["skolenhetskod"] = cur.skolenhetskod.astype(str)
    cur = cur.merge(sim.drop(columns=["year"]), on=["origin", "skolenhetskod", "group"], how="left")
    cur["sim_predicted"] = cur.sim_predicted.fillna(0.0)
    return cur


def score(joined: pd.DataFrame) -> dict:
    """{'intake': rows per level × origin × forecaster (WAPE, MAPE, bias, n), 'flags': Brier and
    worst reliability gap per forecaster on the items every flag forecaster covers}."""
    rows = []
    for level in LEVELS:
        d = joined
        if level == "unit_group" and "unallocated" in d:
            d = d[~d.unallocated.astype(bool)]
        cols = ["actual"] + list(FORECASTS.values())
        agg = d.groupby(["origin"] + _KEYS[level], dropna=False)[cols].sum().reset_index()
        for origin in [None] + sorted(agg.origin.unique()):
            a = agg if origin is None else agg[agg.origin == origin]
            for f, col in FORECASTS.items():
                r = scores.error_summary(a[col].to_numpy(float), a.actual.to_numpy(float))
                rows.append({"level": level, "origin": "pooled" if origin is None else int(origin),
                             "forecaster": f, **r})
    flags = []
    cols = list(FLAG_FORECASTS.values())
    d = joined[joined.outcome_overcapacity.notna()].dropna(subset=cols)
    for origin in [None] + sorted(d.origin.unique()):
        e = d if origin is None else d[d.origin == origin]
        y = e.outcome_overcapacity.to_numpy(float)
        for f, col in FLAG_FORECASTS.items():
            p = e[col].to_numpy(float)
            flags.append({"origin": "pooled" if origin is None else int(origin), "forecaster": f,
                          "brier": scores.brier(p, y), "n": len(y),
                          "worst_gap": scores.worst_reliability_gap(scores.reliability_table(p, y))})
    return {"intake": pd.DataFrame(rows), "flags": pd.DataFrame(flags)}


def track_record(tables: dict, intake_items: pd.DataFrame, n_paths: int = 500, seed: int = 1) -> dict:
    """The simulation's real-time record beside the intake model's and the yardsticks'."""
    sim = simulation_backtest(tables, n_paths=n_paths, seed=seed)
    sim = recalibrate(sim, intake_items[(intake_items.variant == "places_unknown") & (intake_items.h == 1)])
    return score(join_items(intake_items, sim)) | {"simulated": sim}

"""Where the intake model gains and loses against "the same as last year" (issue 11).

    python benchmarks/intake_diagnose.py           # JSON (the only output)
    python benchmarks/intake_diagnose.py --grid    # also every fixed setting of the grid (slow, ~1 min)

Runs the same real-time backtest as benchmarks/intake.py (forecast.intake.track_record) and splits
the horizon-1 errors of both variants by item type, size and origin, for the model and the
yardsticks on the same items. Each segment reports its items, actual students and its
contribution to the pooled unit-group WAPE (Σ|error| of the segment ÷ Σ actual of ALL items,
in %), so the segments of one split add up to the pooled WAPE.

Item types (unit × programme group, origin T, target year Y = T + 1):
  new       no admissions and no places at T, something at Y (a new unit-group)
  closed    admissions at T, no admissions and no places at Y
  full      full at T (at most 2% of places vacant)
  room      admissions at T, not full, not closed
  other     places but no admissions at T (and not new)
  unallocated  the pseudo-items 'ofördelat:<kommun>' (municipality level and above only)

"floor": how much of persistence's unit-group error comes from items whose places changed by more
than 5% between T and Y (new and closed included), and the WAPE a places-unknown forecast would
have if it were exact on every item whose places stayed within 5% and no better than persistence
on the others (the error left when places are the only unknown). Also the model's and
persistence's WAPE on the stable-places items alone, where a places-unknown forecast competes on
equal terms.

--grid: pooled h1 WAPE (unit-group and municipality, places unknown) of every fixed setting of
the grid over the scored origins. This is IN-SAMPLE (it looks at the scored outcomes): it bounds
what the nested selection could reach, and shows whether its choices are noise.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import pandas as pd

from forecast.data import load_table
from forecast import intake

FC = {"model": "predicted", "persistence": "persistence", "persistence_growth": "persistence_growth",
      "persistence_capped": "persistence_capped"}


def _r(x):
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else round(float(x), 3)
    if isinstance(x, dict):
        return {str(k): _r(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_r(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def item_type(d: pd.DataFrame) -> pd.Series:
    un = d.unallocated.astype(bool)
    new = (d.admitted_origin <= 0) & (d.places_origin <= 0) & ~un
    closed = (d.admitted_origin > 0) & (d.actual <= 0) & (d.places_actual <= 0) & ~un
    full = d.full_origin.astype(bool) & ~closed & ~un
    room = (d.admitted_origin > 0) & ~full & ~closed & ~un
    t = np.select([un, new, closed, full, room], ["unallocated", "new", "closed", "full", "room"], "other")
    return pd.Series(t, index=d.index)


def size_bin(d: pd.DataFrame) -> pd.Series:
    a = d.admitted_origin
    return pd.Series(np.select([a <= 0, a < 30, a < 100, a < 200], ["0", "1-29", "30-99", "100-199"], "200+"),
                     index=d.index)


def place_change(d: pd.DataFrame) -> pd.Series:
    po, pa = d.places_origin, d.places_actual
    changed = (pa - po).abs() > 0.05 * po
    changed |= (po <= 0) != (pa <= 0)
    return pd.Series(np.where(d.unallocated.astype(bool), "unallocated",
                              np.where(changed, "places_changed", "places_stable")), index=d.index)


def split(d: pd.DataFrame, by: pd.Series, total_actual: float, fcs) -> dict:
    out = {}
    for key, g in d.groupby(by):
        row = {"items": int(len(g)), "actual": float(g.actual.sum()), "admitted_origin": float(g.admitted_origin.sum())}
        for f in fcs:
            e = g[FC[f]] - g.actual
            row[f"{f}_wape_contrib"] = 100 * float(e.abs().sum()) / total_actual
            row[f"{f}_signed"] = float(e.sum())
        out[str(key)] = row
    return out


def segments(items: pd.DataFrame, variant: str) -> dict:
    d = items[(items.h == 1) & (items.variant == variant)].copy()
    fcs = [f for f in FC if FC[f] in d and d[FC[f]].notna().all()]
    units = d[~d.unallocated.astype(bool)]
    tot = float(units.actual.sum())
    res = {"pooled_wape": {f: 100 * float((units[FC[f]] - units.actual).abs().sum()) / tot for f in fcs},
           "by_type": split(units, item_type(units), tot, fcs),
           "by_size_at_origin": split(units, size_bin(units), tot, fcs),
           "by_origin": split(units, units.origin, tot, fcs),
           "by_places_change": split(units, place_change(units), tot, fcs)}
    # type × origin for the model and persistence: is one origin or one type the whole story?
    res["type_by_origin"] = {str(o): split(g, item_type(g), float(g.actual.sum()), ["model", "persistence"])
                             for o, g in units.groupby("origin")}
    # municipality level: what the unallocated pseudo-items and the growth do there
    mun = d.groupby(["origin", "kommun_kod"])[[FC[f] for f in fcs] + ["actual"]].sum()
    mun_known = units.groupby(["origin", "kommun_kod"])[[FC[f] for f in fcs] + ["actual"]].sum()
    mt = float(mun.actual.sum())
    res["municipality_wape"] = {f: 100 * float((mun[FC[f]] - mun.actual).abs().sum()) / mt for f in fcs}
    res["municipality_wape_without_unallocated"] = {
        "model": 100 * float((mun_known.predicted - mun.actual).abs().sum()) / mt}
    # municipality floor: the same totals with every new and closed unit-group forecast exactly
    # (entry and exit are what no unit-anchored forecast can see with places unknown)
    typ = item_type(d)
    ex = d.copy()
    ee = typ.isin(["new", "closed"]).to_numpy()
    for f in fcs:
        ex.loc[ee, FC[f]] = ex.loc[ee, "actual"]
    mx = ex.groupby(["origin", "kommun_kod"])[[FC[f] for f in fcs] + ["actual"]].sum()
    res["municipality_wape_if_entry_exit_exact"] = {f: 100 * float((mx[FC[f]] - mx.actual).abs().sum()) / mt
                                                    for f in fcs}
    res["unallocated_students"] = {str(o): float(g[g.unallocated.astype(bool)].predicted.sum())
                                   for o, g in d.groupby("origin")}
    res["not_placed_region"] = {str(o): float(g.not_placed_region.iloc[0]) for o, g in d.groupby("origin")}
    # floor: places are the only unknown
    pc = place_change(units)
    ch = units[pc == "places_changed"]
    st = units[pc == "places_stable"]
    pers_err = float((units.persistence - units.actual).abs().sum())
    ch_err = float((ch.persistence - ch.actual).abs().sum())
    res["floor"] = {
        "items_places_changed": int(len(ch)), "items_places_stable": int(len(st)),
        "share_of_persistence_error_from_place_changes": 100 * ch_err / pers_err,
        "wape_if_exact_on_stable_places_items": 100 * ch_err / tot,
        "wape_on_stable_places_items": {f: 100 * float((st[FC[f]] - st.actual).abs().sum()) / float(st.actual.sum())
                                        for f in fcs},
        "wape_on_changed_places_items": {f: 100 * float((ch[FC[f]] - ch.actual).abs().sum()) / float(ch.actual.sum())
                                         for f in fcs},
    }
    return res


def grid(panel, grades, origins) -> dict:
    """Every fixed setting, scored in-sample on the h1 places-unknown forecasts of the origins."""
    growth = {o: intake.entrant_growth(grades, o, 1) for o in origins}
    fill = {o: intake.new_unit_fill(panel, o) for o in origins}
    rows = []
    for p in intake.candidates():
        ug_e = ug_t = mu_e = mu_t = 0.0
        per = {}
        for o in origins:
            m = intake.run_for(panel, growth, o, o + 1, "places_unknown", p, fill[o])
            u = m[~m.unallocated]
            e = float((u.predicted - u.actual).abs().sum())
            t = float(u.actual.sum())
            per[o] = 100 * e / t
            ug_e += e
            ug_t += t
            k = m.groupby("kommun_kod")[["predicted", "actual"]].sum()
            mu_e += float((k.predicted - k.actual).abs().sum())
            mu_t += float(k.actual.sum())
        rows.append({"params": p.label(), "unit_group_wape": 100 * ug_e / ug_t, "municipality_wape": 100 * mu_e / mu_t,
                     **{f"ug_{o}": v for o, v in per.items()}})
    g = pd.DataFrame(rows).sort_values("unit_group_wape")
    best_per_origin = {str(o): g.sort_values(f"ug_{o}").params.iloc[0] for o in origins}
    return {"best_10_by_unit_group_wape": g.head(10).to_dict("records"),
            "best_5_by_municipality_wape": g.sort_values("municipality_wape").head(5).to_dict("records"),
            "best_setting_per_origin": best_per_origin, "n_settings": int(len(g))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    tables = {n: load_table(n) for n in intake.INPUT_TABLES}
    tr = intake.track_record(tables, horizons=(1,))
    items = tr["backtest"].items
    out = {"origins": [int(o) for o in tr["backtest"].origins],
           "chosen_settings": tr["chosen"][["origin", "variant", "params"]].to_dict("records")}
    for v in intake.VARIANTS:
        out[v] = segments(items, v)
    if args.grid:
        panel, grades = intake.inputs_from_tables(tables)
        out["grid_in_sample_places_unknown"] = grid(panel, grades, tr["backtest"].origins)
    out["seconds"] = time.perf_counter() - t0
    json.dump(_r(out), sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

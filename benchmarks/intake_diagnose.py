"""Where the intake model gains and loses against "the same as last year" (issue 11).

    python benchmarks/intake_diagnose.py           # JSON (the only output)
    python benchmarks/intake_diagnose.py --grid    # also every fixed setting of the grid (slow, ~1 min)
    python benchmarks/intake_diagnose.py --alternatives   # also the alternatives tried (~30 s)

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


def _bootstrap_diff(units: pd.DataFrame, yard: str, n: int = 1000, seed: int = 1) -> list:
    by = units.groupby("skolenhetskod")
    em = by.apply(lambda g: float((g.predicted - g.actual).abs().sum())).to_numpy()
    ey = by.apply(lambda g: float((g[yard] - g.actual).abs().sum())).to_numpy()
    ac = by.actual.sum().to_numpy(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ac), size=(n, len(ac)))
    diff = 100 * (em[idx].sum(1) - ey[idx].sum(1)) / ac[idx].sum(1)
    return [float(np.quantile(diff, 0.1)), float(np.quantile(diff, 0.9))]


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
    # noise: school-bootstrap (schools drawn with replacement, every origin of a school kept together)
    # 80% interval of the WAPE difference model − the better yardstick
    best = min((f for f in fcs if f != "model"), key=lambda f: res["pooled_wape"][f])
    res["bootstrap_80_wape_difference_model_minus_" + best] = _bootstrap_diff(units, FC[best])
    # the median unit-group against the mean: log((actual + 1) / (admitted at T + 1)) by fill band
    # and by reserves per admitted (units with admissions at T)
    a = units[units.admitted_origin > 0]
    lr = np.log((a.actual + 1) / (a.admitted_origin + 1))
    fill = pd.cut(a.admitted_origin / a.places_origin.clip(lower=1), [0, 0.5, 0.7, 0.85, 0.98, 10])
    resv = pd.cut(a.reserves_origin / a.admitted_origin, [-0.01, 0, 0.25, 0.5, 1, 2, 1e9]) \
        if "reserves_origin" in a else None

    def band(by):
        return {str(k): {"items": int(len(g)), "admitted_origin": float(a.admitted_origin[g.index].sum()),
                         "median_log_change": float(g.median()),
                         "ratio_of_sums": float(a.actual[g.index].sum() / a.admitted_origin[g.index].sum())}
                for k, g in lr.groupby(by, observed=True)}
    res["change_by_fill_at_origin"] = band(fill)
    if resv is not None:
        res["change_by_reserves_per_admitted"] = band(resv)
    # type × origin for the model and persistence: is one origin or one type the whole story?
    res["type_by_origin"] = {str(o): split(g, item_type(g), float(g.actual.sum()), ["model", "persistence"])
                             for o, g in units.groupby("origin")}
    # municipality level: what the unallocated pseudo-items and the growth do there
    mun = d.groupby(["origin", "kommun_kod"])[[FC[f] for f in fcs] + ["actual"]].sum()
    mun_known = units.groupby(["origin", "kommun_kod"])[[FC[f] for f in fcs] + ["actual"]].sum()
    mt = float(mun.actual.sum())
    # entry and exit side by side (origin, municipality, group): a school under a new key (renamed,
    # moved or recoded) shows up as one closed and one new item, an error for every forecaster
    ty = item_type(units)
    ee = []
    for (o, k, grp), g in units[ty.isin(["new", "closed"])].groupby(["origin", "kommun_kod", "group"]):
        t = ty[g.index]
        if (t == "new").any() and (t == "closed").any():
            ee.append({"origin": int(o), "kommun_kod": k, "group": grp,
                       "closed": dict(zip(g[t == "closed"].skola, g[t == "closed"].admitted_origin.astype(float))),
                       "new": dict(zip(g[t == "new"].skola, g[t == "new"].actual.astype(float)))})
    res["entry_and_exit_in_the_same_municipality_and_group"] = ee
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


def _wape(f: np.ndarray, a: np.ndarray) -> float:
    return 100 * float(np.abs(f - a).sum()) / float(a.sum())


def _h1_figures(tr: dict) -> dict:
    sc = tr["scores"]
    s = sc[(sc.horizon == 1) & (sc.origin == "pooled") & (sc.forecaster == "model")]
    return {v: {lvl: {"wape": float(r.wape.iloc[0]), "mape": float(r.mape.iloc[0])}
                for lvl in ("unit_group", "municipality") for r in [s[(s.variant == v) & (s.level == lvl)]]}
            for v in intake.VARIANTS} | {"chosen": tr["chosen"][tr["chosen"].variant == "places_unknown"].params.tolist()}


def alternatives(tables: dict, tr: dict, panel: pd.DataFrame, grades: pd.DataFrame) -> dict:
    """The alternatives tried for issue 11, places unknown, h1. 'nested' ones choose their setting
    at each origin on the outcomes known then; 'in_sample' ones are fixed designs scored on the
    record (an upper bound on what they could give, not a track record)."""
    out = {"as_landed": _h1_figures(tr)}
    se, dflt = intake.SELECTION_SE, dict(intake.DEFAULTS)
    try:
        intake.SELECTION_SE = 0.0
        out["nested_without_one_se_rule"] = _h1_figures(intake.track_record(tables, horizons=(1,)))
        intake.SELECTION_SE = se
        intake.DEFAULTS["places_unknown"] = intake.DEFAULT
        out["nested_first_origin_default_regional_growth"] = _h1_figures(intake.track_record(tables, horizons=(1,)))
    finally:
        intake.SELECTION_SE = se
        intake.DEFAULTS.clear()
        intake.DEFAULTS.update(dflt)
    it = tr["backtest"].items
    it = it[(it.h == 1) & (it.variant == "places_unknown") & ~it.unallocated.astype(bool)].copy()
    origins = sorted(it.origin.unique())
    A, act = it.admitted_origin.to_numpy(float), it.actual.to_numpy(float)

    def nested(forecasts: dict, default) -> tuple[np.ndarray, dict]:
        """per origin, the candidate with the lowest unit-group WAPE on the h1 items whose target
        year is <= the origin (the default when none, or on a tie)."""
        f = np.zeros(len(it))
        chosen = {}
        for o in origins:
            known = (it.year <= o).to_numpy()
            best = default
            if known.any():          # the default unless another candidate is strictly better
                loss = {k: _wape(v[known], act[known]) for k, v in forecasts.items()}
                for k in forecasts:
                    if loss[k] < loss[best] - 1e-9:
                        best = k
            cur = (it.origin == o).to_numpy()
            f[cur] = forecasts[best][cur]
            chosen[str(o)] = best
        return f, chosen

    # forecast combination with persistence, weight chosen nested (equal weights without evidence)
    model = it.predicted.to_numpy(float)
    combos = {w: w * model + (1 - w) * A for w in (0.0, 0.25, 0.5, 0.75, 1.0)}
    f, ch = nested(combos, 0.5)
    out["nested_combination_with_persistence"] = {"unit_group_wape": _wape(f, act), "weight_on_model": ch}
    # last year's change reverted at units with room only (full units are held by their places)
    k = ["skolenhetskod", "group"]
    prev = panel.assign(year=panel.year + 1).set_index(["year"] + k).admitted
    ap = np.array([prev.get((o, s, g), np.nan) for o, s, g in zip(it.origin, it.skolenhetskod, it.group)])
    ok = (ap > 0) & (A > 0)
    ratio = np.where(ok, np.clip(A / np.where(ok, ap, 1), 0.5, 2.0), 1.0)
    room = ~it.full_origin.to_numpy(bool)
    revs = {phi: A * np.where(room, ratio ** phi, 1.0) for phi in intake.PHIS}
    f, ch = nested(revs, 0.0)
    out["nested_reversion_at_units_with_room_in_sample_design"] = {
        "unit_group_wape": _wape(f, act), "phi": ch,
        "in_sample_each_phi": {str(p): _wape(v, act) for p, v in revs.items()}}
    # the regional entrant growth at units with room only, full units at last year's intake
    g = it.origin.map({o: float(intake.entrant_growth(grades, int(o), 1).set_index("area").growth["region"])
                       for o in origins}).to_numpy(float)
    out["in_sample_growth_at_units_with_room_only"] = {"unit_group_wape": _wape(A * np.where(room, g, 1.0), act)}
    out["persistence_unit_group_wape"] = _wape(A, act)
    # units in their first year at the origin (not in the panel the year before) grow as they become
    # known: factor = exp(median log change of earlier first-year units, known at the origin)
    first = panel.groupby(["skolenhetskod", "group"]).year.min()
    y0 = int(panel.year.min())
    ramp = np.ones(len(it))
    ramp_f = {}
    for o in origins:
        vals = []
        for t in range(y0 + 1, int(o)):
            a = panel[panel.year == t].set_index(["skolenhetskod", "group"])
            b = panel[panel.year == t + 1].set_index(["skolenhetskod", "group"]).admitted
            nw = a[(first.reindex(a.index) == t).to_numpy() & (a.admitted > 0).to_numpy()]
            vals += [np.log((b.get(kk, 0.0) + 1) / (r + 1)) for kk, r in nw.admitted.items()]
        ramp_f[str(o)] = float(np.exp(np.median(vals))) if vals else 1.0
        m = ((it.origin == o) & (o > y0)).to_numpy() & np.array(
            [first.get(kk, -1) == o for kk in zip(it.skolenhetskod, it.group)])
        ramp[m] = ramp_f[str(o)]
    out["nested_first_year_units_ramp_up_in_sample_design"] = {
        "unit_group_wape": _wape(model * ramp, act), "persistence_with_ramp_up": _wape(A * ramp, act),
        "factor": ramp_f, "items": int((ramp != 1).sum())}
    # municipality: top-down totals (persistence × regional growth per municipality) chosen nested
    # against the model's bottom-up totals (units + unallocated) on the earlier origins
    d = tr["backtest"].items
    d = d[(d.h == 1) & (d.variant == "places_unknown")]
    mt = d.groupby(["origin", "year", "kommun_kod"])[["predicted", "persistence_growth", "actual"]].sum().reset_index()
    tot_e = tot_a = 0.0
    pick = {}
    for o in origins:
        known = mt[mt.year <= o]
        use = "bottom_up"
        if len(known):
            bu = float((known.predicted - known.actual).abs().sum())
            td = float((known.persistence_growth - known.actual).abs().sum())
            use = "top_down" if td < bu - 1e-9 else "bottom_up"
        cur = mt[mt.origin == o]
        f = cur.persistence_growth if use == "top_down" else cur.predicted
        tot_e += float((f - cur.actual).abs().sum())
        tot_a += float(cur.actual.sum())
        pick[str(o)] = use
    out["nested_municipality_top_down_or_bottom_up"] = {"municipality_wape": 100 * tot_e / tot_a, "chosen": pick}
    # municipality: where the students growth brings go (region gap spread over municipalities)
    res = {}
    for o in origins:
        gr = float(intake.entrant_growth(grades, int(o), 1).set_index("area").growth["region"])
        now, nxt = panel[panel.year == o], panel[panel.year == o + 1]
        a_ = nxt.groupby("kommun_kod").admitted.sum()
        p_ = now.groupby("kommun_kod").admitted.sum()
        idx = a_.index.union(p_.index)
        a_, p_ = a_.reindex(idx, fill_value=0), p_.reindex(idx, fill_value=0)
        gap = p_.sum() * (gr - 1)
        newint = pd.Series(0.0, index=idx)
        for y in range(int(panel.year.min()) + 1, int(o) + 1):
            before = set(zip(panel[panel.year < y].skolenhetskod, panel[panel.year < y].group))
            cur = panel[panel.year == y]
            nw = cur[[kk not in before for kk in zip(cur.skolenhetskod, cur.group)]]
            newint = newint.add(nw.groupby("kommun_kod").admitted.sum(), fill_value=0)
        sh_int = p_ / p_.sum()
        sh_new = newint / newint.sum() if newint.sum() > 0 else sh_int
        full = now[now.full].assign(r=lambda x: np.minimum(x.reserves, x.admitted)).groupby("kommun_kod").r.sum()
        sh_res = full.reindex(idx, fill_value=0) / full.sum()
        for name, sh in (("by_intake_share", sh_int), ("by_new_unit_intake_share", sh_new),
                         ("half_intake_half_new_units", 0.5 * sh_int + 0.5 * sh_new), ("by_reserves_at_full_units", sh_res)):
            e, t = res.get(name, (0.0, 0.0))
            res[name] = (e + float((p_ + gap * sh - a_).abs().sum()), t + float(a_.sum()))
    out["in_sample_municipality_allocation_of_growth"] = {k: 100 * e / t for k, (e, t) in res.items()}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", action="store_true")
    p.add_argument("--alternatives", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    tables = {n: load_table(n) for n in intake.INPUT_TABLES}
    tr = intake.track_record(tables, horizons=(1,))
    items = tr["backtest"].items
    out = {"origins": [int(o) for o in tr["backtest"].origins],
           "chosen_settings": tr["chosen"][["origin", "variant", "params"]].to_dict("records")}
    panel, grades = intake.inputs_from_tables(tables)
    res_at = panel.rename(columns={"year": "origin", "reserves": "reserves_origin"})[
        ["origin", "skolenhetskod", "group", "reserves_origin"]]
    items = items.merge(res_at, on=["origin", "skolenhetskod", "group"], how="left")
    items["reserves_origin"] = items.reserves_origin.fillna(0.0)
    for v in intake.VARIANTS:
        out[v] = segments(items, v)
    if args.grid:
        out["grid_in_sample_places_unknown"] = grid(panel, grades, tr["backtest"].origins)
    if args.alternatives:
        out["alternatives_places_unknown_h1"] = alternatives(tables, tr, panel, grades)
    out["seconds"] = time.perf_counter() - t0
    json.dump(_r(out), sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

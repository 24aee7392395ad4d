"""How the overcapacity flags' recalibration was chosen, and what else was tried (issue 11).

    python benchmarks/intake_flags.py           # readable table
    python benchmarks/intake_flags.py --json    # one JSON object

Runs the real-time intake backtest (forecast.intake.track_record, horizons 1–2) once, then scores
alternative recalibrations of its simulated P(utilisation < θ) on the same items, each fitted
nested exactly as the backtest fits its own (at origin T on the earlier flags of the same variant
whose outcome year is ≤ T): the simulated probabilities, plain Platt scaling (the design before
2026-11-23, per horizon and pooled over horizons), the logistic stack with fewer or more features
and other penalties, and a logistic regression on the same origin features *without* the model's
probability, fitted on every (year t − h, year t) pair of the admission panel up to T (a "rich
persistence": how much of the skill the features carry on their own), and the stack trained on
every earlier forecast with its simulated probability recomputed from the residual pool known at
T (more flags, the first scored origin calibrated too, but each training probability's pool holds
its own residual). "chosen" is what
forecast.intake.backtest uses. The variants were scored on the same origins that chose the design:
this is an in-sample record of the search (docs/methods.md §7), not extra evidence. skill_80: the
80% interval of the skill when schools are resampled (bootstrap, 1,000 draws, seed 1).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import pandas as pd

from forecast import intake, scores
from forecast.data import load_table
from forecast.files import json_ready

ALL = list(range(5))     # logit p, log fill, new, reserve share, log places (intake.flag_features)


def _pairs(panel: pd.DataFrame, origin: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Origin features (without the model's probability) and outcomes of every unit-group with places
    in year t ≤ origin, features from year t − h (absent then: new)."""
    p = panel[panel.year <= origin]
    out = p[(p.places > 0) & (p.year - h >= p.year.min())]
    prev = p[["year", "skolenhetskod", "group", "admitted", "places"]].assign(year=p.year + h)
    m = out[["year", "skolenhetskod", "group", "admitted", "places"]].merge(
        prev, on=["year", "skolenhetskod", "group"], how="left", suffixes=("_y", ""))
    it = pd.DataFrame({"origin": m.year - h, "skolenhetskod": m.skolenhetskod, "group": m.group,
                       "admitted_origin": m.admitted.fillna(0), "places_origin": m.places.fillna(0),
                       "p_overcapacity_raw": 0.5})
    return intake.flag_features(it, panel)[:, 1:], (m.admitted_y / m.places_y < intake.THETA).to_numpy(float)


def designs(panel: pd.DataFrame, made: pd.DataFrame) -> dict:
    def stack(cols, pooled=True, ridge=intake.STACK_RIDGE):
        def f(cur, earlier, o, h):
            e = earlier if pooled else earlier[earlier.h == h]
            m = intake.stack_fit(intake.flag_features(e, panel)[:, cols], e.outcome_overcapacity.to_numpy(float), ridge)
            return intake.stack_apply(m, intake.flag_features(cur, panel)[:, cols], cur.p_overcapacity_raw.to_numpy(float))
        return f

    def platt(pooled):
        def f(cur, earlier, o, h):
            e = earlier if pooled else earlier[earlier.h == h]
            a, b = intake.platt_fit(e.p_overcapacity_raw.to_numpy(float), e.outcome_overcapacity.to_numpy(float))
            return intake.platt_apply(cur.p_overcapacity_raw.to_numpy(float), a, b)
        return f

    def rich_persistence(cur, earlier, o, h):
        x, y = _pairs(panel, o, h)
        m = intake.stack_fit(x, y)
        return intake.stack_apply(m, intake.flag_features(cur, panel)[:, 1:], cur.p_overcapacity_raw.to_numpy(float))

    def resimulated(cur, earlier, o, h):
        # every earlier forecast of the variant with its outcome known at o, its simulated probability
        # recomputed with the residual pool known at o (which holds its own residual)
        v = cur.variant.iloc[0]
        tr = made[(made.variant == v) & (made.year <= o) & (made.origin < o) & made.outcome_overcapacity.notna()]
        parts = [intake.add_uncertainty(g, made[(made.variant == v) & (made.h == hh) & (made.year <= o)])
                 for hh, g in tr.groupby("h")]
        tr = pd.concat(parts).assign(p_overcapacity_raw=lambda d: d.p_overcapacity)
        m = intake.stack_fit(intake.flag_features(tr, panel), tr.outcome_overcapacity.to_numpy(float))
        return intake.stack_apply(m, intake.flag_features(cur, panel), cur.p_overcapacity_raw.to_numpy(float))

    return {"simulated (no recalibration)": lambda cur, e, o, h: cur.p_overcapacity_raw.to_numpy(float),
            "platt per horizon (before)": platt(False), "platt pooled over horizons": platt(True),
            "stack: p, fill, new": stack([0, 1, 2]), "stack: chosen (p, fill, new, reserves, size)": stack(ALL),
            "stack: chosen, per horizon": stack(ALL, pooled=False),
            "stack: chosen, penalty 0.1": stack(ALL, ridge=0.1), "stack: chosen, penalty 10": stack(ALL, ridge=10.0),
            "stack: chosen, penalty 30": stack(ALL, ridge=30.0), "stack: chosen, penalty 100": stack(ALL, ridge=100.0),
            "stack: chosen, trained on all earlier forecasts re-simulated at T": resimulated,
            "rich persistence (features, no model p)": rich_persistence}


def run(tables: dict) -> dict:
    panel, grades = intake.inputs_from_tables(tables)
    bt = intake.backtest(panel, grades, horizons=(1, 2))
    items = bt.items[bt.items.outcome_overcapacity.notna()]
    out = {}
    for name, fn in designs(panel, bt.items).items():
        out[name] = {}
        for h in (1, 2):
            for v in intake.VARIANTS:
                d = items[(items.variant == v) & (items.h == h) & items.p_overcapacity.notna()]
                ps, ys, cps, per = [], [], [], {}
                for o in sorted(d.origin.unique()):
                    cur = d[d.origin == o]
                    earlier = items[(items.variant == v) & (items.year <= o) & items.p_overcapacity_raw.notna()]
                    p = fn(cur, earlier, int(o), h)
                    y, cp = cur.outcome_overcapacity.to_numpy(float), cur.p_persistence_calibrated.to_numpy(float)
                    ps.append(p), ys.append(y), cps.append(cp)
                    per[str(int(o))] = {"brier": scores.brier(p, y), "persistence_calibrated": scores.brier(cp, y)}
                p, y, cp = (np.concatenate(a) for a in (ps, ys, cps))
                b, bc = scores.brier(p, y), scores.brier(cp, y)
                units = d.skolenhetskod.to_numpy()
                out[name][f"h{h}_{v}"] = {"brier": b, "persistence_calibrated": bc, "skill": scores.skill(b, bc),
                                          "skill_80": _skill_interval(p, cp, y, units),
                                          "worst_gap": scores.worst_reliability_gap(scores.reliability_table(p, y)),
                                          "n": len(y), "per_origin": per}
    return out


def _skill_interval(p, cp, y, units, n_boot: int = 1000, seed: int = 1) -> list:
    """80% interval of the skill 1 − Brier/Brier(calibrated persistence) when the schools (all
    their unit-groups and origins together) are resampled: the sampling noise of the record."""
    codes, idx = np.unique(units, return_inverse=True)
    se, sc = np.bincount(idx, (p - y) ** 2, len(codes)), np.bincount(idx, (cp - y) ** 2, len(codes))
    draw = np.random.default_rng(seed).integers(0, len(codes), (n_boot, len(codes)))
    sk = 1 - se[draw].sum(axis=1) / sc[draw].sum(axis=1)
    return [float(q) for q in np.quantile(sk, [0.1, 0.9])]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = json_ready(run({n: load_table(n) for n in intake.INPUT_TABLES}))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        json.dump(res, sys.stdout, ensure_ascii=False)
        print()
        return 0
    for name, block in res.items():
        if name == "seconds":
            continue
        print(name)
        for k, r in block.items():
            print(f"  {k:22s} Brier {r['brier']:.4f} vs calibrated persistence {r['persistence_calibrated']:.4f}  "
                  f"skill {100 * r['skill']:5.1f}% (80%: {100 * r['skill_80'][0]:.1f}–{100 * r['skill_80'][1]:.1f})  "
                  f"worst gap {r['worst_gap']}  n {r['n']}")
    print(f"({res['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

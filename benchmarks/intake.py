"""Real-time intake and risk backtest against "the same as last year" (issues 10 and 11).

    python benchmarks/intake.py           # readable summary
    python benchmarks/intake.py --json    # one JSON object

For every origin T (an admission year) and horizon h = 1–3 with T + h observed, the intake per
unit × programme group is forecast with only what was published by T (forecast.intake), in two
variants: places unknown (last known places carried forward) and places announced (the target
year's places known, as at the spring dialogue). The yardsticks are scored on exactly the same
items with the same information. Settings are chosen nested (origins before the scored one).
Needs `make data` first.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from forecast.data import load_table
from forecast.files import json_ready
from forecast.intake import INPUT_TABLES, track_record

LEVELS_OUT = ("unit_group", "unit", "municipality", "cluster", "region")


def summary(tr: dict) -> dict:
    sc, fl, cov = tr["scores"], tr["flags"], tr["coverage"]
    out = {"origins": [int(o) for o in tr["backtest"].origins]}
    for h in sorted(sc.horizon.unique()):
        hk = f"h{h}"
        out[hk] = {}
        for v in ("places_unknown", "places_announced"):
            block = {}
            for lvl in LEVELS_OUT:
                rows = sc[(sc.horizon == h) & (sc.variant == v) & (sc.level == lvl)]
                pooled = rows[rows.origin == "pooled"]
                block[lvl] = {r.forecaster: {k: getattr(r, k) for k in ("mape", "medape", "wape", "bias", "n")}
                              for r in pooled.itertuples()}
                block[lvl]["per_origin"] = {str(o): {r.forecaster: {"wape": r.wape, "mape": r.mape, "n": r.n}
                                                     for r in g.itertuples()}
                                            for o, g in rows[rows.origin != "pooled"].groupby("origin")}
                m = pooled[pooled.forecaster == "model"]
                block[lvl]["skill_wape"] = float(m.skill_wape.iloc[0]) if len(m) else None
                block[lvl]["best_yardstick"] = m.best_yardstick.iloc[0] if len(m) else None
            f = fl[(fl.horizon == h) & (fl.variant == v)]
            fp = f[f.origin == "pooled"]
            block["brier"] = {r.forecaster: r.brier for r in fp.itertuples()}
            block["brier_n"] = int(fp.n.iloc[0]) if len(fp) else 0
            block["worst_reliability_gap"] = {r.forecaster: r.worst_gap for r in fp.itertuples()}
            block["brier_per_origin"] = {str(o): {r.forecaster: r.brier for r in g.itertuples()}
                                         for o, g in f[f.origin != "pooled"].groupby("origin")}
            c = cov[(cov.horizon == h) & (cov.variant == v)]
            block["interval_coverage"] = {f"{int(r.level)}": r.coverage for r in c.itertuples()}
            block["interval_n"] = int(c.n.iloc[0]) if len(c) else 0
            out[hk][v] = block
    h1 = out.get("h1", {})
    # the short keys at horizon 1: flat for "places unknown" (the forecast every later year
    # has to make), and per variant beside them
    out["brier"] = dict(h1.get("places_unknown", {}).get("brier", {}))
    out["skill_wape"] = {lvl: h1.get("places_unknown", {}).get(lvl, {}).get("skill_wape")
                         for lvl in ("unit_group", "municipality", "region")}
    out["brier_by_variant"] = {v: h1[v]["brier"] for v in h1}
    out["skill_wape_by_variant"] = {v: {lvl: h1[v][lvl]["skill_wape"] for lvl in ("unit_group", "municipality",
                                                                                    "region")} for v in h1}
    out["chosen_settings"] = [{k: (v if not isinstance(v, float) or not math.isinf(v) else "inf")
                               for k, v in r.items()} for r in tr["chosen"].to_dict("records")]
    return json_ready(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    tables = {n: load_table(n) for n in INPUT_TABLES}
    tr = track_record(tables)
    res = summary(tr) | {"seconds": round(time.perf_counter() - t0, 1)}
    if args.json:
        json.dump(res, sys.stdout, ensure_ascii=False)
        print()
        return 0
    print(f"origins {res['origins']}  ({res['seconds']} s)")
    for hk in [k for k in res if k.startswith("h")]:
        for v, block in res[hk].items():
            print(f"\n{hk} {v}")
            for lvl in LEVELS_OUT:
                for f, s in block[lvl].items():
                    if isinstance(s, dict) and "wape" in s:
                        print(f"  {lvl:13s} {f:19s} MAPE {s['mape']:6.2f}  MedAPE {s['medape']:6.2f}  "
                              f"WAPE {s['wape']:6.2f}  bias {s['bias']:+6.2f}  n {s['n']}")
                print(f"  {lvl:13s} skill (WAPE vs {block[lvl]['best_yardstick']}): {block[lvl]['skill_wape']}")
            print(f"  Brier {block['brier']}  worst gap {block['worst_reliability_gap']}  n {block['brier_n']}")
            print(f"  interval coverage {block['interval_coverage']} (n {block['interval_n']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Search patterns, placement and overcapacity risk on the real bundled data (issue 4).

    python benchmarks/risk.py           # readable summary
    python benchmarks/risk.py --json    # one JSON object

Prints the flow model's one-year intake check (it uses the target year's realised 16-year-olds
and places, so it is NOT a real-time track record: that is benchmarks/intake.py), the calibration of the overcapacity flags
(Brier score against the base rate and persistence), the calibrated kluster syd share and the
2018 split, and the seconds for flows + placement + risk for the whole region with 1,000 paths
(one projection year, and all ten). Needs `make data` first.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from forecast.chain import build_chain
from forecast.flows import share_summary
from forecast.risk import backtest_intake, fitted_flows, run_risk


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--paths", type=int, default=1000)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    ch = build_chain(base_year=2022, horizon=10)
    t_chain = time.perf_counter() - t0
    rm = ch.region
    T, units = fitted_flows(rm)
    sh = share_summary(T, rm.codes, units, rm.clusters, rm.home_cluster)
    t1 = time.perf_counter()
    run_risk(rm, ch.projection, [ch.projection.years[0]], args.paths, np.random.default_rng(1))
    one_year = time.perf_counter() - t1
    t2 = time.perf_counter()
    run_risk(rm, ch.projection, list(ch.projection.years), args.paths, np.random.default_rng(1))
    all_years = time.perf_counter() - t2
    bt = backtest_intake(ch.tables, ch.age16)
    out = {k: v for k, v in bt.items() if k not in ("table", "fill_shortfall")}
    out |= {
        "within_cluster_share_syd": round(100 * sh["syd_intake_share"], 2),
        "within_cluster_share_syd_residents": round(100 * sh["syd_resident_share"], 2),
        "within_cluster_share_nordvast": round(100 * sh["nordvast_intake_share"], 2),
        "split_2018_model_pct": {k: round(100 * sh[k], 1) for k in ("own", "other_municipal", "independent")},
        "split_2018_published_pct": {"own": 31, "other_municipal": 29, "independent": 40},
        "beta_per_km": round(rm.beta, 4), "fitted_year": rm.year,
        "mapped_share_admitted_pct": round(100 * rm.mapped_share, 2),
        "seconds_full_region_1000_sims": round(one_year, 2),
        "seconds_full_region_1000_sims_10_years": round(all_years, 2),
        "seconds_chain_setup": round(t_chain, 2), "paths": args.paths,
    }
    print(json.dumps(out, ensure_ascii=False) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Search patterns, placement and overcapacity risk on the real bundled data (issue 4).

    python benchmarks/risk.py           # readable summary
    python benchmarks/risk.py --json    # one JSON object

Prints the real-time track record of the reports' risk simulation (forecast.simrecord: for each
origin T the whole chain is rebuilt from the data published by T, places unknown, and years
T + 1 … T + 3 simulated where observed), beside the intake model of benchmarks/intake.py and the
yardsticks on the same items of each horizon (keys without a horizon marker: T + 1; `_h2`, `_h3`:
T + 2, T + 3; `sim_brier_all_*`: the simulation and the 0/1 persistence on every item with an
outcome);
then the calibrated kluster syd share and the 2018 split, and the seconds for flows + placement +
risk for the whole region with 1,000 paths (one projection year, and all ten). Needs `make data`
first.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from forecast import simrecord
from forecast.chain import TABLES, build_chain
from forecast.data import load_table
from forecast.flows import share_summary
from forecast.intake import INPUT_TABLES
from forecast.intake import track_record as intake_track_record
from forecast.risk import fitted_flows, run_risk


def simulation_record(n_paths: int = 500) -> dict:
    """Flat keys: WAPE / MAPE / bias per level and forecaster, Brier and worst reliability gap per
    flag forecaster (pooled over origins, places unknown), and per-origin unit WAPE; horizon 1
    without a marker (the keys of the first record, unchanged), horizons 2 and 3 with `_h2`, `_h3`;
    the flags of every item with an outcome as `sim_brier_all_<forecaster>_h<h>`."""
    tables = {n: load_table(n) for n in set(TABLES) | set(INPUT_TABLES)}
    items = intake_track_record(tables, horizons=simrecord.HORIZONS)["backtest"].items
    rec = simrecord.track_record(tables, items, n_paths=n_paths)
    sim = rec["simulated"]
    out = {"sim_origins": sorted(int(o) for o in sim[sim.h == 1].origin.unique())}
    for h, r in rec["by_horizon"].items():
        sfx = "" if h == 1 else f"_h{h}"
        if h > 1:
            out[f"sim_origins{sfx}"] = sorted(int(o) for o in sim[sim.h == h].origin.unique())
        out |= _flat(r["intake"], r["flags"], sfx)
        for x in r["flags_all"][r["flags_all"].origin == "pooled"].itertuples():
            out[f"sim_brier_all_{x.forecaster}_h{h}"] = round(float(x.brier), 4)
            out[f"sim_worst_gap_all_{x.forecaster}_h{h}"] = round(float(x.worst_gap), 3)
            out[f"sim_mean_p_all_{x.forecaster}_h{h}"] = round(float(x.mean_p), 3)
            out[f"sim_flag_n_all_h{h}"] = int(x.n)
            out[f"sim_outcome_rate_all_h{h}"] = round(float(x.outcome_rate), 3)
        for x in r["flags"][r["flags"].origin != "pooled"].itertuples():
            if h > 1:
                out[f"sim_brier_{x.forecaster}_{x.origin}{sfx}"] = round(float(x.brier), 4)
    return out


def _flat(sc, fl, sfx: str) -> dict:
    """The record of one horizon as flat keys, ``sfx`` after each (empty for horizon 1)."""
    out = {}
    for r in sc[sc.origin == "pooled"].itertuples():
        for m in ("wape", "mape", "bias"):
            out[f"sim_{r.level}_{m}_{r.forecaster}{sfx}"] = round(float(getattr(r, m)), 2)
        out[f"sim_{r.level}_n{sfx}"] = int(r.n)
    for r in sc[(sc.origin != "pooled") & (sc.level == "unit_group")].itertuples():
        out[f"sim_unit_group_wape_{r.forecaster}_{r.origin}{sfx}"] = round(float(r.wape), 2)
    for r in fl[fl.origin == "pooled"].itertuples():
        out[f"sim_brier_{r.forecaster}{sfx}"] = round(float(r.brier), 4)
        out[f"sim_worst_gap_{r.forecaster}{sfx}"] = round(float(r.worst_gap), 3)
        out[f"sim_flag_n{sfx}"] = int(r.n)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--paths", type=int, default=1000)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    ch = build_chain(horizon=10)
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
    t3 = time.perf_counter()
    out = simulation_record()
    out |= {"seconds_simulation_record": round(time.perf_counter() - t3, 2)}
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

"""Speed of the cohort projection with simulated paths (issue 3 target: ≤ 2 s).

    python benchmarks/projection_speed.py [--json] [--paths 1000] [--horizon 10]

Times the projection of all 290 municipalities from the latest base year with a given method
and error model (the backtest that chooses them is timed separately, as ``select_seconds``),
plus 1,000 simulated paths of the 16-year-olds and of the 16–18-year-olds.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from forecast.backtest import build_error_model, select_method
from forecast.data import load_cohort_history
from forecast.projection import project_cohorts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--paths", type=int, default=1000)
    p.add_argument("--horizon", type=int, default=10)
    args = p.parse_args(argv)
    hist = load_cohort_history()
    base = int(hist.years[-1])
    t0 = time.perf_counter()
    method, params = select_method(hist)
    errors = build_error_model(hist, method, params)
    t1 = time.perf_counter()
    runs = []
    for _ in range(3):
        s = time.perf_counter()
        proj = project_cohorts(hist, base, args.horizon, method, params=params, errors=errors)
        rng = np.random.default_rng(1)
        a16 = proj.simulate(args.paths, rng)
        band = proj.simulate(args.paths, rng, ages=slice(16, 19))
        runs.append(time.perf_counter() - s)
    out = {"municipalities": len(proj.codes), "horizon": args.horizon, "paths": args.paths,
           "method": method, "seconds": round(min(runs), 3), "seconds_runs": [round(r, 3) for r in runs],
           "select_seconds": round(t1 - t0, 2), "paths_shape": list(a16.shape),
           "cells_simulated": int(a16.size + band.size)}
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

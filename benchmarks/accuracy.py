"""Backtest accuracy of the cohort methods on the real bundled data (issue 3).

    python benchmarks/accuracy.py           # readable summary
    python benchmarks/accuracy.py --json    # one JSON object (percent values)

Rolling origins over the whole history (1999–2022: origins 2003–2021, horizons 1–10); every
forecast sees only data up to its origin; parameters are chosen at each origin from earlier
origins. The headline is the nested row 'best'. "entrants": the real-time backtest of
forecast.entrants (16-year-olds and 16–18-year-olds per municipality from the grade counts and
the cohort projection, origins 2012–2021, horizons 1–9, weights chosen nested) beside the
carry-forward and persistence yardsticks, per population lag. Needs `make data` first.
"""
from __future__ import annotations

import argparse
import sys
import time

from forecast.backtest import backtest_grade9, run_backtest, summarise
from forecast.data import load_cohort_history, load_table
from forecast.entrants import backtest_summary
from forecast.files import print_result
from forecast.regions import ADMISSION_REGION


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    hist = load_cohort_history()
    bt = run_backtest(hist)
    g9 = backtest_grade9(load_table("pupils_grundskola"), ADMISSION_REGION)
    out = summarise(hist, bt, g9)
    tables = {n: load_table(n) for n in ("pupils_kommun", "pupils_grundskola")}
    out["entrants"] = backtest_summary(tables, hist, bt)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print_result(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``forecast`` command: ingest, data, fetch scb (and later backtest, report).

Errors in the user's input (files, parameters) print one clear message and exit with code 2;
nothing is written in that case. Ctrl-C (SIGINT) prints one line and exits 130, SIGTERM exits
143; either way staging folders are removed and earlier output is left as it was.
"""
from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from .errors import ForecastError, Interrupted
from .paths import CONFIG_DIR, DEFAULT_SOURCES, PROCESSED_DIR, PROJECT_ROOT, RAW_DIR


def _cmd_ingest(args) -> int:
    from .ingest import run_ingest, summary_lines
    t0 = time.perf_counter()
    res = run_ingest(Path(args.sources), Path(args.out))
    print(f"ingest: {len(res.tables)} tables written to {args.out} in {time.perf_counter() - t0:.1f} s")
    for line in summary_lines(res):
        print("  " + line)
    return 0


def _cmd_data(args) -> int:
    from .data import build_processed
    t0 = time.perf_counter()
    result = build_processed(Path(args.raw), Path(args.out))
    for line in result.lines:
        print(line)
    print(f"data: {len(result.tables)} tables written to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0 if result.ok else 1


def _cmd_fetch(args) -> int:
    from . import regions, scb_api
    codes = args.regions or list(regions.ADMISSION_REGION)
    years = list(range(args.first_year, args.last_year + 1))
    files = scb_api.fetch_population(Path(args.sources), codes, years, base_url=args.base_url,
                                     pause=args.pause, timeout=args.timeout, progress=print)
    print(f"fetch scb: {len(files)} responses saved under {Path(args.sources) / 'scb' / 'pxweb'}; "
          "run `forecast ingest` to add them to data/raw")
    return 0


def _cmd_backtest(args) -> int:
    import json

    from .backtest import backtest_grade9, run_backtest, scorecard, summarise
    from .data import load_cohort_history, load_table
    from .regions import ADMISSION_REGION
    t0 = time.perf_counter()
    hist = load_cohort_history(Path(args.processed))
    bt = run_backtest(hist)
    out = summarise(hist, bt, backtest_grade9(load_table("pupils_grundskola", Path(args.processed)), ADMISSION_REGION))
    sc = scorecard(bt, "best", ADMISSION_REGION)
    print(f"backtest: origins {out['origins'][0]}–{out['origins'][1]}, {len(bt):,} forecasts "
          f"in {time.perf_counter() - t0:.1f} s; chosen at the latest origin: {out['chosen_at_latest_origin']} "
          f"(lowest mean MAPE over all origins, in-sample: {out['lowest_mean_mape_h1_5_in_sample']})")
    print("MAPE 16–18-year-olds, admission-region municipalities (%), by horizon:")
    for m, v in out["mape_16_18"].items():
        print(f"  {m:<15}" + "".join(f"  h{h}: {x:5.2f}" for h, x in v.items()))
    print("county (01):")
    for m, v in out["county_mape_16_18"].items():
        print(f"  {m:<15}" + "".join(f"  h{h}: {x:5.2f}" for h, x in v.items()))
    print(f"interval coverage (out of sample, design chosen nested): 80%: {out['coverage_80']}%, "
          f"95%: {out['coverage_95']}%")
    if args.out:
        from .files import format_csv, replace_dir_contents, staging_dir
        dest = Path(args.out)
        with staging_dir(dest) as tmp:
            (tmp / "backtest.csv").write_bytes(format_csv(bt))
            (tmp / "scorecard.csv").write_bytes(format_csv(sc))
            (tmp / "summary.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
            replace_dir_contents(tmp, dest)
        print(f"written to {dest}")
    return 0


def _cmd_report(args) -> int:
    from .reports import run_reports
    res = run_reports(Path(args.config), args.only, args.jobs, reports_dir=Path(args.reports_dir),
                      fresh_kernels=args.fresh_kernels)
    failed = [j for j in res.jobs if j.status != "ok"]
    print(f"report: {len(res.jobs) - len(failed)} of {len(res.jobs)} reports ok in "
          f"{res.manifest['total_seconds']:.1f} s -> {res.run_dir / 'index.html'}")
    if failed:
        print(f"report: FAILED: {', '.join(j.key for j in failed)}; {res.run_dir.parent / 'latest'} left unchanged",
              file=sys.stderr)
        return 1
    print(f"report: {res.run_dir.parent / 'latest'} -> {res.run_dir.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="forecast", description=(
        "gymnasieprognos: cohorts, search patterns and places for the Stockholm admission region."))
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="publisher files -> tidy validated extracts in data/raw/")
    s.add_argument("--sources", default=str(DEFAULT_SOURCES), help="folder with the publisher files (default: %(default)s)")
    s.add_argument("--out", default=str(RAW_DIR), help="target folder (default: %(default)s)")
    s.set_defaults(func=_cmd_ingest)

    s = sub.add_parser("data", help="data/raw/ -> validated Parquet tables in data/processed/, with control totals")
    s.add_argument("--raw", default=str(RAW_DIR), help="folder with the extracts (default: %(default)s)")
    s.add_argument("--out", default=str(PROCESSED_DIR), help="target folder (default: %(default)s)")
    s.set_defaults(func=_cmd_data)

    s = sub.add_parser("backtest", help="rolling-origin backtest of the cohort methods (accuracy, coverage, scorecard)")
    s.add_argument("--processed", default=str(PROCESSED_DIR), help="processed tables (default: %(default)s)")
    s.add_argument("--out", help="folder to write backtest.csv, scorecard.csv and summary.json into")
    s.set_defaults(func=_cmd_backtest)

    s = sub.add_parser("report", help="run every report notebook headlessly into reports/<run-id>/")
    s.add_argument("--config", default=str(CONFIG_DIR / "annual.yml"), help="run config (default: %(default)s)")
    s.add_argument("--only", nargs="+", metavar="KOD", help="only these municipalities' reports")
    s.add_argument("--jobs", type=int, help="parallel processes, 1–64 (default: number of cores, at least 2)")
    s.add_argument("--reports-dir", default=str(PROJECT_ROOT / "reports"),
                   help="where run folders and the latest link go (default: %(default)s)")
    s.add_argument("--fresh-kernels", action="store_true",
                   help="a new kernel for every notebook (default: each process reuses one kernel, reset between "
                        "notebooks; about 1.8 s faster per notebook)")
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("fetch", help="download data from a publisher API")
    fsub = s.add_subparsers(dest="publisher", required=True, metavar="PUBLISHER")
    f = fsub.add_parser("scb", help="SCB PxWebApi v2, TAB638: population by municipality × single age × sex × year")
    f.add_argument("--sources", default=str(DEFAULT_SOURCES), help="sources folder to save into (default: %(default)s)")
    f.add_argument("--first-year", type=int, default=1999)
    f.add_argument("--last-year", type=int, default=2024)
    f.add_argument("--regions", nargs="*", help="municipality codes (default: the admission region)")
    f.add_argument("--base-url", default="https://statistikdatabasen.scb.se/api/v2")
    f.add_argument("--pause", type=float, default=0.5, help="seconds between requests")
    f.add_argument("--timeout", type=float, default=600,
                   help="overall deadline in seconds for all requests and retries (default: %(default)s)")
    f.set_defaults(func=_cmd_fetch)
    return p


# What an interrupted command leaves as it was (printed in the one line after Ctrl-C).
UNTOUCHED = {"ingest": "data/raw untouched", "data": "data/processed untouched",
             "report": "previous run and reports/latest untouched", "backtest": "output folder untouched",
             "fetch": "responses saved so far kept, none half-written"}


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        return args.func(args)
    except ForecastError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted) as exc:
        signal.signal(signal.SIGINT, signal.SIG_IGN)      # a second Ctrl-C must not cut the clean-up line short
        how = "interrupted by the user" if isinstance(exc, KeyboardInterrupt) else "terminated (SIGTERM)"
        print(f"{args.command}: {how}; {UNTOUCHED.get(args.command, 'nothing written')}", file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 143
    except OSError as exc:
        from .files import is_disk_full
        if not is_disk_full(exc):
            raise
        import shutil
        where = Path(exc.filename).parent if exc.filename else Path.cwd()
        while not where.exists() and where != where.parent:
            where = where.parent
        print(f"error: disk full writing {exc.filename or where} ({shutil.disk_usage(where).free / 1e6:,.1f} MB "
              f"free); free some space and run again; earlier output left as it was", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())

"""The full annual report set: the suite's runner against the naive way (issue 5).

    python benchmarks/report_run.py [--json] [--config config/annual.yml]

suite: the `forecast report` command (validation, one forecast computation, parallel papermill
in warm IPC kernels, HTML rendering, index and manifest), timed end to end as a subprocess, as
a user runs it; also with `--fresh-kernels` (a new kernel per notebook), for comparison.
naive: the same notebooks with the same parameters and the same precomputed data folder, run
by a sequential shell loop of the `papermill` and `jupyter nbconvert --no-input --to html`
command-line tools, plus the time to compute that data folder once (sequentially).
Needs `make data` first. Writes into a temporary folder; reports/latest is not touched.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from forecast.reports import DEFAULT_CONFIG, NOTEBOOK_DIR, SHARED_PARAMS, load_config, plan_jobs
from forecast.rundata import build_run_data

BIN = Path(sys.executable).parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", default=str(DEFAULT_CONFIG))
    args = p.parse_args(argv)
    cfg = load_config(Path(args.config))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def suite_run(name, *extra):
            t0 = time.perf_counter()
            r = subprocess.run([str(BIN / "forecast"), "report", "--config", str(args.config), "--reports-dir",
                                str(tmp / name), *extra], capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if r.returncode != 0:
                print(f"suite ({name}) failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}", file=sys.stderr)
            manifest = json.loads((tmp / name / "latest" / "manifest.json").read_text(encoding="utf-8")) \
                if (tmp / name / "latest").exists() else {"reports": [], "data_seconds": None}
            return seconds, manifest, r.returncode

        suite, m, rc = suite_run("suite")
        fresh, m_fresh, rc_fresh = suite_run("fresh", "--fresh-kernels")

        t1 = time.perf_counter()
        shared = {k: cfg[k] for k in SHARED_PARAMS if k in cfg}
        data = tmp / "naive-data"
        build_run_data(data / "baseline", **shared)
        for s in cfg.get("scenarios", []):
            build_run_data(data / f"scenario_{Path(s).stem}", **shared, scenario_file=s, backtest=False)
        out = tmp / "naive"
        out.mkdir()
        failed = 0
        for j in plan_jobs(cfg):
            params = dict(j.parameters, data_dir=str(data / "baseline"))
            if j.key.startswith("scenario_"):
                params["scenario_data_dir"] = str(data / j.key)
            nb_out = out / f"{j.key}.ipynb"
            cmd = [str(BIN / "papermill"), str(j.notebook), str(nb_out), "--cwd", str(NOTEBOOK_DIR), "--no-progress-bar"]
            for k, v in params.items():
                cmd += ["-r" if isinstance(v, str) else "-p", k, str(v)]   # -r: "0136" stays a string
            r1 = subprocess.run(cmd, capture_output=True, text=True)
            r2 = subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb_out)],
                                capture_output=True, text=True)
            failed += int(r1.returncode != 0 or r2.returncode != 0)
            if r1.returncode != 0:
                print(f"naive: {j.key} failed: {r1.stderr[-300:]}", file=sys.stderr)
        naive = time.perf_counter() - t1
    n = len(plan_jobs(cfg))
    result = {"suite_seconds": round(suite, 1), "naive_seconds": round(naive, 1), "speedup": round(naive / suite, 2),
              "reports": n, "failed": n - sum(r["status"] == "ok" for r in m["reports"]) if rc == 0 else n,
              "naive_failed": failed, "suite_baseline_data_seconds": m["data_seconds"],
              "suite_fresh_kernels_seconds": round(fresh, 1),
              "fresh_failed": n - sum(r["status"] == "ok" for r in m_fresh["reports"]) if rc_fresh == 0 else n,
              "cores": os.cpu_count()}
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

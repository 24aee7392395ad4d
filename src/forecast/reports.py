"""``forecast report``: validate, compute once, execute every notebook in parallel, render, publish.

1. Validate the config (config/annual.yml) and every report's parameters against the
   notebook's declared parameters (papermill's inspection of the ``parameters`` cell) before
   anything runs: unknown or misspelt names, wrong types and unknown municipality codes fail.
2. Compute the run data once (forecast.rundata) into ``<run>/data``: the baseline chain, its
   cohort backtest, its tables and each scenario as tasks of one process pool (:func:`_run_pool`).
3. Execute the notebooks with papermill in the same pool, each as soon as its data exist; each
   process keeps one warm kernel (forecast.kernels) on IPC sockets (files unique to the
   kernel), so parallel kernels never race for TCP ports.
4. Render each to self-contained HTML without code, prompts or the parameters cells.
5. Write ``index.html`` and ``manifest.json``; point ``reports/latest`` at the run only when
   every report succeeded. A failed report keeps its executed notebook (with the traceback),
   is linked as failed, and the command exits non-zero.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import errno
import hashlib
import json
import multiprocessing as mp
import os
import platform
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import yaml

from .errors import DiskFullError, Interrupted, ParameterError
from .files import folder_size, is_disk_full, megabytes, signals_deferred
from .paths import PROCESSED_DIR, PROJECT_ROOT
from .projection import MAX_HORIZON
from .regions import ADMISSION_REGION

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "annual.yml"

CONFIG_KEYS = {
    "base_year": int, "origin": int, "horizon": int, "n_paths": int, "seed": int, "theta": float, "flag_probability": float,
    "migration_scenario": str, "scenarios": list, "municipalities": (str, list), "reports": list,
}
REPORT_NOTEBOOKS = {
    "region": "00_region.ipynb", "befolkning": "01_befolkning.ipynb", "sokmonster": "02_sokmonster.ipynb",
    "kapacitet": "03_kapacitet_och_risk.ipynb", "traffsakerhet": "04_traffsakerhet.ipynb",
    "kommun": "10_kommun.ipynb", "scenario": "20_scenario.ipynb",
}
TITLES = {"region": "Regional översikt", "befolkning": "Befolkning och kohorter", "sokmonster": "Sökmönster och flöden",
          "kapacitet": "Kapacitet och risk", "traffsakerhet": "Träffsäkerhet", "scenario": "Scenario"}
SHARED_PARAMS = ("base_year", "horizon", "n_paths", "seed", "theta", "flag_probability", "migration_scenario")
TYPE_NAMES = {"int": int, "float": (int, float), "str": str, "bool": bool}


@dataclass
class ReportJob:
    key: str                      # file stem in the run folder, e.g. kommun_0136
    title: str
    notebook: Path
    parameters: dict
    kommun: str | None = None
    status: str = "pending"
    seconds: float = 0.0
    error: str = ""
    kernel_reused: int = 0        # notebooks the (warm) kernel ran before this one; 0: a new kernel


@dataclass
class RunResult:
    run_dir: Path
    jobs: list[ReportJob]
    manifest: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(j.status == "ok" for j in self.jobs)


MAX_N_PATHS = 20_000     # paths × units × years are held in memory: 20,000 takes about 10 times the default's memory and time
MAX_SEED = 2**32 - 1     # numpy seeds are non-negative; a 32-bit range is plenty and fits every RNG
MAX_JOBS = 64
MIGRATION_SCENARIOS = ("low", "main", "high")


def read_config(path: Path) -> dict:
    """The config file as a mapping (nothing checked but its syntax); see :func:`validate_config`."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"config file {path} does not exist")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ParameterError(f"config file {path} is not UTF-8 (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(cfg, dict):
        raise ParameterError(f"config file {path}: expected a mapping of keys, got {type(cfg).__name__}")
    return cfg


def load_config(path: Path) -> dict:
    """Read and validate a config file (everything but the run's own options)."""
    cfg = read_config(path)
    validate_config(cfg, path)
    return cfg


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_config(cfg: dict, source="config", *, jobs_n: int | None = None, only: list[str] | None = None,
                    processed_dir: Path = PROCESSED_DIR) -> None:
    """Every check a run needs before any folder exists: keys, types, ranges, the report list,
    the municipalities, the scenario files, ``--jobs`` and ``--only``.

    Collects every problem and raises one :class:`ParameterError` with one line per problem,
    each naming the key and its allowed values."""
    problems: list[str] = []

    def bad(key: str, allowed: str, value=None, *, show=True) -> None:
        problems.append(f"{key}: {allowed}" + (f", got {value!r}" if show else ""))

    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        bad("unknown key(s) " + str(unknown), f"allowed: {sorted(CONFIG_KEYS)}", show=False)
    typed = {}
    for k, v in cfg.items():
        t = CONFIG_KEYS.get(k)
        if t is None:
            continue
        if t is float:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        else:
            ok = isinstance(v, t) and not (t is int and isinstance(v, bool))
        if ok:
            typed[k] = v
        else:
            want = {int: "a whole number", float: "a number", str: "text", list: "a list"}.get(t, "'all' or a list")
            bad(k, f"has the wrong type ({type(v).__name__}); expected {want}", v)
    if "horizon" in typed and not 1 <= typed["horizon"] <= MAX_HORIZON:
        bad("horizon", f"years ahead, a whole number from 1 to {MAX_HORIZON}", typed["horizon"])
    if "n_paths" in typed and not 1 <= typed["n_paths"] <= MAX_N_PATHS:
        bad("n_paths", f"simulated paths, a whole number from 1 to {MAX_N_PATHS:,} (memory and time grow with "
                       "it; 1,000 gives probabilities to about ±1.6 percentage points)", typed["n_paths"])
    if "seed" in typed and not 0 <= typed["seed"] <= MAX_SEED:
        bad("seed", f"a whole number from 0 to {MAX_SEED}", typed["seed"])
    for k in ("theta", "flag_probability"):
        if k in typed and not 0 < typed[k] < 1:
            bad(k, "a number strictly between 0 and 1", typed[k])
    if "migration_scenario" in typed and typed["migration_scenario"] not in MIGRATION_SCENARIOS:
        bad("migration_scenario", f"one of {', '.join(MIGRATION_SCENARIOS)}", typed["migration_scenario"])
    if "reports" in typed:
        r = typed["reports"]
        if not r:
            bad("reports", f"an empty list runs nothing; list at least one of {', '.join(REPORT_NOTEBOOKS)}",
                show=False)
        unknown_r = [x for x in r if x not in REPORT_NOTEBOOKS]
        if unknown_r:
            bad("reports", f"unknown report(s) {unknown_r}; allowed: {', '.join(REPORT_NOTEBOOKS)}", show=False)
    if "municipalities" in cfg:
        m = cfg["municipalities"]
        if isinstance(m, list):
            if not m:
                bad("municipalities", "'all' or a non-empty list of codes, e.g. [\"0136\", \"0180\"]", m)
            wrong = [c for c in m if not isinstance(c, str) or c not in ADMISSION_REGION]
            if wrong:
                bad("municipalities", f"{wrong} not in the admission region (write codes as quoted 4-character "
                                      "strings); valid codes: " + ", ".join(sorted(ADMISSION_REGION)), show=False)
        elif m != "all":
            bad("municipalities", "'all' or a list of codes, e.g. [\"0136\", \"0180\"]", m)
    if "scenarios" in typed:
        for s in typed["scenarios"]:
            if not isinstance(s, str):
                bad("scenarios", "a list of scenario file paths (text)", s)
            elif not (PROJECT_ROOT / s).is_file() and not Path(s).is_file():
                bad("scenarios", f"scenario file {s} does not exist", show=False)
    if jobs_n is not None and not (_whole(jobs_n) and 1 <= jobs_n <= MAX_JOBS):
        bad("--jobs", f"parallel processes, a whole number from 1 to {MAX_JOBS}", jobs_n)
    if only is not None:
        wrong = [c for c in only if not isinstance(c, str) or c not in ADMISSION_REGION]
        if wrong:
            bad("--only", f"{wrong} not in the admission region; valid codes: " + ", ".join(sorted(ADMISSION_REGION)),
                show=False)
    if typed.get("base_year"):           # 0 or absent: the latest population year up to the origin
        msg = _base_year_problem(typed["base_year"], typed.get("horizon", 10), processed_dir)
        if msg:
            bad("base_year", msg, typed["base_year"])
    if "origin" in typed:
        msg = _origin_problem(typed["origin"], processed_dir)
        if msg:
            bad("origin", msg, typed["origin"])
    if problems:
        head = f"config file {source}" if source else "config"
        if len(problems) == 1:
            raise ParameterError(f"{head}: {problems[0]}")
        raise ParameterError(f"{head}: {len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


def _origin_problem(origin, processed_dir: Path) -> str | None:
    """The admission years forecasts can start from (None when ``origin`` is one of them)."""
    from .chain import resolve_origin
    from .data import load_table
    try:
        resolve_origin({"admissions": load_table("admissions", processed_dir)}, origin)
    except ParameterError as exc:
        return str(exc)
    return None


def _base_year_problem(base_year: int, horizon: int, processed_dir: Path) -> str | None:
    """The years the processed data allow as the last observed year (None when ``base_year`` is
    one of them): the cohort history needs two years before it, the capacity chain the
    admission year after it."""
    from .data import load_table
    years = load_table("cohort_history", processed_dir).year
    adm = load_table("admissions", processed_dir).year
    lo, hi = max(int(years.min()) + 2, int(adm.min()) - 1), int(years.max())
    if not lo <= base_year <= hi:
        return f"the last observed population year, from {lo} to {hi} (the data in {processed_dir})"
    return None


def _check_codes(codes, where: str) -> None:
    bad = [c for c in codes if not isinstance(c, str) or c not in ADMISSION_REGION]
    if bad:
        raise ParameterError(f"{where}: {bad} not in the admission region; valid codes: "
                             + ", ".join(sorted(ADMISSION_REGION)))


def plan_jobs(cfg: dict, only: list[str] | None = None) -> list[ReportJob]:
    shared = {k: cfg[k] for k in SHARED_PARAMS if k in cfg}
    munis = sorted(ADMISSION_REGION) if cfg.get("municipalities", "all") == "all" else list(cfg["municipalities"])
    if only:
        _check_codes(only, "--only")
        munis = [c for c in munis if c in only] or list(only)
    reports = cfg.get("reports", list(REPORT_NOTEBOOKS))
    jobs = []
    for r in reports:
        nb = NOTEBOOK_DIR / REPORT_NOTEBOOKS[r]
        if r == "kommun":
            for c in munis:
                jobs.append(ReportJob(f"kommun_{c}", c, nb, {**shared, "kommun": c}, kommun=c))
        elif r == "scenario" and not only:
            for s in cfg.get("scenarios", []):
                stem = Path(s).stem
                jobs.append(ReportJob(f"scenario_{stem}", f"{TITLES[r]}: {stem}", nb,
                                      {**shared, "scenario_file": s}))
        elif not only:
            jobs.append(ReportJob(r, TITLES[r], nb, dict(shared)))
    return jobs


def validate_jobs(jobs: list[ReportJob]) -> None:
    """Every job's parameters exist in its notebook, with the declared type; before any kernel starts."""
    _skip_slow_optional_imports()
    import papermill as pm
    declared_cache: dict = {}
    for j in jobs:
        if not j.notebook.is_file():
            raise ParameterError(f"report {j.key}: notebook {j.notebook} does not exist")
        if j.notebook not in declared_cache:
            try:
                declared_cache[j.notebook] = pm.inspect_notebook(str(j.notebook))
            except Exception as exc:     # not JSON, not a notebook, unreadable
                raise ParameterError(f"report {j.key}: {j.notebook} is not a readable notebook "
                                     f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
                                     "restore it from git") from None
        declared = declared_cache[j.notebook]
        for name, value in j.parameters.items():
            if name in ("data_dir", "scenario_data_dir"):
                continue
            if name not in declared:
                raise ParameterError(f"report {j.key}: notebook {j.notebook.name} has no parameter {name!r}; "
                                     f"declared: {', '.join(sorted(declared))}")
            t = TYPE_NAMES.get(declared[name]["inferred_type_name"])
            if t and (not isinstance(value, t) or (t is not bool and isinstance(value, bool))):
                raise ParameterError(f"report {j.key}: parameter {name!r} must be "
                                     f"{declared[name]['inferred_type_name']}, got {type(value).__name__} {value!r}")
        if "kommun" in j.parameters:
            _check_codes([j.parameters["kommun"]], f"report {j.key}: kommun")


def _validate_scenarios(cfg: dict, jobs: list[ReportJob]) -> None:
    """Scenario files are read and checked against the run's years before anything is computed."""
    scenario_jobs = [j for j in jobs if "scenario_file" in j.parameters]
    if not scenario_jobs:
        return
    from .chain import load_scenario
    from .data import load_table
    tables = {n: load_table(n) for n in ("municipalities", "gymnasium_units", "region_boundaries", "cohort_history")}
    from .chain import resolve_origin
    tables["admissions"] = load_table("admissions")
    origin, _ = resolve_origin(tables, cfg.get("origin"))
    for j in scenario_jobs:
        sc = load_scenario(j.parameters["scenario_file"], tables, origin, cfg.get("horizon", 10))
        j.title = f"{TITLES['scenario']}: {sc.name}"      # the index lists it by its own name


def _validate_places(cfg: dict) -> int:
    """Announced or decided places (config/places/*.csv) are checked before anything is computed;
    returns how many rows there are."""
    from .chain import TABLES, load_places, resolve_origin
    from .data import load_table
    folder = PROJECT_ROOT / "config" / "places"
    if not any(folder.glob("*.csv")):
        return 0
    tables = {n: load_table(n) for n in TABLES}
    origin, _ = resolve_origin(tables, cfg.get("origin"))
    return len(load_places(tables, origin))


def _execute(job_dict: dict) -> dict:
    """Run one notebook and render it (in a worker process): in the worker's warm kernel
    (forecast.kernels) unless ``fresh_kernel`` asks for a new kernel of its own."""
    _skip_slow_optional_imports()
    import nbformat
    import papermill as pm

    from . import kernels

    t0 = time.perf_counter()
    out_nb = Path(job_dict["out_nb"])
    status, error, reused, disk_full = "ok", "", 0, False
    run = dict(kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOK_DIR), start_timeout=120)
    try:
        if job_dict.get("fresh_kernel"):
            run["kernel_manager_class"] = kernels.ipc_kernel_manager_class()
        else:
            wk = kernels.warm_kernel(str(NOTEBOOK_DIR))
            wk.ready()
            reused, wk.output_path = wk.notebooks_run, str(out_nb)
            run.update(engine_name=kernels.register_engine(), request_save_on_cell_execute=False)
        nb = pm.execute_notebook(job_dict["notebook"], str(out_nb), parameters=job_dict["parameters"], **run)
    except pm.PapermillExecutionError as exc:
        status, error, nb = "failed", f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}", None
    except Exception as exc:  # a dead kernel, a timeout: keep going with the other reports
        status, error, nb = "failed", f"{_running_cell(out_nb)}{type(exc).__name__}: {exc}", None
        disk_full = is_disk_full(exc) or is_disk_full(exc.__cause__ or exc.__context__ or exc)
    if not disk_full and (nb is not None or out_nb.is_file()):   # a failed run renders what its kept notebook holds
        try:
            nb = nb if nb is not None else nbformat.read(out_nb, as_version=4)
            xlsx = _write_xlsx(nb, job_dict)
            Path(job_dict["out_html"]).write_text(render_html(nb, job_dict["title"], xlsx), encoding="utf-8")
        except Exception as exc:
            status, error = "failed", error or f"rendering failed: {exc}"
            disk_full = is_disk_full(exc)
    return {"key": job_dict["key"], "status": status, "error": error, "seconds": time.perf_counter() - t0,
            "kernel_reused": reused, "disk_full": disk_full}


def _running_cell(out_nb: Path) -> str:
    """'cell N (first line): ' for the last cell papermill started before the kernel died, numbered
    as in the kept executed notebook (which includes the injected-parameters cell)."""
    import nbformat
    try:
        nb = nbformat.read(out_nb, as_version=4)
    except Exception:
        return ""
    started = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return ""
    c = nb.cells[started[-1]]
    return f"cell {started[-1] + 1} ({c.source.splitlines()[0][:60] if c.source else ''}): "


def render_html(nb, title: str, xlsx: str | None = None) -> str:
    """Self-contained HTML: no code, no prompts, no parameters cells; images are embedded with
    Swedish alt text; screen and A4 print style; ``xlsx`` linked (see forecast.report.page)."""
    from .report.page import render_report_html
    return render_report_html(nb, title, xlsx)


def _write_xlsx(nb, job_dict: dict) -> str | None:
    """The report's tables as ``<key>.xlsx`` beside its HTML (forecast.report.excel); its name."""
    from .report.excel import write_report_workbook
    path = write_report_workbook(nb, Path(job_dict["out_html"]).with_suffix(".xlsx"), job_dict["title"])
    return path.name if path else None


def _checksums() -> dict:
    out = {}
    for p in sorted(PROCESSED_DIR.glob("*.parquet")) + sorted((PROJECT_ROOT / "data" / "raw").glob("*.csv")):
        out[str(p.relative_to(PROJECT_ROOT))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict:
    names = ("pandas", "numpy", "scipy", "statsmodels", "geopandas", "shapely", "pyproj", "matplotlib",
             "papermill", "nbconvert", "pyarrow")
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def _skip_slow_optional_imports() -> None:
    """nbformat imports jsonschema, which imports the optional ``rfc3987_syntax`` when installed
    (JupyterLab's jupyter-events asks for it) and compiles its grammar at import: 1.3 s in every
    process. Notebook validation never checks IRI formats, and jsonschema skips the optional
    import cleanly when it is absent; so the report processes mark it absent."""
    import sys
    sys.modules.setdefault("rfc3987_syntax", None)


def _data_task(args: dict) -> str:
    """One step of the run's data (in a worker process); see :func:`_run_pool` for the order."""
    import pickle

    from . import chain as chain_mod
    from . import rundata
    stage, out = args["stage"], Path(args["out"])
    risk_args = {k: args[k] for k in ("n_paths", "seed", "theta", "flag_probability", "migration_scenario")
                 if k in args}
    if stage == "chain":          # the baseline chain, handed to the next steps as a pickle
        ch = chain_mod.build_chain(args.get("base_year") or None, args.get("horizon", 10),
                                   scenario=args.get("migration_scenario", "main"), origin=args.get("origin"))
        with open(args["pickle"], "wb") as f:
            pickle.dump(ch, f, protocol=pickle.HIGHEST_PROTOCOL)
    elif stage == "backtest":     # the cohort backtest needs only the history
        from .data import load_table
        from .projection import CohortHistory
        from .chain import resolve_origin
        from .intake import INPUT_TABLES, cut_tables
        tables = {n: load_table(n) for n in INPUT_TABLES}
        origin, _ = resolve_origin(tables, args.get("origin"))
        hist = CohortHistory.from_frame(load_table("cohort_history"))
        last_pop = max(int(y) for y in hist.years if y <= origin) if min(hist.years) <= origin else int(hist.years[-1])
        rundata.write_cohort_backtest(out, hist, args.get("base_year") or last_pop)
        # the intake track record, real time at the run's origin (nothing after it is read)
        rundata.write_intake_track_record(out, cut_tables(tables, origin))
    else:
        with open(args["pickle"], "rb") as f:
            ch = pickle.load(f)
        if stage == "scenario":
            ch = chain_mod.with_scenario(ch, args["scenario_file"])
            rundata.write_cohort_backtest(out, None, None)
            rundata.write_intake_track_record(out, None)
        rundata.write_chain_tables(out, ch, scenario_file=args.get("scenario_file"), **risk_args)
    return stage


def _run_pool(jobs_n: int, shared: dict, data_dir: Path, scenario_keys: dict, payloads: dict, report_done,
              progress, t0: float) -> float:
    """Data and notebooks in one process pool, each task started as soon as its inputs exist:

    ``chain`` (baseline chain) and ``backtest`` (cohort backtest) first, in parallel; after the
    chain, the baseline's ``tables`` (risk, flows) and each ``scenario`` (the baseline chain with
    the scenario applied); the notebooks once the baseline is complete, a scenario's notebook once
    its data are too. A failing data step fails the run (there is nothing to report on).
    Returns the seconds until the baseline data were ready."""
    ctx = mp.get_context("spawn")
    pickle_path = data_dir / "baseline-chain.pickle"
    data_dir.mkdir(parents=True, exist_ok=True)
    common = dict(shared, pickle=str(pickle_path))
    pool = cf.ProcessPoolExecutor(max_workers=jobs_n, mp_context=ctx, initializer=_worker_init)
    running: dict = {}
    done: set = set()
    waiting = set(scenario_keys)          # scenario notebooks not yet submitted
    t_data = None

    def submit(name, fn, arg):
        running[pool.submit(fn, arg)] = name

    try:
        submit("chain", _data_task, dict(common, stage="chain", out=str(data_dir / "baseline")))
        submit("backtest", _data_task, dict(common, stage="backtest", out=str(data_dir / "baseline")))
        while running:
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for f in finished:
                name = running.pop(f)
                if name.startswith("report:"):
                    report_done(f.result())
                    continue
                f.result()                      # a data step that failed raises here
                done.add(name)
                if name == "chain":
                    submit("tables", _data_task, dict(common, stage="tables", out=str(data_dir / "baseline")))
                    for key, file in scenario_keys.items():
                        submit(key, _data_task, dict(common, stage="scenario", out=str(data_dir / key),
                                                     scenario_file=file))
            if t_data is None and {"tables", "backtest"} <= done:
                t_data = time.perf_counter() - t0
                progress(f"report: baseline data ready in {t_data:.1f} s; executing {len(payloads)} notebooks "
                         f"with {jobs_n} processes")
                for key, p in payloads.items():
                    if key not in scenario_keys:
                        submit(f"report:{key}", _execute, p)
            if t_data is not None:
                for key in sorted(waiting & done):
                    waiting.discard(key)
                    submit(f"report:{key}", _execute, payloads[key])
    except (KeyboardInterrupt, Interrupted, SystemExit):
        _stop_pool(pool)          # Ctrl-C or SIGTERM: stop now, do not wait for running notebooks
        raise
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pickle_path.unlink(missing_ok=True)
    pool.shutdown(wait=True)
    return t_data or 0.0


def _worker_init() -> None:
    """In each worker: Ctrl-C in a terminal reaches the whole process group; only the main
    process acts on it (it stops the workers), so the workers print no tracebacks of their own."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Terminate the workers (their kernels notice the parent is gone and exit within a second)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.terminate()
        except Exception:
            pass
    for p in procs:
        p.join(10)


def run_reports(config: Path = DEFAULT_CONFIG, only: list[str] | None = None, jobs_n: int | None = None,
                reports_dir: Path = REPORTS_DIR, progress=print, overrides: dict | None = None,
                fresh_kernels: bool = False) -> RunResult:
    """Validate everything, then build the run in a hidden staging folder next to its final place
    (``reports/.staging-<run-id>``) and rename it to ``reports/<run-id>`` only when it is complete.
    A run whose reports failed is still renamed and kept (marked failed; ``latest`` unchanged);
    an error, Ctrl-C or SIGTERM removes the staging folder and leaves no run folder."""
    cfg = read_config(config)
    if overrides:
        cfg |= overrides
    validate_config(cfg, config, jobs_n=jobs_n, only=only)
    jobs = plan_jobs(cfg, only)
    if not jobs:
        raise ParameterError(f"config file {config}: nothing to run (reports {cfg.get('reports')}, "
                             f"scenarios {cfg.get('scenarios', [])}, --only {only})")
    validate_jobs(jobs)
    _validate_scenarios(cfg, jobs)
    announced_n = _validate_places(cfg)
    reports_dir = Path(reports_dir)
    _check_reports_dir(reports_dir, len(jobs))
    run_id = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S") + "-" + secrets.token_hex(2)
    run_dir = reports_dir / run_id
    staging = reports_dir / f".staging-{run_id}"
    try:
        result = _run_in(staging, run_id, config, cfg, only, jobs, jobs_n, progress, fresh_kernels, announced_n)
        with signals_deferred():
            os.rename(staging, run_dir)
            result.run_dir = run_dir
            if result.ok:
                _point_latest(reports_dir, run_dir)
    except BaseException as exc:
        with signals_deferred():
            shutil.rmtree(staging, ignore_errors=True)
        if is_disk_full(exc):
            raise _disk_full(reports_dir, len(jobs), exc) from None
        raise
    return result


def _run_in(staging: Path, run_id: str, config, cfg: dict, only, jobs: list[ReportJob], jobs_n: int | None,
            progress, fresh_kernels: bool, announced_n: int = 0) -> RunResult:
    """The run itself, written into ``staging``."""
    (staging / "notebooks").mkdir(parents=True)
    data_dir = staging / "data"
    jobs_n = jobs_n or max(2, os.cpu_count() or 2)
    t0 = time.perf_counter()
    shared = {k: cfg[k] for k in SHARED_PARAMS if k in cfg}
    scenario_keys = {j.key: j.parameters["scenario_file"] for j in jobs if j.key.startswith("scenario_")}
    progress(f"report: run {run_id}: computing the forecast once (baseline"
             + (f" and {len(scenario_keys)} scenario(s))" if scenario_keys else ")"))
    from .chain import resolve_origin
    from .data import load_table
    origin, notes = resolve_origin({n: load_table(n) for n in ("admissions", "pupils_kommun")}, cfg.get("origin"))
    if announced_n:
        progress(f"report: {announced_n} announced or decided place figure(s) from config/places/ (baseline input)")
    progress(f"report: forecasts start after admission year {origin}; earlier years are shown as observed")
    for note in notes:          # a sibling file missing: say what is missing and what the run does
        progress(f"report: note: {note}")
    # One BLAS thread per process: the pool already fills the cores, and oversubscribed BLAS
    # threads made the data phase 60% slower on 2 cores. Spawned workers read these at import.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    payloads = {}
    for j in jobs:
        params = dict(j.parameters, data_dir=str(data_dir / "baseline"))
        if j.key in scenario_keys:
            params["scenario_data_dir"] = str(data_dir / j.key)
        payloads[j.key] = {"key": j.key, "title": j.title, "notebook": str(j.notebook), "parameters": params,
                           "out_nb": str(staging / "notebooks" / f"{j.key}.ipynb"),
                           "out_html": str(staging / f"{j.key}.html"), "fresh_kernel": fresh_kernels}
    by_key = {j.key: j for j in jobs}
    done_n = 0

    def report_done(r: dict) -> None:
        nonlocal done_n
        done_n += 1
        j = by_key[r["key"]]
        j.status, j.error, j.seconds, j.kernel_reused = r["status"], r["error"], r["seconds"], r["kernel_reused"]
        if r.get("disk_full"):       # not the report's fault: the whole run stops
            raise OSError(errno.ENOSPC, f"no space left on the device ({j.key}: {j.error})", payloads[j.key]["out_nb"])
        progress(f"  [{done_n}/{len(jobs)}] {j.key}: {j.status} ({j.seconds:.1f} s){' — ' + j.error if j.error else ''}")

    data_args = dict(shared, **({"origin": cfg["origin"]} if "origin" in cfg else {}))
    t_data = _run_pool(jobs_n, data_args, data_dir, scenario_keys, payloads, report_done, progress, t0)
    result = RunResult(staging, jobs)
    result.manifest = {
        "run_id": run_id, "created": dt.datetime.now().isoformat(timespec="seconds"), "config_file": str(config),
        "config": cfg, "only": only, "git_commit": _git_commit(), "input_checksums": _checksums(),
        "package_versions": _versions(), "data_seconds": round(t_data, 2),
        "kernels": "fresh" if fresh_kernels else "warm",
        "total_seconds": round(time.perf_counter() - t0, 2),
        "reports": [{"key": j.key, "title": j.title, "notebook": j.notebook.name, "status": j.status,
                     "seconds": round(j.seconds, 2), "error": j.error, "kernel_reused": j.kernel_reused,
                     "html": f"{j.key}.html",
                     "xlsx": f"{j.key}.xlsx" if (staging / f"{j.key}.xlsx").is_file() else None,
                     "executed_notebook": f"notebooks/{j.key}.ipynb"} for j in jobs],
    }
    (staging / "manifest.json").write_text(json.dumps(result.manifest, ensure_ascii=False, indent=1, default=str),
                                           encoding="utf-8")
    (staging / "index.html").write_text(render_index(result, data_dir / "baseline"), encoding="utf-8")
    from .report.docs import write_docs
    write_docs(staging)                    # docs/*.html: the reports' links work from the run folder
    return result


# Space a run needs when no earlier run shows it: the run data (1.5 MB measured) and each report's
# HTML and executed notebook with embedded figures (about 0.5 MB measured), with a margin.
RUN_BASE_BYTES = 5e6
REPORT_BYTES = 1e6


def _space_needed(reports_dir: Path, n_reports: int) -> float:
    latest = reports_dir / "latest"
    last = folder_size(latest.resolve()) * 1.1 if latest.is_symlink() and latest.is_dir() else 0
    return max(last, RUN_BASE_BYTES + REPORT_BYTES * n_reports)


def _disk_full(reports_dir: Path, n_reports: int, exc: OSError) -> DiskFullError:
    try:
        free = shutil.disk_usage(reports_dir).free
    except OSError:
        free = 0
    return DiskFullError(f"disk full while writing the run into {reports_dir} ({exc.strerror or exc}); "
                         f"{megabytes(free)} free, a run of {n_reports} reports needs about "
                         f"{megabytes(_space_needed(reports_dir, n_reports))}; nothing was kept and "
                         f"{reports_dir / 'latest'} is unchanged")


def _check_reports_dir(reports_dir: Path, n_reports: int) -> None:
    """Before anything runs: ``latest`` is our link (or absent), the folder is writable and has room."""
    latest = reports_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        kind = "folder" if latest.is_dir() else "file"
        raise ParameterError(f"{latest} is a {kind}, not the link `forecast report` keeps there; it is never "
                             f"deleted: move or rename it (e.g. {reports_dir / 'my-copy'}) and run again")
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        probe = reports_dir / f".write-test-{secrets.token_hex(4)}"
        probe.write_text("x")
        probe.unlink()
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(reports_dir, n_reports, exc) from None
        raise ParameterError(f"reports folder {reports_dir} is not writable: {exc}") from None
    need, free = _space_needed(reports_dir, n_reports), shutil.disk_usage(reports_dir).free
    if free < need:
        raise DiskFullError(f"not enough free space in {reports_dir}: {megabytes(free)} free, a run of "
                            f"{n_reports} reports needs about {megabytes(need)}; nothing was started")


def _point_latest(reports_dir: Path, run_dir: Path) -> None:
    """Atomically repoint reports/latest (a relative symlink) at ``run_dir``; never replaces a
    real file or folder a user put there meanwhile."""
    latest = reports_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        raise ParameterError(f"{latest} became a real {'folder' if latest.is_dir() else 'file'} during the run; "
                             f"left as it is; the run is kept in {run_dir}")
    tmp = reports_dir / f".latest-{secrets.token_hex(4)}"
    os.symlink(run_dir.name, tmp)
    try:
        os.replace(tmp, latest)
    finally:
        if tmp.is_symlink():
            tmp.unlink()


def render_index(result: RunResult, data_dir: Path) -> str:
    """index.html: every report, with each municipality's key figures and risk badges."""
    figures = {}
    try:
        from .rundata import load_run_data
        rd = load_run_data(data_dir)
        y5 = rd.meta["years"][min(4, len(rd.meta["years"]) - 1)]
        base = rd.history16_18[rd.history16_18.year == rd.meta["base_year"]].set_index("kommun_kod").population
        a = rd.ages[(rd.ages.measure == "age16_18") & (rd.ages.year == y5)].set_index("area")
        u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").kommun_kod
        r = rd.risk[(rd.risk.year == y5)]
        for c in sorted(ADMISSION_REGION):
            units = r[(r.level == "enhet") & (r.area.map(u) == c)]
            muni = r[(r.level == "kommun") & (r.area == c)]
            figures[c] = {"name": rd.name(c), "now": base.get(c), "y5": a.population.get(c),
                          "over": int(units.flag_overcapacity.sum()), "short": int(units.flag_shortage.sum()),
                          "util": (muni.placed.sum() / muni.places.sum()) if muni.places.sum() > 0 else None}
        year5 = y5
        pop_year, origin = rd.meta.get("base_year"), rd.meta.get("origin")
    except Exception:  # the index must still list the reports when the data failed
        year5 = pop_year = origin = None
    from .plots import fmt, pct
    rows = []
    for j in result.jobs:
        f = figures.get(j.kommun or "", {})
        rows.append({
            "name": f.get("name", j.title) if j.kommun else j.title,
            "html": f"{j.key}.html" if (result.run_dir / f"{j.key}.html").is_file() else None,
            "xlsx": f"{j.key}.xlsx" if (result.run_dir / f"{j.key}.xlsx").is_file() else None,
            "figures": {"now": fmt(f["now"]), "y5": fmt(f["y5"]), "over": f["over"], "short": f["short"],
                        "util": pct(f["util"]) if f["util"] is not None else "–"} if f else None,
            "ok": j.status == "ok", "notebook": f"notebooks/{j.key}.ipynb", "error": j.error,
            "seconds": fmt(j.seconds, 1)})
    m = result.manifest
    return _template("index.html.j2").render(
        run_id=m.get("run_id", ""), created=m.get("created", ""), git_commit=m.get("git_commit", "")[:10],
        base_year=pop_year or "", origin=origin or "", year5=year5 or "", rows=rows,
        n_ok=sum(j.status == "ok" for j in result.jobs))


_JINJA = None


def _template(name: str):
    """A template of forecast/templates/, autoescaped: values are text, never markup."""
    global _JINJA
    if _JINJA is None:
        import jinja2
        _JINJA = jinja2.Environment(loader=jinja2.PackageLoader("forecast", "templates"),
                                    autoescape=True, undefined=jinja2.StrictUndefined,
                                    keep_trailing_newline=True)
    return _JINJA.get_template(name)

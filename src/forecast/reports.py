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
import hashlib
import html
import json
import multiprocessing as mp
import os
import platform
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import yaml

from .errors import ParameterError
from .paths import PROCESSED_DIR, PROJECT_ROOT
from .regions import ADMISSION_REGION

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "annual.yml"

CONFIG_KEYS = {
    "base_year": int, "horizon": int, "n_paths": int, "seed": int, "theta": float, "flag_probability": float,
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


def load_config(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"config file {path} does not exist")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(cfg, dict):
        raise ParameterError(f"config file {path}: expected a mapping of keys")
    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        raise ParameterError(f"config file {path}: unknown key(s) {unknown}; allowed: {sorted(CONFIG_KEYS)}")
    for k, v in cfg.items():
        t = CONFIG_KEYS[k]
        ok = isinstance(v, t) and not (t in (int, float) and isinstance(v, bool))
        if t is float:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            raise ParameterError(f"config file {path}: {k} has the wrong type ({type(v).__name__}: {v!r})")
    for k in ("theta", "flag_probability"):
        if k in cfg and not 0 < cfg[k] < 1:
            raise ParameterError(f"config file {path}: {k} must be strictly between 0 and 1, got {cfg[k]}")
    if cfg.get("migration_scenario", "main") not in ("low", "main", "high"):
        raise ParameterError(f"config file {path}: migration_scenario must be low, main or high")
    bad = sorted(set(cfg.get("reports", [])) - set(REPORT_NOTEBOOKS))
    if bad:
        raise ParameterError(f"config file {path}: unknown report(s) {bad}; allowed: {sorted(REPORT_NOTEBOOKS)}")
    munis = cfg.get("municipalities", "all")
    if munis != "all":
        if not isinstance(munis, list):
            raise ParameterError(f"config file {path}: municipalities must be 'all' or a list of codes")
        _check_codes(munis, f"config file {path}: municipalities")
    for s in cfg.get("scenarios", []):
        if not (PROJECT_ROOT / s).is_file() and not Path(s).is_file():
            raise ParameterError(f"config file {path}: scenario file {s} does not exist")
    return cfg


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
            declared_cache[j.notebook] = pm.inspect_notebook(str(j.notebook))
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
    base = cfg.get("base_year") or int(tables["cohort_history"].year.max())
    for j in scenario_jobs:
        sc = load_scenario(j.parameters["scenario_file"], tables, base, cfg.get("horizon", 10))
        j.title = f"{TITLES['scenario']}: {sc.name}"      # the index lists it by its own name


def _execute(job_dict: dict) -> dict:
    """Run one notebook and render it (in a worker process): in the worker's warm kernel
    (forecast.kernels) unless ``fresh_kernel`` asks for a new kernel of its own."""
    _skip_slow_optional_imports()
    import nbformat
    import papermill as pm

    from . import kernels

    t0 = time.perf_counter()
    out_nb = Path(job_dict["out_nb"])
    status, error, reused = "ok", "", 0
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
    if nb is not None or out_nb.is_file():   # a failed run renders what its kept notebook holds
        try:
            nb = nb if nb is not None else nbformat.read(out_nb, as_version=4)
            Path(job_dict["out_html"]).write_text(render_html(nb, job_dict["title"]), encoding="utf-8")
        except Exception as exc:
            status, error = "failed", error or f"rendering failed: {exc}"
    return {"key": job_dict["key"], "status": status, "error": error, "seconds": time.perf_counter() - t0,
            "kernel_reused": reused}


_EXPORTER = None


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


def render_html(nb, title: str) -> str:
    """Self-contained HTML: no code, no prompts, no parameters cells; images are embedded."""
    global _EXPORTER
    from nbconvert import HTMLExporter
    nb = nb.copy()
    nb.cells = [c for c in nb.cells
                if not {"parameters", "injected-parameters"} & set(c.get("metadata", {}).get("tags", []))]
    if _EXPORTER is None:   # one per worker process: building the template costs 0.4 s
        _EXPORTER = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                                 exclude_output_prompt=True, embed_images=True)
    nb.metadata["title"] = title
    body, _ = _EXPORTER.from_notebook_node(nb)
    return body.replace('<html>', '<html lang="sv">', 1)


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
        ch = chain_mod.build_chain(args.get("base_year"), args.get("horizon", 10),
                                   scenario=args.get("migration_scenario", "main"))
        with open(args["pickle"], "wb") as f:
            pickle.dump(ch, f, protocol=pickle.HIGHEST_PROTOCOL)
    elif stage == "backtest":     # the cohort backtest needs only the history
        from .data import load_table
        from .projection import CohortHistory
        hist = CohortHistory.from_frame(load_table("cohort_history"))
        rundata.write_cohort_backtest(out, hist, args.get("base_year") or int(hist.years[-1]))
    else:
        with open(args["pickle"], "rb") as f:
            ch = pickle.load(f)
        if stage == "scenario":
            ch = chain_mod.with_scenario(ch, args["scenario_file"])
            rundata.write_cohort_backtest(out, None, None)
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
    pool = cf.ProcessPoolExecutor(max_workers=jobs_n, mp_context=ctx)
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
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pickle_path.unlink(missing_ok=True)
    pool.shutdown(wait=True)
    return t_data or 0.0


def run_reports(config: Path = DEFAULT_CONFIG, only: list[str] | None = None, jobs_n: int | None = None,
                reports_dir: Path = REPORTS_DIR, progress=print, overrides: dict | None = None,
                fresh_kernels: bool = False) -> RunResult:
    cfg = load_config(config)
    if overrides:
        cfg |= overrides
    jobs = plan_jobs(cfg, only)
    validate_jobs(jobs)
    _validate_scenarios(cfg, jobs)
    reports_dir = Path(reports_dir)
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        probe = reports_dir / f".write-test-{secrets.token_hex(4)}"
        probe.write_text("x")
        probe.unlink()
    except OSError as exc:
        raise ParameterError(f"reports folder {reports_dir} is not writable: {exc}") from None
    run_id = dt.datetime.now().strftime("%Y-%m-%dT%H-%M-%S") + "-" + secrets.token_hex(2)
    run_dir = reports_dir / run_id
    (run_dir / "notebooks").mkdir(parents=True)
    data_dir = run_dir / "data"
    jobs_n = jobs_n or max(2, os.cpu_count() or 2)
    t0 = time.perf_counter()
    shared = {k: cfg[k] for k in SHARED_PARAMS if k in cfg}
    scenario_keys = {j.key: j.parameters["scenario_file"] for j in jobs if j.key.startswith("scenario_")}
    progress(f"report: run {run_id}: computing the forecast once (baseline"
             + (f" and {len(scenario_keys)} scenario(s))" if scenario_keys else ")"))
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
                           "out_nb": str(run_dir / "notebooks" / f"{j.key}.ipynb"),
                           "out_html": str(run_dir / f"{j.key}.html"), "fresh_kernel": fresh_kernels}
    by_key = {j.key: j for j in jobs}
    done_n = 0

    def report_done(r: dict) -> None:
        nonlocal done_n
        done_n += 1
        j = by_key[r["key"]]
        j.status, j.error, j.seconds, j.kernel_reused = r["status"], r["error"], r["seconds"], r["kernel_reused"]
        progress(f"  [{done_n}/{len(jobs)}] {j.key}: {j.status} ({j.seconds:.1f} s){' — ' + j.error if j.error else ''}")

    t_data = _run_pool(jobs_n, shared, data_dir, scenario_keys, payloads, report_done, progress, t0)
    result = RunResult(run_dir, jobs)
    result.manifest = {
        "run_id": run_id, "created": dt.datetime.now().isoformat(timespec="seconds"), "config_file": str(config),
        "config": cfg, "only": only, "git_commit": _git_commit(), "input_checksums": _checksums(),
        "package_versions": _versions(), "data_seconds": round(t_data, 2),
        "kernels": "fresh" if fresh_kernels else "warm",
        "total_seconds": round(time.perf_counter() - t0, 2),
        "reports": [{"key": j.key, "title": j.title, "notebook": j.notebook.name, "status": j.status,
                     "seconds": round(j.seconds, 2), "error": j.error, "kernel_reused": j.kernel_reused,
                     "html": f"{j.key}.html",
                     "executed_notebook": f"notebooks/{j.key}.ipynb"} for j in jobs],
    }
    (run_dir / "manifest.json").write_text(json.dumps(result.manifest, ensure_ascii=False, indent=1, default=str),
                                           encoding="utf-8")
    (run_dir / "index.html").write_text(render_index(result, data_dir / "baseline"), encoding="utf-8")
    if result.ok:
        _point_latest(reports_dir, run_dir)
    return result


def _point_latest(reports_dir: Path, run_dir: Path) -> None:
    """Atomically repoint reports/latest (a relative symlink) at ``run_dir``."""
    tmp = reports_dir / f".latest-{secrets.token_hex(4)}"
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, reports_dir / "latest")


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
    except Exception:  # the index must still list the reports when the data failed
        year5 = None
    from .plots import fmt, pct
    rows = []
    for j in result.jobs:
        badge = ('<span class="ok">klar</span>' if j.status == "ok" else
                 f'<span class="fail">misslyckades</span> <a href="notebooks/{j.key}.ipynb">körd notebook med felet</a>'
                 f' <small>{html.escape(j.error)}</small>')
        f = figures.get(j.kommun or "", {})
        name = f.get("name", j.title) if j.kommun else j.title
        figs = ""
        if f:
            over = f'<span class="risk">{f["over"]}</span>' if f["over"] else "0"
            short = f'<span class="short">{f["short"]}</span>' if f["short"] else "0"
            util = pct(f["util"]) if f["util"] is not None else "–"
            figs = f"<td>{fmt(f['now'])}</td><td>{fmt(f['y5'])}</td><td>{util}</td><td>{over}</td><td>{short}</td>"
        else:
            figs = "<td></td>" * 5
        link = f'<a href="{j.key}.html">{html.escape(name)}</a>' if (result.run_dir / f"{j.key}.html").is_file() else html.escape(name)
        rows.append(f"<tr><td>{link}</td>{figs}<td>{badge}</td><td class='num'>{fmt(j.seconds, 1)}&nbsp;s</td></tr>")
    m = result.manifest
    return f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>Gymnasieprognos – rapporter {html.escape(m.get('run_id', ''))}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}}
.ok{{color:#1a7f37}}.fail{{color:#b00020;font-weight:bold}}.risk{{background:#f6d365;padding:0 .4rem;border-radius:.6rem}}
.short{{background:#f28b82;padding:0 .4rem;border-radius:.6rem}}.num{{white-space:nowrap}}</style></head><body>
<h1>Gymnasieprognos: rapporter</h1>
<p>Körning {html.escape(m.get('run_id', ''))}, {html.escape(m.get('created', ''))}, git {html.escape(m.get('git_commit', '')[:10])}.
Basår {html.escape(str(m.get('config', {}).get('base_year', '')))}. Flöden mellan kommuner och skolor är skattade.
Alla rapporter: {sum(j.status == 'ok' for j in result.jobs)} av {len(result.jobs)} klara.</p>
<table><thead><tr><th>Rapport</th><th>16–18 år nu</th><th>16–18 år {year5 or ''}</th><th>Beläggning {year5 or ''}</th>
<th>Flaggor överkapacitet</th><th>Flaggor brist</th><th>Status</th><th>Tid</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table>
<p><small>Flaggor: antal skolenhetsprogramgrupper i kommunen med sannolikhet ≥ tröskeln. Manifest: <a href="manifest.json">manifest.json</a>.</small></p>
</body></html>
"""

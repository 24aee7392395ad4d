"""The report run: parameter validation before any kernel, every notebook headless, HTML, browser."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from forecast import reports
from forecast.errors import ParameterError
from forecast.reports import ReportJob, load_config, plan_jobs, run_reports, validate_jobs

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
SMALL = {"base_year": 2022, "horizon": 6, "n_paths": 100, "seed": 1, "theta": 0.9, "flag_probability": 0.5,
         "migration_scenario": "main", "municipalities": ["0136"],
         "reports": ["region", "befolkning", "sokmonster", "kapacitet", "traffsakerhet", "kommun", "scenario"],
         "scenarios": ["scenarios/exempel_ny_skola_haninge.yml"]}


def _cfg(tmp_path, **over):
    import yaml
    p = tmp_path / "cfg.yml"
    p.write_text(yaml.safe_dump({**SMALL, **over}, allow_unicode=True), encoding="utf-8")
    return p


def test_notebooks_are_committed_clean_with_one_parameters_cell():
    import papermill as pm
    for path in sorted(NB.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        for c in nb.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{path.name} has outputs"
                assert not re.search(r"^\s*(def|class) ", c.source, re.M), f"{path.name} defines code"
        declared = pm.inspect_notebook(str(path))
        assert all(p["help"] for p in declared.values()), f"{path.name}: every parameter needs a comment"


def test_config_and_parameter_errors_come_before_any_kernel(tmp_path):
    with pytest.raises(ParameterError, match=r"unknown key\(s\) \['horizn'\]"):
        load_config(_cfg(tmp_path, horizn=5))
    with pytest.raises(ParameterError, match="horizon: has the wrong type"):
        load_config(_cfg(tmp_path, horizon="ten"))
    with pytest.raises(ParameterError, match=r"municipalities: \['9999'\] not in the admission region .*valid codes: 0114"):
        load_config(_cfg(tmp_path, municipalities=["9999"]))
    with pytest.raises(ParameterError, match="theta: a number strictly between 0 and 1, got 1.5"):
        load_config(_cfg(tmp_path, theta=1.5))
    from forecast.data import load_table
    origin = int(load_table("admissions").year.max())        # forecasts start after the latest admissions
    with pytest.raises(ParameterError, match=rf"\[20\d\d\] outside the projection years {origin + 1}–{origin + 2}"):
        run_reports(_cfg(tmp_path, horizon=2), reports_dir=tmp_path / "r", progress=lambda *_: None)
    assert not (tmp_path / "r").exists()
    with pytest.raises(ParameterError, match="--only"):
        plan_jobs(load_config(_cfg(tmp_path)), only=["0999"])
    job = ReportJob("kommun_0136", "x", NB / "10_kommun.ipynb", {"kommunn": "0136"})
    with pytest.raises(ParameterError, match="has no parameter 'kommunn'; declared: .*kommun"):
        validate_jobs([job])
    job = ReportJob("kommun_0136", "x", NB / "10_kommun.ipynb", {"horizon": "10"})
    with pytest.raises(ParameterError, match="parameter 'horizon' must be int"):
        validate_jobs([job])
    with pytest.raises(ParameterError, match="does not exist"):
        validate_jobs([ReportJob("x", "x", NB / "99_missing.ipynb", {})])
    # and the CLI exits 2 without creating a run folder
    from forecast.cli import main
    before = sorted(reports.REPORTS_DIR.glob("*")) if reports.REPORTS_DIR.exists() else []
    assert main(["report", "--config", str(_cfg(tmp_path, horizn=5))]) == 2
    after = sorted(reports.REPORTS_DIR.glob("*")) if reports.REPORTS_DIR.exists() else []
    assert after == before                     # no run folder was created


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    cfg = _cfg(tmp)
    res = run_reports(cfg, reports_dir=tmp / "reports", jobs_n=2, progress=lambda *_: None)
    return res


def test_every_notebook_runs_headless_and_renders_without_code(run):
    assert run.ok, [(j.key, j.error) for j in run.jobs if j.status != "ok"]
    keys = {j.key for j in run.jobs}
    assert keys == {"region", "befolkning", "sokmonster", "kapacitet", "traffsakerhet", "kommun_0136",
                    "scenario_exempel_ny_skola_haninge"}
    headings = {"region": "Platsbehov", "kommun_0136": "Platsbehov", "traffsakerhet": "Resultattavla",
                "scenario_exempel_ny_skola_haninge": "Hypotetiskt scenario", "sokmonster": "Övergång till gymnasiet"}
    for j in run.jobs:
        html = (run.run_dir / f"{j.key}.html").read_text(encoding="utf-8")
        assert "get_run_data" not in html and "from forecast" not in html          # no code
        assert "injected-parameters" not in html and "flag_probability: float" not in html
        assert "data:image/png;base64" in html or j.key in ("traffsakerhet",) or "<img" in html
        if j.key in headings:
            assert headings[j.key] in html
    region = (run.run_dir / "region.html").read_text(encoding="utf-8")
    assert region.count("data:image/png;base64") >= 4


def _outputs(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [(c.execution_count, [{k: v for k, v in o.items() if k != "metadata"} for o in c.outputs])
            for c in nb.cells if c.cell_type == "code"]


def test_warm_kernel_gives_the_outputs_of_a_fresh_kernel(run, tmp_path):
    """The run reuses one kernel per process; a notebook run after others in it must give
    exactly what it gives alone in a new kernel: texts, tables, figures (PNG bytes), counters."""
    warm = {j.key: j for j in run.jobs}
    assert max(j.kernel_reused for j in run.jobs) >= 2
    res = run_reports(_cfg(tmp_path, reports=["kommun", "traffsakerhet", "sokmonster"]),
                      reports_dir=tmp_path / "fresh", jobs_n=2, progress=lambda *_: None, fresh_kernels=True)
    assert res.ok and res.manifest["kernels"] == "fresh"
    assert all(j.kernel_reused == 0 for j in res.jobs)
    for key in ("kommun_0136", "traffsakerhet", "sokmonster"):
        assert warm[key].kernel_reused > 0, key          # it really ran after another notebook
        a = _outputs(run.run_dir / "notebooks" / f"{key}.ipynb")
        b = _outputs(res.run_dir / "notebooks" / f"{key}.ipynb")
        assert a[0][0] == 1 and sum(len(o) for _, o in a) > 3
        assert a == b, key


def test_manifest_index_and_latest(run):
    m = json.loads((run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert m["git_commit"] and m["package_versions"]["papermill"]
    assert any(k.endswith("cohort_history.parquet") for k in m["input_checksums"])
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in m["reports"])
    latest = run.run_dir.parent / "latest"
    assert latest.is_symlink() and latest.resolve() == run.run_dir.resolve()
    index = (run.run_dir / "index.html").read_text(encoding="utf-8")
    assert 'href="kommun_0136.html">Haninge' in index and "Flaggor överkapacitet" in index
    assert "Scenario: Ny gymnasieskola i Haninge 2028 (exempel)" in index     # listed by its own name
    assert re.search(r"<td class='num'>\d+,\d&nbsp;s</td>", index)            # Swedish decimal comma


def test_failed_report_keeps_traceback_and_previous_latest(run, tmp_path, monkeypatch):
    bad_dir = tmp_path / "nb"
    bad_dir.mkdir()
    for p in NB.glob("*.ipynb"):
        shutil.copy(p, bad_dir / p.name)
    nb = nbformat.read(bad_dir / "04_traffsakerhet.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('avsiktligt fel')"))
    nbformat.write(nb, bad_dir / "04_traffsakerhet.ipynb")
    monkeypatch.setattr(reports, "NOTEBOOK_DIR", bad_dir)
    reports_dir = run.run_dir.parent
    before = (reports_dir / "latest").resolve()
    res = run_reports(_cfg(tmp_path, reports=["traffsakerhet", "befolkning"]), reports_dir=reports_dir, jobs_n=2,
                      progress=lambda *_: None)
    assert not res.ok
    failed = {j.key: j for j in res.jobs if j.status != "ok"}
    assert set(failed) == {"traffsakerhet"} and "avsiktligt fel" in failed["traffsakerhet"].error
    executed = nbformat.read(res.run_dir / "notebooks" / "traffsakerhet.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert (res.run_dir / "befolkning.html").is_file()
    assert "misslyckades" in (res.run_dir / "index.html").read_text(encoding="utf-8")
    assert (reports_dir / "latest").resolve() == before


def test_dead_kernel_and_unwritable_folder_are_named(tmp_path, monkeypatch):
    bad_dir = tmp_path / "nb"
    bad_dir.mkdir()
    for p in NB.glob("*.ipynb"):
        shutil.copy(p, bad_dir / p.name)
    nb = nbformat.read(bad_dir / "01_befolkning.ipynb", as_version=4)
    nb.cells.insert(5, nbformat.v4.new_code_cell("import os\nos._exit(3)  # the kernel dies here"))
    nbformat.write(nb, bad_dir / "01_befolkning.ipynb")
    monkeypatch.setattr(reports, "NOTEBOOK_DIR", bad_dir)
    # one process: the report after the dead kernel must get a new kernel and succeed
    res = run_reports(_cfg(tmp_path, reports=["befolkning", "traffsakerhet"]), reports_dir=tmp_path / "r",
                      jobs_n=1, progress=lambda *_: None)
    j, after = res.jobs
    assert j.status == "failed" and "cell 7 (import os)" in j.error and "DeadKernel" in j.error
    assert after.status == "ok" and after.kernel_reused == 0, after.error
    assert not (tmp_path / "r" / "latest").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")          # unwritable even for root: a file in the path
    with pytest.raises(ParameterError, match="reports folder .*a-file/reports is not writable"):
        run_reports(_cfg(tmp_path), reports_dir=blocker / "reports", progress=lambda *_: None)


def test_real_browser_opens_index_and_a_report(run, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs Debian's chromium package")
        pytest.skip("chromium not installed (make test installs it)")
    for page in ("index.html", "kommun_0136.html"):
        shot = tmp_path / f"{page}.png"
        p = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--window-size=1280,1600", f"--screenshot={shot}", (run.run_dir / page).as_uri()],
            capture_output=True, text=True, timeout=120)
        assert shot.is_file() and shot.stat().st_size > 10_000, p.stderr[-2000:]
        console = [line for line in p.stderr.splitlines() if "CONSOLE" in line]
        errors = [line for line in console if re.search(r"error|uncaught", line, re.I)]
        assert not errors, errors
        shutil.copy(shot, run.run_dir / f"screenshot_{page}.png")


def test_run_data_folder_is_complete_only_with_both_parts(run, tmp_path):
    """The report run writes a run-data folder in parallel parts; a folder missing its cohort
    backtest part is refused by name, and the scenario folder carries no track record of its own."""
    from forecast.rundata import load_run_data
    base = run.run_dir / "data" / "baseline"
    rd = load_run_data(base)
    assert rd.meta["coverage"] and rd.meta["scorecard_outcome_year"] and len(rd.scorecard) == 28
    assert not list((run.run_dir / "data").glob("*.pickle"))              # the hand-over is removed
    sc = load_run_data(run.run_dir / "data" / "scenario_exempel_ny_skola_haninge")
    assert sc.meta["hypothetical"] and sc.scorecard.empty and sc.meta["beta_per_km"] == rd.meta["beta_per_km"]
    part = tmp_path / "part"
    shutil.copytree(base, part)
    (part / "backtest.json").unlink()
    with pytest.raises(ParameterError, match="no backtest.json: an incomplete run-data folder"):
        load_run_data(part)


def test_every_notebook_runs_with_its_defaults_on_a_fresh_kernel(tmp_path):
    """What an analyst does in JupyterLab: open a notebook and run it top to bottom as committed,
    in a new kernel, with no parameters given (it computes or reuses its own run data)."""
    import papermill as pm
    for path in sorted(NB.glob("*.ipynb")):
        out = tmp_path / path.name
        nb = pm.execute_notebook(str(path), str(out), cwd=str(NB), progress_bar=False, kernel_name="python3")
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), path.name
        assert not any(o.get("output_type") == "error" for c in code for o in c.outputs), path.name
        if path.name != "04_traffsakerhet.ipynb":
            assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), path.name


def test_every_image_has_a_swedish_alt_text_and_each_report_its_workbook(run):
    """Issue 12: alt text on every figure (Swedish, from the figure itself), and the report's
    tables as one .xlsx beside it, linked from the report."""
    import openpyxl
    n_images = 0
    index = (run.run_dir / "index.html").read_text(encoding="utf-8")
    for j in run.jobs:
        html = (run.run_dir / f"{j.key}.html").read_text(encoding="utf-8")
        imgs = re.findall(r"<img\b[^>]*>", html)
        n_images += len(imgs)
        for tag in imgs:
            alt = re.search(r'alt="([^"]*)"', tag)
            assert alt and len(alt.group(1)) > 40, (j.key, tag[:120])
            assert "No description" not in alt.group(1) and "beskrivning saknas" not in alt.group(1), j.key
            assert re.search(r"\b(Karta|diagram|och|över)\b|diagram", alt.group(1)), alt.group(1)
        tables = len(re.findall(r'<table\b[^>]*class="dataframe', html))
        xlsx = run.run_dir / f"{j.key}.xlsx"
        if tables:
            assert f'href="{j.key}.xlsx"' in html, j.key                         # linked from the report
            assert f'href="{j.key}.xlsx"' in index, j.key                        # and from the index
            wb = openpyxl.load_workbook(xlsx)
            assert wb.sheetnames[0] == "Innehåll" and len(wb.sheetnames) == tables + 1, (j.key, wb.sheetnames)
            assert all(len(s) <= 31 for s in wb.sheetnames)
        else:
            assert not xlsx.exists()
    assert n_images >= 10
    wb = openpyxl.load_workbook(run.run_dir / "kommun_0136.xlsx")
    flags = [ws for ws in wb.worksheets[1:] if ws["A3"].value == "Nr"]
    assert flags and any(isinstance(c.value, (int, float)) for c in flags[0][4])     # numbers, not text


PRINT_PROBE = """<style>body.jp-Notebook{width:186mm !important;margin:0 !important;padding:0 !important}</style>
<script>(function(){const page=document.body.getBoundingClientRect().right;const out=[];
document.querySelectorAll('table').forEach(function(t){const heads=[];
t.querySelectorAll('thead tr:first-child th').forEach(function(th){const b=th.getBoundingClientRect();
heads.push([th.textContent.trim(), b.width>0 && b.right<=page+1]);});
out.push({right:t.getBoundingClientRect().right, heads:heads});});
const imgs=[...document.querySelectorAll('img')].map(function(i){return i.getBoundingClientRect().right<=page+1;});
const pre=document.createElement('pre');pre.id='gp-probe';pre.textContent=JSON.stringify({page:page,tables:out,imgs:imgs});
document.body.appendChild(pre);})();</script></body>"""


def test_kommun_report_prints_on_a4_with_every_table_column(run, tmp_path):
    """Chromium's PDF of a municipality report is A4; in the print layout (the report's @media
    print rules on the A4 text width, 186 mm, measured in the same browser) every column of every
    table and every figure lies inside the page, so nothing is cut or scrolled away."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs Debian's chromium package")
        pytest.skip("chromium not installed (make test installs it)")
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}"]
    report = run.run_dir / "kommun_0136.html"
    pdf = tmp_path / "kommun_0136.pdf"
    p = subprocess.run(flags + ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert pdf.is_file() and pdf.stat().st_size > 50_000, p.stderr[-2000:]
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes), boxes[:3]
    assert len(boxes) >= 2                                             # pages, each A4 portrait
    shutil.copy(pdf, run.run_dir / "print_kommun_0136.pdf")
    html = report.read_text(encoding="utf-8").replace("@media print", "@media all")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", PRINT_PROBE, 1), encoding="utf-8")
    p = subprocess.run(flags + ["--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="gp-probe">(.*?)</pre>', p.stdout, re.S)
    assert m, p.stderr[-2000:]
    layout = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                        .replace("&gt;", ">"))
    assert layout["tables"] and layout["imgs"] and all(layout["imgs"])
    in_html = re.findall(r"<table\b", html)
    assert len(layout["tables"]) == len(in_html)
    for t in layout["tables"]:
        cut = [h for h, inside in t["heads"] if not inside]
        assert not cut and t["right"] <= layout["page"] + 1, (cut, t)
    heads = {h for t in layout["tables"] for h, _ in t["heads"]}
    assert len(heads) > 5

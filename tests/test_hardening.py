"""Hard to break (issue 13): bad input and faults end in one clear message, nothing is half-written,
earlier output stays as it was, and no text from a file reaches HTML as markup.

Signals, disks and links are driven through the command line in a subprocess. After every
failing case: data/raw and data/processed unchanged, reports/latest unchanged, no orphan or
staging folder (:func:`assert_untouched`).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from forecast.cli import main
from forecast.files import folder_digest
from forecast.paths import PROCESSED_DIR, PROJECT_ROOT, RAW_DIR

FORECAST = [sys.executable, "-m", "forecast.cli"]
SCENARIO = PROJECT_ROOT / "scenarios" / "exempel_ny_skola_haninge.yml"
PAYLOAD_NAME = "<img src=x onerror=alert(1)>"
PAYLOAD_DESC = "<img src=x onerror=alert(2)><script>alert(3)</script>"




@pytest.fixture(scope="module")
def data_before():
    return folder_digest(RAW_DIR), folder_digest(PROCESSED_DIR)


@pytest.fixture
def reports(tmp_path):
    """A reports folder with an earlier good run that ``latest`` points at."""
    r = tmp_path / "reports"
    (r / "2020-01-01T00-00-00-prev").mkdir(parents=True)
    (r / "2020-01-01T00-00-00-prev" / "index.html").write_text("earlier good run")
    os.symlink("2020-01-01T00-00-00-prev", r / "latest")
    return r


def assert_untouched(reports_dir: Path, data_before) -> None:
    names = sorted(p.name for p in reports_dir.iterdir())
    assert names == ["2020-01-01T00-00-00-prev", "latest"], names     # no orphan, staging or .latest-*
    assert os.readlink(reports_dir / "latest") == "2020-01-01T00-00-00-prev"
    assert (reports_dir / "latest" / "index.html").read_text() == "earlier good run"
    raw, processed = data_before
    assert folder_digest(RAW_DIR) == raw and folder_digest(PROCESSED_DIR) == processed


def _cfg(tmp_path, **over) -> Path:
    cfg = yaml.safe_load((PROJECT_ROOT / "config" / "annual.yml").read_text())
    cfg.update(over)
    p = tmp_path / "cfg.yml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return p


# --- validation before any folder ------------------------------------------------------------------

@pytest.mark.parametrize("over, args, expected", [
    ({"base_year": 2030}, [], r"base_year: the last observed population year, from \d{4} to \d{4}.*got 2030"),
    ({"horizon": 0}, [], "horizon: years ahead, a whole number from 1 to 20, got 0"),
    ({"horizon": 25}, [], "horizon: years ahead, a whole number from 1 to 20, got 25"),
    ({"n_paths": -1}, [], "n_paths: simulated paths, a whole number from 1 to 20,000"),
    ({"n_paths": 0}, [], "n_paths: .* got 0"),
    ({"n_paths": 10**9}, [], "n_paths: .* got 1000000000"),
    ({"seed": -1}, [], "seed: a whole number from 0 to 4294967295, got -1"),
    ({"seed": 1.5}, [], r"seed: has the wrong type \(float\); expected a whole number"),
    ({"theta": 0}, [], "theta: a number strictly between 0 and 1, got 0"),
    ({"reports": []}, [], "reports: an empty list runs nothing"),
    ({"municipalities": []}, [], "municipalities: 'all' or a non-empty list"),
    ({"reports": ["scenario"], "scenarios": []}, [], "nothing to run"),
    ({}, ["--jobs", "-1"], "--jobs: parallel processes, a whole number from 1 to 64, got -1"),
    ({}, ["--jobs", "0"], "--jobs: .* got 0"),
])
def test_bad_config_values_exit_2_before_any_folder(tmp_path, reports, data_before, capsys, over, args, expected):
    import re
    code = main(["report", "--config", str(_cfg(tmp_path, **over)), "--reports-dir", str(reports)] + args)
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(expected, err), err
    assert "Traceback" not in err
    assert_untouched(reports, data_before)


def test_every_problem_is_listed_once(tmp_path, reports, capsys):
    code = main(["report", "--config", str(_cfg(tmp_path, horizon=0, n_paths=-1, seed=-1)), "--jobs", "-1",
                 "--reports-dir", str(reports)])
    err = capsys.readouterr().err
    assert code == 2 and "4 problems" in err
    for key in ("horizon:", "n_paths:", "seed:", "--jobs:"):
        assert err.count(f"  - {key}") == 1, err


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_latest_that_is_not_a_link_is_refused_and_kept(tmp_path, capsys, kind):
    r = tmp_path / "reports"
    r.mkdir()
    if kind == "folder":
        (r / "latest").mkdir()
        (r / "latest" / "index.html").write_text("user's copy")
    else:
        (r / "latest").write_text("user's file")
    code = main(["report", "--config", str(_cfg(tmp_path)), "--reports-dir", str(r)])
    err = capsys.readouterr().err
    assert code == 2 and f"{r / 'latest'} is a {kind}, not the link" in err and "never deleted" in err
    assert sorted(p.name for p in r.iterdir()) == ["latest"]
    got = (r / "latest" / "index.html").read_text() if kind == "folder" else (r / "latest").read_text()
    assert got in ("user's copy", "user's file")


def test_a_notebook_that_is_not_json_is_named(tmp_path, monkeypatch):
    from forecast import reports as rep
    from forecast.errors import ParameterError
    nb_dir = tmp_path / "nb"
    shutil.copytree(rep.NOTEBOOK_DIR, nb_dir)
    (nb_dir / "01_befolkning.ipynb").write_text("{ not json")
    monkeypatch.setattr(rep, "NOTEBOOK_DIR", nb_dir)
    with pytest.raises(ParameterError, match=r"01_befolkning.ipynb is not a readable notebook"):
        rep.run_reports(_cfg(tmp_path, reports=["befolkning"]), reports_dir=tmp_path / "r", progress=lambda *_: None)
    assert not (tmp_path / "r").exists()


# --- scenario text is never markup -------------------------------------------------------------------

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _live(html_text: str) -> list:
    """What would run a payload: an element with an on* attribute, a script holding "alert(",
    a javascript: link."""
    p = _Tags()
    p.feed(html_text)
    return ([(t, a) for t, a in p.tags if any(k.startswith("on") for k in a)
             or any(str(v).strip().lower().startswith("javascript:") for v in a.values())]
            + [s for s in p.scripts if "alert(" in s])


def _xss_scenario(tmp_path) -> Path:
    doc = yaml.safe_load(SCENARIO.read_text())
    doc["name"], doc["description"] = PAYLOAD_NAME, PAYLOAD_DESC
    doc["schools"][0]["name"] = "<img src=x onerror=alert(4)>"
    p = tmp_path / "xss.yml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return p


def test_markdown_text_is_inert():
    """forecast.report.texts escapes every text from a file with scenarios.markdown_text."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from forecast.scenarios import markdown_text
    out = markdown2html_mistune(markdown_text(PAYLOAD_NAME) + "\n\n" + markdown_text(
        PAYLOAD_DESC + " [x](javascript:alert(5)) *y*"))
    assert not _live(out) and "<script" not in out and "javascript:alert(5)" not in out.split('href="')[-1][:30]
    assert "&lt;img src=x onerror=alert(1)&gt;" in out and "*y*" in out


def test_scenario_payloads_are_inert_text_in_the_report_and_index(tmp_path):
    """The two payloads of the issue end up as text in the rendered scenario report and index.html."""
    from forecast.reports import run_reports
    sc = _xss_scenario(tmp_path)
    res = run_reports(_cfg(tmp_path, reports=["scenario"], scenarios=[str(sc)], n_paths=100),
                      reports_dir=tmp_path / "r", jobs_n=2, progress=lambda *_: None)
    assert res.ok, [j.error for j in res.jobs]
    for page in ("index.html", "scenario_xss.html"):
        text = (res.run_dir / page).read_text(encoding="utf-8")
        assert not _live(text), page
        assert "<script>alert(3)" not in text
        assert "&lt;img src=x onerror=alert(1)&gt;" in text, page
    report = (res.run_dir / "scenario_xss.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(2)&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in report


def test_error_messages_and_names_are_escaped_in_the_index(tmp_path):
    from forecast.reports import ReportJob, RunResult, render_index
    jobs = [ReportJob("scenario_x", f"Scenario: {PAYLOAD_NAME}", Path("20_scenario.ipynb"), {}, status="ok"),
            ReportJob("region", "Regional översikt", Path("00_region.ipynb"), {}, status="failed",
                      error=f"cell 3: ValueError: {PAYLOAD_DESC}")]
    (tmp_path / "scenario_x.html").write_text("x")
    text = render_index(RunResult(tmp_path, jobs, {"run_id": "<b>r</b>", "config": {"base_year": 2022}}),
                        tmp_path / "no-data")
    assert not _live(text) and "<script>" not in text and "<b>r</b>" not in text
    assert "ValueError: &lt;img src=x onerror=alert(2)&gt;&lt;script&gt;" in text


def test_a_notebook_error_message_is_escaped_in_the_report():
    import nbformat

    from forecast.reports import render_html
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("raise ValueError(...)")
    cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue=PAYLOAD_DESC,
                                           traceback=[f"ValueError: {PAYLOAD_DESC}"])]
    nb.cells = [cell]
    text = render_html(nb, PAYLOAD_NAME)
    assert not _live(text) and "<script>alert(3)" not in text


@pytest.mark.parametrize("places, ok", [(5000, True), (5001, False), (1_000_000_000, False)])
def test_scenario_places_have_an_upper_bound(tmp_path, places, ok):
    from forecast.errors import ParameterError
    from forecast.scenarios import read_scenario
    doc = yaml.safe_load(SCENARIO.read_text())
    doc["schools"][0]["places"] = places
    p = tmp_path / "big.yml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    if ok:
        assert read_scenario(p, {"0136"}).schools.places.iloc[0] == places
    else:
        with pytest.raises(ParameterError, match=r"schools\[0\]: places \d+ is too large: at most 5,000 year-1 "
                                                 r"places per school: the largest school in the region has about 800"):
            read_scenario(p, {"0136"})


def test_huge_places_exit_2_before_any_folder(tmp_path, reports, data_before, capsys):
    doc = yaml.safe_load(SCENARIO.read_text())
    doc["schools"][0]["places"] = 1_000_000_000
    p = tmp_path / "big.yml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    code = main(["report", "--config", str(_cfg(tmp_path, reports=["scenario"], scenarios=[str(p)])),
                 "--reports-dir", str(reports)])
    assert code == 2 and "too large" in capsys.readouterr().err
    assert_untouched(reports, data_before)


# --- signals and disks, through the command line ---------------------------------------------------

def _start(args, tmp_path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(FORECAST + args, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_for(pred, timeout=120.0, proc=None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


class _Lines:
    """Collects a child's stdout lines in a thread (so the test can wait for one)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.t = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.t.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)

    def has(self, text):
        return any(text in line for line in self.lines)


def _no_kernels_left(before: set) -> bool:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    now = {line.split()[0] for line in out.splitlines() if "ipykernel" in line and "gp-" in line}
    return not (now - before)


def _kernels() -> set:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if "ipykernel" in line and "gp-" in line}


@pytest.mark.parametrize("when, sig", [("data", signal.SIGINT), ("notebooks", signal.SIGINT),
                                       ("notebooks", signal.SIGTERM)])
def test_signal_during_a_run_leaves_nothing_behind(tmp_path, reports, data_before, when, sig):
    kernels = _kernels()
    cfg = _cfg(tmp_path, reports=["befolkning", "traffsakerhet", "region"], n_paths=100)
    p = _start(["report", "--config", str(cfg), "--reports-dir", str(reports), "--jobs", "2"], tmp_path)
    out = _Lines(p.stdout)
    staging = lambda: any(x.name.startswith(".staging-") for x in reports.iterdir())  # noqa: E731
    ready = staging if when == "data" else (lambda: out.has("baseline data ready"))
    assert _wait_for(ready, proc=p), "".join(out.lines) + p.stderr.read()
    time.sleep(0.5)
    os.kill(p.pid, sig)
    err = p.stderr.read()
    assert p.wait(60) == (130 if sig == signal.SIGINT else 143)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    expected = "interrupted by the user" if sig == signal.SIGINT else "terminated (SIGTERM)"
    assert len(lines) == 1 and expected in lines[0] and "previous run and reports/latest untouched" in lines[0], err
    assert_untouched(reports, data_before)
    assert _wait_for(lambda: _no_kernels_left(kernels), timeout=15), "a kernel outlived the run"


def test_sigint_during_forecast_data_leaves_processed_unchanged(tmp_path):
    out = tmp_path / "processed"
    shutil.copytree(PROCESSED_DIR, out)
    before = folder_digest(out)
    p = _start(["data", "--out", str(out)], tmp_path)
    time.sleep(2.0)                      # reading and validating the extracts
    os.kill(p.pid, signal.SIGINT)
    err = p.stderr.read()
    assert p.wait(60) == 130, err
    assert "Traceback" not in err and "data: interrupted by the user; data/processed untouched" in err
    assert folder_digest(out) == before
    assert sorted(x.name for x in tmp_path.iterdir() if x.name.startswith(".")) == []


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "40m"):
        pytest.skip("cannot mount a tmpfs here (needs root); the mocked-ENOSPC test covers the path")
    yield disk
    subprocess.run(["umount", str(disk)], capture_output=True)


def _prev_run(reports_dir: Path) -> None:
    (reports_dir / "2020-01-01T00-00-00-prev").mkdir(parents=True)
    (reports_dir / "2020-01-01T00-00-00-prev" / "index.html").write_text("earlier good run")
    os.symlink("2020-01-01T00-00-00-prev", reports_dir / "latest")


def test_too_little_space_is_refused_before_running(tmp_path, small_disk, data_before, capsys):
    r = small_disk / "reports"
    _prev_run(r)
    (small_disk / "filler").write_bytes(b"\0" * (38 * 1024 * 1024))
    code = main(["report", "--config", str(_cfg(tmp_path, reports=["befolkning"])), "--reports-dir", str(r)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"not enough free space in {r}:" in err and "needs about" in err and "nothing was started" in err
    assert len(err.strip().splitlines()) == 1
    assert_untouched(r, data_before)


def test_disk_filling_up_during_a_run_names_the_folder(tmp_path, small_disk, data_before):
    r = small_disk / "reports"
    _prev_run(r)
    cfg = _cfg(tmp_path, reports=["befolkning", "traffsakerhet"], n_paths=100)
    p = _start(["report", "--config", str(cfg), "--reports-dir", str(r), "--jobs", "2"], tmp_path)
    out = _Lines(p.stdout)
    assert _wait_for(lambda: any(x.name.startswith(".staging-") for x in r.iterdir()), proc=p)
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler").write_bytes(b"\0" * (free - 4096))      # another program fills the disk
    err = p.stderr.read()
    assert p.wait(120) == 2, "".join(out.lines) + err
    (small_disk / "filler").unlink()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"disk full while writing the run into {r}" in lines[0], err
    assert "free, a run of 2 reports needs about" in lines[0]
    assert_untouched(r, data_before)


def test_mocked_enospc_in_the_main_process_is_one_line(tmp_path, reports, data_before):
    """Without a tmpfs: the index write raises ENOSPC (a patched render step, in a subprocess)."""
    code = (
        "import errno, sys\n"
        "from forecast import reports\n"
        "def full(*a, **k):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device', 'index.html')\n"
        "reports.render_index = full\n"
        "from forecast.cli import main\n"
        f"sys.exit(main(['report', '--config', {str(_cfg(tmp_path, reports=['befolkning'], n_paths=100))!r}, "
        f"'--reports-dir', {str(reports)!r}, '--jobs', '2']))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and f"disk full while writing the run into {reports}" in p.stderr
    assert_untouched(reports, data_before)


# --- fetch scb: an overall deadline ---------------------------------------------------------------

def test_fetch_scb_gives_up_at_the_overall_deadline(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)                      # accepts connections, never answers
    port = srv.getsockname()[1]
    try:
        t0 = time.monotonic()
        p = subprocess.run(FORECAST + ["fetch", "scb", "--sources", str(tmp_path / "src"), "--regions", "0180",
                                       "--first-year", "2023", "--last-year", "2024", "--timeout", "3",
                                       "--base-url", f"http://127.0.0.1:{port}/api/v2"],
                           capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
    finally:
        srv.close()
    assert p.returncode == 2 and took < 15, (took, p.stderr)
    assert "fetch scb: TAB638 2023 (1/2)" in p.stdout and "s left of --timeout" in p.stdout
    assert "did not answer within the overall deadline (--timeout)" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "src" / "scb" / "pxweb").exists() or not any((tmp_path / "src" / "scb" / "pxweb").iterdir())


def test_fetch_scb_rejects_a_bad_timeout(tmp_path, capsys):
    assert main(["fetch", "scb", "--sources", str(tmp_path), "--timeout", "0"]) == 2
    assert "--timeout must be a positive number of seconds" in capsys.readouterr().err

"""The forecast command line."""
import subprocess
import sys

from forecast.cli import main


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "forecast.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for cmd in ("ingest", "data", "fetch"):
        assert cmd in out.stdout


def test_bad_sources_folder_exit_2_with_message(tmp_path, capsys):
    code = main(["ingest", "--sources", str(tmp_path / "nowhere"), "--out", str(tmp_path / "raw")])
    assert code == 2
    err = capsys.readouterr().err
    assert "sources folder not found" in err and "nowhere" in err
    assert not (tmp_path / "raw").exists()


def test_fetch_rejects_bad_region_code(tmp_path, capsys):
    code = main(["fetch", "scb", "--sources", str(tmp_path), "--regions", "180", "--first-year", "2020",
                 "--last-year", "2020"])
    assert code == 2 and "4 digits" in capsys.readouterr().err

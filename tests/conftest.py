from __future__ import annotations

from pathlib import Path

import pytest

from forecast.paths import DEFAULT_SOURCES, PROJECT_ROOT

RAW = PROJECT_ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def sources() -> Path:
    if not DEFAULT_SOURCES.is_dir():
        pytest.skip("the publisher files (../shared/data/sources) are not beside this checkout")
    return DEFAULT_SOURCES


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(scope="session", autouse=True)
def processed_data():
    """The real-data tests read data/processed/; build it from the committed extracts if a plain
    `pytest` runs before `make data` (make test builds it first)."""
    from forecast.data import build_processed
    from forecast.paths import PROCESSED_DIR
    if not (PROCESSED_DIR / "cohort_history.parquet").is_file():
        build_processed()

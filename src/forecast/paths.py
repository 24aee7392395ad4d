"""Where things live. Resolved from the project root, never from the current directory."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RAW_DIR = PROJECT_ROOT / "data" / "raw"
OBSERVED_FLOWS = RAW_DIR / "observed_flows.csv"   # optional: a user's observed home → unit flows
PROCESSED_DIR = PROJECT_ROOT / "data" / "processed"
MANUAL_DIR = PROJECT_ROOT / "data" / "manual"
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_SOURCES = PROJECT_ROOT.parent / "shared" / "data" / "sources"

"""The project's documents as HTML inside a run folder, so the reports' links work from there.

The reports link to ``docs/assumptions.html`` and ``docs/methods.html`` (and the data
dictionary) relative to the report. :func:`write_docs` renders docs/*.md into ``<run>/docs/``;
the report run calls it once per run.
"""
from __future__ import annotations

import html
from pathlib import Path

from ..paths import PROJECT_ROOT

DOCS = ("assumptions", "methods", "data", "data_dictionary")


def write_docs(run_dir: Path, docs_dir: Path = PROJECT_ROOT / "docs") -> list[Path]:
    """docs/<name>.md → <run_dir>/docs/<name>.html (a plain page, UTF-8); returns the files written."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    out_dir = Path(run_dir) / "docs"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DOCS:
        src = Path(docs_dir) / f"{name}.md"
        if not src.is_file():
            continue
        body = markdown2html_mistune(src.read_text(encoding="utf-8"))
        page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(name)}</title>"
                "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.45}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .4rem;vertical-align:top}"
                f"</style></head><body>{body}</body></html>")
        dst = out_dir / f"{name}.html"
        dst.write_text(page, encoding="utf-8")
        written.append(dst)
    return written

"""A report's HTML page: nbconvert's JupyterLab template with the reports' own style.

``forecast.reports`` (the run machinery) calls :func:`render_report_html` for every executed
notebook. The template (forecast/templates/nbconvert/gymnasieprognos) adds the screen and A4
print style of ``report.css``, gives every figure its Swedish description as alt text and links
the report's tables as an Excel file (forecast.report.excel).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE_NAME = "gymnasieprognos"


@lru_cache(maxsize=1)
def report_css() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _exporter():
    """One exporter per process: building the template costs about 0.4 s."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
                        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        embed_images=True, language_code="sv")


def render_report_html(nb, title: str, xlsx: str | None = None) -> str:
    """Self-contained HTML of an executed notebook: no code, no prompts, no parameters cells,
    images embedded with Swedish alt text; ``xlsx`` (a file name beside the HTML) is linked."""
    nb = nb.copy()
    nb.cells = [c for c in nb.cells
                if not {"parameters", "injected-parameters"} & set(c.get("metadata", {}).get("tags", []))]
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb, resources={"gp_css": report_css(), "gp_xlsx": xlsx or ""})
    return body

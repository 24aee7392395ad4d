"""A report's HTML page: nbconvert's JupyterLab template with the reports' own style.

``forecast.reports`` (the run machinery) calls :func:`render_report_html` for every executed
notebook. The template (forecast/templates/nbconvert/gymnasieprognos) adds the screen and A4
print style of ``report.css``, gives every figure its Swedish description as alt text and links
the report's tables as an Excel file (forecast.report.excel).
"""
from __future__ import annotations

import re
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


_VOWELS = set("aeiouyåäöéüAEIOUYÅÄÖÉÜ")
_HEADER_CELL = re.compile(r"(<th\b[^>]*>)([^<]*)(</th>)")
_LONG_WORD = re.compile(r"[^\W\d_]{8,}")
SHY = "\u00ad"


def hyphenate(word: str, edge: int = 3) -> str:
    """Soft hyphens at Swedish syllable joints (vowel|consonant-vowel, consonant|consonant between
    vowels), at least ``edge`` letters from either end: 'Sannolikhet' → 'San·no·lik·het'. A table
    heading then wraps at a joint, with a hyphen, instead of being cut or breaking anywhere."""
    out, last = [], 0
    for i in range(edge, len(word) - edge + 1):
        a, b, c = word[i - 1], word[i], word[i + 1] if i + 1 < len(word) else ""
        vc_v = a in _VOWELS and b not in _VOWELS and c in _VOWELS
        cc = (a not in _VOWELS and b not in _VOWELS and c in _VOWELS and i >= 2 and word[i - 2] in _VOWELS)
        if (vc_v or cc) and i - last >= 2:
            out.append(word[last:i])
            last = i
    return SHY.join(out + [word[last:]])


def hyphenate_headers(html: str) -> str:
    """Soft hyphens in the long words of every table heading cell (``<th>``), so narrow print
    columns wrap their headings at syllable joints; the text itself is unchanged."""
    return _HEADER_CELL.sub(lambda m: m.group(1) + _LONG_WORD.sub(lambda w: hyphenate(w.group(0)), m.group(2))
                            + m.group(3), html)


def render_report_html(nb, title: str, xlsx: str | None = None) -> str:
    """Self-contained HTML of an executed notebook: no code, no prompts, no parameters cells,
    images embedded with Swedish alt text; ``xlsx`` (a file name beside the HTML) is linked."""
    nb = nb.copy()
    nb.cells = [c for c in nb.cells
                if not {"parameters", "injected-parameters"} & set(c.get("metadata", {}).get("tags", []))]
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb, resources={"gp_css": report_css(), "gp_xlsx": xlsx or ""})
    return hyphenate_headers(body)

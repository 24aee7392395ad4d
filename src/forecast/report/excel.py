"""A report's tables as one Excel workbook (openpyxl), beside its HTML in the run folder.

The tables are read back from the executed notebook: every output that shows a table
(``text/html`` with a ``<table>``) becomes one sheet, named after the heading above it (Swedish,
at most 31 characters, unique). Cells the report writes as Swedish numbers ("1 234", "12,5",
"72 %") become numbers with a matching number format, so planners can compute with them;
everything else (names, intervals such as "1 200–1 350") stays text. A first sheet
"Innehåll" lists the sheets with their full headings.
"""
from __future__ import annotations

import re
from pathlib import Path

SHEET_MAX = 31
CONTENTS = "Innehåll"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_NUMBER = re.compile(r"^[+−-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})*(?:,\d+)?$|^[+−-]?\d+(?:[,.]\d+)?$")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def parse_number(text: str):
    """(value, number format) for a Swedish number or percentage, else None.

    "1 234" → (1234, '#,##0'); "12,5" → (12.5, '#,##0.0'); "72 %" → (0.72, '0%');
    "−3" → (-3, '#,##0'). Excel shows the format with the reader's own separators."""
    t = text.strip()
    percent = t.endswith("%")
    if percent:
        t = t[:-1].strip()
    if not t or not _NUMBER.match(t):
        return None
    t = t.replace(".", ",")              # a float pandas printed with a decimal point
    decimals = len(t.split(",")[1]) if "," in t else 0
    v = float(re.sub(r"[ \u00a0\u202f]", "", t).replace(",", ".").replace("−", "-").lstrip("+"))
    if percent:
        return v / 100, "0" + ("." + "0" * decimals if decimals else "") + "%"
    if decimals == 0:
        return int(v), "#,##0" if abs(v) >= 10000 else "0"
    return v, "#,##0." + "0" * decimals


def _heading(text: str) -> str | None:
    found = _MD_HEADING.findall(text or "")
    return _clean(found[-1]) if found else None


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*_`]", "", text)).strip()


def _cell_text(cell) -> str:
    return _clean(cell.get_text(" ")) if cell is not None else ""


def table_from_html(html: str) -> tuple[list[str], list[list[str]]] | None:
    """(header, rows) of the first table of a pandas ``to_html`` output: header rows merged
    (the index name of a second header row goes in the first column)."""
    from bs4 import BeautifulSoup
    t = BeautifulSoup(html, "html.parser").find("table")
    if t is None:
        return None
    head_rows = [[_cell_text(c) for c in r.find_all(["th", "td"])] for r in (t.thead.find_all("tr") if t.thead else [])]
    body = t.tbody or t
    rows = [[_cell_text(c) for c in r.find_all(["th", "td"])] for r in body.find_all("tr") if r.parent is not t.thead]
    if not head_rows and rows:
        head_rows, rows = [rows[0]], rows[1:]
    width = max([len(r) for r in head_rows + rows] or [0])
    header = [""] * width
    for hr in head_rows:
        hr = [""] * (width - len(hr)) + hr if len(hr) < width else hr     # colspan-free pandas rows
        header = [f"{a} – {b}" if a and b and a != b else (a or b) for a, b in zip(header, hr)]
    return header, rows


def tables_from_notebook(nb) -> list[dict]:
    """Every table an executed notebook shows, in order: {'title', 'header', 'rows'}; the title
    is the nearest heading above it (a Markdown cell or a displayed Markdown output)."""
    out, heading = [], None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = _heading(cell.source) or heading
            continue
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "text/markdown" in data:
                heading = _heading(data["text/markdown"]) or heading
            html = data.get("text/html", "")
            if "<table" in html:
                parsed = table_from_html(html)
                if parsed and parsed[1]:
                    header, rows = parsed
                    out.append({"title": heading or (header[0] if header and header[0] else "Tabell"),
                                "header": header, "rows": rows})
    return out


def sheet_names(titles: list[str]) -> list[str]:
    """Unique Excel sheet names (≤ 31 characters, no []:*?/\\) from the tables' headings."""
    names: list[str] = []
    for t in titles:
        base = re.sub(r"\s+", " ", _BAD_SHEET_CHARS.sub(" ", t)).strip(" '") or "Tabell"
        name, n = base[:SHEET_MAX].strip(), 2
        while name.lower() in {x.lower() for x in names} or name.lower() == CONTENTS.lower():
            suffix = f" ({n})"
            name, n = base[:SHEET_MAX - len(suffix)].strip() + suffix, n + 1
        names.append(name)
    return names


def write_workbook(tables: list[dict], path: Path, title: str = "") -> Path | None:
    """Write the tables to ``path`` (one sheet each, after a contents sheet); None when there
    are no tables (no file is written)."""
    if not tables:
        return None
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    wb = Workbook()
    toc = wb.active
    toc.title = CONTENTS
    toc["A1"] = title or "Gymnasieprognos"
    toc["A1"].font = Font(bold=True, size=13)
    toc["A2"] = "Tabellerna i rapporten, en per blad. Tal är sparade som tal; intervall och namn som text."
    toc.append([])
    toc.append(["Blad", "Tabell"])
    for c in toc[4]:
        c.font = Font(bold=True)
    names = sheet_names([t["title"] for t in tables])
    for name, t in zip(names, tables):
        toc.append([name, t["title"]])
        toc.cell(toc.max_row, 1).hyperlink = f"#'{name}'!A1"
        ws = wb.create_sheet(name)
        ws["A1"] = t["title"]
        ws["A1"].font = Font(bold=True, size=12)
        ws.append([])
        ws.append(t["header"])
        for c in ws[3]:
            c.font = Font(bold=True)
            c.alignment = Alignment(wrap_text=True, vertical="bottom")
        widths = [len(h) for h in t["header"]]
        for r in t["rows"]:
            values = []
            for text in r:
                parsed = parse_number(text)
                values.append(parsed[0] if parsed else (text if text not in ("", "–") else None))
            ws.append(values)
            for j, text in enumerate(r, start=1):
                parsed = parse_number(text)
                if parsed:
                    ws.cell(ws.max_row, j).number_format = parsed[1]
                if j - 1 < len(widths):
                    widths[j - 1] = max(widths[j - 1], len(text))
                else:
                    widths.append(len(text))
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(8, w * 0.95 + 2), 45)
        ws.freeze_panes = "B4"
    toc.column_dimensions["A"].width = 34
    toc.column_dimensions["B"].width = 80
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


def write_report_workbook(nb, path: Path, title: str = "") -> Path | None:
    """The executed notebook's tables as ``path`` (.xlsx); None when it shows no table."""
    return write_workbook(tables_from_notebook(nb), path, title)

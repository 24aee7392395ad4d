"""Report presentation (issue 12, item 6–7): Excel workbooks, Swedish alt text, print style.
Hand-made notebooks and tables; the rendered run is checked in tests/test_reports.py."""
import matplotlib

matplotlib.use("agg")

import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

from forecast.report import excel, figures, page  # noqa: E402
from forecast.report.labels import fmt, pct  # noqa: E402

PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html()


def _notebook() -> nbformat.NotebookNode:
    """A small executed notebook: a heading, a ranked table, a displayed Markdown heading, a
    second table with a long heading, and a figure whose text/plain is its Swedish description."""
    flags = pd.DataFrame({"Namn": ["Täby enskilda", "Södertörns gymnasium"], "Platser": [fmt(1234), fmt(90)],
                          "Sannolikhet": [pct(0.72), pct(0.5)], "Intervall": ["1 200–1 350", "80–95"],
                          "Kostnad, mnkr/år": [fmt(12.5, 1), "–"]})
    flags.index = pd.RangeIndex(1, 3, name="Nr")
    cohorts = pd.DataFrame({"2027": [fmt(4015)]}, index=pd.Index(["Haninge"], name="16–18-åringar"))
    fig_out = new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "Karta över Haninge: tre skolor."})
    return new_notebook(cells=[
        new_markdown_cell("## Riskflaggor: brist och överkapacitet\n\nText."),
        new_code_cell("t", outputs=[new_output("execute_result", data={"text/html": _table_html(flags),
                                                                      "text/plain": "x"}, execution_count=1)]),
        new_code_cell("m", outputs=[new_output("display_data", data={"text/markdown": "### Unga i gymnasieåldern: "
                                                                                    "prognos per år och intervall"})]),
        new_code_cell("c", outputs=[new_output("execute_result", data={"text/html": _table_html(cohorts)},
                                               execution_count=3)]),
        new_code_cell("f", outputs=[fig_out]),
    ])


def test_swedish_numbers_become_excel_numbers_and_text_stays_text():
    assert excel.parse_number(fmt(1234567)) == (1234567, "#,##0")
    assert excel.parse_number("1 234") == (1234, "0")
    assert excel.parse_number(fmt(12.5, 1)) == (pytest.approx(12.5), "#,##0.0")
    assert excel.parse_number(pct(0.72)) == (pytest.approx(0.72), "0%")
    assert excel.parse_number("12,5 %") == (pytest.approx(0.125), "0.0%")
    assert excel.parse_number("−3") == (-3, "0")
    assert excel.parse_number("45.3") == (pytest.approx(45.3), "#,##0.0")     # a float pandas printed
    for text in ("1 200–1 350", "Haninge", "", "–", "2 3", "12 %x"):
        assert excel.parse_number(text) is None, text


def test_sheet_names_are_unique_short_and_legal():
    names = excel.sheet_names(["Riskflaggor: brist och överkapacitet per skolenhet", "Riskflaggor: brist och "
                               "överkapacitet per skolenhet", "a/b?c", "Innehåll"])
    assert all(len(n) <= 31 for n in names) and len({n.lower() for n in names}) == 4
    assert names[0] == "Riskflaggor brist och överkapac"
    assert not any(set(n) & set("[]:*?/\\") for n in names)
    assert names[1].endswith("(2)") and names[3] != "Innehåll"


def test_workbook_has_one_sheet_per_table_with_numbers(tmp_path):
    import openpyxl
    path = excel.write_report_workbook(_notebook(), tmp_path / "kommun_0136.xlsx", "Haninge")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Innehåll", "Riskflaggor brist och överkapac", "Unga i gymnasieåldern prognos p"]
    ws = wb["Riskflaggor brist och överkapac"]
    assert ws["A1"].value == "Riskflaggor: brist och överkapacitet"          # the full heading
    assert [c.value for c in ws[3]] == ["Nr", "Namn", "Platser", "Sannolikhet", "Intervall", "Kostnad, mnkr/år"]
    assert [c.value for c in ws[4]] == [1, "Täby enskilda", 1234, pytest.approx(0.72), "1 200–1 350",
                                        pytest.approx(12.5)]
    assert ws["D4"].number_format == "0%" and ws["F5"].value is None          # "–" is an empty cell
    assert wb["Unga i gymnasieåldern prognos p"]["B4"].value == 4015
    assert excel.write_report_workbook(new_notebook(cells=[]), tmp_path / "none.xlsx") is None
    assert not (tmp_path / "none.xlsx").exists()


def test_report_page_has_swedish_alt_text_print_css_and_the_excel_link():
    html = page.render_report_html(_notebook(), "Haninge", "kommun_0136.xlsx")
    assert 'alt="Karta över Haninge: tre skolor."' in html
    assert "No description has been provided" not in html
    assert 'lang="sv"' in html and "<title>Haninge</title>" in html
    assert "@page { size: A4 portrait" in html and "break-after: avoid" in html
    assert 'href="kommun_0136.xlsx"' in html
    assert "Excel" not in page.render_report_html(_notebook(), "Haninge")   # no workbook, no link


def test_every_figure_describes_itself_in_swedish(tmp_path):
    """A figure's repr is its Swedish description: that is the text/plain the template turns into alt text."""
    fig, ax = figures._figure(figures.WIDTH, 3)
    assert repr(fig).startswith("<ReportFigure")                               # no description yet
    figures._describe(fig, "Linjediagram:  antal\n elever")
    assert repr(fig) == "Linjediagram: antal elever" and fig.dpi >= 150
    figures._swedish_axis(ax.yaxis)
    assert ax.yaxis.get_major_formatter()(123456, 0) == "123\u00a0456"
    figures._swedish_axis_g(ax.xaxis)
    assert ax.xaxis.get_major_formatter()(2.5, 0) == "2,5"
    assert figures._unit_name("Kärrtorps gymnasium 37839488") == "Kärrtorps gymnasium"
    matplotlib.pyplot.close(fig)


def test_table_headings_wrap_at_syllable_joints_only():
    """Soft hyphens let a narrow print column wrap a long heading word; the text is unchanged."""
    assert page.hyphenate("Sannolikhet") == "San\u00adno\u00adlik\u00adhet"
    assert page.hyphenate("Platser").replace("\u00ad", "") == "Platser" and page.hyphenate("Nr") == "Nr"
    html = page.hyphenate_headers('<th class="x">Efterfrågan (80 %)</th><td>Sannolikhet 1\u00a0234</td>')
    assert html == '<th class="x">Efterfrå\u00adgan (80 %)</th><td>Sannolikhet 1\u00a0234</td>'   # cells untouched

"""Report content (forecast.report figures, tables, texts, labels): hand-computed frames and labels."""
import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from forecast import plots  # noqa: E402
from forecast.report import figures, labels, tables  # noqa: E402


def test_zoom_frames_points_square_with_margin_and_minimum_span():
    fig, ax = plt.subplots()
    # 60 km wide, 20 km tall: square of 60 + 2·8 = 76 km around the centre (130, 510) km
    figures._zoom(ax, [100_000, 160_000], [500_000, 520_000])
    assert ax.get_xlim() == pytest.approx((92_000, 168_000))
    assert ax.get_ylim() == pytest.approx((472_000, 548_000))
    # one point: the minimum span (40 km) plus margins
    figures._zoom(ax, [0], [0])
    assert ax.get_xlim() == pytest.approx((-28_000, 28_000))
    plt.close(fig)


def test_ranked_lists_are_numbered_from_one():
    df = tables._numbered(pd.DataFrame({"a": [5, 6, 7]}, index=[10, 3, 8]))
    assert list(df.index) == [1, 2, 3] and df.index.name == "Nr" and list(df.a) == [5, 6, 7]


def test_swedish_number_format():
    assert labels.fmt(1234567.891, 1) == "1\u00a0234\u00a0567,9"        # no-break spaces
    assert labels.fmt(-20) == "\u221220" and labels.signed(75) == "+75" and labels.signed(0.2) == "0"
    assert labels.pct(0.256) == "26\u00a0%"                             # never wraps before %
    assert labels.fmt(float("nan")) == "–"


def test_risk_rows_read_as_names():
    class RD:
        def name(self, code):
            return {"0136": "Haninge"}.get(code, code)
    rd, units = RD(), {"12345678": "Haninge gymnasium"}
    assert labels._area_name(rd, "12345678", "enhet", units) == "Haninge gymnasium"
    assert labels._area_name(rd, "0136", "kommun") == "Haninge"
    assert labels._area_name(rd, "syd", "kluster") == "syd"
    assert labels._area_name(rd, "HF", "programgrupp") == "hela regionen"


def test_forecast_plots_still_re_exports_the_report_content():
    """Code written against forecast.plots keeps working while it moves to forecast.report."""
    assert plots.plot_cohort is figures.plot_cohort and plots.table_flags is tables.table_flags
    assert plots.fmt is labels.fmt


def test_fallback_locations_name_both_kinds_escaped():
    """A27 units without coordinates and A81 names without a unit are named, each under its own
    heading, with names from the files escaped; nothing to say gives an empty string."""
    from types import SimpleNamespace

    from forecast.report.texts import text_fallback_locations
    units = pd.DataFrame({
        "skolenhetskod": ["1", "1", "namn:<b>X</b>", "2"],
        "skola": ["Arena Academy", "Arena Academy", "<b>X</b>", "Vanlig"],
        "kommun_kod": ["0180", "0180", "0182", "0180"],
        "coordinate_flag": ["fallback_municipality_centroid", "fallback_municipality_centroid",
                            "fallback_unmatched_name", ""]})
    rd = SimpleNamespace(units=units, name={"0180": "Stockholm", "0182": "Nacka"}.get)
    text = text_fallback_locations(rd)
    assert "**Utan koordinater:** 1 skolenheter" in text and "Arena Academy (Stockholm)" in text
    assert "**Utan skolenhetskod:** 1 skolnamn" in text and "&lt;b&gt;X&lt;/b&gt; (Nacka)" in text
    assert "<b>" not in text and "Vanlig" not in text
    rd.units = units[units.coordinate_flag == ""]
    assert text_fallback_locations(rd) == ""

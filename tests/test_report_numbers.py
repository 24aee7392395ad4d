"""Report numbers on small hand-made tables: places needed, observed beside forecast, owner split,
flag lists, the intake record contract and the notebooks' parameter checks."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ParameterError
from forecast.observed import build_observed
from forecast.report import params, tables, texts
from forecast.risk import summarise_year


def _risk(rows):
    cols = ["year", "level", "area", "group", "places", "demand", "demand_lo80", "demand_hi80", "p_overcapacity",
            "p_shortage", "units", "units_overcapacity", "units_shortage"]
    return pd.DataFrame(rows, columns=cols)


def test_places_needed_hand_computed_and_no_forecast_row_for_an_observed_year():
    risk = _risk([
        # a forecast row for 2024, an observed year: must not survive
        (2024, "kommun", "0136", "HF", 400.0, 470.0, 430.0, 520.0, 0.1, 0.9, 3, 0, 2),
        (2025, "kommun", "0136", "HF", 400.0, 475.0, 440.0, 510.0, 0.05, 0.95, 3, 1, 2),
        (2026, "kommun", "0136", "HF", 400.0, 380.0, 350.0, 415.0, 0.6, 0.2, 3, 2, 0),
    ])
    observed = pd.DataFrame({"year": [2023, 2024], "level": "kommun", "area": "0136", "group": "HF",
                             "places": [400.0, 410.0], "admitted": [390.0, 405.0], "reserves": [12.0, 30.0],
                             "vacant": [10.0, 5.0]})
    n = tables.places_needed(risk, observed, last_observed=2024)
    assert list(zip(n.year, n.kind)) == [(2023, "utfall"), (2024, "utfall"), (2025, "prognos"), (2026, "prognos")]
    f = n[n.kind == "prognos"].set_index("year")
    # needed = demand − places; interval = demand interval − places
    assert f.loc[2025, ["needed", "needed_lo80", "needed_hi80"]].tolist() == [75.0, 40.0, 110.0]
    assert f.loc[2026, ["needed", "needed_lo80", "needed_hi80"]].tolist() == [-20.0, -50.0, 15.0]
    o = n[n.kind == "utfall"].set_index("year")
    assert o.loc[2024, "needed"] == -5.0 and o.loc[2024, "reserves"] == 30.0
    # a mixed municipality is named as such
    assert tables.mixed_text(2, 1) == "blandat: 2 fulla enheter, 1 med tomma platser"
    assert tables.mixed_text(0, 3) == ""


def test_places_needed_sentence_states_the_answer():
    s = texts.sentence_places_needed("Haninge", 2030, "HF", 74.0, 41.0, 108.0)
    assert s == ("I Haninge behövs 2030 omkring **75 fler högskoleförberedande platser** än i dag "
                 "(80 % intervall 40–110 fler).")
    assert "för många" in texts.sentence_places_needed("Nacka", 2030, "YP", -60.0, -90.0, -20.0)
    assert "räcker" in texts.sentence_places_needed("Nacka", 2030, "YP", 10.0, -30.0, 45.0)


def test_observed_table_from_admissions_with_weights_reserves_and_owner():
    adm = pd.DataFrame({
        "year": [2023, 2023, 2023, 2023], "skola": ["A", "A", "B", "C"], "school_kommun_kod": ["0136"] * 4,
        "programme_group": ["HF", "HF", "HF", "IM"], "in_totals": [True, False, True, True],
        "places": [100, 100, 60, 10], "admitted": [90, 90, 60, 10], "vacant": [10, 10, 0, 0],
        "reserves": [0, 0, 8, 0]})
    cw = pd.DataFrame({"year": 2023, "skola": ["A", "B", "B"], "school_kommun_kod": "0136",
                       "skolenhetskod": ["11111111", "22222222", "33333333"], "rule": "exact",
                       "weight": [1.0, 0.5, 0.5]})
    units = pd.DataFrame({"skolenhetskod": ["11111111", "22222222", "33333333"], "kommun_kod": "0136",
                          "owner_type": ["kommunal", "enskild", "enskild"]})
    o = build_observed(adm, cw, units, {"0136": "syd"})
    k = o[(o.level == "kommun")].iloc[0]
    assert (k.places, k.admitted, k.vacant, k.reserves, k.units) == (160.0, 150.0, 10.0, 8.0, 3)
    assert (k.vacant_municipal, k.vacant_independent) == (10.0, 0.0)
    assert o[o.level == "enhet"].set_index("area").loc["22222222", "places"] == 30.0
    assert set(o.level) == {"enhet", "kommun", "kluster", "programgrupp"} and set(o.group) == {"HF"}


def test_owner_split_totals_hand_computed():
    """Two units in one municipality, one municipal and one independent, two simulated paths."""
    units = pd.DataFrame({"skolenhetskod": ["1", "2"], "kommun_kod": ["0136", "0136"],
                          "owner_type": ["kommunal", "enskild"]})
    model = SimpleNamespace(units=units)
    rm = SimpleNamespace(models={"HF": model, "YP": SimpleNamespace(units=units.iloc[0:0])},
                         costs=pd.DataFrame({"kommun_kod": ["0136"], "cost_per_place_sek": [100.0],
                                             "premises_per_place_sek": [10.0]}),
                         clusters={"0136": "syd"})
    sim = {"HF": {"places": np.array([100.0, 50.0]), "placed": np.array([[80.0, 50.0], [100.0, 30.0]]),
                  "wanted": np.array([[80.0, 60.0], [120.0, 30.0]]), "displaced": np.zeros(2)},
           "YP": {"places": np.zeros(0), "placed": np.zeros((2, 0)), "wanted": np.zeros((2, 0)),
                  "displaced": np.zeros(2)}}
    df = summarise_year(rm, sim, 2030)
    k = df[df.level == "kommun"].iloc[0]
    # empty places: path 1: 20 (municipal) + 0; path 2: 0 + 20 (independent) → means 10 and 10
    assert k.empty_places_municipal == 10.0 and k.empty_places_independent == 10.0
    assert k.empty_places == k.empty_places_municipal + k.empty_places_independent
    assert k.cost_empty_municipal_sek == 1000.0 and k.cost_empty_independent_sek == 1000.0
    assert k.cost_empty_sek == k.cost_empty_municipal_sek + k.cost_empty_independent_sek
    assert k.places_municipal == 100.0
    # unit 1 below θ in 1 of 2 paths (P = 0.5: flagged); unit 2 short in 1 of 2 (flagged), under θ in 1
    assert (k.units, k.units_overcapacity, k.units_shortage) == (2, 2, 2)


def test_flag_list_one_row_per_unit_with_its_flag_years():
    r = _risk([(y, "enhet", "1", "HF", 100.0, 80.0, 70.0, 90.0, 0.8, 0.0, 1, 1, 0) for y in (2025, 2026, 2028)]
              + [(2026, "enhet", "2", "HF", 100.0, 130.0, 110.0, 150.0, 0.0, 0.9, 1, 0, 1)])
    r["flag_overcapacity"] = r.p_overcapacity >= 0.5
    r["flag_shortage"] = r.p_shortage >= 0.5
    over = tables.flag_list(r, "overcapacity", 2026, "enhet")
    assert list(over.area) == ["1"] and over.flag_years.iloc[0] == [2025, 2026, 2028]
    assert tables.years_text([2025, 2026, 2028]) == "2025–2026, 2028"
    short = tables.flag_list(r, "shortage", 2026, "enhet")
    assert list(short.area) == ["2"]


def test_intake_record_against_the_scores_contract():
    s = pd.DataFrame({
        "variant": "places_unknown", "horizon": 1, "level": ["municipality"] * 3 + ["unit_group"] * 3,
        "forecaster": ["model", "persistence", "persistence_growth"] * 2,
        "mape": [8.7, 6.3, 7.0, 24.0, 18.3, 20.0], "medape": 1.0, "wape": [7.6, 3.5, 5.0, 10.0, 12.0, 12.5],
        "bias": [-1.0, 0.5, 0.2, 2.0, 0.1, 0.3], "n": [80, 80, 80, 500, 500, 500], "skill_wape": np.nan,
        "origin": "pooled"})
    # the scores tables also hold one row per origin: only the pooled rows are shown
    s = pd.concat([s, s.assign(origin=2022, wape=99.0)], ignore_index=True)
    r = tables.intake_record(s, "places_unknown", 1).set_index("level")
    assert r.loc["municipality", "best_yardstick"] == "persistence"
    assert r.loc["municipality", "skill"] == pytest.approx(1 - 7.6 / 3.5)
    assert r.loc["unit_group", "skill"] == pytest.approx(1 - 10.0 / 12.0)
    rd = SimpleNamespace(intake_scores=s, meta={"intake_origins": [2022, 2023]})
    txt = texts.text_intake_record(rd)
    assert "sämre än" in txt and "bättre än" in txt and "förlorar" in txt
    # absent tables: a plain note, not a failure
    assert "finns inte" in texts.text_intake_record(SimpleNamespace(meta={}))
    assert tables.table_intake_record(SimpleNamespace(meta={})) is None


NAMES = {"0136": "Haninge", "0138": "Tyresö", "0180": "Stockholm"}


@pytest.mark.parametrize("given, code", [("0138", "0138"), (138, "0138"), (180, "0180"), ("138", "0138"),
                                         ("Tyresö", "0138"), ("tyresö", "0138")])
def test_kommun_is_coerced_from_code_int_or_name(given, code):
    assert params.coerce_kommun(given, NAMES) == code


@pytest.mark.parametrize("given", ["9999", 9999, "Tyresöö", "Göteborg", True, 1.5])
def test_unknown_kommun_is_a_clear_error(given):
    with pytest.raises(ParameterError, match="kommun"):
        params.coerce_kommun(given, NAMES)


def test_an_injected_parameter_the_notebook_does_not_declare_is_an_error():
    # IPython's input history as papermill leaves it: imports, parameters cell, injected cell, this cell
    history = ["", "from forecast.report import params",
               'kommun: str = "0136"  # municipality\nhorizon: int = 10  # years\ntheta: float = 0.9  # θ',
               "# Parameters\nkommnu = 180\ntheta = 1\n", "p = params.check_parameters(globals())"]
    ns = {"__annotations__": {"kommun": str, "horizon": int, "theta": float}, "In": history,
          "kommun": "0136", "horizon": 10, "theta": 1, "kommnu": 180}
    with pytest.raises(ParameterError, match=r"unknown parameter 'kommnu' \(did you mean 'kommun'\?\)"):
        params.check_parameters(ns)
    # in JupyterLab, after a full run, re-running the parameters and check cells is fine
    ns["In"] = history[:3] + ["rd = get_run_data(data_dir)", "years = [2025, 2026]", history[2], history[4]]
    ns["kommun"] = 138
    assert params.check_parameters(ns)["kommun"] == "0138"   # and int 1 is a valid float
    ns["horizon"] = "10"
    with pytest.raises(ParameterError, match="horizon must be int"):
        params.check_parameters(ns)


def test_a_municipality_without_schools_gets_sentences_not_errors():
    """Ekerö, Vaxholm and Gnesta have no gymnasium places of their own: every content function
    the kommun report calls must answer in words."""
    risk = _risk([(2030, "kommun", "0136", "HF", 100.0, 90.0, 80.0, 100.0, 0.6, 0.1, 1, 1, 0)])
    risk["flag_overcapacity"], risk["flag_shortage"] = risk.p_overcapacity >= 0.5, risk.p_shortage >= 0.5
    units = pd.DataFrame({"skolenhetskod": ["1"], "skola": ["Haninge gymnasium"], "kommun_kod": ["0136"],
                          "owner_type": ["kommunal"]})
    rd = SimpleNamespace(risk=risk, units=units, observed=None, meta={"years": [2030], "origin": 2029, "theta": 0.9,
                                                                       "flag_probability": 0.5},
                         name=lambda c: {"0187": "Vaxholm"}.get(c, c))
    assert "inga egna gymnasieplatser" in tables.table_owner_split(rd, 2030, "0187").iloc[0, 0]
    assert "Ingen" in tables.table_flag_list(rd, "overcapacity", 2030, "enhet", kommun="0187").iloc[0, 0]
    assert "inga egna gymnasieplatser" in texts.text_places_needed(rd, "kommun", "0187", 2030)
    assert "inga egna gymnasieplatser" in tables.table_places_needed(rd, "kommun", "0187").iloc[0, 0]


def test_a_notebook_reuses_the_latest_run_only_when_inputs_code_and_parameters_match(tmp_path):
    import json

    from forecast.rundata import _same_run
    (tmp_path / "meta.json").write_text(json.dumps({"input_stamp": "abc", "horizon": 10, "seed": 1}))
    assert not _same_run(tmp_path, "abc", {"horizon": 10})                  # no backtest.json: incomplete
    (tmp_path / "backtest.json").write_text("{}")
    assert _same_run(tmp_path, "abc", {"horizon": 10, "seed": 1, "base_year": None})
    assert not _same_run(tmp_path, "abd", {"horizon": 10})                  # other inputs or code
    assert not _same_run(tmp_path, "abc", {"horizon": 5})                   # other parameters
    assert not _same_run(tmp_path, "abc", {"origin": 2023})                 # a parameter it does not state
    assert not _same_run(tmp_path / "missing", "abc", {})


def test_papermill_with_a_misspelt_parameter_stops_before_any_computation(tmp_path):
    """`papermill 10_kommun.ipynb -p kommnu 180`: an error naming the parameter, raised by the
    cell after the parameters, before the run data are read or computed."""
    import nbformat
    import papermill as pm

    from forecast.paths import PROJECT_ROOT
    nb_dir = PROJECT_ROOT / "notebooks"
    out = tmp_path / "out.ipynb"
    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter 'kommnu'"):
        pm.execute_notebook(str(nb_dir / "10_kommun.ipynb"), str(out), parameters={"kommnu": 180},
                            cwd=str(nb_dir), progress_bar=False, kernel_name="python3")
    cells = nbformat.read(out, as_version=4).cells
    load = next(c for c in cells if "get_run_data(" in c.source)
    assert load.execution_count is None and not load.outputs          # nothing was computed



def test_scenario_content_from_the_file_is_restated_as_inert_text():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    meta = {"scenario": {"label": "<img src=x onerror=alert(1)>", "description": "<script>alert(2)</script>",
                         "schools": [{"action": "new", "name": "<b onmouseover=alert(3)>X</b>", "kommun_kod": "0136",
                                      "programme_group": "HF", "places": 300, "first_year": 2028}],
                         "population": [{"kommun_kod": "0136", "year": 2027, "persons": 400,
                                         "note": "[klick](javascript:alert(4))"}]}}
    sc = SimpleNamespace(meta=meta, name=lambda c: "Haninge")
    out = markdown2html_mistune(texts.text_scenario_content(sc))
    assert "<img" not in out and "<script" not in out and "<b " not in out and 'href="javascript' not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out and "300 platser" in out


def test_reports_link_documents_that_exist_in_the_run_folder(tmp_path):
    """The reports link docs/assumptions.html and docs/methods.html relative to the run folder."""
    import re

    from forecast.report.docs import write_docs
    written = {p.name for p in write_docs(tmp_path)}
    links = re.findall(r"\]\((docs/[^)]+)\)", texts.text_sources(SimpleNamespace(meta={"flows_basis": "estimated"})))
    assert links and all((tmp_path / link).is_file() for link in links), (links, written)

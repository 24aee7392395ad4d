"""Intake forecast and its real-time backtest: hand-computed cases, conservation, yardsticks on a
tiny table, and the truncation test (inputs cut after the origin give the same forecast)."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecast import intake
from forecast.intake import IntakeParams


def panel_rows(rows):
    cols = ["year", "skolenhetskod", "group", "places", "admitted", "vacant", "reserves", "competitive",
            "kommun_kod", "owner_type", "skola", "cluster"]
    p = pd.DataFrame(rows, columns=cols)
    p["full"] = (p.places > 0) & (p.vacant <= intake.FULL_VACANT_SHARE * p.places)
    return p


PANEL = panel_rows([
    (2021, "11111111", "HF", 100, 100, 0, 30, True, "0180", "kommunal", "Alfa", "centrala"),
    (2021, "22222222", "HF", 80, 50, 30, 0, False, "0180", "enskild", "Beta", "centrala"),
    (2020, "11111111", "HF", 100, 80, 20, 0, False, "0180", "kommunal", "Alfa", "centrala"),
    (2020, "22222222", "HF", 80, 50, 30, 0, False, "0180", "enskild", "Beta", "centrala"),
])
GROWTH = pd.DataFrame({"area": ["region", "0180"], "year": [2022, 2022], "h": [1, 1], "growth": [1.1, 1.2]})


def test_place_with_spill_by_hand_and_students_conserved():
    fc = pd.DataFrame({"group": ["HF", "HF", "YP"], "demand": [100.0, 50.0, 10.0], "places_used": [80.0, 70.0, 5.0]})
    out = intake.place_with_spill(fc, spill=0.5)
    # HF: excess 20, half of it (10) spills to the only unit with room (20 free); YP: excess 5, no room
    assert out.predicted.tolist() == [80.0, 60.0, 5.0]
    assert out.attrs["not_placed"] == {"HF": 10.0, "YP": 5.0}
    for g in ("HF", "YP"):
        placed = out[out.group == g].predicted.sum()
        assert placed + out.attrs["not_placed"][g] == pytest.approx(out.attrs["entrants"][g])


def test_forecast_year_by_hand():
    p = IntakeParams(growth="region", alpha=0.5, spill=0.0)
    announced = pd.DataFrame({"skolenhetskod": ["11111111", "22222222"], "group": ["HF", "HF"],
                              "places": [120.0, 80.0]})
    fc = intake.forecast_year(PANEL, 2021, 2022, GROWTH, p, announced).set_index("skolenhetskod")
    # Alfa full with 30 reserves: 100·1.1 + 0.5·min(30, 100) = 125, capped at the announced 120
    assert fc.loc["11111111", "demand"] == pytest.approx(125.0)
    assert fc.loc["11111111", "predicted"] == pytest.approx(120.0)
    # Beta has room: 50·1.1 = 55
    assert fc.loc["22222222", "predicted"] == pytest.approx(55.0)
    assert fc.attrs["not_placed"]["HF"] == pytest.approx(5.0)


def test_momentum_and_municipal_growth_by_hand():
    p = IntakeParams(growth="municipality", alpha=0.0, spill=0.0, slack=float("inf"), phi=-0.5)
    fc = intake.forecast_year(PANEL, 2021, 2022, GROWTH, p).set_index("skolenhetskod")
    # Alfa rose 80 -> 100: reverts by (100/80)^-0.5; growth of 0180 = 1.2; no cap (slack inf)
    assert fc.loc["11111111", "predicted"] == pytest.approx(100 * 1.2 * (100 / 80) ** -0.5)
    assert fc.loc["22222222", "predicted"] == pytest.approx(50 * 1.2)


def test_new_unit_gets_the_fill_of_earlier_new_units():
    announced = pd.DataFrame({"skolenhetskod": ["11111111", "33333333"], "group": ["HF", "HF"], "places": [100.0, 60.0],
                              "kommun_kod": ["0180", "0180"], "cluster": ["centrala"] * 2,
                              "owner_type": ["kommunal", "enskild"], "skola": ["Alfa", "Gamma"]})
    fc = intake.forecast_year(PANEL, 2021, 2022, GROWTH, intake.DEFAULT, announced, new_fill=0.5).set_index("skolenhetskod")
    assert fc.loc["33333333", "predicted"] == pytest.approx(30.0) and fc.loc["33333333", "new_unit"]
    assert fc.loc["22222222", "predicted"] == 0.0      # not among the announced: closed


def test_entrant_growth_from_grade_counts_by_hand():
    rows = []
    for year, g7, g8, g9 in ((2019, 90, 95, 100), (2020, 100, 90, 95), (2021, 110, 100, 90)):
        for grade, n in ((7, g7), (8, g8), (9, g9)):
            rows.append((year, "0180", grade, float(n)))
    grades = pd.DataFrame(rows, columns=["school_year", "kommun_kod", "grade", "pupils"])
    g = intake.entrant_growth(grades, 2021, 3).set_index(["area", "h"]).growth
    # h=1: grade 9 of autumn 2021 over grade 9 of 2020 (the entrants of 2021)
    assert g[("region", 1)] == pytest.approx(90 / 95)
    # h=2: grade 8 of 2021 × the 8→9 progression (2020: 95/95, 2021: 90/90 → 1.0) over 95
    pr89 = (95 + 90) / (95 + 90)
    assert g[("region", 2)] == pytest.approx(100 * pr89 / 95)
    # h=3: grade 7 × 7→8 × 8→9 progression
    pr78 = (90 + 100) / (90 + 100)
    assert g[("0180", 3)] == pytest.approx(110 * pr78 * pr89 / 95)


def test_scores_and_yardsticks_on_a_tiny_table():
    items = pd.DataFrame({"origin": 2021, "year": 2022, "h": 1, "variant": "places_announced",
                          "skolenhetskod": ["a", "b"], "group": "HF", "kommun_kod": ["0180", "0182"],
                          "cluster": "c", "actual": [100.0, 50.0], "predicted": [110.0, 50.0],
                          "persistence": [90.0, 40.0], "persistence_growth": [99.0, 44.0],
                          "persistence_capped": [90.0, 40.0]})
    st = intake.score_table(items)
    ug = st[(st.level == "unit_group") & (st.origin == "pooled")].set_index("forecaster")
    assert ug.loc["model", "wape"] == pytest.approx(10 / 150 * 100)
    assert ug.loc["persistence", "wape"] == pytest.approx(20 / 150 * 100)
    assert ug.loc["persistence_growth", "wape"] == pytest.approx(7 / 150 * 100)
    assert ug.loc["model", "mape"] == pytest.approx(5.0)
    # skill against the better yardstick (persistence × growth here)
    assert ug.loc["model", "skill_wape"] == pytest.approx(1 - 10 / 7)
    reg = st[(st.level == "region") & (st.origin == "pooled")].set_index("forecaster")
    assert reg.loc["model", "wape"] == pytest.approx(10 / 150 * 100) and reg.loc["model", "n"] == 1


def test_probabilities_and_intervals_from_residuals_by_hand():
    pool = np.log(np.array([0.5, 1.0, 1.0, 2.0]))
    po, ps = intake.probabilities(np.array([90.0]), np.array([100.0]), pool, theta=0.9)
    # outcomes 45, 90, 90, 180 capped at 100 -> utilisation .45 .9 .9 1: one of four below 0.9
    assert po[0] == pytest.approx(0.25) and ps[0] == pytest.approx(0.25)


@pytest.fixture(scope="module")
def real():
    from forecast.data import load_table
    tables = {n: load_table(n) for n in intake.INPUT_TABLES}
    return tables


def test_truncated_inputs_give_the_same_forecast(real):
    """Cut every input after T: the forecast for T + 1 (settings, intake, probabilities) is the same."""
    T = 2022
    full = intake.inputs_from_tables(real)
    cut = intake.inputs_from_tables(intake.cut_tables(real, T))
    a = intake.forecast(*full, origin=T, horizons=(1, 2))
    b = intake.forecast(*cut, origin=T, horizons=(1, 2))
    assert a.attrs["params"] == b.attrs["params"]
    cols = ["skolenhetskod", "group", "year", "predicted", "p_overcapacity", "p_shortage", "lo80", "hi80"]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
    # and the backtest's forecast made at T equals the forecast function's
    bt = intake.backtest(*full, origins=[2020, 2021, 2022], horizons=(1,))
    made = bt.items[(bt.items.origin == T) & (bt.items.variant == "places_unknown") & (bt.items.admitted_origin > 0)]
    m = made.set_index(["skolenhetskod", "group"]).predicted
    f = a[(a.h == 1) & (a.admitted_origin > 0)].set_index(["skolenhetskod", "group"]).predicted
    assert len(f) == len(m) > 200
    assert np.allclose(m.reindex(f.index).to_numpy(), f.to_numpy())


def test_panel_keeps_units_without_coordinates_and_unmatched_names(real):
    panel, _ = intake.inputs_from_tables(real)
    p24 = panel[panel.year == 2024]
    adm = real["admissions"]
    national = adm[(adm.year == 2024) & adm.in_totals & adm.is_national].admitted.sum()
    assert p24.admitted.sum() == pytest.approx(national)          # nobody lost
    assert "35084976" in set(p24.skolenhetskod)                    # Arena Academy (no coordinates)
    assert any(c.startswith("namn:Thoren Business School Medborgarplatsen") for c in p24.skolenhetskod)


def test_unallocated_growth_counts_in_totals_not_at_unit_level():
    growth = pd.DataFrame({"area": ["region"], "year": [2022], "h": [1], "growth": [1.1]})
    past = PANEL[PANEL.year <= 2021]
    fc = intake.forecast_year(past, 2021, 2022, growth, IntakeParams(growth="none"))
    rows = intake.unallocated_rows(past, fc, growth, 2021, 2022)
    # region intake 150 at the origin × 1.1 = 165; the units forecast 100 + 50 = 150 -> 15 unallocated
    assert rows.predicted.sum() == pytest.approx(15.0) and rows.unallocated.all()
    items = pd.concat([fc.assign(actual=[100.0, 60.0], unallocated=False), rows], ignore_index=True)
    items[["origin", "year", "h", "variant"]] = 2021, 2022, 1, "places_unknown"
    items["persistence"] = items.admitted_origin
    items["persistence_growth"] = items.admitted_origin * 1.1
    st = intake.score_table(items).set_index(["level", "forecaster", "origin"])
    assert st.loc[("unit_group", "model", "pooled"), "n"] == 2                 # pseudo-items left out
    assert st.loc[("region", "model", "pooled"), "wape"] == pytest.approx(5 / 160 * 100)   # 165 vs 160


def test_platt_recalibration_known_answer():
    p = np.linspace(0.02, 0.98, 200)
    true = 1 / (1 + np.exp(-(0.5 + 2.0 * np.log(p / (1 - p)))))
    a, b = intake.platt_fit(p, true)          # expected outcomes: the MLE recovers the map exactly
    assert a == pytest.approx(0.5, abs=1e-6) and b == pytest.approx(2.0, abs=1e-6)
    assert np.allclose(intake.platt_apply(p, a, b), true)
    assert intake.platt_fit(p[:50], true[:50]) == (0.0, 1.0)      # too few earlier flags: identity


STATE_PANEL = panel_rows([
    # X: below θ in 2020, above in 2021, below in 2022
    (2020, "X", "HF", 100, 80, 20, 0, False, "0180", "kommunal", "X", "c"),
    (2021, "X", "HF", 100, 95, 5, 0, False, "0180", "kommunal", "X", "c"),
    (2022, "X", "HF", 100, 70, 30, 0, False, "0180", "kommunal", "X", "c"),
    # Z: new in 2021 (below), above in 2022
    (2021, "Z", "HF", 50, 20, 30, 0, False, "0180", "kommunal", "Z", "c"),
    (2022, "Z", "HF", 50, 50, 0, 0, False, "0180", "kommunal", "Z", "c"),
    # W: full in 2020; 2021 places raised to 80 and 59 admitted (below); closed in 2022
    (2020, "W", "HF", 60, 60, 0, 0, False, "0180", "kommunal", "W", "c"),
    (2021, "W", "HF", 80, 59, 21, 0, False, "0180", "kommunal", "W", "c"),
])


def test_persistence_state_by_hand():
    s = intake.persistence_state(np.array([80.0, 95.0, 0.0, 60.0]), np.array([100.0, 100.0, 0.0, 60.0]), None, 0.9)
    assert s.tolist() == [1.0, 0.0, intake.NEW_STATE, 0.0]
    # announced places: + 10 when the origin's intake fills less than θ of them (60/80 = 0.75)
    s = intake.persistence_state(np.array([80.0, 95.0, 0.0, 60.0]), np.array([100.0, 100.0, 0.0, 60.0]),
                                 np.array([100.0, 100.0, 40.0, 80.0]), 0.9)
    assert s.tolist() == [11.0, 0.0, intake.NEW_STATE, 10.0]


def test_state_pairs_by_hand_lag_and_announced():
    def pairs(**kw):
        p = intake._state_pairs(STATE_PANEL, 0.9, **kw)
        return sorted(zip(p.prev.tolist(), p.outcome.tolist()))
    N = intake.NEW_STATE
    # lag 1, outcome years 2021-2022: X21 (1 → 0), Z21 (new → 1), W21 (0 → 1), X22 (0 → 1), Z22 (1 → 0)
    assert pairs() == sorted([(1.0, 0.0), (N, 1.0), (0.0, 1.0), (0.0, 1.0), (1.0, 0.0)])
    # lag 2: only 2022 outcomes, states of 2020: X (1 → 1), Z (absent in 2020: new → 0)
    assert pairs(lag=2) == sorted([(1.0, 1.0), (N, 0.0)])
    # announced: + 10 if the earlier intake fills < θ of the outcome year's places:
    # X21 80/100 → 11; W21 60/80 → 10; X22 95/100 → 0; Z22 20/50 → 11
    assert pairs(announced=True) == sorted([(11.0, 0.0), (N, 1.0), (10.0, 1.0), (0.0, 1.0), (11.0, 0.0)])
    # nothing from after the panel's last year, nothing before its first
    assert intake._state_pairs(STATE_PANEL[STATE_PANEL.year <= 2020], 0.9).empty


def test_flag_yardsticks_use_the_same_information_by_hand():
    """Origin 2021, h = 1 to 2022: calibrated persistence from the 2020 → 2021 pairs only."""
    cur = pd.DataFrame({"skolenhetskod": ["X", "Z", "N"], "group": "HF", "h": 1,
                        "admitted_origin": [95.0, 20.0, 0.0], "places_origin": [100.0, 50.0, 0.0],
                        "actual": [70.0, 50.0, 10.0], "places_actual": [100.0, 50.0, 40.0]})
    growth = pd.DataFrame({"area": ["region"], "h": [1], "growth": [1.0]})
    out = intake._add_yardsticks(cur.copy(), STATE_PANEL, growth, 2021, "places_unknown", 0.9)
    # pairs 2020 → 2021: X (1 → 0), Z (new → 1), W (0 → 1); base rate 2/3
    assert out.p_base_rate.tolist() == pytest.approx([2 / 3] * 3)
    # X state 0 → P = 1 (W); Z state 1 → P = 0 (X); N new → P = 1 (Z)
    assert out.p_persistence_calibrated.tolist() == pytest.approx([1.0, 0.0, 1.0])
    assert out.outcome_overcapacity.tolist() == [1.0, 0.0, 1.0]
    # 0/1 persistence: the origin's state; a new unit gets the share below θ at the origin (2/3: Z, W)
    assert out.p_persistence_01.tolist() == pytest.approx([0.0, 1.0, 2 / 3])
    ann = intake._add_yardsticks(cur.copy(), STATE_PANEL, growth, 2021, "places_announced", 0.9)
    # announced states: X 95/100 → 0, Z 20/50 → 11, N new; pairs: X21 11 → 0, Z21 new → 1, W21 10 → 1
    assert ann.p_persistence_calibrated.tolist() == pytest.approx([2 / 3, 0.0, 1.0])   # state 0 unseen: base rate


def test_stack_fit_known_answer():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(0, 2, 300), rng.uniform(-1, 1, 300)])
    true = 1 / (1 + np.exp(-(-0.5 + 0.8 * x[:, 0] - 1.5 * x[:, 1])))
    # expected outcomes: without a penalty the maximum-likelihood fit recovers the map exactly
    m = intake.stack_fit(x, true, ridge=0.0)
    assert np.allclose(intake.stack_apply(m, x, np.full(300, 0.5)), true, atol=1e-8)
    assert m["beta"][1] == pytest.approx(0.8 * x[:, 0].std()) and m["beta"][2] == pytest.approx(-1.5 * x[:, 1].std())
    # a penalty shrinks the standardised slopes towards 0 and leaves the intercept free
    s = intake.stack_fit(x, true, ridge=50.0)
    assert 0 < s["beta"][1] < m["beta"][1] and m["beta"][2] < s["beta"][2] < 0
    # one feature, the logit of a probability, no penalty: Platt scaling
    p = np.linspace(0.02, 0.98, 200)
    y = 1 / (1 + np.exp(-(0.5 + 2.0 * np.log(p / (1 - p)))))
    lp = np.log(p / (1 - p))[:, None]
    assert np.allclose(intake.stack_apply(intake.stack_fit(lp, y, ridge=0.0), lp, p),
                       intake.platt_apply(p, *intake.platt_fit(p, y)), atol=1e-8)
    # too few earlier flags, or one outcome only: the simulated probabilities stay
    assert intake.stack_fit(x[:99], true[:99]) is None
    assert intake.stack_fit(x, np.ones(300)) is None
    raw = np.full(300, 0.3)
    assert (intake.stack_apply(None, x, raw) == raw).all()
    xn = x.copy()
    xn[0, 1] = np.nan
    assert intake.stack_apply(m, xn, raw)[0] == 0.3


def test_flag_features_by_hand():
    items = pd.DataFrame({"origin": [2021, 2021, 2021], "skolenhetskod": ["11111111", "22222222", "NEW"],
                          "group": "HF", "admitted_origin": [100.0, 50.0, 0.0], "places_origin": [100.0, 80.0, 0.0],
                          "p_overcapacity_raw": [0.5, 0.9, 1.0]})
    f = intake.flag_features(items, PANEL)
    assert f[:, 0].tolist() == pytest.approx([0.0, np.log(9), np.log(99)])      # logit, clipped at 0.99
    assert f[:, 1].tolist() == pytest.approx([0.0, np.log(51 / 81), 0.0])
    assert f[:, 2].tolist() == [0.0, 0.0, 1.0]
    assert f[:, 3].tolist() == pytest.approx([0.3, 0.0, 0.0])                    # Alfa: 30 reserves / 100
    assert f[:, 4].tolist() == pytest.approx([np.log(101), np.log(81), 0.0])


def test_backtest_flags_use_only_outcomes_known_at_the_origin(real):
    """The backtest's probabilities for origin 2022 (raw, stacked, yardsticks) stay the same when
    the intake of 2023 and 2024 (the outcomes not known at 2022) is changed: only outcomes up to
    2022 reach them. The places of 2023 stay (the variant "places announced" knows them)."""
    panel, grades = intake.inputs_from_tables(real)
    full = intake.backtest(panel, grades, origins=[2020, 2021, 2022], horizons=(1, 2))
    moved = panel.copy()
    later = (moved.year >= 2023).to_numpy()
    moved.loc[later, "admitted"] = moved.admitted[later] * np.where(np.arange(later.sum()) % 2, 0.5, 1.3)
    alt = intake.backtest(moved, grades, origins=[2020, 2021, 2022], horizons=(1, 2))
    cols = ["skolenhetskod", "group", "variant", "h", "p_overcapacity", "p_overcapacity_raw", "p_persistence_calibrated",
            "p_base_rate"]
    a = full.items[full.items.origin == 2022].sort_values(cols[:4])[cols].reset_index(drop=True)
    b = alt.items[alt.items.origin == 2022].sort_values(cols[:4])[cols].reset_index(drop=True)
    assert a.p_overcapacity.notna().sum() > 400
    assert not np.allclose(a.p_overcapacity.fillna(0), a.p_overcapacity_raw.fillna(0))   # the stack acted
    pd.testing.assert_frame_equal(a, b)
    # and the outcomes did move (the test can see a leak)
    ya = full.items[full.items.origin == 2022].outcome_overcapacity
    yb = alt.items[alt.items.origin == 2022].outcome_overcapacity
    assert ya.sum() != yb.sum()


def _selection_cache(better: list[float]):
    """A filled selection cache: every setting forecasts 110 for four units with outcome 100,
    except phi = -0.25, which forecasts ``better``."""
    base = pd.DataFrame({"skolenhetskod": list("abcd"), "group": "HF", "actual": 100.0, "predicted": 110.0,
                         "unallocated": False})
    start = intake.DEFAULTS["places_unknown"]
    cache = {(2020, 2021, "places_unknown", p): base for p in intake.candidates()}
    cache[(2020, 2021, "places_unknown", replace(start, phi=-0.25))] = base.assign(predicted=better)
    return cache, start


def test_selection_one_standard_error_rule_by_hand():
    growth = {2020: None}
    # every unit better by 1: paired differences -1 each, standard error 0 -> taken
    cache, start = _selection_cache([109.0] * 4)
    best, seen = intake.select_params(None, growth, 2021, "places_unknown", cache, {}, se_rule=1.0)
    assert best == replace(start, phi=-0.25) and seen == [2021]
    # differences -3, +1, -3, +1: sum -4, sd sqrt(16/3), standard error 2·sqrt(16/3) = 4.62 > 4
    cache, start = _selection_cache([107.0, 111.0, 107.0, 111.0])
    assert intake.select_params(None, growth, 2021, "places_unknown", cache, {}, se_rule=1.0)[0] == start
    assert intake.select_params(None, growth, 2021, "places_unknown", cache, {}, se_rule=0.8)[0] == \
        replace(start, phi=-0.25)                                  # 0.8 · 4.62 = 3.70 < 4
    # no earlier outcome: the variant's default, which with places unknown is "the same as last year"
    assert intake.select_params(None, {2021: None}, 2021, "places_unknown", {}, {})[0] == IntakeParams(growth="none")


def _bench_flags():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "intake_flags.py"
    spec = importlib.util.spec_from_file_location("intake_flags_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_flag_benchmark_skill_interval_and_pairs_by_hand():
    b = _bench_flags()
    y = np.array([1.0, 0.0, 1.0, 0.0])
    units = np.array(["a", "a", "b", "c"])
    cp = np.array([0.5, 0.5, 0.5, 0.5])
    assert b._skill_interval(cp, cp, y, units) == [0.0, 0.0]          # the yardstick itself: skill 0
    assert b._skill_interval(y, cp, y, units) == [1.0, 1.0]           # perfect forecasts: skill 1
    # panel pairs, lag 1 up to 2022 (features without the model's probability): fill, new, reserves, size
    x, out = b._pairs(STATE_PANEL, 2022, 1)
    assert len(out) == 5 and sorted(out.tolist()) == [0.0, 0.0, 1.0, 1.0, 1.0]
    new_rows = x[:, 1] == 1.0
    assert new_rows.sum() == 1 and (x[new_rows][0] == [0.0, 1.0, 0.0, 0.0]).all()      # Z in 2021
    assert sorted(np.round(np.exp(x[~new_rows][:, 3]) - 1).tolist()) == [50.0, 60.0, 100.0, 100.0]

"""The real-time record of the reports' simulation (forecast.simrecord): joining and scoring on
small hand-made tables, and the nested recalibration."""
import numpy as np
import pandas as pd
import pytest

from forecast import simrecord


def _items():
    # origin 2022 → 2023, places unknown, h1: three unit-groups; the third is new in 2023
    return pd.DataFrame({
        "origin": [2022] * 3 + [2021], "year": [2023] * 3 + [2022], "h": 1, "variant": "places_unknown",
        "skolenhetskod": ["A", "B", "C", "A"], "group": ["HF", "HF", "YP", "HF"], "kommun_kod": ["0180", "0180", "0136", "0180"],
        "actual": [100.0, 50.0, 20.0, 90.0], "predicted": [90.0, 60.0, 0.0, 80.0],
        "persistence": [95.0, 55.0, 0.0, 85.0], "persistence_growth": [97.0, 56.0, 0.0, 86.0],
        "unallocated": False, "outcome_overcapacity": [0.0, 1.0, np.nan, 0.0],
        "p_overcapacity": [0.2, 0.6, np.nan, 0.1], "p_base_rate": 0.3, "p_persistence_calibrated": [0.1, 0.5, np.nan, 0.2],
    })


def _sim():
    return pd.DataFrame({"origin": [2022, 2022, 2021], "year": [2023, 2023, 2022], "skolenhetskod": ["A", "B", "A"],
                         "group": ["HF", "HF", "HF"], "sim_predicted": [110.0, 40.0, 95.0],
                         "sim_p_raw": [0.0, 1.0, 0.3], "sim_places": [120.0, 80.0, 120.0]})


def test_join_gives_unknown_units_zero_and_keeps_only_h1_places_unknown():
    items = _items()
    other = items.iloc[:1].assign(variant="places_announced")
    j = simrecord.join_items(pd.concat([items, other]), _sim().assign(sim_p_overcapacity=lambda d: d.sim_p_raw))
    assert len(j) == 4
    c = j[j.skolenhetskod == "C"].iloc[0]
    assert c.sim_predicted == 0.0 and np.isnan(c.sim_p_raw)


def test_scores_hand_computed():
    j = simrecord.join_items(_items(), _sim().assign(sim_p_overcapacity=[0.1, 0.9, 0.3]))
    s = simrecord.score(j)
    i = s["intake"].set_index(["level", "origin", "forecaster"])
    # origin 2022, unit-groups: |110−100| + |40−50| + |0−20| = 40 over 170 actual
    assert i.loc[("unit_group", 2022, "simulation"), "wape"] == pytest.approx(40 / 170 * 100)
    # the intake model: 10 + 10 + 20 = 40 as well; persistence 5 + 5 + 20 = 30
    assert i.loc[("unit_group", 2022, "persistence"), "wape"] == pytest.approx(30 / 170 * 100)
    # municipality 0180 in 2022: sim 150 vs 150 actual; 0136: 0 vs 20 → 20 / 170
    assert i.loc[("municipality", 2022, "simulation"), "wape"] == pytest.approx(20 / 170 * 100)
    # pooled region: origin 2021 |95 − 90| = 5 and origin 2022 |150 − 170| = 20 over 260
    assert i.loc[("region", "pooled", "simulation"), "wape"] == pytest.approx(25 / 260 * 100)
    f = s["flags"].set_index(["origin", "forecaster"])
    # flags on the items every flag forecaster covers: A and B of 2022 and A of 2021
    assert f.loc[("pooled", "simulation"), "n"] == 3
    assert f.loc[("pooled", "simulation"), "brier"] == pytest.approx((0 + 0 + 0.09) / 3)
    assert f.loc[("pooled", "simulation_recalibrated"), "brier"] == pytest.approx((0.01 + 0.01 + 0.09) / 3)
    assert f.loc[(2022, "persistence_calibrated"), "brier"] == pytest.approx((0.01 + 0.25) / 2)


def test_recalibration_uses_only_earlier_outcomes():
    """Origin T is recalibrated on simulated years ≤ T only: the first origin has none and keeps
    its raw probabilities, whatever the later outcomes are."""
    rng = np.random.default_rng(0)
    n = 300
    sim = pd.DataFrame({"origin": np.repeat([2020, 2021], n), "year": np.repeat([2021, 2022], n),
                        "skolenhetskod": [f"U{k}" for k in range(n)] * 2, "group": "HF",
                        "sim_p_raw": rng.uniform(0.01, 0.99, 2 * n), "sim_predicted": 1.0, "sim_places": 1.0})
    # outcomes are always 1 in 2021 (origin 2020's year) and 2022: origin 2021 learns from 2021's
    y = pd.DataFrame({"origin": sim.origin, "skolenhetskod": sim.skolenhetskod, "group": "HF",
                      "outcome_overcapacity": (rng.uniform(size=2 * n) < 0.9).astype(float)})
    out = simrecord.recalibrate(sim, y)
    first = out[out.origin == 2020]
    assert first.sim_p_overcapacity.to_numpy() == pytest.approx(first.sim_p_raw.to_numpy())
    second = out[out.origin == 2021]
    # 90% of 2021's outcomes were 1 whatever the raw probability: recalibrated toward 0.9
    assert second.sim_p_overcapacity.mean() == pytest.approx(0.9, abs=0.05)
    assert not np.allclose(second.sim_p_overcapacity, second.sim_p_raw)

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


def test_unallocated_students_scored_at_municipality_and_region_never_at_units():
    """A90 as A28: the simulation's students at units not yet known (pseudo-rows
    ofördelat:<kommun>) join the intake model's pseudo-item of the same municipality and group, or
    become an item of their own (outcome 0, every other forecaster 0) where the intake model has
    none; they count in the municipality and region totals and never at unit level."""
    items = pd.concat([_items(), pd.DataFrame({
        "origin": [2022], "year": [2023], "h": 1, "variant": "places_unknown", "skolenhetskod": ["ofördelat:0180"],
        "group": ["HF"], "kommun_kod": ["0180"], "actual": [0.0], "predicted": [12.0], "persistence": [0.0],
        "persistence_growth": [0.0], "unallocated": True, "outcome_overcapacity": [np.nan]})], ignore_index=True)
    sim = pd.concat([_sim(), pd.DataFrame({
        "origin": [2022, 2022], "year": [2023, 2023], "skolenhetskod": ["ofördelat:0180", "ofördelat:0136"],
        "group": ["HF", "HF"], "sim_predicted": [8.0, 5.0], "sim_p_raw": np.nan, "sim_places": 0.0,
        "unallocated": True, "kommun_kod": ["0180", "0136"]})], ignore_index=True).assign(
        sim_p_overcapacity=lambda d: d.sim_p_raw, unallocated=lambda d: d.unallocated.fillna(False))
    j = simrecord.join_items(items, sim)
    assert len(j) == 6
    new = j[j.skolenhetskod == "ofördelat:0136"].iloc[0]
    assert (new.sim_predicted, new.actual, new.predicted, new.persistence, new.unallocated) == (5.0, 0.0, 0.0, 0.0, True)
    i = simrecord.score(j)["intake"].set_index(["level", "origin", "forecaster"])
    # unit-groups as without the pseudo-rows: 40 over 170
    assert i.loc[("unit_group", 2022, "simulation"), "wape"] == pytest.approx(40 / 170 * 100)
    # municipalities: 0180 sim 110 + 40 + 8 = 158 vs 150, 0136 sim 5 vs 20 → (8 + 15) / 170;
    # the intake model 90 + 60 + 12 = 162 vs 150, 0 vs 20 → (12 + 20) / 170
    assert i.loc[("municipality", 2022, "simulation"), "wape"] == pytest.approx(23 / 170 * 100)
    assert i.loc[("municipality", 2022, "intake_model"), "wape"] == pytest.approx(32 / 170 * 100)
    # region: 2022 |163 − 170| = 7, 2021 |95 − 90| = 5, over 260
    assert i.loc[("region", "pooled", "simulation"), "wape"] == pytest.approx(12 / 260 * 100)
    f = simrecord.score(j)["flags"]
    assert f[(f.origin == "pooled") & (f.forecaster == "simulation")].n.iloc[0] == 3   # no flag on a pseudo-row


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


# ---- later years (horizons 2 and 3) ---------------------------------------------------------

def _items_h2():
    # origin 2022: the same unit-groups at h1 (→ 2023) and h2 (→ 2024), different outcomes
    h1 = _items().iloc[:3]
    h2 = h1.assign(h=2, year=2024, actual=[80.0, 60.0, 40.0], predicted=[85.0, 55.0, 10.0],
                   persistence=[95.0, 55.0, 0.0], persistence_growth=[99.0, 57.0, 0.0],
                   outcome_overcapacity=[1.0, 0.0, np.nan], p_overcapacity=[0.7, np.nan, np.nan],
                   p_base_rate=0.4, p_persistence_calibrated=[0.6, 0.2, np.nan])
    return pd.concat([h1, h2], ignore_index=True).assign(p_persistence_01=[0.0, 1.0, 0.3, 0.0, 1.0, 0.3])


def _sim_h2():
    return pd.DataFrame({"origin": 2022, "year": [2023, 2023, 2024, 2024], "h": [1, 1, 2, 2],
                         "skolenhetskod": ["A", "B", "A", "B"], "group": "HF",
                         "sim_predicted": [110.0, 40.0, 70.0, 65.0], "sim_p_raw": [0.0, 1.0, 0.8, 0.1],
                         "sim_places": [120.0, 80.0, 120.0, 80.0]})


def test_join_at_horizon_2_takes_only_that_horizons_items_and_simulated_year():
    j = simrecord.join_items(_items_h2(), _sim_h2(), h=2)
    assert len(j) == 3 and set(j.year) == {2024}
    got = j.set_index("skolenhetskod")
    assert got.loc["A", "sim_predicted"] == 70.0 and got.loc["B", "sim_p_raw"] == 0.1
    assert got.loc["C", "sim_predicted"] == 0.0          # not simulated: forecast 0, like everyone


def test_scores_at_horizon_2_hand_computed_and_missing_yardsticks_left_out():
    j = simrecord.join_items(_items_h2(), _sim_h2().assign(sim_p_overcapacity=[0.0, 1.0, 0.9, 0.2]), h=2)
    s = simrecord.score(j)
    i = s["intake"].set_index(["level", "origin", "forecaster"])
    # |70 − 80| + |65 − 60| + |0 − 40| = 55 over 180; persistence 15 + 5 + 40 = 60
    assert i.loc[("unit_group", 2022, "simulation"), "wape"] == pytest.approx(55 / 180 * 100)
    assert i.loc[("unit_group", 2022, "persistence"), "wape"] == pytest.approx(60 / 180 * 100)
    # the intake model has a probability on A only: the flags are scored on A alone
    f = s["flags"].set_index(["origin", "forecaster"])
    assert f.loc[("pooled", "simulation"), "n"] == 1
    assert f.loc[("pooled", "simulation"), "brier"] == pytest.approx(0.2 ** 2)
    assert f.loc[("pooled", "persistence_calibrated"), "brier"] == pytest.approx(0.4 ** 2)
    assert f.loc[("pooled", "persistence_01"), "brier"] == pytest.approx(1.0)
    # horizon 3 style: the backtest gives no model probability, base rate or calibrated persistence
    # anywhere; they are left out and A and B are scored for the rest
    k = j.assign(p_overcapacity=np.nan, p_base_rate=np.nan, p_persistence_calibrated=np.nan)
    g = simrecord.score(k)["flags"].set_index(["origin", "forecaster"])
    assert set(g.index.get_level_values("forecaster")) == {"simulation", "simulation_recalibrated", "persistence_01"}
    assert g.loc[("pooled", "simulation"), "brier"] == pytest.approx((0.2 ** 2 + 0.1 ** 2) / 2)
    assert g.loc[("pooled", "persistence_01"), "brier"] == pytest.approx((1 + 1) / 2)
    assert g.loc[("pooled", "simulation"), "mean_p"] == pytest.approx(0.45)
    assert g.loc[("pooled", "simulation"), "outcome_rate"] == pytest.approx(0.5)
    # no flag items at all: no rows, not an error
    assert simrecord.score(k.assign(outcome_overcapacity=np.nan))["flags"].empty


def test_recalibration_is_nested_per_horizon():
    """Origin T, horizon h: Platt fitted on the simulated years ≤ T of the same horizon only. The
    one-year flags run 90% below θ, the two-year ones 10%: pooling would pull the wrong way."""
    rng = np.random.default_rng(1)
    n = 300
    parts = [(2020, 1), (2020, 2), (2021, 1), (2021, 2), (2022, 2)]
    sim = pd.concat([pd.DataFrame({"origin": o, "year": o + h, "h": h, "skolenhetskod": [f"U{k}" for k in range(n)],
                                   "group": "HF", "sim_p_raw": rng.uniform(0.01, 0.99, n), "sim_predicted": 1.0,
                                   "sim_places": 1.0}) for o, h in parts], ignore_index=True)
    rate = np.where(sim.h == 1, 0.9, 0.1)
    items = sim[["origin", "h", "skolenhetskod", "group"]].assign(
        outcome_overcapacity=(rng.uniform(size=len(sim)) < rate).astype(float))
    out = simrecord.recalibrate(sim, items).set_index(["origin", "h"])
    # origin 2021, h1: learns from origin 2020's one-year flags (year 2021) → toward 0.9
    assert out.loc[(2021, 1), "sim_p_overcapacity"].mean() == pytest.approx(0.9, abs=0.05)
    # origin 2021, h2: no two-year flag with its outcome known by 2021 → as simulated
    assert out.loc[(2021, 2), "sim_p_overcapacity"].to_numpy() == pytest.approx(out.loc[(2021, 2), "sim_p_raw"].to_numpy())
    # origin 2022, h2: learns from origin 2020's two-year flags (year 2022) only → toward 0.1
    assert out.loc[(2022, 2), "sim_p_overcapacity"].mean() == pytest.approx(0.1, abs=0.05)


def test_simulation_backtest_one_run_per_origin_for_the_observed_later_years(monkeypatch):
    """Each origin's chain is built once and simulates T + 1 … T + 3 where observed, in one call."""
    import forecast.chain as chain_mod
    calls = []

    class FakeChain:
        def __init__(self, origin):
            self.origin = origin

        def risk(self, years, n_paths, seed, theta):
            calls.append((self.origin, list(years), n_paths, seed))
            return pd.DataFrame({"level": "enhet", "area": "A", "group": "HF", "year": years,
                                 "placed": [float(y - self.origin) for y in years],
                                 "p_overcapacity": 0.5, "places": 10.0})

    monkeypatch.setattr(chain_mod, "build_chain", lambda origin, tables, places_dir: FakeChain(origin))
    tables = {"admissions": pd.DataFrame({"year": [2020, 2021, 2022, 2023]})}
    sim = simrecord.simulation_backtest(tables, n_paths=7, seed=3)
    assert calls == [(2020, [2021, 2022, 2023], 7, 3), (2021, [2022, 2023], 7, 3), (2022, [2023], 7, 3)]
    assert list(zip(sim.origin, sim.year, sim.h)) == [(2020, 2021, 1), (2020, 2022, 2), (2020, 2023, 3),
                                                      (2021, 2022, 1), (2021, 2023, 2), (2022, 2023, 1)]
    assert (sim.sim_predicted == sim.h).all()            # each year's rows from that year's output

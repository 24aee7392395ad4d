"""Spatial interaction, placement and risk: hand-computed cases, invariants, the real chain."""
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecast.errors import ParameterError
from forecast.flows import FlowModel, fit_attractiveness, place, shares
from forecast.risk import check_probability
from forecast.scenarios import read_scenario

BETA = math.log(2) / 2        # exp(-2β) = 1/2: a school 2 km further away is half as attractive
D2 = np.array([[1.0, 3.0], [3.0, 1.0]])


def test_two_origins_two_schools_hand_computed():
    T = np.array([100.0, 50.0])[:, None] * shares(np.array([1.0, 1.0]), D2, BETA)
    # each origin: near school weight 1, far school weight 1/2 -> shares 2/3 and 1/3
    assert T == pytest.approx(np.array([[200 / 3, 100 / 3], [50 / 3, 100 / 3]]))
    assert T.sum(axis=1) == pytest.approx([100.0, 50.0])   # flows from each origin sum to its students
    # W = (2, 1): origin 1 -> 2·1/(2·1 + 1·0.5) = 0.8; origin 2 -> 2·0.5/(2·0.5 + 1) = 0.5
    T2 = np.array([100.0, 50.0])[:, None] * shares(np.array([2.0, 1.0]), D2, BETA)
    assert T2[:, 0] == pytest.approx([80.0, 25.0])


def test_balancing_reproduces_observed_intake():
    O = np.array([100.0, 50.0])
    obs = np.array([60.0, 90.0])
    W = fit_attractiveness(O, obs, D2, BETA)
    assert (O[:, None] * shares(W, D2, BETA)).sum(axis=0) == pytest.approx(obs, rel=1e-6)


def test_placement_with_room_keeps_wanted_and_ceiling_spills():
    wanted = (np.array([100.0, 50.0])[:, None] * shares(np.array([1.0, 1.0]), D2, BETA))[None]
    W, E = np.array([[1.0, 1.0]]), np.exp(-BETA * D2)
    placed, displaced = place(wanted, np.array([1000.0, 1000.0]), W, E)
    assert placed == pytest.approx(wanted) and displaced.sum() == 0
    # school 1 wants 83.3, has 70 places: 13.3 spill to school 2 (room 80 - 66.7 = 13.3 + ...)
    placed, displaced = place(wanted, np.array([70.0, 100.0]), W, E)
    assert placed[0].sum(axis=0)[0] == pytest.approx(70.0)
    assert placed.sum() == pytest.approx(150.0) and displaced.sum() == pytest.approx(0.0)
    assert placed[0].sum(axis=1) == pytest.approx([100.0, 50.0])
    # regional demand 150 > places 120: units full, the rest displaced
    placed, displaced = place(wanted, np.array([70.0, 50.0]), W, E)
    assert placed[0].sum(axis=0) == pytest.approx([70.0, 50.0])
    assert displaced.sum() == pytest.approx(30.0)


def test_ceiling_never_exceeded_random_cases():
    rng = np.random.default_rng(5)
    for _ in range(20):
        I, J = rng.integers(2, 6), rng.integers(2, 8)
        D = rng.uniform(1, 30, (I, J))
        W = rng.uniform(0.2, 3, J)
        O = rng.uniform(10, 200, I)
        cap = rng.uniform(5, 150, J)
        wanted = (O[:, None] * shares(W, D, 0.1))[None]
        placed, displaced = place(wanted, cap, W[None, :], np.exp(-0.1 * D))
        assert np.all(placed[0].sum(axis=0) <= cap * (1 + 1e-9))
        assert placed.sum() + displaced.sum() == pytest.approx(O.sum())
        if O.sum() <= cap.sum():
            assert displaced.sum() == pytest.approx(0.0, abs=1e-6)
        else:
            assert displaced.sum() > 0


def test_new_school_never_raises_another_schools_intake():
    units = pd.DataFrame({"skolenhetskod": ["A", "B"], "skola": ["a", "b"], "kommun_kod": ["0114", "0114"],
                          "owner_type": ["kommunal", "enskild"], "x": [0.0, 4000.0], "y": [0.0, 0.0],
                          "places": [100.0, 100.0], "admitted": [90.0, 60.0]})
    origins = pd.DataFrame({"kommun_kod": ["0114", "0115"], "x": [1000.0, 3000.0], "y": [0.0, 0.0],
                            "weight": [1.0, 1.0], "basis": "test"})
    from forecast.flows import distance_matrix
    D = distance_matrix(origins, ("0114", "0115"), units.x.to_numpy(), units.y.to_numpy())
    O = np.array([80.0, 70.0])
    m = FlowModel(("0114", "0115"), units, D, fit_attractiveness(O, units.admitted.to_numpy(), D, 0.3), 0.3)
    before = m.wanted(O).sum(axis=0)
    new = pd.DataFrame({"skolenhetskod": ["NY"], "skola": ["ny"], "kommun_kod": ["0115"], "owner_type": ["planerad"],
                        "x": [3000.0], "y": [0.0], "places": [50.0], "admitted": [0.0]})
    m2 = m.with_units(new, origins)
    after = m2.wanted(O).sum(axis=0)
    assert np.all(after[:2] <= before + 1e-9) and after[2] > 0
    assert after.sum() == pytest.approx(O.sum())
    assert np.array_equal(m2.W[:2], m.W)          # re-predicted, not refitted


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1, "0.9", True])
def test_thresholds_outside_zero_one_are_rejected(value):
    with pytest.raises(ParameterError, match="theta must be a number strictly between 0 and 1"):
        check_probability("theta", value)


def _yml(tmp_path, body):
    p = tmp_path / "s.yml"
    p.write_text("name: test\nschools:\n" + body, encoding="utf-8")
    return p


def test_school_scenario_validation(tmp_path):
    units = pd.DataFrame({"skolenhetskod": ["12345678"]})
    inside = lambda x, y: 6_500_000 < y < 6_700_000   # noqa: E731 (a stand-in for the region polygon)
    good = '  - {action: new, name: N, kommun_kod: "0136", lat: 59.17, lon: 18.15, programme_group: HF, first_year: 2028, places: 300, status: planned}\n'
    s = read_scenario(_yml(tmp_path, good), {"0136"}, units, inside)
    assert s.schools.places.tolist() == [300.0] and 6_550_000 < s.schools.y.iloc[0] < 6_600_000
    cases = [
        (good.replace("places: 300", "places: 0"), "places must be > 0"),
        (good.replace("lat: 59.17", "lat: 63.8"), "outside the admission region"),
        (good.replace("programme_group: HF", "programme_group: NA"), "programme_group 'NA' unknown"),
        (good.replace("status: planned", "status: maybe"), "status 'maybe' unknown"),
        (good.replace("places: 300", "plates: 300"), r"unknown key\(s\) \['plates'\]"),
        ('  - {action: change, skolenhetskod: "99999999", programme_group: YP, first_year: 2027, places_change: -60, status: decided}\n',
         "skolenhetskod '99999999' is not a gymnasium unit"),
    ]
    for body, msg in cases:
        with pytest.raises(ParameterError, match=msg):
            read_scenario(_yml(tmp_path, body), {"0136"}, units, inside)


# --- the real chain ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chain():
    from forecast.chain import build_chain
    return build_chain(horizon=6)


def test_calibration_reproduces_kluster_syd(chain):
    from forecast.flows import GROUPS, self_containment
    rm = chain.region
    T = np.hstack([rm.models[g].wanted(chain.entrants(g, rm.year)) for g in GROUPS])
    units = pd.concat([rm.models[g].units for g in GROUPS])
    uc = units.kommun_kod.map(rm.clusters).fillna("").to_numpy()
    assert self_containment(T, rm.home_cluster, uc, "syd") == pytest.approx(0.79, abs=0.02)
    # that the fit reproduces each unit's intake (without noise, and in expectation under the
    # simulation's noise) is tested below: test_fitted_year_without_noise_reproduces_each_units_intake,
    # test_calibrated_attractiveness_reproduces_intake_in_expectation


def test_risk_on_real_data(chain):
    year = int(chain.projection.years[2])
    r = chain.risk([year], n_paths=200, seed=3)
    assert r.p_overcapacity.between(0, 1).all() and r.p_shortage.between(0, 1).all()
    grp = r[r.level == "programgrupp"].set_index("group")
    units = r[r.level == "enhet"]
    for g in ("HF", "YP"):
        assert units[units.group == g].places.sum() == pytest.approx(grp.loc[g, "places"])
        # placed students never exceed places
        assert grp.loc[g, "placed"] <= grp.loc[g, "places"] + 1e-6
    assert (units.placed <= units.places + 1e-6).all()
    # the flags follow the probabilities and the threshold parameter
    assert (r.flag_overcapacity == (r.p_overcapacity >= 0.5)).all()
    with pytest.raises(ParameterError, match="outside the projection years"):
        chain.risk([year + 30], n_paths=10)


def test_planned_school_takes_students_from_its_neighbours(chain, tmp_path):
    from forecast.risk import apply_scenario, simulate_year
    p = tmp_path / "haninge.yml"
    p.write_text('name: Ny skola i Haninge\nschools:\n  - {action: new, name: Haninge nya, kommun_kod: "0136", '
                 'lat: 59.168, lon: 18.14, programme_group: HF, first_year: 2025, places: 600, status: planned}\n',
                 encoding="utf-8")
    from forecast.chain import _inside_region
    sc = read_scenario(p, set(chain.tables["municipalities"].kommun_kod), chain.tables["gymnasium_units"],
                       _inside_region(chain.tables["region_boundaries"]))
    rm = replace(chain.region, choice_sd=0.0)          # central flows: no choice noise
    rm2 = apply_scenario(rm, sc)
    assert rm2.scenario_label == "Hypotetiskt scenario: Ny skola i Haninge"
    O = np.array([[float(chain.age16.set_index(["kommun_kod", "year"]).population[(c, 2026)])
                   for c in chain.region.codes]])
    rng = np.random.default_rng(0)
    base = simulate_year(rm, O, 2026, rng, noise=False)["HF"]
    new = simulate_year(rm2, O, 2026, rng, noise=False)["HF"]
    J = len(chain.region.models["HF"].units)
    assert new["wanted"][0, J] > 0
    assert np.all(new["wanted"][0, :J] <= base["wanted"][0] + 1e-6)
    assert new["wanted"].sum() == pytest.approx(base["wanted"].sum())
    before = simulate_year(rm2, O, 2024, rng, noise=False)["HF"]
    assert before["wanted"][0, J] == 0            # not open before its first year


def test_observed_flows_recover_beta_and_are_validated(chain, tmp_path):
    """Flows generated by the model at a known β are fitted back by the Poisson GLM; a file whose
    origins do not match the cohort is rejected."""
    from forecast.errors import DataError
    from forecast.flows import fit_observed_beta, validate_observed_flows
    rm = chain.region
    m = rm.models["HF"]
    O = chain.entrants("HF", rm.year)
    T = m.wanted(O)            # the model's own flows at its calibrated β
    rows = [{"home_kod": h, "skolenhetskod": u, "students": T[i, j]}
            for i, h in enumerate(rm.codes) for j, u in enumerate(m.units.skolenhetskod)]
    df = pd.DataFrame(rows)
    units = m.units.skolenhetskod.tolist()
    beta = fit_observed_beta(df, rm.codes, {u: m.D[:, j] for j, u in enumerate(units)})
    assert beta == pytest.approx(rm.beta, rel=1e-3)
    entrants = dict(zip(rm.codes, O))
    validate_observed_flows(df, "t.csv", rm.codes, set(units), entrants)
    bad = df.copy()
    bad.loc[bad.home_kod == "0136", "students"] *= 2
    with pytest.raises(DataError, match="observed students from 0136 sum to"):
        validate_observed_flows(bad, "t.csv", rm.codes, set(units), entrants)
    with pytest.raises(DataError, match="unknown school unit"):
        validate_observed_flows(df.assign(skolenhetskod="1"), "t.csv", rm.codes, set(units), entrants)


def test_programme_mix_rules_hand_computed():
    from forecast.capacity import _mix_forecast, build_programme_mix
    past = pd.DataFrame({"EK": [0.20, 0.22, 0.24], "NA": [0.80, 0.78, 0.76]}, index=[2020, 2021, 2022])
    assert _mix_forecast(past, "mean")["EK"] == pytest.approx(0.22)
    assert _mix_forecast(past, "last")["EK"] == pytest.approx(0.24)
    assert _mix_forecast(past, "damped")["EK"] == pytest.approx(0.24 + 0.5 * 0.02)
    rows = [{"year": y, "programme_code": p, "admitted": n, "in_totals": True, "is_national": True,
             "programme_group": "HF"} for y, ek, na in ((2020, 20, 80), (2021, 22, 78), (2022, 24, 76), (2023, 26, 74))
            for p, n in (("EK", ek), ("NA", na))]
    mix = build_programme_mix(pd.DataFrame(rows), [2024, 2025])
    # a steady 2-point rise: the damped trend errs least (1 point) and is chosen
    assert mix.attrs["rule"] == "damped"
    f = mix[(mix.kind == "prognos")].set_index(["year", "programme_code"]).share
    assert f[(2024, "EK")] == pytest.approx(0.27)
    assert f.groupby(level=0).sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_scenario_changes_only_what_it_declares(chain, tmp_path):
    """with_scenario keeps the baseline's fitted flow model, β, method and intake backtest; its
    population adjustment adds exactly its persons in its year (the other municipalities move
    only by the raking to the county, under 2.5% of the adjustment) and its school is the one
    new destination."""
    from forecast.chain import with_scenario
    p = tmp_path / "s.yml"
    p.write_text('name: T\npopulation:\n  - {kommun_kod: "0136", year: 2026, persons: 400}\nschools:\n'
                 '  - {action: new, name: Ny, kommun_kod: "0136", lat: 59.168, lon: 18.14, programme_group: HF, '
                 'first_year: 2027, places: 300, status: planned}\n', encoding="utf-8")
    sc = with_scenario(chain, str(p))
    assert sc.hypothetical and not chain.hypothetical
    assert sc.region.beta == chain.region.beta and sc.intake_backtest is chain.intake_backtest
    assert sc.projection.params == chain.projection.params and sc.projection.errors is chain.projection.errors
    hf, hf0 = sc.region.models["HF"], chain.region.models["HF"]
    assert len(hf.units) == len(hf0.units) + 1 and np.array_equal(hf.W[:-1], hf0.W)
    assert sc.region.models["YP"] is chain.region.models["YP"]
    i = chain.projection.codes.index("0136")
    diff = sc.projection.central - chain.projection.central            # (K, H, 20)
    years = list(chain.projection.years)
    h = years.index(2026)
    assert np.allclose(diff[:, :h], 0)                                 # nothing before its year
    assert diff[:, h].sum() == pytest.approx(400)                      # the 400 persons, in 2026
    assert diff[i, h].sum() == pytest.approx(400, abs=10)              # ... in Haninge
    # the raking to the county moves other municipalities a little, more the longer it runs:
    # under 2.5% of the added persons in the scenario year and the two after it
    assert np.abs(np.delete(diff, i, axis=0)).sum(axis=2).sum(axis=0)[:h + 3].max() < 0.025 * 400


def test_no_student_lost_in_any_simulated_path(chain):
    """Entrants = placed at known units + expected at units not yet known (A90) + not placed,
    exactly, in every path and group, with all noise on. The entrants are recomputed here from the
    16-year-olds and the same draws of the transition noise, not read from the simulation."""
    from forecast.flows import GROUPS
    from forecast.risk import simulate_year
    rm = chain.region
    idx = [chain.projection.codes.index(c) for c in rm.codes]
    paths = chain.projection.simulate(50, np.random.default_rng(3))[:, idx, :]
    checked_unallocated = False
    for year in chain.forecast_years[:3]:
        y = list(chain.projection.years).index(year)
        sim = simulate_year(rm, paths[:, :, y], year, np.random.default_rng(4))
        rng = np.random.default_rng(4)                 # the same draws, in the simulation's order
        for g in GROUPS:
            s = sim[g]
            factor = (rm.anchored(rm.entrant_factor, year) or {}).get(g, 1.0)
            rate = rm.transition.rate[g] * rm.coverage.get(g, 1.0) * factor * np.exp(
                rm.transition.sd_log[g] * rng.standard_normal((50, 1)))
            rng.standard_normal((50, len(s["places"])))  # the choice noise
            entrants = (paths[:, :, y] * rate).sum(axis=1)
            assert np.allclose(s["placed"].sum(axis=1) + s["unallocated"] + s["displaced"], entrants, rtol=1e-9)
            assert np.allclose(s["wanted"].sum(axis=1) + s["unallocated"], entrants, rtol=1e-9)
            assert (s["placed"] <= s["places"][None, :] * (1 + 1e-6)).all()
            share = (rm.anchored(rm.unallocated_share, year) or {}).get(g, 0.0)
            assert s["unallocated"] == pytest.approx(share * entrants, rel=1e-9)
            checked_unallocated |= share > 0
            assert s["unallocated_weights"].sum() == pytest.approx(1.0)
    assert checked_unallocated            # the bundled data has growth no known unit takes


def test_unallocated_students_count_in_areas_never_at_units():
    """A90 on a hand-made model: two units in two municipalities, intake 30 and 10 at the origin,
    places 40 and 40, 100 entrants in one home municipality, a fifth of them expected at units
    not yet known. Without noise: 20 unallocated students, 15 to the first municipality and 5 to
    the second (∝ 30 : 10); the units share the other 80 (equal pull, equal distance: 40 each,
    full). Municipality rows: demand = 40 + 15 and 40 + 5, placed 40, utilisation 1; unit rows
    have no unallocated students; the programme group holds all 100."""
    from forecast.capacity import Transition
    from forecast.risk import RegionModel, simulate_year, summarise_year
    units = pd.DataFrame({"skolenhetskod": ["a", "b"], "skola": ["A", "B"], "kommun_kod": ["0001", "0002"],
                          "owner_type": "kommunal", "group": "HF", "places": [40.0, 40.0],
                          "admitted": [30.0, 10.0]})
    D = np.array([[1.0, 1.0]])
    models = {g: FlowModel(("0001",), units.assign(group=g), D, np.array([1.0, 1.0]), 0.1) for g in ("HF", "YP")}
    tr = Transition(pd.DataFrame(), "mean", {"HF": 1.0, "YP": 1.0}, {"HF": 0.0, "YP": 0.0}, {})
    rm = RegionModel(("0001",), np.array(["x"]), pd.DataFrame(), models, tr,
                     pd.DataFrame({"kommun_kod": ["0001", "0002"], "cost_per_place_sek": 1.0,
                                   "premises_per_place_sek": 1.0}), {"0001": "x", "0002": "x"}, 2024, 0.1,
                     unallocated_share={2025: {"HF": 0.2, "YP": 0.2}})
    sim = simulate_year(rm, np.array([[100.0]]), 2025, np.random.default_rng(0), noise=False)
    s = sim["HF"]
    assert s["unallocated"] == pytest.approx([20.0]) and s["placed"][0] == pytest.approx([40.0, 40.0])
    t = summarise_year(rm, sim, 2025).set_index(["level", "area", "group"])
    assert t.loc[("kommun", "0001", "HF")].demand == pytest.approx(55.0)
    assert t.loc[("kommun", "0002", "HF")].demand == pytest.approx(45.0)
    assert t.loc[("kommun", "0001", "HF")].unallocated == pytest.approx(15.0)
    assert t.loc[("kommun", "0001", "HF")].placed == pytest.approx(40.0)
    assert t.loc[("kommun", "0001", "HF")].utilisation == pytest.approx(1.0)
    assert t.loc[("kommun", "0001", "HF")].p_shortage == 1.0          # 55 want a place, 40 are known
    assert np.isnan(t.loc[("enhet", "a", "HF")].unallocated) and t.loc[("enhet", "a", "HF")].demand == pytest.approx(40.0)
    g = t.loc[("programgrupp", "HF", "HF")]
    assert g.placed + g.unallocated + g.displaced == pytest.approx(100.0)
    # a year before any anchored year has no share: every entrant chooses a known unit
    assert simulate_year(rm, np.array([[100.0]]), 2024, np.random.default_rng(0), noise=False)["HF"][
        "unallocated"] == pytest.approx([0.0])


def test_forecasts_start_after_the_latest_admission_year(chain):
    adm_last = int(chain.tables["admissions"].year.max())
    assert chain.origin == adm_last and chain.forecast_years[0] == adm_last + 1
    assert chain.region.year == adm_last                       # anchored on the latest intake
    risk = chain.risk(n_paths=20, years=[adm_last - 1, adm_last, adm_last + 1])
    assert sorted(risk.year.unique()) == [adm_last + 1]         # an observed year is never a forecast


def test_origin_outside_the_admission_years_is_refused():
    from forecast.chain import resolve_origin
    from forecast.errors import ParameterError
    import pandas as pd
    t = {"admissions": pd.DataFrame({"year": [2020, 2021, 2022]}),
         "pupils_kommun": pd.DataFrame({"school_year": [2020, 2021]})}
    with pytest.raises(ParameterError, match="after the latest admission data"):
        resolve_origin(t, 2023)
    with pytest.raises(ParameterError, match="before the earliest admission data"):
        resolve_origin(t, 2019)
    origin, notes = resolve_origin(t, None)
    assert origin == 2022 and "grade counts for autumn 2022 are missing" in notes[0]


def _origin_year_inputs(chain):
    """The origin's 16-year-olds (1, I) and a transition at the origin's observed rates without
    rate noise: the fitted year re-simulated."""
    from forecast.risk import build_region_model
    rm, o = chain.region, chain.origin
    observed = rm.transition.observed[rm.transition.observed.year == o].set_index("group").rate.to_dict()
    tr = replace(rm.transition, sd_log={g: 0.0 for g in rm.transition.sd_log}, rate={**rm.transition.rate, **observed})
    a = chain.age16.set_index(["kommun_kod", "year"]).population
    O = np.array([[float(a[(c, o)]) for c in rm.codes]])
    plain = replace(build_region_model(chain.tables, chain.age16, year=o, choice_sd=rm.choice_sd), transition=tr)
    return O, tr, plain


def test_fitted_year_without_noise_reproduces_each_units_intake(chain):
    """Simulated entrants are scaled to the share of the region's admitted students the modelled
    units took (A60): without noise the fitted year gives back every unit's intake exactly,
    though some admitted students were at units outside the model."""
    from forecast.risk import simulate_year
    O, _, plain = _origin_year_inputs(chain)
    s = simulate_year(plain, O, chain.origin, np.random.default_rng(0), noise=False)
    for g in ("HF", "YP"):
        obs = plain.models[g].units.admitted.to_numpy(float)
        assert 0.95 < plain.coverage[g] <= 1.0
        assert s[g]["placed"][0] == pytest.approx(obs, abs=1e-3)


def test_calibrated_attractiveness_reproduces_intake_in_expectation(chain):
    """Under choice noise and full spill the plain fit puts full units below their intake and
    units with room above; the chain's calibrated attractiveness (risk.calibrate_under_noise)
    brings both within 1.5% on fresh draws, and every unit within 8%."""
    from forecast.risk import calibrate_under_noise, simulate_year
    O, tr, plain = _origin_year_inputs(chain)
    assert chain.region.choice_sd > 0
    calibrated = calibrate_under_noise(replace(plain, spill=1.0))
    gaps = {}
    for name, rm in (("plain", plain), ("calibrated", calibrated)):
        s = simulate_year(rm, np.repeat(O, 400, axis=0), chain.origin, np.random.default_rng(7))
        for g in ("HF", "YP"):
            u = rm.models[g].units
            obs, places = u.admitted.to_numpy(float), u.places.to_numpy(float)
            full, room = obs >= places - 0.5, (obs < places - 0.5) & (obs > 0)
            mean = s[g]["placed"].mean(axis=0)
            gaps[name, g] = (mean[full].sum() / obs[full].sum() - 1, mean[room].sum() / obs[room].sum() - 1,
                             np.max(np.abs(mean - obs) / np.maximum(obs, 1)))
    for g in ("HF", "YP"):
        assert gaps["plain", g][0] < -0.02 and gaps["plain", g][1] > 0.01
        assert abs(gaps["calibrated", g][0]) < 0.015 and abs(gaps["calibrated", g][1]) < 0.015
        assert gaps["calibrated", g][2] < 0.08


def test_fill_to_hand_computed():
    """[10, 20, 30] to 66 is [11, 22, 33]; 22 is above its cap 21, which it keeps, and the other
    two share the remaining 45 in proportion: 11.25 and 33.75."""
    from forecast.risk import _fill_to
    out = _fill_to(np.array([10.0, 20.0, 30.0]), np.array([12.0, 21.0, 100.0]), 66.0)
    assert out == pytest.approx([11.25, 21.0, 33.75])
    # a target already above its cap (a full unit's forecast) is a cap of its own, never cut
    assert _fill_to(np.array([10.0, 30.0]), np.array([20.0, 20.0]), 44.0) == pytest.approx([14.0, 30.0])


def test_chain_is_anchored_on_the_intake_models_next_years(chain):
    """A80, A90: each anchored year origin + h (h = 1, 2 checked; central 16-year-olds, no rate
    noise, choice noise on) has the intake model's entrant total (the origin's intake × the entrant
    growth from the grade counts for h), of which the growth the intake model leaves to no known
    unit is expected at units not yet known, and gives each unit the intake model's forecast for h
    (scaled down only if the forecasts exceed the total), no unit above its places: in expectation
    within 1.5% for the full units and for the units with room, and every sizeable unit within 10%."""
    from forecast import intake
    from forecast.risk import _fill_to, simulate_year
    rm, o = chain.region, chain.origin
    panel, grades = intake.inputs_from_tables(chain.tables)
    fc = intake.forecast(panel, grades, o, horizons=(1, 2))
    gr = intake.entrant_growth(grades[grades.school_year <= o], o, 2)
    a = chain.age16.set_index(["kommun_kod", "year"]).population
    tr = replace(rm.transition, sd_log={g: 0.0 for g in rm.transition.sd_log})
    assert sorted(rm.entrant_factor) == [o + 1, o + 2, o + 3] and sorted(rm.year_attractiveness) == [o + 2, o + 3]
    for h in (1, 2):
        gh = float(gr[(gr.h == h) & (gr.area == "region")].growth.iloc[0])
        E = np.array([[float(a[(c, o + h)]) for c in rm.codes]])
        s = simulate_year(replace(rm, transition=tr), np.repeat(E, 400, axis=0), o + h, np.random.default_rng(11))
        one = fc[fc.h == h]
        pred = one.set_index(["skolenhetskod", "group"]).predicted
        for g in ("HF", "YP"):
            entrants = s[g]["wanted"].sum(axis=1) + s[g]["unallocated"]
            region_total = float(one[one.group == g].admitted_origin.sum()) * gh * rm.coverage[g]
            assert entrants == pytest.approx(np.full(400, region_total), rel=1e-9)
            u = rm.models[g].units
            target = np.array([float(pred.get((k, g), v)) for k, v in zip(u.skolenhetskod, u.admitted)])
            places = u.places.to_numpy(float)
            # A90: the growth no known unit takes is kept apart; the known units' entrants are
            # their forecasts' sum (scaled down, A80, only when the forecasts exceed the total)
            share = rm.unallocated_share[o + h][g]
            assert share == pytest.approx(max(0.0, 1 - target.sum() / region_total), abs=1e-12)
            assert s[g]["wanted"].sum(axis=1) == pytest.approx(np.full(400, min(target.sum(), region_total)), rel=1e-9)
            goal = _fill_to(target, places, float(s[g]["placed"].sum(axis=1).mean()))
            mean = s[g]["placed"].mean(axis=0)
            full = goal >= places - 0.5
            for part in (full, ~full & (goal > 0)):
                assert abs(mean[part].sum() / goal[part].sum() - 1) < 0.015
            big = goal > 50
            assert np.max(np.abs(mean[big] - goal[big]) / goal[big]) < 0.10


def test_unit_intake_keeps_a_name_without_unit_at_its_municipality_centroid():
    """A81: 'Okänd skola' has no crosswalk row; with origins it becomes the pseudo-unit
    'namn:Okänd skola' at its municipality's weighted grade-9 centroid ((0·1 + 10·3)/4 = 7.5,
    (0·1 + 20·3)/4 = 15), flagged, and nobody is lost; without origins (the legacy path) it is left
    out."""
    from forecast.capacity import unit_intake
    adm = pd.DataFrame({"year": 2024, "in_totals": True, "programme_group": ["HF", "HF", "YP"],
                        "skola": ["Känd", "Okänd skola", "Okänd skola"], "school_kommun_kod": "0180",
                        "places": [100.0, 40.0, 30.0], "admitted": [90.0, 35.0, 30.0], "vacant": [10.0, 5.0, 0.0],
                        "owner_type": ["kommunal", "enskild", "enskild"]})
    cw = pd.DataFrame({"year": [2024], "skola": ["Känd"], "school_kommun_kod": ["0180"], "skolenhetskod": ["111"],
                       "weight": [1.0], "rule": ["exact"]})
    units = pd.DataFrame({"skolenhetskod": ["111"], "skola": ["Känd"], "kommun_kod": ["0180"],
                          "owner_type": ["kommunal"], "x": [5.0], "y": [5.0], "coordinate_flag": ["ok"]})
    origins = pd.DataFrame({"kommun_kod": ["0180", "0180"], "x": [0.0, 10.0], "y": [0.0, 20.0], "weight": [1.0, 3.0]})
    out = unit_intake(adm, cw, units, 2024, origins).set_index(["skolenhetskod", "group"])
    assert out.admitted.sum() == pytest.approx(155.0) and out.attrs["mapped_share_admitted"] == pytest.approx(1.0)
    r = out.loc[("namn:Okänd skola", "HF")]
    assert (r.x, r.y, r.coordinate_flag, r.kommun_kod, r.admitted) == (7.5, 15.0, "fallback_unmatched_name", "0180", 35.0)
    assert out.loc[("namn:Okänd skola", "YP")].places == 30.0
    legacy = unit_intake(adm, cw, units, 2024)
    assert list(legacy.skolenhetskod) == ["111"]


def test_chain_keeps_every_admitted_student_of_the_origin(chain):
    """A81 on the real data: the modelled units hold every student admitted to a national
    programme at the origin (units without coordinates and names without a unit included)."""
    adm = chain.tables["admissions"]
    a = adm[(adm.year == chain.origin) & adm.in_totals]
    for g in ("HF", "YP"):
        assert chain.region.models[g].units.admitted.sum() == pytest.approx(a[a.programme_group == g].admitted.sum())
        assert chain.region.coverage[g] == pytest.approx(1.0)


def test_simulation_record_ignores_everything_after_its_origin():
    """Real time: doubling every number of every table row dated after T (admissions, crosswalk,
    grade counts, population, costs: any column named year or school_year) leaves the simulated
    T + 1 of the record unchanged."""
    from forecast import simrecord
    from forecast.chain import TABLES
    from forecast.data import load_table
    from forecast.intake import INPUT_TABLES
    T = 2022
    real = {n: load_table(n) for n in set(TABLES) | set(INPUT_TABLES)}
    changed, touched = {}, []
    for n, t in real.items():
        col = next((c for c in ("year", "school_year") if c in t.columns), None)
        if col is None:
            changed[n] = t
            continue
        t = t.copy()
        later = t[col] > T
        num = [c for c in t.select_dtypes("number").columns if c != col]
        t.loc[later, num] = t.loc[later, num] * 2
        changed[n] = t
        touched.append(n)
    assert {"admissions", "pupils_kommun", "cohort_history"} <= set(touched)
    a = simrecord.simulation_backtest(real, origins=[T], n_paths=50)
    b = simrecord.simulation_backtest(changed, origins=[T], n_paths=50)
    pd.testing.assert_frame_equal(a, b)

"""Utilisation and risk: demand against places, simulated, per unit, municipality, cluster and group.

The chain for one projection year *t* and one simulated path:

1. entrants per home municipality and group = simulated 16-year-olds (cohort paths from
   :meth:`forecast.projection.Projection.simulate`) × a simulated transition rate;
2. wanted flows from the spatial interaction model with attractiveness perturbed by the
   choice noise the intake backtest measured;
3. placed flows after the capacity ceiling (spill to the next-best units), and displaced students.

Across paths: P(utilisation < θ) (overcapacity), P(wanted > places) (shortage), expected empty
places and their cost. Probabilities of aggregates (municipality, cluster, group, region) are
computed from the summed paths, not from the units' probabilities.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .capacity import Transition, build_transition, cost_per_place, unit_intake, unit_locations
from .errors import ParameterError
from .flows import (GROUPS, FlowModel, calibrate_beta, distance_matrix, fit_attractiveness, fit_observed_beta,
                    origin_points, place, shares, validate_observed_flows)
from .regions import ADMISSION_REGION

DEFAULT_THETA = 0.90
DEFAULT_FLAG_PROBABILITY = 0.5


def check_probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ParameterError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


@dataclass
class RegionModel:
    codes: tuple[str, ...]
    home_cluster: np.ndarray
    origins: pd.DataFrame
    models: dict                        # group -> FlowModel
    transition: Transition
    costs: pd.DataFrame                 # by school municipality
    clusters: dict                      # kommun_kod -> cluster
    year: int                           # admission year the attractiveness was fitted to
    beta: float
    choice_sd: float = 0.0
    mapped_share: float = 1.0
    entrants_by_group: dict = field(default_factory=dict)   # fitted year's entrants (I,) per group
    observed_flows: bool = False
    scenario_label: str | None = None
    new_units: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    # share of the students a full unit cannot take that find a place at a unit with room; the
    # rest are not placed in any region unit (chosen by the intake backtest, forecast.intake)
    spill: float = 1.0
    # announced or decided places of coming years (forecast.places; baseline input, not hypothetical)
    announced: pd.DataFrame = field(default_factory=pd.DataFrame)
    # group -> the fitted year's intake at the modelled units / the region's admitted students of
    # the group that year: the share of the entrants the fitted units took (A60); the
    # simulated entrants are scaled by it, so students of units outside the model (no location)
    # do not inflate the modelled ones
    coverage: dict = field(default_factory=dict)
    # year -> group -> factor on the transition rate: the simulated entrants of the anchored years
    # (origin + 1 … origin + 3) equal the intake model's, whose growth comes from the newest grade
    # counts (A80); a later year keeps the factor of the last anchored year and moves with the
    # projected 16-year-olds
    entrant_factor: dict = field(default_factory=dict)
    # year -> group -> {skolenhetskod: factor on W}: the attractiveness of anchored years after the
    # first relative to the first's (A80); a later year keeps the last anchored year's; units not
    # named (a scenario's new schools) keep their W
    year_attractiveness: dict = field(default_factory=dict)
    # year -> group -> share of the simulated entrants expected at units not yet known: the
    # entrant growth the intake model's unit forecasts leave to no known unit (its unallocated
    # pseudo-items, A28), kept apart so each known unit's expected intake in the anchored years is
    # the intake model's forecast (A90); a later year keeps the last anchored year's share
    unallocated_share: dict = field(default_factory=dict)

    def anchored(self, table: dict, year: int):
        """The entry of ``table`` (entrant_factor, year_attractiveness or unallocated_share) for ``year``: the
        latest anchored year up to it, None before the first."""
        ys = [y for y in table if y <= year]
        return table[max(ys)] if ys else None


def age16_by_year(history_pop16: pd.DataFrame, projection=None) -> pd.DataFrame:
    """kommun_kod × year of 16-year-olds: history where it exists, else the projection's central."""
    out = history_pop16
    if projection is not None:
        K, H = projection.central.shape[:2]
        t = pd.DataFrame({"kommun_kod": np.repeat(projection.codes, H), "year": np.tile(projection.years, K),
                          "population": projection.central[:, :, 16].reshape(-1)})
        out = pd.concat([out, t[~t.year.isin(out.year.unique())]], ignore_index=True)
    return out


def build_region_model(tables: dict, age16: pd.DataFrame, year: int | None = None, beta: float | None = None,
                       choice_sd: float = 0.0, observed: pd.DataFrame | None = None,
                       observed_source: str = "observed flows") -> RegionModel:
    """Fit the flow model to admission ``year`` (default: the latest) for the admission region.

    ``tables``: processed tables (admissions, school_crosswalk, gymnasium_units, grade9_schools,
    region_boundaries, municipalities, gymnasium_costs); ``age16``: kommun_kod, year, population.
    """
    adm = tables["admissions"]
    year = int(adm.year.max()) if year is None else int(year)
    codes = tuple(sorted(ADMISSION_REGION))
    muni = tables["municipalities"].set_index("kommun_kod")
    clusters = muni.cluster.dropna().to_dict()
    origins = origin_points(tables["grade9_schools"], tables["region_boundaries"], codes)
    units = unit_locations(tables["gymnasium_units"], origins)
    intake = unit_intake(adm, tables["school_crosswalk"], units, year, origins)
    a16 = age16.set_index(["kommun_kod", "year"]).population
    O = np.array([float(a16.get((c, year), np.nan)) for c in codes])
    if np.isnan(O).any():
        raise ParameterError(f"no 16-year-olds for admission year {year} in some municipalities")
    region16 = age16[age16.kommun_kod.isin(codes)].groupby("year").population.sum()
    transition = build_transition(adm[adm.year <= year], region16)
    home_cluster = np.array([clusters.get(c, "") for c in codes])
    per_group, O_g, obs_g, D_g = {}, {}, {}, {}
    for g in GROUPS:
        u = intake[intake.group == g].sort_values("skolenhetskod").reset_index(drop=True)
        D = distance_matrix(origins, codes, u.x.to_numpy(), u.y.to_numpy())
        per_group[g], O_g[g], obs_g[g], D_g[g] = u, O, u.admitted.to_numpy(float), D
    if observed is not None:
        # Fit the distance decay to the user's observed flows instead of the published shares.
        entrants = {c: float(o) * (transition.rate["HF"] + transition.rate["YP"]) for c, o in zip(codes, O)}
        unit_codes = set(units.skolenhetskod)
        observed = validate_observed_flows(observed, observed_source, codes, unit_codes, entrants)
        ux = units.set_index("skolenhetskod")
        used = sorted(set(observed.skolenhetskod))
        Dobs = distance_matrix(origins, codes, ux.loc[used, "x"].to_numpy(), ux.loc[used, "y"].to_numpy())
        beta = fit_observed_beta(observed, codes, {u: Dobs[:, k] for k, u in enumerate(used)})
    elif beta is None:
        unit_cluster = {g: per_group[g].kommun_kod.map(clusters).fillna("").to_numpy() for g in GROUPS}
        beta = calibrate_beta(O, obs_g, D_g, home_cluster, unit_cluster)
    models = {}
    for g in GROUPS:
        W = fit_attractiveness(O_g[g], obs_g[g], D_g[g], beta)
        models[g] = FlowModel(codes, per_group[g], D_g[g], W, beta)
    costs = cost_per_place(tables["gymnasium_costs"], sorted(set(intake.kommun_kod)))
    tobs = transition.observed.set_index(["year", "group"]).admitted
    coverage = {g: float(obs_g[g].sum() / tobs[(year, g)]) if tobs.get((year, g), 0) > 0 else 1.0 for g in GROUPS}
    return RegionModel(codes, home_cluster, origins, models, transition, costs, clusters, year, beta,
                       choice_sd, intake.attrs.get("mapped_share_admitted", 1.0), dict(O_g),
                       observed_flows=observed is not None, coverage=coverage)


def fitted_flows(rm: RegionModel) -> tuple[np.ndarray, pd.DataFrame]:
    """Wanted flows (I, J_all) of the fitted admission year (16-year-olds × transition rate), both
    groups side by side, and their units."""
    T = np.hstack([rm.models[g].wanted(rm.entrants_by_group[g] * rm.transition.rate[g]) for g in GROUPS])
    return T, pd.concat([rm.models[g].units for g in GROUPS])


def apply_scenario(rm: RegionModel, scenario) -> RegionModel:
    """Add the scenario's new schools and place changes (validated in forecast.scenarios)."""
    if scenario is None or scenario.schools is None or scenario.schools.empty:
        return rm
    s = scenario.schools
    models = dict(rm.models)
    new = s[s.action == "new"]
    for g in GROUPS:
        ng = new[new.programme_group == g]
        if len(ng):
            add = pd.DataFrame({"skolenhetskod": ng.skolenhetskod, "skola": ng.name, "kommun_kod": ng.kommun_kod,
                                "owner_type": "planerad", "x": ng.x, "y": ng.y, "coordinate_flag": "scenario",
                                "group": g, "places": ng.places, "admitted": 0.0, "vacant": 0.0,
                                "first_year": ng.first_year})
            models[g] = models[g].with_units(add, rm.origins)
    ch = s[s.action == "change"]
    for r in ch.itertuples():
        if r.skolenhetskod not in set(models[r.programme_group].units.skolenhetskod):
            raise ParameterError(f"scenario {scenario.path}: unit {r.skolenhetskod} has no "
                                 f"{r.programme_group} places to change")
    return replace(rm, models=models, scenario_label=scenario.label, new_units=new, changes=ch)


def _places_for_year(m: FlowModel, rm: RegionModel, g: str, year: int) -> tuple[np.ndarray, np.ndarray]:
    places = m.units.places.to_numpy(float).copy()
    W = m.W.copy()
    shift = (rm.anchored(rm.year_attractiveness, year) or {}).get(g)
    if shift:
        W = W * np.array([shift.get(u, 1.0) for u in m.units.skolenhetskod])
    if "first_year" in m.units:
        fy = m.units.first_year.to_numpy(dtype=float)
        closed = ~np.isnan(fy) & (fy > year)
        places[closed] = 0.0
        W[closed] = 0.0
    if len(rm.announced):
        from .places import places_in_year
        codes = m.units.skolenhetskod.to_numpy()
        for u in set(rm.announced[rm.announced.programme_group == g].skolenhetskod):
            v = places_in_year(rm.announced, u, g, year)
            j = np.flatnonzero(codes == u)
            if v is not None and len(j):
                places[j[0]] = v          # the capacity changes; the unit's pull (W) does not
    for r in rm.changes.itertuples() if len(rm.changes) else []:
        if r.programme_group == g and r.first_year <= year:
            j = np.flatnonzero(m.units.skolenhetskod.to_numpy() == r.skolenhetskod)
            if len(j):
                old = places[j[0]]
                places[j[0]] = max(old + r.places_change, 0.0)
                W[j[0]] = W[j[0]] * (places[j[0]] / old if old > 0 else 0.0)
    return places, W


def _place_with_spill(wanted, places, Wp, decay, spill: float):
    """(placed, displaced) under the capacity ceiling when only a share ``spill`` of the students a
    full unit turns away finds a place at a unit with room (1: all of them, forecast.flows.place)."""
    placed, displaced = place(wanted, places, Wp, decay)
    if spill < 1.0:
        # only a share of the excess spills: between 'keep what fits' and the full spill
        load = wanted.sum(axis=1)
        keep = np.minimum(1.0, np.divide(places[None, :], load, out=np.ones_like(load), where=load > 0))
        kept = wanted * keep[:, None, :]
        placed = kept + spill * (placed - kept)
        displaced = wanted.sum(axis=2) - placed.sum(axis=2)
    return placed, displaced


def unallocated_weights(m: FlowModel) -> np.ndarray:
    """Each modelled unit's share of the group's intake at the fitted year (0 for a scenario's
    new schools): summed over a school municipality's units, the share of the students not yet
    allocated to a known unit that the municipality gets (A28, A90). Never shown per unit."""
    a = m.units.admitted.to_numpy(float) if "admitted" in m.units else np.zeros(len(m.units))
    a = np.nan_to_num(np.clip(a, 0, None))
    return a / a.sum() if a.sum() > 0 else np.zeros(len(a))


def simulate_year(rm: RegionModel, age16_paths: np.ndarray, year: int, rng: np.random.Generator,
                  noise: bool = True) -> dict:
    """One year: per group, arrays over paths: wanted (S, J), placed (S, J), displaced (S,),
    unallocated (S,), places (J,), unallocated_weights (J,).

    ``noise``: draw the transition rate and the units' attractiveness (choice noise, A14);
    False gives the central forecast. A share of each path's entrants
    (``RegionModel.unallocated_share``, A90) is expected at units not yet known and chooses no
    known unit. Students are conserved: entrants = wanted + unallocated = placed + displaced +
    unallocated."""
    S = age16_paths.shape[0]
    out = {}
    for g in GROUPS:
        m = rm.models[g]
        places, W = _places_for_year(m, rm, g, year)
        factor = rm.anchored(rm.entrant_factor, year) or {}
        rate = rm.transition.rate[g] * rm.coverage.get(g, 1.0) * factor.get(g, 1.0) * (
            np.exp(rm.transition.sd_log[g] * rng.standard_normal((S, 1))) if noise else 1.0)
        O = age16_paths * rate
        share = float((rm.anchored(rm.unallocated_share, year) or {}).get(g, 0.0))
        unallocated = O.sum(axis=1) * share
        O = O * (1.0 - share)
        Wp = W[None, :] * np.exp(rm.choice_sd * rng.standard_normal((S, len(W))) - rm.choice_sd ** 2 / 2) \
            if noise and rm.choice_sd > 0 else W[None, :]
        sh = shares(Wp, m.D, m.beta)
        wanted = O[:, :, None] * sh
        placed, displaced = _place_with_spill(wanted, places, Wp, np.exp(-m.beta * m.D), rm.spill)
        out[g] = {"wanted": wanted.sum(axis=1), "placed": placed.sum(axis=1), "displaced": displaced.sum(axis=1),
                  "unallocated": unallocated, "unallocated_weights": unallocated_weights(m),
                  "places": places, "flows": placed.mean(axis=0), "wanted_flows": wanted.mean(axis=0)}
    return out


def summarise_year(rm: RegionModel, sim: dict, year: int, theta: float = DEFAULT_THETA,
                   flag_probability: float = DEFAULT_FLAG_PROBABILITY) -> pd.DataFrame:
    """Rows per level (enhet/kommun/kluster/programgrupp/region) × group: demand, places, risk, cost.

    Empty places and their cost are also split by owner (``*_municipal`` / ``*_independent``,
    A52); ``units_overcapacity`` / ``units_shortage`` count the area's units flagged on their
    own, so an area holding both full and half-empty units can be named as mixed.

    Students expected at units not yet known (A90; ``unallocated``, NaN on unit rows) count in an
    area's ``demand`` (and so in ``p_shortage`` and the demand interval): they want a place in the
    area that no known unit offers. They are not in ``placed``, ``utilisation``, ``p_overcapacity``
    or the empty places: those describe the known units' places and who fills them."""
    theta = check_probability("theta", theta)
    flag_probability = check_probability("flag_probability", flag_probability)
    cost = rm.costs.set_index("kommun_kod")
    rows = []
    for g in GROUPS:
        m, s = rm.models[g], sim[g]
        u = m.units
        keys = {
            "enhet": u.skolenhetskod.to_numpy(),
            "kommun": u.kommun_kod.to_numpy(),
            "kluster": u.kommun_kod.map(rm.clusters).fillna("övrigt").to_numpy(),
            "programgrupp": np.full(len(u), g),
        }
        unit_cost = u.kommun_kod.map(cost.cost_per_place_sek).fillna(cost.cost_per_place_sek.mean()).to_numpy()
        unit_prem = u.kommun_kod.map(cost.premises_per_place_sek).fillna(cost.premises_per_place_sek.mean()).to_numpy()
        # owner split (A52): the municipalities pay for empty places in their own schools; an
        # independent school's empty places are its provider's risk
        municipal = u.owner_type.fillna("").astype(str).isin(("kommunal", "region", "planerad")).to_numpy() \
            if "owner_type" in u else np.ones(len(u), bool)
        # each unit's own flags, once (an area counts its flagged units)
        open_all = s["places"] > 0
        unit_over_all = ((s["placed"] / np.maximum(s["places"], 1e-9)[None, :] < theta).mean(axis=0)
                         >= flag_probability) & open_all
        unit_short_all = ((s["wanted"] > s["places"][None, :] * (1 + 1e-9)).mean(axis=0)
                          >= flag_probability) & open_all
        w_un = s.get("unallocated_weights", np.zeros(len(u)))
        un_paths = s.get("unallocated", np.zeros(len(s["displaced"])))
        for level, key in keys.items():
            for k in pd.unique(key):
                j = key == k
                places = s["places"][j].sum()
                if places <= 0:
                    continue
                # students of the area expected at units not yet known (never at a unit, A90)
                unalloc = un_paths * w_un[j].sum() if level != "enhet" else np.zeros(len(un_paths))
                wanted = s["wanted"][:, j].sum(axis=1) + unalloc
                placed = s["placed"][:, j].sum(axis=1)
                empty = np.clip(s["places"][j][None, :] - s["placed"][:, j], 0, None)
                util = placed / places
                own = municipal[j][None, :]
                rows.append({
                    "year": year, "level": level, "area": k, "group": g, "places": places,
                    "demand": wanted.mean(), "demand_lo80": np.percentile(wanted, 10), "demand_hi80": np.percentile(wanted, 90),
                    "placed": placed.mean(), "utilisation": util.mean(),
                    "p_overcapacity": float((util < theta).mean()), "p_shortage": float((wanted > places * (1 + 1e-9)).mean()),
                    "empty_places": empty.sum(axis=1).mean(),
                    "cost_empty_sek": float((empty * unit_cost[j][None, :]).sum(axis=1).mean()),
                    "premises_cost_empty_sek": float((empty * unit_prem[j][None, :]).sum(axis=1).mean()),
                    "displaced": float(s["displaced"].mean()) if level == "programgrupp" else np.nan,
                    "unallocated": float(unalloc.mean()) if level != "enhet" else np.nan,
                    "places_municipal": float(s["places"][j][municipal[j]].sum()),
                    "empty_places_municipal": float((empty * own).sum(axis=1).mean()),
                    "empty_places_independent": float((empty * ~own).sum(axis=1).mean()),
                    "cost_empty_municipal_sek": float((empty * own * unit_cost[j][None, :]).sum(axis=1).mean()),
                    "cost_empty_independent_sek": float((empty * ~own * unit_cost[j][None, :]).sum(axis=1).mean()),
                    # units within the area flagged on their own (a municipality can hold both)
                    "units": int(open_all[j].sum()), "units_overcapacity": int(unit_over_all[j].sum()),
                    "units_shortage": int(unit_short_all[j].sum()),
                })
    df = pd.DataFrame(rows)
    df["flag_overcapacity"] = df.p_overcapacity >= flag_probability
    df["flag_shortage"] = df.p_shortage >= flag_probability
    df.attrs |= {"theta": theta, "flag_probability": flag_probability}
    return df


def run_risk(rm: RegionModel, projection, years, n_paths: int, rng: np.random.Generator,
             theta: float = DEFAULT_THETA, flag_probability: float = DEFAULT_FLAG_PROBABILITY) -> pd.DataFrame:
    """Risk table for each of ``years`` (within the projection), from ``n_paths`` simulated paths."""
    check_probability("theta", theta)
    check_probability("flag_probability", flag_probability)
    pyears = list(projection.years)
    bad = [y for y in years if y not in pyears]
    if bad:
        raise ParameterError(f"years {bad} are outside the projection years {pyears[0]}–{pyears[-1]}")
    idx = [projection.codes.index(c) for c in rm.codes]
    paths = projection.simulate(n_paths, rng)[:, idx, :]
    frames = []
    for y in years:
        sim = simulate_year(rm, paths[:, :, pyears.index(y)], y, rng)
        frames.append(summarise_year(rm, sim, y, theta, flag_probability))
    out = pd.concat(frames, ignore_index=True)
    out.attrs |= {"theta": theta, "flag_probability": flag_probability, "n_paths": n_paths,
                  "hypothetical": rm.scenario_label}
    return out


CALIBRATION_PATHS = 100        # paths of the origin year the attractiveness is calibrated on
CALIBRATION_STEPS = 25
CALIBRATION_TOLERANCE = 0.01   # stop when every unit's mean is within 1% (or 1 student) of its intake
CALIBRATION_MAX_FACTOR = 4.0   # a unit's attractiveness moves at most ×4 or ÷4 from the plain fit


def calibrate_under_noise(rm: RegionModel, seed: int = 0, paths: int = CALIBRATION_PATHS,
                          steps: int = CALIBRATION_STEPS, targets: dict | None = None,
                          entrants: np.ndarray | None = None, factor: dict | None = None,
                          unallocated: dict | None = None) -> RegionModel:
    """The attractiveness W such that one simulated year reproduces each unit's target intake
    *in expectation*, with the choice noise and the capacity ceiling of the simulation (A60).

    Default (``targets`` None): the origin year, target = each unit's observed intake, entrants =
    the origin's. :func:`forecast.flows.fit_attractiveness` makes the noise-free wanted flows
    equal the observed intake. Under choice noise a unit that was full then keeps its places only
    on the paths where its demand is at least its places, and the students it turns away spill to
    units with room, so the plain fit puts full units below their intake and units with room
    above theirs (on the 2021–2024 record: room units +11.7%, full units −2.5%). Here W is moved,
    multiplicatively and damped, until the mean placed students (common random numbers,
    ``paths`` paths) equal the target; a full unit's W rises (its true demand exceeds its
    places), the W of a unit receiving spill falls. Bounded by CALIBRATION_MAX_FACTOR. Without
    choice noise the origin year needs nothing.

    ``targets`` (group -> array over the group's units) with ``entrants`` (16-year-olds per home
    municipality of the year) and ``factor`` (group -> factor on the transition rate): a year
    after the origin, anchored on the intake model (A80). The targets are then shares: they are
    scaled to the simulated total at every step (the simulation's entrants, not the targets, set
    how many students there are), and the places are the origin's (the capacity the targets were
    forecast with). ``unallocated`` (group -> share of the entrants expected at units not yet
    known, A90): those entrants choose no known unit, here as in :func:`simulate_year`."""
    sd = rm.choice_sd
    if targets is None and sd <= 0:
        return rm
    rng = np.random.default_rng(seed)
    models = dict(rm.models)
    for g in GROUPS:
        m = models[g]
        places = m.units.places.to_numpy(float)
        if targets is None:
            obs = m.units.admitted.to_numpy(float)
            E = rm.entrants_by_group[g]
        else:
            obs = np.asarray(targets[g], float)
            E = np.asarray(entrants, float)
        O = E * rm.transition.rate[g] * rm.coverage.get(g, 1.0)
        if targets is not None:
            O = O * (factor or {}).get(g, 1.0) * (1.0 - (unallocated or {}).get(g, 0.0))
        z = rng.standard_normal((paths, len(obs))) if sd > 0 else np.zeros((1, len(obs)))
        decay = np.exp(-m.beta * m.D)
        W0 = m.W.copy()
        W = W0.copy()
        for _ in range(steps):
            Wp = W[None, :] * np.exp(sd * z - sd ** 2 / 2)
            wanted = O[None, :, None] * shares(Wp, m.D, m.beta)
            placed, _ = _place_with_spill(wanted, places, Wp, decay, rm.spill)
            mean = placed.sum(axis=1).mean(axis=0)
            goal = obs if targets is None else _fill_to(obs, places, mean.sum())
            ratio = np.divide(goal, mean, out=np.ones_like(goal), where=(mean > 0) & (goal > 0))
            if np.all(np.abs(mean - goal) <= np.maximum(CALIBRATION_TOLERANCE * goal, 1.0)):
                break
            W = np.clip(W * ratio ** 0.7, W0 / CALIBRATION_MAX_FACTOR, W0 * CALIBRATION_MAX_FACTOR)
        models[g] = replace(m, W=W)
    return replace(rm, models=models)


def _fill_to(target: np.ndarray, cap: np.ndarray, total: float) -> np.ndarray:
    """``target`` scaled to sum to ``total``, no item above its ``cap`` (where the target is
    below it): items that reach their cap stay there and the rest are scaled up further."""
    t = np.asarray(target, float)
    capped = np.maximum(cap, t)
    out = t.copy()
    fixed = np.zeros(len(t), bool)
    for _ in range(len(t) + 1):
        free = ~fixed
        rest = total - out[fixed].sum()
        base = t[free].sum()
        if base <= 0:
            break
        out[free] = t[free] * rest / base
        over = free & (out > capped)
        if not over.any():
            break
        out[over] = capped[over]
        fixed |= over
    return out

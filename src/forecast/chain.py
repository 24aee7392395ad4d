"""The whole chain in one call, for notebooks and the report run.

processed tables → single-age history → cohort projection (with intervals) → 16-year-olds by
home municipality → flow model fitted to the latest admissions → (scenario) → risk.

This module only loads the processed tables (through :func:`forecast.data.load_table`) and calls
the pure functions of the other modules; it is the map from a report's numbers to the code:

=====================================  ==============================================
number in a report                     computed in
=====================================  ==============================================
single-age history                     forecast.cohorts.build_single_age_history
16–18-year-olds, 16-year-olds          forecast.projection (Projection.gymnasium_ages)
track record, scorecard                forecast.backtest
transition, places per unit            forecast.capacity
where students go                      forecast.flows
utilisation, risk, cost                forecast.risk
the simulation's own track record      forecast.simrecord (benchmarks/risk.py)
=====================================  ==============================================
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .data import load_table
from .errors import ParameterError
from .files import read_csv_named
from .paths import OBSERVED_FLOWS, PROCESSED_DIR, PROJECT_ROOT
from .projection import CohortHistory, Projection, project_cohorts
from .risk import (RegionModel, age16_by_year, apply_scenario, build_region_model, calibrate_under_noise,
                   run_risk)
from .scenarios import Scenario, read_scenario

TABLES = ("municipalities", "cohort_history", "admissions", "school_crosswalk", "gymnasium_units",
          "grade9_schools", "region_boundaries", "gymnasium_costs", "pupils_grundskola", "pupils_kommun")


@dataclass
class Chain:
    tables: dict
    history: CohortHistory
    projection: Projection
    age16: pd.DataFrame
    region: RegionModel
    scenario: Scenario | None
    intake_backtest: dict

    @property
    def hypothetical(self) -> bool:
        return self.scenario is not None or self.projection.hypothetical

    def entrants(self, group: str, year: int) -> np.ndarray:
        a = self.age16.set_index(["kommun_kod", "year"]).population
        O = np.array([float(a[(c, year)]) for c in self.region.codes])
        return O * self.region.transition.rate[group]

    @property
    def origin(self) -> int:
        return int(self.intake_backtest["origin"])

    @property
    def forecast_years(self) -> list[int]:
        """L + 1 … L + horizon: the years shown as forecasts (years up to L are observed)."""
        return [int(y) for y in self.projection.years if y > self.origin]

    def risk(self, years=None, n_paths: int = 1000, seed: int = 1, theta: float = 0.9,
             flag_probability: float = 0.5) -> pd.DataFrame:
        years = self.forecast_years if years is None else [int(y) for y in years if y > self.origin]
        return run_risk(self.region, self.projection, years, n_paths, np.random.default_rng(seed), theta,
                        flag_probability)

    def municipality_names(self) -> dict:
        return self.tables["municipalities"].set_index("kommun_kod").kommun.to_dict()


def _inside_region(boundaries: pd.DataFrame):
    from shapely import wkt
    from shapely.geometry import Point
    from shapely.ops import unary_union
    region = unary_union([wkt.loads(w) for w in boundaries.geometry_wkt])
    return lambda x, y: bool(region.contains(Point(x, y)))


def load_scenario(scenario_file: str, tables: dict, base_year: int, horizon: int) -> Scenario:
    """Read and validate a scenario file (relative to the project root) for a projection."""
    path = Path(scenario_file)
    path = path if path.is_absolute() else PROJECT_ROOT / path
    sc = read_scenario(path, set(tables["municipalities"].kommun_kod), tables["gymnasium_units"],
                       _inside_region(tables["region_boundaries"]))
    last = base_year + horizon
    for df, col in ((sc.population, "year"), (sc.schools, "first_year")):
        if len(df) and ((df[col] <= base_year) | (df[col] > last)).any():
            bad = sorted(int(v) for v in df[(df[col] <= base_year) | (df[col] > last)][col].unique())
            raise ParameterError(f"scenario file {path}: {col} {bad} outside the projection years "
                                 f"{base_year + 1}–{last}")
    return sc




def resolve_origin(tables: dict, origin: int | None) -> tuple[int, list[str]]:
    """The admission year forecasts start from (default: the latest in the data) and notes on
    sibling data a run lacks. An origin outside the admission years is an error naming them."""
    adm_years = sorted(int(y) for y in tables["admissions"].year.unique())
    latest = adm_years[-1]
    if origin is None:
        origin = latest
    if isinstance(origin, bool) or not isinstance(origin, (int, np.integer)):
        raise ParameterError(f"origin must be an admission year (an integer), got {origin!r}")
    origin = int(origin)
    if origin > latest:
        raise ParameterError(f"origin {origin} is after the latest admission data ({latest}); forecasts can start "
                             f"from {adm_years[0]}–{latest} (default: {latest})")
    if origin < adm_years[0]:
        raise ParameterError(f"origin {origin} is before the earliest admission data ({adm_years[0]}); forecasts "
                             f"can start from {adm_years[0]}–{latest} (default: {latest})")
    notes = []
    pk = tables.get("pupils_kommun")
    if pk is not None and len(pk):
        last_grades = int(pk.school_year.max())
        if last_grades < origin:
            notes.append(f"grade counts for autumn {origin} are missing (latest: autumn {last_grades}); the "
                         f"entrants of {origin + 1} come from the cohort projection alone")
        elif last_grades > latest:
            notes.append(f"grade counts for autumn {last_grades} have no admission file for {last_grades} beside "
                         f"them; forecasts start from the admissions of {latest}")
    return origin, notes


def build_chain(base_year: int | None = None, horizon: int = 10, method: str = "best", scenario: str = "main",
                scenario_file: str | None = None, processed_dir: Path = PROCESSED_DIR,
                observed_flows: str | None = None, origin: int | None = None,
                places_dir: str | Path | None = None, tables: dict | None = None) -> Chain:
    """Everything a report needs, from the processed tables.

    Each component starts from its own latest data: the admissions of ``origin`` (default: the
    latest admission year L; forecast years are L + 1 … L + ``horizon``, years up to L are
    observed), the population of ``base_year`` (default: the latest 31 December up to the
    origin; the cohort projection runs on to L + horizon). ``scenario``: low/main/high migration;
    ``scenario_file``: a hypothetical scenario (scenarios/*.yml), relative to the project root,
    applied to the baseline chain by :func:`with_scenario`; ``observed_flows``: a CSV of observed
    home → unit flows (default: data/raw/observed_flows.csv when a user has put one there); the
    flow model is then fitted to it and reports say so. ``tables``: the processed tables already
    loaded (e.g. cut at an origin by forecast.intake.cut_tables for a real-time backtest)."""
    tables = {n: load_table(n, processed_dir) for n in TABLES} if tables is None else dict(tables)
    origin, notes = resolve_origin(tables, origin)
    history = CohortHistory.from_frame(tables["cohort_history"])
    pop_years = [int(y) for y in history.years if y <= origin]
    base_year = (pop_years[-1] if pop_years else int(history.years[-1])) if not base_year else int(base_year)
    proj_horizon = origin + horizon - base_year
    # A scenario file is read before anything is computed: its errors come first.
    sc = load_scenario(scenario_file, tables, origin, horizon) if scenario_file else None
    proj = project_cohorts(history, base_year, proj_horizon, method, scenario)
    age16 = _age16(tables, proj)
    # The flow model is anchored on the admissions of the origin: its attractiveness reproduces
    # each unit's intake that year, and moves with the 16-year-olds of each home municipality.
    from .intake import inputs_from_tables
    panel, grades = inputs_from_tables(tables)      # built once: settings, signals and places use it
    params, resid_sd, next_year = _intake_settings(panel, grades, origin)
    obs_path = Path(observed_flows) if observed_flows else (OBSERVED_FLOWS if OBSERVED_FLOWS.is_file() else None)
    observed = None
    if obs_path is not None:
        if not obs_path.is_file():
            raise ParameterError(f"observed flows file {obs_path} does not exist")
        observed = read_csv_named(obs_path, dtype=str, keep_default_na=False, encoding="utf-8")
    region = build_region_model(tables, age16, year=origin, choice_sd=resid_sd, observed=observed,
                                observed_source=str(obs_path))
    # Students a full unit cannot take look for a place at units with room (full spill) in the
    # simulated paths: the choice noise moves students between units and must not lose them. The
    # fill shortfall of full units (A21) is retired: entrants = placed + not placed (A24). The
    # attractiveness is then recalibrated so that the simulated origin year reproduces each
    # unit's intake in expectation under that noise and spill (A60), and anchored on the intake
    # model: the simulated years origin + 1 … + 3 reproduce, in expectation, each unit's intake
    # model forecast (A80), the growth no known unit takes kept apart as students at units not yet
    # known (A90); later years move from there with the cohorts.
    region = calibrate_under_noise(replace(region, spill=1.0))
    region = _anchor_on_intake_model(region, next_year, age16, grades, origin)
    region = replace(region, announced=load_places(tables, origin, places_dir, panel))
    intake_info = {"origin": origin, "params": params, "choice_sd": resid_sd, "notes": notes}
    base = Chain(tables, history, proj, age16, region, None, intake_info)
    return with_scenario(base, sc) if sc is not None else base


def load_places(tables: dict, origin: int, places_dir: str | Path | None = None,
                panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Announced or decided places (``config/places/*.csv`` by default; forecast.places), checked
    against the units and programme groups of the origin's admissions (``panel``: the intake
    panel when the caller has it)."""
    from . import intake
    from .places import read_places
    folder = Path(places_dir) if places_dir else PROJECT_ROOT / "config" / "places"
    folder = folder if folder.is_absolute() else PROJECT_ROOT / folder
    if panel is None:
        panel, _ = intake.inputs_from_tables(tables)
    now = panel[(panel.year == origin) & (panel.places > 0)]
    known = set(tables["gymnasium_units"].skolenhetskod) | set(now.skolenhetskod)
    return read_places(folder, known, origin, set(zip(now.skolenhetskod, now.group)))


ANCHORED_HORIZONS = (1, 2, 3)     # years after the origin the simulation is anchored on (A80)


def _anchor_on_intake_model(region: RegionModel, fc: pd.DataFrame | None, age16: pd.DataFrame,
                            grades: pd.DataFrame, origin: int) -> RegionModel:
    """The simulation's years origin + h (h in ANCHORED_HORIZONS) anchored on the intake model's
    forecasts of those years (``fc``: forecast.intake.forecast, places unknown; A80).

    For each year: the entrants are the region's intake at the origin × the entrant growth from
    the newest grade counts (forecast.intake.entrant_growth; a factor on the transition rate).
    The part of them the intake model's unit forecasts leave to no known unit (its unallocated
    pseudo-items, A28) is a share of the entrants expected at units not yet known
    (``RegionModel.unallocated_share``, A90), and the attractiveness is recalibrated under noise
    (the year's expected 16-year-olds, the origin's places) so that each known unit gets, in
    expectation, the intake model's forecast of that year (scaled down, no unit above its places,
    only when the forecasts add up to more than the entrants). The first year's W becomes the model's W;
    later anchored years are stored as factors on it, and years after the last keep the last
    one's. A unit the intake model has no row for keeps its origin intake as its target. ``fc``
    None (no grade counts at the origin): the region model is returned unchanged."""
    if fc is None or fc.empty:
        return region
    from .intake import entrant_growth
    a = age16.set_index(["kommun_kod", "year"]).population
    horizons = [h for h in ANCHORED_HORIZONS if h in set(fc.h)]
    gr = entrant_growth(grades, origin, max(horizons)).set_index(["area", "h"]).growth
    factors, shifts, unallocated, first, prev = {}, {}, {}, None, region
    for h in horizons:
        E = np.array([float(a.get((c, origin + h), np.nan)) for c in region.codes])
        if np.isnan(E).any():
            break
        one = fc[fc.h == h]
        factor = {g: float(one[one.group == g].admitted_origin.sum()) * float(gr[("region", h)])
                  / float((E * region.transition.rate[g]).sum())
                  for g in region.models if (E * region.transition.rate[g]).sum() > 0}
        pred = one.set_index(["skolenhetskod", "group"]).predicted
        targets = {g: np.array([float(pred.get((u, g), o)) for u, o in
                                zip(m.units.skolenhetskod, m.units.admitted.to_numpy(float))])
                   for g, m in region.models.items()}
        # the growth no known unit takes (the intake model's unallocated pseudo-items, A28) is kept
        # apart: expected at units not yet known, so each known unit keeps its own forecast (A90)
        share = {}
        for g in region.models:
            total = float((E * region.transition.rate[g]).sum()) * region.coverage.get(g, 1.0) * factor.get(g, 1.0)
            share[g] = max(0.0, 1.0 - float(targets[g].sum()) / total) if total > 0 else 0.0
        cal = calibrate_under_noise(prev, targets=targets, entrants=E, factor=factor, unallocated=share)
        factors[origin + h] = factor
        unallocated[origin + h] = share
        if first is None:
            first = cal
        else:
            shifts[origin + h] = {g: dict(zip(m.units.skolenhetskod,
                                              np.divide(cal.models[g].W, first.models[g].W,
                                                        out=np.ones(len(m.W)), where=first.models[g].W > 0)))
                                  for g, m in first.models.items()}
        prev = cal
    if first is None:
        return region
    return replace(first, entrant_factor=factors, year_attractiveness=shifts, unallocated_share=unallocated)


def _intake_settings(panel: pd.DataFrame, grades: pd.DataFrame, origin: int):
    """The intake model's settings chosen on the outcomes known at the origin (nested, as in the
    backtest; forecast.intake), the spread of its one-year unit errors (choice noise, A14) and its
    forecasts of the anchored years (places unknown; None without grade counts at the origin)."""
    from . import intake
    if int(grades.school_year.max()) < origin:
        return intake.DEFAULT, 0.0, None
    fc = intake.forecast(panel, grades, origin, horizons=ANCHORED_HORIZONS)
    return fc.attrs["params"], fc.attrs["error_sd"], fc


def _age16(tables: dict, proj: Projection) -> pd.DataFrame:
    ch = tables["cohort_history"]
    known = ch[(ch.age == 16) & (ch.year <= proj.base_year)][["kommun_kod", "year", "population"]]
    return age16_by_year(known, proj)


def with_scenario(base: Chain, scenario: Scenario | str) -> Chain:
    """The baseline chain with a hypothetical scenario (a Scenario or a scenario file): its
    population adjustments re-project the cohorts (same method, window, κ and error model as the
    baseline) and its schools join the baseline's fitted flow model as new destinations. What
    was fitted to observed data (flow model, β, intake backtest) stays the baseline's: the
    scenario changes only what it declares (assumption A20)."""
    p = base.projection
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, base.tables, base.origin,
                                                                      p.base_year + p.horizon - base.origin)
    proj, age16 = p, base.age16
    if len(sc.population):
        proj = project_cohorts(base.history, p.base_year, p.horizon, p.method, p.scenario, adjustments=sc.population,
                               errors=p.errors, params=p.params)
        age16 = _age16(base.tables, proj)
    return replace(base, projection=proj, age16=age16, region=apply_scenario(base.region, sc), scenario=sc)

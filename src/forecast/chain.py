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
=====================================  ==============================================
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .data import load_table
from .errors import ParameterError
from .paths import OBSERVED_FLOWS, PROCESSED_DIR, PROJECT_ROOT
from .projection import CohortHistory, Projection, project_cohorts
from .risk import RegionModel, age16_by_year, apply_scenario, backtest_intake, build_region_model, run_risk
from .scenarios import Scenario, read_scenario

TABLES = ("municipalities", "cohort_history", "admissions", "school_crosswalk", "gymnasium_units",
          "grade9_schools", "region_boundaries", "gymnasium_costs", "pupils_grundskola")


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

    def risk(self, years=None, n_paths: int = 1000, seed: int = 1, theta: float = 0.9,
             flag_probability: float = 0.5) -> pd.DataFrame:
        years = list(self.projection.years) if years is None else list(years)
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




def build_chain(base_year: int | None = None, horizon: int = 10, method: str = "best", scenario: str = "main",
                scenario_file: str | None = None, processed_dir: Path = PROCESSED_DIR,
                observed_flows: str | None = None) -> Chain:
    """Everything a report needs, from the processed tables. ``scenario``: low/main/high migration;
    ``scenario_file``: a hypothetical scenario (scenarios/*.yml), relative to the project root,
    applied to the baseline chain by :func:`with_scenario`; ``observed_flows``: a CSV of observed
    home → unit flows (default: data/raw/observed_flows.csv when a user has put one there); the
    flow model is then fitted to it and reports say so."""
    tables = {n: load_table(n, processed_dir) for n in TABLES}
    history = CohortHistory.from_frame(tables["cohort_history"])
    base_year = int(history.years[-1]) if base_year is None else base_year
    # A scenario file is read before anything is computed: its errors come first.
    sc = load_scenario(scenario_file, tables, base_year, horizon) if scenario_file else None
    proj = project_cohorts(history, base_year, horizon, method, scenario)
    age16 = _age16(tables, proj)
    # The flow model is fitted to the latest admission year with 16-year-olds known or projected.
    adm_years = sorted(tables["admissions"].year.unique())
    if base_year + 1 < adm_years[0]:
        raise ParameterError(f"base_year {base_year} is before the admission data ({adm_years[0]}–"
                             f"{adm_years[-1]}); the capacity chain needs base_year >= {adm_years[0] - 1}")
    fit_year = max(y for y in adm_years if y <= base_year + 1)
    intake_bt = backtest_intake(tables, age16, years=[y for y in adm_years[1:] if y <= fit_year])
    obs_path = Path(observed_flows) if observed_flows else (OBSERVED_FLOWS if OBSERVED_FLOWS.is_file() else None)
    observed = None
    if obs_path is not None:
        if not obs_path.is_file():
            raise ParameterError(f"observed flows file {obs_path} does not exist")
        observed = pd.read_csv(obs_path, dtype=str, keep_default_na=False, encoding="utf-8")
    region = build_region_model(tables, age16, year=fit_year, choice_sd=intake_bt["choice_sd"], observed=observed,
                                observed_source=str(obs_path))
    region = replace(region, fill_shortfall=intake_bt["fill_shortfall"])
    base = Chain(tables, history, proj, age16, region, None, intake_bt)
    return with_scenario(base, sc) if sc is not None else base


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
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, base.tables, p.base_year, p.horizon)
    proj, age16 = p, base.age16
    if len(sc.population):
        proj = project_cohorts(base.history, p.base_year, p.horizon, p.method, p.scenario, adjustments=sc.population,
                               errors=p.errors, params=p.params)
        age16 = _age16(base.tables, proj)
    return replace(base, projection=proj, age16=age16, region=apply_scenario(base.region, sc), scenario=sc)

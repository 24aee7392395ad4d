"""Cohort projection: single ages 0–19 per municipality, with intervals and simulated paths.

Everything here is a pure function of arrays. The state is a :class:`CohortHistory`
(municipality × year × age 0–19, 31 Dec, from :func:`forecast.cohorts.build_single_age_history`).
One step ages every cohort by a *change ratio* R(a) = P(a+1, t+1) / P(a, t): ratios above 1 mean
net in-migration, below 1 net out-migration (mortality at these ages is negligible). The methods
differ only in where R comes from:

=================  =========================================================================
method             change ratios / rule
=================  =========================================================================
carry_forward      R = 1: every cohort keeps its size (the naive yardstick)
linear             no ageing: each single age follows a straight line fitted to its last
                   ``window`` years (the trend yardstick)
hamilton_perry     the municipality's own ratios, pooled over the last ``window`` years
shrunk             own ratios shrunk toward the county's: λ·R_own + (1−λ)·R_county with
                   λ = n / (n + κ), n the mean cohort size; then raked so the municipalities
                   of each county sum to the county's own Hamilton–Perry projection
ensemble           the mean of hamilton_perry and shrunk
=================  =========================================================================

Window and κ are chosen by the backtest (:mod:`forecast.backtest`), never by hand. Age 0 (not yet
born at the base year) is the mean of the last three years' 0-year-olds: births matter for the
entrant cohort only beyond 16 years ahead, and the reports say so.

Intervals come from the backtest's own errors (:class:`ErrorModel`): log(forecast / outcome) of
the same method, horizon and municipality size class, from origins whose outcomes were known at
the base year.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .errors import ParameterError

N_AGES = 20
METHODS = ("carry_forward", "linear", "hamilton_perry", "shrunk", "ensemble")
SCENARIOS = ("low", "main", "high")
MAX_HORIZON = 20
BIRTH_YEARS_MEAN = 3
# Boundaries (16–18-year-olds at the base year) of size classes with separate interval widths.
# The default design (errors pooled over size classes, symmetric in log space) is the one the
# nested design choice of :func:`forecast.backtest.nested_interval_coverage` picks at the latest
# origins; docs/methods.md §3 gives the out-of-sample coverage of every design.
SIZE_CLASS_BOUNDS: tuple = ()
LEVELS = (80, 95)


@dataclass(frozen=True)
class IntervalDesign:
    """How the backtest errors become intervals: size classes by 16–18-year-olds at the base
    year (``bounds``; empty: one class) and symmetric (quantiles of |log error|) or two-sided
    (quantiles of the signed log error)."""

    bounds: tuple = SIZE_CLASS_BOUNDS
    symmetric: bool = True

    @property
    def name(self) -> str:
        cls = "size classes " + "/".join(f"{b:g}" for b in self.bounds) if self.bounds else "pooled"
        return f"{cls}, {'symmetric' if self.symmetric else 'two-sided'}"


DEFAULT_DESIGN = IntervalDesign()
INTERVAL_DESIGNS = (IntervalDesign((), True), IntervalDesign((1_000, 5_000), True),
                    IntervalDesign((), False), IntervalDesign((1_000, 5_000), False))


@dataclass(frozen=True)
class CohortHistory:
    """Population by municipality × year × single age (0–19), 31 Dec, consecutive years."""

    codes: tuple[str, ...]
    years: np.ndarray
    pop: np.ndarray  # float, (K, Y, 20)
    _year_keys: tuple | None = field(default=None, compare=False, repr=False)

    def fingerprint(self) -> tuple:
        """A cheap identity of the data: one digest per year, computed once and kept by truncate."""
        if self._year_keys is None:
            keys = tuple(hashlib.sha1(np.ascontiguousarray(self.pop[:, i]).tobytes()).hexdigest()
                         for i in range(self.pop.shape[1]))
            object.__setattr__(self, "_year_keys", keys)
        return (self.codes, int(self.years[0]) if len(self.years) else 0) + self._year_keys

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> "CohortHistory":
        need = {"kommun_kod", "year", "age", "population"}
        if missing := need - set(df.columns):
            raise ParameterError(f"history frame lacks columns {sorted(missing)}")
        wide = df.pivot_table(index=["kommun_kod", "year"], columns="age", values="population", aggfunc="sum")
        wide = wide.reindex(columns=range(N_AGES))
        codes = tuple(sorted(wide.index.get_level_values(0).unique()))
        years = np.arange(int(df.year.min()), int(df.year.max()) + 1)
        full = pd.MultiIndex.from_product([codes, years], names=["kommun_kod", "year"])
        wide = wide.reindex(full)
        # Municipality-years without data (Knivsta before it existed in 2003, Uppsala 2002 whose
        # derived bands are negative) stay NaN: no ratio uses them and no forecast starts there.
        pop = wide.to_numpy(dtype=float).reshape(len(codes), len(years), N_AGES)
        return cls(codes, years, pop)

    def truncate(self, last_year: int) -> "CohortHistory":
        keep = self.years <= last_year
        keys = None if self._year_keys is None else tuple(k for k, m in zip(self._year_keys, keep) if m)
        return CohortHistory(self.codes, self.years[keep], self.pop[:, keep], keys)

    def select(self, codes) -> "CohortHistory":
        idx = [self.codes.index(c) for c in codes]
        return CohortHistory(tuple(codes), self.years, self.pop[idx])

    @property
    def counties(self) -> np.ndarray:
        return np.array([c[:2] for c in self.codes])


@dataclass(frozen=True)
class MethodParams:
    window: int = 5
    kappa: float = 500.0


def _pooled_ratios(P: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Change ratios a -> a+1 pooled over the last ``window`` transitions; and mean cohort size."""
    num, den = _transition_sums(P, window)
    w = min(window, P.shape[-2] - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / den, 1.0)
    return r, den / w


def _transition_sums(P: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums of P(a+1, y+1) and P(a, y) over the last ``window`` transitions with both years known."""
    w = min(window, P.shape[-2] - 1)
    nxt, cur = P[..., -w:, 1:], P[..., -w - 1:-1, :-1]
    ok = ~(np.isnan(nxt) | np.isnan(cur))
    return np.where(ok, nxt, 0.0).sum(axis=-2), np.where(ok, cur, 0.0).sum(axis=-2)


def _group_sum(inv: np.ndarray, n: int, arr: np.ndarray) -> np.ndarray:
    """Sum the rows of ``arr`` by group index ``inv`` (a one-hot matrix product; faster than add.at)."""
    M = np.zeros((n, len(inv)))
    M[inv, np.arange(len(inv))] = 1.0
    return (M @ arr.reshape(len(inv), -1)).reshape((n,) + arr.shape[1:])


def _county_ratios(P: np.ndarray, counties: np.ndarray, window: int) -> np.ndarray:
    """County change ratios pooled from its municipalities' known transitions, per municipality."""
    num, den = _transition_sums(P, window)
    uniq, inv = np.unique(counties, return_inverse=True)
    cn = _group_sum(inv, len(uniq), num)
    cd = _group_sum(inv, len(uniq), den)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(cd > 0, cn / cd, 1.0)
    return r[inv]


def _county_sums(P: np.ndarray, counties: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, inv = np.unique(counties, return_inverse=True)
    return _group_sum(inv, len(uniq), np.nan_to_num(P)), inv


def _age(X0: np.ndarray, R: np.ndarray, births: np.ndarray, horizon: int, shift: np.ndarray | None = None,
         added: np.ndarray | None = None) -> np.ndarray:
    """Age the state ``X0`` (K, 20) ``horizon`` steps: (K, H, 20)."""
    K = X0.shape[0]
    out = np.empty((K, horizon, N_AGES))
    x = X0
    Rs = R if shift is None else np.clip(R + shift[:, None], 0.0, None)
    for h in range(horizon):
        nxt = np.empty_like(x)
        nxt[:, 1:] = x[:, :-1] * Rs
        nxt[:, 0] = births
        if added is not None:
            nxt = nxt + added[:, h]
        out[:, h] = nxt
        x = nxt
    return out


def _ratios_for(method: str, P: np.ndarray, counties: np.ndarray, params: MethodParams) -> np.ndarray:
    if method == "carry_forward":
        return np.ones((P.shape[0], N_AGES - 1))
    own, size = _pooled_ratios(P, params.window)
    if method == "hamilton_perry":
        return own
    cty = _county_ratios(P, counties, params.window)
    lam = size / (size + params.kappa) if params.kappa > 0 else np.ones_like(size)
    return lam * own + (1 - lam) * cty


def project_array(P: np.ndarray, counties: np.ndarray, horizon: int, method: str,
                  params: MethodParams = MethodParams(), shift: np.ndarray | None = None,
                  added: np.ndarray | None = None) -> np.ndarray:
    """Central projection (K, H, 20) from the history array ``P`` (K, Y, 20) ending at the base year."""
    if method == "ensemble":
        a = project_array(P, counties, horizon, "hamilton_perry", params, shift, added)
        b = project_array(P, counties, horizon, "shrunk", params, shift, added)
        return (a + b) / 2
    X0 = P[:, -1]
    with warnings.catch_warnings():  # municipalities not yet existing at the base year stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        births = np.nanmean(P[:, -BIRTH_YEARS_MEAN:, 0], axis=1)
    if method == "linear":
        w = min(params.window, P.shape[1])
        t = np.arange(w) - (w - 1)
        y = P[:, -w:]
        slope = (t[None, :, None] * (y - y.mean(axis=1, keepdims=True))).sum(axis=1) / max((t ** 2).sum() - w * t.mean() ** 2, 1e-9)
        level = y.mean(axis=1) - slope * t.mean()
        hs = np.arange(1, horizon + 1)
        out = np.clip(level[:, None, :] + slope[:, None, :] * hs[None, :, None], 0.0, None)
        if added is not None:
            out = out + np.cumsum(added, axis=1)
        return out
    R = _ratios_for(method, P, counties, params)
    out = _age(X0, R, births, horizon, shift, added)
    if method == "shrunk":
        C, inv = _county_sums(P, counties)
        uniq_first = np.unique(inv, return_index=True)[1]
        Rc = _county_ratios(P, counties, params.window)[uniq_first]
        cshift = None
        if shift is not None:
            w = _group_sum(inv, C.shape[0], np.nan_to_num(shift * P[:, -1].sum(axis=1)))
            cshift = w / np.maximum(C[:, -1].sum(axis=1), 1.0)
        cadd = None
        if added is not None:
            cadd = _group_sum(inv, C.shape[0], added)
        cout = _age(C[:, -1], Rc, C[:, -BIRTH_YEARS_MEAN:, 0].mean(axis=1), horizon, cshift, cadd)
        # A county whose municipalities are not all known at the base year cannot be raked to.
        complete = _group_sum(inv, C.shape[0], np.isnan(P[:, -1]).any(axis=1).astype(float)) == 0
        cout = np.where(complete[:, None, None], cout, np.nan)
        msum = _group_sum(inv, C.shape[0], np.nan_to_num(out))
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where((msum > 0) & ~np.isnan(cout), cout / msum, 1.0)
        out = out * factor[inv]
    return out


def migration_shift(P: np.ndarray, scenario: str, years: int = 10) -> np.ndarray:
    """Additive shift to the change ratios for the low / main / high migration scenario.

    Each municipality's yearly net change ratio (ages 1–17 → 2–18, all ages pooled) over the last
    ``years`` transitions; low = its 10th percentile minus its mean, high = its 90th percentile
    minus its mean: "migration as in the weakest / strongest years we have seen".
    """
    if scenario not in SCENARIOS:
        raise ParameterError(f"unknown scenario {scenario!r}; allowed: {', '.join(SCENARIOS)}")
    if scenario == "main":
        return np.zeros(P.shape[0])
    w = min(years, P.shape[1] - 1)
    num = P[:, -w:, 2:19].sum(axis=2)
    den = P[:, -w - 1:-1, 1:18].sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        yearly = np.where(den > 0, num / den, 1.0)
    q = 10 if scenario == "low" else 90
    return np.percentile(yearly, q, axis=1) - yearly.mean(axis=1)


def size_class(band16_18: np.ndarray, bounds: tuple = SIZE_CLASS_BOUNDS) -> np.ndarray:
    return np.searchsorted(np.array(bounds, dtype=float), band16_18, side="right")


@dataclass
class ErrorModel:
    """Empirical log errors log(forecast / outcome) by (quantity, horizon, size class).

    ``quantity`` is one of ``band16_18``, ``age16`` (per municipality) or ``county_band16_18``,
    ``county_age16`` (Stockholm County's sum; size class 0). Built by
    :func:`forecast.backtest.build_error_model` from origins whose outcomes are known.
    """

    errors: dict = field(default_factory=dict)
    rho: float = 0.5
    grid: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, 201))
    design: IntervalDesign = DEFAULT_DESIGN
    _q: dict = field(default_factory=dict, repr=False)

    def size_class(self, band16_18: np.ndarray) -> np.ndarray:
        return size_class(band16_18, self.design.bounds)

    def sample(self, quantity: str, h: int, cls: int) -> np.ndarray:
        """Errors for (quantity, h, size class); too few there: pooled over size classes; none
        at this horizon: the nearest shorter horizon's, widened by sqrt(h / h_shorter)."""
        need = 5 if quantity.startswith("county") else 20
        key = (quantity, h, cls)
        if key in self.errors and len(self.errors[key]) >= need:
            return self.errors[key]
        pooled = [v for (q, hh, _), v in self.errors.items() if q == quantity and hh == h]
        if pooled and sum(map(len, pooled)) >= need:
            return np.concatenate(pooled)
        shorter = sorted({hh for (q, hh, _), v in self.errors.items() if q == quantity and hh < h})
        for hb in reversed(shorter):
            n = sum(len(v) for (q, hh, _), v in self.errors.items() if q == quantity and hh == hb)
            if n >= need:
                return self.sample(quantity, hb, cls) * np.sqrt(h / hb)
        raise ParameterError(f"too few backtest errors for {quantity!r} at horizon {h}: the history is too short")

    def quantiles(self, quantity: str, h: int, cls: int) -> np.ndarray:
        """Quantiles on ``grid`` of the absolute log error (symmetric design) or of the signed
        log error (two-sided design); docs/methods.md §3 gives each design's coverage."""
        key = (quantity, h, cls)
        if key not in self._q:
            e = self.sample(quantity, h, cls)
            self._q[key] = np.quantile(np.abs(e) if self.design.symmetric else e, self.grid)
        return self._q[key]

    def interval(self, quantity: str, h: int, cls: int, level: int) -> tuple[float, float]:
        """Multipliers (lo, hi) on the central value: outcome = forecast / exp(error)."""
        q = self.quantiles(quantity, h, cls)
        if self.design.symmetric:
            a = float(np.interp(level / 100, self.grid, q))
            return float(np.exp(-a)), float(np.exp(a))
        lo_e = float(np.interp((1 - level / 100) / 2, self.grid, q))
        hi_e = float(np.interp((1 + level / 100) / 2, self.grid, q))
        return float(np.exp(-hi_e)), float(np.exp(-lo_e))

    @property
    def empty(self) -> bool:
        return not self.errors


def _validate(history: CohortHistory, base_year: int, horizon: int, method: str, codes) -> None:
    if method not in METHODS + ("best",):
        raise ParameterError(f"unknown method {method!r}; allowed: {', '.join(METHODS + ('best',))}")
    if not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= MAX_HORIZON:
        raise ParameterError(f"horizon must be an integer from 1 to {MAX_HORIZON}, got {horizon!r}")
    first, last = int(history.years[0]), int(history.years[-1])
    if not isinstance(base_year, (int, np.integer)) or not first + 2 <= base_year <= last:
        raise ParameterError(f"base_year must be from {first + 2} to {last} (the history covers "
                             f"{first}–{last}), got {base_year!r}")
    if codes is not None:
        unknown = sorted(set(codes) - set(history.codes))
        if unknown:
            raise ParameterError(f"unknown municipality code(s) {unknown}; allowed: the 290 four-digit "
                                 f"codes of the history, e.g. {', '.join(history.codes[:3])} …")


@dataclass
class Projection:
    """A projection from one base year: central values (K, H, 20) and what made them."""

    codes: tuple[str, ...]
    base_year: int
    horizon: int
    method: str
    scenario: str
    params: MethodParams
    central: np.ndarray
    base_band16_18: np.ndarray
    errors: ErrorModel
    hypothetical: bool = False

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.base_year + 1, self.base_year + self.horizon + 1)

    def table(self) -> pd.DataFrame:
        """Long table: kommun_kod, year, age, population (central), lo80, hi80, lo95, hi95."""
        K, H, A = self.central.shape
        cls = self.errors.size_class(self.base_band16_18)
        mult = np.ones((K, H, 2 * len(LEVELS)))
        for k in range(K):
            for h in range(H):
                m = []
                for lvl in LEVELS:
                    m += list(self.errors.interval("age16", h + 1, int(cls[k]), lvl))
                mult[k, h] = m
        df = pd.DataFrame({
            "kommun_kod": np.repeat(self.codes, H * A),
            "year": np.tile(np.repeat(self.years, A), K),
            "age": np.tile(np.arange(A), K * H),
            "population": self.central.reshape(-1),
        })
        for i, col in enumerate(("lo80", "hi80", "lo95", "hi95")):
            df[col] = (self.central * mult[:, :, i][:, :, None]).reshape(-1)
        df["method"] = self.method
        df["scenario"] = self.scenario
        return df

    def gymnasium_ages(self, region_codes=None) -> pd.DataFrame:
        """16-year-olds (entrant cohort) and 16–18-year-olds per municipality, county and region.

        Columns: area, area_type (kommun/län/region), year, measure (age16/age16_18),
        population, lo80, hi80, lo95, hi95.
        """
        cls = self.errors.size_class(self.base_band16_18)
        rows = []
        counties = np.array([c[:2] for c in self.codes])
        for measure, sl, q in (("age16", slice(16, 17), "age16"), ("age16_18", slice(16, 19), "band16_18")):
            v = self.central[:, :, sl].sum(axis=2)
            for k, code in enumerate(self.codes):
                for h, year in enumerate(self.years):
                    rows.append((code, "kommun", int(year), measure, v[k, h], q, h + 1, int(cls[k])))
            areas = [("01", "län", counties == "01")]
            if region_codes is not None:
                areas.append(("region", "region", np.isin(np.array(self.codes), list(region_codes))))
            for name, typ, mask in areas:
                if mask.any():
                    tot = v[mask].sum(axis=0)
                    for h, year in enumerate(self.years):
                        rows.append((name, typ, int(year), measure, tot[h], "county_" + q, h + 1, 0))
        df = pd.DataFrame(rows, columns=["area", "area_type", "year", "measure", "population", "_q", "_h", "_c"])
        for lvl in LEVELS:
            lo, hi = zip(*(self.errors.interval(q, h, c, lvl) for q, h, c in zip(df._q, df._h, df._c)))
            df[f"lo{lvl}"] = df.population * np.array(lo)
            df[f"hi{lvl}"] = df.population * np.array(hi)
        return df.drop(columns=["_q", "_h", "_c"])

    def simulate(self, n_paths: int, rng: np.random.Generator, ages=slice(16, 17)) -> np.ndarray:
        """Simulated paths (n_paths, K, H) of the population summed over ``ages``.

        Each path draws one standard-normal shock per municipality, correlated across
        municipalities through a common factor (correlation ``errors.rho``) and kept across
        horizons (forecast errors persist); it is mapped through the empirical quantiles of the
        absolute log error of that horizon (with the shock's sign), so the paths reproduce the
        intervals of :meth:`table`.
        """
        if not isinstance(rng, np.random.Generator):
            raise ParameterError("rng must be a numpy.random.Generator (the seed is a parameter)")
        K, H, _ = self.central.shape
        quantity = "age16" if (ages.stop - ages.start) == 1 else "band16_18"
        central = self.central[:, :, ages].sum(axis=2)
        z = np.sqrt(self.errors.rho) * rng.standard_normal((n_paths, 1)) + \
            np.sqrt(1 - self.errors.rho) * rng.standard_normal((n_paths, K))
        u = ndtr(z)
        v = 2 * u - 1   # symmetric: the sign picks the side, |v| the quantile of |error|
        sign, mag = np.sign(v), np.abs(v)
        cls = self.errors.size_class(self.base_band16_18)
        out = np.empty((n_paths, K, H))
        for h in range(H):
            for c in np.unique(cls):
                m = cls == c
                q = self.errors.quantiles(quantity, h + 1, int(c))
                if self.errors.design.symmetric:
                    e = sign[:, m] * np.interp(mag[:, m], self.errors.grid, q)
                else:   # two-sided: the shock's quantile of the signed error
                    e = np.interp(u[:, m], self.errors.grid, q)
                out[:, m, h] = central[m, h][None, :] * np.exp(-e)
        return out


def project_cohorts(history: CohortHistory, base_year: int, horizon: int, method: str = "best",
                    scenario: str = "main", adjustments: pd.DataFrame | None = None,
                    codes=None, errors: ErrorModel | None = None, params: MethodParams | None = None,
                    ) -> Projection:
    """Project single ages 0–19 for every municipality of ``history`` from ``base_year``.

    ``method`` 'best' (and any method without explicit ``params``) takes the method and its
    window/κ from the backtest on the history up to ``base_year``; ``errors`` likewise
    defaults to the backtest's errors for that method. ``adjustments`` (from a scenario file,
    :func:`forecast.scenarios.read_scenario`) adds persons aged 0–19 in a given year.
    ``codes`` limits the output (the projection itself always uses every municipality, so
    county ratios and raking see the whole county). Nothing here reads files.
    """
    from .backtest import build_error_model, select_method

    _validate(history, base_year, horizon, method, codes)
    if scenario not in SCENARIOS:
        raise ParameterError(f"unknown scenario {scenario!r}; allowed: {', '.join(SCENARIOS)}")
    hist = history.truncate(base_year)
    if method == "best" or params is None:
        chosen, chosen_params = select_method(hist)
        method = chosen if method == "best" else method
        params = params or chosen_params
    P = hist.pop
    shift = migration_shift(P, scenario)
    added = None
    hypothetical = scenario != "main"
    if adjustments is not None and len(adjustments):
        added = adjustment_array(adjustments, hist, base_year, horizon)
        hypothetical = True
    central = project_array(P, hist.counties, horizon, method, params, shift, added)
    if errors is None:
        errors = build_error_model(hist, method, params)
    proj = Projection(hist.codes, base_year, horizon, method, scenario, params, central,
                      P[:, -1, 16:19].sum(axis=1), errors, hypothetical)
    if codes is not None:
        idx = [hist.codes.index(c) for c in codes]
        proj = replace(proj, codes=tuple(codes), central=central[idx], base_band16_18=proj.base_band16_18[idx])
    return proj


def adjustment_array(adjustments: pd.DataFrame, hist: CohortHistory, base_year: int, horizon: int) -> np.ndarray:
    """Persons added (K, H, 20): each row's ``persons`` spread over ages 0–19 in proportion to the
    municipality's age structure at the base year, entering in ``year``."""
    out = np.zeros((len(hist.codes), horizon, N_AGES))
    for r in adjustments.itertuples():
        if r.kommun_kod not in hist.codes:
            raise ParameterError(f"adjustment names unknown municipality {r.kommun_kod!r}")
        h = int(r.year) - base_year - 1
        if not 0 <= h < horizon:
            raise ParameterError(f"adjustment year {r.year} is outside the projection years "
                                 f"{base_year + 1}–{base_year + horizon}")
        k = hist.codes.index(r.kommun_kod)
        shares = hist.pop[k, -1] / max(hist.pop[k, -1].sum(), 1.0)
        out[k, h] += float(r.persons) * shares
    return out

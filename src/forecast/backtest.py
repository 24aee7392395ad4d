"""Rolling-origin backtest of the cohort methods: accuracy, method choice and interval widths.

For an origin *T* every method sees only ``history.truncate(T)``; its forecasts for *T + h* are
compared with the history's value then. Method parameters (window, κ) are chosen at each origin
from the origins before it (nested), so no forecast has seen its own outcome. The same errors
give the interval widths (:class:`forecast.projection.ErrorModel`), and their coverage is
measured out of sample: the intervals for origin *T* are built only from errors whose outcomes
were known at *T*.

"Outcomes" are the exact 16–18 bands (Kolada, every year) and the reconstructed single age 16
(exact in 2019, otherwise split from the bands; see docs/methods.md).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from . import scores
from .projection import (DEFAULT_DESIGN, INTERVAL_DESIGNS, LEVELS, METHODS, CohortHistory, ErrorModel,
                         IntervalDesign, MethodParams, project_array, size_class)
from .regions import ADMISSION_REGION

WINDOWS = (3, 5, 8)
KAPPAS = (100.0, 300.0, 1_000.0, 3_000.0, 10_000.0)
SELECTION_HORIZONS = (1, 2, 3, 4, 5)
MIN_SELECTION_ORIGINS = 3
HORIZONS = tuple(range(1, 11))


def candidates() -> list[tuple[str, MethodParams]]:
    out = [("carry_forward", MethodParams()), ("linear", MethodParams(window=5))]
    out += [("hamilton_perry", MethodParams(window=w)) for w in WINDOWS]
    out += [("shrunk", MethodParams(window=w, kappa=k)) for w in WINDOWS for k in KAPPAS]
    out += [("ensemble", MethodParams(window=w, kappa=k)) for w in WINDOWS for k in KAPPAS]
    return out


def _focus(hist: CohortHistory) -> np.ndarray:
    """Municipalities the method choice is scored on: the admission region when present."""
    m = np.isin(np.array(hist.codes), list(ADMISSION_REGION))
    return m if m.any() else np.ones(len(hist.codes), dtype=bool)


def forecast_errors(hist: CohortHistory, method: str, params: MethodParams, origins, horizons,
                    outcome: CohortHistory | None = None) -> dict:
    """{(origin, h): (forecast16_18 (K,), actual16_18 (K,), forecast16 (K,), actual16 (K,))}.

    ``outcome`` (default ``hist``) holds the actual values; forecasts use ``hist.truncate(origin)``.
    """
    outcome = outcome or hist
    hist.fingerprint()   # computed once here, inherited by every truncation below
    last = int(outcome.years[-1])
    res = {}
    for o in origins:
        hs = [h for h in horizons if o + h <= last]
        if not hs:
            continue
        past = hist.truncate(o)
        if past.pop.shape[1] < 3:
            continue
        X = _projected(past, method, params, max(horizons))   # full length: memo hits across origins
        for h in hs:
            a = outcome.pop[:, outcome.years == o + h][:, 0]
            res[(o, h)] = (X[:, h - 1, 16:19].sum(axis=1), a[:, 16:19].sum(axis=1), X[:, h - 1, 16], a[:, 16])
    return res


_MEMO: dict = {}


def _projected(past: CohortHistory, method: str, params: MethodParams, horizon: int) -> np.ndarray:
    """project_array, memoised on the data: the nested selection re-scores the same origins at
    every later origin, and a forecast from origin o depends only on the history up to o."""
    key = (method, params, horizon, past.fingerprint())
    if key not in _MEMO:
        if len(_MEMO) > 20_000:
            _MEMO.clear()
        X = project_array(past.pop, past.counties, horizon, method, params)
        _MEMO[key] = np.stack([X[:, :, 16:19].sum(axis=2), X[:, :, 16]], axis=-1)
    Y = _MEMO[key]
    out = np.zeros(Y.shape[:2] + (20,))
    out[:, :, 16] = Y[:, :, 1]
    out[:, :, 17] = Y[:, :, 0] - Y[:, :, 1]   # forecast_errors only uses age 16 and the 16–18 sum
    return out


def _mape(f: np.ndarray, a: np.ndarray) -> float:
    """MAPE over the municipalities with a forecast (a municipality without history at the
    origin has none) and an outcome."""
    ok = np.isfinite(f) & np.isfinite(a)
    return scores.mape(f[ok], a[ok])


def select_method(hist: CohortHistory, family: str | None = None) -> tuple[str, MethodParams]:
    """The candidate (of ``family`` if given) with the lowest mean 16–18 MAPE over horizons 1–5
    on ``hist``'s own origins."""
    return _select_cached(family, hist.codes, hist.years.tobytes(), hist.pop.tobytes(), hist.pop.shape)


@lru_cache(maxsize=256)
def _select_cached(family, codes, years_b, pop_b, shape):
    hist = CohortHistory(codes, np.frombuffer(years_b, dtype=np.int64), np.frombuffer(pop_b).reshape(shape))
    first, last = int(hist.years[0]), int(hist.years[-1])
    origins = list(range(first + 2, last))
    focus = _focus(hist)
    if len(origins) < MIN_SELECTION_ORIGINS:
        return family or "shrunk", MethodParams()
    best, best_score = (family, MethodParams()), np.inf
    for method, params in candidates():
        if family is not None and method != family:
            continue
        errs = forecast_errors(hist, method, params, origins, SELECTION_HORIZONS)
        if not errs:
            continue
        score = np.mean([_mape(f[focus], a[focus]) for f, a, _, _ in errs.values()])
        if score < best_score - 1e-12:
            best, best_score = (method, params), score
    return best


def build_error_model(hist: CohortHistory, method: str, params: MethodParams,
                      horizons=HORIZONS, design: IntervalDesign = DEFAULT_DESIGN) -> ErrorModel:
    """Log errors of ``method`` from every origin of ``hist`` whose outcome ``hist`` contains."""
    first, last = int(hist.years[0]), int(hist.years[-1])
    errs = forecast_errors(hist, method, params, range(first + 2, last), horizons)
    return error_model_from(errs, hist, design)


def error_model_from(errs: dict, hist: CohortHistory, design: IntervalDesign = DEFAULT_DESIGN) -> ErrorModel:
    store: dict = {}
    county = hist.counties == "01"
    by_h3 = []
    for (o, h), (f, a, f16, a16) in errs.items():
        base = hist.pop[:, hist.years == o][:, 0, 16:19].sum(axis=1)
        cls = size_class(base, design.bounds)
        ok = (a > 0) & (f > 0) & (a16 > 0) & (f16 > 0)
        e = np.log(np.where(ok, f, 1) / np.where(ok, a, 1))
        e16 = np.log(np.where(ok, f16, 1) / np.where(ok, a16, 1))
        for c in np.unique(cls):
            m = ok & (cls == c)
            store.setdefault(("band16_18", h, int(c)), []).append(e[m])
            store.setdefault(("age16", h, int(c)), []).append(e16[m])
        if county.any():
            store.setdefault(("county_band16_18", h, 0), []).append([np.log(f[county].sum() / a[county].sum())])
            store.setdefault(("county_age16", h, 0), []).append([np.log(f16[county].sum() / a16[county].sum())])
        if h == 3:
            by_h3.append(np.where(ok, e, np.nan))
    errors = {k: np.concatenate([np.asarray(x, dtype=float) for x in v]) for k, v in store.items()}
    return ErrorModel(errors=errors, rho=_common_share(by_h3), design=design)


def _common_share(rows: list[np.ndarray]) -> float:
    """Share of error variance common to all municipalities (average pairwise correlation)."""
    if len(rows) < 3:
        return 0.5
    E = np.vstack(rows)
    E = E[:, ~np.isnan(E).any(axis=0)]
    K = E.shape[1]
    if K < 2:
        return 0.5
    var_each = E.var(axis=0).mean()
    var_mean = E.mean(axis=1).var()
    if var_each <= 0:
        return 0.5
    rho = (var_mean / var_each - 1 / K) / (1 - 1 / K)
    return float(np.clip(rho, 0.0, 0.95))


def run_backtest(hist: CohortHistory, origins=None, horizons=HORIZONS, methods=METHODS + ("best",),
                 ) -> pd.DataFrame:
    """One row per method × origin × horizon × municipality: forecast and actual (16–18 and 16).

    Parameters of the tuned methods and the 'best' choice are selected at each origin from the
    history up to that origin only.
    """
    first, last = int(hist.years[0]), int(hist.years[-1])
    origins = list(origins) if origins is not None else list(range(first + 4, last))
    frames = []
    for o in origins:
        past = hist.truncate(o)
        best_method, best_params = select_method(past)
        for method in methods:
            if method == "best":
                m, p = best_method, best_params
            elif method in ("shrunk", "ensemble", "hamilton_perry") and best_method == method:
                m, p = method, best_params
            elif method in ("shrunk", "ensemble", "hamilton_perry"):
                m, p = method, select_method(past, method)[1]
            else:
                m, p = method, MethodParams()
            errs = forecast_errors(hist, m, p, [o], horizons)
            for (oo, h), (f, a, f16, a16) in errs.items():
                frames.append(pd.DataFrame({
                    "method": method, "chosen": m, "window": p.window, "kappa": p.kappa,
                    "origin": oo, "horizon": h, "kommun_kod": hist.codes,
                    "forecast16_18": f, "actual16_18": a, "forecast16": f16, "actual16": a16}))
    return pd.concat(frames, ignore_index=True)


def _summaries(d: pd.DataFrame, keys: list, f: str, a: str) -> pd.DataFrame:
    """forecast.scores.error_summary per group of ``keys``: mape, medape, malpe (= mean signed
    percentage error), weighted_ape (= WAPE), bias (size-weighted signed error), n."""
    rows = []
    for k, g in d.groupby(keys):
        r = scores.error_summary(g[f].to_numpy(), g[a].to_numpy())
        rows.append(dict(zip(keys, k if isinstance(k, tuple) else (k,)))
                    | {"mape": r["mape"], "medape": r["medape"], "malpe": r["mpe"],
                       "weighted_ape": r["wape"], "bias": r["bias"], "n": r["n"]})
    return pd.DataFrame(rows, columns=keys + ["mape", "medape", "malpe", "weighted_ape", "bias", "n"])


def _scorable(d: pd.DataFrame, f: str, a: str) -> pd.DataFrame:
    """Rows with an outcome above 0 and a forecast. A forecast is missing only for a municipality
    without history at its origin (Knivsta before 2003); those rows are not scored."""
    return d[(d[a] > 0) & d[f].notna()]


def accuracy_table(bt: pd.DataFrame, codes=None, value: str = "16_18") -> pd.DataFrame:
    """Per method × horizon (percent): MAPE, MedAPE, MALPE (mean signed percentage error),
    weighted_ape (WAPE: Σ|F − A| / ΣA), bias (Σ(F − A) / ΣA), n; from forecast.scores."""
    d = bt if codes is None else bt[bt.kommun_kod.isin(list(codes))]
    d = _scorable(d, f"forecast{value}", f"actual{value}")
    return _summaries(d, ["method", "horizon"], f"forecast{value}", f"actual{value}")


def county_accuracy(bt: pd.DataFrame, county: str = "01") -> pd.DataFrame:
    """The county's own sum per method × origin × horizon, scored over origins: MAPE, MALPE, n."""
    d = _scorable(bt[bt.kommun_kod.str[:2] == county], "forecast16_18", "actual16_18")
    s = d.groupby(["method", "origin", "horizon"])[["forecast16_18", "actual16_18"]].sum().reset_index()
    return _summaries(s, ["method", "horizon"], "forecast16_18", "actual16_18")[["method", "horizon", "mape", "malpe", "n"]]


def scorecard(bt: pd.DataFrame, method: str = "best", codes=None) -> pd.DataFrame:
    """England-style scorecard: per municipality, 16–18 error 1 and 3 years ahead (percent).

    ``latest_1y`` / ``latest_3y``: the signed error of the forecasts for the latest year with an
    outcome, made 1 and 3 years before it; ``mape_1y`` / ``mape_3y``: over every origin.
    """
    d = bt[bt.method == method]
    if codes is not None:
        d = d[d.kommun_kod.isin(list(codes))]
    d = d.assign(pe=(d.forecast16_18 - d.actual16_18) / d.actual16_18 * 100)
    last = int((d.origin + d.horizon).max())
    rows = []
    for code, g in d.groupby("kommun_kod"):
        r = {"kommun_kod": code}
        for h in (1, 3):
            gh = g[g.horizon == h]
            r[f"mape_{h}y"] = float(gh.pe.abs().mean())
            lat = gh[gh.origin + h == last]
            r[f"latest_{h}y"] = float(lat.pe.iloc[0]) if len(lat) else np.nan
        rows.append(r)
    out = pd.DataFrame(rows)
    out.attrs["outcome_year"] = last
    return out


def _error_arrays(hist: CohortHistory, d: pd.DataFrame) -> dict:
    """{(origin, horizon): (forecast16_18, actual16_18, forecast16, actual16)}, each in the order
    of ``hist.codes`` (NaN where a municipality has no row), from the backtest rows ``d``."""
    out = {}
    for (o, h), g in d.groupby(["origin", "horizon"]):
        g = g.set_index("kommun_kod").reindex(hist.codes)
        out[(int(o), int(h))] = (g.forecast16_18.to_numpy(), g.actual16_18.to_numpy(),
                                 g.forecast16.to_numpy(), g.actual16.to_numpy())
    return out


def _interval_hits(hist: CohortHistory, bt: pd.DataFrame, method: str, codes, min_errors: int,
                   design: IntervalDesign, arrays: dict | None = None) -> dict:
    """{origin T: {'h': horizons, 80: inside, 95: inside}} (arrays, one item per municipality ×
    horizon) for the 16–18 band.

    The error model for origin *T* is built from the errors (same method) of origins *o* < *T*
    with *o + h* ≤ *T*, i.e. only outcomes known at *T*. ``arrays``: :func:`_error_arrays` of the
    method's rows, when the caller has them (they do not depend on the design)."""
    d = bt[bt.method == method]
    mask = np.isin(np.array(hist.codes), list(codes)) if codes is not None else np.ones(len(hist.codes), bool)
    arrays = _error_arrays(hist, d) if arrays is None else arrays
    out = {}
    for T in sorted(d.origin.unique()):
        past = hist.truncate(int(T))
        errs = {k: v for k, v in arrays.items() if k[0] < T and k[0] + k[1] <= T}
        if not errs:
            continue
        em = error_model_from(errs, past, design)
        cur = d[d.origin == T].set_index(["horizon", "kommun_kod"])
        cls = em.size_class(past.pop[:, -1, 16:19].sum(axis=1))
        rows = []   # (h, actual, lo80, hi80, lo95, hi95)
        for h in sorted(cur.index.get_level_values(0).unique()):
            if sum(len(v) for (q, hh, _), v in em.errors.items() if q == "band16_18" and hh == h) < min_errors:
                continue
            g = cur.loc[h].reindex(hist.codes)
            for k in np.flatnonzero(mask):
                f, a = g.forecast16_18.iloc[k], g.actual16_18.iloc[k]
                if not (a > 0 and f > 0):
                    continue
                r = [h, a]
                for lvl in LEVELS:
                    m_lo, m_hi = em.interval("band16_18", int(h), int(cls[k]), lvl)
                    r += [f * m_lo, f * m_hi]
                rows.append(r)
        if rows:
            R = np.array(rows, dtype=float)
            out[int(T)] = {"h": R[:, 0].astype(int)} | {
                lvl: (R[:, 2 + 2 * i] <= R[:, 1]) & (R[:, 1] <= R[:, 3 + 2 * i]) for i, lvl in enumerate(LEVELS)}
    return out


def _coverage_of(parts: list) -> dict:
    """Coverage (percent) of pooled hit arrays ``parts`` ({80: inside, 95: inside} each)."""
    res = {}
    for lvl in LEVELS:
        inside = np.concatenate([p[lvl] for p in parts] or [np.zeros(0, bool)]).astype(float)
        # an item is covered when 0 ≤ 1 − inside ≤ 0: scores.coverage on the hit indicator
        res[f"coverage_{lvl}"] = scores.coverage(np.zeros(len(inside)), np.zeros(len(inside)), 1 - inside)
    res["coverage_n"] = int(sum(len(p[LEVELS[0]]) for p in parts))
    return res


def interval_coverage(hist: CohortHistory, bt: pd.DataFrame, method: str = "best", codes=None,
                      min_errors: int = 20, design: IntervalDesign = DEFAULT_DESIGN) -> dict:
    """Out-of-sample coverage of the 80% and 95% intervals of one ``design`` for the 16–18 band.

    For each origin *T*, the error model is built from the errors (same method) of origins
    *o* < *T* with *o + h* ≤ *T*; the interval for *T + h* is checked against the outcome.
    Choosing a design by this figure would be in-sample: :func:`nested_interval_coverage`
    chooses it from earlier origins only."""
    hits = _interval_hits(hist, bt, method, codes, min_errors, design)
    return _coverage_of(list(hits.values()))


MIN_DESIGN_ITEMS = 200


def _design_loss(cov: dict) -> float:
    """How far a design's coverage is from nominal: |cov80 − 80| + |cov95 − 95| (points)."""
    return sum(abs(cov[f"coverage_{lvl}"] - lvl) for lvl in LEVELS)


def _known_at(hit: dict, o: int, T: int) -> dict:
    """The hits of origin ``o`` whose outcome year o + h is known at ``T``."""
    m = o + hit["h"] <= T
    return {lvl: hit[lvl][m] for lvl in LEVELS}


def nested_interval_coverage(hist: CohortHistory, bt: pd.DataFrame, method: str = "best", codes=None,
                             min_errors: int = 20, designs=INTERVAL_DESIGNS) -> dict:
    """Coverage of intervals whose *design* is chosen at each origin from earlier origins only.

    At origin *T*, each design's coverage is measured on the intervals of origins *o* < *T* whose
    outcomes (o + h ≤ *T*) are known at *T*; the design closest to nominal (:func:`_design_loss`)
    is used at *T*, and its hits at *T* are what count. Origins before at least
    ``MIN_DESIGN_ITEMS`` earlier intervals are known only train. Returns the nested coverage,
    the design chosen per origin, and each design's own coverage over the same scored origins
    (for comparison only: choosing by those would be in-sample)."""
    arrays = _error_arrays(hist, bt[bt.method == method])
    hits = {dz: _interval_hits(hist, bt, method, codes, min_errors, dz, arrays) for dz in designs}
    origins = sorted(set().union(*[h.keys() for h in hits.values()]))
    chosen, parts = {}, []
    for T in origins:
        loss = {}
        for dz in designs:
            known = [_known_at(hits[dz][o], o, T) for o in origins if o < T and o in hits[dz]]
            cov = _coverage_of(known)
            if cov["coverage_n"] >= MIN_DESIGN_ITEMS:
                loss[dz] = _design_loss(cov)
        if len(loss) < len(designs) or T not in hits[min(loss, key=loss.get)]:
            continue
        best = min(loss, key=loss.get)   # ties: the first design listed (the default)
        chosen[T] = best.name
        parts.append(hits[best][T])
    scored = list(chosen)
    out = _coverage_of(parts) | {"design_by_origin": chosen}
    out["per_design_same_origins"] = {dz.name: _coverage_of([hits[dz][o] for o in scored if o in hits[dz]])
                                      for dz in designs}
    out["per_design_all_origins"] = {dz.name: _coverage_of(list(hits[dz].values())) for dz in designs}
    return out


def backtest_grade9(pupils: pd.DataFrame, codes, window: int = 3, horizons=range(1, 9)) -> pd.DataFrame:
    """Grade-9 pupils per (school) municipality, h = 1–8 years ahead, from grade 9 − h at the origin.

    Methods: carry_forward (grade 9 − h pupils keep their number) and grade_progression (the
    product of the grade-progression ratios g → g + 1, pooled over the last ``window`` years).
    """
    p = pupils[pupils.kommun_kod.isin(list(codes)) & pupils.pupils.notna()]
    p = p.groupby(["kommun_kod", "school_year", "grade"])["pupils"].sum()
    years = sorted(p.index.get_level_values(1).unique())
    codes = sorted(p.index.get_level_values(0).unique())
    G = p.reindex(pd.MultiIndex.from_product([codes, years, range(1, 10)])).fillna(0).to_numpy()
    G = G.reshape(len(codes), len(years), 9)
    rows = []
    for i, o in enumerate(years):
        if i < window:
            continue
        num = G[:, i - window + 1:i + 1, 1:].sum(axis=1)
        den = G[:, i - window:i, :-1].sum(axis=1)
        gpr = np.where(den > 0, num / np.maximum(den, 1), 1.0)
        for h in horizons:
            if i + h >= len(years):
                continue
            start = 9 - h
            actual = G[:, i + h, 8]
            cf = G[:, i, start - 1]
            gp = cf * np.prod(gpr[:, start - 1:8], axis=1)
            for m, f in (("carry_forward", cf), ("grade_progression", gp)):
                rows.append(pd.DataFrame({"method": m, "origin": o, "horizon": h, "kommun_kod": codes,
                                          "forecast": f, "actual": actual}))
    return pd.concat(rows, ignore_index=True)


HEADLINE_ROW = "best"


def _mape_if_age16_known(bt: pd.DataFrame, codes) -> float:
    """1-year 16–18 MAPE of the headline row with its age-16 forecast replaced by the outcome's.
    Not a floor: the outcome's single age 16 is split from the exact band in proportion to the
    origin's 15–17-year-olds (docs/methods.md §1), the forecast's own starting point, so this is
    optimistic. The floors from exact figures are in benchmarks/cohort_floor.py."""
    d = bt[(bt.method == HEADLINE_ROW) & (bt.horizon == 1)]
    if codes is not None:
        d = d[d.kommun_kod.isin(list(codes))]
    d = _scorable(d, "forecast16_18", "actual16_18")
    d = d[d.actual16.notna()]
    if d.empty:
        return float("nan")
    return round(scores.error_summary(d.forecast16_18 - d.forecast16 + d.actual16, d.actual16_18)["mape"], 3)


def summarise(hist: CohortHistory, bt: pd.DataFrame, grade9: pd.DataFrame | None = None,
              codes=ADMISSION_REGION) -> dict:
    """The figures ``benchmarks/accuracy.py --json`` prints (percent).

    The headline is the nested row 'best': its method, window and κ are chosen at each origin
    from earlier origins only. Rows of single methods (their window and κ chosen nested too) are
    shown beside it; which of them did best over all origins is labelled in-sample, because it
    is picked after seeing every outcome. Interval coverage: the design chosen at each origin
    from earlier origins (nested), and each design's own coverage for comparison (in-sample).
    """
    acc = accuracy_table(bt, codes)
    acc_all = accuracy_table(bt)
    cty = county_accuracy(bt)

    def by_method(t, col="mape", horizons=(1, 3, 5, 10)):
        return {m: {str(h): round(float(v), 3) for h, v in g.set_index("horizon")[col].items()
                    if h in horizons} for m, g in t.groupby("method")}

    mean15 = acc[acc.horizon <= 5].groupby("method").mape.mean()
    real = mean15.drop(labels=[HEADLINE_ROW], errors="ignore")
    cf = acc[acc.method == "carry_forward"].set_index("horizon").mape
    head = acc[acc.method == HEADLINE_ROW].set_index("horizon")
    every_h = tuple(range(1, 11))
    out = {
        "municipalities": "admission region (28)" if codes is not None else "all",
        "origins": [int(bt.origin.min()), int(bt.origin.max())],
        "headline": {
            "row": HEADLINE_ROW, "selection": "nested: method, window and κ chosen at each origin from earlier origins",
            "mape": {str(h): round(float(head.at[h, "mape"]), 3) for h in every_h if h in head.index},
            "medape": {str(h): round(float(head.at[h, "medape"]), 3) for h in every_h if h in head.index},
            "malpe": {str(h): round(float(head.at[h, "malpe"]), 3) for h in every_h if h in head.index},
            "bias": {str(h): round(float(head.at[h, "bias"]), 3) for h in every_h if h in head.index},
            "wape": {str(h): round(float(head.at[h, "weighted_ape"]), 3) for h in every_h if h in head.index},
            "mape_h1_if_age16_known": _mape_if_age16_known(bt, codes),
            "n": {str(h): int(head.at[h, "n"]) for h in every_h if h in head.index},
            "carry_forward_mape": {str(h): round(float(cf[h]), 3) for h in every_h if h in cf.index},
        },
        "mape_16_18": by_method(acc),
        "medape_16_18": by_method(acc, "medape"),
        "malpe_16_18": by_method(acc, "malpe"),
        "weighted_ape_16_18": by_method(acc, "weighted_ape"),
        "mape_16_18_all_290": by_method(acc_all),
        "county_mape_16_18": by_method(cty),
        "county_malpe_16_18": by_method(cty, "malpe"),
        "best_vs_carry_forward_pct_lower": {str(h): round(float(scores.skill(head.at[h, "mape"], cf[h]) * 100), 1)
                                            for h in (3, 4, 5) if h in head.index},
        "lowest_mean_mape_h1_5_in_sample": str(real.idxmin()),
        "chosen_at_latest_origin": str(bt[(bt.method == HEADLINE_ROW) & (bt.origin == bt.origin.max())].chosen.iloc[0]),
    }
    cov = nested_interval_coverage(hist, bt, HEADLINE_ROW, codes)
    out |= {k: round(cov[k], 2) for k in ("coverage_80", "coverage_95")} | {"coverage_n": cov["coverage_n"]}
    out["coverage_design_by_origin"] = {str(k): v for k, v in cov["design_by_origin"].items()}
    out["coverage_per_design_in_sample"] = {
        name: {k: (round(v, 2) if isinstance(v, float) else v) for k, v in c.items()}
        for name, c in cov["per_design_same_origins"].items()}
    if grade9 is not None and len(grade9):
        g9 = grade9[grade9.actual > 0]
        out["grade9_mape"] = {m: {str(h): round(scores.error_summary(gh.forecast, gh.actual)["mape"], 3)
                                  for h, gh in gm.groupby("horizon")} for m, gm in g9.groupby("method")}
    return out

"""Gymnasium entrants (16-year-olds by home municipality) from the newest grade counts.

A pupil in grade 9 in autumn *T* is 16 at 31 Dec *T + 1* (domain.md §4). So the entrants of
*T + h* (h = 1 … 9) are, give or take migration, the pupils in grade 10 − h in autumn *T*:

1. **Grade progression** (school municipality): grade 9 in autumn *T + h − 1* = grade 10 − h in
   autumn *T* × the product of the grade-progression ratios g → g + 1, each pooled over the last
   ``GRADE_WINDOW`` years and shrunk toward the admission region's pooled ratio with weight
   λ = n / (n + ``KAPPA``), n the municipality's mean pupils in grade g.
2. **School → home municipality**: entrants = grade 9 the autumn before × Q, where
   Q = Σ 16-year-olds (home, 31 Dec t + 1) / Σ grade 9 (school, autumn t) over the last
   ``HOME_WINDOW`` years in which both are known at the origin.
3. **Combination** with the cohort projection (:func:`forecast.projection.project_cohorts`, the
   nested 'best' method on the population history up to min(*T*, last population year)):
   entrants = w_h · grade-based + (1 − w_h) · cohort, the weights w_h chosen per horizon by the
   real-time backtest (:func:`entrant_backtest`) on origins before *T* only. Beyond h = 9
   (children not yet in grade 1) only the cohort projection.

Only data published by the origin are used: grade counts up to autumn *T*, population up to
31 Dec min(*T*, last population year). The tables passed in may hold later years; they are cut
here (a test checks that cutting them beforehand changes nothing).

16–18-year-olds follow from the entrants: the cohort projection's 16–18 plus, for each of the
three entrant years in the band that lie after the last population year, the difference
between the combined and the cohort projection's entrants (ageing 16 → 18 is taken as 1 for
that difference; the ratio is within a few per cent of 1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import scores
from .errors import ParameterError
from .projection import CohortHistory, MethodParams, project_array, project_cohorts
from .regions import ADMISSION_REGION

GRADE_WINDOW = 3
KAPPA = 300.0
HOME_WINDOW = 3
MAX_GRADE_HORIZON = 9
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
MIN_WEIGHT_ORIGINS = 3
POP_LAGS = (0, 1, 2)


# --- inputs -------------------------------------------------------------------------------

def grade_counts(tables: dict, codes=ADMISSION_REGION, last_school_year: int | None = None) -> pd.DataFrame:
    """Pupils per (school) municipality × school year × grade 1–9, wide (index kommun_kod,
    school_year; columns 1–9). The municipal file's all-owners rows (``samtliga``) where it has
    the year, else the sum of the unit file (the two agree within 0.1% in 2020–2023)."""
    frames = []
    pk = tables.get("pupils_kommun")
    kom_years: set = set()
    if pk is not None and len(pk):
        k = pk[(pk.owner_type == "samtliga") & pk.kommun_kod.isin(list(codes)) & pk.pupils.notna()]
        frames.append(k.groupby(["kommun_kod", "school_year", "grade"]).pupils.sum())
        kom_years = set(int(y) for y in k.school_year.unique())
    pg = tables["pupils_grundskola"]
    u = pg[pg.kommun_kod.isin(list(codes)) & pg.pupils.notna() & ~pg.school_year.isin(list(kom_years))]
    frames.append(u.groupby(["kommun_kod", "school_year", "grade"]).pupils.sum())
    g = pd.concat(frames).astype(float)
    if last_school_year is not None:
        g = g[g.index.get_level_values("school_year") <= last_school_year]
    w = g.unstack("grade").reindex(columns=range(1, 10))
    years = range(int(w.index.get_level_values(1).min()), int(w.index.get_level_values(1).max()) + 1)
    full = pd.MultiIndex.from_product([list(codes), list(years)], names=["kommun_kod", "school_year"])
    return w.reindex(full)


def _grade_cube(tables: dict, codes, last_school_year: int) -> tuple[np.ndarray, np.ndarray]:
    w = grade_counts(tables, codes, last_school_year)
    years = np.array(sorted(w.index.get_level_values(1).unique()))
    return years, w.to_numpy(dtype=float).reshape(len(codes), len(years), 9)


def progression_ratios(G: np.ndarray, window: int = GRADE_WINDOW, kappa: float = KAPPA) -> np.ndarray:
    """Ratios g → g + 1 (K, 8) from the last ``window`` year pairs of ``G`` (K, Y, 9), shrunk toward
    the pooled ratio of all K municipalities: λ·own + (1 − λ)·pooled, λ = n / (n + κ)."""
    w = min(window, G.shape[1] - 1)
    if w < 1:
        raise ParameterError("grade-progression ratios need at least two school years of grade counts")
    num = np.nansum(G[:, -w:, 1:], axis=1)
    den = np.nansum(G[:, -w - 1:-1, :-1], axis=1)
    pooled = num.sum(axis=0) / np.maximum(den.sum(axis=0), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(den > 0, num / den, pooled)
    n = den / w
    lam = n / (n + kappa) if kappa > 0 else np.ones_like(n)
    return lam * own + (1 - lam) * pooled


def home_ratio(G: np.ndarray, gyears: np.ndarray, hist: CohortHistory, codes, window: int = HOME_WINDOW) -> np.ndarray:
    """Q (K,): Σ 16–18-year-olds (home, 31 Dec t + 1) / Σ grade 9 (school) in autumns t, t − 1, t − 2,
    over the last ``window`` years t with all four known (t + 1 within ``hist``).

    The 16–18 band is an exact published figure (Kolada); the single age 16 is not (it is split
    from the band with the grade counts themselves, docs/methods.md §1), so the ratio uses the band."""
    idx = [hist.codes.index(c) for c in codes]
    last_pop = int(hist.years[-1])
    ts = [int(t) for t in gyears
          if int(hist.years[0]) <= t + 1 <= last_pop and t - 2 >= int(gyears[0])][-window:]
    if not ts:
        raise ParameterError(f"no year with three grade-9 counts (from {int(gyears[0])}) and the population "
                             f"a year later (up to {last_pop}): the home-municipality ratio needs one")
    band = np.stack([hist.pop[idx][:, hist.years == t + 1][:, 0, 16:19].sum(axis=1) for t in ts], axis=1)
    g9 = np.stack([sum(G[:, gyears == t - j, 8][:, 0] for j in range(3)) for t in ts], axis=1)
    ok = np.isfinite(band) & np.isfinite(g9)
    return np.where(ok, band, 0).sum(axis=1) / np.maximum(np.where(ok, g9, 0).sum(axis=1), 1.0)


def grade9_path(G: np.ndarray, gyears: np.ndarray, origin: int, last_horizon: int = MAX_GRADE_HORIZON) -> dict:
    """{autumn t: grade-9 pupils (K,)}: observed up to ``origin``, then from the grade progression
    (grade 9 − (t − origin) in autumn ``origin`` × the ratios up to grade 9) up to origin + last_horizon − 1."""
    i = int(np.flatnonzero(gyears == origin)[0])
    r = progression_ratios(G[:, :i + 1])
    out = {int(t): G[:, j, 8] for j, t in enumerate(gyears[:i + 1])}
    for d in range(1, last_horizon):
        s = 9 - d   # grade s in autumn T reaches grade 9 in autumn T + d
        out[origin + d] = G[:, i, s - 1] * np.prod(r[:, s - 1:8], axis=1)
    return out


def grade_entrants(G: np.ndarray, gyears: np.ndarray, origin: int, Q: np.ndarray, first_year: int,
                   last_horizon: int = MAX_GRADE_HORIZON) -> dict:
    """{year y: (entrants (K,), 16–18-year-olds (K,))} from the grade counts up to autumn ``origin``,
    for y = ``first_year`` … origin + last_horizon: with Q the ratio of the 16–18 band to three
    grade-9 years (:func:`home_ratio`), entrants(y) = Q · g9(y − 1) and 16–18(y) = Q · (g9(y − 1) +
    g9(y − 2) + g9(y − 3)), g9 from :func:`grade9_path`."""
    g9 = grade9_path(G, gyears, origin, last_horizon)
    out = {}
    for y in range(first_year, origin + last_horizon + 1):
        if all((y - j) in g9 for j in (1, 2, 3)):
            out[y] = (Q * g9[y - 1], Q * (g9[y - 1] + g9[y - 2] + g9[y - 3]))
    return out


def growth_corrected(central: np.ndarray, G: np.ndarray, gyears: np.ndarray, origin: int, P: int,
                     last_horizon: int = MAX_GRADE_HORIZON, first_year: int | None = None) -> dict:
    """{year y: (entrants (K,), 16–18 (K,))}: the cohort projection from the population year ``P``,
    each cohort scaled by how much its grade counts grew after P beyond the usual progression.

    For a cohort aged a at 31 Dec y, its latest grade count is in autumn t* = min(origin, the
    autumn it was in grade 9), in grade g*; with d = t* − P > 0 years of grade counts after the
    population year, the factor is G(g*, t*) / [G(g* − d, P) · Π r_g], the product over the d
    grade steps of the progression ratios as known at P (:func:`progression_ratios`, so the usual
    moves between schools, e.g. at the start of grade 7, do not count as migration). No newer
    grade counts (d ≤ 0, e.g. origin = P) or no count at P: factor 1.
    ``central``: (K, H, 20) projection from P; ``G``: (K, Yg, 9) grade counts up to the origin."""
    gi = {int(t): j for j, t in enumerate(gyears)}
    r = progression_ratios(G[:, gyears <= P]) if P in gi and gi[P] >= 1 else None
    out = {}
    for y in range(origin + 1 if first_year is None else max(first_year, P + 1), origin + last_horizon + 1):
        if y - P > central.shape[1]:
            break
        vals = []
        for a in (16, 17, 18):
            a_T = a - (y - origin)
            t_star = origin if a_T <= 15 else origin - (a_T - 15)
            g_star = a_T - (origin - t_star) - 6
            d = t_star - P
            f = np.ones(central.shape[0])
            if r is not None and d > 0 and g_star - d >= 1 and g_star <= 9 and t_star in gi:
                with np.errstate(divide="ignore", invalid="ignore"):
                    expected = G[:, gi[P], g_star - d - 1] * np.prod(r[:, g_star - d - 1:g_star - 1], axis=1)
                    f = G[:, gi[t_star], g_star - 1] / expected
                f = np.where(np.isfinite(f) & (f > 0), f, 1.0)
            vals.append(central[:, y - P - 1, a] * f)
        out[y] = (vals[0], vals[0] + vals[1] + vals[2])
    return out


# --- real-time backtest -------------------------------------------------------------------

def _cohort_rows(cohort_bt: pd.DataFrame, method: str, codes) -> dict:
    """{(origin, horizon): DataFrame indexed by kommun_kod} of a run_backtest table."""
    d = cohort_bt[(cohort_bt.method == method) & cohort_bt.kommun_kod.isin(list(codes))]
    return {k: g.set_index("kommun_kod").reindex(list(codes)) for k, g in d.groupby(["origin", "horizon"])}


def entrant_backtest(tables: dict, hist: CohortHistory, cohort_bt: pd.DataFrame, pop_lag: int = 0,
                     codes=ADMISSION_REGION) -> dict:
    """Real-time backtest items for one population lag L (population known to T − L at origin T).

    Returns {origin T: {'P': T − L, 'persist16', 'persist16_18', 'years': {y: {...}}}} with, per
    target year y = T + h (h = 1 … 9) whose cohort forecast exists: 'grade16', 'grade16_18',
    'cohort16', 'cohort16_18', 'cf16', 'cf16_18' (K,) and the outcomes 'actual16', 'actual16_18'
    (NaN when not in ``hist``). ``cohort_bt``: :func:`forecast.backtest.run_backtest` of ``hist``
    with the method 'best' (and 'carry_forward' for the yardstick)."""
    codes = list(codes)
    last_pop = int(hist.years[-1])
    gyears, G = _grade_cube(tables, codes, 10_000)
    best = _cohort_rows(cohort_bt, "best", codes)
    cf = _cohort_rows(cohort_bt, "carry_forward", codes)
    idx = [hist.codes.index(c) for c in codes]
    out = {}
    for T in gyears:
        T = int(T)
        P = T - pop_lag
        if T - GRADE_WINDOW < gyears[0] or P > last_pop:
            continue
        past = hist.truncate(P)
        try:
            Q = home_ratio(G[:, gyears <= T], gyears[gyears <= T], past, codes)
        except ParameterError:
            continue
        ge = grade_entrants(G[:, gyears <= T], gyears[gyears <= T], T, Q, T + 1)
        if (P, 1) not in best:
            continue
        b1 = best[(P, 1)].iloc[0]
        central = project_array(past.pop, past.counties, pop_lag + MAX_GRADE_HORIZON, str(b1.chosen),
                                MethodParams(int(b1.window), float(b1.kappa)))[idx]
        gg = growth_corrected(central, G[:, gyears <= T], gyears[gyears <= T], T, P)
        years = {}
        for y, (g16, g1618) in ge.items():
            if (P, y - P) not in best or y not in gg:
                continue
            b = best[(P, y - P)]
            c = cf.get((P, y - P), b.assign(forecast16=np.nan, forecast16_18=np.nan))
            a = hist.pop[idx][:, hist.years == y][:, 0] if y <= last_pop else np.full((len(codes), 20), np.nan)
            years[y] = {"grade16": g16, "grade16_18": g1618, "growth16": gg[y][0], "growth16_18": gg[y][1],
                        "cohort16": central[:, y - P - 1, 16], "cohort16_18": central[:, y - P - 1, 16:19].sum(axis=1),
                        "cf16": c.forecast16.to_numpy(float), "cf16_18": c.forecast16_18.to_numpy(float),
                        "actual16": a[:, 16], "actual16_18": a[:, 16:19].sum(axis=1)}
        if years:
            out[T] = {"P": P, "years": years, "persist16": past.pop[idx, -1, 16],
                      "persist16_18": past.pop[idx, -1, 16:19].sum(axis=1)}
    return out


COMPONENTS = ("growth", "grade")


def combine(d: dict, w: float, component: str = "growth") -> tuple[np.ndarray, np.ndarray]:
    """(entrants, 16–18) = w · grade-based (``component``) + (1 − w) · cohort projection."""
    return (w * d[f"{component}16"] + (1 - w) * d["cohort16"], w * d[f"{component}16_18"] + (1 - w) * d["cohort16_18"])


def choose_weights(items: dict, T: int, last_outcome: int) -> dict:
    """{h: (component, w)} for h = 1 … 9: the grade-based component ('growth': the cohort
    projection corrected by the grade counts' growth; 'grade': grade progression × home ratio)
    and its weight with the lowest MAPE of the 16–18-year-olds over the origins before ``T``
    whose outcome T' + h ≤ ``last_outcome`` (known at T). The 16–18 band is an exact figure; the
    single age 16 is partly built from the grade counts themselves, so it is not used to choose.
    Fewer than MIN_WEIGHT_ORIGINS such origins: w = 0 (the cohort projection alone, the method
    before session 4). Ties: the smaller grade weight, then 'growth'."""
    weights: dict = {}
    for h in range(1, MAX_GRADE_HORIZON + 1):
        prior = [o for o in items if o < T and o + h <= last_outcome and (o + h) in items[o]["years"]]
        if len(prior) < MIN_WEIGHT_ORIGINS:
            weights[h] = ("growth", 0.0)
            continue
        loss = {}
        for comp in COMPONENTS:
            for w in WEIGHTS:
                f, a = [], []
                for o in prior:
                    d = items[o]["years"][o + h]
                    band = combine(d, w, comp)[1]
                    ok = np.isfinite(band) & (d["actual16_18"] > 0)
                    f.append(band[ok])
                    a.append(d["actual16_18"][ok])
                loss[(comp, w)] = scores.error_summary(np.concatenate(f), np.concatenate(a))["mape"]
        weights[h] = min(loss, key=lambda k: (round(loss[k], 9), k[1], COMPONENTS.index(k[0])))
    return weights


def score_entrants(items: dict, codes=ADMISSION_REGION) -> pd.DataFrame:
    """Long table per origin × horizon × municipality: the nested combination ('nested', weights
    from earlier origins), the cohort projection ('cohort', itself nested), the grade counts alone
    ('grade'), carry-forward and persistence, for entrants (age 16) and 16–18."""
    rows = []
    for T, it in items.items():
        w = choose_weights(items, T, it["P"])
        for y, d in it["years"].items():
            h = y - T
            if not (np.isfinite(d["actual16_18"]).all() and np.isfinite(d["cohort16_18"]).all()):
                continue
            base = {"origin": T, "pop_origin": it["P"], "horizon": h, "kommun_kod": list(codes),
                    "actual16": d["actual16"], "actual16_18": d["actual16_18"]}
            n16, n1618 = combine(d, w[h][1], w[h][0])
            for name, f16, f1618 in (
                    ("nested", n16, n1618),
                    ("cohort", d["cohort16"], d["cohort16_18"]),
                    ("grade", d["grade16"], d["grade16_18"]),
                    ("growth", d["growth16"], d["growth16_18"]),
                    ("carry_forward", d["cf16"], d["cf16_18"]),
                    ("persistence", scores.persistence(it["persist16"]), scores.persistence(it["persist16_18"]))):
                if np.isnan(f1618).all():   # a yardstick the cohort backtest did not compute
                    continue
                rows.append(pd.DataFrame(base | {"method": name, "weight": w[h][1] if name == "nested" else np.nan,
                                                 "component": w[h][0] if name == "nested" else name,
                                                 "forecast16": f16, "forecast16_18": f1618}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


TARGETS_16_18 = {"mape_h1": 1.25, "mape_h5": 3.0, "mean_signed_abs": 0.5}   # issue 11


def summarise_entrants(table: pd.DataFrame, methods=("nested", "cohort", "growth", "grade", "carry_forward",
                                                     "persistence")) -> dict:
    """Per quantity (entrants, age16_18) × method × horizon: forecast.scores.error_summary
    (MAPE, MedAPE, WAPE, bias, MPE = mean signed error, n), over municipality-years with an outcome."""
    out = {}
    for value, name in (("16", "entrants"), ("16_18", "age16_18")):
        res = {}
        for (m, h), g in table[table.method.isin(methods)].groupby(["method", "horizon"]):
            g = g[g[f"actual{value}"] > 0]
            r = scores.error_summary(g[f"forecast{value}"].to_numpy(), g[f"actual{value}"].to_numpy())
            res.setdefault(m, {})[str(int(h))] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
        out[name] = res
    return out


def backtest_summary(tables: dict, hist: CohortHistory, cohort_bt: pd.DataFrame, pop_lags=POP_LAGS) -> dict:
    """What ``benchmarks/accuracy.py --json`` prints under "entrants": per population lag L (0: the
    population of the origin year is known; 2: the situation of a forecast made from autumn-2024
    grade counts with population to 2022), the scores per method and horizon, the origins, the
    weights chosen at each origin, and the issue-11 targets for 16–18 checked on the nested row
    at L = 0."""
    out = {}
    for lag in pop_lags:
        items = entrant_backtest(tables, hist, cohort_bt, lag)
        tab = score_entrants(items)
        if tab.empty:
            continue
        nested = tab[tab.method == "nested"].drop_duplicates(["origin", "horizon"])
        out[f"pop_lag_{lag}"] = {
            "origins": sorted(int(o) for o in tab.origin.unique()),
            "scores": summarise_entrants(tab),
            "weights_by_origin": {str(int(o)): {str(int(r.horizon)): f"{r.component} {r.weight:.2f}"
                                                for r in g.itertuples()} for o, g in nested.groupby("origin")},
            "interval_coverage_out_of_sample": interval_coverage(items),
        }
    if "pop_lag_0" in out:
        n = out["pop_lag_0"]["scores"]["age16_18"]["nested"]
        out["targets_16_18_nested_pop_lag_0"] = {
            "mape_h1": n.get("1", {}).get("mape"), "target_mape_h1": TARGETS_16_18["mape_h1"],
            "mape_h5": n.get("5", {}).get("mape"), "target_mape_h5": TARGETS_16_18["mape_h5"],
            "mean_signed_error_by_h": {h: r["mpe"] for h, r in n.items()},
            "target_mean_signed_within": TARGETS_16_18["mean_signed_abs"],
        }
    return out


# --- the forecast -------------------------------------------------------------------------

def _cut(tables: dict, origin: int) -> dict:
    out = dict(tables)
    for name in ("pupils_kommun", "pupils_grundskola"):
        if name in out and out[name] is not None:
            out[name] = out[name][out[name].school_year <= origin]
    ch = out["cohort_history"]
    out["cohort_history"] = ch[ch.year <= origin]
    return out


def project_entrants(tables: dict, origin: int, horizon: int, *, first_year: int | None = None) -> pd.DataFrame:
    """Entrants (16-year-olds by home municipality, 31 Dec) for origin + 1 … origin + horizon, for
    the admission region's 28 municipalities.

    ``first_year`` (optional, from the last population year + 1 up to origin + 1) adds the years
    the grade counts already cover but the population does not yet (e.g. 2023 and 2024 for
    origin 2024 with population to 2022): the base a growth rate from the origin needs. They are
    forecast like horizon 1 (its weights and interval).

    ``tables``: the processed tables (at least ``cohort_history`` and ``pupils_grundskola``;
    ``pupils_kommun`` when present). Only grade counts up to autumn ``origin`` and population up
    to 31 Dec min(origin, last population year) are used. Columns: kommun_kod, year, entrants,
    lo80, hi80, basis. The 80% interval: the 80th percentile of |log error| of the same
    combination at that horizon in the backtest (outcomes known at the origin), else the cohort
    projection's own interval. ``.attrs``: weights by horizon, population base year, and the
    matching 16–18-year-olds (``age16_18``, same columns)."""
    if not isinstance(horizon, (int, np.integer)) or not 1 <= horizon <= 20:
        raise ParameterError(f"horizon must be an integer from 1 to 20, got {horizon!r}")
    t = _cut(tables, origin)
    codes = list(ADMISSION_REGION)
    gy = grade_counts(t, codes).index.get_level_values(1)
    if origin not in set(int(y) for y in gy):
        raise ParameterError(f"no grade counts for autumn {origin}: the grade counts cover "
                             f"{int(gy.min())}–{int(gy.max())} (an origin must have its autumn's counts)")
    hist = CohortHistory.from_frame(t["cohort_history"])
    P = int(hist.years[-1])
    gyears, G = _grade_cube(t, codes, origin)
    Q = home_ratio(G, gyears, hist, codes)
    first = origin + 1 if first_year is None else int(first_year)
    if not P + 1 <= first <= origin + 1:
        raise ParameterError(f"first_year must be from {P + 1} (after the last population year) to {origin + 1}, "
                             f"got {first_year!r}")
    proj = project_cohorts(hist, P, horizon + origin - P)
    k = [proj.codes.index(c) for c in codes]
    ge = grade_entrants(G, gyears, origin, Q, first)
    gg = growth_corrected(proj.central[k], G, gyears, origin, P, first_year=first)
    weights, spread = _weights_for(t, hist, origin - P, origin, P)
    rows, rows_band = [], []
    for y in range(first, origin + horizon + 1):
        h = max(y - origin, 1)
        d = {"cohort16": proj.central[k, y - P - 1, 16], "cohort16_18": proj.central[k, y - P - 1, 16:19].sum(axis=1)}
        if y in ge and y in gg:
            comp, w = weights.get(h, ("growth", 0.0))
            d |= {"grade16": ge[y][0], "grade16_18": ge[y][1], "growth16": gg[y][0], "growth16_18": gg[y][1]}
            e, band = combine(d, w, comp)
            what = "grade counts' growth" if comp == "growth" else "grade progression"
            basis = f"{what} {w:.2f} + cohort projection {1 - w:.2f}"
        else:
            e, band = d["cohort16"], d["cohort16_18"]
            basis = "cohort projection"
        for quantity, vals, out in (("age16", e, rows), ("band16_18", band, rows_band)):
            q = spread.get((quantity, h))
            for i, c in enumerate(codes):
                v = float(vals[i])
                if q is None:
                    lo, hi = proj.errors.interval(quantity, y - P, 0, 80)
                else:
                    lo, hi = np.exp(-q), np.exp(q)
                out.append((c, y, v, v * lo, v * hi, basis))
    cols = ["kommun_kod", "year", "entrants", "lo80", "hi80", "basis"]
    res = pd.DataFrame(rows, columns=cols)
    res.attrs = {"weights": weights, "population_base_year": P, "grade_origin": origin,
                 "age16_18": pd.DataFrame(rows_band, columns=cols).rename(columns={"entrants": "population"})}
    return res


_WEIGHT_CACHE: dict = {}


def _weights_for(tables: dict, hist: CohortHistory, lag: int, origin: int, P: int) -> tuple[dict, dict]:
    """The nested weights at ``origin`` and the 80th percentile of |log error| of the combined
    forecasts per (quantity, horizon), from the backtest on data known at the origin."""
    from .backtest import run_backtest
    import hashlib
    lag = min(max(lag, 0), max(POP_LAGS))
    gw = grade_counts(tables)
    key = (lag, origin, hist.fingerprint(), hashlib.sha1(gw.to_numpy(dtype=float).tobytes()).hexdigest())
    if key in _WEIGHT_CACHE:
        return _WEIGHT_CACHE[key]
    # only the population origins the grade counts can pair with (saves most of the time)
    first_grade = int(gw.index.get_level_values(1).min())
    origins = [o for o in range(int(hist.years[0]) + 4, P) if o >= first_grade + GRADE_WINDOW - lag]
    items = {}
    if origins:
        bt = run_backtest(hist, origins=origins, methods=("best",))
        items = entrant_backtest(tables, hist, bt, lag)
    w = choose_weights(items, origin, P)
    spread = interval_spread(items, origin, P, w)
    _WEIGHT_CACHE[key] = (w, spread)
    return w, spread


def interval_spread(items: dict, T: int, last_outcome: int, weights: dict, level: float = 0.8) -> dict:
    """{(quantity, h): q}: the ``level`` quantile of |log(forecast / outcome)| of the combination
    ``weights`` on the origins before ``T`` with outcomes known (≤ ``last_outcome``); the interval
    is forecast × exp(±q). Needs at least 20 errors."""
    spread = {}
    for h in range(1, MAX_GRADE_HORIZON + 1):
        errs = {"age16": [], "band16_18": []}
        for o, it in items.items():
            if o < T and o + h <= last_outcome and (o + h) in it["years"]:
                d = it["years"][o + h]
                f16, f1618 = combine(d, weights[h][1], weights[h][0])
                for q, f, a in (("age16", f16, d["actual16"]), ("band16_18", f1618, d["actual16_18"])):
                    ok = (f > 0) & (a > 0)
                    errs[q].append(np.abs(np.log(f[ok] / a[ok])))
        for q, e in errs.items():
            if e and sum(map(len, e)) >= 20:
                spread[(q, h)] = float(np.quantile(np.concatenate(e), level))
    return spread


def interval_coverage(items: dict) -> dict:
    """Out-of-sample coverage (percent) of the 80% intervals of :func:`project_entrants` in the
    backtest: at each origin the weights and the spread come from earlier origins only."""
    hits = {"age16": ([], [], []), "band16_18": ([], [], [])}
    for T, it in items.items():
        w = choose_weights(items, T, it["P"])
        spread = interval_spread(items, T, it["P"], w)
        for y, d in it["years"].items():
            h = y - T
            f16, f1618 = combine(d, w[h][1], w[h][0])
            for q, f, a in (("age16", f16, d["actual16"]), ("band16_18", f1618, d["actual16_18"])):
                if (q, h) not in spread or not np.isfinite(a).all():
                    continue
                m = np.exp(spread[(q, h)])
                lo, hi, act = hits[q]
                lo.append(f / m)
                hi.append(f * m)
                act.append(a)
    out = {}
    for q, (lo, hi, act) in hits.items():
        cat = [np.concatenate(x) if x else np.zeros(0) for x in (lo, hi, act)]
        out[q] = {"coverage_80": round(scores.coverage(*cat), 2), "n": int(len(cat[2]))}
    return out

"""Intake per unit × programme group, anchored on each unit's latest observed intake, and its
real-time backtest against the forecasts a planner would otherwise use.

The forecast for admission year Y = T + h made at origin T (the latest admission year) uses only
what was published by then: admissions up to T, grade counts up to autumn T, population up to
31 Dec T (never the realised cohort, intake or places of Y, except in the variant "places
announced", where the places of Y are known as they are at the spring dialogue, and the
yardstick "persistence capped at the announced places" gets them too).

For each unit-group j with admitted A_T, places P_T, reserves R_T and a cut-off score at T:

    demand   D_j = A_T · g + α · min(R_T, A_T) · [full at T]         (g: entrant growth T → Y)
    placed   a_j = min(D_j, P_Y)            P_Y: announced places, or P_T carried forward
    excess   X = Σ_j max(D_j − P_Y, 0);  a share s of X spills to units with room (in proportion
             to their room), the rest is not placed in any region unit:
             entrants = Σ placed + not placed, exactly.

Units new in Y (places announced only) get P_Y × the median first-year fill of earlier new units.
g, α and s are chosen at each origin from the origins before it (nested; :func:`select_params`),
so no scored forecast has seen its own outcome. With g = 1, α = 0, s = 0 the model is persistence
capped at the places: every yardstick is a special case, and the backtest decides.

Units that are in the admission files but not in the coordinate list keep their intake (they
never drop out); admission names the crosswalk cannot map are kept as pseudo-units
``namn:<skola>`` so no student is lost from municipality and region totals.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product

import numpy as np
import pandas as pd

from . import scores
from .errors import ParameterError
from .flows import GROUPS
from .regions import ADMISSION_REGION

FULL_VACANT_SHARE = 0.02       # a unit-group with at most 2% of its places vacant counts as full
GROWTH_RULES = ("none", "region", "municipality")
ALPHAS = (0.0, 0.25, 0.5)
SPILLS = (0.0, 0.5, 1.0)
SLACKS = (1.0, float("inf"))         # places unknown: the carried-forward places cap demand × slack
PHIS = (-0.5, -0.25, 0.0, 0.25)      # last year's change carried on (> 0) or reverted (< 0)
GRID = {"growth": GROWTH_RULES, "alpha": ALPHAS, "spill": SPILLS, "slack": SLACKS, "phi": PHIS}
MIN_STRATUM = 30                     # residuals per stratum below this: use the pooled residuals
LEVELS = ("unit_group", "unit", "municipality", "cluster", "region")
VARIANTS = ("places_unknown", "places_announced")
THETA = 0.90


@dataclass(frozen=True)
class IntakeParams:
    growth: str = "region"
    alpha: float = 0.0
    spill: float = 0.0
    slack: float = 1.0
    phi: float = 0.0

    def label(self) -> str:
        return (f"growth={self.growth}, alpha={self.alpha}, spill={self.spill}, slack={self.slack}, "
                f"phi={self.phi}")


DEFAULT = IntakeParams()


def candidates() -> list[IntakeParams]:
    return [IntakeParams(*v) for v in product(*GRID.values())]


# ----------------------------------------------------------------------------------------------
# Observed panel
# ----------------------------------------------------------------------------------------------

def build_panel(admissions: pd.DataFrame, crosswalk: pd.DataFrame, units: pd.DataFrame | None = None,
                clusters: dict | None = None) -> pd.DataFrame:
    """year × unit × group (HF, YP): places, admitted, vacant, reserves, competitive (a cut-off
    above zero on a counted row), with the unit's name, school municipality, owner and cluster.

    Names mapped to several units split by the crosswalk weights; names the crosswalk cannot map
    become pseudo-units ``namn:<skola>`` in their school municipality."""
    a = admissions[admissions.in_totals & admissions.programme_group.isin(GROUPS)].copy()
    cw = crosswalk[crosswalk.skolenhetskod.notna() & (crosswalk.rule != "unmatched")]
    m = a.merge(cw[["year", "skola", "school_kommun_kod", "skolenhetskod", "weight"]],
                on=["year", "skola", "school_kommun_kod"], how="left")
    lost = m.skolenhetskod.isna()
    m.loc[lost, "skolenhetskod"] = "namn:" + m.loc[lost, "skola"]
    m["weight"] = m.weight.fillna(1.0).astype(float)
    for c in ("places", "admitted", "vacant", "reserves"):
        m[c] = m[c].astype(float).fillna(0.0) * m.weight
    m["competitive"] = (m.cutoff.astype(float).fillna(0) > 0) & (m.admitted > 0)
    g = m.groupby(["year", "skolenhetskod", "programme_group"]).agg(
        places=("places", "sum"), admitted=("admitted", "sum"), vacant=("vacant", "sum"),
        reserves=("reserves", "sum"), competitive=("competitive", "any"),
        skola_adm=("skola", "first"), kommun_kod=("school_kommun_kod", "first"),
        owner_type=("owner_type", "first")).reset_index().rename(columns={"programme_group": "group"})
    if units is not None and len(units):
        u = units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
        g["skola"] = g.skolenhetskod.map(u.skola).fillna(g.skola_adm)
        g["kommun_kod"] = g.skolenhetskod.map(u.kommun_kod).fillna(g.kommun_kod)
        if "owner_type" in u:
            g["owner_type"] = g.skolenhetskod.map(u.owner_type).fillna(g.owner_type)
    else:
        g["skola"] = g.skola_adm
    g = g.drop(columns="skola_adm")
    g["cluster"] = g.kommun_kod.map(clusters or {}).fillna("övrigt")
    g["full"] = (g.places > 0) & (g.vacant <= FULL_VACANT_SHARE * g.places)
    return g.sort_values(["year", "skolenhetskod", "group"]).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Entrant growth from the newest grade counts (real time)
# ----------------------------------------------------------------------------------------------

def grade_counts(pupils_kommun: pd.DataFrame, pupils_units: pd.DataFrame, codes=ADMISSION_REGION) -> pd.DataFrame:
    """school_year × kommun_kod × grade pupils of the region's municipalities (where the school is):
    the municipal files (all owners) where they exist, the sum of the unit files before."""
    codes = list(codes)
    k = pupils_kommun[(pupils_kommun.owner_type == "samtliga") & pupils_kommun.kommun_kod.isin(codes)]
    k = k.groupby(["school_year", "kommun_kod", "grade"]).pupils.sum().reset_index()
    u = pupils_units[pupils_units.kommun_kod.isin(codes)]
    u = u.groupby(["school_year", "kommun_kod", "grade"]).pupils.sum().reset_index()
    u = u[~u.school_year.isin(set(k.school_year))]
    out = pd.concat([u, k], ignore_index=True)
    out["pupils"] = out.pupils.astype(float)
    return out.sort_values(["school_year", "kommun_kod", "grade"]).reset_index(drop=True)


def entrant_growth(grades: pd.DataFrame, origin: int, horizon: int, window: int = 3) -> pd.DataFrame:
    """Growth factor of entrants T → T + h (h = 1 … horizon) per school municipality and for the
    region ('region'), from grade counts up to autumn T only.

    Entrants of year Y are the grade-9 pupils of autumn Y − 1 (domain.md §4). Grade 9 of autumn
    T + h − 1 is projected from grade 10 − h of autumn T with the mean progression ratios of the
    last ``window`` years (grade k → k + 1 a year later), so h = 1 uses grade 9 itself. Beyond
    grade 1 (h > 9) the factor of h = 9 is held."""
    g = grades[grades.school_year <= origin]
    wide = g.pivot_table(index=["kommun_kod", "grade"], columns="school_year", values="pupils", aggfunc="sum")
    reg = g.groupby(["grade", "school_year"]).pupils.sum().unstack()
    if origin not in wide.columns or origin - 1 not in wide.columns:
        raise ParameterError(f"grade counts for autumn {origin - 1} and {origin} are needed to forecast "
                             f"from origin {origin}; available: {sorted(g.school_year.unique())}")
    rows = []

    def ratios(tab: pd.DataFrame) -> dict:
        out = {}
        years = [y for y in tab.columns if y - 1 in tab.columns and y > origin - window]
        for k in range(1, 9):
            num = sum(tab.loc[k + 1, y] for y in years if (k + 1) in tab.index)
            den = sum(tab.loc[k, y - 1] for y in years if k in tab.index)
            out[k] = float(num / den) if den and num == num and den == den else 1.0
        return out

    def factors(tab: pd.DataFrame, key: str):
        if 9 not in tab.index:
            return
        pr = ratios(tab)
        base = float(tab.loc[9, origin - 1])     # the entrants of T
        for h in range(1, horizon + 1):
            hh = min(h, 9)
            grade = 10 - hh
            v = float(tab.loc[grade, origin]) if grade in tab.index else np.nan
            for k in range(grade, 9):
                v *= pr[k]
            rows.append((key, origin + h, h, v / base if base > 0 else 1.0))

    factors(reg, "region")
    for code in sorted(set(g.kommun_kod)):
        tab = wide.loc[code]
        if origin in tab.columns and origin - 1 in tab.columns:
            factors(tab, code)
    return pd.DataFrame(rows, columns=["area", "year", "h", "growth"])


# ----------------------------------------------------------------------------------------------
# The forecast
# ----------------------------------------------------------------------------------------------

def forecast_year(panel: pd.DataFrame, origin: int, year: int, growth: pd.DataFrame, params: IntakeParams,
                  places: pd.DataFrame | None = None, new_fill: float | None = None) -> pd.DataFrame:
    """Unit-group forecast for admission ``year`` made at ``origin`` (panel rows up to origin only).

    ``places``: skolenhetskod, group, places of ``year`` (announced), or None (carried forward).
    Returns one row per unit-group with demand, predicted (placed), places_used, the yardsticks'
    inputs (admitted_origin, places_origin) and the region's not-placed students in attrs."""
    last = panel[panel.year == origin].set_index(["skolenhetskod", "group"])
    if last.empty:
        raise ParameterError(f"no admissions for origin {origin}")
    h = year - origin
    gr = growth[growth.h == h].set_index("area").growth
    g_region = float(gr.get("region", 1.0))
    if params.growth == "none":
        g = pd.Series(1.0, index=last.index)
    elif params.growth == "region":
        g = pd.Series(g_region, index=last.index)
    else:
        g = pd.Series(last.kommun_kod.map(gr).fillna(g_region).to_numpy(), index=last.index)
    A = last.admitted
    change, pull = demand_signals(panel, origin, params)
    D = A * g * change + pull
    out = pd.DataFrame({"skolenhetskod": last.index.get_level_values(0), "group": last.index.get_level_values(1),
                        "skola": last.skola.to_numpy(), "kommun_kod": last.kommun_kod.to_numpy(),
                        "cluster": last.cluster.to_numpy(), "owner_type": last.owner_type.to_numpy(),
                        "admitted_origin": A.to_numpy(), "places_origin": last.places.to_numpy(),
                        "full_origin": last.full.to_numpy(), "growth": g.to_numpy(), "demand": D.to_numpy()})
    if places is None:
        out["places_used"] = out.places_origin
        out["cap"] = out.places_origin * params.slack if params.slack != float("inf") else np.inf
        out["new_unit"] = False
    else:
        pl = places.set_index(["skolenhetskod", "group"]).places
        out["places_used"] = [float(pl.get(k, 0.0)) for k in zip(out.skolenhetskod, out.group)]
        known = set(zip(out.skolenhetskod, out.group))
        new = places[np.array([k not in known for k in zip(places.skolenhetskod, places.group)]) & (places.places > 0).to_numpy()]
        out["new_unit"] = False
        if len(new):
            fill = 0.8 if new_fill is None or new_fill != new_fill else new_fill
            add = pd.DataFrame({"skolenhetskod": new.skolenhetskod.to_numpy(), "group": new.group.to_numpy(),
                                "skola": new.get("skola", new.skolenhetskod).to_numpy(),
                                "kommun_kod": new.kommun_kod.to_numpy(), "cluster": new.cluster.to_numpy(),
                                "owner_type": new.owner_type.to_numpy(),
                                "admitted_origin": 0.0, "places_origin": 0.0, "full_origin": False,
                                "growth": 1.0, "demand": new.places.to_numpy(float) * fill,
                                "places_used": new.places.to_numpy(float), "new_unit": True})
            out = pd.concat([out, add], ignore_index=True)
    return place_with_spill(out, params.spill)


def demand_signals(panel: pd.DataFrame, origin: int, params: IntakeParams) -> tuple[pd.Series, pd.Series]:
    """(change, pull) per unit-group of the origin year: last year's change carried on or reverted,
    (A_T / A_{T−1})^φ clipped to 0.5–2 (1 without a previous year), and the reserve pull of full
    units, α · min(R_T, A_T). Shared by the intake forecast and the chain's flow model."""
    last = panel[panel.year == origin].set_index(["skolenhetskod", "group"])
    A = last.admitted
    pull = params.alpha * np.minimum(last.reserves, A) * last.full.astype(float)
    change = pd.Series(1.0, index=last.index)
    if params.phi:
        prev = panel[panel.year == origin - 1].set_index(["skolenhetskod", "group"]).admitted.reindex(last.index)
        ok = (prev > 0) & (A > 0)
        change[ok] = np.clip(A[ok] / prev[ok], 0.5, 2.0) ** params.phi
    return change, pull


def place_with_spill(fc: pd.DataFrame, spill: float) -> pd.DataFrame:
    """predicted = min(demand, places); a share ``spill`` of the excess goes to units of the same
    programme group with room, in proportion to their room; the rest is not placed in a region
    unit. attrs['not_placed'][group] and attrs['entrants'][group] satisfy
    entrants = Σ predicted + not_placed exactly."""
    fc = fc.copy()
    cap = (fc["cap"] if "cap" in fc else fc.places_used).to_numpy(float)
    dem = fc.demand.to_numpy(float)
    placed = np.minimum(dem, cap)
    not_placed, entrants = {}, {}
    for grp in GROUPS:
        j = (fc.group == grp).to_numpy()
        excess = float((dem[j] - placed[j]).sum())
        room = np.clip(cap[j] - placed[j], 0, None)
        moved = min(spill * excess, float(room.sum()))
        if moved > 0:
            placed[j] = placed[j] + moved * room / room.sum()
        not_placed[grp] = excess - moved
        entrants[grp] = float(dem[j].sum())
    fc["predicted"] = placed
    fc.attrs["not_placed"], fc.attrs["entrants"] = not_placed, entrants
    return fc


def new_unit_fill(panel: pd.DataFrame, origin: int) -> float:
    """Median admitted ÷ places of unit-groups in their first admission year, years ≤ origin
    (the first panel year cannot tell new from old and is skipped)."""
    years = sorted(panel.year.unique())
    vals = []
    for y in years[1:]:
        if y > origin:
            break
        before = set(zip(*[panel[panel.year < y][c] for c in ("skolenhetskod", "group")]))
        cur = panel[(panel.year == y) & (panel.places > 0)]
        new = cur[[k not in before for k in zip(cur.skolenhetskod, cur.group)]]
        vals += list(new.admitted / new.places)
    return _weighted_median(np.array(vals), 1 / np.maximum(np.array(vals), 1e-3)) if vals else float("nan")


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    """The value minimising Σ w·|x − v|: with w = 1/x, the first-year fill that minimises the
    mean absolute percentage error over earlier new units (their fill is very dispersed, and a
    new unit's percentage errors dominate a MAPE)."""
    o = np.argsort(x)
    c = np.cumsum(w[o])
    return float(x[o][np.searchsorted(c, c[-1] / 2)])


# ----------------------------------------------------------------------------------------------
# Real-time backtest
# ----------------------------------------------------------------------------------------------

def _items(panel: pd.DataFrame, fc: pd.DataFrame, year: int) -> pd.DataFrame:
    """The scored items: every unit-group with admissions or places at the origin or in ``year``;
    forecasts absent for an item are 0 (a unit the forecast does not know)."""
    act = panel[panel.year == year][["skolenhetskod", "group", "admitted", "places", "skola", "kommun_kod",
                                     "cluster", "owner_type"]].rename(columns={"admitted": "actual",
                                                                               "places": "places_actual"})
    keep = ["skolenhetskod", "group", "predicted", "demand", "places_used", "admitted_origin", "places_origin",
            "full_origin", "growth", "new_unit"]
    m = fc[keep + ["skola", "kommun_kod", "cluster", "owner_type"]].merge(
        act, on=["skolenhetskod", "group"], how="outer", suffixes=("", "_y"))
    for c in ("skola", "kommun_kod", "cluster", "owner_type"):
        m[c] = m[c].fillna(m.pop(c + "_y"))
    for c in ("predicted", "demand", "places_used", "admitted_origin", "places_origin", "actual", "places_actual"):
        m[c] = m[c].astype(float).fillna(0.0)
    m["full_origin"] = m.full_origin.fillna(False).astype(bool)
    m["new_unit"] = m.new_unit.fillna(False).astype(bool)
    return m


def _residual_pool(rows: pd.DataFrame) -> np.ndarray:
    """log((actual + 1) / (predicted + 1)) of earlier scored unit-groups that had a forecast."""
    r = rows[(rows.predicted > 0) | (rows.actual > 0)]
    r = r[(r.admitted_origin > 0) | r.new_unit]
    return np.log((r.actual.to_numpy() + 1) / (r.predicted.to_numpy() + 1))


def add_uncertainty(cur: pd.DataFrame, earlier: pd.DataFrame, theta: float = THETA) -> pd.DataFrame:
    """P(overcapacity), P(shortage) and 80%/95% intervals for each item from the residuals of the
    earlier forecasts (``earlier``: scored items whose outcome was known at the origin), by
    stratum: units full at their origin, units with room, units new in the target year; a
    stratum with fewer than MIN_STRATUM residuals uses all of them."""
    cur = cur.copy()
    allpool = _residual_pool(earlier)
    for c in ("p_overcapacity", "p_shortage", "lo80", "hi80", "lo95", "hi95"):
        cur[c] = np.nan
    cur["pool_n"] = 0
    strata = {"full": cur.full_origin & ~cur.new_unit, "room": ~cur.full_origin & ~cur.new_unit, "new": cur.new_unit}
    e_strata = {"full": earlier.full_origin & ~earlier.new_unit, "room": ~earlier.full_origin & ~earlier.new_unit,
                "new": earlier.new_unit} if len(earlier) else {}
    for k, mask in strata.items():
        if not mask.any():
            continue
        pool = _residual_pool(earlier[e_strata[k]]) if len(earlier) else allpool
        if len(pool) < MIN_STRATUM:
            pool = allpool
        pred, cap = cur.loc[mask, "predicted"].to_numpy(float), cur.loc[mask, "places_used"].to_numpy(float)
        po, ps = probabilities(pred, cap, pool, theta)
        cur.loc[mask, "p_overcapacity"], cur.loc[mask, "p_shortage"] = po, ps
        for lvl, name in ((0.8, "80"), (0.95, "95")):
            lo, hi = interval(pred, pool, lvl)
            cur.loc[mask, f"lo{name}"], cur.loc[mask, f"hi{name}"] = lo, hi
        cur.loc[mask, "pool_n"] = len(pool)
    return cur


MIN_CALIBRATION = 100       # fewer earlier flags with outcomes: probabilities left as simulated


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.01, 0.99)
    return np.log(p / (1 - p))


def platt_fit(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of P(y = 1) = 1 / (1 + exp(−(a + b·logit p))) by maximum likelihood (Newton steps,
    each halved until the likelihood does not fall: plain Newton from the identity overshoots and
    diverges when the outcomes run against the probabilities); (0, 1), the identity, when there
    are fewer than MIN_CALIBRATION items or one outcome only."""
    ok = ~np.isnan(p) & ~np.isnan(y)
    p, y = p[ok], y[ok]
    if len(p) < MIN_CALIBRATION or y.min() == y.max():
        return 0.0, 1.0
    x = np.column_stack([np.ones(len(p)), _logit(p)])

    def loglik(b):
        eta = x @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    beta = np.array([0.0, 1.0])
    ll = loglik(beta)
    for _ in range(100):
        q = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (y - q)
        hess = x.T @ (x * (q * (1 - q))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-8 and loglik(beta + t * step) < ll - 1e-12:
            t /= 2
        beta = beta + t * step
        ll = loglik(beta)
        if np.abs(t * step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def platt_apply(p: np.ndarray, a: float, b: float) -> np.ndarray:
    out = 1 / (1 + np.exp(-(a + b * _logit(p))))
    return np.where(np.isnan(p), np.nan, out)


STACK_FEATURES = ("logit_p", "log_fill", "new", "reserve_share", "log_places")
STACK_RIDGE = 1.0           # L2 penalty on the standardised slopes (the intercept is free)


def flag_features(items: pd.DataFrame, panel: pd.DataFrame) -> np.ndarray:
    """The stacking features of each item, all known at its origin (column ``origin``): the logit of
    the simulated P(overcapacity) (``p_overcapacity_raw``, clipped to 0.01–0.99), the log fill at
    the origin log((A_T + 1)/(P_T + 1)) clipped to −3…1, new (no places at the origin), reserves
    over places at the origin (capped at 2) and log(P_T + 1). A new unit-group has fill, reserves
    and places 0: the indicator carries it."""
    res = panel[["year", "skolenhetskod", "group", "reserves"]].rename(columns={"year": "origin"})
    r = items[["origin", "skolenhetskod", "group"]].merge(res, on=["origin", "skolenhetskod", "group"], how="left")
    A, P = items.admitted_origin.to_numpy(float), items.places_origin.to_numpy(float)
    new = P <= 0
    fill = np.where(new, 0.0, np.clip(np.log((A + 1) / (P + 1)), -3, 1))
    reserves = np.where(new, 0.0, np.minimum(r.reserves.fillna(0).to_numpy(float) / np.maximum(P, 1), 2))
    return np.column_stack([_logit(items.p_overcapacity_raw.to_numpy(float)), fill, new.astype(float), reserves,
                            np.log(np.maximum(P, 0) + 1)])


def stack_fit(x: np.ndarray, y: np.ndarray, ridge: float = STACK_RIDGE) -> dict | None:
    """Logistic regression of 0/1 outcomes y on features x (columns standardised on x; L2 penalty
    ``ridge`` on the slopes, none on the intercept) by Newton steps: {'mean', 'sd', 'beta'}; None
    (keep the simulated probabilities) with fewer than MIN_CALIBRATION items or one outcome only."""
    ok = ~np.isnan(x).any(axis=1) & ~np.isnan(y)
    x, y = x[ok], y[ok]
    if len(y) < MIN_CALIBRATION or y.min() == y.max():
        return None
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = np.column_stack([np.ones(len(y)), (x - mean) / sd])
    pen = ridge * np.eye(z.shape[1])
    pen[0, 0] = 0.0
    beta = np.zeros(z.shape[1])
    for _ in range(100):
        q = 1 / (1 + np.exp(-(z @ beta)))
        grad = z.T @ (y - q) - pen @ beta
        hess = z.T @ (z * (q * (1 - q))[:, None]) + pen + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    return {"mean": mean, "sd": sd, "beta": beta}


def stack_apply(model: dict | None, x: np.ndarray, p_raw: np.ndarray) -> np.ndarray:
    """The stacked probabilities (``p_raw`` where there is no model or a feature is NaN)."""
    if model is None:
        return p_raw.copy()
    z = np.column_stack([np.ones(len(x)), (x - model["mean"]) / model["sd"]])
    out = 1 / (1 + np.exp(-(z @ model["beta"])))
    return np.where(np.isnan(x).any(axis=1), p_raw, out)


def probabilities(pred: np.ndarray, places: np.ndarray, pool: np.ndarray, theta: float = THETA) -> tuple:
    """(P(utilisation < θ), P(demand > places)) per item from the empirical residual pool:
    outcome = min(pred · e^ε, places)."""
    if len(pool) == 0:
        return np.full(len(pred), np.nan), np.full(len(pred), np.nan)
    draws = pred[:, None] * np.exp(pool[None, :])
    cap = np.maximum(places, 1e-9)[:, None]
    util = np.minimum(draws, cap) / cap
    return (util < theta).mean(axis=1), (draws > cap).mean(axis=1)


def interval(pred: np.ndarray, pool: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    if len(pool) == 0:
        return np.full(len(pred), np.nan), np.full(len(pred), np.nan)
    lo, hi = np.quantile(pool, [(1 - level) / 2, 1 - (1 - level) / 2])
    return np.maximum((pred + 1) * np.exp(lo) - 1, 0), (pred + 1) * np.exp(hi) - 1


@dataclass
class IntakeBacktest:
    items: pd.DataFrame          # origin, year, h, variant, unit-group rows with every forecaster
    chosen: pd.DataFrame         # origin, variant, params chosen (nested)
    origins: list


def _growth_cache(grades: pd.DataFrame, origins, horizon: int) -> dict:
    return {o: entrant_growth(grades, o, horizon) for o in origins}


def run_for(panel, grades_growth, origin, year, variant, params, new_fill) -> pd.DataFrame:
    places = None
    if variant == "places_announced":
        places = panel[(panel.year == year) & (panel.places > 0)]
    past = panel[panel.year <= origin]
    fc = forecast_year(past, origin, year, grades_growth[origin], params, places, new_fill)
    m = _items(panel, fc, year)
    m["not_placed_region"] = sum(fc.attrs["not_placed"].values())
    m["unallocated"] = False
    return pd.concat([m, unallocated_rows(past, fc, grades_growth[origin], origin, year)], ignore_index=True)


def unallocated_rows(past: pd.DataFrame, fc: pd.DataFrame, growth: pd.DataFrame, origin: int,
                     year: int) -> pd.DataFrame:
    """Students the entrant growth brings that no known unit takes (units not yet known, or places
    at full units that open up): per programme group, the region's intake at the origin × the
    entrant growth, less the units' forecast, spread over the school municipalities in proportion
    to their intake at the origin. Pseudo-items ``ofördelat:<kommun>`` with outcome 0: they count
    in the municipality, cluster and region totals, never at unit level (A28)."""
    h = year - origin
    g = float(growth[(growth.h == h) & (growth.area == "region")].growth.iloc[0])
    now = past[past.year == origin]
    rows = []
    for grp in GROUPS:
        n = now[now.group == grp]
        gap = float(n.admitted.sum()) * g - float(fc[fc.group == grp].predicted.sum())
        if gap <= 0 or n.admitted.sum() <= 0:
            continue
        share = n.groupby("kommun_kod").admitted.sum() / n.admitted.sum()
        cl = n.drop_duplicates("kommun_kod").set_index("kommun_kod").cluster
        for k, w in share.items():
            rows.append({"skolenhetskod": f"ofördelat:{k}", "group": grp, "kommun_kod": k, "cluster": cl.get(k, "övrigt"),
                         "skola": "ej fördelat på känd enhet", "owner_type": "", "predicted": gap * w,
                         "demand": gap * w, "places_used": 0.0, "admitted_origin": 0.0, "places_origin": 0.0,
                         "full_origin": False, "growth": g, "new_unit": False, "actual": 0.0,
                         "places_actual": 0.0, "unallocated": True})
    out = pd.DataFrame(rows)
    if len(out):
        out["not_placed_region"] = sum(fc.attrs["not_placed"].values())
    return out


SELECTION_SE = 1.0       # a setting replaces the incumbent only if it is better by this many standard errors
# Where no earlier outcome is known, each variant starts from a special case: with places unknown
# "the same as last year" at every unit (the entrant growth reaches the municipality and region
# totals through the unallocated pseudo-items: a unit's intake is scored by absolute error, whose
# best forecast is a median, and the median unit keeps its intake); with places announced, the
# regional growth capped at the announced places.
DEFAULTS = {"places_unknown": IntakeParams(growth="none"), "places_announced": DEFAULT}


def select_params(panel: pd.DataFrame, growth: dict, origin: int, variant: str, cache: dict,
                  new_fill: dict, se_rule: float | None = None) -> tuple[IntakeParams, list[int]]:
    """Nested choice: the parameters with the lowest pooled unit-group WAPE over the one-year
    forecasts whose target year is ≤ ``origin`` (their outcomes were known then), by coordinate
    descent over :data:`GRID` from the variant's default (two sweeps). None known: the default.

    A move replaces the incumbent only if it lowers the summed absolute error by more than
    ``se_rule`` standard errors of the paired difference (units as clusters, each unit's
    difference summed over its groups and the earlier years): the one-standard-error rule, so
    that a setting that wins by selection noise on one or two earlier years is not taken."""
    se_rule = SELECTION_SE if se_rule is None else se_rule
    start = DEFAULTS.get(variant, DEFAULT)
    earlier = [o for o in growth if o + 1 <= origin]
    if not earlier:
        return start, []

    def errors(p: IntakeParams) -> pd.Series:
        parts = []
        for o in earlier:
            key = (o, o + 1, variant, p)
            if key not in cache:
                cache[key] = run_for(panel, growth, o, o + 1, variant, p, new_fill[o])
            m = cache[key]
            m = m[~m.unallocated]                  # chosen on the known units only
            e = (m.predicted - m.actual).abs()
            parts.append(pd.Series(e.to_numpy(), index=pd.MultiIndex.from_arrays(
                [np.full(len(m), o), m.skolenhetskod.to_numpy(), m.group.to_numpy()])))
        return pd.concat(parts)

    best, best_err = start, errors(start)
    for _ in range(2):
        for name, values in GRID.items():
            for v in values:
                p = replace(best, **{name: v})
                if p == best:
                    continue
                err = errors(p)
                d = err.sub(best_err, fill_value=0.0)
                by_unit = d.groupby(level=[0, 1]).sum()
                se = float(np.sqrt(len(by_unit)) * by_unit.std(ddof=1)) if len(by_unit) > 1 else 0.0
                if float(d.sum()) < -max(se_rule * se, 1e-9):
                    best, best_err = p, err
    return best, [o + 1 for o in earlier]


def backtest(panel: pd.DataFrame, grades: pd.DataFrame, origins=None, horizons=(1, 2, 3),
             theta: float = THETA) -> IntakeBacktest:
    """Rolling-origin, real-time backtest of the intake model and its yardsticks.

    For every origin T and horizon h with T + h observed, in both variants: the parameters are
    chosen by :func:`select_params` on outcomes known at T only; probabilities and intervals use
    the residuals of the earlier forecasts (same variant and horizon, each made with the
    parameters chosen at its own origin) whose outcomes were known at T."""
    years = sorted(int(y) for y in panel.year.unique())
    origins = [o for o in (origins or years[:-1]) if o + 1 <= years[-1]]
    growth = {o: entrant_growth(grades, o, max(horizons)) for o in origins}
    new_fill = {o: new_unit_fill(panel, o) for o in origins}
    cache: dict = {}
    out, chosen, made = [], [], []
    for o in origins:
        for v in VARIANTS:
            best, seen = select_params(panel, growth, o, v, cache, new_fill)
            chosen.append({"origin": o, "variant": v, "params": best.label(), "selected_on_years": seen,
                           **{k: getattr(best, k) for k in GRID}})
            for h in horizons:
                y = o + h
                if y > years[-1]:
                    continue
                key = (o, y, v, best)
                cur = cache.get(key)
                if cur is None:
                    cur = cache[key] = run_for(panel, growth, o, y, v, best, new_fill[o])
                cur = cur.copy()
                cur[["origin", "year", "h", "variant", "params"]] = o, y, h, v, best.label()
                made.append(cur)
    made_all = pd.concat(made, ignore_index=True)
    for o in origins:
        for v in VARIANTS:
            for h in horizons:
                cur = made_all[(made_all.origin == o) & (made_all.variant == v) & (made_all.h == h)]
                if cur.empty:
                    continue
                prev = made_all[(made_all.year <= o) & (made_all.variant == v) & (made_all.h == h)]
                cur = _add_yardsticks(cur.copy(), panel, growth[o], o, v, theta)
                cur = add_uncertainty(cur, prev, theta)
                # recalibrate the overcapacity probabilities: a small logistic stack of the simulated
                # probability and features known at the origin, fitted on the earlier flags (same
                # variant, any horizon) whose outcome was known at the origin (nested)
                cur["p_overcapacity_raw"] = cur.p_overcapacity
                known = [f for f in out if f.year.iloc[0] <= o and f.variant.iloc[0] == v]
                if known:
                    k = pd.concat(known, ignore_index=True)
                    k = k[k.outcome_overcapacity.notna() & k.p_overcapacity_raw.notna()]
                    model = stack_fit(flag_features(k, panel), k.outcome_overcapacity.to_numpy(float))
                    cur["p_overcapacity"] = stack_apply(model, flag_features(cur, panel),
                                                        cur.p_overcapacity_raw.to_numpy(float))
                out.append(cur)
    return IntakeBacktest(pd.concat(out, ignore_index=True), pd.DataFrame(chosen), origins)


def _add_yardsticks(cur: pd.DataFrame, panel: pd.DataFrame, growth: pd.DataFrame, origin: int, variant: str,
                    theta: float) -> pd.DataFrame:
    """The planner's forecasts on the same items with the same information."""
    h = int(cur.h.iloc[0])
    g = float(growth[(growth.h == h) & (growth.area == "region")].growth.iloc[0])
    cur["persistence"] = scores.persistence(cur.admitted_origin.to_numpy())
    cur["persistence_growth"] = scores.persistence_growth(cur.admitted_origin.to_numpy(), g)
    if variant == "places_announced":
        cur["persistence_capped"] = scores.persistence_capped(cur.admitted_origin.to_numpy(),
                                                              cur.places_actual.to_numpy())
    # flags: outcome below θ in the target year. Calibrated persistence: P(outcome | the persistence
    # state at the origin), estimated on past pairs with the same lag h; a unit-group without places
    # at the origin has a state of its own (NEW_STATE). In "places announced" the yardstick gets
    # the announced places too: the state is the pair (state at the origin, state of persistence
    # capped at the announced places).
    past = panel[panel.year <= origin]
    announced = variant == "places_announced"
    pairs = _state_pairs(past, theta, lag=h, announced=announced)
    prev_state = persistence_state(cur.admitted_origin.to_numpy(float), cur.places_origin.to_numpy(float),
                                   cur.places_actual.to_numpy(float) if announced else None, theta)
    cur["outcome_overcapacity"] = np.where(cur.places_actual > 0,
                                           cur.actual / np.maximum(cur.places_actual, 1e-9) < theta, np.nan)
    cur["prev_overcapacity"] = prev_state % 10          # the state at the origin (0, 1, NEW_STATE)
    if len(pairs):
        cur["p_base_rate"] = scores.base_rate(pairs.outcome.to_numpy())
        cur["p_persistence_calibrated"] = scores.calibrated_persistence(prev_state, pairs.prev.to_numpy(),
                                                                        pairs.outcome.to_numpy())
    else:
        cur["p_base_rate"] = np.nan
        cur["p_persistence_calibrated"] = np.nan
    st = past[(past.year == origin) & (past.places > 0)]
    rate = float(((st.admitted / st.places) < theta).mean()) if len(st) else 0.5
    s0 = cur.prev_overcapacity.to_numpy(float)
    cur["p_persistence_01"] = scores.persistence_01(np.where(s0 == NEW_STATE, np.nan, s0), rate)
    return cur


NEW_STATE = 2.0      # persistence state of a unit-group without places at the origin (not in its data)


def persistence_state(admitted_origin: np.ndarray, places_origin: np.ndarray, places_target: np.ndarray | None,
                      theta: float) -> np.ndarray:
    """The state "the same as last year" gives a unit-group: 1 if the origin's intake fills less than
    θ of the origin's places, else 0; NEW_STATE without places at the origin. With the target year's
    places (``places_target``: announced) the state is s + 10·c, c = 1 if the origin's intake fills
    less than θ of the announced places (persistence capped at them), so the calibration can use
    both (a NEW_STATE unit-group stays NEW_STATE)."""
    has = places_origin > 0
    s = (admitted_origin / np.maximum(places_origin, 1e-9) < theta).astype(float)
    if places_target is not None:
        s = s + 10 * (admitted_origin / np.maximum(places_target, 1e-9) < theta)
    return np.where(has, s, NEW_STATE)


def _state_pairs(past: pd.DataFrame, theta: float, lag: int = 1, announced: bool = False) -> pd.DataFrame:
    """(persistence state made at year t − lag, below θ in year t) for every unit-group with places in
    year t, t − lag ≥ the first year in ``past``: the calibration set of the calibrated persistence
    (t ≤ the origin: ``past`` ends there). The state is :func:`persistence_state` (with the places of
    t when ``announced``); a unit-group without places at t − lag has NEW_STATE."""
    p = past[past.places > 0]
    first = int(past.year.min()) if len(past) else 0
    out = p[p.year - lag >= first][["year", "skolenhetskod", "group", "admitted", "places"]]
    prev = past[["year", "skolenhetskod", "group", "admitted", "places"]].assign(year=past.year + lag)
    m = out.merge(prev, on=["year", "skolenhetskod", "group"], how="left", suffixes=("", "_prev"))
    state = persistence_state(m.admitted_prev.fillna(0).to_numpy(float), m.places_prev.fillna(0).to_numpy(float),
                              m.places.to_numpy(float) if announced else None, theta)
    return pd.DataFrame({"prev": state, "outcome": (m.admitted / m.places < theta).astype(float).to_numpy()})


# ----------------------------------------------------------------------------------------------
# Scores
# ----------------------------------------------------------------------------------------------

FORECASTERS = ("model", "persistence", "persistence_growth", "persistence_capped")
LEVEL_KEYS = {"unit_group": ["skolenhetskod", "group"], "unit": ["skolenhetskod"], "municipality": ["kommun_kod"],
              "cluster": ["cluster"], "region": []}


def aggregate(items: pd.DataFrame, level: str, cols: list | None = None) -> pd.DataFrame:
    """Items summed to ``level`` per origin, year, horizon and variant; the unallocated pseudo-items
    count above unit level only (A28). ``cols``: the columns summed (default: actual and every
    forecast present on all items)."""
    if level in ("unit_group", "unit") and "unallocated" in items:
        items = items[~items.unallocated.astype(bool)]
    if cols is None:
        cols = ["actual"] + [c for c in ("predicted", "persistence", "persistence_growth", "persistence_capped")
                             if c in items and items[c].notna().all()]
    keys = ["origin", "year", "h", "variant"] + LEVEL_KEYS[level]
    return items.groupby(keys, dropna=False)[cols].sum().reset_index()


def score_table(items: pd.DataFrame) -> pd.DataFrame:
    """variant × horizon × level × forecaster: mape, medape, wape, bias, n, skill_wape (against
    the better yardstick of the variant), pooled over origins; plus per-origin rows (origin set)."""
    rows = []
    for (v, h), d in items.groupby(["variant", "h"]):
        for level in LEVELS:
            agg = aggregate(d, level)
            for origin in [None] + sorted(agg.origin.unique()):
                a = agg if origin is None else agg[agg.origin == origin]
                res = {}
                for f in FORECASTERS:
                    col = "predicted" if f == "model" else f
                    if col not in a:
                        continue
                    res[f] = scores.error_summary(a[col].to_numpy(float), a.actual.to_numpy(float))
                yard = [k for k in res if k != "model"]
                best = min(yard, key=lambda k: res[k]["wape"])
                for f, r in res.items():
                    rows.append({"variant": v, "horizon": int(h), "level": level, "forecaster": f,
                                 "origin": "pooled" if origin is None else int(origin), **r,
                                 "skill_wape": scores.skill(res["model"]["wape"], res[best]["wape"]) if f == "model"
                                 else np.nan, "best_yardstick": best if f == "model" else ""})
    return pd.DataFrame(rows)


def flag_table(items: pd.DataFrame) -> pd.DataFrame:
    rows = []
    fcs = {"model": "p_overcapacity", "base_rate": "p_base_rate", "persistence_calibrated": "p_persistence_calibrated",
           "persistence_01": "p_persistence_01"}
    for (v, h), d in items.groupby(["variant", "h"]):
        d = d[d.outcome_overcapacity.notna() & d.p_overcapacity.notna()]
        for origin in [None] + sorted(d.origin.unique()):
            e = d if origin is None else d[d.origin == origin]
            y = e.outcome_overcapacity.to_numpy(float)
            for f, col in fcs.items():
                p = e[col].to_numpy(float)
                ok = ~np.isnan(p)
                rel = scores.reliability_table(p[ok], y[ok])
                rows.append({"variant": v, "horizon": int(h), "forecaster": f,
                             "origin": "pooled" if origin is None else int(origin),
                             "brier": scores.brier(p[ok], y[ok]), "n": int(ok.sum()),
                             "worst_gap": scores.worst_reliability_gap(rel)})
    return pd.DataFrame(rows)


def coverage_table(items: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (v, h), d in items.groupby(["variant", "h"]):
        d = d[d.lo80.notna() & (d.admitted_origin > 0)]
        for lvl in ("80", "95"):
            rows.append({"variant": v, "horizon": int(h), "level": int(lvl), "n": len(d),
                         "coverage": scores.coverage(d[f"lo{lvl}"], d[f"hi{lvl}"], d.actual)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# From the processed tables
# ----------------------------------------------------------------------------------------------

INPUT_TABLES = ("admissions", "school_crosswalk", "gymnasium_units", "municipalities", "pupils_kommun",
                "pupils_grundskola")


def inputs_from_tables(tables: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(panel, grade counts) from the processed tables."""
    clusters = tables["municipalities"].set_index("kommun_kod").cluster.dropna().to_dict()
    panel = build_panel(tables["admissions"], tables["school_crosswalk"], tables["gymnasium_units"], clusters)
    grades = grade_counts(tables["pupils_kommun"], tables["pupils_grundskola"])
    return panel, grades


def cut_tables(tables: dict, origin: int) -> dict:
    """Every input as it was published by origin T: admissions and crosswalk up to T, grade
    counts up to autumn T, population up to 31 Dec T (the truncation test uses this)."""
    out = dict(tables)
    for name, col in (("admissions", "year"), ("school_crosswalk", "year"), ("pupils_kommun", "school_year"),
                      ("pupils_grundskola", "school_year"), ("cohort_history", "year")):
        if name in out:
            out[name] = out[name][out[name][col] <= origin]
    return out


def track_record(tables: dict, horizons=(1, 2, 3), theta: float = THETA) -> dict:
    """The real-time intake backtest on the processed tables and its score tables:
    {'backtest', 'scores', 'flags', 'coverage', 'chosen'}."""
    panel, grades = inputs_from_tables(tables)
    bt = backtest(panel, grades, horizons=horizons, theta=theta)
    return {"backtest": bt, "scores": score_table(bt.items), "flags": flag_table(bt.items),
            "coverage": coverage_table(bt.items), "chosen": bt.chosen}


def forecast(panel: pd.DataFrame, grades: pd.DataFrame, origin: int, horizons, variant: str = "places_unknown",
             places: pd.DataFrame | None = None, theta: float = THETA) -> pd.DataFrame:
    """The intake forecast from ``origin`` for ``origin + h`` (h in ``horizons``), made as the
    backtest makes it: settings chosen on outcomes known at the origin, probabilities and
    intervals from the residuals of the earlier forecasts of the same horizon. Nothing after the
    origin is read (the panel and grade counts are cut at the origin first), except ``places``
    (announced places for later years: skolenhetskod, group, year, places). attrs['params'] holds
    the chosen settings. P(overcapacity) here is the simulated one: the backtest's recalibration
    (:func:`stack_fit` on earlier flags) is not applied (the reports take their probabilities from
    the flow simulation, A24; the chain reads only the settings and the error spread)."""
    panel = panel[panel.year <= origin]
    grades = grades[grades.school_year <= origin]
    years = sorted(int(y) for y in panel.year.unique())
    if origin not in years:
        raise ParameterError(f"origin {origin}: no admissions that year; admission years {years}")
    H = max(horizons)
    past = [o for o in years if o < origin and o + 1 <= origin]
    growth = {o: entrant_growth(grades, o, H) for o in past + [origin]}
    new_fill = {o: new_unit_fill(panel, o) for o in past + [origin]}
    cache: dict = {}
    best, _ = select_params(panel, {o: growth[o] for o in past}, origin, variant, cache, new_fill)
    frames = []
    for h in horizons:
        earlier = []
        for o in past:
            if o + h > origin:
                continue
            p_o, _ = select_params(panel, {k: growth[k] for k in past if k < o}, o, variant, cache, new_fill)
            key = (o, o + h, variant, p_o)
            if key not in cache:
                cache[key] = run_for(panel, growth, o, o + h, variant, p_o, new_fill[o])
            earlier.append(cache[key])
        earlier = pd.concat(earlier, ignore_index=True) if earlier else pd.DataFrame(
            columns=["predicted", "actual", "admitted_origin", "new_unit", "full_origin"])
        pl = None
        if places is not None:
            pl = places[places.year == origin + h]
        if h == min(horizons) and len(earlier):
            # size-weighted spread of the log errors of units that admitted students in both
            # years (closures and openings are not choice noise; tiny units would dominate)
            r = earlier[(earlier.admitted_origin > 0) & (earlier.actual > 0) & (earlier.predicted > 0)]
            resid = np.log(r.actual.to_numpy() / r.predicted.to_numpy())
            w = r.admitted_origin.to_numpy(float)
            mean = np.average(resid, weights=w)
            out_sd = float(np.sqrt(np.average((resid - mean) ** 2, weights=w)))
        elif h == min(horizons):
            out_sd = 0.0
        fc = forecast_year(panel, origin, origin + h, growth[origin], best, pl, new_fill[origin])
        fc["year"], fc["h"] = origin + h, h
        fc["not_placed_region"] = sum(fc.attrs["not_placed"].values())
        frames.append(add_uncertainty(fc, earlier, theta))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["params"] = best
    # size-weighted spread of the earlier unit errors at the first horizon (choice noise, A14)
    out.attrs["error_sd"] = out_sd
    return out

"""Places, intake and transition: from admissions (after de-duplication) to units × programme group.

* Places and admitted students per unit × programme group (HF university-preparatory, YP
  vocational; national programmes only) for an admission year: admission rows that count
  towards totals, mapped to units by the school crosswalk (weights split a name over several
  units). A unit without coordinates, and a name without a unit (pseudo-unit ``namn:<skola>``),
  sits at its municipality's grade-9-pupil centroid (A27, A81).
* Transition: admitted to national programmes (HF, YP) and to IM per 16-year-old of the region,
  by year, projected as the mean of the observed years or the last year, whichever the one-year
  backtest on 2021–2023 favours.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import scores
from .errors import ParameterError
from .flows import GROUPS


def unit_intake(admissions: pd.DataFrame, crosswalk: pd.DataFrame, units: pd.DataFrame, year: int,
                origins: pd.DataFrame | None = None) -> pd.DataFrame:
    """skolenhetskod × group: places, admitted, vacant (for ``year``); plus unit attributes.

    With ``origins`` (forecast.flows.origin_points), a unit the crosswalk names but the coordinate
    list lacks (or lists without a point) keeps its intake at its municipality's grade-9-pupil
    centroid, ``coordinate_flag = 'fallback_municipality_centroid'`` (never dropped; A27); an
    admission name the crosswalk cannot map becomes the pseudo-unit ``namn:<skola>`` there,
    ``coordinate_flag = 'fallback_unmatched_name'`` (A81)."""
    a = admissions[(admissions.year == year) & admissions.in_totals & admissions.programme_group.isin(GROUPS)]
    if a.empty:
        raise ParameterError(f"no admissions for year {year}; years: {sorted(admissions.year.unique())}")
    cw = crosswalk[(crosswalk.year == year) & crosswalk.skolenhetskod.notna() & (crosswalk.rule != "unmatched")]
    m = a.merge(cw[["skola", "school_kommun_kod", "skolenhetskod", "weight"]], on=["skola", "school_kommun_kod"],
                how="left" if origins is not None else "inner")
    # A name the crosswalk cannot map to a unit becomes the pseudo-unit 'namn:<skola>' of its
    # school municipality, as in the intake panel (forecast.intake.build_panel): its students
    # stay in the model (A81) instead of vanishing from every unit, municipality and region total.
    unmatched = m.skolenhetskod.isna()
    m.loc[unmatched, "skolenhetskod"] = "namn:" + m.loc[unmatched, "skola"]
    m["weight"] = m.weight.fillna(1.0)
    for c in ("places", "admitted", "vacant"):
        m[c] = m[c].astype(float) * m.weight.astype(float)
    g = m.groupby(["skolenhetskod", "programme_group"])[["places", "admitted", "vacant"]].sum().reset_index()
    g = g.rename(columns={"programme_group": "group"})
    u = units[["skolenhetskod", "skola", "kommun_kod", "owner_type", "x", "y", "coordinate_flag"]]
    out = g.merge(u, on="skolenhetskod", how="left" if origins is not None else "inner")
    lost = out.x.isna()
    if lost.any():
        first = m.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
        codes = out.loc[lost, "skolenhetskod"]
        out.loc[lost, "skola"] = codes.map(first.skola).to_numpy()
        out.loc[lost, "kommun_kod"] = codes.map(first.school_kommun_kod).to_numpy()
        out.loc[lost, "owner_type"] = codes.map(first.owner_type).to_numpy()
        cent = {k: (float(np.average(o.x, weights=o.weight)), float(np.average(o.y, weights=o.weight)))
                for k, o in origins.groupby("kommun_kod")}
        xy = [cent.get(k, (np.nan, np.nan)) for k in out.loc[lost, "kommun_kod"]]
        out.loc[lost, "x"] = [v[0] for v in xy]
        out.loc[lost, "y"] = [v[1] for v in xy]
        out.loc[lost, "coordinate_flag"] = np.where(codes.str.startswith("namn:"), "fallback_unmatched_name",
                                                    "fallback_municipality_centroid")
        out = out[out.x.notna()].reset_index(drop=True)
    out.attrs["mapped_share_admitted"] = float(out.admitted.sum() / max(a.admitted.sum(), 1))
    return out


def unit_locations(units: pd.DataFrame, origins: pd.DataFrame) -> pd.DataFrame:
    """Units of the region with x, y for the model. A unit flagged ``outside_own_municipality``
    (Värmdö gymnasium: its published point is 14.6 km away, in Stockholm) is placed at its
    municipality's grade-9-pupil centroid instead (docs/assumptions.md)."""
    u = units[units.x_sweref99tm.notna()].copy()
    u["x"], u["y"] = u.x_sweref99tm.astype(float), u.y_sweref99tm.astype(float)
    bad = u.coordinate_flag == "outside_own_municipality"
    for idx in u.index[bad]:
        o = origins[origins.kommun_kod == u.at[idx, "kommun_kod"]]
        if len(o):
            u.at[idx, "x"] = float(np.average(o.x, weights=o.weight))
            u.at[idx, "y"] = float(np.average(o.y, weights=o.weight))
    return u


@dataclass
class Transition:
    """Admitted per 16-year-old of the admission region, by group (HF, YP, IM), and the projection rule."""

    observed: pd.DataFrame           # year, group, admitted, age16, rate
    rule: str                        # 'mean' or 'last'
    rate: dict                       # group -> projected rate
    sd_log: dict                     # group -> sd of log year-to-year change (simulation)
    backtest_ape: dict               # rule -> mean APE (%) of the one-year rate forecasts

    def entrants(self, age16: np.ndarray, group: str) -> np.ndarray:
        return age16 * self.rate[group]


def build_transition(admissions: pd.DataFrame, age16_region: pd.Series) -> Transition:
    """``age16_region``: year -> 16-year-olds of the admission region (history or projection)."""
    a = admissions[admissions.in_totals & admissions.programme_group.isin(GROUPS + ("IM",))]
    obs = a.groupby(["year", "programme_group"]).admitted.sum().rename("admitted").reset_index()
    obs = obs.rename(columns={"programme_group": "group"})
    obs["age16"] = obs.year.map(age16_region)
    if obs.age16.isna().any():
        raise ParameterError(f"no 16-year-olds for admission years {sorted(obs[obs.age16.isna()].year.unique())}")
    obs["rate"] = obs.admitted / obs.age16
    wide = obs.pivot(index="year", columns="group", values="rate").sort_index()
    fc = {"mean": [], "last": []}
    act = []
    for i in range(1, len(wide)):
        past, nxt = wide.iloc[:i], wide.iloc[i]
        fc["mean"] += list(past.mean())
        fc["last"] += list(past.iloc[-1])
        act += list(nxt)
    bt = {k: scores.error_summary(v, act)["mape"] for k, v in fc.items() if v}
    rule = min(bt, key=bt.get) if bt else "last"   # one year observed: nothing to compare
    rate = (wide.mean() if rule == "mean" else wide.iloc[-1]).to_dict()
    sd = np.log(wide).diff().std().fillna(0.0).to_dict()
    return Transition(obs, rule, rate, sd, bt)


def cost_per_place(costs: pd.DataFrame, codes) -> pd.DataFrame:
    """SEK per student-year by school municipality from Skolverket's cost per student in municipal
    schools, latest year; municipalities without figures get the region's pupil-weighted mean.
    Independent schools are costed like their municipality's (assumption A12)."""
    latest = costs[costs.year == costs.year.max()].set_index("kommun_kod")
    latest = latest[latest.cost_per_pupil_sek.notna() & latest.premises_per_pupil_sek.notna()]
    w = latest.average_pupils.astype(float)
    mean_total = float(np.average(latest.cost_per_pupil_sek.astype(float), weights=w))
    mean_prem = float(np.average(latest.premises_per_pupil_sek.astype(float), weights=w))
    rows = []
    for c in codes:
        if c in latest.index:
            rows.append((c, float(latest.at[c, "cost_per_pupil_sek"]), float(latest.at[c, "premises_per_pupil_sek"]), "own"))
        else:
            rows.append((c, mean_total, mean_prem, "region_mean"))
    out = pd.DataFrame(rows, columns=["kommun_kod", "cost_per_place_sek", "premises_per_place_sek", "basis"])
    out.attrs["cost_year"] = int(costs.year.max())
    return out


MIX_RULES = ("mean", "last", "damped")
DAMPING = 0.5


def _mix_forecast(past: pd.DataFrame, rule: str) -> pd.Series:
    """One-step forecast of each column of ``past`` (years × programmes) by ``rule``."""
    if rule == "mean":
        return past.mean()
    if rule == "last" or len(past) < 2:
        return past.iloc[-1]
    trend = past.diff().iloc[1:].mean()          # damped trend: half the mean yearly change
    return past.iloc[-1] + DAMPING * trend


def build_programme_mix(admissions: pd.DataFrame, horizon_years) -> pd.DataFrame:
    """Each national programme's share of the region's national-programme entrants, observed
    2020–2023 and projected. The rule (mean / last / damped trend) is the one with the lowest
    one-year error over the programmes in the years all rules can be scored (the backtest
    decides); the 80% interval is ±1.28 × the standard deviation of those one-year errors
    (share points), widened by √h. Shares are renormalised to sum to 1 in every year."""
    a = admissions[admissions.in_totals & admissions.is_national]
    t = a.groupby(["year", "programme_code"]).admitted.sum().unstack(fill_value=0).sort_index()
    share = t.div(t.sum(axis=1), axis=0)
    errors = {r: [] for r in MIX_RULES}
    for i in range(2, len(share)):
        for r in MIX_RULES:
            errors[r] += list((_mix_forecast(share.iloc[:i], r) - share.iloc[i]).to_numpy())
    if any(errors.values()):
        mae = {r: float(np.mean(np.abs(v))) for r, v in errors.items()}
        rule = min(mae, key=mae.get)
        sd = float(np.std(errors[rule]))
    else:
        mae, rule, sd = {}, "last", 0.0
    rows = []
    for y, s in share.iterrows():
        for p, v in s.items():
            rows.append((int(y), p, float(v), "observerad", np.nan, np.nan))
    hist = share.copy()
    for h, y in enumerate(horizon_years, 1):
        f = _mix_forecast(hist, rule).clip(lower=0)
        f = f / f.sum()
        hist.loc[y] = f
        w = 1.2816 * sd * np.sqrt(h)
        for p, v in f.items():
            rows.append((int(y), p, float(v), "prognos", max(v - w, 0.0), v + w))
    out = pd.DataFrame(rows, columns=["year", "programme_code", "share", "kind", "lo80", "hi80"])
    out["group"] = out.programme_code.map(a.drop_duplicates("programme_code").set_index("programme_code").programme_group)
    out.attrs |= {"rule": rule, "mae_by_rule": mae}
    return out

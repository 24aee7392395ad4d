"""Swedish tables for the reports.

Every ``table_`` function returns a DataFrame with Swedish column headers, ready to show.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .labels import GROUP_SV, LEVEL_SV, _area_name, fmt, pct


def _numbered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows numbered 1, 2, … (a ranked list reads better than pandas' 0-based row labels)."""
    df = df.reset_index(drop=True)
    df.index = pd.RangeIndex(1, len(df) + 1, name="Nr")
    return df


def table_flags(rd, level: str | None = None, kommun: str | None = None, year: int | None = None,
                limit: int = 40) -> pd.DataFrame:
    """Risk flags (overcapacity and shortage) with probabilities and costs, in Swedish; with
    ``kommun``, only that municipality (its units, or itself at level 'kommun')."""
    r = rd.risk
    if year is not None:
        r = r[r.year == year]
    if level:
        r = r[r.level == level]
    if kommun is not None:
        unit_kommun = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").kommun_kod
        r = r[np.where(r.level == "enhet", r.area.map(unit_kommun), r.area) == kommun]
    r = r[r.flag_overcapacity | r.flag_shortage].copy()
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").skola
    r["namn"] = [_area_name(rd, a, lv, u) for a, lv in zip(r.area, r.level)]
    r["flagga"] = np.where(r.flag_overcapacity, "Överkapacitet", "Brist")
    r["sannolikhet"] = np.where(r.flag_overcapacity, r.p_overcapacity, r.p_shortage)
    r = r.sort_values(["sannolikhet", "cost_empty_sek"], ascending=False).head(limit)
    return pd.DataFrame({
        "År": r.year, "Nivå": r.level.map(LEVEL_SV), "Namn": r.namn, "Programgrupp": r.group.map(GROUP_SV),
        "Flagga": r.flagga, "Sannolikhet": r.sannolikhet.map(pct), "Platser": r.places.map(fmt),
        "Efterfrågan": r.demand.map(fmt), "Beläggning": r.utilisation.map(pct),
        "Tomma platser (väntevärde)": r.empty_places.map(fmt),
        "Kostnad tomma platser, mnkr/år": (r.cost_empty_sek / 1e6).map(lambda v: fmt(v, 1)),
    }).pipe(_numbered)


def table_scorecard(rd, codes=None) -> pd.DataFrame:
    s = rd.scorecard
    if codes is not None:
        s = s[s.kommun_kod.isin(list(codes))]
    return pd.DataFrame({
        "Kommun": s.kommun_kod.map(rd.name), "Medelfel 1 år, %": s.mape_1y.map(lambda v: fmt(v, 1)),
        "Medelfel 3 år, %": s.mape_3y.map(lambda v: fmt(v, 1)),
        f"Fel för {rd.meta.get('scorecard_outcome_year')}, prognos 1 år före, %": s.latest_1y.map(lambda v: fmt(v, 1)),
        f"Fel för {rd.meta.get('scorecard_outcome_year')}, prognos 3 år före, %": s.latest_3y.map(lambda v: fmt(v, 1)),
    }).set_index("Kommun")


def table_cohorts(rd, areas, years=None) -> pd.DataFrame:
    a = rd.ages[rd.ages.area.isin(list(areas)) & (rd.ages.measure == "age16_18")]
    years = years or [y for y in rd.meta["years"] if (y - rd.meta["base_year"]) in (1, 3, 5, 10)]
    a = a[a.year.isin(years)]
    a = a.assign(txt=[f"{fmt(p)} ({fmt(lo)}–{fmt(hi)})" for p, lo, hi in zip(a.population, a.lo80, a.hi80)])
    t = a.pivot(index="area", columns="year", values="txt")
    t.index = [rd.name(c) if c not in ("01", "region") else {"01": "Stockholms län", "region": "Antagningsregionen"}[c]
               for c in t.index]
    t.columns = [f"{y}" for y in t.columns]
    t.index.name = "16–18-åringar, prognos (80 % intervall)"
    return t


def table_beta_sweep(rd) -> pd.DataFrame:
    sw = pd.DataFrame(rd.meta["beta_sweep"])
    return pd.DataFrame({"β per km": sw.beta_per_km.map(lambda v: fmt(v, 3)),
                         "Kluster syd: skolornas elever från klustret": sw.syd_intake_share.map(pct),
                         "Kluster syd: klustrets elever i klustret": sw.syd_resident_share.map(pct),
                         "Egen kommuns skolor": sw.own.map(pct), "Annan kommuns skolor": sw.other_municipal.map(pct),
                         "Fristående": sw.independent.map(pct)})


def table_transition(rd) -> pd.DataFrame:
    t = rd.transition.pivot(index="year", columns="group", values="rate")
    t.columns = [{"HF": "Högskoleförberedande", "YP": "Yrkesprogram", "IM": "Introduktionsprogram"}[c] for c in t.columns]
    return (t * 100).round(1).rename_axis("Antagningsår (andel av 16-åringar, %)")


def table_programme_mix(rd) -> pd.DataFrame:
    mx = rd.programme_mix
    last_obs = mx[mx.kind == "observerad"].year.max()
    show = mx[mx.year.isin([last_obs, rd.meta["years"][-1]])].pivot(index="programme_code", columns="year",
                                                                      values="share").mul(100).round(1)
    show.index.name = f"Program (andel av antagna till nationella program, %; prognosregel: {rd.meta['programme_mix_rule']})"
    return show.sort_values(last_obs, ascending=False)


def table_utilisation_by_group(rd) -> pd.DataFrame:
    p = rd.risk[rd.risk.level == "programgrupp"]
    t = p.assign(Programgrupp=p.group.map(GROUP_SV)).pivot(index="year", columns="Programgrupp", values="utilisation")
    return t.mul(100).round(1).rename_axis("Beläggning i åk 1, %")


def table_accuracy(rd, value: str = "mape") -> pd.DataFrame:
    a = rd.accuracy[rd.accuracy.horizon.isin([1, 3, 5, 10])]
    label = "MAPE, %" if value == "mape" else "snedvridning MALPE, %"
    return a.pivot(index="method", columns="horizon", values=value).round(2).rename_axis(
        index="Metod", columns=f"År framåt ({label})")


def table_scenario_losers(base, sc, year: int, n: int = 12) -> pd.DataFrame:
    """The units whose demand the scenario lowers most in ``year``."""
    b = base.risk[(base.risk.level == "enhet") & (base.risk.year == year)].set_index(["area", "group"])
    s = sc.risk[(sc.risk.level == "enhet") & (sc.risk.year == year)].set_index(["area", "group"])
    d = (s.demand - b.demand.reindex(s.index).fillna(0)).sort_values().head(n)
    u = sc.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").skola
    return pd.DataFrame({"Skola": [u.get(a, a) for a, _ in d.index], "Programgrupp": [GROUP_SV[g] for _, g in d.index],
                         "Efterfrågan, bas": b.demand.reindex(d.index).map(fmt).to_numpy(),
                         "Förändring": d.map(fmt).to_numpy()}).pipe(_numbered)


def table_scenario_risk(base, sc, year: int) -> pd.DataFrame:
    """Overcapacity risk and empty places per cluster and programme group, baseline vs scenario."""
    m = base.risk.merge(sc.risk, on=["year", "level", "area", "group"], suffixes=("_bas", "_scenario"))
    m = m[m.level.isin(["kluster", "programgrupp"]) & (m.year == year)]
    return pd.DataFrame({"Nivå": m.level.map(LEVEL_SV),
                         "Område": [_area_name(base, a, lv) for a, lv in zip(m.area, m.level)],
                         "Programgrupp": m.group.map(GROUP_SV),
                         "Risk överkapacitet, bas": m.p_overcapacity_bas.map(pct),
                         "Risk överkapacitet, scenario": m.p_overcapacity_scenario.map(pct),
                         "Tomma platser, bas": m.empty_places_bas.map(fmt),
                         "Tomma platser, scenario": m.empty_places_scenario.map(fmt)}).pipe(_numbered)


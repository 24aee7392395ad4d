"""Swedish tables for the reports.

Every ``table_`` function returns a DataFrame with Swedish column headers, ready to show.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .labels import GROUP_SV, LEVEL_SV, RULE_SV, _area_name, fmt, method_sv, pct, signed, unit_name

# Report tables show whole names and sentences (pandas cuts cells at 50 characters by default),
# as figures.py sets matplotlib's defaults for the report figures.
pd.set_option("display.max_colwidth", None)


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
    return (t * 100).map(lambda v: fmt(v, 1)).rename_axis("Antagningsår (andel av 16-åringar, %)")


def table_programme_mix(rd) -> pd.DataFrame:
    mx = rd.programme_mix
    last_obs = mx[mx.kind == "observerad"].year.max()
    show = mx[mx.year.isin([last_obs, rd.meta["years"][-1]])].pivot(index="programme_code", columns="year",
                                                                      values="share").mul(100).round(1)
    show.columns.name = "År"
    rule = RULE_SV.get(rd.meta['programme_mix_rule'], rd.meta['programme_mix_rule'])
    show.index.name = f"Program (andel av antagna till nationella program, %; prognosregel: {rule})"
    return show.sort_values(last_obs, ascending=False).map(lambda v: fmt(v, 1))


def table_utilisation_by_group(rd) -> pd.DataFrame:
    p = rd.risk[rd.risk.level == "programgrupp"]
    t = p.assign(Programgrupp=p.group.map(GROUP_SV)).pivot(index="year", columns="Programgrupp", values="utilisation")
    return t.mul(100).map(lambda v: fmt(v, 1)).rename_axis("Beläggning i åk 1, %")


def table_accuracy(rd, value: str = "mape") -> pd.DataFrame:
    a = rd.accuracy[rd.accuracy.horizon.isin([1, 3, 5, 10])]
    label = "MAPE, %" if value == "mape" else "snedvridning MALPE, %"
    t = a.pivot(index="method", columns="horizon", values=value).round(2)
    t.index = [method_sv(m) for m in t.index]
    return t.map(lambda v: fmt(v, 2)).rename_axis(index="Metod", columns=f"År framåt ({label})")


def table_scenario_losers(base, sc, year: int, n: int = 12) -> pd.DataFrame:
    """The units whose demand the scenario lowers most in ``year``."""
    b = base.risk[(base.risk.level == "enhet") & (base.risk.year == year)].set_index(["area", "group"])
    s = sc.risk[(sc.risk.level == "enhet") & (sc.risk.year == year)].set_index(["area", "group"])
    d = (s.demand - b.demand.reindex(s.index).fillna(0)).sort_values().head(n)
    u = sc.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").skola
    return pd.DataFrame({"Skola": [unit_name(u.get(a, a)) for a, _ in d.index], "Programgrupp": [GROUP_SV[g] for _, g in d.index],
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



# --- years: observed up to the latest admission year, forecast after it ---------------------

def latest_observed_year(rd) -> int:
    """The latest admission year (``rd.meta['origin']`` when the run states it; else the latest
    year of the observed table; else the year before the first forecast year)."""
    if rd.meta.get("origin") is not None:
        return int(rd.meta["origin"])
    obs = getattr(rd, "observed", None)
    if obs is not None and len(obs):
        return int(obs.year.max())
    return int(rd.meta["years"][0]) - 1


def forecast_years(rd) -> list[int]:
    """The run's years after the latest observed one: never an observed year shown as forecast."""
    last = latest_observed_year(rd)
    return [int(y) for y in rd.meta["years"] if int(y) > last]


def focus_year(rd, year: int = 0) -> int:
    """The year the flag lists and sentences are about: ``year`` if it is a forecast year; 0 gives
    the fifth forecast year (or the last, if fewer)."""
    from ..errors import ParameterError
    years = forecast_years(rd)
    if not years:
        raise ParameterError("the run has no forecast year after the latest admission year")
    if not year:
        return years[min(4, len(years) - 1)]
    if year not in years:
        raise ParameterError(f"focus_year {year} is not a forecast year of this run; forecast years: "
                             f"{years[0]}–{years[-1]} (0 gives {years[min(4, len(years) - 1)]})")
    return int(year)


# --- Platsbehov: places needed, observed beside forecast --------------------------------------

NEED_COLUMNS = ("year", "kind", "level", "area", "group", "places", "admitted", "reserves", "vacant", "demand",
                "demand_lo80", "demand_hi80", "needed", "needed_lo80", "needed_hi80", "p_overcapacity",
                "p_shortage", "units", "units_overcapacity", "units_shortage")


def places_needed(risk: pd.DataFrame, observed: pd.DataFrame | None, last_observed: int) -> pd.DataFrame:
    """Places needed per year, level, area and group: observed rows for the admission years up
    to ``last_observed`` (needed = admitted − places, i.e. minus the vacant places), forecast
    rows after it (needed = demand − places, with the 80% interval of demand: + is a shortage,
    − a surplus). Forecast rows for observed years are dropped: an observed year is never
    shown as a forecast."""
    f = risk[risk.year > last_observed].copy()
    f["kind"] = "prognos"
    f["needed"] = f.demand - f.places
    f["needed_lo80"] = f.demand_lo80 - f.places
    f["needed_hi80"] = f.demand_hi80 - f.places
    frames = [f]
    if observed is not None and len(observed):
        o = observed[observed.year <= last_observed].copy()
        o["kind"] = "utfall"
        o["needed"] = o.admitted - o.places
        frames.insert(0, o)
    out = pd.concat(frames, ignore_index=True)
    for c in NEED_COLUMNS:
        if c not in out:
            out[c] = np.nan
    return out[list(NEED_COLUMNS)].sort_values(["level", "area", "group", "year"]).reset_index(drop=True)


def mixed_text(n_full, n_empty) -> str:
    """'blandat: N fulla enheter, M med tomma platser' when an area holds both; else ''."""
    if pd.notna(n_full) and pd.notna(n_empty) and n_full > 0 and n_empty > 0:
        return f"blandat: {int(n_full)} fulla enheter, {int(n_empty)} med tomma platser"
    return ""


def _rd_needed(rd) -> pd.DataFrame:
    return places_needed(rd.risk, getattr(rd, "observed", None), latest_observed_year(rd))


def _interval(lo, hi, sign=False) -> str:
    return f"{signed(lo)} till {signed(hi)}" if sign else f"{fmt(lo)}–{fmt(hi)}"


def table_places_needed(rd, level: str, area: str | None = None, years=None) -> pd.DataFrame:
    """The Platsbehov table in Swedish: one row per year (observed and forecast) and group for
    one ``area`` (all areas of ``level`` for one year when ``area`` is None and ``years`` one year)."""
    n = _rd_needed(rd)
    n = n[n.level == level]
    if area is not None:
        n = n[n.area == area]
    if years is not None:
        n = n[n.year.isin(list(years))]
    if n.empty:
        where = rd.name(area) if level == "kommun" and area else (area or "")
        return pd.DataFrame({"Resultat": [f"{where} har inga egna gymnasieplatser i antagningen.".strip()]}
                            ).pipe(_numbered)
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").skola.map(unit_name)
    obs = n.kind == "utfall"
    need_txt = [(signed(v) if o else f"{signed(v)} ({_interval(lo, hi, sign=True)})")
                for o, v, lo, hi in zip(obs, n.needed, n.needed_lo80, n.needed_hi80)]
    out = pd.DataFrame({
        "Område": [_area_name(rd, a, level, u) for a in n.area],
        "Programgrupp": n.group.map(GROUP_SV), "År": n.year.astype(int).astype(str),
        "Utfall/prognos": n.kind,
        "Platser": n.places.map(fmt),
        "Antagna (utfall) / efterfrågan med 80 % intervall": [
            fmt(a) if o else f"{fmt(d)} ({_interval(lo, hi)})"
            for o, a, d, lo, hi in zip(obs, n.admitted, n.demand, n.demand_lo80, n.demand_hi80)],
        "Reserver (utfall)": n.reserves.map(fmt),
        "Platsbehov (+ brist, − överskott)": need_txt,
        "Risk för överkapacitet": n.p_overcapacity.map(pct), "Risk för brist": n.p_shortage.map(pct),
        "Enheter": [mixed_text(s, o) for s, o in zip(n.units_shortage, n.units_overcapacity)],
    })
    if area is not None or level == "programgrupp":      # one area: its name is the heading
        out = out.drop(columns="Område")
    if level == "programgrupp" or not out["Enheter"].astype(bool).any():   # the region is always mixed
        out = out.drop(columns="Enheter")
    keys = ["Programgrupp", "År"] if "Område" not in out else ["Område", "Programgrupp"]
    return out.reset_index(drop=True).set_index(keys)


# --- both risks, one focus year, each unit once ------------------------------------------------

FLAG_SV = {"shortage": "Brist", "overcapacity": "Överkapacitet"}


def flag_list(risk: pd.DataFrame, kind: str, year: int, level: str, years=None) -> pd.DataFrame:
    """Rows of ``level`` flagged for ``kind`` ('shortage' or 'overcapacity') in ``year``, one per
    area × group, with every forecast year (of ``years``) the same area × group is flagged
    for the same kind (``flag_years``), highest probability first."""
    col, p = ("flag_shortage", "p_shortage") if kind == "shortage" else ("flag_overcapacity", "p_overcapacity")
    r = risk[risk.level == level]
    if years is not None:
        r = r[r.year.isin(list(years))]
    flagged = r[r[col]]
    when = flagged.groupby(["area", "group"]).year.apply(lambda s: sorted(int(v) for v in s))
    out = flagged[flagged.year == year].copy()
    out["flag_years"] = [when.get((a, g), []) for a, g in zip(out.area, out.group)]
    out["probability"] = out[p]
    return out.sort_values(["probability", "places"], ascending=False).reset_index(drop=True)


def years_text(years: list[int]) -> str:
    """[2025, 2026, 2027, 2030] → '2025–2027, 2030'."""
    parts, run = [], []
    for y in sorted(years):
        if run and y == run[-1] + 1:
            run.append(y)
        else:
            if run:
                parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
            run = [y]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
    return ", ".join(parts)


def table_flag_list(rd, kind: str, year: int, level: str = "enhet", kommun: str | None = None,
                    limit: int = 30) -> pd.DataFrame:
    """Shortage or overcapacity flags for one focus year in Swedish; each unit (× programme
    group) once, with the forecast years it is flagged; empty places and their cost split
    by owner (municipal schools / independent schools, the provider's risk, A52)."""
    r = rd.risk
    if kommun is not None:
        unit_kommun = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").kommun_kod
        r = r[np.where(r.level == "enhet", r.area.map(unit_kommun), r.area) == kommun]
    f = flag_list(r, kind, year, level, forecast_years(rd)).head(limit)
    if f.empty:
        where = f" i {rd.name(kommun)}" if kommun else ""
        return pd.DataFrame({"Resultat": [f"Ingen {LEVEL_SV.get(level, level).lower()}{where} flaggas för "
                                          f"{FLAG_SV[kind].lower()} {year}."]}).pipe(_numbered)
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    names = u.skola.map(unit_name)
    out = {"Namn": [_area_name(rd, a, level, names) for a in f.area]}
    if level == "enhet":
        out["Huvudman"] = f.area.map(u.owner_type).map(
            {"kommunal": "kommunal", "enskild": "fristående", "region": "region", "planerad": "planerad"}).fillna("–")
    out |= {"Programgrupp": f.group.map(GROUP_SV), "Sannolikhet": f.probability.map(pct),
            "Flaggad prognosår": f.flag_years.map(years_text), "Platser": f.places.map(fmt),
            "Efterfrågan (80 % intervall)": [f"{fmt(d)} ({_interval(lo, hi)})"
                                             for d, lo, hi in zip(f.demand, f.demand_lo80, f.demand_hi80)]}
    if kind == "overcapacity":
        out |= {"Beläggning": f.utilisation.map(pct),
                "Tomma platser, kommunala skolor": _col(f, "empty_places_municipal", fmt),
                "Tomma platser, fristående (huvudmannens risk)": _col(f, "empty_places_independent", fmt),
                "Kostnad för kommunerna, mnkr/år": _col(f, "cost_empty_municipal_sek", lambda v: fmt(v / 1e6, 1))}
    else:
        out |= {"Platser som saknas (väntevärde)": (f.demand - f.places).clip(lower=0).map(fmt)}
    if level != "enhet":
        out["Enheter"] = [mixed_text(s, o) for s, o in zip(_col(f, "units_shortage"), _col(f, "units_overcapacity"))]
    return pd.DataFrame(out).pipe(_numbered)


def _col(f: pd.DataFrame, name: str, fn=None) -> pd.Series:
    """A column of the risk table that older run data may lack (shown as '–')."""
    s = f[name] if name in f else pd.Series(np.nan, index=f.index)
    return s.map(fn) if fn else s


def table_owner_split(rd, year: int, kommun: str | None = None) -> pd.DataFrame:
    """Expected empty places and their yearly cost in ``year``, municipal schools against
    independent schools (the provider's risk), per programme group; the whole region, or the
    units of one municipality."""
    r = rd.risk[(rd.risk.year == year)]
    r = r[(r.level == "kommun") & (r.area == kommun)] if kommun else r[r.level == "programgrupp"]
    rows = []
    for g in r.itertuples():
        rows.append({"Programgrupp": GROUP_SV.get(g.group, g.group),
                     "Tomma platser, kommunala skolor": fmt(getattr(g, "empty_places_municipal", np.nan)),
                     "Kostnad, kommunala skolor, mnkr/år": fmt(getattr(g, "cost_empty_municipal_sek", np.nan) / 1e6, 1),
                     "Tomma platser, fristående skolor": fmt(getattr(g, "empty_places_independent", np.nan)),
                     "Fristående skolors tomma platser värderade, mnkr/år (huvudmannens risk)":
                         fmt(getattr(g, "cost_empty_independent_sek", np.nan) / 1e6, 1)})
    if not rows:
        return pd.DataFrame({"Resultat": [f"{rd.name(kommun)} har inga egna gymnasieplatser i antagningen."
                                          if kommun else f"Inga platser {year}."]}).pipe(_numbered)
    return pd.DataFrame(rows).set_index("Programgrupp")


# --- intake track record (issue 10 item 6), against the scores contract -------------------------

INTAKE_LEVELS = ("unit_group", "unit", "municipality", "cluster", "region")


def _pooled(df: pd.DataFrame) -> pd.DataFrame:
    """The rows pooled over origins (the scores tables also hold one row per origin)."""
    return df[df.origin.astype(str) == "pooled"] if "origin" in df else df


def intake_record(scores: pd.DataFrame, variant: str, horizon: int) -> pd.DataFrame:
    """Per level: the model's WAPE, MAPE and bias, the best yardstick (lowest WAPE among the
    yardsticks scored on the same items) and the skill 1 − WAPE_model / WAPE_best."""
    s = _pooled(scores[(scores.variant == variant) & (scores.horizon == horizon)])
    rows = []
    for level in [lv for lv in INTAKE_LEVELS if lv in set(s.level)]:
        d = s[s.level == level].set_index("forecaster")
        if "model" not in d.index:
            continue
        yard = d.drop(index="model")
        best = yard.wape.idxmin() if len(yard) and yard.wape.notna().any() else None
        m = d.loc["model"]
        skill = (1 - m.wape / yard.wape.min()) if best is not None and yard.wape.min() > 0 else np.nan
        rows.append({"level": level, "model_wape": m.wape, "model_mape": m.mape, "model_bias": m.bias, "n": m.n,
                     "best_yardstick": best, "best_wape": yard.wape.min() if best else np.nan, "skill": skill})
    return pd.DataFrame(rows)


def table_intake_record(rd, variant: str = "places_unknown", horizon: int = 1) -> pd.DataFrame | None:
    """The intake record in Swedish (None when the run has no intake scores)."""
    from .labels import FORECASTER_SV, INTAKE_LEVEL_SV, VARIANT_SV
    s = getattr(rd, "intake_scores", None)
    if s is None or len(s) == 0:
        return None
    r = intake_record(s, variant, horizon)
    return pd.DataFrame({
        "Nivå": r.level.map(INTAKE_LEVEL_SV),
        "Prognosens fel, WAPE": r.model_wape.map(lambda v: fmt(v, 1) + " %"),
        "Bästa enkla jämförelse": r.best_yardstick.map(lambda v: FORECASTER_SV.get(v, v)),
        "Dess fel, WAPE": r.best_wape.map(lambda v: fmt(v, 1) + " %"),
        "Förbättring mot jämförelsen": r.skill.map(lambda v: pct(v)),
        "Prognosens MAPE": r.model_mape.map(lambda v: fmt(v, 1) + " %"),
        "Snedvridning": r.model_bias.map(lambda v: signed(v, 1) + " %"),
        "Antal": r.n.map(fmt)}).set_index("Nivå").rename_axis(f"Nivå ({VARIANT_SV.get(variant, variant)}, "
                                                             f"{horizon} år framåt)")


def table_flag_record(rd, variant: str = "places_unknown", horizon: int = 1) -> pd.DataFrame | None:
    """Brier scores of the overcapacity probabilities against the yardsticks (None when absent)."""
    from .labels import FORECASTER_SV
    f = getattr(rd, "flag_scores", None)
    if f is None or len(f) == 0:
        return None
    f = _pooled(f[(f.variant == variant) & (f.horizon == horizon)]).sort_values("brier")
    return pd.DataFrame({"Prognos": f.forecaster.map(lambda v: FORECASTER_SV.get(v, v)),
                         "Brier-poäng (lägre är bättre)": f.brier.map(lambda v: fmt(v, 3)),
                         "Största kalibreringsgap": f.worst_gap.map(lambda v: fmt(v, 2)),
                         "Antal": f.n.map(fmt)}).pipe(_numbered)


# --- the scenario report's question: does the planned school fill? ------------------------------

def planned_units(sc) -> pd.DataFrame:
    """The scenario's new schools as units (skolenhetskod, skola, kommun_kod, group, places)."""
    u = sc.units[sc.units.owner_type == "planerad"]
    return u.drop_duplicates(["skolenhetskod", "group"])


def table_scenario_school(sc, years=None) -> pd.DataFrame:
    """Each planned school and forecast year from its opening: places, demand (80% interval),
    P(fill) = P(utilisation ≥ θ) and P(shortage)."""
    pu = planned_units(sc)
    r = sc.risk[(sc.risk.level == "enhet") & sc.risk.area.isin(list(pu.skolenhetskod))]
    r = r[r.year.isin(years if years is not None else forecast_years(sc))]
    names = pu.set_index("skolenhetskod").skola
    return pd.DataFrame({
        "Skola": r.area.map(names).map(unit_name), "Programgrupp": r.group.map(GROUP_SV),
        "År": r.year.astype(str), "Platser": r.places.map(fmt),
        "Efterfrågan (80 % intervall)": [f"{fmt(d)} ({_interval(lo, hi)})"
                                         for d, lo, hi in zip(r.demand, r.demand_lo80, r.demand_hi80)],
        "Väntad beläggning": r.utilisation.map(pct),
        "Sannolikhet att skolan fylls": (1 - r.p_overcapacity).map(pct),
        "Sannolikhet att platserna inte räcker": r.p_shortage.map(pct)}).set_index(["Skola", "År"])


def table_scenario_origins(sc, n: int = 10) -> pd.DataFrame | None:
    """Where the planned school's students live (placed flows in its first year), largest first."""
    f = getattr(sc, "scenario_flows", None)
    if f is None or len(f) == 0:
        return None
    f = f[(f.kind == "placed") & f.skolenhetskod.isin(list(planned_units(sc).skolenhetskod))]
    t = f.groupby("home_kod").students.sum().sort_values(ascending=False)
    share = t / max(t.sum(), 1e-9)
    return pd.DataFrame({"Hemkommun": [sc.name(c) for c in t.index], "Elever": t.map(fmt).to_numpy(),
                         "Andel av skolans elever": share.map(pct).to_numpy()}).head(n).pipe(_numbered)


def table_scenario_both_risks(base, sc, year: int) -> pd.DataFrame:
    """Both risks and the owner-split empty places per cluster and the region, baseline vs scenario."""
    m = base.risk.merge(sc.risk, on=["year", "level", "area", "group"], suffixes=("_bas", "_scenario"))
    m = m[m.level.isin(["kluster", "programgrupp"]) & (m.year == year)]
    return pd.DataFrame({"Område": [_area_name(base, a, lv) for a, lv in zip(m.area, m.level)],
                         "Programgrupp": m.group.map(GROUP_SV),
                         "Risk för brist, bas → scenario": [f"{pct(a)} → {pct(b)}" for a, b in
                                                             zip(m.p_shortage_bas, m.p_shortage_scenario)],
                         "Risk för överkapacitet, bas → scenario": [f"{pct(a)} → {pct(b)}" for a, b in
                                                                     zip(m.p_overcapacity_bas, m.p_overcapacity_scenario)],
                         "Tomma platser, bas → scenario": [f"{fmt(a)} → {fmt(b)}" for a, b in
                                                            zip(m.empty_places_bas, m.empty_places_scenario)]}
                        ).pipe(_numbered)

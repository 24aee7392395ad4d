"""Static figures and Swedish tables for the reports (matplotlib; maps in SWEREF 99 TM).

Every ``plot_`` function returns a matplotlib Figure with Swedish labels and the sources under
it; every ``table_`` function returns a DataFrame with Swedish column headers, ready to show.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.patches import Polygon as MplPolygon
from shapely import wkt

SRC_POP = "Källa: SCB/Kolada (befolkning 31 dec), Skolverket (elever per årskurs); prognos: gymnasieprognos."
SRC_ADM = ("Källa: Gymnasieantagningen (slutantagning), Skolverket (skolenheter, kostnader); "
           "flöden skattade med gymnasieprognos.")
GROUP_SV = {"HF": "Högskoleförberedande", "YP": "Yrkesprogram"}
LEVEL_SV = {"enhet": "Skolenhet", "kommun": "Kommun", "kluster": "Kluster", "programgrupp": "Programgrupp"}

plt.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "font.size": 10, "axes.spines.top": False,
                     "axes.spines.right": False})


def _source(fig, text):
    fig.text(0.01, 0.005, text, fontsize=7.5, color="0.35", ha="left", va="bottom", wrap=True)
    fig.subplots_adjust(bottom=0.16)


def _numbered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows numbered 1, 2, … (a ranked list reads better than pandas' 0-based row labels)."""
    df = df.reset_index(drop=True)
    df.index = pd.RangeIndex(1, len(df) + 1, name="Nr")
    return df


def fmt(x, decimals=0) -> str:
    """Swedish number format: space as thousands separator, comma as decimal mark."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    s = f"{x:,.{decimals}f}".replace(",", " ").replace(".", ",")
    return s


def pct(x, decimals=0) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{fmt(100 * x, decimals)} %"


def plot_cohort(rd, area: str, title: str | None = None):
    """History and projection of 16–18-year-olds (with 80/95% intervals) and 16-year-olds."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    a = rd.ages[(rd.ages.area == area)]
    h = rd.history16_18
    if area in ("01", "region"):
        codes = rd.municipalities.kommun_kod if area == "region" else [c for c in rd.municipalities.kommun_kod if c.startswith("01")]
        hh = h[h.kommun_kod.isin(list(codes))].groupby("year").population.sum()
    else:
        hh = h[h.kommun_kod == area].set_index("year").population
    hh = hh[hh.index >= 2005]
    ax.plot(hh.index, hh.values, color="0.2", lw=2, label="16–18 år, utfall")
    for measure, color, label in (("age16_18", "tab:blue", "16–18 år, prognos"), ("age16", "tab:orange", "16 år (nybörjarkull), prognos")):
        d = a[a.measure == measure].sort_values("year")
        ax.fill_between(d.year, d.lo95, d.hi95, color=color, alpha=0.12, lw=0)
        ax.fill_between(d.year, d.lo80, d.hi80, color=color, alpha=0.25, lw=0)
        ax.plot(d.year, d.population, color=color, lw=2, label=label)
    ax.set_ylabel("antal personer")
    ax.set_title(title or f"Gymnasieåldrar: {rd.name(area) if area not in ('01', 'region') else area}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_ylim(bottom=0)
    _source(fig, SRC_POP + " Skuggat: 80 % och 95 % prognosintervall från prognosernas egna historiska fel.")
    return fig


def _draw_boundaries(ax, rd, values: dict | None = None, cmap="RdBu_r", vmin=None, vmax=None, label=""):
    patches, vals = [], []
    for r in rd.boundaries.itertuples():
        g = wkt.loads(r.geometry_wkt)
        for poly in getattr(g, "geoms", [g]):
            patches.append(MplPolygon(np.asarray(poly.exterior.coords)[:, :2], closed=True))
            vals.append(values.get(r.kommun_kod, np.nan) if values else 0.0)
    pc = PatchCollection(patches, edgecolor="white", linewidth=0.6)
    if values:
        pc.set_array(np.array(vals, dtype=float))
        pc.set_cmap(cmap)
        pc.set_clim(vmin, vmax)
    else:
        pc.set_facecolor("0.9")
    ax.add_collection(pc)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_axis_off()
    if values:
        cb = ax.figure.colorbar(pc, ax=ax, shrink=0.7)
        cb.set_label(label)
    return pc


def plot_growth_map(rd, year: int):
    """Choropleth: change in 16–18-year-olds from the base year to ``year``, percent."""
    base = rd.history16_18[rd.history16_18.year == rd.meta["base_year"]].set_index("kommun_kod").population
    fut = rd.ages[(rd.ages.area_type == "kommun") & (rd.ages.measure == "age16_18") & (rd.ages.year == year)]
    fut = fut.set_index("area").population
    growth = {c: 100 * (fut[c] / base[c] - 1) for c in fut.index if c in base.index and base[c] > 0}
    lim = max(5.0, np.nanmax(np.abs(list(growth.values()))))
    fig, ax = plt.subplots(figsize=(7, 7))
    _draw_boundaries(ax, rd, growth, vmin=-lim, vmax=lim, label=f"förändring {rd.meta['base_year']}–{year}, %")
    ax.set_title(f"16–18-åringar: förändring till {year}")
    _source(fig, SRC_POP + " Kartunderlag: kommungränser (generaliserade), SWEREF 99 TM.")
    return fig


def _outline(ax, rd, code: str) -> list:
    """Draw one municipality's boundary in black; returns its (minx, miny, maxx, maxy) bounds."""
    bounds = []
    for w in rd.boundaries[rd.boundaries.kommun_kod == code].geometry_wkt:
        g = wkt.loads(w)
        bounds.append(g.bounds)
        for poly in getattr(g, "geoms", [g]):
            xy = np.asarray(poly.exterior.coords)
            ax.plot(xy[:, 0], xy[:, 1], color="k", lw=1.2)
    return bounds


def plot_units_map(rd, year: int, color_by: str = "p_overcapacity", highlight: str | None = None):
    """Units as points sized by places and coloured by the overcapacity risk in ``year``."""
    r = rd.risk[(rd.risk.level == "enhet") & (rd.risk.year == year)]
    r = r.groupby("area").agg(places=("places", "sum"), placed=("placed", "sum"),
                              p=(color_by, "max")).reset_index()
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    r = r[r.area.isin(u.index)]
    fig, ax = plt.subplots(figsize=(7, 7))
    _draw_boundaries(ax, rd)
    if highlight:
        _outline(ax, rd, highlight)
    sc = ax.scatter(u.loc[r.area, "x"], u.loc[r.area, "y"], s=np.sqrt(r.places) * 4, c=r.p, cmap="YlOrRd",
                    vmin=0, vmax=1, edgecolor="0.3", linewidth=0.4, alpha=0.9)
    planned = u[u.owner_type == "planerad"]
    if len(planned):   # a scenario's new schools: marked, so the reader sees what is hypothetical
        ax.scatter(planned.x, planned.y, s=260, marker="*", facecolor="none", edgecolor="k", linewidth=1.2, zorder=4)
        for r in planned.itertuples():
            ax.annotate(f"{r.skola}\n(planerad, hypotetisk)", (r.x, r.y), xytext=(-10, -14), textcoords="offset points",
                        fontsize=7.5, ha="right", va="top")
    cb = fig.colorbar(sc, ax=ax, shrink=0.7)
    cb.set_label("sannolikhet för överkapacitet" if color_by == "p_overcapacity" else "sannolikhet för brist")
    ax.set_title(f"Skolenheter {year}: platser (storlek) och risk (färg)")
    _source(fig, SRC_ADM + " Värmdö gymnasium placerad i Värmdö (publicerad punkt ligger fel).")
    return fig


def _zoom(ax, xs, ys, margin_m: float = 8000, min_span_m: float = 40000) -> None:
    """Frame the map on the points (metres, SWEREF 99 TM) with a margin, keeping it square
    and at least ``min_span_m`` wide, so one municipality's flows are not lost in the county."""
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, min_span_m) + 2 * margin_m
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - span / 2, cx + span / 2)
    ax.set_ylim(cy - span / 2, cy + span / 2)


def plot_flows(rd, home: str, kind: str = "placed", top: int = 12):
    """Flow lines from one municipality's 15-year-olds to the units its students choose."""
    f = rd.flows[(rd.flows.home_kod == home) & (rd.flows.kind == kind)]
    f = f.groupby("skolenhetskod").students.sum().sort_values(ascending=False)
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    f = f[f.index.isin(u.index)]
    b = rd.boundaries[rd.boundaries.kommun_kod == home]
    c = wkt.loads(b.geometry_wkt.iloc[0]).centroid if len(b) else None
    fig, ax = plt.subplots(figsize=(7, 7))
    _draw_boundaries(ax, rd)
    bounds = _outline(ax, rd, home)
    if c is not None:
        shown = f.head(top)
        for code, n in shown.items():
            ax.plot([c.x, u.at[code, "x"]], [c.y, u.at[code, "y"]], color="tab:blue",
                    lw=0.5 + 6 * n / max(shown.max(), 1), alpha=0.6)
        ax.scatter(u.loc[shown.index, "x"], u.loc[shown.index, "y"], s=20, color="tab:blue", zorder=3)
        ax.scatter([c.x], [c.y], s=60, color="k", marker="*", zorder=4)
        # frame: the municipality and the schools its students go to
        _zoom(ax, [c.x, *u.loc[shown.index, "x"], *(v for bd in bounds for v in bd[0::2])],
              [c.y, *u.loc[shown.index, "y"], *(v for bd in bounds for v in bd[1::2])])
    share = f.head(top).sum() / max(f.sum(), 1e-9)
    ax.set_title(f"Var eleverna från {rd.name(home)} börjar ({rd.meta['years'][0]}): "
                 f"de {top} största skolorna, {pct(share)} av eleverna")
    _source(fig, SRC_ADM + f" Flöden {'observerade' if rd.meta['flows_basis'] == 'observed' else 'skattade'} "
            "(rumslig interaktionsmodell), inte uppmätta.")
    return fig


def plot_places_vs_demand(rd, level: str = "kluster", year: int | None = None):
    year = year or rd.meta["years"][min(4, len(rd.meta["years"]) - 1)]
    r = rd.risk[(rd.risk.level == level) & (rd.risk.year == year)].copy()
    r["namn"] = r.area.map(lambda a: rd.name(a) if level == "kommun" else a)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=False)
    for ax, g in zip(axes, ("HF", "YP")):
        d = r[r.group == g].sort_values("places")
        y = np.arange(len(d))
        ax.barh(y, d.places, color="0.8", label="platser")
        ax.errorbar(d.demand, y, xerr=[d.demand - d.demand_lo80, d.demand_hi80 - d.demand], fmt="o",
                    color="tab:blue", ms=4, lw=1, label="efterfrågan (80 %)")
        ax.set_yticks(y, d.namn)
        ax.set_title(GROUP_SV[g])
        ax.set_xlabel("elever i åk 1")
    axes[0].legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle(f"Platser och efterfrågan per {LEVEL_SV[level].lower()}, {year}")
    _source(fig, SRC_ADM + " Platser: senaste antagningsåret, efter dubblettregeln.")
    return fig


def plot_track_record(rd):
    a = rd.accuracy
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    names = {"carry_forward": "framskrivning utan flyttningar", "linear": "linjär trend",
             "hamilton_perry": "kohortkvoter (Hamilton–Perry)", "shrunk": "kvoter krympta mot länet",
             "ensemble": "medelvärde av kvotmetoderna", "best": "vald metod (i realtid)"}
    for m, g in a.groupby("method"):
        if m == "linear":
            continue
        axes[0].plot(g.horizon, g.mape, marker="o", ms=3, lw=2.5 if m == "best" else 1, label=names.get(m, m))
    axes[0].set_xlabel("år framåt")
    axes[0].set_ylabel("MAPE, %")
    axes[0].set_title("Kommunernas 16–18-åringar: medelfel")
    axes[0].legend(fontsize=7, frameon=False)
    c = rd.county_accuracy
    for m, g in c.groupby("method"):
        if m in ("best", "carry_forward"):
            axes[1].plot(g.horizon, g.mape, marker="o", ms=3, label=names.get(m, m))
    axes[1].set_title("Länet: medelfel")
    axes[1].set_xlabel("år framåt")
    axes[1].legend(fontsize=7, frameon=False)
    _source(fig, "Källa: gymnasieprognos, återprognoser från varje startår 2003– med bara de data som fanns då.")
    return fig


def _area_name(rd, area: str, level: str, unit_names=None) -> str:
    """How a risk row's area reads: a unit's or municipality's name, a cluster, the whole region."""
    if level == "enhet":
        return unit_names.get(area, area) if unit_names is not None else area
    if level == "kommun":
        return rd.name(area)
    return "hela regionen" if level == "programgrupp" else area


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


# --- texts and tables the notebooks show (kept here so the notebooks only narrate) -----------

def text_region_summary(rd, year: int) -> str:
    a = rd.ages.set_index(["area", "measure", "year"])
    r5 = a.loc[("region", "age16_18", year)]
    over = rd.risk[(rd.risk.year == year) & (rd.risk.level == "enhet") & rd.risk.flag_overcapacity]
    best = rd.accuracy[rd.accuracy.method == "best"].set_index("horizon").mape if len(rd.accuracy) else pd.Series(dtype=float)
    return (f"- År {year} väntas antagningsregionen ha **{fmt(r5.population)} 16–18-åringar** "
            f"(80 % intervall {fmt(r5.lo80)}–{fmt(r5.hi80)}).\n"
            f"- **{len(over)} skolenheter och programgrupper** flaggas för överkapacitet {year} (sannolikhet minst "
            f"{pct(rd.meta['flag_probability'])} att beläggningen i åk 1 blir under {pct(rd.meta['theta'])}); "
            f"väntad kostnad för deras tomma platser: **{fmt(over.cost_empty_sek.sum() / 1e6)} mnkr per år**.\n"
            f"- Prognosmetod: {rd.meta['method']}. Historiskt medelfel för kommunernas 16–18-åringar: "
            f"{fmt(best.get(1), 1)} % ett år framåt och {fmt(best.get(5), 1)} % fem år framåt.")


def text_flows(rd, kommun: str) -> str:
    year = rd.meta["years"][0]
    f = rd.flows[(rd.flows.kind == "placed") & (rd.flows.year == year)]
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    f = f.assign(skolkommun=f.skolenhetskod.map(u.kommun_kod))
    out, inn = f[f.home_kod == kommun], f[f.skolkommun == kommun]
    basis = "observerade" if rd.meta["flows_basis"] == "observed" else "skattade"
    return (f"Av eleverna som bor i {rd.name(kommun)} väntas **{pct(out[out.skolkommun == kommun].students.sum() / max(out.students.sum(), 1))}** "
            f"börja i en skola i kommunen {year}. Kommunens skolor väntas ta emot **{fmt(inn.students.sum())}** elever i åk 1, "
            f"varav {pct(inn[inn.home_kod != kommun].students.sum() / max(inn.students.sum(), 1))} från andra kommuner "
            f"({basis} flöden).")


def text_model(rd) -> str:
    m = rd.meta
    return (f"Avståndsavtagande β = {fmt(m['beta_per_km'], 3)} per km, kalibrerat så att {pct(m['syd_intake_share'])} av eleverna "
            f"i kluster syds skolor bor i klustret (publicerat: 79 %). Av klustrets egna elever studerar {pct(m['syd_resident_share'])} "
            f"i klustret. Fördelning: egen kommuns skolor {pct(m['split']['own'])}, annan kommuns {pct(m['split']['other_municipal'])}, "
            f"fristående {pct(m['split']['independent'])} (publicerat 2018: 31 / 29 / 40 %). Andel antagna som kopplats till en "
            f"skolenhet: {pct(m['mapped_share_admitted'], 1)}.")


def text_intake_backtest(rd) -> str:
    s = rd.meta["intake_scores"]
    return (f"Återprognos av antagna per skolenhet ett år framåt ({', '.join(map(str, s['intake_years']))}): medelfel "
            f"{fmt(s['intake_mape_unit_1y'], 1)} % per enhet, {fmt(s['intake_mape_municipality_1y'], 1)} % per kommun. "
            f"Överkapacitetsflaggornas Brier-poäng {fmt(s.get('brier_overcapacity', float('nan')), 3)} mot "
            f"{fmt(s.get('brier_base_rate', float('nan')), 3)} för basfrekvensen (lägre är bättre)."
            + (f" Fulla skolenheter fyller inte alltid sina platser: av {fmt(s['full_units_n'])} enheter som prognosen "
               f"såg som fulla hamnade {pct(s['full_units_below_theta'])} under 90 % beläggning, och simuleringen "
               "räknar med det." if s.get("full_units_n") else ""))


def text_coverage(rd) -> str:
    cov = rd.meta["coverage"]
    return (f"80 %-intervallen har i efterhand träffat {fmt(cov.get('coverage_80', float('nan')))} % av utfallen "
            f"och 95 %-intervallen {fmt(cov.get('coverage_95', float('nan')))} %.")


def text_sources(rd, hypothetical: bool = False) -> str:
    basis = "observerade" if rd.meta["flows_basis"] == "observed" else "skattade"
    return (("**Hypotetiskt scenario** – " if hypothetical else "")
            + "**Skattat eller observerat.** Befolkning och antagning är observerade (SCB/Kolada, Skolverket, "
            "Gymnasieantagningen). Enskilda åldrar utom 2019 är skattade ur åldersgrupper; elevflöden mellan kommuner "
            f"och skolor är **{basis}**; sannolikheter kommer från simulering av prognosernas egna historiska fel. "
            "Antaganden: [docs/assumptions.md](../docs/assumptions.md), metoder: [docs/methods.md](../docs/methods.md).")


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

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
        b = rd.boundaries[rd.boundaries.kommun_kod == highlight]
        for w in b.geometry_wkt:
            g = wkt.loads(w)
            for poly in getattr(g, "geoms", [g]):
                xy = np.asarray(poly.exterior.coords)
                ax.plot(xy[:, 0], xy[:, 1], color="k", lw=1.2)
    sc = ax.scatter(u.loc[r.area, "x"], u.loc[r.area, "y"], s=np.sqrt(r.places) * 4, c=r.p, cmap="YlOrRd",
                    vmin=0, vmax=1, edgecolor="0.3", linewidth=0.4, alpha=0.9)
    cb = fig.colorbar(sc, ax=ax, shrink=0.7)
    cb.set_label("sannolikhet för överkapacitet" if color_by == "p_overcapacity" else "sannolikhet för brist")
    ax.set_title(f"Skolenheter {year}: platser (storlek) och risk (färg)")
    _source(fig, SRC_ADM + " Värmdö gymnasium placerad i Värmdö (publicerad punkt ligger fel).")
    return fig


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
    if c is not None:
        shown = f.head(top)
        for code, n in shown.items():
            ax.plot([c.x, u.at[code, "x"]], [c.y, u.at[code, "y"]], color="tab:blue",
                    lw=0.5 + 6 * n / max(shown.max(), 1), alpha=0.6)
        ax.scatter(u.loc[shown.index, "x"], u.loc[shown.index, "y"], s=20, color="tab:blue", zorder=3)
        ax.scatter([c.x], [c.y], s=60, color="k", marker="*", zorder=4)
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


def table_flags(rd, level: str | None = None, area_filter=None, year: int | None = None, limit: int = 40) -> pd.DataFrame:
    """Risk flags (overcapacity and shortage) with probabilities and costs, in Swedish."""
    r = rd.risk
    if year is not None:
        r = r[r.year == year]
    if level:
        r = r[r.level == level]
    if area_filter is not None:
        r = r[area_filter(r)]
    r = r[r.flag_overcapacity | r.flag_shortage].copy()
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").skola
    r["namn"] = [u.get(a, a) if lv == "enhet" else (rd.name(a) if lv == "kommun" else a)
                 for a, lv in zip(r.area, r.level)]
    r["flagga"] = np.where(r.flag_overcapacity, "Överkapacitet", "Brist")
    r["sannolikhet"] = np.where(r.flag_overcapacity, r.p_overcapacity, r.p_shortage)
    r = r.sort_values(["sannolikhet", "cost_empty_sek"], ascending=False).head(limit)
    return pd.DataFrame({
        "År": r.year, "Nivå": r.level.map(LEVEL_SV), "Namn": r.namn, "Programgrupp": r.group.map(GROUP_SV),
        "Flagga": r.flagga, "Sannolikhet": r.sannolikhet.map(pct), "Platser": r.places.map(fmt),
        "Efterfrågan": r.demand.map(fmt), "Beläggning": r.utilisation.map(pct),
        "Tomma platser (väntevärde)": r.empty_places.map(fmt),
        "Kostnad tomma platser, mnkr/år": (r.cost_empty_sek / 1e6).map(lambda v: fmt(v, 1)),
    }).reset_index(drop=True)


def table_scorecard(rd, codes=None) -> pd.DataFrame:
    s = rd.scorecard
    if codes is not None:
        s = s[s.kommun_kod.isin(list(codes))]
    return pd.DataFrame({
        "Kommun": s.kommun_kod.map(rd.name), "Medelfel 1 år, %": s.mape_1y.map(lambda v: fmt(v, 1)),
        "Medelfel 3 år, %": s.mape_3y.map(lambda v: fmt(v, 1)),
        f"Fel för {rd.meta.get('scorecard_outcome_year')}, prognos 1 år före, %": s.latest_1y.map(lambda v: fmt(v, 1)),
        f"Fel för {rd.meta.get('scorecard_outcome_year')}, prognos 3 år före, %": s.latest_3y.map(lambda v: fmt(v, 1)),
    }).reset_index(drop=True)


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

"""Static figures for the reports (matplotlib; maps in SWEREF 99 TM).

Every ``plot_`` function returns a matplotlib Figure with Swedish labels and the sources under it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import Polygon as MplPolygon
from shapely import wkt

from .labels import GROUP_SV, LEVEL_SV, SRC_ADM, SRC_POP, fmt, pct

plt.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "font.size": 10, "axes.spines.top": False,
                     "axes.spines.right": False})


def _source(fig, text):
    fig.text(0.01, 0.005, text, fontsize=7.5, color="0.35", ha="left", va="bottom", wrap=True)
    fig.subplots_adjust(bottom=0.16)


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



def plot_places_needed(rd, level: str, area: str, title: str | None = None):
    """Observed beside forecast, per programme group: admitted and places in the admission years,
    demand (80% interval) and places in the forecast years, with the line between them labelled."""
    from .tables import _rd_needed, latest_observed_year
    n = _rd_needed(rd)
    n = n[(n.level == level) & (n.area == area)]
    last = latest_observed_year(rd)
    groups = [g for g in ("HF", "YP") if g in set(n.group)]
    if not groups:                 # no gymnasium of its own (Ekerö, Vaxholm, Gnesta): the text says so
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(10, 3.8), squeeze=False)
    for ax, g in zip(axes[0], groups):
        d = n[n.group == g].sort_values("year")
        o, f = d[d.kind == "utfall"], d[d.kind == "prognos"]
        ax.plot(d.year, d.places, color="0.45", lw=1.5, drawstyle="steps-mid", label="platser")
        ax.plot(o.year, o.admitted, "o-", color="0.1", lw=2, ms=4, label="antagna (utfall)")
        ax.fill_between(f.year, f.demand_lo80, f.demand_hi80, color="tab:blue", alpha=0.2, lw=0)
        ax.plot(f.year, f.demand, "o-", color="tab:blue", lw=2, ms=3, label="efterfrågan, prognos (80 %)")
        ax.axvline(last + 0.5, color="k", lw=0.8, ls="--")
        ymax = float(np.nanmax(np.r_[d.places, d.admitted.fillna(0), d.demand_hi80.fillna(0)])) * 1.12
        ax.text(last + 0.4, ymax, "utfall", ha="right", va="top", fontsize=8)
        ax.text(last + 0.6, ymax, "prognos", ha="left", va="top", fontsize=8)
        ax.set_ylim(0, ymax * 1.02)
        ax.set_title(GROUP_SV[g])
        ax.set_ylabel("elever i åk 1")
    axes[0][0].legend(fontsize=8, frameon=False, loc="lower left")
    fig.suptitle(title or "Platser, antagna och efterfrågan")
    _source(fig, SRC_ADM + f" Utfall: slutantagningen t.o.m. {last}. Prognos: väntevärde och 80 % intervall.")
    return fig

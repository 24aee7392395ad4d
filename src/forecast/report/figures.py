"""Static figures for the reports (matplotlib; maps in SWEREF 99 TM).

Every ``plot_`` function returns a :class:`ReportFigure`: Swedish labels, the sources under it,
Swedish numbers on the axes (space between thousands, decimal comma) and a Swedish description
of what it shows (``alt_text``). The description is the figure's ``repr``, so it travels as the
``text/plain`` of the notebook output and the report template makes it the image's alt text.

Sizes: 8 inches wide at 150 dpi (1 200 px), shown at the full text width on screen and on an
A4 page (about 6.7 inches), where 10 pt text prints at about 8.4 pt.
"""
from __future__ import annotations

import re

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.ticker import FuncFormatter, MaxNLocator
from shapely import wkt

from .labels import GROUP_SV, LEVEL_SV, SRC_ADM, SRC_POP, fmt, pct

DPI = 150
WIDTH = 8.0                      # inches: the full text width (scaled to the page or the screen)
SOURCE_SIZE = 8.5                # points: the source line under every figure
NAME_SIZE = 7.5                  # points: names on maps
_HALO = [pe.withStroke(linewidth=2.5, foreground="white")]

plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 10, "axes.titlesize": 11,
                     "axes.spines.top": False, "axes.spines.right": False, "axes.formatter.use_locale": False})


# Tables in the report pages are shown whole: pandas cuts a cell after 50 characters ("Fredrika
# Bremergymnasiet Högskoleförberedande ...") and a table after 60 rows by default. Set here, with
# the figure style, because every report notebook imports this module before it shows anything.
pd.set_option("display.max_colwidth", None)
pd.set_option("display.max_rows", 500)


class ReportFigure(Figure):
    """A matplotlib Figure that carries a Swedish description of itself (the image's alt text)."""

    alt_text: str = ""

    def __repr__(self) -> str:
        return self.alt_text or super().__repr__()


def _figure(w: float, h: float, **kw):
    """``plt.subplots`` at the report size and resolution, as a :class:`ReportFigure`."""
    return plt.subplots(figsize=(w, h), dpi=DPI, FigureClass=ReportFigure, **kw)


def _describe(fig, text: str):
    """Attach the Swedish description (alt text) and return the figure."""
    fig.alt_text = " ".join(text.split())
    return fig


def _swedish_axis(axis, decimals: int = 0) -> None:
    """Tick labels in the Swedish number format (1 000 000; 0,5)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, decimals)))


def _swedish_axis_g(axis) -> None:
    """Tick labels with as many decimals as they need, with a decimal comma."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace(".", ",").replace("-", "−")))


def _source(fig, text, bottom: float = 0.16):
    fig.text(0.01, 0.005, text, fontsize=SOURCE_SIZE, color="0.25", ha="left", va="bottom", wrap=True)
    fig.subplots_adjust(bottom=bottom)


def _unit_name(name: str) -> str:
    """A school unit's name without a trailing unit code ("Kärrtorps gymnasium 37839488")."""
    return re.sub(r"\s+\d{6,}$", "", str(name)).strip()


def _list(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1] if items else "inga"


def plot_cohort(rd, area: str, title: str | None = None):
    """History and projection of 16–18-year-olds (with 80/95% intervals) and 16-year-olds; the
    observed 16-year-olds too when the run data hold them (``history16``)."""
    fig, ax = _figure(WIDTH, 4.2)
    a = rd.ages[(rd.ages.area == area)]
    if area in ("01", "region"):
        codes = rd.municipalities.kommun_kod if area == "region" else [c for c in rd.municipalities.kommun_kod if c.startswith("01")]
        codes = list(codes)
    else:
        codes = [area]

    def observed(frame):
        s = frame[frame.kommun_kod.isin(codes)].groupby("year").population.sum()
        return s[s.index >= 2005]

    hh = observed(rd.history16_18)
    ax.plot(hh.index, hh.values, color="0.15", lw=2, label="16–18 år, utfall")
    h16 = getattr(rd, "history16", None)
    if h16 is not None and len(h16):
        o16 = observed(h16)
        ax.plot(o16.index, o16.values, color="tab:orange", lw=2, ls=(0, (1, 1)), label="16 år, utfall")
    for measure, color, label in (("age16_18", "tab:blue", "16–18 år, prognos"), ("age16", "tab:orange", "16 år (nybörjarkull), prognos")):
        d = a[a.measure == measure].sort_values("year")
        ax.fill_between(d.year, d.lo95, d.hi95, color=color, alpha=0.12, lw=0)
        ax.fill_between(d.year, d.lo80, d.hi80, color=color, alpha=0.25, lw=0)
        ax.plot(d.year, d.population, color=color, lw=2, label=label)
    base = rd.meta["base_year"]
    ax.axvline(base + 0.5, color="0.5", lw=0.8, ls="--")
    ax.annotate("utfall  |  prognos", (base + 0.5, 0.02), xycoords=("data", "axes fraction"), ha="center",
                fontsize=8.5, color="0.3", path_effects=_HALO)
    ax.set_ylabel("antal personer")
    _swedish_axis(ax.yaxis)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
    place = rd.name(area) if area not in ("01", "region") else {"01": "Stockholms län", "region": "antagningsregionen"}[area]
    ax.set_title(title or f"Gymnasieåldrar: {place}")
    ax.legend(loc="upper left", fontsize=8.5, frameon=False, ncols=2)
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.12)
    _source(fig, SRC_POP + " Skuggat: 80 % och 95 % prognosintervall från prognosernas egna historiska fel.")
    d = a[a.measure == "age16_18"].sort_values("year")
    desc = (f"Linjediagram: antal 16–18-åringar i {place}, utfall {int(hh.index.min())}–{int(hh.index.max())} "
            f"och prognos {int(d.year.min())}–{int(d.year.max())}, samt 16-åringar (nybörjarkullen).")
    if len(d):
        last = d.iloc[-1]
        desc += (f" Utfall {int(hh.index.max())}: {fmt(hh.iloc[-1])}. Prognos {int(last.year)}: {fmt(last.population)} "
                 f"(80 % intervall {fmt(last.lo80)}–{fmt(last.hi80)}).")
    return _describe(fig, desc)


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
        _swedish_axis_g(cb.ax.yaxis)
    return pc


def _name_municipalities(ax, rd, codes=None, size: float = NAME_SIZE, avoid: bool = False, **kw) -> None:
    """Each municipality's name at a point inside it (white halo so it reads on any colour).
    ``avoid``: names that would overlap a placed one move up or down (largest areas placed first),
    with a thin leader line to their municipality."""
    items = []
    for r in rd.boundaries.itertuples():
        if codes is not None and r.kommun_kod not in codes:
            continue
        g = wkt.loads(r.geometry_wkt)
        g = max(getattr(g, "geoms", [g]), key=lambda p: p.area)
        items.append((g.area, g.representative_point(), rd.name(r.kommun_kod)))
    ax.apply_aspect()
    to_pt = 72 / ax.figure.dpi
    boxes: list = []
    line = size * 1.3
    for _, p, name in sorted(items, key=lambda t: -t[0]):
        dy = 0.0
        if avoid:
            px, py = ax.transData.transform((p.x, p.y)) * to_pt
            w = size * 0.58 * len(name) + 2
            for dy in (0, line, -line, 2 * line, -2 * line, 3 * line, -3 * line, 4 * line, -4 * line):
                b = (px - w / 2, py + dy - line / 2, px + w / 2, py + dy + line / 2)
                if all(b[2] < o[0] or b[0] > o[2] or b[3] < o[1] or b[1] > o[3] for o in boxes):
                    break
            boxes.append(b)
        ax.annotate(name, (p.x, p.y), xytext=(0, dy), textcoords="offset points", ha="center", va="center",
                    fontsize=size, color="0.1", path_effects=_HALO, annotation_clip=True,
                    arrowprops=dict(arrowstyle="-", color="0.3", lw=0.5, shrinkA=0, shrinkB=0) if dy else None, **kw)


def plot_growth_map(rd, year: int):
    """Choropleth: change in 16–18-year-olds from the base year to ``year``, percent, named."""
    base = rd.history16_18[rd.history16_18.year == rd.meta["base_year"]].set_index("kommun_kod").population
    fut = rd.ages[(rd.ages.area_type == "kommun") & (rd.ages.measure == "age16_18") & (rd.ages.year == year)]
    fut = fut.set_index("area").population
    growth = {c: 100 * (fut[c] / base[c] - 1) for c in fut.index if c in base.index and base[c] > 0}
    lim = max(5.0, np.nanmax(np.abs(list(growth.values()))))
    fig, ax = _figure(WIDTH, 8.0)
    _draw_boundaries(ax, rd, growth, vmin=-lim, vmax=lim, label=f"förändring {rd.meta['base_year']}–{year}, %")
    _name_municipalities(ax, rd, size=6.5, avoid=True)
    ax.set_title(f"16–18-åringar: förändring {rd.meta['base_year']}–{year} per kommun")
    _source(fig, SRC_POP + " Kartunderlag: kommungränser (generaliserade), SWEREF 99 TM.", bottom=0.07)
    ranked = sorted(growth.items(), key=lambda kv: kv[1], reverse=True)

    def named(items):
        return _list([f"{rd.name(c)} ({'+' if v >= 0 else '−'}{fmt(abs(v), 1)} %)" for c, v in items])

    return _describe(fig, f"Karta över antagningsregionens kommuner, färgade efter förändringen av antalet "
                          f"16–18-åringar från {rd.meta['base_year']} till {year} (blått minskning, rött ökning). "
                          f"Störst ökning: {named(ranked[:3])}. Minst: {named(ranked[-3:][::-1])}.")


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


def _label_points(ax, xs, ys, names, size: float = NAME_SIZE) -> None:
    """Names beside points without overlapping each other: each label tries the right, then the
    left of its point, then steps down a line at a time (with a leader line), in screen space."""
    fig = ax.figure
    to_pt = 72 / fig.dpi
    pts = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)])) * to_pt
    boxes: list = []
    line = size * 1.35

    def free(b):
        return all(b[2] < o[0] or b[0] > o[2] or b[3] < o[1] or b[1] > o[3] for o in boxes)

    for (px, py), n in sorted(zip(map(tuple, pts), names), key=lambda t: -t[0][1]):
        w = size * 0.56 * len(n) + 4
        side, dy, right = None, 0.0, True
        for k in range(12):
            dy = -k * line
            box_r = (px + 5, py + dy - line / 2, px + 5 + w, py + dy + line / 2)
            box_l = (px - 5 - w, py + dy - line / 2, px - 5, py + dy + line / 2)
            if free(box_r):
                side, right = box_r, True
                break
            if free(box_l):
                side, right = box_l, False
                break
        if side is None:
            side, dy, right = (px + 5, py - line / 2, px + 5 + w, py + line / 2), 0.0, True
        boxes.append(side)
        ax.annotate(n, ax.transData.inverted().transform((px / to_pt, py / to_pt)),
                    xytext=(5 if right else -5, dy), textcoords="offset points", fontsize=size,
                    ha="left" if right else "right", va="center", path_effects=_HALO, zorder=6,
                    arrowprops=dict(arrowstyle="-", color="0.4", lw=0.5, shrinkA=0, shrinkB=2) if dy else None)


def plot_units_map(rd, year: int, color_by: str = "p_overcapacity", highlight: str | None = None,
                   label_units: list | None = None, n_labels: int = 8):
    """Units as points sized by places and coloured by the overcapacity (or shortage) risk in
    ``year``. With ``highlight``, the map frames that municipality and names it. Named units:
    ``label_units`` (unit codes), else the ``n_labels`` with the highest risk (in the
    highlighted municipality, if any)."""
    r = rd.risk[(rd.risk.level == "enhet") & (rd.risk.year == year)]
    r = r.groupby("area").agg(places=("places", "sum"), placed=("placed", "sum"),
                              p=(color_by, "max")).reset_index()
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    r = r[r.area.isin(u.index)]
    risk_sv = "överkapacitet" if color_by == "p_overcapacity" else "brist"
    fig, ax = _figure(WIDTH, 8.0)
    _draw_boundaries(ax, rd)
    if highlight:
        bounds = _outline(ax, rd, highlight)
        _zoom(ax, [v for bd in bounds for v in bd[0::2]], [v for bd in bounds for v in bd[1::2]],
              margin_m=3000, min_span_m=20000)
        _name_municipalities(ax, rd, codes=[highlight], size=11, weight="bold", alpha=0.6)
    else:
        _name_municipalities(ax, rd, size=6.0, avoid=True, alpha=0.8)
    sc = ax.scatter(u.loc[r.area, "x"], u.loc[r.area, "y"], s=np.sqrt(r.places) * 4, c=r.p, cmap="YlOrRd",
                    vmin=0, vmax=1, edgecolor="0.3", linewidth=0.4, alpha=0.9, zorder=3)
    if label_units is None:
        cand = r.assign(kommun=r.area.map(u.kommun_kod))
        if highlight:      # the municipality's own units, riskiest first
            label_units = list(cand[cand.kommun == highlight].nlargest(n_labels, "p").area)
        else:              # the riskiest flagged units of the region
            label_units = list(cand[cand.p >= rd.meta.get("flag_probability", 0.5)].nlargest(n_labels, "p").area)
    label_units = [c for c in label_units if c in u.index]
    if label_units:
        _label_points(ax, u.loc[label_units, "x"], u.loc[label_units, "y"],
                      [_unit_name(u.at[c, "skola"]) for c in label_units])
    planned = u[u.owner_type == "planerad"]
    if len(planned):   # a scenario's new schools: marked, so the reader sees what is hypothetical
        ax.scatter(planned.x, planned.y, s=260, marker="*", facecolor="none", edgecolor="k", linewidth=1.2, zorder=4)
        for p in planned.itertuples():
            ax.annotate(f"{_unit_name(p.skola)}\n(planerad, hypotetisk)", (p.x, p.y), xytext=(-10, -14),
                        textcoords="offset points", fontsize=8, ha="right", va="top", path_effects=_HALO, zorder=6)
    cb = fig.colorbar(sc, ax=ax, shrink=0.7)
    cb.set_label(f"sannolikhet för {risk_sv}")
    cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: pct(v)))
    where = f" i {rd.name(highlight)}" if highlight else ""
    ax.set_title(f"Skolenheter{where} {year}: platser (storlek) och risk för {risk_sv} (färg)")
    _source(fig, SRC_ADM + " Värmdö gymnasium placerad i Värmdö (publicerad punkt ligger fel). "
            "Namngivna: enheterna med högst risk.", bottom=0.07)
    shown = r if not highlight else r[r.area.map(u.kommun_kod) == highlight]
    flagged = int((shown.p >= rd.meta.get("flag_probability", 0.5)).sum())
    desc = (f"Karta över skolenheter{where or ' i antagningsregionen'} {year}. Varje enhet är en punkt, "
            f"storleken visar antalet platser och färgen sannolikheten för {risk_sv}. "
            f"{fmt(len(shown))} enheter, varav {fmt(flagged)} med sannolikhet minst "
            f"{pct(rd.meta.get('flag_probability', 0.5))}.")
    if label_units:
        desc += " Namngivna enheter: " + _list([_unit_name(u.at[c, "skola"]) for c in label_units]) + "."
    if len(planned):
        desc += " Stjärna: planerad, hypotetisk skola (" + _list([_unit_name(s) for s in planned.skola]) + ")."
    return _describe(fig, desc)


def _zoom(ax, xs, ys, margin_m: float = 8000, min_span_m: float = 40000) -> None:
    """Frame the map on the points (metres, SWEREF 99 TM) with a margin, keeping it square
    and at least ``min_span_m`` wide, so one municipality's flows are not lost in the county."""
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, min_span_m) + 2 * margin_m
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax.set_xlim(cx - span / 2, cx + span / 2)
    ax.set_ylim(cy - span / 2, cy + span / 2)


FLOW_KINDS = {   # kind → (title words, what it means)
    "wanted": ("Önskade skolor", "vill gå i (före platstaket)"),
    "placed": ("Placerade elever", "väntas börja i (efter platstaket)"),
}


def plot_flows(rd, home: str, kind: str = "placed", top: int = 12, n_labels: int = 6):
    """Flow lines from one municipality's 15-year-olds to the units its students choose
    (``kind`` 'wanted': before the capacity ceiling; 'placed': after it); the largest are named."""
    f = rd.flows[(rd.flows.home_kod == home) & (rd.flows.kind == kind)]
    f = f.groupby("skolenhetskod").students.sum().sort_values(ascending=False)
    u = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod")
    f = f[f.index.isin(u.index)]
    b = rd.boundaries[rd.boundaries.kommun_kod == home]
    c = wkt.loads(b.geometry_wkt.iloc[0]).centroid if len(b) else None
    words, meaning = FLOW_KINDS.get(kind, (kind, ""))
    color = "tab:purple" if kind == "wanted" else "tab:blue"
    fig, ax = _figure(WIDTH, 8.0)
    _draw_boundaries(ax, rd)
    bounds = _outline(ax, rd, home)
    shown = f.head(top)
    if c is not None:
        for code, n in shown.items():
            ax.plot([c.x, u.at[code, "x"]], [c.y, u.at[code, "y"]], color=color,
                    lw=0.5 + 6 * n / max(shown.max(), 1), alpha=0.6)
        ax.scatter(u.loc[shown.index, "x"], u.loc[shown.index, "y"], s=20, color=color, zorder=3)
        ax.scatter([c.x], [c.y], s=60, color="k", marker="*", zorder=4)
        # frame: the municipality and the schools its students go to
        _zoom(ax, [c.x, *u.loc[shown.index, "x"], *(v for bd in bounds for v in bd[0::2])],
              [c.y, *u.loc[shown.index, "y"], *(v for bd in bounds for v in bd[1::2])])
        _name_municipalities(ax, rd, size=7, alpha=0.7)
        big = shown.head(n_labels)
        _label_points(ax, u.loc[big.index, "x"], u.loc[big.index, "y"],
                      [f"{_unit_name(u.at[k, 'skola'])} ({fmt(v)})" for k, v in big.items()])
    share = shown.sum() / max(f.sum(), 1e-9)
    year = rd.meta["years"][0]
    ax.set_title(f"{words}: elever från {rd.name(home)}, {year}\n"
                 f"de {top} största skolorna, {pct(share)} av eleverna", fontsize=11)
    _source(fig, SRC_ADM + f" Flöden {'observerade' if rd.meta['flows_basis'] == 'observed' else 'skattade'} "
            "(rumslig interaktionsmodell), inte uppmätta. Linjens bredd: antal elever; namngivna: de största, "
            "med antal elever i åk 1.", bottom=0.07)
    desc = (f"Karta: {words.lower()} – skolorna som eleverna från {rd.name(home)} {meaning} {year}. "
            f"Linjer från kommunen till de {len(shown)} största skolorna, {pct(share)} av eleverna.")
    if len(shown):
        desc += " Störst: " + _list([f"{_unit_name(u.at[k, 'skola'])} ({fmt(v)} elever)"
                                     for k, v in shown.head(3).items()]) + "."
    return _describe(fig, desc)


def plot_places_vs_demand(rd, level: str = "kluster", year: int | None = None):
    """Places (bars) and demand with its 80% interval per area, one panel per programme group;
    areas in the same order in both panels (by total places) and named once."""
    year = year or rd.meta["years"][min(4, len(rd.meta["years"]) - 1)]
    r = rd.risk[(rd.risk.level == level) & (rd.risk.year == year)].copy()
    r["namn"] = r.area.map(lambda a: rd.name(a) if level == "kommun" else a)
    order = r.groupby("namn").places.sum().sort_values().index.tolist()
    n = len(order)
    fig, axes = _figure(WIDTH, max(3.8, 0.27 * n + 1.6), ncols=2, sharey=True)
    y = np.arange(n)
    for ax, g in zip(axes, ("HF", "YP")):
        d = r[r.group == g].set_index("namn").reindex(order)
        ax.barh(y, d.places.fillna(0), color="0.8", label="platser")
        ax.errorbar(d.demand, y, xerr=[(d.demand - d.demand_lo80).clip(lower=0), (d.demand_hi80 - d.demand).clip(lower=0)],
                    fmt="o", color="tab:blue", ms=4, lw=1, label="efterfrågan (80 % intervall)")
        ax.set_title(GROUP_SV[g])
        ax.set_xlabel("elever i åk 1")
        _swedish_axis(ax.xaxis)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.grid(axis="x", color="0.92", lw=0.6)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y, order, fontsize=8.5 if n > 15 else 10)
    axes[0].set_ylim(-0.7, n - 0.3)
    axes[1].legend(fontsize=8.5, frameon=False, loc="lower right")
    fig.suptitle(f"Platser och efterfrågan per {LEVEL_SV[level].lower()}, {year}")
    _source(fig, SRC_ADM + " Platser: senaste antagningsåret, efter dubblettregeln.")
    fig.subplots_adjust(bottom=1.15 / fig.get_figheight(), top=1 - 0.75 / fig.get_figheight(), wspace=0.08)
    short = r[r.demand > r.places].sort_values("demand", ascending=False)
    desc = (f"Stapeldiagram per {LEVEL_SV[level].lower()} {year}, högskoleförberedande program och yrkesprogram: "
            f"platser (staplar) och väntad efterfrågan med 80 % intervall (punkter). {n} områden.")
    if len(short):
        desc += " Efterfrågan över platserna: " + _list([f"{a} {GROUP_SV[g].lower()}" for a, g in
                                                         zip(short.namn.head(5), short.group.head(5))]) + "."
    return _describe(fig, desc)


METHOD_SV = {"carry_forward": "framskrivning utan flyttningar", "linear": "linjär trend",
             "hamilton_perry": "kohortkvoter (Hamilton–Perry)", "shrunk": "kvoter krympta mot länet",
             "ensemble": "medelvärde av kvotmetoderna", "best": "vald metod (i realtid)"}


def plot_track_record(rd):
    a = rd.accuracy
    fig, axes = _figure(WIDTH, 4.0, ncols=2)
    names = METHOD_SV
    for m, g in a.groupby("method"):
        if m == "linear":
            continue
        axes[0].plot(g.horizon, g.mape, marker="o", ms=3, lw=2.5 if m == "best" else 1, label=names.get(m, m))
    axes[0].set_xlabel("år framåt")
    axes[0].set_ylabel("medelfel (MAPE), %")
    axes[0].set_title("Kommunernas 16–18-åringar: medelfel")
    axes[0].legend(fontsize=7.5, frameon=False)
    c = rd.county_accuracy
    for m, g in c.groupby("method"):
        if m in ("best", "carry_forward"):
            axes[1].plot(g.horizon, g.mape, marker="o", ms=3, label=names.get(m, m))
    axes[1].set_title("Länet: medelfel")
    axes[1].set_xlabel("år framåt")
    axes[1].legend(fontsize=7.5, frameon=False)
    for ax in axes:
        _swedish_axis_g(ax.yaxis)
        _swedish_axis_g(ax.xaxis)
    _source(fig, "Källa: gymnasieprognos, återprognoser från varje startår 2003– med bara de data som fanns då. "
            "Medelfel: genomsnittligt fel i procent (MAPE).")
    best = a[a.method == "best"].set_index("horizon").mape
    desc = ("Linjediagram: prognosernas genomsnittliga fel i procent efter antal år framåt, för kommunernas "
            "16–18-åringar per metod (vänster) och för länet (höger).")
    if len(best):
        desc += (f" Vald metod: {fmt(best.iloc[0], 1)} % fel {int(best.index[0])} år framåt, "
                 f"{fmt(best.iloc[-1], 1)} % {int(best.index[-1])} år framåt.")
    return _describe(fig, desc)


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
    fig, axes = _figure(WIDTH, 4.2, ncols=len(groups), squeeze=False)
    parts = []
    for ax, g in zip(axes[0], groups):
        d = n[n.group == g].sort_values("year")
        o, f = d[d.kind == "utfall"], d[d.kind == "prognos"]
        ax.plot(d.year, d.places, color="0.45", lw=1.5, drawstyle="steps-mid", label="platser")
        ax.plot(o.year, o.admitted, "o-", color="0.1", lw=2, ms=4, label="antagna (utfall)")
        ax.fill_between(f.year, f.demand_lo80, f.demand_hi80, color="tab:blue", alpha=0.2, lw=0)
        ax.plot(f.year, f.demand, "o-", color="tab:blue", lw=2, ms=3, label="efterfrågan, prognos (80 %)")
        ax.axvline(last + 0.5, color="k", lw=0.8, ls="--")
        ymax = float(np.nanmax(np.r_[d.places, d.admitted.fillna(0), d.demand_hi80.fillna(0)])) * 1.12
        ax.text(last + 0.4, ymax, "utfall", ha="right", va="top", fontsize=8.5)
        ax.text(last + 0.6, ymax, "prognos", ha="left", va="top", fontsize=8.5)
        ax.set_ylim(0, ymax * 1.02)
        ax.set_title(GROUP_SV[g])
        ax.set_ylabel("elever i åk 1")
        _swedish_axis(ax.yaxis)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
        if len(f):
            e = f.iloc[-1]
            parts.append(f"{GROUP_SV[g].lower()}: {fmt(e.places)} platser och efterfrågan {fmt(e.demand)} "
                         f"(80 % intervall {fmt(e.demand_lo80)}–{fmt(e.demand_hi80)}) {int(e.year)}")
    axes[0][0].legend(fontsize=8.5, frameon=False, loc="lower left")
    fig.suptitle(title or "Platser, antagna och efterfrågan")
    _source(fig, SRC_ADM + f" Utfall: slutantagningen t.o.m. {last}. Prognos: väntevärde och 80 % intervall.")
    fig.subplots_adjust(top=0.85, wspace=0.3)
    desc = (f"Linjediagram per programgrupp: platser och antagna elever i åk 1 till och med {last} (utfall), "
            f"därefter platser och väntad efterfrågan med 80 % intervall (prognos); en streckad linje skiljer dem.")
    if parts:
        desc += " Sista prognosåret, " + _list(parts) + "."
    return _describe(fig, desc)

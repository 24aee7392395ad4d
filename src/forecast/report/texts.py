"""Swedish sentences for the reports (Markdown strings the notebooks display).

Kept in the package so the notebooks only narrate.
"""
from __future__ import annotations

import pandas as pd

from .labels import fmt, pct


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


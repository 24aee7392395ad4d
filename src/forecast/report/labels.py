"""Swedish words and numbers shared by the report's figures, tables and texts.

Sources lines, programme-group and level names, and the Swedish number format (a no-break space
as the thousands separator and before %, comma as the decimal mark).
"""
from __future__ import annotations

import numpy as np

SRC_POP = "Källa: SCB/Kolada (befolkning 31 dec), Skolverket (elever per årskurs); prognos: gymnasieprognos."
SRC_ADM = ("Källa: Gymnasieantagningen (slutantagning), Skolverket (skolenheter, kostnader); "
           "flöden skattade med gymnasieprognos.")
GROUP_SV = {"HF": "Högskoleförberedande", "YP": "Yrkesprogram"}
LEVEL_SV = {"enhet": "Skolenhet", "kommun": "Kommun", "kluster": "Kluster", "programgrupp": "Programgrupp"}


NBSP = "\u00a0"   # no-break space: a number never wraps at its thousands separator or before its %


def fmt(x, decimals=0) -> str:
    """Swedish number format: a no-break space as thousands separator (a number never breaks
    across lines), comma as decimal mark, a real minus sign (−)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    s = f"{x:,.{decimals}f}".replace(",", NBSP).replace(".", ",").replace("-", "\u2212")
    return "0" if s.lstrip("\u2212").strip("0,") == "" and decimals == 0 else s


def signed(x, decimals=0) -> str:
    """A change or a need with its sign: '+75', '−20', '0'."""
    s = fmt(x, decimals)
    return s if s.startswith(("\u2212", "–")) or s.strip("0,") == "" else "+" + s


def pct(x, decimals=0) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{fmt(100 * x, decimals)}{NBSP}%"


def _area_name(rd, area: str, level: str, unit_names=None) -> str:
    """How a risk row's area reads: a unit's or municipality's name, a cluster, the whole region."""
    if level == "enhet":
        return unit_name(unit_names.get(area, area)) if unit_names is not None else area
    if level == "kommun":
        return rd.name(area)
    return "hela regionen" if level == "programgrupp" else area



# Swedish names for the code words a reader must never see (issue 12, "Words")
METHOD_SV = {"carry_forward": "framskrivning utan flyttningar", "linear": "linjär trend",
             "hamilton_perry": "kohortkvoter (Hamilton–Perry)", "shrunk": "kohortkvoter krympta mot länet",
             "ensemble": "medelvärde av kvotmetoderna", "best": "vald metod (vald i realtid)"}
MIGRATION_SV = {"low": "låg flyttning", "main": "huvudalternativ", "high": "hög flyttning"}
RULE_SV = {"mean": "medelvärdet av de observerade åren", "last": "senaste observerade året",
           "damped": "dämpad trend (halva den genomsnittliga årliga förändringen)"}
FORECASTER_SV = {"model": "prognosmodellen", "persistence": "samma som i fjol",
                 "persistence_growth": "samma som i fjol × kullens förändring",
                 "persistence_capped": "samma som i fjol, högst årets platser",
                 "base_rate": "basfrekvensen", "persistence_calibrated": "kalibrerad persistens",
                 "persistence_01": "samma som i fjol (0 eller 1)"}
INTAKE_LEVEL_SV = {"unit_group": "skolenhet × programgrupp", "unit": "skolenhet", "municipality": "skolkommun",
                   "cluster": "kluster", "region": "hela regionen"}
VARIANT_SV = {"places_unknown": "platserna okända (senast kända platser förs fram)",
              "places_announced": "årets platser kända (som vid vårens dialog)"}
# one plain Swedish sentence per measure, shown where the measure is used
MEASURE_SV = {
    "mape": "MAPE är det genomsnittliga felet i procent, utan hänsyn till tecken.",
    "medape": "MedAPE är medianfelet i procent: hälften av prognoserna felar mindre än så.",
    "wape": "WAPE är det sammanlagda felet i procent av de sammanlagda antagna, så stora enheter väger tyngre.",
    "malpe": "MALPE är det genomsnittliga felet med tecken: positivt betyder att prognosen i regel var för hög.",
    "bias": "Snedvridning är det genomsnittliga felet med tecken: positivt betyder för höga prognoser.",
    "brier": "Brier-poängen är det genomsnittliga kvadratfelet för sannolikheterna (0 är perfekt, lägre är bättre).",
    "skill": "Förbättring är hur mycket mindre WAPE prognosen har än den bästa enkla jämförelsen; "
             "negativ betyder att den enkla jämförelsen var bättre.",
    "expected": "Väntevärdet är genomsnittet över alla simulerade utfall.",
    "kappa": "κ styr hur mycket små kommuners kvoter dras mot länets (större κ: mer mot länet).",
    "interval80": "Ett 80 % intervall ska innehålla utfallet i fyra fall av fem.",
}


def method_sv(code: str) -> str:
    return METHOD_SV.get(code, code)


def unit_name(name: str) -> str:
    """A unit's name without a trailing unit code ("Kärrtorps gymnasium 37839488" → "Kärrtorps gymnasium")."""
    import re
    return re.sub(r"\s*\(?\b\d{8}\b\)?\s*$", "", str(name)).strip() or str(name)


def round_people(x: float) -> int:
    """A forecast number rounded as it should be read: to 5 below 200, to 10 above."""
    step = 5 if abs(x) < 200 else 10
    return int(step * round(x / step))

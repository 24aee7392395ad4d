"""Programme codes of the admission files: GY11 study-path codes and, from admission 2025, GY25 codes.

A study-path code starts with the programme's two letters (``EKEKO`` = Ekonomiprogrammet,
inriktning ekonomi). The GY25 reform (from 1 July 2025) keeps the two-letter programme codes of
the surviving programmes and writes them with a ``25`` suffix (``EK25``, ``SA25``; the
planned-educations snapshot already uses that style); it closes Hantverksprogrammet (HV) and opens
Frisör- och stylistprogrammet (FR), and turns some former orientations into nationally recruiting
vocational educations with their own letters (florist, finsnickeri, guldsmed, textil, …).

:func:`classify_codes` maps any code to (programme code, programme group) and **never stops on an
unknown code**: a two-letter prefix that is not in :data:`PROGRAMMES` is classified from the
study-path text (the name of the programme) and reported, so next year's file drops in.
"""
from __future__ import annotations

import re

import pandas as pd

# code -> (group, Swedish name). HF: university-preparatory, YP: vocational (national programmes);
# IB, VI (fourth technical year) and IM (introduction programmes) are not national programmes (A3).
PROGRAMMES: dict[str, tuple[str, str]] = {
    "EK": ("HF", "Ekonomiprogrammet"), "ES": ("HF", "Estetiska programmet"),
    "HU": ("HF", "Humanistiska programmet"), "NA": ("HF", "Naturvetenskapsprogrammet"),
    "SA": ("HF", "Samhällsvetenskapsprogrammet"), "TE": ("HF", "Teknikprogrammet"),
    "BA": ("YP", "Bygg- och anläggningsprogrammet"), "BF": ("YP", "Barn- och fritidsprogrammet"),
    "EE": ("YP", "El- och energiprogrammet"), "FS": ("YP", "Försäljnings- och serviceprogrammet"),
    "FT": ("YP", "Fordons- och transportprogrammet"), "HA": ("YP", "Handels- och administrationsprogrammet"),
    "HT": ("YP", "Hotell- och turismprogrammet"), "HV": ("YP", "Hantverksprogrammet"),
    "IN": ("YP", "Industritekniska programmet"), "NB": ("YP", "Naturbruksprogrammet"),
    "RL": ("YP", "Restaurang- och livsmedelsprogrammet"), "VF": ("YP", "VVS- och fastighetsprogrammet"),
    "VO": ("YP", "Vård- och omsorgsprogrammet"),
    # nationally approved vocational variants (GY11): flight, marine, shipping, professional dance
    "FX": ("YP", "Flygteknik"), "MX": ("YP", "Marinteknik"), "SX": ("YP", "Sjöfart"),
    "YD": ("YP", "Yrkesdansare"),
    # GY25: the new programme and nationally recruiting vocational educations seen in the
    # planned-educations snapshot (June 2026)
    "FR": ("YP", "Frisör- och stylistprogrammet"), "FL": ("YP", "Florist"), "FI": ("YP", "Finsnickeri"),
    "GU": ("YP", "Guldsmed"), "TA": ("YP", "Textil"), "SJ": ("YP", "Sjöfart"), "MA": ("YP", "Marinteknik"),
    "YR": ("YP", "Yrkesdansare"),
    "IB": ("IB", "International Baccalaureate"), "VI": ("VI", "Vidareutbildning (fjärde tekniskt år)"),
    "IM": ("IM", "Introduktionsprogram"),
}
SPECIAL_VARIANTS = {"FX", "MX", "SX", "YD", "FL", "FI", "GU", "TA", "SJ", "MA", "YR"}
GY25 = re.compile(r"^[A-Z]{2}25")

_HF_WORDS = ("ekonomi", "estetisk", "humanistisk", "naturvetenskap", "samhällsvetenskap", "teknikprogram")


def group_from_text(text: str) -> str:
    """Programme group from a study-path name, for codes not in :data:`PROGRAMMES`."""
    low = str(text).lower()
    if "introduktion" in low or low.startswith("im"):
        return "IM"
    if "baccalaureate" in low:
        return "IB"
    if any(w in low for w in _HF_WORDS):
        return "HF"
    return "YP"


def classify_codes(codes: pd.Series, texts: pd.Series) -> tuple[pd.Series, pd.Series, list[str]]:
    """(programme_code, programme_group, notes) for study-path codes (GY11 or GY25 style).

    Notes list every unknown prefix and the group its study-path text gave it."""
    prog = codes.str.strip().str[:2].str.upper()
    group = prog.map({c: g for c, (g, _) in PROGRAMMES.items()})
    notes = []
    unknown = group.isna()
    if unknown.any():
        guessed = texts[unknown].map(group_from_text)
        group = group.copy()
        group[unknown] = guessed
        for p, g in sorted(set(zip(prog[unknown], guessed))):
            example = texts[unknown & (prog == p)].iloc[0]
            notes.append(f"unknown programme code prefix {p!r} (e.g. {example!r}) classified as {g} "
                         "from its study-path name; add it to forecast.programmes.PROGRAMMES")
    return prog, group, notes


def is_gy25(codes: pd.Series) -> pd.Series:
    return codes.str.strip().str.upper().str.match(GY25)

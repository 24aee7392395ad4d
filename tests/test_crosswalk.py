"""Crosswalk rules on a hand-made case."""
import pandas as pd

from forecast.crosswalk import build_crosswalk, mapped_share, normalise_name

UNITS = pd.DataFrame([
    ("11111111", "Norra Real 82964090", "0180", 1000, True),
    ("22222222", "Rudbeck Naturvetenskap", "0163", 300, True),
    ("33333333", "Rudbeck Teknik", "0163", 100, True),
    ("44444444", "Viktor Rydberg gy. Odenplan", "0180", 500, True),
    ("55555555", "Closed school", "0180", None, False),
    ("66666666", "Viktor Rydberg Gymnasium Odenplan", "0180", 50, False),
], columns=["skolenhetskod", "skola", "kommun_kod", "pupils_latest", "has_coordinates"])


def adm(rows):
    return pd.DataFrame([{"year": 2023, "skola": s, "school_kommun_kod": k, "admitted": a, "in_totals": True}
                         for s, k, a in rows])


def test_rules_weights_and_share():
    a = adm([("Closed school", "0180", 10), ("Rudbeck", "0163", 40),
             ("Viktor Rydberg Gymnasium Odenplan", "0180", 20), ("Norra Reals gymnasium", "0180", 30),
             ("Okänd skola", "0180", 0)])
    manual = pd.DataFrame([{"skola": "Norra Reals gymnasium", "school_kommun_kod": "0180",
                            "skolenhetskod": "11111111", "note": "reviewed"}])
    cw = build_crosswalk(a, UNITS, manual).set_index(["skola", "skolenhetskod"])
    assert cw.loc[("Closed school", "55555555"), "rule"] == "exact"
    rud = cw.loc["Rudbeck"]
    assert set(rud.rule) == {"prefix"}
    assert rud.loc["22222222", "weight"] == 0.75 and rud.loc["33333333", "weight"] == 0.25
    # 'Gymnasium' and 'gy.' normalise alike; the unit with coordinates is preferred
    vr = cw.loc["Viktor Rydberg Gymnasium Odenplan"]
    assert list(vr.index) == ["44444444"] and vr.rule.iloc[0] == "normalised"
    assert cw.loc[("Norra Reals gymnasium", "11111111"), "rule"] == "manual"
    full = build_crosswalk(a, UNITS, manual)
    assert full[full.skola == "Okänd skola"].rule.iloc[0] == "unmatched"
    share = mapped_share(full).set_index("year")
    assert share.loc[2023, "share_mapped_pct"] == round(100 * 90 / 100, 2)


def test_normalise_name():
    assert normalise_name("Viktor Rydberg gy. Odenplan") == normalise_name("Viktor Rydberg Gymnasium Odenplan")
    assert normalise_name("S:t Eriks gymnasium") == normalise_name("St Eriks Gymnasiet")

"""How low can the 1-year error of 16–18-year-olds per municipality go? (issue 11)

    python benchmarks/cohort_floor.py           # readable summary
    python benchmarks/cohort_floor.py --json    # one JSON object (percent values)

The 16–18-year-olds of 31 Dec T + 1 are last year's 15-, 16- and 17-year-olds plus their net
migration during the year: B(T+1) = B(T) + P15(T) − P18(T) + M. The bands B are exact (Kolada);
P15 and P18 are not: they are split from the exact 13–15 and 16–18 bands (docs/methods.md §1),
exact only in 2019. So a forecast errs through the entrant (P15), the leavers (P18, "ageing"
16–17 → 17–18 needs them) and the migration M. The sections, each on the admission region's
28 municipalities:

- ``split_2019_leave_out``: 2019 rebuilt without its exact single ages, against them: what the
  split gets wrong, per age and for P15 and P18 as a share of the 16–18 band; for both proxies of
  ages 16–18 (``cohort``: last year's same cohorts, in use; ``grade9``: grade-9 counts 1–3 autumns
  earlier, the rule before; ``cohort15``: the same cohorts' 15-year-olds 1–3 years earlier).
- ``county_split``: the same for Stockholm County's sum, against SCB's county single ages
  (2009–2015, the years with grade counts and county single ages): signed error % per age and year.
- ``origin_2019``: the one origin with exact single ages. The 1-year error of the nested best
  method from the history with the exact 2019 ages (a perfect split: what is left is migration
  and the ratios) against the same origin and outcome from the split 2019 ages.
- ``decomposition_h1``: origins 2003–2021, the production nested best row (history with the
  proxy in use): the error as is; with the region's common error removed per origin (as if the
  region total were known: what is left is municipal noise); and with each municipality's
  migration ratio of the year replaced by the mean of its ratios in the two years before and
  after (an oracle that knows the municipality's migration level around T but not the year's own
  deviation). The last two look ahead on purpose: they are floors, not forecasts.
- ``common_shock_removed``: the same region-common-error oracle at horizons 1–10.
- ``proxies``: the nested best row of the cohort backtest (as in benchmarks/accuracy.py) for
  each proxy, and a nested choice among them at each origin (the lower mean 16–18 MAPE over
  horizons 1–5 on the origins before, the criterion of forecast.backtest.select_method).
- ``production``: the projection from the last population year (the reports' base) with each
  proxy: the region's 16-year-olds and their growth over two years, beside the growth of the
  same cohorts' grade-9 counts (issue 11: "the entrant cohort grew too fast").
- ``entrant_growth``: per origin T, the region's 16-year-olds' 1-year growth T → T + 1 as the
  nested best method projects it, for each proxy, beside the grade-9 growth of the same cohorts
  (autumn T − 1 → T).
- ``bias_correction``: a nested bias correction (forecast × exp(−mean log error) of the same
  horizon over the region's items whose outcomes were known at the origin, at least 3 origins)
  against the uncorrected row, on the same items.

Needs `make data` first. About 1 minute on 2 busy cores.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from forecast import scores
from forecast.backtest import (SELECTION_HORIZONS, _focus, _mape, accuracy_table, forecast_errors, run_backtest,
                               select_method)
from forecast.cohorts import OLDER_PROXIES, build_single_age_history
from forecast.data import load_table
from forecast.entrants import grade_counts
from forecast.files import print_result
from forecast.projection import CohortHistory, project_array, project_cohorts
from forecast.regions import ADMISSION_REGION

IN_USE = "cohort"
EXACT_YEAR = 2019
HEADLINE_H = (1, 2, 3, 5, 10)


def _r(x, nd=3):
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def _err(f, a) -> dict:
    f, a = np.asarray(f, float), np.asarray(a, float)
    ok = np.isfinite(f) & np.isfinite(a) & (a > 0)
    s = scores.error_summary(f[ok], a[ok])
    return {"mape": _r(s["mape"]), "malpe": _r(s["mpe"]), "n": int(s["n"])}


def histories(t: dict) -> dict:
    """{(proxy, 'full'|'leave_out_2019'): CohortHistory} for every proxy of ages 16–18."""
    codes = list(t["municipalities"].kommun_kod)
    sa = t["population_single_age"]
    out = {}
    for older in OLDER_PROXIES:
        for name, single in (("full", sa), ("leave_out_2019", sa[sa.year != EXACT_YEAR])):
            h = build_single_age_history(t["population_bands"], single, t["pupils_grundskola"], codes,
                                         t["county_population"], older=older)
            out[(older, name)] = CohortHistory.from_frame(h)
    return out


def split_2019(H: dict, reg: np.ndarray) -> dict:
    out = {}
    for older in OLDER_PROXIES:
        full, lo = H[(older, "full")], H[(older, "leave_out_2019")]
        i = int(np.flatnonzero(full.years == EXACT_YEAR)[0])
        E, S = full.pop[reg, i], lo.pop[reg, i]
        band = E[:, 16:19].sum(axis=1)
        out[older] = {
            "mape_by_age": {str(a): _r(np.mean(np.abs(S[:, a] / E[:, a] - 1)) * 100, 2) for a in range(13, 19)},
            "age15_abs_error_pct_of_band": _r(np.mean(np.abs(S[:, 15] - E[:, 15]) / band) * 100, 2),
            "age18_abs_error_pct_of_band": _r(np.mean(np.abs(S[:, 18] - E[:, 18]) / band) * 100, 2),
            "age15_minus_18_abs_error_pct_of_band": _r(np.mean(np.abs((S[:, 15] - S[:, 18]) - (E[:, 15] - E[:, 18]))
                                                               / band) * 100, 2),
        }
    return out


def county_split(H: dict, county: pd.DataFrame) -> dict:
    act = county[county.lan_kod == "01"].groupby(["year", "age"]).population.sum()
    out = {}
    for older in OLDER_PROXIES:
        hist = H[(older, "full")]
        m = hist.counties == "01"
        res = {}
        for a in range(15, 19):
            res[str(a)] = {str(int(y)): _r((hist.pop[m, i, a].sum() / act[(int(y), a)] - 1) * 100, 2)
                           for i, y in enumerate(hist.years) if 2009 <= y <= 2015 and (int(y), a) in act.index}
        out[older] = res
    return out


def origin_2019(H: dict, reg: np.ndarray) -> dict:
    out = {}
    for (older, name), hist in H.items():
        i = int(np.flatnonzero(hist.years == EXACT_YEAR)[0])
        actual = H[(older, "full")].pop[reg, i + 1, 16:19].sum(axis=1)
        past = hist.truncate(EXACT_YEAR)
        m, p = select_method(past)
        row = {"method": f"{m} w={p.window} κ={p.kappa:g}"}
        for label, meth in (("nested_best", m), ("carry_forward", "carry_forward")):
            X = project_array(past.pop, past.counties, 1, meth, p)[reg, 0, 16:19].sum(axis=1)
            row[label] = _err(X, actual)
        out[f"{older}, {'exact 2019 ages' if name == 'full' else '2019 split from bands'}"] = row
    return out


def decomposition(hist: CohortHistory, reg: np.ndarray, origins) -> dict:
    """1-year items of the nested best row with the oracles of the module docstring."""
    years = list(hist.years)
    F, A, S = [], [], []
    org = []
    for o in origins:
        past = hist.truncate(o)
        m, p = select_method(past)
        X = project_array(past.pop, past.counties, 1, m, p)[reg, 0]
        nxt = hist.pop[reg, years.index(o + 1)]
        start = past.pop[reg, -1, 15:18].sum(axis=1)          # P15 + P16 + P17 at T (split)
        F.append(X[:, 16:19].sum(axis=1))
        A.append(nxt[:, 16:19].sum(axis=1))
        S.append(start)
        org.append(np.full(reg.sum(), o))
    F, A, S, org = map(np.concatenate, (F, A, S, org))
    # the region's common error per origin (log), removed: as if the region total were known
    le = np.log(F / A)
    common = pd.Series(le).groupby(org).transform("mean").to_numpy()
    # each municipality's migration ratio m(T) = B(T+1) / (P15 + P16 + P17)(T), its two-sided
    # neighbour mean over T−2, T−1, T+1, T+2 (those that exist)
    K = int(reg.sum())
    ratio = (A / S).reshape(len(origins), K)
    oracle_ratio = np.full_like(ratio, np.nan)
    for i in range(len(origins)):
        nb = [j for j in (i - 2, i - 1, i + 1, i + 2) if 0 <= j < len(origins)]
        oracle_ratio[i] = ratio[nb].mean(axis=0)
    F_mig = (S.reshape(len(origins), K) * oracle_ratio).reshape(-1)
    return {
        "origins": [int(min(origins)), int(max(origins))],
        "nested_best": _err(F, A),
        "with_region_common_error_removed": _err(F / np.exp(common), A),
        "with_neighbour_years_migration_ratio": _err(F_mig, A),
        "share_of_error_variance_common_to_region": _r(np.var(common) / np.var(le), 3),
    }


def common_shock(bt: pd.DataFrame) -> dict:
    d = bt[(bt.method == "best") & bt.kommun_kod.isin(list(ADMISSION_REGION)) & (bt.actual16_18 > 0)
           & bt.forecast16_18.notna()]
    out = {}
    for h, g in d.groupby("horizon"):
        le = np.log(g.forecast16_18 / g.actual16_18)
        c = le.groupby(g.origin).transform("mean")
        out[str(int(h))] = {"as_is": _err(g.forecast16_18, g.actual16_18)["mape"],
                            "common_error_removed": _err(g.forecast16_18 / np.exp(c), g.actual16_18)["mape"]}
    return out


def headline(bt: pd.DataFrame) -> dict:
    a = accuracy_table(bt, ADMISSION_REGION).set_index(["method", "horizon"])
    return {m: {"mape": {str(h): _r(a.at[(m, h), "mape"]) for h in HEADLINE_H},
                "malpe": {str(h): _r(a.at[(m, h), "malpe"]) for h in HEADLINE_H}}
            for m in ("best", "carry_forward")}


def _selection_score(hist: CohortHistory, o: int) -> float:
    """select_method's criterion for the method it picks at ``o``: mean 16–18 MAPE, h = 1–5."""
    past = hist.truncate(o)
    m, p = select_method(past)
    errs = forecast_errors(past, m, p, list(range(int(past.years[0]) + 2, o)), SELECTION_HORIZONS)
    foc = _focus(past)
    return float(np.mean([_mape(f[foc], a[foc]) for f, a, _, _ in errs.values()])) if errs else np.inf


def nested_proxy_choice(H: dict, bts: dict) -> dict:
    origins = sorted(int(o) for o in bts[IN_USE].origin.unique())
    picks, rows = {}, []
    for o in origins:
        sc = {older: _selection_score(H[(older, "full")], o) for older in OLDER_PROXIES}
        pick = min(OLDER_PROXIES, key=lambda k: (sc[k], OLDER_PROXIES.index(k)))
        picks[str(o)] = pick
        b = bts[pick]
        rows.append(b[b.origin == o])
    return {"picked_by_origin": picks, "best": headline(pd.concat(rows))["best"]}


def bias_correction(bt: pd.DataFrame, min_origins: int = 3) -> dict:
    d = bt[(bt.method == "best") & bt.kommun_kod.isin(list(ADMISSION_REGION)) & (bt.actual16_18 > 0)
           & bt.forecast16_18.notna()]
    d = d.assign(logerr=np.log(d.forecast16_18 / d.actual16_18))
    out = {}
    for h in HEADLINE_H:
        g = d[d.horizon == h]
        raw, cor, act = [], [], []
        for o, go in g.groupby("origin"):
            prior = g[g.origin + h <= o]
            if prior.origin.nunique() < min_origins:
                continue
            raw.append(go.forecast16_18.to_numpy())
            cor.append(go.forecast16_18.to_numpy() * np.exp(-prior.logerr.mean()))
            act.append(go.actual16_18.to_numpy())
        if raw:
            raw, cor, act = map(np.concatenate, (raw, cor, act))
            out[str(h)] = {"uncorrected": _err(raw, act), "bias_corrected": _err(cor, act)}
    return out


def production(H: dict, t: dict) -> dict:
    out = {}
    for older in OLDER_PROXIES:
        hist = H[(older, "full")]
        base = int(hist.years[-1])
        p = project_cohorts(hist, base, 3)
        reg = np.isin(np.array(p.codes), list(ADMISSION_REGION))
        now = float(hist.pop[reg, -1, 16].sum())
        f = p.central[reg][:, :, 16].sum(axis=0)
        out[older] = {"method": f"{p.method} w={p.params.window} κ={p.params.kappa:g}", "base_year": base,
                      "age16_base": round(now), "age16_forecast": {str(base + h + 1): round(float(v)) for h, v in enumerate(f)},
                      "age16_growth_2y_pct": _r((f[1] / now - 1) * 100, 2)}
    g9 = grade_counts({n: t[n] for n in ("pupils_kommun", "pupils_grundskola")})[9].groupby(level=1).sum()
    base = int(H[(IN_USE, "full")].years[-1])
    if base - 1 in g9.index and base + 1 in g9.index:   # grade 9 in autumn t -> age 16 on 31 Dec t + 1
        out["grade9_growth_same_cohorts_pct"] = _r((g9[base + 1] / g9[base - 1] - 1) * 100, 2)
    return out


def entrant_growth(H: dict, t: dict) -> dict:
    g9 = grade_counts({n: t[n] for n in ("pupils_kommun", "pupils_grundskola")})[9].groupby(level=1).sum()
    out = {}
    last = int(H[(IN_USE, "full")].years[-1])
    for T in range(int(g9.index.min()) + 1, last + 1):
        if T not in g9.index:
            continue
        row = {"grade9_same_cohorts": _r((g9[T] / g9[T - 1] - 1) * 100, 2)}
        for older in OLDER_PROXIES:
            hist = H[(older, "full")]
            past = hist.truncate(T)
            reg = np.isin(np.array(past.codes), list(ADMISSION_REGION))
            m, p = select_method(past)
            X = project_array(past.pop, past.counties, 1, m, p)[reg, 0, 16].sum()
            row[older] = _r((X / past.pop[reg, -1, 16].sum() - 1) * 100, 2)
        out[str(T)] = row
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    t = {n: load_table(n) for n in ("population_bands", "population_single_age", "pupils_grundskola",
                                     "pupils_kommun", "county_population", "municipalities")}
    H = histories(t)
    hist = H[(IN_USE, "full")]
    reg = np.isin(np.array(hist.codes), list(ADMISSION_REGION))
    bts = {older: run_backtest(H[(older, "full")], methods=("best", "carry_forward")) for older in OLDER_PROXIES}
    origins = sorted(int(o) for o in bts[IN_USE].origin.unique())
    out = {
        "municipalities": "admission region (28)",
        "proxy_in_use": IN_USE,
        "split_2019_leave_out": split_2019(H, reg),
        "county_split": county_split(H, t["county_population"]),
        "origin_2019": origin_2019(H, reg),
        "decomposition_h1": decomposition(hist, reg, [o for o in origins if o + 1 <= int(hist.years[-1])]),
        "common_shock_removed": common_shock(bts[IN_USE]),
        "proxies": {older: headline(bts[older]) for older in OLDER_PROXIES},
        "proxy_nested_choice": nested_proxy_choice(H, bts),
        "production": production(H, t),
        "entrant_growth": entrant_growth(H, t),
        "bias_correction": bias_correction(bts[IN_USE]),
        "targets": {"mape_h1": 1.25, "mape_h3": 2.0, "mape_h5": 3.0, "malpe_within": 0.5},
        "seconds": None,
    }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print_result(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where students go: a production-constrained spatial interaction model, and capacity placement.

Share of municipality *i*'s entrants choosing unit *j* (per programme group *g*):

    T_ij = O_i · W_j · exp(−β d_ij) / Σ_k W_k · exp(−β d_ik)

* d_ij: km (EPSG:3006) from where *i*'s 15-year-olds study (its grade-9 schools, weighted by
  grade-9 pupils; Håbo and Gnesta, which have none in our source, from their boundary centroid)
  to unit *j*.
* W_j: balancing factors, so the modelled intake reproduces each unit's admitted students
  (a Huff-calibrated, doubly constrained fit; :func:`fit_attractiveness`).
* β: calibrated so 79% of the students in kluster syd's schools live in the cluster
  (domain.md; :func:`calibrate_beta`). The other reading, 79% of the cluster's residents
  study there, is impossible with the admissions: syd's schools admitted 2,597 national-
  programme students in 2023 against about 4,350 entrants living in syd (assumption A11).

A new or changed school is a new or changed destination: :meth:`FlowModel.with_units` adds
units with W = places × the median W per place of the fitted units, without refitting.
Flows are *estimated* unless observed flows are supplied; reports say which.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from shapely import wkt

from .errors import ParameterError

SYD_SHARE = 0.79                      # domain.md §1, read as the intake share (A11)
SPLIT_2018 = {"own": 0.31, "other_municipal": 0.29, "independent": 0.40}
MIN_KM = 1.0
GROUPS = ("HF", "YP")


def origin_points(grade9: pd.DataFrame, boundaries: pd.DataFrame, codes) -> pd.DataFrame:
    """Per municipality: grade-9 schools (x, y, weight); boundary centroid where it has none."""
    g = grade9[grade9.pupils_grade9.notna() & grade9.x_sweref99tm.notna()]
    rows = [(r.kommun_kod, float(r.x_sweref99tm), float(r.y_sweref99tm), float(r.pupils_grade9), "grade9_schools")
            for r in g.itertuples() if r.kommun_kod in set(codes)]
    have = {r[0] for r in rows}
    b = boundaries.set_index("kommun_kod")
    for code in codes:
        if code not in have:
            if code not in b.index:
                raise ParameterError(f"municipality {code} has neither grade-9 schools nor a boundary")
            c = wkt.loads(b.loc[code, "geometry_wkt"]).centroid
            rows.append((code, c.x, c.y, 1.0, "boundary_centroid"))
    return pd.DataFrame(rows, columns=["kommun_kod", "x", "y", "weight", "basis"])


def distance_matrix(origins: pd.DataFrame, codes, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """(I, J) pupil-weighted mean distance in km from each municipality's origin points to units."""
    D = np.empty((len(codes), len(ux)))
    for i, code in enumerate(codes):
        o = origins[origins.kommun_kod == code]
        d = np.hypot(o.x.to_numpy()[:, None] - ux[None, :], o.y.to_numpy()[:, None] - uy[None, :]) / 1000
        w = o.weight.to_numpy()
        D[i] = (w[:, None] * d).sum(axis=0) / w.sum()
    return np.maximum(D, MIN_KM)


def shares(W: np.ndarray, D: np.ndarray, beta: float) -> np.ndarray:
    """(…, I, J) choice shares; W may carry leading path dimensions (…, J)."""
    A = W[..., None, :] * np.exp(-beta * D)
    tot = A.sum(axis=-1, keepdims=True)
    return np.divide(A, tot, out=np.zeros_like(A), where=tot > 0)


def fit_attractiveness(O: np.ndarray, obs: np.ndarray, D: np.ndarray, beta: float,
                       tol: float = 1e-9, max_iter: int = 2000) -> np.ndarray:
    """W (J,) such that Σ_i O_i·share_ij = obs_j (O is scaled to Σ obs first)."""
    O = O * obs.sum() / O.sum()
    W = np.where(obs > 0, obs / max(obs.mean(), 1e-9), 0.0)
    for _ in range(max_iter):
        pred = O @ shares(W, D, beta)
        ratio = np.divide(obs, pred, out=np.ones_like(obs), where=pred > 0)
        W = W * ratio
        W = W / W[W > 0].mean()
        if np.max(np.abs(pred - obs)) < tol * max(obs.max(), 1):
            break
    return W


@dataclass(frozen=True)
class FlowModel:
    codes: tuple[str, ...]            # home municipalities (rows)
    units: pd.DataFrame               # skolenhetskod, skola, kommun_kod, owner_type, x, y, group, places, admitted
    D: np.ndarray                     # (I, J) km
    W: np.ndarray                     # (J,)
    beta: float
    observed: bool = False

    def wanted(self, O: np.ndarray) -> np.ndarray:
        """Unconstrained flows (…, I, J) for entrants O (…, I) of this model's programme group."""
        return O[..., :, None] * shares(self.W, self.D, self.beta)

    def with_units(self, new: pd.DataFrame, origins: pd.DataFrame) -> "FlowModel":
        """Add destinations (x, y, places, …) with W from places; no refit."""
        if new is None or new.empty:
            return self
        fitted = self.units.places.to_numpy() > 0
        per_place = np.median(self.W[fitted] / self.units.places.to_numpy()[fitted])
        Dn = distance_matrix(origins, self.codes, new.x.to_numpy(float), new.y.to_numpy(float))
        units = pd.concat([self.units, new], ignore_index=True)
        return replace(self, units=units, D=np.hstack([self.D, Dn]),
                       W=np.concatenate([self.W, new.places.to_numpy(float) * per_place]))


def place(wanted: np.ndarray, places: np.ndarray, weights: np.ndarray, decay: np.ndarray,
          max_iter: int = 50, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Capacity ceiling: (placed flows (S, I, J), displaced (S, I)) for wanted flows (S, I, J).

    Units over their places keep a pro-rata share of their applicants up to the places; the
    excess of each origin spills to units with room in proportion to their attractiveness
    ``weights`` (S, J) × ``decay`` (I, J) = W_j·f(d_ij); repeated until nothing spills (a unit
    that fills up is closed). Whatever cannot be placed because every reachable unit is full is
    displaced. Only paths with a full unit are iterated.
    """
    placed = np.array(wanted, dtype=float, copy=True)
    S = placed.shape[0]
    cap = np.broadcast_to(places, (S, places.shape[-1])).astype(float)
    weights = np.broadcast_to(weights, cap.shape)
    displaced = np.zeros(placed.shape[:2])
    open_ = np.ones(cap.shape, dtype=bool)
    active = np.arange(S)
    for _ in range(max_iter):
        P = placed[active]
        load = P.sum(axis=1)
        over = load > cap[active] * (1 + 1e-12)
        rows = over.any(axis=1)
        if not rows.any():
            break
        active, P, load, over = active[rows], P[rows], load[rows], over[rows]
        c = cap[active]
        keep = np.where(over, np.divide(c, load, out=np.ones_like(load), where=load > 0), 1.0)
        excess = np.einsum("sij,sj->si", P, 1.0 - keep)                   # (s, I)
        P *= keep[:, None, :]
        op = open_[active] & ~over & (P.sum(axis=1) < c - tol)
        open_[active] = op
        v = weights[active] * op                                            # (s, J)
        tot = v @ decay.T                                                   # (s, I)
        stuck = tot <= 0
        displaced[active] += np.where(stuck, excess, 0.0)
        factor = np.divide(excess, tot, out=np.zeros_like(excess), where=~stuck)
        P += factor[:, :, None] * decay[None, :, :] * v[:, None, :]
        placed[active] = P
        if excess.sum() < tol:
            break
    return placed, displaced


def self_containment(T: np.ndarray, home_cluster: np.ndarray, unit_cluster: np.ndarray, cluster: str,
                     kind: str = "intake") -> float:
    """Share of the cluster's schools' students who live in the cluster (``intake``), or of the
    cluster's residents who study in its schools (``residents``)."""
    rows, cols = home_cluster == cluster, unit_cluster == cluster
    inside = T[rows][:, cols].sum()
    return float(inside / (T[:, cols].sum() if kind == "intake" else T[rows].sum()))


def split_shares(T: np.ndarray, codes, units: pd.DataFrame) -> dict:
    """Own municipality's (municipal) schools / another municipality's / independent (2018 split)."""
    ind = units.owner_type.to_numpy() != "kommunal"
    own = np.array(codes)[:, None] == units.kommun_kod.to_numpy()[None, :]
    tot = T.sum()
    return {"own": float(T[own & ~ind].sum() / tot), "other_municipal": float(T[~own & ~ind].sum() / tot),
            "independent": float(T[:, ind].sum() / tot)}


def calibrate_beta(O: np.ndarray, obs_by_group: dict, D_by_group: dict, home_cluster, unit_cluster_by_group: dict,
                   target: float = SYD_SHARE, lo: float = 1e-3, hi: float = 2.0) -> float:
    """β (per km) at which ``target`` of kluster syd's schools' intake lives in the cluster, with
    the attractiveness of every group's units refitted at each trial β."""
    def share(beta):
        inside = total = 0.0
        for g, obs in obs_by_group.items():
            D = D_by_group[g]
            T = (O * obs.sum() / O.sum())[:, None] * shares(fit_attractiveness(O, obs, D, beta, tol=1e-7), D, beta)
            cols = unit_cluster_by_group[g] == "syd"
            inside += T[home_cluster == "syd"][:, cols].sum()
            total += T[:, cols].sum()
        return inside / total
    s_lo, s_hi = share(lo), share(hi)
    if not s_lo <= target <= s_hi:
        raise ParameterError(f"kluster syd intake share {target:.0%} is outside what the model reaches "
                             f"({s_lo:.1%} at β={lo}, {s_hi:.1%} at β={hi})")
    # Brent's method: the share rises smoothly with β, so ~10 evaluations reach what 30
    # bisection steps did (each evaluation refits every group's attractiveness).
    from scipy.optimize import brentq
    return float(brentq(lambda b: share(b) - target, lo, hi, xtol=1e-9, rtol=1e-12))


def share_summary(T: np.ndarray, codes, units: pd.DataFrame, clusters: dict, home_cluster: np.ndarray) -> dict:
    """The published facts the model is checked against: kluster syd's intake and resident
    shares, nordväst's intake share, and the own / other municipal / independent split."""
    uc = units.kommun_kod.map(clusters).fillna("").to_numpy()
    return {"syd_intake_share": self_containment(T, home_cluster, uc, "syd"),
            "syd_resident_share": self_containment(T, home_cluster, uc, "syd", "residents"),
            "nordvast_intake_share": self_containment(T, home_cluster, uc, "nordväst"),
            **split_shares(T, codes, units)}


def decay_sensitivity(rm, betas) -> list[dict]:
    """For each β: refit the attractiveness and report the share summary (the sweep the reports show)."""
    out = []
    for beta in betas:
        Ts, us = [], []
        for g, m in rm.models.items():
            O = rm.entrants_by_group[g]
            obs = m.units.admitted.to_numpy(float)
            W = fit_attractiveness(O, obs, m.D, beta, tol=1e-7)
            Ts.append((O * obs.sum() / O.sum())[:, None] * shares(W, m.D, beta))
            us.append(m.units)
        summary = share_summary(np.hstack(Ts), rm.codes, pd.concat(us), rm.clusters, rm.home_cluster)
        out.append({"beta_per_km": float(beta), **summary})
    return out


OBSERVED_COLUMNS = ("home_kod", "skolenhetskod", "students")


def validate_observed_flows(df: pd.DataFrame, source, codes, unit_codes, entrants: dict | None = None,
                            tolerance: float = 0.15) -> pd.DataFrame:
    """Check a user's observed flows (home_kod, skolenhetskod, students): known codes, numbers
    ≥ 0, and each home municipality's total within ``tolerance`` of its entrant cohort."""
    from .errors import DataError
    missing = [c for c in OBSERVED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError("observed flows: required column missing", file=source, column=missing[0])
    df = df.copy()
    df["home_kod"] = df.home_kod.astype(str).str.zfill(4)
    df["skolenhetskod"] = df.skolenhetskod.astype(str)
    bad = df[~df.home_kod.isin(list(codes))]
    if len(bad):
        raise DataError("home municipality not in the admission region", file=source, column="home_kod",
                        examples=bad.head(3).to_dict("records"))
    bad = df[~df.skolenhetskod.isin(list(unit_codes))]
    if len(bad):
        raise DataError("unknown school unit", file=source, column="skolenhetskod", examples=bad.head(3).to_dict("records"))
    num = pd.to_numeric(df.students, errors="coerce")
    if num.isna().any() or (num < 0).any():
        raise DataError("students must be numbers >= 0", file=source, column="students",
                        examples=df[num.isna() | (num < 0)].head(3).to_dict("records"))
    df["students"] = num.astype(float)
    if entrants:
        tot = df.groupby("home_kod").students.sum()
        for code, n in tot.items():
            e = entrants.get(code)
            if e and abs(n / e - 1) > tolerance:
                raise DataError(f"observed students from {code} sum to {n:.0f}, the entrant cohort is {e:.0f} "
                                f"(more than {tolerance:.0%} apart)", file=source, column="students")
    return df


def fit_observed_beta(flows: pd.DataFrame, codes, D_by_unit: dict) -> float:
    """β from observed flows: Poisson GLM, students_ij ~ exp(a_i + g_j − β·d_ij) (origin and
    destination fixed effects: the doubly constrained model), fitted with statsmodels."""
    import statsmodels.api as sm
    f = flows.groupby(["home_kod", "skolenhetskod"], as_index=False).students.sum()
    f = f[f.skolenhetskod.isin(list(D_by_unit))]
    homes, units = sorted(f.home_kod.unique()), sorted(f.skolenhetskod.unique())
    grid = pd.MultiIndex.from_product([homes, units], names=["home_kod", "skolenhetskod"]).to_frame(index=False)
    grid = grid.merge(f, how="left").fillna({"students": 0.0})
    idx = {c: i for i, c in enumerate(codes)}
    grid["d"] = [D_by_unit[u][idx[h]] for h, u in zip(grid.home_kod, grid.skolenhetskod)]
    X = pd.get_dummies(grid[["home_kod", "skolenhetskod"]], drop_first=True, dtype=float)
    X["d"] = grid.d
    X = sm.add_constant(X)
    res = sm.GLM(grid.students, X, family=sm.families.Poisson()).fit()
    return float(-res.params["d"])

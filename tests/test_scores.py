"""Known answers for every score and yardstick in forecast.scores (hand-computed, small inputs)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecast import scores as S


def test_error_summary_hand_computed():
    # items: (p, a) = (110, 100), (90, 100), (50, 40), (5, 0)
    # APE over a > 0: 10, 10, 25 -> MAPE 15, MedAPE 10; signed: +10, -10, +25 -> MPE 25/3
    # WAPE over all: (10 + 10 + 10 + 5) / 240 = 35/240; bias: (10 - 10 + 10 + 5) / 240 = 15/240
    r = S.error_summary([110, 90, 50, 5], pd.Series([100, 100, 40, 0]))
    assert r["n"] == 4 and isinstance(r["n"], int)
    assert r["mape"] == pytest.approx(15.0)
    assert r["medape"] == pytest.approx(10.0)
    assert r["mpe"] == pytest.approx(25 / 3)
    assert r["wape"] == pytest.approx(3500 / 240)
    assert r["bias"] == pytest.approx(1500 / 240)


def test_error_summary_nan_prediction_is_an_error_naming_the_count():
    with pytest.raises(ValueError, match="2 of 3 predictions are NaN"):
        S.error_summary([np.nan, 1.0, np.nan], [1.0, 1.0, 1.0])


def test_error_summary_empty():
    r = S.error_summary([], [])
    assert r["n"] == 0
    assert all(math.isnan(r[k]) for k in ("mape", "medape", "wape", "bias", "mpe"))


def test_error_summary_length_mismatch():
    with pytest.raises(ValueError, match="length"):
        S.error_summary([1, 2], [1])


def test_brier():
    # (0.9-1)^2 + (0.2-0)^2 + (0.5-1)^2 + (0-0)^2 = 0.01 + 0.04 + 0.25 + 0 = 0.30 -> /4
    assert S.brier([0.9, 0.2, 0.5, 0.0], [1, 0, 1, 0]) == pytest.approx(0.075)
    with pytest.raises(ValueError, match="outside"):
        S.brier([1.2], [1])


def test_reliability_table_bins_and_gap():
    p = [0.0, 0.05, 0.1, 0.2, 0.3, 0.95, 1.0]
    y = [0, 0, 1, 0, 1, 1, 1]
    t = S.reliability_table(p, y)
    # bins: [0, .1] holds 0, .05, .1; (.1, .3] holds .2, .3; (.9, 1] holds .95, 1.0; others empty
    assert list(t.bin) == ["0–0.1", "0.1–0.3", "0.9–1"]
    assert list(t.n) == [3, 2, 2]
    assert t.mean_p.tolist() == pytest.approx([0.05, 0.25, 0.975])
    assert t.observed.tolist() == pytest.approx([1 / 3, 0.5, 1.0])
    assert t.gap.tolist() == pytest.approx([1 / 3 - 0.05, 0.25, 0.025])


def test_worst_reliability_gap_respects_min_n():
    t = pd.DataFrame({"bin": ["a", "b", "c"], "n": [12, 3, 10], "mean_p": [0.1, 0.5, 0.8],
                      "observed": [0.15, 0.9, 0.6], "gap": [0.05, 0.4, -0.2]})
    assert S.worst_reliability_gap(t, min_n=10) == pytest.approx(0.2)
    assert S.worst_reliability_gap(t, min_n=1) == pytest.approx(0.4)
    assert math.isnan(S.worst_reliability_gap(t, min_n=100))


def test_hit_rates():
    p = [0.9, 0.6, 0.5, 0.2, 0.1]
    y = [1, 0, 1, 1, 0]
    r = S.hit_rates(p, y)            # flagged: .9, .6, .5 (>= 0.5)
    assert r["n_flagged"] == 3
    assert r["hit_rate_flagged"] == pytest.approx(2 / 3)
    assert r["rate_unflagged"] == pytest.approx(0.5)
    assert r["recall"] == pytest.approx(2 / 3)
    r = S.hit_rates(p, y, threshold=0.95)
    assert r["n_flagged"] == 0 and math.isnan(r["hit_rate_flagged"]) and r["recall"] == 0.0


def test_skill():
    assert S.skill(8.0, 10.0) == pytest.approx(0.2)
    assert S.skill(12.0, 10.0) == pytest.approx(-0.2)
    assert math.isnan(S.skill(1.0, 0.0))


def test_coverage():
    assert S.coverage([0, 5, 10, 0], [10, 6, 20, 1], [10, 7, 10, 0.5]) == pytest.approx(75.0)
    assert math.isnan(S.coverage([], [], []))


def test_persistence_yardsticks():
    prev = np.array([100.0, 50.0, 30.0])
    assert S.persistence(prev).tolist() == [100, 50, 30]
    assert S.persistence_growth(prev, [1.1, 1.0, 0.5]).tolist() == pytest.approx([110, 50, 15])
    assert S.persistence_capped(prev, [90, np.nan, 40]).tolist() == [90, 50, 30]


def test_persistence_does_not_alias_its_input():
    prev = np.array([1.0, 2.0])
    out = S.persistence(prev)
    out[0] = 9
    assert prev[0] == 1.0


def test_base_rate():
    assert S.base_rate([1, 0, 0, 1, np.nan, 0]) == pytest.approx(0.4)
    assert S.base_rate([]) == 0.5


def test_calibrated_persistence():
    # past pairs: state 1 -> outcomes 1, 1, 0 (2/3); state 0 -> 0, 0, 0, 1 (1/4); base rate 3/7
    past_s = [1, 1, 1, 0, 0, 0, 0]
    past_y = [1, 1, 0, 0, 0, 0, 1]
    out = S.calibrated_persistence([1, 0, np.nan, 1], past_s, past_y)
    assert out.tolist() == pytest.approx([2 / 3, 1 / 4, 3 / 7, 2 / 3])
    # a state never seen before gets the base rate
    only_zero = S.calibrated_persistence([1, 0], [0, 0, 0, 0], [0, 1, 0, 0])
    assert only_zero.tolist() == pytest.approx([0.25, 0.25])
    # no past pairs: 0.5
    assert S.calibrated_persistence([1, 0], [], []).tolist() == [0.5, 0.5]


def test_persistence_01():
    assert S.persistence_01([1, 0, np.nan]).tolist() == [1.0, 0.0, 0.5]
    assert S.persistence_01([1, np.nan], 0.3).tolist() == [1.0, 0.3]


def test_json_ready_rounds_and_turns_nan_into_none():
    from forecast.files import json_ready
    out = json_ready({"a": 0.123456, "b": [float("nan"), 2.0, "x"], "c": {"d": 1.00004}, "e": 3}, digits=3)
    assert out == {"a": 0.123, "b": [None, 2.0, "x"], "c": {"d": 1.0}, "e": 3}


def test_mape_alone_hand_computed_and_equal_to_error_summary():
    # |110 − 100| / 100 = 10%, |45 − 50| / 50 = 10%, |0 − 20| / 20 = 100%; the outcome 0 is left out
    p, a = [110.0, 45.0, 0.0, 3.0], [100.0, 50.0, 20.0, 0.0]
    assert S.mape(p, a) == pytest.approx(40.0)
    assert S.mape(p, a) == S.error_summary(p, a)["mape"]
    assert np.isnan(S.mape([1.0], [0.0]))
    with pytest.raises(ValueError, match="NaN"):
        S.mape([np.nan, 1.0], [1.0, 1.0])


def test_folder_digest_and_print_result(tmp_path, capsys):
    import hashlib
    from forecast.files import folder_digest, print_result
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"abc")
    assert folder_digest(tmp_path) == {"a/x.txt": hashlib.sha256(b"abc").hexdigest()}
    print_result({"n": 1, "s": "å"}, True)
    print_result({"n": 1}, False)
    assert capsys.readouterr().out == '{"n": 1, "s": "å"}\nn: 1\n'

"""Platt scaling converges to the hand-computed maximum-likelihood fit, also when the outcomes run
against the probabilities (plain Newton from the identity diverged there: b ≈ −9e10)."""
import numpy as np
import pytest

from forecast.intake import platt_fit


def test_platt_fit_two_groups_against_the_probabilities_hand_computed():
    # 50 items at p = 1 (logit clipped to log(.99/.01) = 4.595), 10 of them overcapacity (20%);
    # 50 at p = 0 (logit −4.595), 40 of them (80%). Two groups: the fit hits both rates exactly,
    # a + b·4.595 = logit(.2), a − b·4.595 = logit(.8)  ->  a = 0, b = −1.386 / 4.595 = −0.3017.
    p = np.array([1.0] * 50 + [0.0] * 50)
    y = np.array([0.0] * 40 + [1.0] * 10 + [0.0] * 10 + [1.0] * 40)
    a, b = platt_fit(p, y)
    x = np.log(0.99 / 0.01)
    assert a == pytest.approx(0.0, abs=1e-6)
    assert b == pytest.approx(np.log(0.2 / 0.8) / x, abs=1e-6)


def test_platt_fit_keeps_the_identity_when_calibrated():
    # rates equal to the probabilities in each group: the identity (a = 0, b = 1) is the fit
    p = np.array([0.2] * 50 + [0.8] * 50)
    y = np.array([1.0] * 10 + [0.0] * 40 + [1.0] * 40 + [0.0] * 10)
    a, b = platt_fit(p, y)
    assert (a, b) == (pytest.approx(0.0, abs=1e-6), pytest.approx(1.0, abs=1e-6))

"""Early-warning signals, events and their scoring on synthetic series whose answers are
known by hand (lead times, false alarms, the chance base rate)."""

import numpy as np
import pytest

import gandyn as gd

STEPS = np.arange(0, 1100, 100)  # log points every 100 steps, 0 … 1,000


def test_a_sustained_positive_real_part_warns_and_its_lead_is_counted():
    # Re λ > 0 from step 300 on: `unstable` (two points in a row) is on from 400.
    re = [-1, -1, -0.5, 0.2, 0.3, 0.1, -0.2, -0.3, 0.4, -0.1, -0.1]
    signals = gd.warning_signals({"max_re_eig_J": re})
    assert np.flatnonzero(signals["unstable"]).tolist() == [4, 5]
    # Modes 8 … then 5 at step 700 (a drop of 3 from the previous 3 points' max) and
    # 8 → 6 at 1,000.
    modes = [0, 2, 4, 8, 8, 8, 8, 5, 5, 8, 6]
    events = gd.collapse_events(modes, drop=2)
    assert np.flatnonzero(events).tolist() == [7, 10]
    score = gd.score_warnings(signals["unstable"], events, STEPS, horizon=300)
    # The event at 700 has warnings at 400 and 500 within 300 steps: lead 700 − 400.
    # The one at 1,000 has none in [700, 1000).
    assert score["events"] == 2 and score["warned"] == 1 and score["leads"] == [300]
    # One warning onset (400), followed by the event at 700 ≤ 400 + 300: no false alarm.
    assert score["alarms"] == 1 and score["false_alarms"] == 0
    assert score["steps"] == 1000
    # A shorter horizon: the onset at 400 is then a false alarm, the event unwarned
    # except by the warning at 500 (lead 200).
    short = gd.score_warnings(signals["unstable"], events, STEPS, horizon=200)
    assert short["leads"] == [200] and short["false_alarms"] == 1


def test_false_alarms_late_warnings_and_the_chance_base_rate():
    warnings = np.zeros(11, bool)
    warnings[[1, 2, 9]] = True      # onsets at 100 and 900
    events = np.zeros(11, bool)
    events[6] = True                # at 600: 400 steps after the onset at 100
    score = gd.score_warnings(warnings, events, STEPS, horizon=300)
    # 100's episode warns nothing (600 − 300 = 300 > 200) and is a false alarm; 900
    # is too close to the end (900 + 300 > 1,000) to be judged.
    assert score["warned"] == 0 and score["alarms"] == 1 and score["false_alarms"] == 1
    # Chance: shifting the pattern (on at 3 of 11 points) by k = 1 … 10 points; the
    # event is warned when a warning lands on 300, 400 or 500, i.e. for the shifts that
    # bring point 1, 2 or 9 to 3, 4 or 5 (mod 11): k ∈ {2, 3, 4} ∪ {1, 2, 3} ∪ {5, 6, 7}
    # → 7 of 10.
    assert score["chance_warned"] == pytest.approx(0.7)


def test_rotation_rising_while_the_hamiltonian_stalls():
    share = [0.1, 0.2, 0.3, 0.25, 0.4, 0.5]
    im = [1.0, 2.0, 3.0, 3.5, 4.0, -5.0]    # |Im λ| rises at every point
    hamiltonian = [5.0, 4.0, 4.0, 3.0, 3.5, 3.5]
    rotating = gd.warning_signals({"rotation_share": share, "max_im_eig_J": im,
                                   "hamiltonian": hamiltonian})["rotating"]
    # Point 1: ½‖v‖² fell; 2: share, |Im| up and ½‖v‖² flat → on; 3: share fell;
    # 4 and 5: all three conditions hold.
    assert np.flatnonzero(rotating).tolist() == [2, 4, 5]


def test_hessian_and_jump_signals_and_missing_values():
    low = [-0.001, -0.5, -0.5, None, -0.5, -0.5]
    high = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    signals = gd.warning_signals({"min_eig_hessian_G": low, "max_eig_hessian_G": high})
    # −0.001 is within the 1 % tolerance; None breaks the run of negative points.
    assert np.flatnonzero(signals["not_a_minimum_G"]).tolist() == [2, 5]
    assert not signals["not_a_minimum_D"].any() and not signals["unstable"].any()
    ham = [1.0, 1.1, 0.9, 1.0, 1.0, 3.0, 1.0]
    jumps = gd.warning_signals({"hamiltonian": ham})["rise/hamiltonian"]
    # Past four at point 5: mean 1.0, std √0.005 ≈ 0.07, so 3.0 is a jump; point 4
    # (1.0 against mean 1.0) and point 6 (1.0 against a past that holds 3.0) are not.
    assert np.flatnonzero(jumps).tolist() == [5]


def test_frechet_rises_and_bad_arguments():
    fd = [300, 100, 80, 90, 200, 210, 60, None, 70]
    # ≥ 2 × the minimum of the previous 3 points: 200 at point 4 (min 80) and 210 at 5
    # (the same run: one onset); None is never an event.
    assert np.flatnonzero(gd.collapse_events(fd, factor=2.0)).tolist() == [4]
    # Held for two points: modes 8 → 5 for one point only is no collapse; 8 → 5, 5 is.
    modes = [8, 8, 5, 8, 8, 5, 5, 8]
    assert np.flatnonzero(gd.collapse_events(modes, drop=2)).tolist() == [2, 5]
    assert np.flatnonzero(gd.collapse_events(modes, drop=2, persist=2)).tolist() == [5]
    with pytest.raises(ValueError, match="exactly one of drop and factor"):
        gd.collapse_events(fd)
    with pytest.raises(ValueError, match="max_re_eig_J"):
        gd.warning_signals({})

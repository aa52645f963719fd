"""Linux TCP timer arithmetic and the lab's time-scale distortions."""

from __future__ import annotations

import pytest

from natsim.kernel_facts import TCP_RETRIES2_GIVE_UP, TCP_SYN_GIVE_UP, retransmission_give_up
from natsim.sim.timers import TcpSettings, backoff_schedule, unscaled_notes, wheel_late
from natsim.units import TimeScale


def test_retries2_gives_up_after_924_6_seconds() -> None:
    assert retransmission_give_up(15) == pytest.approx(924.6)
    assert pytest.approx(924.6) == TCP_RETRIES2_GIVE_UP
    assert retransmission_give_up(0) == pytest.approx(0.2)


def test_backoff_doubles_from_200ms_to_120s() -> None:
    offsets = backoff_schedule(retransmission_give_up(15))
    assert offsets == pytest.approx([0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4, 51.0, 102.2, 204.6,
                                     324.6, 444.6, 564.6, 684.6, 804.6])


def test_user_timeout_clamps_the_schedule() -> None:
    assert backoff_schedule(30.0) == pytest.approx([0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4])
    assert backoff_schedule(0.1) == ()


def test_connect_gives_up_after_127_seconds() -> None:
    assert TCP_SYN_GIVE_UP == 127.0


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="positive"):
        backoff_schedule(0)
    with pytest.raises(ValueError, match="negative"):
        retransmission_give_up(-1)


def test_lab_timing_unscaled_and_whole_seconds() -> None:
    lab = TimeScale(60)
    assert lab.unscaled(0.2) == pytest.approx(12.0)
    assert lab.whole(75) == 60          # 1.25 lab s → 1 s
    assert lab.whole(3600) == 3600
    assert lab.whole(10) == 60          # at least one kernel second
    assert unscaled_notes(TimeScale()) == []
    assert len(unscaled_notes(lab)) == 3
    assert any("2 s after which a replied UDP flow takes its stream timeout" in note
               for note in unscaled_notes(lab))


def test_settings_for_lab() -> None:
    real = TcpSettings.for_lab(TimeScale(1.0))
    assert real.give_up == pytest.approx(924.6)
    lab = TcpSettings.for_lab(TimeScale(60), user_timeout=120.0, keepalive=(3600, 75, 9))
    assert lab.give_up == 120.0
    assert lab.rto == pytest.approx(12.0)
    assert lab.keepalive == (3600, 60, 9)


def test_timer_wheel_lateness() -> None:
    lab = TimeScale(60)
    assert wheel_late(lab, 59 * 60) == pytest.approx(2.048 * 60)    # level 3: 512 ticks of 4 ms
    assert wheel_late(lab, 60) == pytest.approx(0.032 * 60)         # 1 s: level 1, 8 ticks
    assert wheel_late(TimeScale(), 3540) == pytest.approx(131.072)   # level 5
    assert wheel_late(TimeScale(), 0.1) == pytest.approx(0.004)     # level 0: one tick

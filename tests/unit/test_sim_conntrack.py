"""The conntrack table: lookup both ways, expiry at equality, picked-up entries."""

from __future__ import annotations

import pytest

from natsim.sim.cttable import ConntrackTable, Expired, track_flags

OUT = (("client", 40000), ("server", 31415))
BACK = (("server", 31415), ("client", 40000))


def table() -> ConntrackTable:
    return ConntrackTable({"tcp": {"established": 3600.0, "unacknowledged": 300.0, "syn_sent": 120.0}})


def test_lookup_both_directions_and_refresh() -> None:
    t = table()
    entry = t.create(OUT, BACK, "established", 0.0)
    assert t.lookup(OUT, 3599.0) == (entry, False, None)
    t.refresh(entry, 3599.0)
    assert t.lookup(BACK, 7198.0) == (entry, True, None)
    assert len(t) == 1


def test_idle_equal_to_timeout_has_expired() -> None:
    t = table()
    t.create(OUT, BACK, "established", 10.0)
    assert t.lookup(OUT, 3610.0) == (None, False, Expired("established", 3600.0, 3600.0))
    assert t.lookup(OUT, 3611.0) == (None, False, None)   # removed on the first lookup
    assert len(t) == 0


def test_picked_up_entry_uses_unacknowledged_until_it_sees_a_reply() -> None:
    t = table()
    entry = t.create(OUT, BACK, "established", 0.0, picked_up=True)
    t.refresh(entry, 0.0)
    assert entry.timeout == 300.0
    entry.seen_reply = True
    t.refresh(entry, 1.0)
    assert entry.timeout == 3600.0


def test_expire_collects_due_entries() -> None:
    t = table()
    t.create(OUT, BACK, "syn_sent", 0.0)
    other = ((("client", 40001), ("server", 31415)))
    t.create(other, (other[1], other[0]), "established", 0.0)
    assert [e.state for e in t.expire(120.0)] == ["syn_sent"]
    assert len(t) == 1


def test_state_machine() -> None:
    t = table()
    entry = t.create(OUT, BACK, "syn_sent", 0.0)
    log = []
    for flags, reply in (("SA", True), ("A", False), ("PA", False), ("FA", True), ("FA", False),
                         ("A", True)):
        entry.state = track_flags(entry, flags, reply)
        log.append(entry.state)
    assert log == ["syn_recv", "established", "established", "fin_wait", "time_wait", "time_wait"]
    assert track_flags(entry, "R", False) == "close"


def test_bad_timeouts() -> None:
    with pytest.raises(ValueError, match="established"):
        ConntrackTable({"tcp": {"syn_sent": 1.0}})
    with pytest.raises(ValueError, match="positive"):
        ConntrackTable({"tcp": {"established": 0.0}})

"""Under sudo, what natsim writes belongs to the user who ran it — and nothing else is touched."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from natsim.paths import first_missing, hand_over, sudo_owner

NOBODY = 65534
needs_root = pytest.mark.natsim_root   # giving a file to another user needs root on the host


def test_first_missing_is_what_mkdir_p_creates(tmp_path: Path) -> None:
    assert first_missing(tmp_path / "a" / "b") == tmp_path / "a"
    assert first_missing(tmp_path) is None


def test_without_sudo_nothing_is_handed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUDO_UID", raising=False)
    (tmp_path / "f").write_text("x")
    assert sudo_owner() is None
    assert hand_over(tmp_path, since=0, created=True) == []


@needs_root
def test_only_what_natsim_wrote_changes_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old.txt"
    old.write_text("the user's own file, there before the run")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setenv("SUDO_UID", str(NOBODY))
    monkeypatch.setenv("SUDO_GID", str(NOBODY))
    since = time.time() - 1
    (tmp_path / "pcap").mkdir()
    (tmp_path / "pcap" / "a.pcap").write_bytes(b"x")
    (tmp_path / "result.json").write_text("{}")
    done = hand_over(tmp_path, since=since, created=False)
    assert sorted(p.name for p in done) == ["a.pcap", "pcap", "result.json"]
    assert (tmp_path / "result.json").stat().st_uid == NOBODY
    assert old.stat().st_uid == 0 and tmp_path.stat().st_uid == 0
    hand_over(tmp_path, since=since, created=True)
    assert tmp_path.stat().st_uid == NOBODY

"""Under sudo, what natsim writes belongs to the user who ran it — and nothing else is touched.

natsim hands over exactly the paths it created, from its own list (:mod:`natsim.outfiles`), through
the descriptor it created each with: no walk over the output directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from natsim.outfiles import OutputDir, sudo_owner

NOBODY = 65534
needs_root = pytest.mark.natsim_root   # giving a file to another user needs root on the host


def test_what_is_created_is_what_mkdir_p_creates(tmp_path: Path) -> None:
    with OutputDir.open(tmp_path / "a" / "b") as made:
        assert made.created == [tmp_path / "a", tmp_path / "a" / "b"]
    with OutputDir.open(tmp_path) as existing:
        assert existing.created == []


def test_without_sudo_nothing_is_handed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUDO_UID", raising=False)
    assert sudo_owner() is None
    with OutputDir.open(tmp_path / "out", for_user=True) as out:
        assert out.owner is None
        out.write_text("f", "x")
    assert (tmp_path / "out" / "f").stat().st_uid == os.geteuid()


@needs_root
def test_only_what_natsim_wrote_changes_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old.txt"
    old.write_text("the user's own file, there before the run")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setenv("SUDO_UID", str(NOBODY))
    monkeypatch.setenv("SUDO_GID", str(NOBODY))
    with OutputDir.open(tmp_path, for_user=True) as out:
        with out.subdir("pcap").open_stream("a.pcap") as pcap:
            pcap.write(b"x")
        (tmp_path / "someone-else.txt").write_text("root wrote this during the run, not natsim")
        (tmp_path / "pcap" / "theirs.pcap").write_bytes(b"y")
        out.write_text("result.json", "{}")
        assert [p.name for p in out.created] == ["pcap", "a.pcap", "result.json"]
    assert (tmp_path / "result.json").stat().st_uid == NOBODY
    assert (tmp_path / "pcap").stat().st_uid == NOBODY
    assert (tmp_path / "pcap" / "a.pcap").stat().st_uid == NOBODY
    assert old.stat().st_uid == 0 and tmp_path.stat().st_uid == 0
    assert (tmp_path / "someone-else.txt").stat().st_uid == 0
    assert (tmp_path / "pcap" / "theirs.pcap").stat().st_uid == 0
    with OutputDir.open(tmp_path / "new", for_user=True):
        pass
    assert (tmp_path / "new").stat().st_uid == NOBODY   # a directory natsim made is the user's

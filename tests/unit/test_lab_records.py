"""A lab record (natsim.lab.records) is appended to, never replaced: each save adds one line, a save cut
short by a SIGKILL loses only itself, and a record of natsim before the lines still loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from natsim.errors import LabError
from natsim.lab import records
from natsim.lab.records import LabRecord, ProcessEntry


@pytest.fixture(autouse=True)
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(records, "REGISTRY_DIR", tmp_path / "labs")
    return tmp_path / "labs"


def test_each_save_appends_what_changed_and_the_file_is_never_replaced() -> None:
    record = LabRecord(lab_id="abc123", owner_pid=10, topology="home-nat", owner_start=5)
    record.save()
    inode = record.path.stat().st_ino
    record.home = "/tmp/natsim-abc123-home-x"
    record.save()
    record.shells.append(ProcessEntry(11, 6, "client", "shell"))
    record.namespaces["client"] = 4026532000
    record.processes.append(ProcessEntry(12, 7, "client", "anchor"))
    record.save()
    record.save()   # nothing new: nothing written
    lines = record.path.read_text().splitlines()
    assert len(lines) == 3 and record.path.stat().st_ino == inode
    assert json.loads(lines[1]) == {"home": "/tmp/natsim-abc123-home-x"}
    assert json.loads(lines[2]) == {
        "namespaces": {"client": 4026532000},
        "shells": [{"pid": 11, "start": 6, "node": "client", "what": "shell"}],
        "processes": [{"pid": 12, "start": 7, "node": "client", "what": "anchor"}]}
    assert LabRecord.load(record.path) == record


def test_a_save_cut_short_is_ignored_and_the_saves_before_it_are_read() -> None:
    record = LabRecord(lab_id="abc123", owner_pid=10, topology="home-nat")
    record.save()
    record.processes.append(ProcessEntry(12, 7, "client", "anchor"))
    record.save()
    whole = LabRecord.load(record.path)
    with record.path.open("ab") as file:
        file.write(b'{"processes":[{"pid":13,"start"')      # SIGKILL in the middle of a write
    assert LabRecord.load(record.path) == whole
    record.path.write_bytes(b'{"lab_id":"abc1')
    with pytest.raises(ValueError):
        LabRecord.load(record.path)
    assert records.all_records() == []


def test_a_loaded_record_appends_and_a_removed_one_is_written_whole_again() -> None:
    record = LabRecord(lab_id="abc123", owner_pid=10, topology="home-nat")
    record.save()
    loaded = LabRecord.load(record.path)
    loaded.processes.append(ProcessEntry(12, 7, "client", "anchor"))
    loaded.save()
    assert len(record.path.read_text().splitlines()) == 2
    record.path.unlink()
    loaded.home = "/tmp/h"
    loaded.save()
    assert LabRecord.load(record.path) == loaded and len(record.path.read_text().splitlines()) == 1


def test_a_change_that_is_no_addition_replaces_the_record_in_a_line() -> None:
    record = LabRecord(lab_id="abc123", owner_pid=10, topology="home-nat",
                       processes=[ProcessEntry(12, 7, "client", "anchor")])
    record.save()
    record.processes.clear()
    record.save()
    assert LabRecord.load(record.path) == record


def test_a_record_written_whole_by_an_older_natsim_loads(registry: Path) -> None:
    registry.mkdir()
    path = registry / "natsim-abc123.json"
    path.write_text(json.dumps({"lab_id": "abc123", "owner_pid": 10, "topology": "t", "owner_start": None,
                                "namespaces": {}, "shells": [], "processes": [], "home": ""}, indent=1))
    assert LabRecord.load(path).lab_id == "abc123"


def test_a_new_record_never_joins_an_existing_file() -> None:
    LabRecord(lab_id="abc123", owner_pid=10, topology="t").save()
    with pytest.raises(LabError, match="exists"):
        LabRecord(lab_id="abc123", owner_pid=11, topology="t").save()

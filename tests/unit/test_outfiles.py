"""natsim.outfiles: nothing natsim writes ever goes through a symbolic link, and one natsim at a time
writes an output directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from natsim.errors import OutputError
from natsim.outfiles import LOCK_NAME, OutputDir, make_dir, open_new, write_file

TARGET_TEXT = "the file a planted link points at\n"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A file outside the output directory that a planted link points at."""
    path = tmp_path / "target"
    path.write_text(TARGET_TEXT)
    return path


def _stream(out: OutputDir, name: str) -> None:
    with out.open_stream(name) as handle:
        handle.write(b"x")


WRITERS: dict[str, Callable[[OutputDir, str], object]] = {
    "write_text": lambda out, name: out.write_text(name, "x"),
    "write_bytes": lambda out, name: out.write_bytes(name, b"x"),
    "write_with": lambda out, name: out.write_with(name, lambda h: h.write(b"x")),
    "open_stream": _stream,
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_link_at_the_name_is_refused_and_its_target_unchanged(writer: str, tmp_path: Path,
                                                                 target: Path) -> None:
    out_path = tmp_path / "out"
    out_path.mkdir()
    (out_path / "summary.txt").symlink_to(target)
    with OutputDir.open(out_path) as out, pytest.raises(OutputError) as info:
        WRITERS[writer](out, "summary.txt")
    assert str(info.value) == (f"{out_path}/summary.txt is a symbolic link; natsim does not write "
                               "through links")
    assert target.read_text() == TARGET_TEXT
    assert sorted(os.listdir(out_path)) == ["summary.txt"]      # no temporary file left behind


def test_the_check_before_any_work_names_the_first_link(tmp_path: Path, target: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "survival.png").symlink_to(target)
    with OutputDir.open(tmp_path / "out") as out:
        out.refuse_links(["result.json", "summary.txt"])
        with pytest.raises(OutputError, match=r"out/survival\.png is a symbolic link"):
            out.refuse_links(["result.json", "survival.png"])


def test_an_existing_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    """A re-run replaces the file with a new one (a hard link to the old one keeps the old text)."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "result.json").write_text("old")
    os.link(tmp_path / "out" / "result.json", tmp_path / "hard")
    with OutputDir.open(tmp_path / "out") as out:
        out.write_text("result.json", "new")
    assert (tmp_path / "out" / "result.json").read_text() == "new"
    assert (tmp_path / "hard").read_text() == "old"


def test_links_to_directories_are_refused(tmp_path: Path, target: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "pcap").symlink_to(elsewhere)
    (tmp_path / "link-out").symlink_to(tmp_path / "out")
    with OutputDir.open(tmp_path / "out") as out, pytest.raises(OutputError, match="pcap is a symbolic link"):
        out.subdir("pcap")
    with pytest.raises(OutputError, match="link-out is a symbolic link"):
        OutputDir.open(tmp_path / "link-out")
    with pytest.raises(OutputError, match="link-out is a symbolic link"):
        make_dir(tmp_path / "link-out")
    with pytest.raises(OutputError, match="target exists and is not a directory"):
        OutputDir.open(target)
    assert os.listdir(elsewhere) == []


def test_single_file_helpers_never_follow_links(tmp_path: Path, target: Path) -> None:
    (tmp_path / "r.json").symlink_to(target)
    (tmp_path / "r.log").symlink_to(target)
    with pytest.raises(OutputError, match=r"r\.json is a symbolic link"):
        write_file(tmp_path / "r.json", "{}")
    with pytest.raises(OutputError, match=r"r\.log is a symbolic link"):
        open_new(tmp_path / "r.log")
    assert target.read_text() == TARGET_TEXT
    assert write_file(tmp_path / "a" / "b.json", "{}").read_text() == "{}"   # parents made


def test_writes_go_to_the_directory_opened_even_when_its_path_is_swapped(tmp_path: Path) -> None:
    """Everything is written relative to the directory's descriptor: replacing the output directory
    by a link after natsim opened it cannot send a write elsewhere."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with OutputDir.open(tmp_path / "out") as out:
        (tmp_path / "out").rename(tmp_path / "moved")
        (tmp_path / "out").symlink_to(elsewhere)
        out.subdir("pcap").write_text("capture.json", "{}")
        out.write_text("summary.txt", "ok")
    assert os.listdir(elsewhere) == []
    assert (tmp_path / "moved" / "summary.txt").read_text() == "ok"
    assert (tmp_path / "moved" / "pcap" / "capture.json").read_text() == "{}"


def test_one_natsim_per_directory(tmp_path: Path) -> None:
    with OutputDir.open(tmp_path / "out") as first:
        first.lock()
        holder = (tmp_path / "out" / LOCK_NAME).read_text()
        assert f"pid {os.getpid()}: natsim" in holder
        with OutputDir.open(tmp_path / "out") as second, pytest.raises(OutputError) as info:
            second.lock()
        assert str(info.value) == (f"{tmp_path / 'out'} is in use by {holder.strip()}; natsim writes an "
                                   "output directory from one run at a time")
    assert not (tmp_path / "out" / LOCK_NAME).exists()     # released and removed
    with OutputDir.open(tmp_path / "out") as again:
        again.lock()


def test_a_run_refused_before_the_holder_wrote_its_line_still_names_it(tmp_path: Path) -> None:
    """The holder writes who it is just after taking the lock; a run refused in between (seen in a whole
    test run on 2 cores: "is in use by another natsim") waits for the line."""
    (tmp_path / "out").mkdir()
    code = ("import fcntl, os, sys, time\n"
            f"fd = os.open({str(tmp_path / 'out' / LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(0.3)\n"
            "os.pwrite(fd, b'another natsim run (pid 1: natsim run late.yaml)\\n', 0); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with OutputDir.open(tmp_path / "out") as out, pytest.raises(OutputError) as info:
            out.lock()
        assert "is in use by another natsim run (pid 1: natsim run late.yaml);" in str(info.value)
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_natsim_does_not_block(tmp_path: Path) -> None:
    """flock is released by the kernel when its holder dies; only the file stays behind."""
    code = ("import os, sys; from natsim.outfiles import OutputDir\n"
            f"d = OutputDir.open({str(tmp_path / 'out')!r}); d.lock(); os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "out" / LOCK_NAME).exists()
    with OutputDir.open(tmp_path / "out") as out:
        out.lock()


def test_a_planted_lock_link_is_refused(tmp_path: Path, target: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / LOCK_NAME).symlink_to(target)
    with OutputDir.open(tmp_path / "out") as out, pytest.raises(OutputError, match="is a symbolic link"):
        out.lock()
    assert target.read_text() == TARGET_TEXT


def test_logs_are_copied_from_a_private_directory_without_links(tmp_path: Path, target: Path) -> None:
    work = tmp_path / "work"
    (work / "lab").mkdir(parents=True)
    (work / "serve-server.log").write_text("served")
    (work / "lab" / "proxy.log").write_text("proxied")
    (work / "send.out").write_text("output")
    (work / "id_ed25519").write_text("private key")
    (work / "linked.log").symlink_to(target)
    with OutputDir.open(tmp_path / "out") as out:
        copied = out.copy_files(work, (".log", ".out"))
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in copied) == [
        "lab/proxy.log", "send.out", "serve-server.log"]
    assert sorted(os.listdir(tmp_path / "out")) == ["lab", "send.out", "serve-server.log"]
    assert (tmp_path / "out" / "lab" / "proxy.log").read_text() == "proxied"


def test_a_tree_appears_whole_and_replaces_an_older_one(tmp_path: Path) -> None:
    with OutputDir.open(tmp_path / "out") as out:
        out.write_tree("run", {"old.txt": b"old"})
        path = out.write_tree("run", {"result.json": b"{}", "pcap/a.pcap": b"pcap"})
    assert sorted(str(p.relative_to(path)) for p in path.rglob("*")) == ["pcap", "pcap/a.pcap", "result.json"]
    assert (path / "pcap/a.pcap").read_bytes() == b"pcap"
    assert os.listdir(tmp_path / "out") == ["run"]        # no staging or old directory left


def test_a_tree_that_fails_leaves_nothing_half_written(tmp_path: Path, target: Path) -> None:
    with OutputDir.open(tmp_path / "out") as out:
        with pytest.raises(OutputError, match="not a file name"):
            out.write_tree("run", {"result.json": b"{}", "../escape": b"x"})
        os.symlink(target.parent, tmp_path / "out" / "linked")
        with pytest.raises(OutputError, match="symbolic link"):
            out.write_tree("linked", {"result.json": b"{}"})
    assert sorted(os.listdir(tmp_path / "out")) == ["linked"]
    assert not (target.parent / "result.json").exists()

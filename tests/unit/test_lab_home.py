"""A lab's own home for root (natsim.lab.home): the password file that names it, what it holds, and
that ``natsim cleanup`` removes only a home natsim made for that lab."""

from __future__ import annotations

import os
from pathlib import Path

from natsim.lab.home import LabHome, home_passwd
from natsim.lab.records import LabRecord

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
toor:x:0:0:second root:/home/toor:/bin/sh
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash
"""


def test_only_roots_home_changes() -> None:
    assert home_passwd(PASSWD, "/tmp/lab/root").splitlines() == [
        "root:x:0:0:root:/tmp/lab/root:/bin/bash",
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        "toor:x:0:0:second root:/tmp/lab/root:/bin/sh",
        "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash",
    ]


def test_a_home_holds_an_ssh_config_keeping_known_hosts_there() -> None:
    home = LabHome.create("abc123")
    try:
        assert home.base.name.startswith("natsim-abc123-home-")
        assert (home.base.stat().st_mode & 0o777) == 0o700 and (home.home.stat().st_mode & 0o777) == 0o700
        config = (home.home / ".ssh" / "config").read_text()
        assert f"UserKnownHostsFile {home.home}/.ssh/known_hosts\n" in config
        assert "GlobalKnownHostsFile /dev/null\n" in config
        assert f":0:0:root:{home.home}:" in home.passwd.read_text()
        assert home.env == {"HOME": str(home.home), "TMPDIR": str(home.tmp)}
        assert home.tmp.parent == home.base and (home.tmp.stat().st_mode & 0o777) == 0o700
        scratch = home.scratch("sshd-")
        assert scratch.parent == home.base and scratch.name.startswith("sshd-")
        assert (scratch.stat().st_mode & 0o777) == 0o700
        assert home.shell_setup().split() == ["mount", "--bind", str(home.passwd), "/etc/passwd"]
        assert not home.mounted_in(os.getpid())
    finally:
        home.remove()
    assert not home.base.exists()


def test_cleanup_removes_only_a_home_natsim_made_for_that_lab(tmp_path: Path) -> None:
    mine = LabHome.create("abc123")
    try:
        def record(home: str, lab_id: str = "abc123") -> LabRecord:
            return LabRecord(lab_id=lab_id, owner_pid=1, topology="home-nat", home=home)

        found = LabHome.recorded(record(str(mine.base)))
        assert found is not None and found.base == mine.base
        assert LabHome.recorded(record(str(mine.base), lab_id="def456")) is None   # another lab's name
        assert LabHome.recorded(record("")) is None
        assert LabHome.recorded(record(str(tmp_path))) is None                     # not a lab home
        link = tmp_path / mine.base.name
        os.symlink(mine.base, link)
        assert LabHome.recorded(record(str(link))) is None                         # a link to one
    finally:
        mine.remove()


def test_inside_natsims_namespaces_a_home_lives_on_their_private_run() -> None:
    """A rootless lab killed with its keeper leaves nothing: its home was on the namespace's tmpfs."""
    from natsim.lab.userns_support import PRIVATE_RUN, private_run

    host = ("25 1 0:22 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=1600k,mode=755\n"
            "26 1 0:23 / /proc rw - proc proc rw\n")
    inside = host + f"301 25 0:88 / /run rw,nosuid,nodev - tmpfs {PRIVATE_RUN} rw,mode=755\n"
    assert private_run(host) is None and private_run(inside) == Path("/run")


def test_with_root_a_home_lives_on_dev_shm_when_it_is_a_tmpfs() -> None:
    """Removing a home from a tmpfs costs no disk work (three rmdirs on this machine's ext4: ~10 ms)."""
    from natsim.lab.home import SHM, home_parent

    host = ("25 1 0:22 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=1600k,mode=755\n"
            "27 1 0:24 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw\n")
    assert home_parent(host) == (SHM if os.access(SHM, os.W_OK | os.X_OK) else None)
    assert home_parent(host.replace(" - tmpfs tmpfs rw\n", " - ext4 /dev/vda rw\n")) is None
    assert home_parent("25 1 0:22 / /run rw - tmpfs tmpfs rw\n") is None

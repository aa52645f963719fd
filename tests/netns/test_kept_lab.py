"""A lab that stays up between commands: ``natsim lab up|exec|list|down`` in fresh processes, two labs
at once, a keeper killed, a student's rootless lab, an interactive shell and ssh through a pty."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from natsim.lab.kept import record_path
from tests.netns.kept_helpers import (
    NATSIM,
    Screen,
    cells,
    entry,
    kept_lab,
    lab_processes,
    natsim,
    own_env,
    still_running,
    unique,
    wait_for,
)
from tests.rootless import as_ordinary_user, carrying, mounts, rootless_env
from tests.rootstate import differences, snapshot

pytestmark = pytest.mark.natsim_netns


def test_up_exec_list_down_and_the_root_namespace_is_unchanged() -> None:
    before, own_mounts = snapshot(), mounts()
    name = unique("updown")
    with kept_lab("home-nat", "--time-scale", "60", name=name) as up:
        assert (up["name"], up["status"], up["topology"], up["time_scale"]) == (name, "up", "home-nat", 60)
        assert up["mode"] in ("root", "namespace") and up["addresses"]["server"] == "198.51.100.10"
        listed = {lab["name"]: lab for lab in json.loads(natsim("lab", "list", "--json").stdout)}
        assert listed[name]["status"] == "up" and listed[name]["owner"]
        shown = natsim("lab", "exec", name, "client", "ip", "-br", "addr")
        assert shown.returncode == 0 and "192.0.2.10/24" in shown.stdout, shown.stderr
        assert natsim("lab", "exec", name, "client", "echo", "server").stdout == "198.51.100.10\n"
        assert natsim("lab", "exec", name, "client", "sh", "-c", "exit 7").returncode == 7
        assert natsim("lab", "exec", name, "client", "ping", "-c1", "-W2", "server").returncode == 0
        processes = lab_processes(name)
        assert len(still_running(processes)) == len(processes) >= 7   # keeper, 3 shells, 3 anchors
        down = natsim("lab", "down", name)
        assert down.returncode == 0 and down.stdout == f"lab {name} is down\n", down.stderr
        wait_for(lambda: not still_running(processes), 10, "the lab's processes are still running")
        assert not record_path(up["lab_id"]).exists()
        assert name not in natsim("lab", "list").stdout
    again = natsim("lab", "down", name)
    assert again.returncode == 2 and again.stderr.startswith(f"natsim: error: no lab named '{name}'")
    assert differences(before, snapshot()) == [] and mounts() == own_mounts


def _established(ruleset: str) -> int:
    found = re.search(r"established\s*:\s*(\d+)", ruleset)
    assert found is not None, ruleset
    return int(found.group(1))


def test_two_named_labs_at_once_each_with_its_own_addresses_and_rules() -> None:
    from natsim.lab.doctor import kept_check

    one, two = unique("one"), unique("two")
    ups = [subprocess.Popen([*NATSIM, "lab", "up", "home-nat", "--name", name, "--time-scale", "60", "--set",
                             f"router.idle_timeout={timeout}"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for name, timeout in ((one, "1h"), (two, "2h"))]   # brought up side by side
    try:
        for up in ups:
            out, err = up.communicate(timeout=120)
            assert up.returncode == 0, out + err
        added = natsim("lab", "exec", one, "client", "ip", "addr", "add", "192.0.2.99/24", "dev",
                       "client-eth0")
        assert added.returncode == 0, added.stderr
        assert "192.0.2.99" in natsim("lab", "exec", one, "client", "ip", "-br", "addr").stdout
        assert "192.0.2.99" not in natsim("lab", "exec", two, "client", "ip", "-br", "addr").stdout
        rules = {name: natsim("lab", "exec", name, "router", "nft", "list", "ruleset").stdout
                 for name in (one, two)}
        assert (_established(rules[one]), _established(rules[two])) == (60, 120)
        assert natsim("lab", "exec", two, "client", "ping", "-c1", "-W2", "server").returncode == 0
        # natsim doctor lists both, neither is a problem: both up (its row is not asserted ok as a whole:
        # it lists every lab of this user, and another test's broken one may be there meanwhile)
        check = kept_check()
        assert all(re.search(rf"\b{name} \(home-nat, \w+, up, ", check.detail) for name in (one, two)), check
        by_cleanup = natsim("cleanup", "--lab", one)   # a lab up is removed by cleanup too, by its name
        assert by_cleanup.returncode == 0 and f"lab {one} (" in by_cleanup.stdout, by_cleanup.stderr
        assert one not in natsim("lab", "list").stdout
        assert natsim("lab", "exec", two, "client", "true").returncode == 0   # the other one is untouched
    finally:
        downs = [natsim("lab", "down", name) for name in (one, two)]
    assert [down.returncode for down in downs] == [2, 0], [down.stderr for down in downs]


@pytest.mark.parametrize("remover", ["down", "cleanup"])
def test_a_lab_whose_keeper_was_killed_is_listed_broken_and_removed(remover: str) -> None:
    from natsim.lab.doctor import kept_check

    own_mounts, name = mounts(), unique("killed")
    with kept_lab("home-nat", "--sshd", "server", name=name) as up:
        processes = lab_processes(name)   # keeper, shells, anchors, sshd
        keeper = entry(name).keeper
        assert keeper is not None
        os.kill(keeper.pid, signal.SIGKILL)
        wait_for(lambda: keeper.pid not in still_running(processes), 10, "the keeper is still running")
        listed = {lab["name"]: lab for lab in json.loads(natsim("lab", "list", "--json").stdout)}
        assert listed[name]["status"] == "broken"
        check = kept_check()   # natsim doctor's row
        assert not check.ok and f"{name} (home-nat, {up['mode']}, broken" in check.detail
        refused = natsim("lab", "exec", name, "client", "true")
        assert refused.returncode == 2
        assert refused.stderr == (f"natsim: error: lab {name} is broken: its keeper is gone; "
                                  f"`natsim lab down {name}` removes what is left\n")
        assert still_running(processes), "the anchors outlive the keeper: something to remove"
        removed = (natsim("lab", "down", name) if remover == "down"
                   else natsim("cleanup", "--lab", up["lab_id"]))
        assert removed.returncode == 0, removed.stdout + removed.stderr
        wait_for(lambda: not still_running(processes), 10, "a process of the lab is still running")
        assert not record_path(up["lab_id"]).exists()
        assert name not in natsim("lab", "list").stdout
    assert mounts() == own_mounts


def test_exec_into_a_lab_that_goes_down_says_so() -> None:
    name = unique("godown")
    with kept_lab("home-nat", name=name):
        run = subprocess.Popen([*NATSIM, "lab", "exec", name, "client", "sleep", "60"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        wait_for(lambda: natsim("lab", "exec", name, "client", "pgrep", "-x", "sleep").returncode == 0, 30,
                 "the command did not start")
        assert natsim("lab", "down", name).returncode == 0
        _, err = run.communicate(timeout=30)
    assert run.returncode == 2
    assert err == (f"natsim: error: lab {name} went down while `sleep 60` ran in client (it ended by "
                   "signal 9)\n")


def test_an_interactive_shell_through_a_pty() -> None:
    name = unique("shell")
    with kept_lab("home-nat", name=name):
        shell = pexpect.spawn(NATSIM[0], [*NATSIM[1:], "lab", "exec", name, "client", "bash"],
                              encoding="utf-8", dimensions=(33, 111), timeout=30, env=own_env(TERM="xterm"))
        shell.expect_exact(f"({name}:client)")            # the prompt names the lab and the node
        shell.sendline("ip -br addr; stty size; tty")
        shell.expect(r"client-eth0\S*\s+UP\s+192\.0\.2\.10/24")
        shell.expect_exact("33 111")                      # the terminal's size reached the command
        shell.expect(r"/dev/pts/\d+")
        shell.sendline("sleep 30")
        time.sleep(0.5)
        shell.sendcontrol("c")                            # a keystroke for the command, not for natsim
        shell.expect_exact(f"({name}:client)")
        shell.sendline("echo still-$((6*7))")
        shell.expect_exact("still-42")
        shell.sendline("exit 5")
        shell.expect(pexpect.EOF)
        shell.close()
    assert (shell.exitstatus, shell.signalstatus) == (5, None)


def test_ssh_from_a_node_through_lab_exec_leaves_the_hosts_ssh_alone() -> None:
    before, name = snapshot(), unique("ssh")
    with kept_lab("home-nat", "--sshd", "server", name=name):
        ssh = pexpect.spawn(NATSIM[0], [*NATSIM[1:], "lab", "exec", name, "client", "ssh", "server", "echo",
                                        "lab-login-$((6*7))"], encoding="utf-8", timeout=60)
        ssh.expect("password:")
        ssh.sendline("natsim")
        ssh.expect_exact("lab-login-42")
        ssh.expect(pexpect.EOF)
        ssh.close()
        assert ssh.exitstatus == 0, ssh.before
        # the lab's own home has the server's key (known_hosts is hashed: ssh-keygen -F finds it)
        known = natsim("lab", "exec", name, "client", "sh", "-c",
                       'ssh-keygen -F 198.51.100.10 -f "$HOME/.ssh/known_hosts"')
        assert known.returncode == 0 and "198.51.100.10 found" in known.stdout, known.stdout + known.stderr
    assert differences(before, snapshot()) == []   # root's (and $SUDO_USER's) ~/.ssh included


@pytest.fixture
def student() -> Iterator[dict[str, str]]:
    """The environment of an ordinary user's natsim (as ``nobody`` when the tests run as root): labs
    kept in a directory of theirs, removed afterwards."""
    runs = Path(tempfile.mkdtemp(prefix="natsim-student-"))
    try:
        if as_ordinary_user():
            os.chown(runs, 65534, 65534)
        runs.chmod(0o700)
        yield {**rootless_env(f"student-{os.getpid()}-{time.monotonic_ns()}"), "NATSIM_RUN_DIR": str(runs)}
    finally:
        shutil.rmtree(runs)


def test_a_students_rootless_lab_up_exec_killed_and_down(student: dict[str, str]) -> None:
    """Rootless, the keeper is the holder of natsim's namespaces: killing it removes the lab (the
    kernel does), and `natsim lab down` only forgets it. Nothing of either lab is left."""
    prefix, own_mounts, token = as_ordinary_user(), mounts(), student["NATSIM_TEST_TOKEN"]
    killed, kept, lab_ids = unique("student"), unique("student"), []
    with contextlib.ExitStack() as labs:
        for name in (killed, kept):
            up = labs.enter_context(kept_lab("home-nat", "--time-scale", "60", name=name, env=student,
                                             prefix=prefix))
            assert up["mode"] == "rootless" and up["status"] == "up"
            lab_ids.append(up["lab_id"])
        listed = json.loads(natsim("lab", "list", "--json", env=student, prefix=prefix).stdout)
        assert [(lab["name"], lab["mode"], lab["status"]) for lab in listed] == [
            (killed, "rootless", "up"), (kept, "rootless", "up")]
        if prefix:   # an ordinary user's lab: theirs, not root's
            assert {lab["owner"] for lab in listed} == {"nobody"}
        inside = natsim("lab", "exec", killed, "client", "sh", "-c", "id -u; ip -br addr; exit 3",
                        env=student, prefix=prefix)
        assert inside.returncode == 3 and inside.stdout.startswith("0\n") and "192.0.2.10/24" in inside.stdout
        assert natsim("lab", "exec", kept, "client", "ping", "-c1", "-W2", "server", env=student,
                      prefix=prefix).returncode == 0
        os.kill(listed[0]["keeper"], signal.SIGKILL)

        def listed_status() -> str:
            listing = natsim("lab", "list", "--json", env=student, prefix=prefix)
            return str(json.loads(listing.stdout)[0]["status"])

        wait_for(lambda: listed_status() == "gone", 20, "the killed lab is not shown as gone")
        refused = natsim("lab", "exec", killed, "client", "true", env=student, prefix=prefix)
        assert refused.returncode == 2 and f"lab {killed} is gone" in refused.stderr
        forgotten = natsim("lab", "down", killed, env=student, prefix=prefix)
        assert forgotten.returncode == 0 and "nothing is left" in forgotten.stdout
        down = natsim("lab", "down", kept, env=student, prefix=prefix)
        assert down.returncode == 0 and down.stdout == f"lab {kept} is down\n", down.stderr
    wait_for(lambda: not carrying(token), 15, f"processes of the student's labs remain: {carrying(token)}")
    assert mounts() == own_mounts
    assert json.loads(natsim("lab", "list", "--json", env=student, prefix=prefix).stdout) == []
    assert os.listdir(Path(student["NATSIM_RUN_DIR"]) / "kept") == []
    # the labs' homes were on their namespaces' private /run: none is left in /tmp, the killed one's too
    assert [home for lab_id in lab_ids for home in Path(tempfile.gettempdir()).glob(f"natsim-{lab_id}-home-*")
            ] == []


def _udp_row(lines: list[str]) -> list[str] | None:
    """The cells of the UDP flow's row on ``natsim watch``'s screen (None: no such row)."""
    rows = [cells(line) for line in lines if line.strip().startswith("│")]
    return next((row for row in rows if row[0] == "udp"), None)


def test_watch_in_a_pseudo_terminal_shows_a_flow_count_down_and_vanish() -> None:
    """The router's UDP timeout is 8 lab seconds (its udp_timeout setting, 8 min at time scale 60: the
    NAT's own timeout object, which a sysctl would not override): the student sees the flow appear
    with its NAT mapping, its time left fall in real-world minutes at time scale 60, and the row
    vanish; q quits with exit 0."""
    name = unique("watch")
    with kept_lab("home-nat", "--time-scale", "60", "--set", "router.udp_timeout=8m", name=name):
        screen = Screen([*NATSIM, "watch", name, "router"], env=own_env(TERM="xterm-256color"))
        try:
            screen.until(lambda lines: any("(no flows)" in line for line in lines), 30, "no empty table")
            sent = natsim("lab", "exec", name, "client", "bash", "-c", "echo hi >/dev/udp/198.51.100.10/5000")
            assert sent.returncode == 0, sent.stderr
            lines = screen.until(lambda lines: _udp_row(lines) is not None, 10, "the UDP flow did not appear")
            assert any(f"natsim watch {name} router: 1 flow, time scale 60" in line for line in lines)
            first = _udp_row(lines)
            assert first is not None
            proto, state, left, lab_s, original, mapped = first
            # never above the router's 8 lab seconds; how much is left when first drawn depends on the
            # machine's load (the send's return, the 1 s refresh), so only the bound is asserted
            assert (proto, state) == ("udp", "UNREPLIED") and 0 < int(lab_s) <= 8
            assert left == f"{lab_s}m"                          # lab seconds x 60, in real-world units
            port = re.fullmatch(r"192\.0\.2\.10:(\d+) -> 198\.51\.100\.10:5000", original)
            assert port is not None, original
            assert mapped == f"192.0.2.10:{port.group(1)} => 198.51.100.1:{port.group(1)}"

            def counted_down(lines: list[str]) -> bool:
                row = _udp_row(lines)
                return row is not None and int(row[3]) < int(lab_s) and row[2] == f"{row[3]}m"

            screen.until(counted_down, 5, "the time left did not count down")
            screen.until(lambda lines: _udp_row(lines) is None and any("(no flows)" in ln for ln in lines),
                         15, "the expired flow did not vanish")
            screen.child.send("q")
            assert screen.close() == (0, None)
        finally:
            if screen.child.isalive():
                screen.child.terminate(force=True)

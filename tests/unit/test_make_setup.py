"""``make packages`` (part of ``make setup``) installs coturn (the RFC 5780 interop tests run it in lab
nodes) without ever leaving a host service: the Makefile's own recipe, run with stand-ins for apt-get,
dpkg-query, id and systemctl that record what they were asked (nothing on the host changes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]

STUBS = {
    # every package is missing unless $INSTALLED names it
    "dpkg-query": 'case " $INSTALLED " in *" ${@: -1} "*) echo "install ok installed";; *) exit 1;; esac',
    # what the host's policy says about starting a service while the packages install
    "apt-get": 'echo "apt-get $*" >> "$LOG"; [ "$1" = install ] || exit 0\n'
               'if [ -x "$POLICY" ]; then "$POLICY" coturn start; echo "policy $?" >> "$LOG"; '
               'else echo "policy none" >> "$LOG"; fi',
    "systemctl": 'echo "systemctl $*" >> "$LOG"; [ "$1" != is-active ] || exit "$ACTIVE"',
    "id": "echo 0",   # installing is root's step (`sudo make packages`)
}


def make_debian_packages(tmp_path: Path, *, installed: str = "", policy: str | None = None,
                         systemd: bool = False) -> list[str]:
    """Run the recipe; what the stand-ins were asked. ``systemd``: systemd runs the host and the
    service is active (a host policy let it start)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for name, body in STUBS.items():
        (stubs / name).write_text(f"#!/bin/bash\n{body}\n")
        (stubs / name).chmod(0o755)
    log, rc = tmp_path / "log", tmp_path / "policy-rc.d"
    if policy is not None:
        rc.write_text(policy)
        rc.chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "LOG": str(log), "POLICY": str(rc),
           "INSTALLED": installed, "ACTIVE": "0" if systemd else "3"}
    done = subprocess.run(["make", "--no-print-directory", "-C", str(CHECKOUT), "packages",
                           "APT_PACKAGES=iproute2 coturn", "HOST_APT_PACKAGES=", f"POLICY_RC_D={rc}",
                           f"SYSTEMD_RUNNING={tmp_path if systemd else tmp_path / 'no-systemd'}"],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_coturn_installs_with_service_starts_denied_and_its_unit_disabled(tmp_path: Path) -> None:
    calls = make_debian_packages(tmp_path)
    assert calls[:3] == ["apt-get update -qq",
                         "apt-get install -y -qq --no-install-recommends iproute2 coturn", "policy 101"]
    assert "systemctl disable --quiet coturn.service" in calls
    assert not (tmp_path / "policy-rc.d").exists(), "the temporary policy-rc.d is removed"


def test_a_hosts_own_policy_is_left_as_it_is(tmp_path: Path) -> None:
    own = "#!/bin/sh\nexit 0\n"
    calls = make_debian_packages(tmp_path, policy=own)
    assert "policy 0" in calls and "systemctl disable --quiet coturn.service" in calls
    assert (tmp_path / "policy-rc.d").read_text() == own


def test_under_systemd_a_service_a_host_policy_let_start_is_stopped(tmp_path: Path) -> None:
    calls = make_debian_packages(tmp_path, policy="#!/bin/sh\nexit 0\n", systemd=True)
    assert calls[-3:] == ["systemctl disable --quiet coturn.service",
                          "systemctl is-active --quiet coturn.service", "systemctl stop coturn.service"]


def test_nothing_runs_when_everything_is_installed(tmp_path: Path) -> None:
    assert make_debian_packages(tmp_path, installed="iproute2 coturn") == []


def test_a_package_without_a_service_is_not_touched(tmp_path: Path) -> None:
    calls = make_debian_packages(tmp_path, installed="coturn")
    assert calls == ["apt-get update -qq", "apt-get install -y -qq --no-install-recommends iproute2",
                     "policy 101"]

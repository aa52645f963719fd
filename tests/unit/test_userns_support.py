"""Which mode labs are built in, and why unprivileged user namespaces are off: every branch with injected
readings (the host's sysctls are never changed), and ``natsim doctor``'s mode line built from them."""

from __future__ import annotations

import errno
import os

import pytest

from natsim.errors import PrivilegeError
from natsim.lab.doctor import mode_check
from natsim.lab.userns_support import (
    EntryFailure,
    Mode,
    NamespaceRefused,
    Readings,
    explain,
    lab_mode,
)
from natsim.privileges import in_user_namespace, maps_uid

ALLOWED = Readings(max_user_namespaces=63000, unprivileged_userns_clone=None, apparmor_restrict=0, seccomp=0)
HOST_MAP = "         0          0 4294967295\n"
ONE_ID = "         0       1000          1\n"


@pytest.mark.parametrize(("readings", "setting"), [
    (Readings(max_user_namespaces=0), "sudo sysctl -w user.max_user_namespaces=15000"),
    (Readings(unprivileged_userns_clone=0), "sudo sysctl -w kernel.unprivileged_userns_clone=1"),
    (Readings(apparmor_restrict=1), "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
], ids=["max_user_namespaces", "debian-clone-switch", "ubuntu-apparmor"])
def test_a_sysctl_that_forbids_user_namespaces_is_named_with_its_one_setting(
        readings: Readings, setting: str) -> None:
    found = explain(readings, EntryFailure("unshare", errno.EPERM, "Operation not permitted"))
    assert found is not None and found.fix == setting
    assert str(found).endswith(f"to allow it: {setting} (or run natsim as root)")
    assert explain(readings) == found   # the sysctl alone explains it, before any trial


def test_nothing_is_explained_where_nothing_forbids_them() -> None:
    assert explain(ALLOWED) is None
    assert explain(Readings()) is None   # a kernel without the switches: nothing says no


def test_a_containers_seccomp_profile_is_told_apart() -> None:
    found = explain(Readings(seccomp=2), EntryFailure("unshare", errno.EPERM, "Operation not permitted"))
    assert found is not None and "seccomp profile" in found.reason
    assert found.fix == "start the container with --security-opt seccomp=unconfined"
    plain = explain(Readings(seccomp=0), EntryFailure("unshare", errno.EPERM, "Operation not permitted"))
    assert plain is not None and "seccomp" not in plain.reason and "unshare" in plain.reason


def test_the_namespace_limit_reached_and_the_later_steps() -> None:
    full = explain(Readings(max_user_namespaces=5), EntryFailure("unshare", errno.ENOSPC, "No space"))
    assert full is not None and "(user.max_user_namespaces = 5)" in full.reason
    proc = explain(ALLOWED, EntryFailure("proc", errno.EPERM, "mount /proc: Operation not permitted"))
    assert proc is not None and proc.fix == "start the container with --security-opt systempaths=unconfined"
    seccomp = explain(ALLOWED, EntryFailure("seccomp", 0, "libseccomp not found"))
    assert seccomp is not None and "libseccomp2" in seccomp.fix


def test_the_holders_report_is_parsed_and_a_silent_death_is_still_explained() -> None:
    assert EntryFailure.parse("uid_map\t1\tOperation not permitted", 125) == \
        EntryFailure("uid_map", 1, "Operation not permitted")
    silent = EntryFailure.parse("", 137)
    assert silent.step == "start" and "exit code 137" in silent.message
    refused = NamespaceRefused(silent, ALLOWED)
    assert isinstance(refused, PrivilegeError) and "cannot build a lab without root" in str(refused)


def test_the_uid_map_tells_the_host_from_a_namespace() -> None:
    assert not in_user_namespace(HOST_MAP)
    assert in_user_namespace(ONE_ID)
    assert maps_uid(0, ONE_ID) and not maps_uid(103, ONE_ID)
    assert maps_uid(103, HOST_MAP)
    assert maps_uid(103, ONE_ID + "         1     100000      65536\n")


def test_the_mode_follows_the_user_and_natsim_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lab_mode({}, euid=1000) is Mode.ROOTLESS
    assert lab_mode({"NATSIM_MODE": "rootless"}, euid=0) is Mode.ROOTLESS
    assert lab_mode({"NATSIM_MODE": "auto"}, euid=0) in (Mode.ROOT, Mode.NAMESPACE)
    with pytest.raises(PrivilegeError, match="NATSIM_MODE=root: labs need root"):
        lab_mode({"NATSIM_MODE": "root"}, euid=1000)
    with pytest.raises(PrivilegeError, match="expected auto, root or rootless"):
        lab_mode({"NATSIM_MODE": "sometimes"}, euid=1000)


def _refuse(failure: EntryFailure) -> None:
    raise NamespaceRefused(failure, ALLOWED)


def test_doctor_names_the_mode_and_the_setting_that_enables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATSIM_MODE", "rootless")   # the rootless branch, whoever runs the test
    ok = mode_check(ALLOWED, trial=lambda: None)
    assert ok.ok and ok.detail.startswith("rootless: natsim enters a user namespace of its own")
    off = mode_check(Readings(apparmor_restrict=1),
                     trial=lambda: _refuse(EntryFailure("mount", errno.EPERM, "Operation not permitted")))
    assert not off.ok and "AppArmor" in off.detail
    assert off.fix == "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or run natsim as root"
    monkeypatch.setenv("NATSIM_MODE", "root")
    forced = mode_check(ALLOWED, trial=lambda: _refuse(EntryFailure("unshare")))   # never tried
    if os.geteuid() == 0:
        assert forced.ok and forced.detail.startswith(("root:", "namespace:"))
    else:
        assert not forced.ok and "labs need root" in forced.detail

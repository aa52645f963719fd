"""The ``natsim`` command enters natsim's own namespaces only for commands that build labs, only when
labs need it (not root), and never when called in-process (``natsim.cli.main`` without
``own_namespace``): a forked copy of a test process would run the test twice."""

from __future__ import annotations

from typing import Any

import pytest

from natsim import cli
from natsim.lab import userns, userns_support
from natsim.lab.userns_support import Mode


class FakeOuter:
    def wait(self) -> int:
        return 7


@pytest.fixture
def entered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Rootless mode, with ``enter`` recorded instead of forking."""
    calls: list[str] = []

    def enter() -> Any:
        calls.append("enter")
        return FakeOuter()

    monkeypatch.setattr(userns, "enter", enter)
    monkeypatch.setattr(userns_support, "lab_mode", lambda: Mode.ROOTLESS)
    return calls


@pytest.mark.parametrize("argv", [
    ["lab", "home-nat", "--run", "client true"],
    ["run", "isp-modem-bridge-1h"],
    ["conform", "home-nat:router", "--only", "rfc5382-req1"],
    ["classify", "true"],
    ["demo"],
])
def test_lab_commands_run_inside_and_return_its_exit_code(argv: list[str], entered: list[str]) -> None:
    assert cli.main(argv, own_namespace=True) == 7
    assert entered == ["enter"]


@pytest.mark.parametrize("argv", [
    ["predict", "isp-modem-bridge-1h"],
    ["list"],
    ["cleanup", "--list"],
])
def test_commands_that_build_no_lab_never_enter(argv: list[str], entered: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(argv, own_namespace=True)
    assert entered == []


def test_in_process_calls_never_fork(entered: list[str], monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert cli.main(["lab", "home-nat", "--run", "client true"]) == 2
    assert entered == []
    assert "builds a lab: it needs root, or a user namespace of its own" in capsys.readouterr().err


def test_root_builds_where_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(userns_support, "lab_mode", lambda: Mode.ROOT)
    monkeypatch.setattr(userns, "enter", lambda: pytest.fail("entered as root"))
    assert cli._enter_own_namespace() is None

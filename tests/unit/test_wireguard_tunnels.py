"""Bringing up a wireguard probe's tunnels (natsim.probes.udp.tunnels) with a stand-in lab: the order of
the wireguard-go starts, not WireGuard itself (tests/netns/test_wireguard_lab.py runs real tunnels)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from natsim.errors import ProbeError
from natsim.probes.udp import tunnels

#: How long the stand-in's server takes to be configured (a loaded machine's wireguard-go).
SERVER_LATE = 0.3


class _Process:
    def __init__(self, exits: bool = False) -> None:
        self.exits, self.stopped = exits, False
        self.popen = self

    def poll(self) -> int | None:
        return 1 if self.exits else None

    def stop(self, grace: float = 0.0) -> None:
        self.stopped = True


class _Lab:
    """Each start writes READY in its log (the server's after :data:`SERVER_LATE`); records, at each
    client's start, whether the server was ready."""

    def __init__(self, *, client_fails: bool = False) -> None:
        self.server_log: Path | None = None
        self.client_starts: list[bool] = []
        self.procs: list[_Process] = []
        self.client_fails = client_fails

    def address(self, node: str) -> str:
        return "203.0.113.10"

    def popen(self, node: str, argv: list[str], **kwargs: Any) -> _Process:
        log = Path(os.readlink(f"/proc/self/fd/{kwargs['stdout'].fileno()}"))   # the tunnel's log
        if node == "server":
            self.server_log = log
            threading.Timer(SERVER_LATE, lambda: log.write_text("READY\n")).start()
            proc = _Process()
        else:
            assert self.server_log is not None
            self.client_starts.append("READY" in self.server_log.read_text())
            proc = _Process(exits=self.client_fails)
            if not self.client_fails:
                log.write_text("READY\n")
        self.procs.append(proc)
        return proc


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tunnels, "keypair", lambda directory, name: tunnels.KeyPair(directory / name, name))


def test_clients_start_once_the_server_is_configured(tmp_path: Path) -> None:
    """A client with PersistentKeepalive sends its handshake initiation at once; one sent to a server not
    yet configured is lost, and WireGuard retries only 5 wall seconds later."""
    lab = _Lab()
    procs = tunnels.start_tunnels(lab, "client", "server", 2, 25, tmp_path)  # type: ignore[arg-type]
    assert len(procs) == 3 and lab.client_starts == [True, True]


def test_a_client_that_does_not_come_up_stops_every_tunnel(tmp_path: Path) -> None:
    lab = _Lab(client_fails=True)
    with pytest.raises(ProbeError, match="WireGuard wg0-client-0 did not come up: no output"):
        tunnels.start_tunnels(lab, "client", "server", 1, 25, tmp_path)  # type: ignore[arg-type]
    assert [p.stopped for p in lab.procs] == [True, True]

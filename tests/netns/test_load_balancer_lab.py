"""The load balancer in a lab: what each end of a flow sees when it expires, measured with scripted
endpoints (``tests/tcp_actor.py``). The model's verdicts for TCP ladders through each expiry behaviour
are compared with the lab's in ``test_sim_agreement.py`` (``lb-*`` scenarios).

``reset-both-at-expiry``: the reset daemon in the load balancer's node sends RST to both ends when the
flow's entry expires; both sockets must fail with ECONNRESET at the timeout (within the kernel's tick
and the daemon's reaction: a few milliseconds; the margin below allows for a loaded two-core machine).
``reset-next-packet``: nothing at expiry; the next packet from either side, the client's or the
backend's, is answered with RST.
"""

from __future__ import annotations

import errno
import time
from typing import Any

import pytest

from natsim.lab import Lab
from natsim.middleboxes import build_config
from tests.lab_traffic import events, run_connector, start_listener

pytestmark = pytest.mark.natsim_netns

TIMEOUT = 2.0    # lab seconds (time scale 1)
#: How late after the timeout an end may see the RST: a kernel tick (4 ms), the daemon's conntrack
#: lookup and raw send (~5 ms measured), scheduling on a loaded machine.
LATE = 0.25
PORT = 7000
VIP = "198.51.100.1"


def step(found: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (entry,) = [e for e in found if e.get("step") == name]
    return entry


def lab(expired: str) -> Lab:
    return Lab("dc-load-balancer", {"lb": build_config("load-balancer", {"idle_timeout": f"{TIMEOUT:g}s",
                                                                          "expired": expired})})


def served(listeners: dict[str, Any], timeout: float = 15.0) -> tuple[str, list[dict[str, Any]]]:
    """The backend that took the connection (its listener ends once its steps are done) and its events;
    the other listener, never connected to, is stopped."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up and all(p.popen.poll() is None for p in listeners.values()):
        time.sleep(0.05)
    done = [node for node, proc in listeners.items() if proc.popen.poll() is not None]
    for proc in listeners.values():
        if proc.popen.poll() is None:
            proc.popen.kill()
    assert len(done) == 1, done
    found = events(listeners[done[0]])
    assert any("accepted" in e for e in found), found
    return done[0], found


def test_reset_both_at_expiry_both_ends_see_econnreset_at_the_timeout() -> None:
    with lab("reset-both-at-expiry") as running:
        listeners = {node: start_listener(running, node, PORT, [["recv"], ["send", "y"], ["wait_dead", 10]])
                     for node in ("web1", "web2")}
        client = run_connector(running, "client", VIP, PORT, [["send", "x"], ["recv"], ["wait_dead", 10]])
        backend, server = served(listeners)
        quiet = step(client, "recv")["t"]   # the last data; the client's ACK of it follows at once
        for end in (step(client, "wait_dead"), step(server, "wait_dead")):
            assert (end["error"], end["errno"]) == ("ConnectionResetError", errno.ECONNRESET), end
            assert TIMEOUT <= end["t"] - quiet <= TIMEOUT + LATE, end["t"] - quiet
        (reset,) = running.runtimes["lb"].resets()
        address = {"web1": "203.0.113.10", "web2": "203.0.113.130"}[backend]
        assert (reset["backend"], reset["vip"]) == (address, [VIP, PORT])
        assert TIMEOUT <= float(reset["idle"]) <= TIMEOUT + LATE


def test_reset_next_packet_answers_the_client_and_the_backend() -> None:
    with lab("reset-next-packet") as running:
        assert running.runtimes["lb"] is None   # no daemon: nothing happens at expiry
        steps = [["recv"], ["send", "y"], ["sleep", TIMEOUT + 1], ["send", "late"], ["wait_dead", 5]]
        listeners = {node: start_listener(running, node, PORT, steps) for node in ("web1", "web2")}
        client = run_connector(running, "client", VIP, PORT, [["send", "x"], ["recv"], ["wait_dead", 6]])
        _, server = served(listeners)
        # the backend's late data met RST from the load balancer (in the client's name) ...
        assert (step(server, "wait_dead")["error"], step(server, "wait_dead")["errno"]) == \
            ("ConnectionResetError", errno.ECONNRESET)
        # ... and never reached the client, which hears nothing
        assert step(client, "wait_dead")["error"] == "TimeoutError"

        steps = [["recv"], ["send", "y"], ["wait_dead", 8]]
        listeners = {node: start_listener(running, node, PORT + 1, steps) for node in ("web1", "web2")}
        client = run_connector(running, "client", VIP, PORT + 1,
                               [["send", "x"], ["recv"], ["sleep", TIMEOUT + 1], ["send", "z"],
                                ["wait_dead", 5]])
        served(listeners)
        end = step(client, "wait_dead")
        assert (end["error"], end["errno"]) == ("ConnectionResetError", errno.ECONNRESET), client

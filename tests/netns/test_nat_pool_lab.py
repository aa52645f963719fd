"""The CGN model against Linux: which pool address and port a subscriber gets (``persistent``), and
``ports_per_subscriber`` (``ct count``) refusing and freeing connections as the model counts them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from natsim.lab import Lab
from natsim.middleboxes.nat44.model import model as cgn_model
from natsim.middleboxes.presets import device
from natsim.sim.network import Drop, Forward, Segment
from natsim.units import TimeScale

pytestmark = pytest.mark.natsim_netns
SERVER = ("203.0.113.10", 7000)
#: Prints the address and port of every connection it accepts; closes each when its client does.
LISTENER = """
import socket, threading
def serve(c):
    while c.recv(64):
        pass
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(100); print("listening", flush=True)
while True:
    c, a = s.accept(); print(a[0], a[1], flush=True)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""
#: Connects from each source address (port 40000), one after the other; closes each at once.
CONNECT_FROM = """
import json, socket, sys
for src in json.loads(sys.argv[1]):
    c = socket.socket(); c.bind((src, 40000)); c.connect(("203.0.113.10", 7000)); c.close()
"""
#: Three connections held open, a fourth after closing the first; "ok" or "timeout" for each.
THREE_THEN_ONE = """
import json, socket, time
held, out = [], []
for i in range(4):
    if i == 3:
        held[0].close(); time.sleep(0.5)
    c = socket.socket(); c.settimeout(2.5)
    try:
        c.connect(("203.0.113.10", 7000)); out.append("ok"); held.append(c)
    except OSError:
        out.append("timeout")
print(json.dumps(out))
"""


def listener(lab: Lab) -> subprocess.Popen[bytes]:
    proc = lab.popen("server", [sys.executable, "-c", LISTENER], stdout=subprocess.PIPE).popen
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"listening")
    return proc


def test_pool_address_and_port_are_linuxs() -> None:
    cgn = device("cgn", pool="192.0.2.0/29")
    subscribers = [f"100.64.1.{i}" for i in range(20, 36)]
    with Lab("isp-bridge-cgn", {"cgn": cgn}, time_scale=TimeScale(1)) as lab:
        for address in subscribers:
            lab.run("client", ["ip", "addr", "add", f"{address}/24", "dev", "client-eth0"], check=True)
        server = listener(lab)
        try:
            code, out = lab.run("client", [sys.executable, "-c", CONNECT_FROM, json.dumps(subscribers)])
            assert code == 0, out
            assert server.stdout is not None
            seen = [server.stdout.readline().decode().split() for _ in subscribers]
        finally:
            server.kill()
            server.wait()
    model = cgn_model("cgn", cgn, TimeScale(1), 0)
    for i, (address, (public, port)) in enumerate(zip(subscribers, seen, strict=True)):
        action = model.handle(Segment((address, 40000), SERVER, "S", f"c{i}"), True, float(i))
        assert isinstance(action, Forward)
        mapped = action.segment.src
        assert public == mapped[0], address                    # the same pool address
        assert (int(port) == 40000) == (mapped[1] == 40000), address   # preserved exactly when free
        # the client closed at once: the entry lingers in time_wait, holding its tuple, in both
        model.handle(Segment((address, 40000), SERVER, "FA", f"c{i}"), True, float(i))
        model.handle(Segment(SERVER, mapped, "FA", f"c{i}"), False, float(i))
    assert len({p for p, _ in seen}) > 1 and any(int(port) != 40000 for _, port in seen)


def test_ports_per_subscriber_refuses_and_frees_as_the_model_counts() -> None:
    cgn = device("cgn", ports_per_subscriber=2)
    with Lab("isp-bridge-cgn", {"cgn": cgn}, time_scale=TimeScale(1)) as lab:
        server = listener(lab)
        try:
            code, out = lab.run("client", [sys.executable, "-c", THREE_THEN_ONE])
        finally:
            server.kill()
            server.wait()
    assert code == 0, out
    lab_outcomes = json.loads(out.strip().splitlines()[-1])
    model = cgn_model("cgn", cgn, TimeScale(1), 0)
    predicted = []
    for i in range(4):
        src = ("100.64.1.10", 41000 + i)
        if i == 3:   # the first one closes: FIN both ways, its entry goes to time_wait
            model.handle(Segment(("100.64.1.10", 41000), SERVER, "FA", "c0"), True, 1.0)
            model.handle(Segment(SERVER, ("192.0.2.1", 41000), "FA", "c0"), False, 1.0)
        action = model.handle(Segment(src, SERVER, "S", f"c{i}"), True, 1.0)
        if isinstance(action, Forward):
            model.handle(Segment(SERVER, action.segment.src, "SA", f"c{i}"), False, 1.0)
            model.handle(Segment(src, SERVER, "A", f"c{i}"), True, 1.0)
        predicted.append("timeout" if isinstance(action, Drop) else "ok")
    assert lab_outcomes == predicted == ["ok", "ok", "timeout", "ok"]

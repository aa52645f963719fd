"""RFC 5780 in the lab (topology stun-nat: client — home-router — server with two addresses), against an
implementation natsim did not write: coturn's ``turnserver`` (RFC 5780 on two listening addresses) and
``turnutils_natdiscovery`` (an RFC 5780 client). On the same path the four pairings — natsim's client
or coturn's against natsim's server or coturn's — must report the same mapping, filtering and
hairpinning, for the router's two mappings (port preserving masquerade: Linux's endpoint-independent
mapping; ``masquerade random``: a new port per destination, which the NAT behaviour record states as
``mapping: address-and-port-dependent`` without port preservation) and without a NAT (from the server
node, the only node of the path with no middlebox: the router's own stack is behind its NAT's input
filter, which refuses every new UDP flow addressed to it, docs/middleboxes.md). The binding lifetime is
compared with a 3-second UDP timeout in the router (its ``udp_timeout``: the NAT's timeout object, not
the namespace's sysctl, decides a flow's life).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from natsim.lab import Lab
from natsim.probes.stun.labrun import start_server

pytestmark = pytest.mark.natsim_netns

PRIMARY, ALTERNATE = "203.0.113.10", "203.0.113.11"
TOOL = [sys.executable, "-m", "natsim.probes", "nat-type", "--stun", PRIMARY, "--timeout", "1", "--quiet"]
COTURN_TEXT = {"Endpoint Independent": "endpoint-independent", "Address Dependent": "address-dependent",
               "Address and Port Dependent": "address-and-port-dependent"}


@pytest.fixture(autouse=True)
def _coturn() -> None:
    missing = [b for b in ("turnserver", "turnutils_natdiscovery") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"coturn is not installed ({', '.join(missing)}): run `sudo make setup`")


@contextmanager
def natsim_server(lab: Lab, workdir: Path) -> Iterator[None]:
    proc = start_server(lab, "server", log=workdir / "natsim-stun.log")
    try:
        yield
    finally:
        proc.stop()


@contextmanager
def coturn_server(lab: Lab, workdir: Path) -> Iterator[None]:
    """coturn as a bare RFC 5780 STUN server on the server's two addresses (ports 3478 and 3479); its
    pid file, database and log in the test's directory, nothing in the host's /run or /var."""
    argv = ["turnserver", "-n", "-L", PRIMARY, "-L", ALTERNATE, "-p", "3478", "--alt-listening-port", "3479",
            "--stun-only", "--no-tcp", "--no-tls", "--no-dtls", "--no-cli", "--no-software-attribute",
            f"--pidfile={workdir / 'turnserver.pid'}", f"--userdb={workdir / 'turndb'}",
            f"--log-file={workdir / 'turnserver.log'}", "--simple-log"]
    proc = lab.popen("server", argv)
    try:
        lab.wait_port("server", 3479, proc, timeout=10.0, transport="udp")
        yield
    finally:
        proc.stop()


def natsim_probe(lab: Lab, node: str, out: Path, *more: str) -> dict[str, Any]:
    """natsim's tool in ``node``: its result."""
    out.unlink(missing_ok=True)
    code, text = lab.run(node, [*TOOL, f"--out={out}", *more], timeout=120)
    assert code == 0, text
    probe: dict[str, Any] = json.loads(out.read_text())["probes"][0]
    return probe


def natsim_client(lab: Lab, node: str, workdir: Path) -> dict[str, Any]:
    extra = natsim_probe(lab, node, workdir / "nat-type.json")["extra"]
    return {"mapping": extra["mapping"], "filtering": extra["filtering"], "hairpinning": extra["hairpinning"]}


def coturn_client(lab: Lab, node: str = "client") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for flag, what in (("-m", "mapping"), ("-f", "filtering")):
        code, out = lab.run(node, ["turnutils_natdiscovery", flag, PRIMARY], timeout=120)
        assert code == 0, out
        if "No NAT!" in out and what == "mapping":
            found[what] = "endpoint-independent"
            continue
        match = re.search(rf"NAT with (.+) {what.capitalize()}!", out)
        assert match, out
        found[what] = COTURN_TEXT[match.group(1)]
    code, out = lab.run(node, ["turnutils_natdiscovery", "-H", PRIMARY], timeout=120)
    assert code == 0 and "RFC 5780 response 1" in out, out
    found["hairpinning"] = "Received a request (maybe a successful hairpinning)" in out
    return found


def all_four(lab: Lab, workdir: Path, node: str = "client") -> dict[str, dict[str, Any]]:
    seen = {}
    for server in (natsim_server, coturn_server):
        with server(lab, workdir):
            seen[f"natsim client, {server.__name__}"] = natsim_client(lab, node, workdir)
            seen[f"coturn client, {server.__name__}"] = coturn_client(lab, node)
    return seen


@pytest.mark.parametrize(("settings", "node", "expected"), [
    ({}, "client", {"mapping": "endpoint-independent", "filtering": "address-and-port-dependent",
                    "hairpinning": False}),
    ({"router": {"mapping": "address-and-port-dependent", "port_preservation": "false"}}, "client",
     {"mapping": "address-and-port-dependent", "filtering": "address-and-port-dependent",
      "hairpinning": False}),
    ({}, "server", {"mapping": "endpoint-independent", "filtering": "endpoint-independent",
                    "hairpinning": True}),
], ids=["masquerade", "masquerade-random", "no-nat"])
def test_natsim_and_coturn_agree_in_every_pairing(natsim_lab: Any, tmp_path: Path, settings: dict[str, Any],
                                                 node: str, expected: dict[str, Any]) -> None:
    lab = natsim_lab("stun-nat", settings)
    seen = all_four(lab, tmp_path, node)
    assert seen == {name: expected for name in seen}


def test_the_binding_lifetime_agrees_with_coturns(natsim_lab: Any, tmp_path: Path) -> None:
    """A 3 s UDP timeout in the router (``udp_timeout``): natsim's ladder brackets it, coturn's -t -T 2
    finds the binding alive and -T 5 gone, each against the other's server."""
    lab = natsim_lab("stun-nat", {"router": {"udp_timeout": "3s"}})
    with coturn_server(lab, tmp_path):
        probe = natsim_probe(lab, "client", tmp_path / "lifetime.json", "--test", "mapping",
                             "--lifetime-max", "6s", "--lifetime-step", "1s")
    estimate = probe["estimate"]
    assert estimate["lower"] in (1.0, 2.0) and estimate["upper"] in (3.0, 4.0), estimate
    with natsim_server(lab, tmp_path):
        for wait, alive in ((2, True), (5, False)):
            code, out = lab.run("client", ["turnutils_natdiscovery", "-t", "-T", str(wait), PRIMARY],
                                timeout=60)
            assert code == 0 and ("RFC 5780 response 2" in out) is alive, out


def test_the_nat_type_probe_in_a_scenario(natsim_scenario: Any) -> None:
    """The kind's lab driver: the STUN server started on the server node's two addresses, the tool on the
    client, the classification in the result and the summary."""
    outcome = natsim_scenario(text="topology: stun-nat\ncaptures: false\nprobes:\n"
                                   "  - {name: nat, kind: nat-type, client: client, server: server}\n"
                                   "  - {name: nat2, kind: nat-type, client: client, server: server,\n"
                                   "     options: {port: 5000, tests: [mapping]}}\n")
    probe = outcome.result.probe("nat")
    assert probe.complete and probe.extra["classic"] == "port-restricted cone"
    assert probe.extra["other_address"] == f"{ALTERNATE}:3479"
    assert "address-and-port-dependent filtering" in outcome.summary
    other = outcome.result.probe("nat2")
    assert (other.extra["server"], other.extra["other_address"]) == (f"{PRIMARY}:5000", f"{ALTERNATE}:5001")
    assert other.extra["mapping"] == "endpoint-independent" and other.extra["filtering"] == "unknown"


def test_the_nat_type_matrix_is_what_the_model_predicts(natsim_scenario: Any) -> None:
    """The shipped ground truth: nine NATs, one per mapping × filtering (hairpinning in five); natsim's
    classifier reports each NAT's configured behaviour (the scenario's ``found``), and the model
    predicts every exchange's verdict and every finding. Measured: ≈ 37 s on the shared 2-core machine."""
    from natsim.run.predict import predict
    from natsim.scenario import load_scenario

    outcome = natsim_scenario("nat-type-matrix")
    assert outcome.result.complete and [c.describe() for c in outcome.checks if not c.ok] == []
    assert len(outcome.checks) == 9
    predicted = predict(load_scenario("nat-type-matrix"))
    for probe in outcome.result.probes:
        model = predicted.probe(probe.name)
        assert [(c.how, c.verdict) for c in probe.connections] == \
            [(c.how, c.verdict) for c in model.connections], probe.name
        findings = ("mapping", "filtering", "hairpinning", "classic", "nat")
        assert {k: probe.extra[k] for k in findings} == {k: model.extra[k] for k in findings}

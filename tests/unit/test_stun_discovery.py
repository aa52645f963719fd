"""The RFC 5780 tests against a fake network (tests/unit/stun_fakenet.py): every mapping × filtering
behaviour, hairpinning, the binding lifetime, and servers that answer wrongly or not at all.
Deterministic: virtual time, no sockets."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from natsim.probes.stun.answers import Reply, Slot
from natsim.probes.stun.discovery import Discovery, Plan, discover
from natsim.probes.stun.judges import Address, Behaviour
from natsim.probes.stun.nat_report import classification, probe_result
from natsim.report.schema import Verdict
from tests.unit.stun_fakenet import (
    ADM,
    APDM,
    EIM,
    SERVER,
    FakeNat,
    FakeNetwork,
    ignoring_change_request,
    rfc5780_server,
)

CLASSIC = {(EIM, EIM): "full cone", (EIM, ADM): "restricted cone", (EIM, APDM): "port-restricted cone"}


def run(net: FakeNetwork, plan: Plan | None = None) -> Discovery:
    return asyncio.run(discover(net, SERVER, plan or Plan()))


@pytest.mark.parametrize(("mapping", "filtering", "hairpinning"),
                         list(itertools.product(Behaviour, Behaviour, (False, True))))
def test_every_mapping_and_filtering_is_classified(mapping: Behaviour, filtering: Behaviour,
                                                   hairpinning: bool) -> None:
    net = FakeNetwork(FakeNat(mapping, filtering, hairpinning=hairpinning))
    found = classification(run(net))
    assert (found["mapping"], found["filtering"], found["hairpinning"]) == \
        (mapping.value, filtering.value, hairpinning)
    assert found["classic"] == CLASSIC.get((mapping, filtering), "symmetric")
    assert found["nat"] is True and found["skipped"] == {}
    assert all(e.closed for e in net.opened), "every socket is closed"


def test_the_filtering_tests_use_a_socket_that_only_spoke_to_the_primary_address() -> None:
    """The mapping tests open the NAT's filter towards the alternate address: the filtering tests must
    not run from that socket (a stale binding would make an address-dependent filter look open)."""
    net = FakeNetwork(FakeNat(EIM, ADM))
    found = run(net)
    filtering = {s.test for s in found.steps if s.test.startswith("filtering")}
    assert filtering == {"filtering-1", "filtering-2", "filtering-3"}
    sockets = {test: {src for src, dest, ask in net.sent if (dest, ask) == (step.dest, step.ask)}
               for test, step in ((s.test, s) for s in found.steps)}
    assert sockets["filtering-2"].isdisjoint(sockets["mapping-2"])
    assert {dest for src, dest, _ in net.sent if src in sockets["filtering-2"]} == {SERVER}


def test_no_nat_is_open_internet_or_a_firewall() -> None:
    assert classification(run(FakeNetwork(None)))["classic"] == "open internet"
    found = classification(run(FakeNetwork(None)))
    assert found["nat"] is False and found["mapping"] == "endpoint-independent"


def test_port_preservation_is_reported() -> None:
    assert classification(run(FakeNetwork(FakeNat(EIM, APDM, port_preservation=True))))["port_preserved"]
    assert not classification(run(FakeNetwork(FakeNat(EIM, APDM))))["port_preserved"]


@pytest.mark.parametrize("scale", [1.0, 60.0])
def test_the_binding_lifetime_is_bracketed_at_any_time_scale(scale: float) -> None:
    """A 120 s binding (real-world), waits of 30 s steps up to 5 min: alive up to 90 s, dead from 120 s
    on. The NAT's clock runs at lab speed (120 / scale)."""
    net = FakeNetwork(FakeNat(EIM, APDM, lifetime=120.0 / scale))
    plan = Plan(mapping=False, filtering=False, hairpinning=False,
                lifetimes=tuple(30.0 * i for i in range(1, 11)), time_scale=scale)
    result = probe_result(run(net, plan), kind="nat-type")
    rungs = [(c.idle, c.verdict) for c in result.connections if c.how == "lifetime"]
    assert rungs == [(30.0 * i, Verdict.ALIVE if i < 4 else Verdict.DEAD) for i in range(1, 11)]
    assert result.estimate is not None and (result.estimate.lower, result.estimate.upper) == (90.0, 120.0)


def test_each_lifetime_wait_is_measured_from_its_own_binding() -> None:
    """Probing one binding (whose answer refreshes it) never keeps another alive, and each wait runs from
    its own binding's answer. Bindings are made 1 s apart (the round trip); the NAT sees a binding idle
    for the wait plus one round trip (the probe's way to the server and back)."""
    net = FakeNetwork(FakeNat(EIM, EIM, lifetime=10.0), rtt=1.0)
    plan = Plan(mapping=False, filtering=False, hairpinning=False, lifetimes=(5.0, 8.5, 11.0, 15.0))
    found = run(net, plan)
    assert [(s.wait, s.usable) for s in found.lifetimes()] == [(5.0, True), (8.5, True), (11.0, False),
                                                               (15.0, False)]


def test_a_silent_server_is_no_answer_not_an_error() -> None:
    found = run(FakeNetwork(FakeNat(EIM, EIM), raw=lambda data: None), Plan(lifetimes=(10.0,)))
    result = probe_result(found, kind="nat-type")
    assert [(c.how, c.verdict) for c in result.connections] == [("binding", Verdict.DEAD)]
    assert "no answer" in result.connections[0].detail
    assert result.extra["mapping"] == result.extra["filtering"] == result.extra["classic"] == "unknown"
    assert set(result.extra["skipped"]) == {"mapping", "filtering", "hairpinning", "lifetime"}


def test_garbage_and_an_echo_are_errors() -> None:
    garbage = probe_result(run(FakeNetwork(None, raw=lambda data: b"HTTP/1.0 400 Bad Request\r\n")),
                           kind="nat-type")
    assert [(c.how, c.verdict) for c in garbage.connections] == [("binding", Verdict.ERROR)]
    echo = probe_result(run(FakeNetwork(FakeNat(EIM, EIM), raw=lambda data: data)), kind="nat-type")
    assert [(c.how, c.verdict) for c in echo.connections] == [("binding", Verdict.ERROR)]
    assert "echo" in echo.extra["skipped"]["mapping"]


def test_a_server_with_one_address_gives_a_mapping_but_no_behaviour() -> None:
    one = {(0, 0): SERVER}
    found = run(FakeNetwork(FakeNat(EIM, APDM), server=rfc5780_server(one), slots=one))
    assert found.other is None
    extra = classification(found)
    assert extra["mapping"] == extra["filtering"] == "unknown" and extra["hairpinning"] is False
    assert "OTHER-ADDRESS" in extra["skipped"]["mapping"]


def test_a_server_that_ignores_change_request_is_caught() -> None:
    """Such a server would make every NAT look endpoint-independent in filtering."""
    found = run(FakeNetwork(FakeNat(EIM, APDM), server=ignoring_change_request()))
    extra = classification(found)
    assert extra["filtering"] == "unknown"
    assert "does not honour CHANGE-REQUEST" in extra["skipped"]["filtering"]
    verdicts = {c.how: c.verdict for c in probe_result(found, kind="nat-type").connections}
    assert verdicts["filtering-2"] is Verdict.ERROR


def test_an_alternate_address_that_never_answers_leaves_the_mapping_unknown() -> None:
    responder = rfc5780_server()

    def primary_only(data: bytes, source: Address, slot: Slot) -> Reply | None:
        return responder(data, source, slot) if slot[0] == 0 else None
    found = run(FakeNetwork(FakeNat(APDM, EIM), server=primary_only))
    extra = classification(found)
    assert extra["mapping"] == "unknown" and extra["skipped"] == {"mapping": "mapping-2 got no answer"}
    assert extra["filtering"] == "endpoint-independent"


def test_only_the_tests_asked_for_run() -> None:
    net = FakeNetwork(FakeNat(APDM, APDM))
    found = run(net, Plan(mapping=True, filtering=False, hairpinning=False))
    assert [s.test for s in found.steps] == ["binding", "mapping-2", "mapping-3"]
    assert classification(found)["filtering"] == "unknown"


def test_a_hairpin_the_nat_refuses_is_no_hairpinning() -> None:
    """A NAT that answers a datagram to its own address with ICMP port unreachable (Linux's stack,
    ``udp_refused: icmp-unreachable``): the request did not come back, hairpinning is false, not
    unknown; the exchange is dead (nothing answered), with the refusal in its detail."""
    found = run(FakeNetwork(FakeNat(EIM, APDM, refuses=True)))
    assert classification(found)["hairpinning"] is False and "hairpinning" not in found.skipped
    hairpin = next(c for c in probe_result(found, kind="nat-type").connections if c.how == "hairpinning")
    assert hairpin.verdict is Verdict.DEAD and "refused" in (hairpin.detail or "")


def test_a_result_lists_the_exchanges_in_test_order() -> None:
    """The tests run side by side, so they end in any order; the result lists them by test (lifetime
    waits by length), so a lab run and the model compare exchange by exchange."""
    found = run(FakeNetwork(FakeNat(EIM, APDM)), Plan(lifetimes=(60.0, 30.0)))
    found.steps.reverse()   # as if they had ended in the opposite order
    hows = [(c.how, c.idle) for c in probe_result(found, kind="nat-type").connections]
    assert hows == [("binding", 0.0), ("mapping-2", 0.0), ("filtering-1", 0.0), ("filtering-2", 0.0),
                    ("filtering-3", 0.0), ("hairpinning", 0.0), ("lifetime", 30.0), ("lifetime", 60.0)]

"""NAT models: the pool address and port Linux picks, re-mapping on pickup, the per-subscriber limit,
who is translated, the NAT's own RST; asserted as typed events."""

from __future__ import annotations

from natsim.middleboxes import build_model
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.nat.model import Nat
from natsim.middleboxes.nat.pool import pool_address
from natsim.middleboxes.presets import device
from natsim.sim.network import Answer, Drop, Forward, Segment
from natsim.sim.trace import Dropped, Expired, Mapped, Passed, PickedUp, Reason, Reset, Unknown
from natsim.units import TimeScale

SERVER = ("203.0.113.10", 31415)
POOL = device("cgn").pool                 # 192.0.2.0/30: 192.0.2.1 and 192.0.2.2
A, B = "100.64.1.10", "100.64.1.13"   # subscribers the kernel's hash puts on .1 and .2


def nat(**config: object) -> Nat:
    cgn = device("cgn", idle_timeout=100.0, untracked_outbound=Untracked.PICKUP,
                 untracked_inbound=Untracked.PICKUP, **config)  # type: ignore[arg-type]
    return Nat("cgn", cgn, TimeScale(), cgn.addressing("cgn"))


def syn(port: int, host: str = A, server: tuple[str, int] = SERVER) -> Segment:
    return Segment((host, port), server, "S", f"c{port}")


def kinds(action: Forward | Drop | Answer) -> list[tuple[str, object]]:
    """(event, its reason) of what the NAT did."""
    return [(type(e).__name__, getattr(e, "reason", None)) for e in action.events]


def test_the_pool_addresses_are_the_kernels_persistent_hash() -> None:
    assert (pool_address(A, POOL), pool_address(B, POOL)) == ("192.0.2.1", "192.0.2.2")
    assert pool_address(A, "192.0.2.7/32") == "192.0.2.7"
    # a /29 spreads subscribers over six addresses (matches Linux: tests/netns/test_nat_pool_lab.py)
    assert {pool_address(f"100.64.1.{i}", "192.0.2.0/29") for i in range(20, 40)} == {
        f"192.0.2.{i}" for i in range(1, 7)}


def test_cgn_model_from_config_preserves_ports() -> None:
    model = build_model("cgn", device("cgn"), TimeScale())
    assert isinstance(model, Nat)
    action = model.handle(syn(40000, B), True, 0.0)
    assert isinstance(action, Forward)
    assert action.segment == Segment(("192.0.2.2", 40000), SERVER, "S", "c40000")
    assert [(type(e).__name__, e.public) for e in action.events if isinstance(e, Mapped)] == [
        ("Mapped", ("192.0.2.2", 40000))]
    reply = Segment(SERVER, ("192.0.2.2", 40000), "SA", "c40000")
    assert model.handle(reply, False, 0.0) == Forward(reply.with_dst((B, 40000)))


def establish(model: Nat, port: int, now: float = 0.0, host: str = A) -> tuple[str, int]:
    """SYN, SYN-ACK, ACK through ``model``; the public address and port."""
    first = model.handle(syn(port, host), True, now)
    assert isinstance(first, Forward)
    public = first.segment.src
    assert isinstance(model.handle(Segment(SERVER, public, "SA", "c"), False, now), Forward)
    assert isinstance(model.handle(Segment((host, port), SERVER, "A", "c"), True, now), Forward)
    return public


def test_a_second_subscriber_on_the_same_address_and_port_gets_another_port() -> None:
    model = nat()
    assert establish(model, 40000) == ("192.0.2.1", 40000)
    other = model.handle(syn(40000, "100.64.1.11"), True, 0.0)     # hashes to 192.0.2.1 too
    assert isinstance(other, Forward)
    assert other.segment.src[0] == "192.0.2.1" and other.segment.src[1] != 40000
    assert 1024 <= other.segment.src[1] <= 65535
    # on another pool address, or towards another server, the same port is free (tuples differ)
    assert model.handle(syn(40000, B), True, 0.0).segment.src == ("192.0.2.2", 40000)  # type: ignore[union-attr]
    elsewhere = model.handle(syn(40000, "100.64.1.14", ("203.0.113.11", 31415)), True, 0.0)
    assert isinstance(elsewhere, Forward) and elsewhere.segment.src[1] == 40000


def test_a_source_keeps_its_mapping_towards_another_server() -> None:
    model = nat(port_preservation=True)
    establish(model, 40000)
    model.handle(syn(40000, "100.64.1.11"), True, 0.0)            # takes another port on .1
    again = model.handle(syn(40000, A, ("203.0.113.11", 22)), True, 1.0)
    assert isinstance(again, Forward) and again.segment.src == ("192.0.2.1", 40000)


def test_pickup_remaps_to_the_same_port_after_expiry() -> None:
    model = nat()
    public = establish(model, 40000)
    data = Segment((A, 40000), SERVER, "PA", "c", seq=1, data="A")
    assert model.handle(data, True, 99.999) == Forward(data.with_src(public))
    action = model.handle(data, True, 199.999)
    assert isinstance(action, Forward) and action.segment == data.with_src(public)
    expired, picked = action.events
    assert isinstance(expired, Expired) and (expired.state, expired.idle, expired.timeout) == (
        "established", 100.0, 100.0)
    assert isinstance(picked, PickedUp) and picked.public == public and picked.outbound


def test_an_expired_port_is_free_at_once() -> None:
    # netfilter has no hold-down (RFC 6888 REQ-8 asks for one; Linux frees the tuple with the entry)
    model = nat()
    establish(model, 40000)
    taken = model.handle(syn(40000, "100.64.1.11"), True, 50.0)
    assert isinstance(taken, Forward) and taken.segment.src[1] != 40000
    free = model.handle(syn(40000, "100.64.1.12"), True, 100.0)    # .12 also hashes to .1
    assert pool_address("100.64.1.12", POOL) == "192.0.2.1"
    assert isinstance(free, Forward) and free.segment.src == ("192.0.2.1", 40000)


def test_per_subscriber_port_limit() -> None:
    model = nat(ports_per_subscriber=2)
    assert isinstance(model.handle(syn(1), True, 0.0), Forward)
    assert isinstance(model.handle(syn(2), True, 0.0), Forward)
    refused = model.handle(syn(3), True, 0.0)
    assert isinstance(refused, Drop) and kinds(refused) == [("Dropped", Reason.EXHAUSTED)]
    assert isinstance(refused.events[0], Dropped) and refused.events[0].limit == 2
    assert isinstance(model.handle(syn(3, "100.64.1.11"), True, 0.0), Forward)
    assert isinstance(model.handle(syn(3), True, 240.0), Forward)   # syn_sent (240 s) expired


def test_a_closing_connection_does_not_count_against_the_limit() -> None:
    model = nat(ports_per_subscriber=1)
    public = establish(model, 1)
    model.handle(Segment((A, 1), SERVER, "FA", "c"), True, 1.0)
    model.handle(Segment(SERVER, public, "FA", "c"), False, 1.0)      # time_wait: nf_conncount skips it
    assert isinstance(model.handle(syn(2), True, 1.0), Forward)


def test_sources_outside_the_subscriber_prefix_pass_untranslated() -> None:
    model = nat(subscribers="100.64.1.0/28")
    outside = model.handle(syn(40000, "100.64.1.20"), True, 0.0)
    assert isinstance(outside, Forward) and outside.segment.src == ("100.64.1.20", 40000)
    assert len(model.table) == 1                                   # still tracked
    reply = Segment(SERVER, ("100.64.1.20", 40000), "SA", "c")
    assert model.handle(reply, False, 0.0) == Forward(reply)
    lan = build_model("r", device("home-router", lan="192.0.2.0/24"), TimeScale())
    assert lan.handle(syn(5, "198.51.100.9"), True, 0.0) == Forward(syn(5, "198.51.100.9"))


def test_unknown_inbound_reaches_the_nat_stack_under_pickup() -> None:
    model = nat()
    seg = Segment(SERVER, ("192.0.2.1", 40000), "PA", "c", seq=1, data="x")
    action = model.handle(seg, False, 0.0)
    assert isinstance(action, Answer) and action.segment == Segment(("192.0.2.1", 40000), SERVER, "R", "c")
    assert kinds(action) == [("Unknown", None), ("Reset", Reason.NO_MAPPING)]


def test_untracked_policies_inbound() -> None:
    seg = Segment(SERVER, ("192.0.2.1", 40000), "PA", "c", seq=1, data="x")
    drop_cgn = device("cgn", untracked_inbound=Untracked.DROP)
    dropped = Nat("cgn", drop_cgn, TimeScale(), drop_cgn.addressing("cgn")).handle(seg, False, 0.0)
    assert isinstance(dropped, Drop) and kinds(dropped) == [("Unknown", None), ("Dropped", Reason.UNTRACKED)]
    reset_cgn = device("cgn", untracked_inbound=Untracked.RESET)
    action = Nat("cgn", reset_cgn, TimeScale(), reset_cgn.addressing("cgn")).handle(seg, False, 0.0)
    assert isinstance(action, Answer) and kinds(action) == [("Unknown", None), ("Reset", Reason.UNTRACKED)]
    reset = action.events[1]
    assert isinstance(reset, Reset) and reset.node == "cgn" and not reset.outbound


def test_without_preservation_ports_are_random_but_seeded() -> None:
    def ports(seed: int) -> list[int]:
        model = build_model("r", device("home-router", port_preservation=False), TimeScale(), seed)
        out = []
        for p in range(3):
            action = model.handle(syn(40000 + p, "192.0.2.10"), True, 0.0)
            assert isinstance(action, Forward)
            out.append(action.segment.src[1])
        return out

    assert ports(1) == ports(1)
    assert ports(1) != ports(2)
    assert all(p != 40000 + i for i, p in enumerate(ports(1)))


def test_a_lone_fin_cannot_be_picked_up() -> None:
    fin = Segment(SERVER, ("192.0.2.1", 40000), "FA", "c", seq=2)
    dropped = nat().handle(fin, False, 0.0)
    assert isinstance(dropped, Drop) and kinds(dropped) == [("Unknown", None), ("Dropped", Reason.INVALID)]
    unknown = dropped.events[0]
    assert isinstance(unknown, Unknown) and unknown.segment.what() == "FIN" and not unknown.outbound
    bridge = build_model("cpe", CpeBridge(untracked_inbound=Untracked.PICKUP), TimeScale())
    seg = Segment(SERVER, (A, 40000), "FA", "c", seq=2)
    action = bridge.handle(seg, False, 0.0)
    assert isinstance(action, Forward) and kinds(action) == [("Unknown", None), ("Passed", Reason.INVALID)]
    assert isinstance(action.events[1], Passed)
    again = bridge.handle(seg, False, 1.0)
    assert isinstance(again, Forward) and kinds(again) == kinds(action)    # still no entry: not tracked
    reset_cgn = device("cgn", untracked_inbound=Untracked.RESET)
    answer = Nat("cgn", reset_cgn, TimeScale(), reset_cgn.addressing("cgn")).handle(fin, False, 0.0)
    assert isinstance(answer, Answer) and answer.segment.flags == "R"

"""NAT models: port preservation, re-mapping on pickup, exhaustion, hold-down, local RST."""

from __future__ import annotations

from natsim.middleboxes import build_model
from natsim.middleboxes.cgn import Cgn
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.home_router import HomeRouter
from natsim.middleboxes.nat.model import Nat
from natsim.sim.network import Answer, Drop, Forward, Segment
from natsim.units import TimeScale

SERVER = ("server", 31415)


def nat(**kw: object) -> Nat:
    config = Cgn(idle_timeout=100.0, untracked_outbound=Untracked.PICKUP,
                 untracked_inbound=Untracked.PICKUP)
    return Nat("cgn", config, TimeScale(), public="192.0.2.1", **kw)  # type: ignore[arg-type]


def syn(port: int, host: str = "100.64.1.10") -> Segment:
    return Segment((host, port), SERVER, "S", f"c{port}")


def test_cgn_model_from_config_preserves_ports() -> None:
    model = build_model("cgn", Cgn(), TimeScale())
    assert isinstance(model, Nat)
    action = model.handle(syn(40000), True, 0.0)
    assert action == Forward(Segment(("192.0.2.1", 40000), SERVER, "S", "c40000"))
    reply = Segment(SERVER, ("192.0.2.1", 40000), "SA", "c40000")
    assert model.handle(reply, False, 0.0) == Forward(reply.with_dst(("100.64.1.10", 40000)))


def establish(model: Nat, port: int, now: float = 0.0) -> None:
    """SYN, SYN-ACK, ACK through ``model``."""
    inside, public = ("100.64.1.10", port), ("192.0.2.1", port)
    assert isinstance(model.handle(syn(port), True, now), Forward)
    assert isinstance(model.handle(Segment(SERVER, public, "SA", "c"), False, now), Forward)
    assert isinstance(model.handle(Segment(inside, SERVER, "A", "c"), True, now), Forward)


def test_second_subscriber_on_the_same_port_gets_another_one() -> None:
    model = nat()
    model.handle(syn(40000), True, 0.0)
    action = model.handle(syn(40000, "100.64.1.11"), True, 0.0)
    assert isinstance(action, Forward)
    assert action.segment.src == ("192.0.2.1", 1024)


def test_pickup_remaps_to_the_same_port_after_expiry() -> None:
    model = nat()
    establish(model, 40000)
    data = Segment(("100.64.1.10", 40000), SERVER, "PA", "c", seq=1, data="A")
    assert isinstance(model.handle(data, True, 99.999), Forward)
    action = model.handle(data, True, 199.999)
    assert action == Forward(data.with_src(("192.0.2.1", 40000)),
                             "idle 100 s ≥ cgn established timeout 100 s; outbound data segment picked "
                             "up by cgn, re-mapped to the same port")


def test_hold_down_forces_a_new_port() -> None:
    model = nat(hold_down=120.0)
    establish(model, 40000)
    data = Segment(("100.64.1.10", 40000), SERVER, "PA", "c", seq=1, data="A")
    action = model.handle(data, True, 150.0)      # expired at 100, held until 220
    assert isinstance(action, Forward)
    assert action.segment.src == ("192.0.2.1", 1024)
    held = model.handle(syn(40000, "100.64.1.11"), True, 219.0)
    assert isinstance(held, Forward) and held.segment.src[1] == 1025
    free = model.handle(syn(40000, "100.64.1.12"), True, 220.0)
    assert isinstance(free, Forward) and free.segment.src[1] == 40000


def test_per_subscriber_port_limit() -> None:
    model = nat(ports_per_subscriber=2)
    assert isinstance(model.handle(syn(1), True, 0.0), Forward)
    assert isinstance(model.handle(syn(2), True, 0.0), Forward)
    assert model.handle(syn(3), True, 0.0) == Drop(
        "cgn: port exhaustion: 100.64.1.10 has all 2 ports mapped; SYN dropped")
    assert isinstance(model.handle(syn(3, "100.64.1.11"), True, 0.0), Forward)
    assert isinstance(model.handle(syn(3), True, 240.0), Forward)   # syn_sent (240 s) expired


def test_unknown_inbound_reaches_the_nat_stack_under_pickup() -> None:
    model = nat()
    seg = Segment(SERVER, ("192.0.2.1", 40000), "PA", "c", seq=1, data="x")
    assert model.handle(seg, False, 0.0) == Answer(
        Segment(("192.0.2.1", 40000), SERVER, "R", "c"),
        "cgn has no entry for this inbound data segment; inbound data segment has no mapping and "
        "reaches cgn's own stack, which answers RST")


def test_untracked_policies_inbound() -> None:
    seg = Segment(SERVER, ("192.0.2.1", 40000), "PA", "c", seq=1, data="x")
    drop = Nat("cgn", Cgn(untracked_inbound=Untracked.DROP), TimeScale(), public="192.0.2.1")
    assert isinstance(drop.handle(seg, False, 0.0), Drop)
    reset = Nat("cgn", Cgn(untracked_inbound=Untracked.RESET), TimeScale(), public="192.0.2.1")
    action = reset.handle(seg, False, 0.0)
    assert isinstance(action, Answer) and action.reason.endswith("answered with RST by cgn")


def test_without_preservation_ports_are_random_but_seeded() -> None:
    def ports(seed: int) -> list[int]:
        model = build_model("r", HomeRouter(port_preservation=False), TimeScale(), seed)
        out = []
        for p in range(3):
            action = model.handle(syn(40000 + p), True, 0.0)
            assert isinstance(action, Forward)
            out.append(action.segment.src[1])
        return out

    assert ports(1) == ports(1)
    assert ports(1) != ports(2)
    assert all(p != 40000 + i for i, p in enumerate(ports(1)))


def test_a_lone_fin_cannot_be_picked_up() -> None:
    from natsim.middleboxes.cpe_bridge import CpeBridge

    fin = Segment(SERVER, ("192.0.2.1", 40000), "FA", "c", seq=2)
    assert nat().handle(fin, False, 0.0) == Drop(
        "cgn has no entry for this inbound FIN; inbound FIN of no known connection dropped as invalid")
    bridge = build_model("cpe", CpeBridge(untracked_inbound=Untracked.PICKUP), TimeScale())
    seg = Segment(SERVER, ("100.64.1.10", 40000), "FA", "c", seq=2)
    action = bridge.handle(seg, False, 0.0)
    assert isinstance(action, Forward) and "passes untracked" in action.note
    assert bridge.handle(seg.with_src(SERVER), False, 1.0) == action   # still no entry: not tracked
    reset = Nat("cgn", Cgn(untracked_inbound=Untracked.RESET), TimeScale(), public="192.0.2.1")
    answer = reset.handle(fin, False, 0.0)
    assert isinstance(answer, Answer) and answer.segment.flags == "R"

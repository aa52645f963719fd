"""The RFC 5780 tests, run against any :class:`~natsim.probes.stun.exchange.StunNetwork`.

Order and sockets (each test's state stays apart from the others'):

* socket S: test I to the server's primary address and port (the mapped address, OTHER-ADDRESS),
  then mapping tests II (alternate address, primary port) and III (alternate address and port);
* a fresh socket F, which only ever sends to the primary address and port: filtering tests II
  (CHANGE-REQUEST change-IP and change-port) and III (change-port), whose answers a filtering NAT
  drops — S, having sent to the alternate address, would let some through;
* hairpinning (4.5), beside the filtering tests: a fresh socket H sends a Binding request to S's
  mapped address; it came back when S receives it;
* binding lifetime (4.6), beside them too: per wait T a socket X_T does test I, and T later a fresh
  socket Y_T sends a request whose RESPONSE-PORT is X_T's mapped port; the binding lived when the
  answer reaches X_T. Every X_T is probed once, at T after its own binding (an absolute deadline),
  so an answer (which refreshes a binding in most NATs) never changes another wait's verdict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from natsim.probes.stun.exchange import Answer, Ask, Endpoint, Outcome, StunNetwork
from natsim.probes.stun.judges import Address, FilteringObservation, MappingObservation, behind_nat


@dataclass(frozen=True)
class Plan:
    """Which tests run; lifetime waits are real-world seconds, waited ``wait / time_scale``."""

    mapping: bool = True
    filtering: bool = True
    hairpinning: bool = True
    lifetimes: tuple[float, ...] = ()
    time_scale: float = 1.0
    padding: bool = False


@dataclass(frozen=True)
class Step:
    """One exchange of a test: its name, where it was sent, what it asked, what answered, and (binding
    lifetime) the real-world wait before it; ``problem`` says why an answer cannot be used."""

    test: str
    dest: Address
    ask: Ask
    answer: Answer
    wait: float = 0.0
    problem: str = ""

    @property
    def usable(self) -> bool:
        """It arrived and nothing is wrong with it."""
        return self.answer.arrived and not self.problem


@dataclass
class Discovery:
    """Everything the tests observed (judged by :mod:`natsim.probes.stun.judges`)."""

    server: Address
    steps: list[Step] = field(default_factory=list)
    other: Address | None = None
    mapping: MappingObservation | None = None
    filtering: FilteringObservation | None = None
    hairpinning: bool | None = None
    skipped: dict[str, str] = field(default_factory=dict)   # test → why it did not run
    on_step: Callable[[Step], None] | None = None           # told of each step as it is recorded

    def add(self, step: Step) -> None:
        """Record ``step`` (and tell ``on_step``)."""
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def lifetimes(self) -> list[Step]:
        """The binding-lifetime steps, shortest wait first."""
        return sorted((s for s in self.steps if s.test == "lifetime"), key=lambda s: s.wait)


async def discover(net: StunNetwork, server: Address, plan: Plan,
                   found: Discovery | None = None) -> Discovery:
    """Run ``plan``'s tests against the STUN server at ``server``, recording into ``found`` (default: a
    new :class:`Discovery`; a caller that passes its own keeps what was observed when the run is
    interrupted). Every socket is closed at the end."""
    opened: list[Endpoint] = []

    async def fresh() -> Endpoint:
        endpoint = await net.open()
        opened.append(endpoint)
        return endpoint

    found = found if found is not None else Discovery(server)
    try:
        s = await fresh()
        answer = await net.exchange(s, server, Ask(padding=plan.padding))
        first = Step("binding", server, Ask(padding=plan.padding), answer, problem=_echoed(answer))
        found.add(first)
        mapped = first.answer.mapped if first.usable else None
        if mapped is None:
            planned = {"mapping": plan.mapping, "filtering": plan.filtering,
                       "hairpinning": plan.hairpinning, "lifetime": bool(plan.lifetimes)}
            found.skipped = {test: _unusable(first.answer) for test, wanted in planned.items() if wanted}
            return found
        found.other = first.answer.other
        found.mapping = MappingObservation(s.local, mapped)
        if plan.mapping:
            await _mapping(net, s, found, plan)
        later = []
        if plan.filtering:
            later.append(_filtering(net, await fresh(), found, plan))
        if plan.hairpinning:
            later.append(_hairpinning(net, s, await fresh(), mapped, found))
        if plan.lifetimes:
            later.append(_lifetime(net, fresh, found, plan))
        await asyncio.gather(*later)
        return found
    finally:
        for endpoint in opened:
            endpoint.close()


def _no_alternate(found: Discovery, test: str) -> bool:
    if found.other is None:
        found.skipped[test] = "the server sent no OTHER-ADDRESS: it is no RFC 5780 server (one address)"
        return True
    return False


def _echoed(answer: Answer) -> str:
    """Why a request that came back instead of a response cannot be used (empty: it was a response)."""
    if answer.outcome is Outcome.REQUEST:
        return "the request itself came back: an echo service, not a STUN server"
    return ""


def _source_problem(answer: Answer, expected: Address) -> str:
    """Why an answer that should have come from ``expected`` cannot be used (empty: it can)."""
    if _echoed(answer):
        return _echoed(answer)
    if answer.arrived and answer.source != expected:
        return (f"answered from {_show(answer.source)}, not from {_show(expected)}: the server does not "
                "honour CHANGE-REQUEST or OTHER-ADDRESS")
    return ""


async def _mapping(net: StunNetwork, s: Endpoint, found: Discovery, plan: Plan) -> None:
    """Tests II and III of RFC 5780 4.3 from the socket that did test I."""
    if found.mapping is None or found.other is None:   # without a NAT, test I alone tells the mapping
        if found.mapping is not None and behind_nat(found.mapping):
            _no_alternate(found, "mapping")
        return
    other_ip = found.other[0]
    mapped: list[Address | None] = []
    for test, dest in (("mapping-2", (other_ip, found.server[1])), ("mapping-3", found.other)):
        if mapped and mapped[-1] == found.mapping.primary:
            break   # endpoint-independent already: test III is not needed
        ask = Ask(padding=plan.padding)
        answer = await net.exchange(s, dest, ask)
        step = Step(test, dest, ask, answer, problem=_source_problem(answer, dest))
        found.add(step)
        mapped.append(answer.mapped if step.usable else None)
        if mapped[-1] is None:
            found.skipped["mapping"] = step.problem or f"{test} got {answer.outcome.value}"
            break
    found.mapping = MappingObservation(found.mapping.local, found.mapping.primary, *mapped)


async def _filtering(net: StunNetwork, f: Endpoint, found: Discovery, plan: Plan) -> None:
    """Tests I-III of RFC 5780 4.4 from a socket of their own."""
    if _no_alternate(found, "filtering") or found.other is None:
        return
    server, (other_ip, other_port) = found.server, found.other
    base = Ask(padding=plan.padding)
    answer = await net.exchange(f, server, base)
    first = Step("filtering-1", server, base, answer, problem=_echoed(answer))
    found.add(first)
    if not first.usable:
        found.skipped["filtering"] = first.problem or f"filtering-1 got {first.answer.outcome.value}"
        return
    came: list[bool] = []
    for test, ask, expected in (
            ("filtering-2", Ask(True, True, padding=plan.padding), (other_ip, other_port)),
            ("filtering-3", Ask(False, True, padding=plan.padding), (server[0], other_port))):
        answer = await net.exchange(f, server, ask)
        step = Step(test, server, ask, answer, problem=_source_problem(answer, expected))
        found.add(step)
        if step.problem or answer.outcome not in (Outcome.ANSWERED, Outcome.NO_ANSWER):
            found.skipped["filtering"] = step.problem or f"{test} got {answer.outcome.value}"
            return
        came.append(step.usable)
        if step.usable:
            break
    found.filtering = FilteringObservation(*came)


async def _hairpinning(net: StunNetwork, s: Endpoint, h: Endpoint, mapped: Address,
                       found: Discovery) -> None:
    """RFC 5780 4.5: a request from another socket to S's mapped address comes back to S."""
    answer = await net.exchange(h, mapped, Ask(), receiver=s)
    found.add(Step("hairpinning", mapped, Ask(), answer))
    if answer.outcome in (Outcome.REQUEST, Outcome.NO_ANSWER, Outcome.REFUSED):   # refused: by the NAT
        found.hairpinning = answer.outcome is Outcome.REQUEST
    else:
        found.skipped["hairpinning"] = f"it got {answer.outcome.value}"


async def _lifetime(net: StunNetwork, fresh: Callable[[], Awaitable[Endpoint]], found: Discovery,
                    plan: Plan) -> None:
    """RFC 5780 4.6 for every wait in the plan, all waits at once."""
    rungs: list[tuple[float, Endpoint, Address, float]] = []
    for wait in sorted(plan.lifetimes):
        x = await fresh()
        answer = await net.exchange(x, found.server, Ask())
        if not answer.arrived or answer.mapped is None:
            found.add(Step("lifetime", found.server, Ask(), answer, wait,
                                    problem=f"its binding request got {answer.outcome.value}"))
            continue
        rungs.append((wait, x, answer.mapped, net.now()))

    async def probe(wait: float, x: Endpoint, mapped: Address, bound: float) -> None:
        await net.sleep_until(bound + wait / plan.time_scale)
        y = await fresh()
        ask = Ask(response_port=mapped[1])
        found.add(Step("lifetime", found.server, ask,
                                await net.exchange(y, found.server, ask, receiver=x), wait))

    await asyncio.gather(*(probe(*rung) for rung in rungs))


def _unusable(answer: Answer) -> str:
    """Why test I's answer gives no mapped address."""
    if _echoed(answer):
        return _echoed(answer)
    if answer.outcome is Outcome.ANSWERED:
        return "the response carried no mapped address"
    return f"test I got {answer.outcome.value}" + (f" ({answer.detail})" if answer.detail else "")


def _show(address: Address | None) -> str:
    return "nowhere" if address is None else f"{address[0]}:{address[1]}"

"""Judging NAT behaviour from RFC 5780 observations (pure: no sockets, no clock).

The terms are RFC 4787's (mapping and filtering: endpoint-independent, address-dependent,
address-and-port-dependent); :func:`classic_name` gives the RFC 3489 name beside them. Each judge
takes plain observations, so the same functions serve ``natsim probe nat-type`` (observations from
real sockets), a fake network in tests, ``natsim conform`` and a matrix of NAT configurations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: An IPv4 address and port.
Address = tuple[str, int]


class Behaviour(enum.StrEnum):
    """How a NAT's mapping (RFC 4787 4.1) or filtering (RFC 4787 5) depends on the remote endpoint."""

    ENDPOINT_INDEPENDENT = "endpoint-independent"
    ADDRESS_DEPENDENT = "address-dependent"
    ADDRESS_AND_PORT_DEPENDENT = "address-and-port-dependent"


#: What a report says where a behaviour could not be judged.
UNKNOWN = "unknown"


@dataclass(frozen=True)
class MappingObservation:
    """The mapped addresses one local socket got (RFC 5780 4.3): from the server's primary address and
    port (test I), its alternate address and primary port (test II), its alternate address and port
    (test III). None: that test got no answer (or did not run)."""

    local: Address
    primary: Address | None
    alt_address: Address | None = None
    alt_both: Address | None = None


@dataclass(frozen=True)
class FilteringObservation:
    """Which answers reached a fresh local socket that had sent only to the server's primary address
    and port (RFC 5780 4.4): one from the alternate address and port (test II, CHANGE-REQUEST
    change-IP and change-port), one from the primary address and alternate port (test III,
    change-port). None: that test did not run."""

    from_other_address: bool | None
    from_other_port: bool | None = None


def behind_nat(observation: MappingObservation) -> bool | None:
    """Whether the address the server saw differs from the socket's own (None: no answer)."""
    if observation.primary is None:
        return None
    return observation.primary != observation.local


def judge_mapping(observation: MappingObservation) -> Behaviour | None:
    """RFC 5780 4.3: the mapping is endpoint-independent when test II's mapped address equals test
    I's; else address-dependent when test III's equals test II's; else address-and-port-dependent.
    No NAT at all is endpoint-independent. None: not enough answers to tell."""
    first, second, third = observation.primary, observation.alt_address, observation.alt_both
    if first is None:
        return None
    if first == observation.local:
        return Behaviour.ENDPOINT_INDEPENDENT
    if second is None:
        return None
    if second == first:
        return Behaviour.ENDPOINT_INDEPENDENT
    if third is None:
        return None
    return Behaviour.ADDRESS_DEPENDENT if third == second else Behaviour.ADDRESS_AND_PORT_DEPENDENT


def judge_filtering(observation: FilteringObservation) -> Behaviour | None:
    """RFC 5780 4.4: endpoint-independent when the answer from the other address and port came
    through; else address-dependent when the one from the other port did; else
    address-and-port-dependent. None: not enough tests ran to tell."""
    if observation.from_other_address is None:
        return None
    if observation.from_other_address:
        return Behaviour.ENDPOINT_INDEPENDENT
    if observation.from_other_port is None:
        return None
    return Behaviour.ADDRESS_DEPENDENT if observation.from_other_port else \
        Behaviour.ADDRESS_AND_PORT_DEPENDENT


def port_preserved(observation: MappingObservation) -> bool | None:
    """Whether the NAT kept the socket's own port for its mapping (RFC 4787 4.2.1; None: no answer)."""
    if observation.primary is None:
        return None
    return observation.primary[1] == observation.local[1]


#: RFC 3489's names for the endpoint-independent mappings, by filtering.
_CONES = {Behaviour.ENDPOINT_INDEPENDENT: "full cone", Behaviour.ADDRESS_DEPENDENT: "restricted cone",
          Behaviour.ADDRESS_AND_PORT_DEPENDENT: "port-restricted cone"}


def classic_name(mapping: Behaviour | None, filtering: Behaviour | None, *, nat: bool | None = True) -> str:
    """The RFC 3489 name: full cone (endpoint-independent mapping and filtering), restricted cone
    (address-dependent filtering), port-restricted cone (address-and-port-dependent filtering),
    symmetric (any mapping that is not endpoint-independent: RFC 3489 has no name for an
    address-dependent one); without a NAT, open internet or symmetric UDP firewall. ``unknown`` when a
    behaviour it needs is unknown."""
    if nat is False:
        if filtering is None:
            return UNKNOWN
        return "open internet" if filtering is Behaviour.ENDPOINT_INDEPENDENT else "symmetric UDP firewall"
    if mapping is None:
        return UNKNOWN
    if mapping is not Behaviour.ENDPOINT_INDEPENDENT:
        return "symmetric"
    return UNKNOWN if filtering is None else _CONES[filtering]


def shown(behaviour: Behaviour | None) -> str:
    """A behaviour as a report writes it (``unknown`` for None)."""
    return UNKNOWN if behaviour is None else behaviour.value

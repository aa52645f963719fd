"""The RFC 5780 judges (pure): what each combination of observations means, and the classic names."""

from __future__ import annotations

import pytest

from natsim.probes.stun.judges import (
    Behaviour,
    FilteringObservation,
    MappingObservation,
    behind_nat,
    classic_name,
    judge_filtering,
    judge_mapping,
    port_preserved,
)

EIM = EIF = Behaviour.ENDPOINT_INDEPENDENT
ADM = ADF = Behaviour.ADDRESS_DEPENDENT
APDM = APDF = Behaviour.ADDRESS_AND_PORT_DEPENDENT
LOCAL = ("192.0.2.10", 5000)
A, B, C = ("203.0.113.1", 40000), ("203.0.113.1", 40001), ("203.0.113.1", 40002)


@pytest.mark.parametrize(("observation", "expected"), [
    (MappingObservation(LOCAL, A, A), EIM),
    (MappingObservation(LOCAL, A, A, B), EIM),          # test III is not needed after test II
    (MappingObservation(LOCAL, A, B, B), ADM),
    (MappingObservation(LOCAL, A, B, C), APDM),
    (MappingObservation(LOCAL, LOCAL), EIM),            # no NAT
    (MappingObservation(LOCAL, None), None),
    (MappingObservation(LOCAL, A), None),               # test II did not answer
    (MappingObservation(LOCAL, A, B), None),            # test III did not answer
])
def test_mapping(observation: MappingObservation, expected: Behaviour | None) -> None:
    assert judge_mapping(observation) is expected


@pytest.mark.parametrize(("observation", "expected"), [
    (FilteringObservation(True), EIF),
    (FilteringObservation(False, True), ADF),
    (FilteringObservation(False, False), APDF),
    (FilteringObservation(None), None),
    (FilteringObservation(False), None),
])
def test_filtering(observation: FilteringObservation, expected: Behaviour | None) -> None:
    assert judge_filtering(observation) is expected


@pytest.mark.parametrize(("mapping", "filtering", "nat", "name"), [
    (EIM, EIF, True, "full cone"), (EIM, ADF, True, "restricted cone"),
    (EIM, APDF, True, "port-restricted cone"), (ADM, EIF, True, "symmetric"),
    (APDM, APDF, True, "symmetric"), (EIM, None, True, "unknown"), (None, EIF, True, "unknown"),
    (EIM, EIF, False, "open internet"), (EIM, APDF, False, "symmetric UDP firewall"),
    (EIM, None, False, "unknown"),
])
def test_classic_names(mapping: Behaviour | None, filtering: Behaviour | None, nat: bool, name: str) -> None:
    assert classic_name(mapping, filtering, nat=nat) == name


def test_nat_and_port_preservation() -> None:
    assert behind_nat(MappingObservation(LOCAL, A)) is True
    assert behind_nat(MappingObservation(LOCAL, LOCAL)) is False
    assert behind_nat(MappingObservation(LOCAL, None)) is None
    assert port_preserved(MappingObservation(LOCAL, ("203.0.113.1", 5000))) is True
    assert port_preserved(MappingObservation(LOCAL, A)) is False

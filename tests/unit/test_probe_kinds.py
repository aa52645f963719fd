"""The probe registry: every kind has one options class, a lab driver, and a model or a stated reason
it has none; docs/scenarios.md shows exactly the declared options."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.probes.options import markdown_table, option_fields
from natsim.probes.registry import ProbeKind, kinds

DOCS = Path(__file__).parents[2] / "docs" / "scenarios.md"


def test_natsims_own_kinds_are_registered() -> None:
    assert set(kinds()) == {"tcp-send", "tcp-recv", "tcp-keepalive", "ssh-first-connect",
                            "ssh-bypass-timer", "ssh-kex", "ssh-idle", "command"}


@pytest.mark.parametrize("name", sorted(kinds()))
def test_every_kind_is_complete(name: str) -> None:
    kind = kinds()[name]
    assert kind.options.kind == name and callable(kind.driver)
    assert kind.model is not None or kind.unmodelled, "a model, or a documented reason for none"
    defaults = kind.options()
    if name != "command":      # a command needs its argv
        defaults.validate()
    for f in option_fields(kind.options):
        assert f.metadata.get("doc"), f"{name}.{f.name} has no doc"


def test_a_kind_without_model_or_reason_is_refused() -> None:
    command = kinds()["command"]
    with pytest.raises(TypeError, match="needs a model or a reason"):
        ProbeKind("command", command.options, command.driver)


def test_docs_show_exactly_the_declared_options() -> None:
    table = markdown_table({k: v.options for k, v in kinds().items()})
    assert table in DOCS.read_text(), "regenerate the table in docs/scenarios.md (Probe options)"

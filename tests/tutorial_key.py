"""The teacher's key to the guided labs (docs/tutorial/): each lab's scenario, the prediction the
student edits (probe, expectation) and its right value, and how to write an answer into the scenario.

The student replaces one value on the line of the scenario's ``expect:`` block marked ``PREDICTION``;
:func:`answered` does the same with the key's value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial"


@dataclass(frozen=True)
class Answer:
    """The right prediction of one lab: ``expect: {PROBE: {KEY: VALUE}}``."""

    scenario: str
    probe: str
    key: str
    value: Any


KEY = {
    "01-conntrack.md": Answer("01-conntrack.yaml", "send", "first_dead", 4),        # idle 5m >= 4m30s
    "02-nat-mapping.md": Answer("02-nat-mapping.yaml", "send", "first_dead", 4),    # re-mapped: RST
    "03-keepalive.md": Answer("03-keepalive.yaml", "keepalive", "first_dead", 3),   # keepalive 8m >= 7m
    "04-bridge-modem.md": Answer("04-bridge-modem.yaml", "recv", "first_dead", None),  # inbound pickup
    "05-hole-punch.md": Answer("05-hole-punch.yaml", "punch", "found", {"punched": True}),  # ADF lets the
    # CGN's new port in: b1 sent to its address
    "06-ssh-proxy.md": Answer("06-ssh-proxy.yaml", "logins", "attempts", ["eof", "ok", "ok"]),
}


def prediction_line(text: str, answer: Answer) -> re.Match[str]:
    """The scenario's line that holds the prediction (``  PROBE: {KEY: VALUE}  # PREDICTION ...``)."""
    found = re.search(rf"^  {answer.probe}: \{{{answer.key}: (.*?)\}}(\s+# PREDICTION.*)$", text, re.M)
    assert found is not None, f"{answer.scenario}: no PREDICTION line for {answer.probe}.{answer.key}"
    return found


def answered(text: str, answer: Answer) -> str:
    """``text`` (a tutorial scenario) with the key's value as the prediction (JSON is YAML)."""
    line = prediction_line(text, answer)
    value = json.dumps(answer.value)
    return text[:line.start(1)] + value + text[line.end(1):]

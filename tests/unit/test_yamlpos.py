"""The guarded YAML loader: exact alias accounting, bounded cost, bad files as one located error."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from natsim import yamlpos
from natsim.errors import ScenarioError

CASES = Path(__file__).with_name("scenario_cases")
BAD_YAML = sorted(p.name for p in CASES.glob("yaml-*") if (p / "error.txt").exists())

# root map 1 + key a 1 + [1, 2, 3] 4 + key b 1 + its list 1 + two aliases of 4 values each = 16
TWICE = "a: &a [1, 2, 3]\nb: [*a, *a]\n"


def test_values_are_counted_with_aliases_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlpos, "MAX_VALUES", 16)
    assert yamlpos.load_located(TWICE, "t.yaml").data == {"a": [1, 2, 3], "b": [[1, 2, 3], [1, 2, 3]]}
    monkeypatch.setattr(yamlpos, "MAX_VALUES", 15)
    with pytest.raises(ScenarioError, match=r"^t\.yaml:2:9: too many values .* more than 15 \(the limit\)"):
        yamlpos.load_located(TWICE, "t.yaml")


def test_depth_counts_what_an_alias_brings(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: &a [[[1]]]\nb: [*a]\n"  # b's list at level 2, the alias at 3, its innermost 1 at 6
    monkeypatch.setattr(yamlpos, "MAX_DEPTH", 6)
    assert yamlpos.load_located(text, "t.yaml").data["b"] == [[[[1]]]]
    monkeypatch.setattr(yamlpos, "MAX_DEPTH", 5)
    with pytest.raises(ScenarioError, match=r"^t\.yaml:2:5: nested more than 5 levels"):
        yamlpos.load_located(text, "t.yaml")


def test_alias_bomb_is_refused_before_expanding() -> None:
    text = (CASES / "yaml-alias-bomb" / "scenario.yaml").read_text()
    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError, match="too many values"):
            yamlpos.load_located(text, "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"peak {peak} bytes: the aliases were expanded"


def test_undefined_alias_and_plain_standard_tags() -> None:
    with pytest.raises(ScenarioError, match=r"^t\.yaml:1:4: YAML syntax error: found undefined alias 'x'"):
        yamlpos.load_located("a: *x\n", "t.yaml")
    assert yamlpos.load_located("a: !!str 5\nb: !!seq [1]\n", "t.yaml").data == {"a": "5", "b": [1]}


def test_non_utf8_position_counts_characters() -> None:
    with pytest.raises(ScenarioError, match=r"^f:2:4: not UTF-8: byte 0xff"):
        yamlpos.decode_utf8(b"x: 1\n\xc3\xa9: \xff", "f")  # é is two bytes, one column


@pytest.mark.parametrize("case", BAD_YAML)
def test_cli_reports_one_line_and_exits_2(case: str) -> None:
    path = CASES / case / "scenario.yaml"
    done = subprocess.run([sys.executable, "-m", "natsim.cli", "predict", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    expected = (CASES / case / "error.txt").read_text().strip()
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"natsim: error: {CASES / case}/{expected}"), done.stderr

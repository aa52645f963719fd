"""The settings tables in docs/ are generated from the fields' metadata, as describe() is: the docs hold
exactly what natsim.doc_tables generates, one table per middlebox kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.doc_tables import blocks, rewrite, scenarios_table, tables
from natsim.fields import describe_settings, settings, shown
from natsim.middleboxes import build_config, kind
from natsim.middleboxes.presets import configure
from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.scenario import shipped_scenarios
from tests.unit.test_registry import own_kinds

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_every_generated_table_in_the_docs_is_current(doc: Path) -> None:
    text = doc.read_text()
    assert rewrite(text) == text, f"regenerate: python -m natsim.doc_tables docs/{doc.name}"


def test_every_middlebox_kind_has_its_settings_table() -> None:
    expected = sorted([*(f"settings of {n}" for n in own_kinds()), "nat behaviour values"])
    assert sorted(blocks((DOCS / "middleboxes.md").read_text())) == expected
    assert blocks((DOCS / "scenarios.md").read_text()) == \
        ["probe options", "host settings", "shipped scenarios"]


def test_a_stale_table_or_an_unknown_block_is_caught() -> None:
    stale = "<!-- generated: settings of nat -->\n| old |\n<!-- end generated -->"
    assert rewrite(stale) == stale.replace("| old |\n", tables()["settings of nat"])
    with pytest.raises(KeyError):
        rewrite("<!-- generated: settings of no-such-kind -->\n<!-- end generated -->")


@pytest.mark.parametrize("name", own_kinds())
def test_describe_shows_every_setting_as_its_metadata_says(name: str) -> None:
    config = build_config(name, {})
    rows = dict(config.describe())
    for f in settings(kind(name).config):
        assert rows[f.name] == shown(f.metadata, getattr(config, f.name)), f.name


def test_shown_values_are_in_real_world_units() -> None:
    proxy = SshProxy(ports=(22, 2222), bypass=(60.0, 90.0), backend_banner="")
    rows = dict(describe_settings(proxy))
    assert (rows["ports"], rows["bypass"], rows["backend_banner"]) == ("22,2222", "1m..1m30s",
                                                                       "the same as banner")
    unset = dict(configure("cgn", {"transitory_timeout": None}).describe())
    assert (unset["idle_timeout"], unset["transitory_timeout"]) == ("2h4m", "kernel defaults")


def test_the_shipped_scenarios_table_names_each_scenario_and_its_presets() -> None:
    rows = scenarios_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == sorted(shipped_scenarios())
    assert "| `k8s-ipvs-900s` | `ipvs-kube-proxy` | IPVS" in scenarios_table()

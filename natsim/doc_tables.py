"""The tables in ``docs/`` that are generated from the fields' metadata: each middlebox kind's settings
(``docs/middleboxes.md``), every probe kind's options and the shipped scenarios with their stories
(``docs/scenarios.md``), and one section per device preset from its data file (``docs/presets.md``).
natsim's own kinds, scenarios and presets only: an installed plugin documents its own.

A generated table sits between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``.
``python -m natsim.doc_tables docs/*.md`` rewrites them in place; a unit test checks that the docs
hold exactly what this module generates.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distribution
from pathlib import Path

from natsim.endpoint import Endpoint
from natsim.fields import settings, settings_table, shown
from natsim.middleboxes import registry as middleboxes
from natsim.middleboxes.base import Preset
from natsim.middleboxes.nat.behaviour import values_table
from natsim.middleboxes.presets import shipped
from natsim.probes import registry as probes
from natsim.probes.options import markdown_table
from natsim.shipped import SCENARIOS
from natsim.yamlpos import load_file

_BLOCK = re.compile(r"(<!-- generated: (?P<name>[^>]+?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def _own(group: str) -> list[str]:
    return sorted(p.name for p in distribution("natsim").entry_points.select(group=group))


def tables() -> dict[str, str]:
    """Block name → generated markdown."""
    found = {f"settings of {name}": settings_table(middleboxes.kind(name).config)
             for name in _own(middleboxes.GROUP)}
    found["probe options"] = markdown_table({name: probes.kind(name).options for name in _own(probes.GROUP)})
    found["nat behaviour values"] = values_table()
    found["presets"] = "\n".join(preset_section(p) for p in shipped().values())
    found["shipped scenarios"] = scenarios_table()
    found["host settings"] = settings_table(Endpoint)
    return found


def scenarios_table() -> str:
    """Each shipped scenario, the device presets it is built from, and its story (its
    ``description``). Read as data: no topology is loaded."""
    lines = ["| scenario | presets | story |", "| --- | --- | --- |"]
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = load_file(path).data
        boxes = data.get("middleboxes") or {}
        used = sorted({str(v["preset"]) for v in boxes.values() if isinstance(v, dict) and "preset" in v})
        names = ", ".join(f"`{name}`" for name in used) or "–"
        lines.append(f"| `{data['name']}` | {names} | {data.get('description', '')} |")
    return "\n".join(lines) + "\n"


def preset_section(preset: Preset) -> str:
    """A preset's section: kind, the settings it sets (as its kind shows them), sources, note."""
    config = middleboxes.build_config(preset.kind, dict(preset.settings))
    specs = {f.name: f.metadata for f in settings(type(config))}
    lines = [f"### {preset.name}", "", f"{preset.device}. Kind `{preset.kind}`"
             + (". **Approximate**: a source is secondary [weak]." if preset.approximate else "."), "",
             "| setting | value |", "| --- | --- |"]
    lines += [f"| `{key}` | `{shown(specs[key], getattr(config, key))}` |" for key, _ in preset.settings]
    lines += ["", "Sources:", *(f"- {src.describe()}" for src in preset.sources), "", preset.note, ""]
    return "\n".join(lines)


def rewrite(text: str, generated: dict[str, str] | None = None) -> str:
    """``text`` with every generated block replaced by what it should hold; :class:`KeyError` for a
    block no table is generated for."""
    current = tables() if generated is None else generated
    return _BLOCK.sub(lambda m: m.group(1) + current[m.group("name")] + m.group(4), text)


def blocks(text: str) -> list[str]:
    """The names of the generated blocks in ``text``."""
    return [m.group("name") for m in _BLOCK.finditer(text)]


def main(paths: list[str]) -> int:
    """Rewrite the generated blocks of each file in ``paths``."""
    generated = tables()
    for path in map(Path, paths):
        text = path.read_text()
        path.write_text(rewrite(text, generated))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

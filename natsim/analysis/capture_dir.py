"""A capture directory as the analysis sees it: links in path order, node addresses, time scale.

Written by :class:`natsim.lab.capture.Capture` (``capture.json``). A directory of bare pcaps with no
manifest is still readable: each pcap is one link and nothing is matched across links.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.analysis.segments import AnalysisError, Segment, read_segments
from natsim.middleboxes import kinds as middlebox_kinds

MANIFEST = "capture.json"


@dataclass
class Link:
    """One captured link; ``position`` is its index along the path (link i joins path[i], path[i+1])."""

    name: str
    file: str
    position: int | None
    left: str
    right: str
    segments: list[Segment] = field(default_factory=list)
    packets_total: int = 0
    cut: bool = False
    note: str = ""

    @property
    def captured_until(self) -> float | None:
        """For a capture cut at its packet limit, the time of its last packet (later packets on this
        link are unknown, not missing); None when the capture is complete."""
        return self.segments[-1].time if self.cut and self.segments else None


@dataclass
class CaptureDir:
    """Everything the analysis needs from a capture directory."""

    directory: Path
    path: list[str]
    links: list[Link]
    owners: dict[str, str]
    time_scale: float = 1.0
    manifest: dict[str, Any] = field(default_factory=dict)
    #: link name → the two nodes it joins (empty without a manifest)
    ends: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: middlebox node → kind
    kinds: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def terminating(self) -> set[str]:
        """The middlebox nodes whose kind terminates TCP (an L7 proxy: a connection may end inside
        them); a kind not installed here counts as not terminating."""
        known = middlebox_kinds()
        return {node for node, kind in self.kinds.items() if kind in known and known[kind].terminates_tcp}

    @property
    def start(self) -> float:
        """Time of the first captured segment (0.0 when there is none)."""
        times = [link.segments[0].time for link in self.links if link.segments]
        return min(times) if times else 0.0

    def link(self, name: str) -> Link:
        """The link called ``name``."""
        for link in self.links:
            if link.name == name:
                return link
        raise AnalysisError(f"no link {name} in {self.directory}")

    def node_path(self, start: str, goal: str) -> list[str]:
        """The nodes from ``start`` to ``goal`` over the captured links (``[]`` when unconnected)."""
        neighbours: dict[str, list[str]] = {}
        for a, b in self.ends.values():
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
        previous: dict[str, str] = {start: start}
        queue = [start]
        while queue:
            node = queue.pop(0)
            if node == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            for nxt in neighbours.get(node, []):
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        return []

    def link_between(self, a: str, b: str) -> str | None:
        """The captured link joining nodes ``a`` and ``b``."""
        for name, ends in self.ends.items():
            if set(ends) == {a, b}:
                return name
        return None


def load_capture_dir(directory: str | Path) -> CaptureDir:
    """Read the manifest (when present) and every pcap of ``directory`` (a capture directory, or a
    ``natsim run`` output directory holding one in ``pcap/``)."""
    root = Path(directory)
    if not root.is_dir():
        raise AnalysisError(f"{root}: not a directory")
    if not (root / MANIFEST).exists() and (root / "pcap" / MANIFEST).exists():
        root = root / "pcap"
    manifest_path = root / MANIFEST
    if not manifest_path.exists():
        files = sorted(root.glob("*.pcap"))
        if not files:
            raise AnalysisError(f"{root}: no capture.json and no .pcap files")
        links = [Link(f.stem, f.name, None, f.stem, "?", read_segments(f, f.stem)) for f in files]
        return CaptureDir(root, [], links, {})
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as err:
        raise AnalysisError(f"{manifest_path}: unreadable: {err}") from err
    path: list[str] = list(manifest.get("path", []))
    owners = {ip: node for node, ips in manifest.get("addresses", {}).items() for ip in ips}
    links = []
    for entry in manifest.get("links", []):
        pair = (str(entry["node"]), str(entry["peer"]))
        positions = [path.index(n) for n in pair if n in path]
        position = min(positions) if len(positions) == 2 and abs(positions[0] - positions[1]) == 1 else None
        left, right = (path[position], path[position + 1]) if position is not None else pair
        file = root / entry["file"]
        if not file.exists():
            raise AnalysisError(f"{file}: listed in capture.json but missing")
        links.append(Link(entry["link"], entry["file"], position, left, right,
                          read_segments(file, entry["link"]), int(entry.get("packets", 0)),
                          bool(entry.get("cut")), str(entry.get("note", ""))))
    links.sort(key=lambda lk: (lk.position is None, lk.position or 0, lk.name))
    ends = {str(e["link"]): (str(e["node"]), str(e["peer"])) for e in manifest.get("links", [])}
    kinds = {name: str(info.get("kind", "")) for name, info in manifest.get("middleboxes", {}).items()}
    return CaptureDir(root, path, links, owners, float(manifest.get("time_scale", 1.0)), manifest,
                      ends, kinds)

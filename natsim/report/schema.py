"""The result schema shared by ``natsim run`` (lab), ``natsim predict`` (model) and field probes.

All times are real-world seconds (a lab run converts with its time scale), so a lab result, a
model result and a field result compare directly. ``to_dict``/``from_dict`` round-trip JSON.
"""

from __future__ import annotations

import enum
import errno
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natsim.outfiles import write_file

SCHEMA_VERSION = 1


class Verdict(enum.StrEnum):
    """Outcome of one probe connection or attempt, decided from what happened on the socket or the
    wire (never from a tool's wording); the lab's drivers and the model use exactly these."""

    ALIVE = "alive"      # worked after its idle time
    DEAD = "dead"        # silence: the OS reported a timeout (ETIMEDOUT), or no answer came
    RESET = "reset"      # an RST ended it: the OS reported ECONNRESET (ECONNREFUSED, EPIPE)
    EOF = "eof"          # the peer closed (FIN) where data was expected
    REFUSED = "refused"  # an ICMP port unreachable came back (ECONNREFUSED on a connected UDP socket)
    OK = "ok"            # an attempt (e.g. an SSH login) succeeded
    ERROR = "error"      # the probe itself failed (set-up, protocol)
    SKIPPED = "skipped"  # not tested (run stopped early)


#: errno values that mean "the OS gave up waiting": dead by silence.
SILENCE_ERRNOS = frozenset({errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})
#: errno values that mean an RST ended the connection (EPIPE: an RST met a half-closed socket,
#: ECONNREFUSED: an RST answered the SYN).
RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ECONNREFUSED})


def errno_name(code: int) -> str:
    """``'ETIMEDOUT'`` for :data:`errno.ETIMEDOUT`."""
    return errno.errorcode.get(code, f"errno {code}")


def errno_verdict(code: int | None) -> Verdict:
    """The verdict of a socket error: DEAD for silence, RESET for an RST, ERROR for anything else."""
    if code in SILENCE_ERRNOS:
        return Verdict.DEAD
    if code in RESET_ERRNOS:
        return Verdict.RESET
    return Verdict.ERROR


@dataclass
class ConnectionResult:
    """One probe connection (or attempt): what was tested and what happened."""

    index: int
    idle: float                   # real-world seconds idle (or waited) before the test
    verdict: Verdict
    how: str = ""                 # where it failed: "write", "read", "keepalive", "handshake", ...
    elapsed: float | None = None  # real-world seconds from probe start to the verdict
    detail: str = ""              # free text (error message, returned bytes)
    explanation: str = ""         # why (the model fills this in)
    label: str = ""               # what the probe calls it besides its index (an ssh-idle variant's name)
    local: str = ""               # the client's own address:port for it, where the probe knows it (a
                                  # capture's connection is named after the probe connection by it)

    @property
    def name(self) -> str:
        """``#2`` or, with a label, ``#2 serveralive-300``: how reports name it."""
        return f"#{self.index}" + (f" {self.label}" if self.label else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionResult:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "verdict": Verdict(data["verdict"])})


@dataclass
class Estimate:
    """Bracket of an inferred timeout: the longest idle that worked, the shortest that failed."""

    lower: float | None
    upper: float | None

    def describe(self) -> str:
        """``'idle timeout between 59m and 1h'``."""
        from natsim.units import format_duration
        if self.lower is None and self.upper is None:
            return "no estimate"
        if self.upper is None:
            return f"no idle timeout up to {format_duration(self.lower or 0)}"
        if self.lower is None:
            return f"idle timeout below {format_duration(self.upper)}"
        return f"idle timeout between {format_duration(self.lower)} and {format_duration(self.upper)}"


#: Verdicts that say the connection (or flow) did not survive its idle time.
FAILED = frozenset({Verdict.DEAD, Verdict.RESET, Verdict.EOF, Verdict.REFUSED})


def estimate_timeout(connections: list[ConnectionResult]) -> Estimate:
    """Bracket the idle timeout: last working idle below the first failing one. A connection that
    failed to connect (``how == "connect"``) was never idle and bounds nothing."""
    failed = [c.idle for c in connections if c.verdict in FAILED and c.how != "connect"]
    upper = min(failed) if failed else None
    worked = [c.idle for c in connections if c.verdict in (Verdict.ALIVE, Verdict.OK)
              and (upper is None or c.idle < upper)]
    return Estimate(lower=max(worked) if worked else None, upper=upper)


@dataclass
class ProbeResult:
    """One probe's outcome: its connections and a timeout estimate."""

    name: str                       # the probe's name in the scenario (or its kind)
    kind: str                       # tcp-send, tcp-recv, tcp-keepalive, ssh-idle, ssh-first-connect, ...
    target: str
    node: str | None = None
    connections: list[ConnectionResult] = field(default_factory=list)
    estimate: Estimate | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"name": self.name, "kind": self.kind, "target": self.target, "node": self.node,
                "connections": [c.to_dict() for c in self.connections],
                "estimate": asdict(self.estimate) if self.estimate else None,
                "extra": self.extra, "complete": self.complete}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        """Inverse of :meth:`to_dict`."""
        est = data.get("estimate")
        return cls(name=data["name"], kind=data["kind"], target=data["target"], node=data.get("node"),
                   connections=[ConnectionResult.from_dict(c) for c in data.get("connections", [])],
                   estimate=Estimate(**est) if est else None, extra=data.get("extra", {}),
                   complete=data.get("complete", True))


@dataclass
class RunResult:
    """Everything one run produced: lab, model or field."""

    source: str                     # "lab", "model" or "field"
    time_scale: float = 1.0
    scenario: str | None = None
    started: float | None = None    # epoch seconds (wall clock)
    finished: float | None = None
    probes: list[ProbeResult] = field(default_factory=list)
    unscaled: list[str] = field(default_factory=list)  # timers the lab could not scale
    notes: list[str] = field(default_factory=list)
    complete: bool = True
    #: node → the device preset its middlebox was built from: name, device, approximate, sources
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def probe(self, name: str) -> ProbeResult:
        """The probe result named ``name``."""
        for p in self.probes:
            if p.name == name:
                return p
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"schema": SCHEMA_VERSION, "source": self.source, "time_scale": self.time_scale,
                "scenario": self.scenario, "started": self.started, "finished": self.finished,
                "probes": [p.to_dict() for p in self.probes], "unscaled": self.unscaled,
                "notes": self.notes, "complete": self.complete, "presets": self.presets}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of :meth:`to_dict`."""
        return cls(source=data["source"], time_scale=data.get("time_scale", 1.0),
                   scenario=data.get("scenario"), started=data.get("started"),
                   finished=data.get("finished"),
                   probes=[ProbeResult.from_dict(p) for p in data.get("probes", [])],
                   unscaled=data.get("unscaled", []), notes=data.get("notes", []),
                   complete=data.get("complete", True), presets=data.get("presets", {}))

    def to_json(self) -> str:
        """The JSON text ``result.json`` holds."""
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: Path, *, for_user: bool = False) -> None:
        """Write JSON to ``path`` atomically, never through a link (:func:`natsim.outfiles.write_file`;
        ``for_user``: under sudo the file is the invoking user's)."""
        write_file(path, self.to_json(), for_user=for_user)

    @classmethod
    def load(cls, path: Path) -> RunResult:
        """Read JSON from ``path``."""
        return cls.from_dict(json.loads(path.read_text()))

"""A server a probe kind talks to (its name, default port and transport): a fact of the kind
(``ProbeKind.service``) that the server which provides it declares (``natsim.probes.tcp.protocol``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """A server a probe kind talks to: what it is called, its default port, its transport."""

    name: str
    port: int
    transport: str = "tcp"

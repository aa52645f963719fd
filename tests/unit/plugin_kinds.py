"""A stand-in for a plugin's middlebox kind: an L7 SSH interceptor that is not natsim's ssh-proxy.

``registered(monkeypatch)`` adds it to the middlebox registry for one test, as an installed plugin's
entry point would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from natsim.middleboxes import registry
from natsim.middleboxes.abilities import Interception, SshInterceptor
from natsim.middleboxes.base import RenderContext, Rendered
from natsim.sim.network import Action, Forward, Segment
from natsim.sim.trace import Cut
from natsim.units import TimeScale

BANNER = "SSH-2.0-SomeoneElsesProxy_1.0"


@dataclass(frozen=True)
class OtherProxy:
    """The plugin's config: no settings."""

    kind: ClassVar[str] = "other-l7-proxy"

    def describe(self) -> list[tuple[str, str]]:
        return []


class OtherInterceptor(SshInterceptor):
    """Cuts every login (FIN after its banner) and never bypasses: unlike ssh-proxy in every way."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.attempts = 0

    @property
    def identity(self) -> str:
        return BANNER

    def handle(self, seg: Segment, outbound: bool, now: float) -> Action:
        return Forward(seg)

    def attempt(self, client: str, server: str, port: int, backend_kex: tuple[str, ...],
                now: float, conn: str = "") -> Interception:
        self.attempts += 1
        return Interception("cut", BANNER, Cut(now, self.name, conn, client, server, port,
                                               offered=("other-kex",), bypass=0.0))

    def shown(self, client: str, server: str, port: int, now: float) -> tuple[str, tuple[str, ...]] | None:
        return BANNER, ("other-kex",)


def _model(node: str, config: Any, scale: TimeScale, seed: int) -> OtherInterceptor:
    return OtherInterceptor(node)


def _render(config: Any, ctx: RenderContext) -> Rendered:
    return Rendered(nft="")


KIND = registry.MiddleboxKind(OtherProxy.kind, OtherProxy, _render, _model, terminates_tcp=True,
                              summary="a plugin's L7 SSH proxy (test stand-in)")


def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the registry find :data:`KIND` besides the installed kinds, for one test."""
    installed = registry.kinds()
    monkeypatch.setattr(registry, "_registered", lambda: {**installed, KIND.name: KIND})

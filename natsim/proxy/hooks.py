"""What the asyncssh callbacks of the SSH man-in-the-middle need from their session.

:class:`~natsim.proxy.mitm.MitmSession` owns both connections; the callbacks asyncssh drives
(:mod:`~natsim.proxy.facing` and :mod:`~natsim.proxy.channels`) see it only through
:class:`SessionHooks`, so they do not import the session module.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncssh


class Outcome(enum.StrEnum):
    """How an intercepted SSH session ended, for the session log."""

    RELAYED = "relayed"          # authenticated through the proxy and relayed
    DISAGREED = "kex-mismatch"   # backend refused the proxy's key exchanges → bypass
    AUTH_FAILED = "auth-failed"  # the backend rejected the client's credentials
    BACKEND_FAILED = "backend-failed"
    CLIENT_FAILED = "client-failed"  # the client left or misbehaved before logging in


@dataclass
class Attempt:
    """One authentication step the client made, waiting for the backend's verdict."""

    method: str                       # "password", "kbdint-start", "kbdint-response"
    payload: Any
    result: asyncio.Future[Any]


class SessionHooks(Protocol):
    """The part of an intercepted session that the asyncssh callbacks use."""

    client: asyncssh.SSHServerConnection | None
    backend: asyncssh.SSHClientConnection | None
    backend_attempt: asyncssh.SSHClientConnection | None   # before it authenticated
    client_software: str
    channels: int
    disagreed: asyncio.Event
    on_disagree: Callable[[], Awaitable[None]]

    def fail(self, outcome: Outcome, reason: str) -> None:
        """Record how the session ended (the first call wins)."""

    def finish(self) -> None:
        """End the session."""

    async def hang_up(self) -> None:
        """Close the client side with a FIN and wait for the client to close."""

    async def start_backend(self, username: str) -> bool:
        """Connect to the backend as ``username``; True when it wants authentication."""

    def backend_wants_auth(self) -> None:
        """The backend asked for authentication: key exchange succeeded."""

    async def client_attempt(self, method: str, payload: Any) -> Any:
        """The client made an auth step; wait for the backend's verdict."""

    async def next_attempt(self) -> Attempt:
        """The backend asks for the next client step."""

    def hold(self, attempt: Attempt) -> None:
        """Keep ``attempt`` for the next backend auth method."""

    def set_pending(self, attempt: Attempt) -> None:
        """``attempt`` was sent to the backend; its verdict comes later."""

    def answer_pending(self, value: Any) -> bool:
        """Resolve the step sent to the backend; False when none was pending."""


def describe(err: BaseException) -> str:
    """A short reason for the session log."""
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if not isinstance(err, asyncssh.Error) else text

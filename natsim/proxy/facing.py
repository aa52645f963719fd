"""The proxy's two asyncssh faces: the server the client sees and the client the backend sees.

Both only forward asyncssh's callbacks to the session (:class:`~natsim.proxy.hooks.SessionHooks`):
the client's login attempts are queued for the backend, the backend's prompts are answered with
what the client typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncssh

from natsim.proxy.channels import ClientChannel
from natsim.proxy.hooks import Outcome, SessionHooks, describe


class ClientFacing(asyncssh.SSHServer):
    """The proxy as the client sees it."""

    def __init__(self, session: SessionHooks) -> None:
        self.session = session

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.session.client = conn

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.session.fail(Outcome.CLIENT_FAILED, describe(exc))
        self.session.finish()

    async def begin_auth(self, username: str) -> bool:
        session = self.session
        if session.client is not None:
            session.client_software = str(session.client.get_extra_info("client_version") or "")
        try:
            return await session.start_backend(username)
        except asyncssh.KeyExchangeFailed as err:
            session.fail(Outcome.DISAGREED, describe(err))
            session.disagreed.set()
            await session.on_disagree()
        except (asyncssh.Error, OSError, TimeoutError, ConnectionError) as err:
            session.fail(Outcome.BACKEND_FAILED, describe(err))
        except Exception as err:  # the proxy's own bug: log it, never crash the daemon
            session.fail(Outcome.BACKEND_FAILED, f"internal: {err!r}")
        await session.hang_up()
        return True  # never reached by a live client: it has been hung up on

    def password_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return False  # a man in the middle cannot relay a signature

    async def validate_password(self, username: str, password: str) -> bool:
        return bool(await self.session.client_attempt("password", password) is True)

    async def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> Any:
        return await self.session.client_attempt("kbdint-start", submethods)

    async def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> Any:
        return await self.session.client_attempt("kbdint-response", list(responses))

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        self.session.channels += 1
        return ClientChannel(self.session)


class BackendFacing(asyncssh.SSHClient):
    """The proxy as the backend sees it: answers prompts with what the client typed."""

    def __init__(self, session: SessionHooks) -> None:
        self.session = session

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.session.backend_attempt = conn

    async def kbdint_auth_requested(self) -> str | None:
        session = self.session
        session.backend_wants_auth()
        attempt = await session.next_attempt()
        if attempt.method != "kbdint-start":
            session.hold(attempt)
            return None
        session.set_pending(attempt)
        return ""

    async def kbdint_challenge_received(self, name: str, instructions: str, lang: str,
                                        prompts: Sequence[tuple[str, bool]]) -> list[str] | None:
        session = self.session
        if not prompts and not name and not instructions:
            return []
        if not session.answer_pending((name, instructions, lang, list(prompts))):
            return None
        attempt = await session.next_attempt()
        if attempt.method != "kbdint-response":
            session.hold(attempt)
            return None
        session.set_pending(attempt)
        return list(attempt.payload)

    async def password_auth_requested(self) -> str | None:
        session = self.session
        session.backend_wants_auth()
        while True:
            attempt = await session.next_attempt()
            if attempt.method == "password":
                session.set_pending(attempt)
                return str(attempt.payload)
            attempt.result.set_result(False)  # the backend is past keyboard-interactive

    def auth_completed(self) -> None:
        self.session.answer_pending(True)

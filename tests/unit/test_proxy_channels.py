"""Channels through the proxy: pty + window change + exit status, kbd-interactive, sftp and scp."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import asyncssh

from tests.unit.ssh_helpers import GEX, LOCAL, port_of, proxy


class _Backend(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return password == "pw"

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> object:
        return ("natsim", "answer the question", "", [("Favourite port: ", True)])

    def validate_kbdint_response(self, username: str, responses: list[str]) -> object:
        return responses == ["2222"]


async def _process(process: asyncssh.SSHServerProcess[str]) -> None:
    """Report the terminal, wait for one window change, report it, exit 7."""
    size = process.term_size
    process.stdout.write(f"term={process.term_type} size={size[0]}x{size[1]}\n")
    try:
        await process.stdin.readline()
    except asyncssh.TerminalSizeChanged as change:
        process.stdout.write(f"resized={change.width}x{change.height}\n")
    process.exit(7)


@contextlib.asynccontextmanager
async def sftp_backend(root: Path) -> AsyncIterator[int]:
    server = await asyncssh.listen(
        LOCAL, 0, server_factory=_Backend, server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        kex_algs=list(GEX), process_factory=_process,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root)), allow_scp=True)
    try:
        yield port_of(server)
    finally:
        server.close()
        await server.wait_closed()


def _connect(port: int, **kwargs: object) -> object:
    return asyncssh.connect(LOCAL, port, username="u", known_hosts=None, client_keys=None, agent_path=None,
                            config=None, gss_host=None, **kwargs)


def test_pty_window_change_and_exit_status(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with sftp_backend(tmp_path) as bport, proxy(bport) as (_srv, _byp, pport), \
                _connect(pport, password="pw") as conn:  # type: ignore[attr-defined]
            proc = await conn.create_process(term_type="xterm-256color", term_size=(80, 24))
            first = await proc.stdout.readline()
            assert first.strip() == "term=xterm-256color size=80x24"
            proc.change_terminal_size(132, 40)
            assert (await proc.stdout.readline()).strip() == "resized=132x40"
            await proc.wait_closed()
            assert proc.exit_status == 7
    asyncio.run(scenario())


class _Answer(asyncssh.SSHClient):
    """Answers the backend's question with ``answer``; gives up after ``tries`` challenges."""

    answer = "2222"
    tries = 2
    challenges: ClassVar[list[list[tuple[str, bool]]]] = []

    def kbdint_auth_requested(self) -> str:
        return ""

    def kbdint_challenge_received(self, name: str, instructions: str, lang: str,
                                  prompts: list[tuple[str, bool]]) -> list[str] | None:
        self.challenges.append(list(prompts))
        return [self.answer] if len(self.challenges) <= self.tries else None


def test_keyboard_interactive_is_relayed(tmp_path: Path) -> None:
    class Right(_Answer):
        challenges: ClassVar[list[list[tuple[str, bool]]]] = []

    class Wrong(_Answer):
        answer = "22"
        challenges: ClassVar[list[list[tuple[str, bool]]]] = []

    async def scenario() -> None:
        async with sftp_backend(tmp_path) as bport, proxy(bport) as (_srv, _byp, pport):
            conn = await _connect(pport, client_factory=Right, preferred_auth="keyboard-interactive")
            conn.close()  # type: ignore[attr-defined]
            await conn.wait_closed()  # type: ignore[attr-defined]
            assert Right.challenges == [[("Favourite port: ", True)]]
            try:
                await _connect(pport, client_factory=Wrong, preferred_auth="keyboard-interactive")
                raise AssertionError("a wrong answer was accepted")
            except asyncssh.PermissionDenied:
                pass
            assert len(Wrong.challenges) == 3   # each retry got the backend's question again
    asyncio.run(scenario())


def test_sftp_and_scp_through_the_proxy(tmp_path: Path) -> None:
    async def scenario() -> None:
        root = tmp_path / "root"
        root.mkdir()
        payload = bytes(range(256)) * 8192        # 2 MiB
        local = tmp_path / "local.bin"
        local.write_bytes(payload)
        async with sftp_backend(root) as bport, proxy(bport) as (_srv, _byp, pport), \
                _connect(pport, password="pw") as conn:  # type: ignore[attr-defined]
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(local), "up.bin")
                await sftp.get("up.bin", str(tmp_path / "back.bin"))
            await asyncssh.scp(str(local), (conn, "scp.bin"))
        assert (root / "up.bin").read_bytes() == payload
        assert (tmp_path / "back.bin").read_bytes() == payload
        assert (root / "scp.bin").read_bytes() == payload
    asyncio.run(scenario())

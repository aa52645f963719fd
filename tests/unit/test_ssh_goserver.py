"""go-ssh on 127.0.0.1: exactly the Go key-exchange list (seen by ssh-kex), exec, shell, password auth."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from natsim.probes.ssh.goclient import go_attempt
from natsim.probes.ssh.kex import kex_scan
from natsim.probes.ssh.wire import GO_SERVER_KEX
from natsim.report.schema import Verdict
from tests.unit.ssh_helpers import LOCAL, backend


def test_ssh_kex_sees_exactly_the_go_list() -> None:
    async def scenario() -> None:
        async with backend() as port:
            result = await kex_scan(LOCAL, port)
        assert result.connections[0].verdict is Verdict.OK
        assert result.extra["banner"] == "SSH-2.0-Go" and result.extra["proxy"] is None
        assert result.extra["go_server_kex"] is True
        offered = [k for k in result.extra["kex"] if not k.startswith(("ext-info", "kex-strict"))]
        assert offered == list(GO_SERVER_KEX)
    asyncio.run(scenario())


@pytest.mark.parametrize("kex", GO_SERVER_KEX)
def test_each_go_kex_is_accepted(kex: str) -> None:
    async def scenario() -> None:
        async with backend() as port:
            attempt = await go_attempt(LOCAL, port, "natsim", "natsim", command="echo $((6*7))", kex=(kex,))
        assert attempt.verdict is Verdict.OK, attempt.error
        assert attempt.output == "42\n" and attempt.exit_status == 0
    asyncio.run(scenario())


def test_group_exchange_is_refused_and_bad_password_rejected() -> None:
    async def scenario() -> None:
        async with backend() as port:
            gex = await go_attempt(LOCAL, port, "natsim", "natsim",
                                   kex=("diffie-hellman-group-exchange-sha256",))
            wrong = await go_attempt(LOCAL, port, "natsim", "nope")
        assert gex.verdict is Verdict.ERROR and "no common algorithm for key exchange" in gex.error
        assert wrong.verdict is Verdict.ERROR and "unable to authenticate" in wrong.error
    asyncio.run(scenario())


def test_shell_runs_lines_and_exit_status_of_exec() -> None:
    async def scenario() -> None:
        async with backend() as port, asyncssh.connect(
                LOCAL, port, username="natsim", password="natsim", known_hosts=None, client_keys=None,
                agent_path=None, config=None) as conn:
            shell = await conn.run(input="echo from-shell\nexit\n", term_type="xterm", check=False)
            assert "from-shell" in str(shell.stdout)
            failed = await conn.run("exit 5", check=False)
            assert failed.exit_status == 5
    asyncio.run(scenario())

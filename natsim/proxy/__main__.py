"""``python -m natsim.proxy --config JSON --time-scale S``: run the proxy daemon in this namespace.

In a lab: ``lab.popen("fw", [sys.executable, "-m", "natsim.proxy", "--config", json, ...])``.
``--upstream HOST:PORT`` turns off transparency (explicit proxy to one backend, for tests on
127.0.0.1); ``--no-nft`` only logs the bypass instead of calling ``nft``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import asyncssh

from natsim.cliargs import add_time_scale
from natsim.errors import NatsimError, ProxyError
from natsim.outfiles import write_file
from natsim.proxy import fastdh
from natsim.proxy.bypass import Bypass, NftBypass, RecordingBypass
from natsim.proxy.daemon import ProxyServer
from natsim.proxy.settings import Limits, ProxySettings
from natsim.proxy.sockets import FixedUpstream, TransparentUpstream, Upstream


def load_host_key(path: Path | None) -> asyncssh.SSHKey:
    """The proxy's host key: read from ``path``, or generated (and saved there with its .pub)."""
    if path is not None and path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    if path is not None:
        write_file(path, key.export_private_key(), mode=0o600)   # never through a link
        write_file(Path(str(path) + ".pub"), key.export_public_key())
    return key


def build_parser() -> argparse.ArgumentParser:
    """The daemon's arguments."""
    p = argparse.ArgumentParser(prog="python -m natsim.proxy", description=__doc__)
    p.add_argument("--config", default="{}", help="ssh-proxy settings as JSON, or @FILE")
    add_time_scale(p)
    p.add_argument("--node", default="fw", help="the firewall node's name (seeds the bypass draws)")
    p.add_argument("--run-seed", type=int, default=0, help="the run's seed (seeds the bypass draws, "
                   "as the model does)")
    p.add_argument("--listen", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="listen port (default: the config's listen_port)")
    p.add_argument("--host-key", type=Path, help="host key file (created with .pub when missing)")
    p.add_argument("--upstream", help="HOST:PORT: fixed backend, no tproxy (testing)")
    p.add_argument("--no-nft", action="store_true", help="log bypasses instead of calling nft")
    p.add_argument("--log", type=Path, help="append the session log to this file too")
    defaults = Limits()
    for name in ("sniff_timeout", "handshake_timeout", "login_timeout", "fin_linger"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name),
                       help=f"lab seconds (default {getattr(defaults, name):g})")
    p.add_argument("--max-sessions", type=int, default=defaults.max_sessions)
    p.add_argument("--debug", action="store_true", help="asyncssh debug logging")
    p.add_argument("--pyca-dh", action="store_true",
                   help="keep asyncssh's own finite-field DH (slow for group exchange; see fastdh)")
    return p


def settings_from_args(args: argparse.Namespace) -> ProxySettings:
    """Parse the config JSON and the limits."""
    text = str(args.config)
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    limits = Limits(sniff_timeout=args.sniff_timeout, handshake_timeout=args.handshake_timeout,
                    login_timeout=args.login_timeout, fin_linger=args.fin_linger,
                    max_sessions=args.max_sessions)
    settings = ProxySettings.from_json(text, args.time_scale, limits, node=args.node,
                                       run_seed=args.run_seed)
    settings.config.validate()
    return replace(settings)


def upstream_from_args(value: str | None) -> Upstream:
    """Transparent, or a fixed HOST:PORT."""
    if value is None:
        return TransparentUpstream()
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ProxyError(f"--upstream: expected HOST:PORT, got {value!r}")
    return FixedUpstream(host, int(port))


async def run(args: argparse.Namespace) -> None:
    """Start the daemon and serve until SIGTERM/SIGINT."""
    settings = settings_from_args(args)
    if not args.pyca_dh:
        fastdh.install()
    bypass: Bypass = RecordingBypass() if args.no_nft else NftBypass()
    server = ProxyServer(settings, load_host_key(args.host_key), upstream_from_args(args.upstream), bypass)
    await server.start(args.listen, args.port if args.port is not None else settings.config.listen_port)
    host, port = server.address
    logging.getLogger("natsim.proxy").info(
        "listening on %s:%d banner=%s kex=%s bypass=%s time_scale=%g", host, port,
        settings.config.banner, ",".join(settings.config.kex),
        "..".join(f"{b:g}s" for b in settings.config.bypass), settings.time_scale.factor)
    task = asyncio.ensure_future(server.serve())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log is not None:
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s natsim-proxy %(message)s",
                        handlers=handlers)
    logging.getLogger("asyncssh").setLevel(logging.DEBUG if args.debug else logging.WARNING)
    if args.debug:
        asyncssh.set_debug_level(2)
    try:
        asyncio.run(run(args))
    except NatsimError as err:
        print(f"natsim-proxy: error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

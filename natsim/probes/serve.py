"""``natsim serve`` (also ``python -m natsim.probes serve``): the echo and sleep services the TCP probes
talk to (:mod:`natsim.probes.tcp.protocol`).

Runs unprivileged on a public host; see ``docs/probes.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from natsim.cliargs import add_time_scale
from natsim.probes.registry import kinds
from natsim.probes.tcp.protocol import ECHO, ECHO_PORT, SLEEP, SLEEP_PORT
from natsim.probes.tcp.server import ProbeServer, ServerConfig


def register(sub: Any) -> None:
    """Add ``natsim serve``."""
    parser = sub.add_parser("serve", help="run the probe server (echo and sleep services)",
                            description=f"Serve {_services()}, wire-compatible with the NAT-TCP-test "
                            "clients.")
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--echo-port", type=int, default=ECHO_PORT, help=f"default {ECHO_PORT}")
    parser.add_argument("--sleep-port", type=int, default=SLEEP_PORT, help=f"default {SLEEP_PORT}")
    add_time_scale(parser, note="a sleep request of N seconds is answered after N/S wall seconds (labs)")
    parser.add_argument("--per-source", type=int, default=ServerConfig.per_source,
                        help=f"open connections per source address (default {ServerConfig.per_source})")
    parser.add_argument("--max-connections", type=int, default=ServerConfig.max_connections,
                        help=f"open connections in total (default {ServerConfig.max_connections})")
    parser.add_argument("--request-timeout", type=float, default=ServerConfig.request_timeout,
                        help="seconds a sleep client has to send its request")
    parser.add_argument("--quiet", action="store_true", help="log only warnings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(message)s")
    config = ServerConfig(bind=args.bind, echo_port=args.echo_port, sleep_port=args.sleep_port,
                          time_scale=args.time_scale, per_source=args.per_source,
                          max_connections=args.max_connections, request_timeout=args.request_timeout)
    asyncio.run(serve(config))
    return 0


def _services() -> str:
    """``the echo service (port 31415: tcp-keepalive, tcp-send) and the sleep service (...)``: what the
    registered probe kinds say they talk to."""
    users = {service: [k.name for k in kinds().values() if k.service == service] for service in (ECHO, SLEEP)}
    return " and ".join(f"the {s.name} service (port {s.port}: {', '.join(names) or 'no probe kind'})"
                        for s, names in users.items())


async def serve(config: ServerConfig) -> None:
    """Start a :class:`ProbeServer` and run it until cancelled."""
    server = ProbeServer(config)
    await server.start()
    await server.serve_forever()

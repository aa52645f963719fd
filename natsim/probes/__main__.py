"""``python -m natsim.probes serve|send|recv|keepalive ...``: the probe tools without the rest of the
``natsim`` command (fast to start, what labs run inside their nodes). Same options and exit codes as
``natsim serve`` and ``natsim probe KIND``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from natsim.commands import serve
from natsim.errors import NatsimError
from natsim.probes import tcp_cli


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the tool."""
    parser = argparse.ArgumentParser(prog="python -m natsim.probes",
                                     description="natsim's probe server and TCP probe clients")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.register(sub)
    tcp_cli.register(sub)
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args) or 0)
    except NatsimError as err:
        print(f"natsim: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("natsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

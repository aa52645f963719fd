"""A scripted TCP endpoint for lab tests and golden pcaps (run inside a lab node).

``python tcp_actor.py listen PORT STEPS_JSON`` or ``python tcp_actor.py connect HOST PORT STEPS_JSON``.
Steps: ``["send", text]``, ``["recv"]``, ``["sleep", seconds]``, ``["keepalive", idle, intvl, cnt]``,
``["user_timeout", ms]``, ``["wait_dead", seconds]``, ``["close"]``. One JSON line per step on stdout,
with the wall-clock time ``t`` it was written; a listener prints ``{"listening": PORT}`` once it accepts
connections.
"""

from __future__ import annotations

import json
import socket
import sys
import time


def emit(**fields: object) -> None:
    print(json.dumps({**fields, "t": time.time()}), flush=True)


def run_steps(sock: socket.socket, steps: list[list[object]]) -> None:
    for step in steps:
        op = step[0]
        try:
            if op == "send":
                sock.sendall(str(step[1]).encode())
                emit(step=op, ok=True)
            elif op == "recv":
                sock.settimeout(float(step[1]) if len(step) > 1 else 10.0)  # type: ignore[arg-type]
                data = sock.recv(4096)
                emit(step=op, ok=bool(data), data=data.decode(errors="replace"))
            elif op == "sleep":
                time.sleep(float(step[1]))  # type: ignore[arg-type]
            elif op == "keepalive":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int(step[1]))  # type: ignore[call-overload]
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, int(step[2]))  # type: ignore[call-overload]
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, int(step[3]))  # type: ignore[call-overload]
            elif op == "user_timeout":
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(step[1]))  # type: ignore[call-overload]
            elif op == "wait_dead":
                sock.settimeout(float(step[1]))  # type: ignore[arg-type]
                data = sock.recv(4096)
                emit(step=op, ok=True, result="eof" if not data else "data")
            elif op == "close":
                sock.close()
                emit(step=op, ok=True)
                return
        except OSError as err:
            emit(step=op, ok=False, error=type(err).__name__, errno=err.errno)
            if op != "recv":
                return
    sock.close()


def main(argv: list[str]) -> None:
    if argv[0] == "listen":
        port, steps = int(argv[1]), json.loads(argv[2])
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("0.0.0.0", port))
            server.listen(8)
            emit(listening=port)
            conn, peer = server.accept()
            emit(accepted=f"{peer[0]}:{peer[1]}")
            run_steps(conn, steps)
    else:
        host, port, steps = argv[1], int(argv[2]), json.loads(argv[3])
        sock = socket.create_connection((host, port), timeout=5)
        emit(connected=f"{sock.getsockname()[0]}:{sock.getsockname()[1]}")
        run_steps(sock, steps)


if __name__ == "__main__":
    main(sys.argv[1:])

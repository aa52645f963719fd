"""Running a classifier command in every configuration of a matrix scenario, in its lab.

The scenario's lab comes up once; natsim's RFC 5780 server (``natsim serve --stun-only``) is started on
each configuration's server node, on its first two addresses; then, one configuration at a time, every
middlebox's state is emptied (:func:`natsim.lab.reset.reset_state`: no mapping another configuration or
an earlier test left can change a verdict) and the command runs in the configuration's client node with
its placeholders filled in (:mod:`natsim.classify.command`), for at most ``timeout`` wall-clock seconds
(then its process group is stopped). Its standard output is read by the parser; everything it wrote
goes to a private directory removed at the end, and the lab's teardown removes whatever it started.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from natsim.classify.command import TIMEOUT, check_runnable, fill
from natsim.classify.matrix import Configuration, Row, configurations, judge
from natsim.classify.parsers import AUTO, check_parser
from natsim.errors import ConfigError
from natsim.lab.lab import Lab
from natsim.lab.reset import reset_state
from natsim.outfiles import open_new
from natsim.privileges import require_lab_privileges
from natsim.probes.stun.labrun import node_addresses, start_server
from natsim.probes.stun.ports import alternate_port
from natsim.scenario import Scenario


def run_classifier(scenario: Scenario, command: str, *, parser: str = AUTO, timeout: float = TIMEOUT,
                   only: Sequence[str] = (), announce: Callable[[list[tuple[Configuration, str]]], None]
                   = lambda runs: None) -> list[Row]:
    """One row per configuration (see the module). ``announce`` is shown every command exactly as it
    will run, after the lab is up and before the first runs. Nothing is built when the command, the
    parser or the configurations are wrong (:class:`ConfigError`)."""
    check_parser(parser)
    if not timeout > 0:
        raise ConfigError(f"--timeout: must be a positive number of seconds, got {timeout:g}")
    check_runnable(command)
    chosen = configurations(scenario, only)
    require_lab_privileges("natsim classify")
    with tempfile.TemporaryDirectory(prefix="natsim-classify-") as scratch, \
            Lab(scenario.topology_ref or scenario.topology, scenario.middleboxes,
                time_scale=scenario.time_scale, seed=scenario.seed,
                loaded=(scenario.topology, scenario.topo) if scenario.topo is not None else None) as lab, \
            ExitStack() as servers:
        runs = [(config, fill(command, _values(lab, config))) for config in chosen]
        for node, port in dict.fromkeys((c.server, c.port) for c in chosen):
            log = Path(scratch) / f"serve-stun-{node}-{port}.log"
            servers.callback(start_server(lab, node, log=log, port=port).stop)
        announce(runs)
        rows = []
        for config, filled in runs:
            for node in lab.middleboxes:
                reset_state(lab, node)
            rows.append(_run_one(lab, config, filled, parser, timeout, Path(scratch)))
    return rows


def _values(lab: Lab, config: Configuration) -> dict[str, str]:
    """The placeholders' values in ``config``."""
    addresses = node_addresses(lab, config.server)
    values = {"stun_host": addresses[0], "stun_port": str(config.port),
              "stun_alt_host": addresses[1] if len(addresses) > 1 else addresses[0],
              "stun_alt_port": str(alternate_port(config.port)), "client": lab.address(config.client),
              "config": config.name}
    return {**values, "stun": f"{values['stun_host']}:{values['stun_port']}"}


def _run_one(lab: Lab, config: Configuration, command: str, parser: str, timeout: float,
             scratch: Path) -> Row:
    """Run ``command`` in the configuration's client node and judge what it printed."""
    out_path, err_path = scratch / f"{config.name}.out", scratch / f"{config.name}.err"
    with open_new(out_path) as out, open_new(err_path) as err:
        proc = lab.popen(config.client, ["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=out,
                         stderr=err)
    started = time.monotonic()
    code: int | None
    try:
        code = proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        proc.stop()   # its process group: what it left running in the background too
    return judge(config, command, exit_code=code, stdout=out_path.read_text(errors="replace"),
                 stderr=err_path.read_text(errors="replace"), parser=parser, timeout=timeout,
                 seconds=time.monotonic() - started)

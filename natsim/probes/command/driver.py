"""The lab driver of the ``command`` probe: the user's program in the client node (``sh -c``)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim.labview import NodeProcess
from natsim.outfiles import open_new
from natsim.paths import inside
from natsim.probes.command.options import CommandOptions
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import Handle, options_of
from natsim.probes.tally import Tally
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict


@dataclass
class CommandHandle:
    """The user's program running in a lab node."""

    spec: Any
    options: CommandOptions
    process: NodeProcess
    log: Path
    started: float
    time_scale: float

    def wait(self, timeout: float | None = None) -> ProbeResult:
        """Wait for it (at most its ``timeout``, scaled); its exit code is the result."""
        limit = timeout if timeout is not None else self.options.timeout / self.time_scale
        try:
            code = self.process.popen.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.process.stop()
            code = None
        elapsed = (time.monotonic() - self.started) * self.time_scale
        verdict = Verdict.OK if code == 0 else Verdict.ERROR
        detail = "timed out" if code is None else f"exit {code}"
        return ProbeResult(name=self.spec.name, kind=CommandOptions.kind, target=self.spec.server,
                           node=self.spec.client,
                           connections=[ConnectionResult(0, 0.0, verdict, "exit", elapsed, detail)],
                           extra={"exit_code": code, "argv": self.options.argv, "output": str(self.log)})

    def stop(self) -> None:
        """Stop it."""
        self.process.stop()

    def progress(self) -> Tally:
        """One connection: done once the command has exited."""
        return Tally(int(self.process.popen.poll() is not None), 1)


def driver(ctx: DriverContext, spec: Any) -> Handle:
    """Run the command in the client node, with the caller's environment plus
    ``NATSIM_TIME_SCALE``; its output goes to ``NAME.out`` (in the output directory once the run
    ends; meanwhile in the run's private work directory)."""
    options = options_of(spec)
    assert isinstance(options, CommandOptions)
    argv = ctx.lab.substitute(options.argv)
    name = f"{spec.name}.out"
    env = {**os.environ, "NATSIM_TIME_SCALE": f"{ctx.scenario.time_scale.factor:g}"}
    with open_new(inside(ctx.workdir, name)) as out:
        proc = ctx.lab.popen(spec.client, ["sh", "-c", argv], stdout=out, stderr=subprocess.STDOUT, env=env)
    return CommandHandle(spec, options, proc, ctx.out / name, time.monotonic(),
                         ctx.scenario.time_scale.factor)

"""What the lab runner asks of a probe's handle: a stopped probe's partial result, when its handle
declares it can give one (PartialResults)."""

from __future__ import annotations

from natsim.probes.registry import Handle, PartialResults
from natsim.report.schema import ProbeResult
from natsim.run.experiment import _stop_all


class Plain:
    """A handle without the ability."""

    def __init__(self) -> None:
        self.stopped = False

    def wait(self, timeout: float | None = None) -> ProbeResult:
        raise AssertionError("not waited for")

    def stop(self) -> None:
        self.stopped = True


class Keeping(Plain, PartialResults):
    """A handle that keeps what it measured."""

    def partial(self) -> ProbeResult | None:
        return ProbeResult("kept", "tcp-send", "server:31415", complete=False)


def test_stopping_keeps_the_partial_results_of_handles_that_have_them() -> None:
    handles: dict[str, Handle] = {"plain": Plain(), "keeping": Keeping(), "done": Keeping()}
    results = {"done": ProbeResult("done", "tcp-send", "server:31415")}
    _stop_all(handles, results)
    assert sorted(results) == ["done", "keeping"] and results["keeping"].name == "kept"
    assert results["done"].name == "done"    # a finished probe is not stopped or replaced
    assert handles["plain"].stopped and not handles["done"].stopped  # type: ignore[attr-defined]

"""A signal while natsim starts (its commands being imported, a scenario being loaded) ends it as one
later does: one line on stderr, exit 130; never a KeyboardInterrupt traceback, never 143. The lab side
(a signal while a lab comes up): tests/netns/test_teardown.py. Each run is its own process: the signal
is sent by the process to itself at the moment named, through a hook on the function running then."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from natsim.cli import main

HOOKED = textwrap.dedent("""
    import os, signal, sys
    import natsim.cli as cli
    import natsim.scenario as scenario

    sig, where = getattr(signal, sys.argv[1]), sys.argv[2]

    def hook(module, name):
        real = getattr(module, name)
        def signalled(*args, **kwargs):
            os.kill(os.getpid(), sig)
            return real(*args, **kwargs)
        setattr(module, name, signalled)

    hook(cli, "build_parser") if where == "imports" else hook(scenario, "load_scenario")
    sys.argv = ["natsim", "predict", "isp-modem-bridge-1h"]
    cli.console()
""")


@pytest.mark.parametrize("where", ["imports", "loading"])
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_during_start_up_is_one_line_and_130(sig: str, where: str) -> None:
    done = subprocess.run([sys.executable, "-c", HOOKED, sig, where], capture_output=True, text=True,
                          timeout=60, check=False)
    expected = "natsim: interrupted" + ("" if sig == "SIGINT" else f" ({sig})")
    assert (done.returncode, done.stderr) == (130, expected + "\n"), done.stderr
    assert done.stdout == ""


def test_help_and_usage_errors_still_exit_as_argparse_says(capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as done:
        main(["predict", "--help"])
    assert done.value.code == 0
    with pytest.raises(SystemExit) as done:
        main(["predict"])
    assert done.value.code == 2
    assert signal.getsignal(signal.SIGTERM) is before   # main gave its handlers back


def test_a_file_the_system_refuses_is_one_line_and_exit_2(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    target = locked / "x" / "prediction.json"
    code = main(["predict", "isp-modem-bridge-1h", "--out", str(target)])
    err = capsys.readouterr().err
    if code == 0:   # root writes anywhere: make the refusal one no one escapes, a name too long
        target = tmp_path / ("n" * 300) / "prediction.json"
        code = main(["predict", "isp-modem-bridge-1h", "--out", str(target)])
        err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("natsim: error: "), err
    assert "Traceback" not in err

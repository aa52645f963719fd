"""A lab's commands keep their output files in the lab's own ``TMPDIR``, so natsim never probes ``$TMPDIR``
(Python writes a randomly named file there on a process's first temporary file and removes it; a
process killed in between, as a rootless natsim's inner process is with its PID namespace, left it
in the host's /tmp)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from natsim.errors import LabError
from natsim.lab.exec import NamespaceRunner


def test_the_runner_names_the_labs_tmpdir_while_it_exists(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMPDIR", raising=False)   # a runner's environment is the caller's plus the lab's
    assert NamespaceRunner("n", 1, {"TMPDIR": str(tmp_path)}).tmpdir() == str(tmp_path)
    assert NamespaceRunner("n", 1, {"TMPDIR": str(tmp_path / "gone")}).tmpdir() is None
    assert NamespaceRunner("n", 1, {"HOME": str(tmp_path)}).tmpdir() is None
    assert NamespaceRunner("n", 1).tmpdir() is None


def test_starting_a_command_never_probes_the_default_tmpdir(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str | None] = []
    real = tempfile.TemporaryFile

    def recording(*args: Any, dir: str | None = None, **kwargs: Any) -> Any:
        opened.append(dir)
        return real(*args, dir=dir, **kwargs)

    def probe() -> str:
        raise AssertionError("$TMPDIR was probed")

    def no_mnexec(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("mnexec")

    monkeypatch.setattr(tempfile, "tempdir", None)   # as in a fresh process: nothing found yet
    monkeypatch.setattr(tempfile, "_get_default_tempdir", probe)
    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    monkeypatch.setattr(subprocess, "Popen", no_mnexec)
    with pytest.raises(LabError, match="mnexec not found"):
        NamespaceRunner("n", 1, {"TMPDIR": str(tmp_path)}).start(["true"])
    assert opened == [str(tmp_path)] * 3

"""Every command of every guided lab (docs/tutorial/*.md), run in page order as a student types
them: labs brought up, used and taken down; a live ``natsim watch`` in a pseudo-terminal, left with
q; ``natsim run`` of the lab's scenario with the teacher's answer written in (exit 0), whose result
fails the prediction as shipped. Whatever a page brought up is taken down however it ends."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from natsim.expect import check_expectations
from natsim.report.schema import RunResult
from natsim.scenario import load_scenario_text
from tests.docs_commands import ROOT, TUTORIAL_PAGES, DocCommand, steps
from tests.netns.kept_helpers import NATSIM, Screen, natsim, own_env
from tests.tutorial_key import KEY, TUTORIAL, answered

pytestmark = pytest.mark.natsim_netns

#: Seconds a live ``natsim watch`` of a page is looked at before q.
WATCHED = 3.0


def _live_watch(command: DocCommand) -> None:
    """``natsim watch LAB NODE`` as in a terminal: it draws its table, then q ends it with exit 0."""
    screen = Screen([*NATSIM, *command.argv], env=own_env(TERM="xterm-256color"))
    try:
        lines = screen.until(lambda lines: any(line.startswith("┏") for line in lines), 30,
                             f"{command.id}: no table")
        assert any(f"natsim {' '.join(command.argv)}:" in line for line in lines), lines
        screen.read(WATCHED)
        screen.child.send("q")
        assert screen.close() == (0, None), command.id
    finally:
        if screen.child.isalive():
            screen.child.terminate(force=True)


def _run_answered(command: DocCommand, tmp_path: Path) -> None:
    """``natsim run`` of the page's scenario with the key's answer in it: exit 0; and its result
    fails the unedited prediction (so the student's edit is what makes it pass)."""
    answer = KEY[command.page]
    text = (TUTORIAL / answer.scenario).read_text()
    mine = tmp_path / answer.scenario
    mine.write_text(answered(text, answer))
    out = tmp_path / "out"
    argv = [word if word != f"docs/tutorial/{answer.scenario}" else str(mine) for word in command.argv]
    done = subprocess.run([*NATSIM, *argv, "--out", str(out)], cwd=ROOT, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{command.id}\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    result = RunResult.load(out / "result.json")
    shipped = load_scenario_text(text, answer.scenario, model_only=True)
    assert [(c.probe, c.key) for c in check_expectations(result, shipped.expect) if not c.ok] == [
        (answer.probe, answer.key)]


@pytest.mark.parametrize("page", TUTORIAL_PAGES, ids=lambda page: page.name)
def test_a_guided_lab_runs_as_written(page: Path, tmp_path: Path) -> None:
    commands = steps(page)
    ups = [c.argv[c.argv.index("--name") + 1] for c in commands if c.argv[:2] == ("lab", "up")]
    try:
        for command in commands:
            if command.argv[0] == "watch" and "--once" not in command.argv:
                _live_watch(command)
            elif command.argv[0] == "run":
                _run_answered(command, tmp_path)
            else:
                done = subprocess.run([*NATSIM, *command.argv], cwd=ROOT, stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True, timeout=60, check=False)
                assert done.returncode == 0, f"{command.id}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    finally:
        for name in ups:
            natsim("lab", "down", name)
    listed = json.loads(natsim("lab", "list", "--json").stdout)
    assert [lab["name"] for lab in listed if lab["name"] in ups] == []

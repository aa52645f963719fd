"""Every natsim command shown in a ```sh block of docs/ or README.md parses with natsim's own parser,
and the ones that need no root and no network run here (exit 0); root ones that finish in seconds run
in tests/netns/test_docs_lab_commands.py; the rest are only parsed, each for the reason
``tests/docs_commands.py`` gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from natsim.cli import build_parser
from tests.docs_commands import TUTORIAL_PAGES, DocCommand, commands, how, steps
from tests.tutorial_key import KEY, TUTORIAL, answered

COMMANDS, OTHERS = commands()


def test_the_docs_show_commands_and_every_one_is_classified() -> None:
    assert len(COMMANDS) >= 20
    assert [c.id for c in COMMANDS if how(c)[0] == "unclassified"] == []
    # the lines that are not natsim commands are known ones (installing, make, the shell)
    firsts = {(line.split()[1] if line.startswith("sudo ") else line.split()[0]) for _, line in OTHERS}
    assert firsts <= {".venv/bin/pip", ".venv/bin/python", "python3", "wait", "make", "N=.venv/bin/natsim",
                      "dask"}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.id)
def test_docs_command_parses(command: DocCommand) -> None:
    """A flag the docs show that natsim no longer has (``--json send.json``) fails here."""
    try:
        args = build_parser().parse_args(list(command.argv))
    except SystemExit as exit_:
        pytest.fail(f"{command.id}: natsim's parser refuses it (exit {exit_.code})")
    assert getattr(args, "func", None) is not None


def test_an_old_flag_would_fail_the_parse() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["probe", "send", "--server", "vps.example.org", "--json", "send.json"])


@pytest.mark.parametrize("command", [c for c in COMMANDS if how(c)[0] == "run"], ids=lambda c: c.id)
def test_docs_command_runs(command: DocCommand, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "natsim.cli", *command.argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{command.id}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


TUTORIAL_COMMANDS = [command for page in TUTORIAL_PAGES for command in steps(page)]
#: Guided labs without `natsim watch`, and why.
WATCHLESS = {"06-ssh-proxy.md": "the firewall diverts with tproxy and tracks no connections: nothing to "
                                "watch"}


def test_every_guided_lab_has_its_commands_and_its_key() -> None:
    """Each page brings a lab up, uses it (exec, watch), takes it down and runs its scenario; the
    teacher's key names each page's scenario."""
    assert sorted(KEY) == [page.name for page in TUTORIAL_PAGES]
    for page in TUTORIAL_PAGES:
        verbs = [command.argv[:2] for command in steps(page)]
        run = ("run", f"docs/tutorial/{KEY[page.name].scenario}")
        assert {("lab", "up"), ("lab", "exec"), ("lab", "down"), run} <= set(verbs), page.name
        assert any(verb[0] == "watch" for verb in verbs) != (page.name in WATCHLESS), page.name
        ups = sum(verb == ("lab", "up") for verb in verbs)
        assert ups == sum(verb == ("lab", "down") for verb in verbs), f"{page.name}: a lab is left up"


@pytest.mark.parametrize("command", TUTORIAL_COMMANDS, ids=lambda c: c.id)
def test_tutorial_command_parses(command: DocCommand) -> None:
    try:
        args = build_parser().parse_args(list(command.argv))
    except SystemExit as exit_:
        pytest.fail(f"{command.id}: natsim's parser refuses it (exit {exit_.code})")
    assert getattr(args, "func", None) is not None


@pytest.mark.parametrize("page", sorted(KEY))
def test_the_model_agrees_with_the_key_and_the_unedited_prediction_fails(page: str) -> None:
    """The key's answer is what the model predicts (every expectation holds); the prediction as
    shipped does not hold, so `natsim run` fails until the student writes an answer."""
    from natsim.expect import check_expectations
    from natsim.run.predict import predict
    from natsim.scenario import load_scenario_text

    answer = KEY[page]
    text = (TUTORIAL / answer.scenario).read_text()
    right = load_scenario_text(answered(text, answer), answer.scenario, model_only=True)
    shipped = load_scenario_text(text, answer.scenario, model_only=True)
    result = predict(right, right.seed)
    assert [c.describe() for c in check_expectations(result, right.expect) if not c.ok] == []
    wrong = [c for c in check_expectations(result, shipped.expect) if not c.ok]
    assert [(c.probe, c.key) for c in wrong] == [(answer.probe, answer.key)]

"""Every command in the ```sh blocks of docs/*.md and README.md, and what the tests do with it.

Each natsim command is parsed by natsim's own parser (a removed flag, ``--json send.json``, fails
there). Then, by :func:`how`:

* ``run`` — needs no root and no network: run in the unit tier (tests/unit/test_docs_commands.py);
* ``lab`` — builds a lab (root, or natsim's own user namespace) and finishes in seconds: run under
  ``natsim_netns``
  (tests/netns/test_docs_lab_commands.py);
* ``parse`` — only parsed, for the reason :data:`PARSE_ONLY` gives (too long for the test run, needs a
  server or a file the docs leave to the reader, or would touch labs that are not the test's).

A command with no rule fails the test: a new docs command must be run or say why it is not.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
#: The guided labs: each page's commands run in order, as one session (:func:`steps`), in the lab tier
#: (tests/netns/test_tutorial.py); each is parsed in the unit tier like the commands above.
TUTORIAL_PAGES = sorted((ROOT / "docs" / "tutorial").glob("[0-9]*.md"))
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
_NATSIM = ("natsim", "$N", ".venv/bin/natsim", "~/natsim/bin/natsim")

#: Commands (by their first natsim words) that are only parsed, and why.
PARSE_ONLY = {
    ("run",): "a full lab run takes minutes (tests/e2e runs scenarios end to end)",
    ("conform",): "the RFC battery takes minutes (tests/netns/test_conform_lab.py runs it)",
    ("classify",): "a classifier in nine NAT configurations takes a minute (tests/netns/test_classify_lab.py "
                   "runs coturn's and natsim's through it)",
    ("analyze",): "needs a demo's output directory (tests/unit/test_analysis_*.py analyse captures)",
    ("cleanup",): "would remove other labs than the test's (tests/netns/test_teardown.py runs it)",
    ("serve",): "a server: runs until stopped (tests/unit/test_probes_server.py runs it)",
    **{verb: "a session with a lab kept up: the guided labs run these in page order "
             "(tests/netns/test_tutorial.py), tests/netns/test_kept_lab.py each one"
       for verb in (("lab", "up"), ("lab", "exec"), ("lab", "list"), ("lab", "down"), ("watch",))},
    ("probe",): "needs a natsim serve or SSH server at HOST (tests/unit/test_probes_clients.py, "
                "tests/netns/test_probes_lab.py run the probes)",
    ("predict", "examples/natsim-plugin-idle-firewall/scenarios/idle-firewall.yaml"):
        "needs the example plugin installed (tests/e2e/test_plugin_middlebox.py installs and runs it)",
}
#: Flags that make a command (by its first natsim word) only parsed, and why.
PARSE_ONLY_FLAGS = {
    ("sweep", "--lab"): "runs one lab per point, minutes (tests/e2e/test_sweep_dask.py runs lab sweeps, "
                        "on a local Dask cluster too)",
    ("sweep", "--scheduler"): "needs a Dask cluster at ADDRESS (tests/unit/test_sim_sweep.py and "
                              "tests/e2e/test_sweep_dask.py start local ones)",
}
#: Commands that build a lab, run in the netns tier (they finish in seconds).
LAB_RUN = (("doctor",), ("lab",))


@dataclass(frozen=True)
class DocCommand:
    """One natsim command line of the docs."""

    page: str
    line: str
    argv: tuple[str, ...]      # after ``natsim``
    root: bool                 # shown with sudo

    @property
    def id(self) -> str:
        return f"{self.page}: {self.line}"


def _words(line: str) -> list[str]:
    return shlex.split(line, comments=True)


def commands(pages: list[Path] = PAGES) -> tuple[list[DocCommand], list[tuple[str, str]]]:
    """The natsim commands of every ```sh block of ``pages``, and (page, line) of the other lines
    (``make demo``, ``pip install``, ``wait``, ``N=...``): those are not natsim's to run."""
    found, others = [], []
    for page in pages:
        for block in _BLOCK.findall(page.read_text()):
            for line in block.splitlines():
                words = _words(line)
                root = bool(words) and words[0] == "sudo"
                words = words[1:] if root else words
                if words and words[-1] == "&":
                    words = words[:-1]
                if "&&" in words:   # `python3 -m venv X && X/bin/pip install natsim`
                    others.append((page.name, line))
                    continue
                if words and words[0] in _NATSIM:
                    found.append(DocCommand(page.name, line.strip(), tuple(words[1:]), root))
                elif words:
                    others.append((page.name, line))
    return found, others


def how(command: DocCommand) -> tuple[str, str]:
    """(``run`` | ``lab`` | ``parse`` | ``unclassified``, reason)."""
    for prefix, reason in PARSE_ONLY.items():
        if command.argv[:len(prefix)] == prefix:
            return "parse", reason
    for (first, flag), reason in PARSE_ONLY_FLAGS.items():
        if command.argv[:1] == (first,) and flag in command.argv:
            return "parse", reason
    if any(command.argv[:len(p)] == p for p in LAB_RUN):
        return "lab", "builds a lab (root or natsim's user namespace), seconds"
    if command.root:
        return "unclassified", "a root command neither run in the lab tier nor given a reason"
    return "run", "no lab, no network"


def steps(page: Path) -> list[DocCommand]:
    """A guided lab's commands in page order (a tutorial page's ```sh blocks hold natsim commands
    only: :func:`commands` of it has no other lines)."""
    found, others = commands([page])
    assert others == [], f"{page.name}: lines that are not natsim commands: {others}"
    return found

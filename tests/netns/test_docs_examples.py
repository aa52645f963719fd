"""The Python examples of the docs that say they are run here, run as written (with pytest, in a
fresh process, through natsim's own pytest plugin), so fixture users' documentation cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rootless import left_in, own_tmpdir

pytestmark = pytest.mark.natsim_netns
DOCS = Path(__file__).parents[2] / "docs"
MARKER = "<!-- tests/netns/test_docs_examples.py runs this block with pytest, as written -->"


def marked_blocks() -> list[tuple[str, str]]:
    """(page, code) of every ```python block right after the marker."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for code in re.findall(re.escape(MARKER) + r"\n```python\n(.*?)\n```", page.read_text(), re.S):
            found.append((page.name, code))
    return found


def test_the_docs_mark_their_fixture_example() -> None:
    assert [page for page, _ in marked_blocks()] == ["scenarios.md"]


@pytest.mark.parametrize(("page", "code"), marked_blocks(), ids=lambda v: v if v.endswith(".md") else "")
def test_docs_example_runs(page: str, code: str, tmp_path: Path) -> None:
    """... and a fixture user's run leaves nothing of natsim's in its ``$TMPDIR`` (pytest's own
    temporary directories are elsewhere: ``--basetemp``)."""
    (tmp_path / "test_example.py").write_text(code + "\n")
    with own_tmpdir() as tmpdir:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--natsim-strict", "-p", "no:xdist", f"--basetemp={tmp_path / 'base'}",
                               str(tmp_path / "test_example.py")],
                              env={**os.environ, "TMPDIR": str(tmpdir)},
                              capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
        assert done.returncode == 0, f"{page}:\n{done.stdout}\n{done.stderr}"
        tests = len(re.findall(r"^def test_", code, re.M))
        assert tests and re.search(rf"\b{tests} passed\b", done.stdout), done.stdout   # none skipped
        assert left_in(tmpdir) == []

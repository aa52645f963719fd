"""Every golden render is accepted by the real nft (checked in a throw-away namespace)."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.test_render_golden import CASES, render_text

pytestmark = pytest.mark.natsim_netns


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_loads_in_nft(case: str) -> None:
    text = render_text(case)
    proc = subprocess.run(["unshare", "--net", "nft", "-c", "-f", "-"], input=text, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr

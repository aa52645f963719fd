"""``natsim run --html`` through a real lab: report.html of a short scenario opened in Debian's chromium
shows a ladder for each dead connection with the drop at the router, logs no console error, fetches
nothing, and its screenshot is kept as a test artefact (``test-artefacts/``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import open_in_browser
from tests.tiny import TINY

pytestmark = [pytest.mark.natsim_netns, pytest.mark.e2e]


def test_report_html_of_a_short_run_in_a_browser(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY.replace("captures: false", "captures: true"))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "natsim.cli", "run", str(scenario), "--out", str(out),
                           "--html"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith(f"{out}/report.html")
    page = out / "report.html"
    with open_in_browser(page) as opened:
        opened.screenshot("html-report-tiny-lab")
        assert opened.console_errors == []
        assert opened.requests == [page.resolve().as_uri()]   # the page itself, nothing else
        ladders = opened.page.locator("figure.ladder")
        # tiny: connections idle 2 min and 3 min outlive the router's 2 min timeout
        assert [ladders.nth(i).get_attribute("id") for i in range(ladders.count())] == \
            ["ladder-send-1", "ladder-send-2"]
        for i in range(ladders.count()):
            svg = ladders.nth(i).locator("svg")
            assert svg.is_visible() and svg.bounding_box()["height"] > 200   # type: ignore[index]
            assert ladders.nth(i).get_by_text("lost at router").first.is_visible()
        assert opened.page.locator("#conntrack svg").get_by_text("router: conntrack entries").is_visible()
        rows = opened.page.locator("#comparison tr")
        assert rows.count() == 4   # a heading and one row per connection
        assert opened.page.locator("#status").inner_text() == "every expectation holds (1 of 1)"
        assert opened.page.locator("#map").get_by_text("idle_timeout = 2m").is_visible()


def test_a_link_at_report_html_is_refused_before_the_lab_starts(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    target = tmp_path / "target"
    target.write_text("not natsim's\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").symlink_to(target)
    done = subprocess.run([sys.executable, "-m", "natsim.cli", "run", str(scenario), "--out", str(out),
                           "--html"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1] == \
        f"natsim: error: {out / 'report.html'} is a symbolic link; natsim does not write through links"
    assert target.read_text() == "not natsim's\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]   # nothing ran, nothing was written

"""A probe-tool project's test session without root: the plugin moves the whole session into natsim's own
namespaces, its fixtures build labs there, and the host-side hook runs on the host afterwards."""

from __future__ import annotations

import json
import os

import pytest

from natsim.privileges import in_user_namespace
from tests.tiny import TINY

pytestmark = pytest.mark.natsim_netns
pytest_plugins = ["pytester"]

SUITE = f'''
import os
import pytest
from natsim.privileges import in_user_namespace

TINY = {TINY!r}

@pytest.mark.natsim_netns
def test_my_tool_through_a_lab(natsim_lab):
    assert os.geteuid() == 0 and in_user_namespace()
    lab = natsim_lab("home-nat", {{"router": {{"idle_timeout": "30m"}}}}, time_scale=60)
    assert lab.run("client", "ping -c1 -W2 198.51.100.10")[0] == 0

@pytest.mark.natsim_netns
def test_a_scenario(natsim_scenario):
    outcome = natsim_scenario(text=TINY)
    assert outcome.ok, outcome.summary
'''

CONFTEST = '''
import json, os
from pathlib import Path
from natsim.privileges import in_user_namespace

def pytest_natsim_host_exit(config, exitstatus):
    Path(os.environ["HOST_EXIT_FILE"]).write_text(json.dumps({
        "status": exitstatus, "net": os.stat("/proc/self/ns/net").st_ino,
        "user_ns": in_user_namespace()}))
    return 0
'''


def test_the_fixtures_work_in_a_session_without_root(pytester: pytest.Pytester,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATSIM_MODE", "rootless")    # enter even where this session is root already
    monkeypatch.setenv("HOST_EXIT_FILE", str(pytester.path / "host-exit.json"))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_tool=SUITE)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--natsim-strict", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["natsim: labs are built inside a user namespace*"])
    host = json.loads((pytester.path / "host-exit.json").read_text())
    # the hook ran where the session was started, not inside the namespace the tests ran in
    assert host == {"status": 0, "net": os.stat("/proc/self/ns/net").st_ino, "user_ns": in_user_namespace()}


def test_the_host_hook_can_fail_the_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATSIM_MODE", "rootless")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")
    pytester.makeconftest("def pytest_natsim_host_exit(config, exitstatus):\n    return 3\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == 3

"""What ``natsim sweep`` answers: probe options as well as middlebox settings, a table on stdout, a line
of the first failing idle time for one parameter, a readable heat map for two, a default --out, and one
line (exit 2) when it cannot write."""

from __future__ import annotations

import csv
import itertools
import re
from pathlib import Path

import pytest

from natsim.cli import main
from natsim.errors import ConfigError
from natsim.report.sweep_report import format_table, sweep_figure
from natsim.run import sweep
from natsim.scenario import load_scenario
from tests.unit.sim_scenarios import Probe, isp


def ssh_idle() -> object:
    return load_scenario("ssh-idle-serveralive", model_only=True)


def test_an_ssh_idle_variants_server_alive_interval_is_a_parameter() -> None:
    """The user's question: which ServerAliveInterval keeps an idle session through the 1 h modem."""
    s = ssh_idle()
    p = sweep.parse_param("sessions.serveralive-300.ServerAliveInterval=30m,90m", s)
    assert p.name == "sessions.serveralive-300.ServerAliveInterval"
    assert p.values == (1800.0, 5400.0)
    rows = sweep.run_local(s, [p], sweep.grid([p]), workers=1)
    survived = {r[p.name]: r["alive"] for r in rows if r["variant"] == "serveralive-300"}
    assert survived == {1800.0: 1, 5400.0: 0}   # a keepalive every 30 min refreshes the 1 h modem
    # the other variants are untouched
    assert {r["alive"] for r in rows if r["variant"] == "idle-61m"} == {0}
    # a variant may be named by its number too
    assert sweep.parse_param("sessions.1.ServerAliveInterval=5m", s).values == (300.0,)


@pytest.mark.parametrize(("text", "message"), [
    ("sessions.serveralive-30.ServerAliveInterval=1m", "no variant 'serveralive-30' (did you mean "
                                                       "'serveralive-300'?)"),
    ("sessions.variants=2h", "vary one variant's ssh option instead"),
    ("sessions.serveralive-300.ServerAliveInterval=soon", "malformed duration"),
    ("ssh.ServerAliveInterval=1m", "no middlebox, host or probe 'ssh' in the scenario"),
    ("sessions.serveralive-300.ServerAliveInteval=1m", "did you mean 'ServerAliveInterval'?"),
    ("sessions.serveralive-300.ProxyCommand=true", "ProxyCommand is not an option a sweep can vary"),
    ("sessions.serveralive-300.ServerAliveCountMax=3,x", "expected a whole number"),
])
def test_bad_probe_params(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        sweep.parse_param(text, ssh_idle())


def test_a_tcp_probes_step_is_a_parameter() -> None:
    s = isp(connections=10, first=600.0, step=600.0)
    p = sweep.parse_param("send.step=5m,10m", s)
    rows = {r["send.step"]: r for r in sweep.run_local(s, [p], sweep.grid([p]), workers=1)
            if r["probe"] == "send"}
    assert rows[300.0]["first_failure_idle"] == ""        # 10 .. 55 min: all under the 1 h modem
    assert rows[600.0]["first_failure_idle"] == 3600.0
    assert rows[300.0]["longest_idle"] == 600.0 + 9 * 300.0


def test_a_name_both_a_middlebox_and_a_probe_is_ambiguous() -> None:
    s = isp()
    s = type(s)(s.name, s.middleboxes, (*s.probes, Probe("cpe", "tcp-send")))
    with pytest.raises(ConfigError, match="'cpe' is both a middlebox and a probe"):
        sweep.parse_param("cpe.idle_timeout=1h", s)


def test_the_table_names_the_point_the_probe_and_the_first_failure() -> None:
    s = ssh_idle()
    p = sweep.parse_param("sessions.serveralive-300.ServerAliveInterval=30m", s)
    lines = format_table(sweep.run_local(s, [p], sweep.grid([p]), workers=1), [p]).splitlines()
    assert lines[0].split() == ["sessions.serveralive-300.ServerAliveInterval", "probe", "verdicts",
                                "first", "failure", "estimate"]
    assert lines[2].split() == ["30m", "sessions", "serveralive-300", "1", "alive", "none", "up", "to",
                                "2h", "-"]
    assert lines[1].split()[:6] == ["30m", "sessions", "idle-61m", "1", "dead", "1h1m"]


def test_one_parameter_is_a_line_of_the_first_failing_idle() -> None:
    s = isp(connections=10, first=600.0, step=600.0)
    p = sweep.parse_param("cpe.idle_timeout=30m..2h:30m", s)
    fig = sweep_figure(sweep.run_local(s, [p], sweep.grid([p]), workers=1), [p])
    [ax] = fig.axes
    assert not ax.images                                   # not a heat map
    assert "first failing idle" in ax.get_ylabel()
    assert ax.get_xlabel() == "cpe.idle_timeout (real-world minutes)"
    send = next(line for line in ax.get_lines() if line.get_label() == "send")
    assert list(send.get_xdata()) == [30.0, 60.0, 90.0, 120.0]
    assert list(send.get_ydata())[:2] == [30.0, 60.0]      # first failure at the modem's timeout


def _overlaps(fig) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Pairs of visible texts (tick labels, axis labels, colour bar label) whose boxes overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = []
    for ax in fig.axes:
        for text in [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label]:
            if text.get_visible() and text.get_text():
                texts.append((text.get_text(), text.get_window_extent(renderer)))
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(texts, 2) if box_a.overlaps(box_b)]


def test_two_parameters_are_a_labelled_heat_map_of_the_first_failing_idle() -> None:
    s = isp(connections=10, first=600.0, step=600.0)
    params = [sweep.parse_param("cpe.idle_timeout=10m..3h:5m", s),   # 35 values: not all labelled
              sweep.parse_param("cgn.idle_timeout=1h,2h,4h", s)]
    fig = sweep_figure(sweep.run_local(s, params, sweep.grid(params), workers=2), params)
    heat = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in heat] == ["send", "recv", "keepalive"]
    [bar] = [ax for ax in fig.axes if not ax.images]
    assert bar.get_ylabel().startswith("first failing idle (real-world minutes)")
    assert len(heat[0].get_xticklabels()) <= 12
    assert _overlaps(fig) == []


def test_sweep_prints_its_table_and_has_a_default_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "isp-modem-bridge-1h", "--param", "cpe.idle_timeout=30m,1h", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["cpe.idle_timeout", "probe", "verdicts", "first", "failure",
                                           "estimate"]
    assert re.search(r"^1h +send +59 alive, 71 dead +1h +59m\.\.1h$", out, re.M)
    [made] = (tmp_path / "natsim-out").iterdir()
    assert made.name.startswith("sweep-isp-modem-bridge-1h-")
    with (made / "sweep.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 2 * 3


@pytest.mark.parametrize("where", ["under-a-file", "csv-is-a-directory"])
def test_an_unwritable_out_is_one_line(where: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "sweep"
    if where == "csv-is-a-directory":
        out = tmp_path / "sweep"
        (out / "sweep.csv").mkdir(parents=True)
    assert main(["sweep", "isp-modem-bridge-1h", "--param", "cpe.idle_timeout=1h", "--workers", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"natsim: error: {tmp_path}") and err.count("\n") == 1, err

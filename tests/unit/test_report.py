"""What a run's report shows: summary.txt names each connection, survival.png shows every point."""

from __future__ import annotations

from natsim.report.plot import axis_limit, survival_figure, survival_rows
from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict
from natsim.report.summary import format_summary


def _variants() -> RunResult:
    """The user's ssh-idle run: three variants idle 45 min, only ServerAliveInterval survives."""
    rows = [ConnectionResult(0, 2700.0, Verdict.DEAD, "idle", label="plain"),
            ConnectionResult(1, 2700.0, Verdict.ALIVE, label="sai-300"),
            ConnectionResult(2, 2700.0, Verdict.DEAD, "read", label="tcpkeepalive")]
    return RunResult("lab", 60, "mine", probes=[ProbeResult("sessions", "ssh-idle", "server:22",
                                                            connections=rows)])


def _attempts() -> RunResult:
    """pan-ssh-proxy: three login attempts, all at idle 0; the first one failed."""
    rows = [ConnectionResult(i, 0.0, v) for i, v in enumerate([Verdict.EOF, Verdict.OK, Verdict.OK])]
    return RunResult("lab", 60, "pan", probes=[ProbeResult("first", "ssh-first-connect", "gossh:2222",
                                                           connections=rows)])


def _ladder(n: int = 130) -> RunResult:
    rows = [ConnectionResult(i, 60.0 * (i + 1), Verdict.ALIVE if i < 59 else Verdict.DEAD) for i in range(n)]
    return RunResult("lab", 60, "isp", probes=[ProbeResult("send", "tcp-send", "server:31415",
                                                           connections=rows)])


def test_summary_names_each_variant() -> None:
    text = format_summary(_variants())
    assert "#1    sai-300      idle      45m  alive" in text
    assert "#0    plain        idle      45m  dead (idle)" in text


def test_summary_of_a_ladder_is_unchanged_without_labels() -> None:
    text = format_summary(_ladder(3))
    assert "  #0    idle       1m  alive\n" in text


def _points(fig) -> list[tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    """(x, y, verdict) of every point drawn."""
    ax = fig.axes[0]
    out = []
    for coll in ax.collections:
        for x, y in coll.get_offsets():
            out.append((float(x), float(y), coll.get_label()))
    return out


def test_every_variant_is_its_own_labelled_row() -> None:
    result = _variants()
    rows = survival_rows(result)
    assert [r.label for r in rows] == ["sessions #0 plain", "sessions #1 sai-300", "sessions #2 tcpkeepalive"]
    fig = survival_figure(result, {})
    points = _points(fig)
    assert len(points) == 3
    # no two points on one spot: the alive sai-300 point is visible
    assert len({(x, y) for x, y, _ in points}) == 3
    [alive] = [p for p in points if p[2] == "alive"]
    assert alive[1] == 1.0
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[1] == "sessions #1 sai-300"


def test_attempts_at_the_same_idle_do_not_sit_on_one_spot() -> None:
    points = _points(survival_figure(_attempts(), {}))
    assert len({(x, y) for x, y, _ in points}) == 3
    assert sorted(v for _, _, v in points) == ["eof", "ok", "ok"]


def test_a_ladder_is_one_row() -> None:
    result = _ladder()
    assert [r.label for r in survival_rows(result)] == ["send"]
    assert len(_points(survival_figure(result, {}))) == 130


def test_axis_fits_the_data_and_names_timeouts_off_scale() -> None:
    result = _ladder()
    fig = survival_figure(result, {"cpe idle 1h": 3600.0, "cgn idle 4h": 14400.0})
    ax = fig.axes[0]
    assert axis_limit(survival_rows(result)) == 130 * 60 * 1.05
    assert ax.get_xlim()[1] < 140  # minutes: the 4 h line does not stretch the axis to 250 min
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [60.0]   # only the 1 h line is drawn
    assert "off-scale (beyond the longest idle tested, 2h10m): cgn idle 4h" in ax.get_xlabel()


def test_points_that_would_touch_get_rows_of_their_own() -> None:
    """A bisection's attempts 15 s apart on a 70 min axis: one row each."""
    idles = [0.0, 600.0, 1200.0, 3600.0, 3780.0, 3795.0, 3810.0, 4200.0]
    rows = [ConnectionResult(i, idle, Verdict.OK) for i, idle in enumerate(idles)]
    result = RunResult("lab", 60, "pan", probes=[ProbeResult("timer", "ssh-bypass-timer", "gossh",
                                                             connections=rows)])
    assert len(survival_rows(result)) == len(idles)


def test_a_probe_without_connections_still_has_its_row() -> None:
    result = _ladder(2)
    result.probes.append(ProbeResult("broken", "tcp-recv", "server", complete=False))
    assert [r.label for r in survival_rows(result)] == ["send", "broken (no result)"]


def test_a_probe_that_could_not_run_says_so_in_its_row() -> None:
    result = _ladder(2)
    result.probes.append(ProbeResult("broken", "tcp-recv", "server", complete=False,
                                     extra={"error": "client: tcp-recv exited 1: Traceback\n  ...\n"
                                                     "ValueError: the tool refused it"}))
    [row] = [r for r in survival_rows(result) if not r.connections]
    assert row.note == ("could not run: client: tcp-recv exited 1: Traceback ... ValueError: the tool "
                        "refused it")
    texts = [t.get_text() for t in survival_figure(result, {}).axes[0].texts]
    assert row.note in texts

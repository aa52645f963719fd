"""``report.html``: one self-contained page of a run, for reading in a browser and for teaching.

The page is filled from a :class:`HtmlReport` by a Jinja2 template (``report.html.j2`` beside this
module; Jinja2 escapes every value, so a node, probe or label name can never become markup). Figures
are matplotlib Figures turned into inline SVG (:func:`svg_of`): the page fetches nothing, neither
scripts, styles, fonts nor images, and reads the same offline, from a VM's shared folder or an e-mail.
This module only renders: what goes in (the lab's map, the comparison with the model, the ladders
from the capture) is gathered by :mod:`natsim.analysis.run_report`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from natsim.expect import Check

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The template, package data beside this module.
TEMPLATE = "report.html.j2"
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


@dataclass(frozen=True)
class HtmlFigure:
    """A figure on the page: its anchor (``ladder-send-2``), heading, inline SVG and caption."""

    anchor: str
    title: str
    svg: str
    caption: str = ""


@dataclass
class HtmlReport:
    """Everything ``report.html`` shows, top to bottom. ``comparison``: rows as
    :meth:`natsim.run.compare.Row.to_dict` gives them, verdicts as strings."""

    scenario: str
    time_scale: float
    status: str
    ok: bool
    summary: str
    checks: Sequence[Check] = ()
    lab_map: Mapping[str, Any] | None = None
    survival: HtmlFigure | None = None
    comparison: Sequence[Mapping[str, Any]] = ()
    comparison_note: str = ""
    ladders: list[HtmlFigure] = field(default_factory=list)
    ladder_note: str = ""
    timeline: HtmlFigure | None = None
    timeline_note: str = ""
    notes: list[str] = field(default_factory=list)


def svg_of(fig: Figure) -> str:
    """``fig`` as an inline ``<svg>`` element (no XML prologue, no DOCTYPE, no RDF metadata). Its words
    stay text (``svg.fonttype: none``), drawn in the reader's own fonts: a reader can find and copy
    a tuple in a ladder, and a test can read what the page shows."""
    from matplotlib import rc_context

    text = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(text, format="svg", metadata={"Date": None})
    return _METADATA.sub("", _PROLOGUE.sub("", text.getvalue(), count=1), count=1).strip()


def render_html(report: HtmlReport) -> str:
    """The page (UTF-8 text) for ``report``."""
    import jinja2

    source = resources.files(__package__ or "natsim.report").joinpath(TEMPLATE).read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    return env.from_string(source).render(report=report, title=f"natsim — {report.scenario}")

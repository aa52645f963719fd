"""Packet evidence from lab captures: per-connection events, drops located, SSH key exchange, ladders.

Entry points: :func:`analyze_directory` (a directory written by :class:`natsim.lab.capture.Capture`),
:func:`render_text`, :func:`draw_ladder`.
"""

from natsim.analysis.analyze import Analysis, ConnectionReport, analyze_directory
from natsim.analysis.ladder import draw_ladder
from natsim.analysis.segments import AnalysisError
from natsim.analysis.text import render_text

__all__ = ["Analysis", "AnalysisError", "ConnectionReport", "analyze_directory", "draw_ladder", "render_text"]

"""``natsim analyze DIR [--json] [--ladder CONN]``: read a lab capture and show the evidence."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add ``natsim analyze``."""
    parser = sub.add_parser(
        "analyze", help="analyse a lab capture directory (pcaps per link)",
        description="A summary of the whole capture (connections per probe, how they ended, packets "
                    "lost at which middlebox, the idle time before the first loss), then per TCP "
                    "connection: handshake, FIN/RST and who sent them, packets lost inside a middlebox "
                    "(located), keepalives and their fate, retransmissions, SSH banners and KEXINIT "
                    "lists. In a `natsim run` directory connections are named after their probe "
                    "connections (send #59) from result.json. Times are lab seconds; the 'real' column "
                    "is real-world time: scaled, or A+B where B is the delay of a timer the lab does "
                    "not scale (TCP retransmission).")
    parser.add_argument("directory", help="capture directory (pcaps + capture.json), or a natsim run "
                        "output directory")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--ladder", metavar="CONN",
                        help="draw connection CONN (a capture id like c191, or a probe connection like "
                        "send#59) as a ladder diagram (PNG and SVG)")
    parser.add_argument("--out", metavar="PATH",
                        help="ladder file name without extension (default DIR/ladder-CONN)")
    parser.add_argument("--idle", type=float, default=1.0, metavar="SECONDS",
                        help="report silences at least this long (lab seconds, default 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse, print, optionally draw."""
    from natsim.analysis import analyze_directory, draw_ladder, render_text
    from natsim.analysis.overview import analysis_document

    analysis = analyze_directory(args.directory, idle_threshold=args.idle)
    if args.ladder:
        report = analysis.connection(args.ladder)   # an unknown one is one line, before anything is written
        output = args.out or str(Path(args.directory) / f"ladder-{report.id}")
        # never through a link, one natsim per directory; under sudo: the user's files
        paths = draw_ladder(analysis, report.id, output, for_user=True, lock=True)
        print("\n".join(str(p) for p in paths), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        json.dump(analysis_document(analysis), sys.stdout, indent=2)
        print()
    elif not args.ladder:
        sys.stdout.write(render_text(analysis))
    return 0

"""``natsim analyze DIR [--json] [--ladder CONN_ID]``: read a lab capture and show the evidence."""

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
        description="Per TCP connection: handshake, FIN/RST and who sent them, packets lost inside a "
                    "middlebox (located), keepalives and their fate, retransmissions, SSH banners and "
                    "KEXINIT lists. Times are lab seconds; the 'real' column applies the time scale.")
    parser.add_argument("directory", help="capture directory (pcaps + capture.json)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--ladder", metavar="CONN_ID",
                        help="draw connection CONN_ID (e.g. c1) as a ladder diagram (PNG and SVG)")
    parser.add_argument("--out", metavar="PATH",
                        help="ladder file name without extension (default DIR/ladder-CONN_ID)")
    parser.add_argument("--idle", type=float, default=1.0, metavar="SECONDS",
                        help="report silences at least this long (lab seconds, default 1)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse, print, optionally draw."""
    from natsim.analysis import analyze_directory, draw_ladder, render_text

    analysis = analyze_directory(args.directory, idle_threshold=args.idle)
    if args.ladder:
        output = args.out or str(Path(args.directory) / f"ladder-{args.ladder}")
        # never through a link, one natsim per directory; under sudo: the user's files
        paths = draw_ladder(analysis, args.ladder, output, for_user=True, lock=True)
        print("\n".join(str(p) for p in paths), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        json.dump(analysis.to_dict(), sys.stdout, indent=2)
        print()
    elif not args.ladder:
        sys.stdout.write(render_text(analysis))
    return 0

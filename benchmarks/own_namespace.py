"""Run a lab benchmark where natsim's labs run: as root in this process, as an ordinary user in
natsim's own user and mount namespaces (as the ``natsim`` command does), so ``make bench`` measures a
rootless machine too."""

from __future__ import annotations

import sys

from natsim.lab.userns import enter
from natsim.lab.userns_support import Mode, lab_mode


def enter_for_labs() -> None:
    """Continue in natsim's own namespaces when labs need them here; the outer process exits with the
    inner one's status (root, or a process already inside them, just returns)."""
    outer = enter() if lab_mode() is Mode.ROOTLESS else None
    if outer is not None:
        sys.exit(outer.wait())

"""The Dask cluster natsim spreads work over: a scheduler's address, or ``local`` for workers on this
machine.

A local cluster's scheduler, nannies and workers listen on loopback only (``127.0.0.1``, no dashboard),
one single-threaded worker process each. Dask is optional (``pip install 'natsim[dask]'``); without it
asking for a cluster is a :class:`~natsim.errors.ConfigError` that says what to install.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import Any

from natsim.errors import ClusterError, ConfigError

#: The address that means "start a cluster on this machine".
LOCAL = "local"
#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 30.0
LOOPBACK = "127.0.0.1"
INSTALL_HINT = ("install it with: pip install 'natsim[dask]' (or .venv/bin/pip install 'dask[distributed]')")


def _distributed() -> Any:
    """The ``dask.distributed`` module, or a :class:`ConfigError` saying how to install it."""
    try:
        import dask.distributed
    except ImportError:
        raise ConfigError("--scheduler needs dask.distributed, which is not installed; "
                          + INSTALL_HINT) from None
    return dask.distributed


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A cluster of ``workers`` single-threaded worker processes on this machine, all on loopback;
    closed (its processes ended) on exit."""
    if workers < 1:
        raise ConfigError(f"a local cluster needs at least one worker, got {workers}")
    distributed = _distributed()
    # the workers' scratch space in a directory natsim removes after the cluster (dask's default,
    # $TMPDIR/dask-scratch-space, outlives every cluster)
    import dask

    with tempfile.TemporaryDirectory(prefix="natsim-dask-") as scratch, \
            dask.config.set({"temporary-directory": scratch}), \
            distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                     host=LOOPBACK, dashboard_address=None,   # its HTTP server: any port
                                     scheduler_kwargs={"dashboard_address": f"{LOOPBACK}:0"},
                                     local_directory=scratch,
                                     silence_logs=50) as cluster:   # logging.CRITICAL
        yield cluster


@contextlib.contextmanager
def connect(address: str, *, workers: int | None = None) -> Iterator[Any]:
    """A Dask ``Client`` on the scheduler at ``address`` (``tcp://HOST:8786``), or on a local cluster
    of ``workers`` processes (default 2) when ``address`` is :data:`LOCAL`; closed on exit. A scheduler
    that cannot be reached is a :class:`ClusterError`."""
    distributed = _distributed()
    if address == LOCAL:
        with local_cluster(workers or 2) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as err:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {err}") from None
    with client:
        yield client

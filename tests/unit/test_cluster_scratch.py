"""A local Dask cluster leaves nothing in the temporary directory: dask's default scratch space
($TMPDIR/dask-scratch-space) outlived every cluster natsim started."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from natsim.run.cluster import local_cluster


def test_a_local_cluster_leaves_no_scratch_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    with local_cluster(1) as cluster:
        assert cluster.workers
    assert sorted(p.name for p in tmp_path.iterdir()) == []

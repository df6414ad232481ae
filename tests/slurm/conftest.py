"""The single-node SLURM cluster, started once per test session for the tests in this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slurm_cluster import SlurmCluster, running_cluster


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    # The munge socket path must stay under ~108 bytes; pytest's temporary folders do.
    with running_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster

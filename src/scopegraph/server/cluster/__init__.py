"""The scale-out backend: runs queued in PostgreSQL, executed by workers (in this process,
in ``--workers`` children or in ``scopegraph worker`` processes), their events in Redis."""

from __future__ import annotations

from ._backend import ClusterBackend as ClusterBackend
from ._backend import open_cluster as open_cluster

__all__ = ("ClusterBackend", "open_cluster")

"""The single-process backend: runs in this process's run manager, threads and runs in
the document store (memory, SQLite or PostgreSQL)."""

from __future__ import annotations

from ._backend import LocalBackend as LocalBackend

__all__ = ("LocalBackend",)

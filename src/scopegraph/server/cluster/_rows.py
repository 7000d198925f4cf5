"""A run's queue row as the LangGraph API shows it (shared by the API side and the
worker)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from .._domain import RUN_KWARGS

__all__ = ("run_json",)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def run_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A queue row as the LangGraph API shows a run."""
    doc: Mapping[str, Any] = row["run"]
    out: dict[str, Any] = {
        "run_id": row["run_id"],
        "thread_id": row["thread_id"],
        "assistant_id": doc.get("assistant_id"),
        "created_at": doc.get("created_at") or _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "status": row["status"],
        "metadata": doc.get("metadata") or {},
        "kwargs": {k: doc.get(k) for k in RUN_KWARGS},
        "multitask_strategy": row["multitask_strategy"],
        "attempt": row["attempt"],
        "worker": row["owner"],
        "lifecycle": row.get("lifecycle") or [],
    }
    if row.get("cancel_reason"):
        out["cancel_reason"] = row["cancel_reason"]
    if row.get("error"):
        out["error"] = row["error"]
    return out

"""LangGraph's ``langgraph.config`` names (``from scopegraph.config import get_config``)."""

from __future__ import annotations

from ._context import get_config as get_config
from ._context import get_store as get_store
from ._context import get_stream_writer as get_stream_writer

__all__ = ("get_config", "get_store", "get_stream_writer")

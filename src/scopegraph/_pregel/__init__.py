"""One run of a compiled graph: LangGraph's Pregel loop, one concern per module.

- :mod:`._context`: what a run is built from (:class:`RunOptions`, frozen) and what a
  running node reaches (:class:`NodeContext`);
- :mod:`._task`: one task of a step;
- :mod:`._algo`: the pure algorithm (collect results, apply writes, plan tasks);
- :mod:`._emit`: stream payloads, sinks and ``astream_events`` envelopes;
- :mod:`._persist`: checkpoints, resume and durability;
- :mod:`._node`: calling one node (context, timeout and retries, worker threads);
- :mod:`._loop`: the superstep loop (:class:`Run`);
- :mod:`._update`: ``update_state``;
- :mod:`._hooks`: how an integration (LangChain) reaches into a node.

How steps are scheduled and cancelled is :mod:`scopegraph._run`'s.
"""

from __future__ import annotations

from ._context import CONFIG_KEY_NODE as CONFIG_KEY_NODE
from ._context import Durability as Durability
from ._context import NodeContext as NodeContext
from ._context import ParsedConfig as ParsedConfig
from ._context import PersistOptions as PersistOptions
from ._context import RunOptions as RunOptions
from ._context import Sink as Sink
from ._context import StreamOptions as StreamOptions
from ._context import current as current
from ._context import parse_config as parse_config
from ._loop import Run as Run
from ._task import ParentCommand as ParentCommand
from ._task import Task as Task

__all__ = (
    "CONFIG_KEY_NODE",
    "Durability",
    "NodeContext",
    "ParentCommand",
    "ParsedConfig",
    "PersistOptions",
    "Run",
    "RunOptions",
    "Sink",
    "StreamOptions",
    "Task",
    "current",
    "parse_config",
)

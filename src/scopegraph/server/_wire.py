"""What crosses the wire: JSON encoding, SSE frames, and the LangGraph server's shapes of
state, threads, checkpoints and schemas."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from .. import END, START, Interrupt, StateSnapshot

__all__ = (
    "ALWAYS_SENT",
    "STATE_FIELDS",
    "check_state_select",
    "dumps",
    "frame_event",
    "sse_frame",
    "graph_json",
    "interrupt_json",
    "now_iso",
    "schemas_json",
    "select_state",
    "snapshot_json",
)

log = logging.getLogger("scopegraph.server")

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    if isinstance(value, Interrupt):
        return interrupt_json(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseException):
        return {"error": type(value).__name__, "message": str(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    to_json = getattr(value, "to_json", None)  # LangChain serializables
    if callable(to_json):
        return to_json()
    return repr(value)


def dumps(value: Any) -> bytes:
    """JSON bytes; values JSON has no type for are encoded as a LangGraph server would
    (models as dicts, sets as lists), and anything else as its ``repr``."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def sse_frame(event: str, data: bytes, seq: int | str | None) -> bytes:
    """One server-sent event: ``event: <name>``, ``data: <json>``, and its ``id`` if any."""
    parts = [b"event: ", event.encode(), b"\ndata: ", data, b"\n"]
    if seq is not None:
        parts += [b"id: ", str(seq).encode(), b"\n"]
    parts.append(b"\n")
    return b"".join(parts)


def frame_event(frame: bytes) -> str:
    """The stream mode of an SSE frame made by :func:`sse_frame` (``values|sub`` ->
    ``values``)."""
    name = frame[7 : frame.index(b"\n")].decode()
    return name.partition("|")[0]


ALWAYS_SENT = frozenset({"metadata", "end", "error"})
"""Events a stream filtered by stream mode still sends."""


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def interrupt_json(value: Interrupt) -> dict[str, Any]:
    out = {"value": value.value, "id": value.id}
    if value.response_schema is not None:
        out["response_schema"] = value.response_schema
    return out


def _checkpoint_json(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    conf = config.get("configurable", {})
    return {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
        "checkpoint_map": None,
    }


def snapshot_json(snapshot: StateSnapshot, thread_id: str) -> dict[str, Any]:
    """A ``ThreadState`` as the LangGraph server returns it."""
    checkpoint: dict[str, Any] = _checkpoint_json(snapshot.config) or {
        "thread_id": thread_id,
        "checkpoint_ns": "",
        "checkpoint_id": None,
        "checkpoint_map": None,
    }
    return {
        "values": snapshot.values,
        "next": list(snapshot.next),
        "tasks": [
            {
                "id": task.id,
                "name": task.name,
                "path": list(task.path),
                "error": None if task.error is None else str(task.error),
                "interrupts": [interrupt_json(i) for i in task.interrupts],
                # a subgraph's task: its checkpoint, or with subgraphs=True its state
                "checkpoint": (
                    task.state["configurable"] if isinstance(task.state, Mapping) else None
                ),
                "state": (  # a LangGraph graph's snapshot too (it is not ours)
                    None
                    if task.state is None or isinstance(task.state, Mapping)
                    else snapshot_json(task.state, thread_id)
                ),
                "result": task.result,
            }
            for task in snapshot.tasks
        ],
        "metadata": snapshot.metadata or {},
        "created_at": snapshot.created_at,
        "checkpoint": checkpoint,
        "parent_checkpoint": _checkpoint_json(snapshot.parent_config),
        "interrupts": [interrupt_json(i) for i in snapshot.interrupts],
        "checkpoint_id": checkpoint["checkpoint_id"],
        "parent_checkpoint_id": (_checkpoint_json(snapshot.parent_config) or {}).get(
            "checkpoint_id"
        ),
    }


STATE_FIELDS = frozenset(
    {
        "values",
        "next",
        "tasks",
        "checkpoint",
        "metadata",
        "created_at",
        "parent_checkpoint",
        "interrupts",
        "checkpoint_id",
        "parent_checkpoint_id",
    }
)
"""What a ``select`` of a thread's state may name (besides ``values.<key>``)."""


def check_state_select(select: Sequence[str] | None) -> list[str] | None:
    """The SDK's ``select`` of a state or history: ``ValueError`` naming an unknown field."""
    if not select:
        return None
    unknown = [f for f in select if f not in STATE_FIELDS and not f.startswith("values.")]
    if unknown:
        raise ValueError(
            f"select names unknown state fields {unknown}: use {sorted(STATE_FIELDS)} or "
            "values.<key> for one key of the state"
        )
    return list(select)


def select_state(state: dict[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """Only the ``select`` fields of a ``ThreadState`` (all without it); ``values.<key>``
    keeps that key of the values (``values`` itself: all of them)."""
    if not select:
        return state
    out = {k: state[k] for k in select if k in state}
    keys = {f.split(".", 1)[1] for f in select if f.startswith("values.")}
    values = state.get("values")
    if keys and "values" not in out and isinstance(values, Mapping):
        out["values"] = {k: v for k, v in values.items() if k in keys}
    return out


def graph_json(graph: Any) -> dict[str, Any]:
    """The drawable graph: ``{"nodes": [...], "edges": [...]}`` as the server shows it."""
    if getattr(graph, "bridged", False):  # a LangGraph graph draws itself
        drawn: dict[str, Any] = graph.get_graph().to_json()
        return drawn
    # private: needs public CompiledStateGraph.get_graph() (LangGraph's drawable graph)
    builder = graph.builder
    nodes: list[dict[str, Any]] = [{"id": START, "type": "schema", "data": "__start__"}]
    nodes += [{"id": name, "type": "runnable", "data": {"name": name}} for name in graph.nodes]
    nodes.append({"id": END, "type": "schema", "data": "__end__"})
    edges: list[dict[str, Any]] = [{"source": s, "target": t} for s, t in builder.edges]
    for sources, target in builder.waiting_edges:
        edges += [{"source": s, "target": target} for s in sources]
    for source, branches in builder.branches.items():
        for branch in branches:
            for label, target in _branch_ends(branch, source, graph.nodes).items():
                edge: dict[str, Any] = {"source": source, "target": target, "conditional": True}
                if label != target:
                    edge["data"] = label
                edges.append(edge)
    return {"nodes": nodes, "edges": edges}


def _branch_ends(branch: Any, source: str, nodes: Mapping[str, Any]) -> dict[Any, str]:
    """Where a conditional edge may go, as LangGraph draws it: its ``path_map``; else the
    ``Literal[...]`` its path function is annotated to return; else every node but its
    source, and END (``conditional: true`` edges)."""
    if branch.path_map is not None:
        return dict(branch.path_map)
    try:
        returns = typing.get_type_hints(branch.path).get("return")
    except Exception:  # unresolvable annotations: as if there were none
        returns = None
    if typing.get_origin(returns) is typing.Literal:
        return {value: value for value in typing.get_args(returns)}
    ends = {name: name for name in nodes if name != source}
    ends[END] = END
    return ends


def _json_schema(cls: Any, title: str) -> dict[str, Any] | None:
    """The JSON schema of a state class (through pydantic, when it is installed)."""
    if cls is dict:
        return {"title": title, "type": "object"}
    try:
        from pydantic import TypeAdapter
    except ImportError:  # pragma: no cover - pydantic comes with the server extra
        return None
    try:
        if typing.is_typeddict(cls):
            # Field by field: pydantic refuses typing.TypedDict before Python 3.12.
            properties: dict[str, Any] = {}
            for key, hint in typing.get_type_hints(cls, include_extras=True).items():
                try:
                    properties[key] = TypeAdapter(hint).json_schema()
                except Exception:  # a type pydantic cannot describe: any value
                    properties[key] = {}
            schema: dict[str, Any] = {"type": "object", "properties": properties}
        else:
            schema = TypeAdapter(cls).json_schema()
    except Exception:  # a type pydantic cannot describe: the server says "unknown"
        return None
    schema["title"] = title
    schema.pop("required", None)  # a run's input is a partial update
    return schema


def schemas_json(graph_id: str, graph: Any) -> dict[str, Any]:
    if getattr(graph, "bridged", False):  # a LangGraph graph describes itself
        return {
            "graph_id": graph_id,
            "input_schema": graph.get_input_jsonschema(),
            "output_schema": graph.get_output_jsonschema(),
            "state_schema": graph.get_input_jsonschema(),
            "config_schema": None,
            "context_schema": None,
        }
    state = graph.state_schema
    return {
        "graph_id": graph_id,
        "input_schema": _or_none(graph_id, "input", graph.get_input_jsonschema),
        "output_schema": _or_none(graph_id, "output", graph.get_output_jsonschema),
        # private: LangGraph has no public JSON schema of the whole state
        "state_schema": _or_none(graph_id, "state", lambda: _json_schema(state.cls, state.name)),
        "config_schema": None,
        "context_schema": _or_none(graph_id, "context", graph.get_context_jsonschema),
    }


def _or_none(graph_id: str, what: str, make: Callable[[], Any]) -> Any:
    """A schema, or None (logged) when it cannot be made (pydantic refuses
    ``typing.TypedDict`` before Python 3.12, for one): as LangGraph's server, the other
    schemas are still answered."""
    try:
        return make()
    except Exception as exc:
        log.warning("the %s schema of graph %r cannot be made: %s", what, graph_id, exc)
        return None


def check_input(graph: Any, value: Any) -> str | None:
    """Why ``value`` is not a valid input of ``graph``, or None when it is."""
    if getattr(graph, "bridged", False):  # LangGraph checks its own input
        return None if isinstance(value, dict) else "the input must be a JSON object"
    # private: needs a public input check on CompiledStateGraph (raising InvalidInputError)
    schema = graph.input_schema
    try:
        # Unknown keys are dropped as in LangGraph, unless compile(strict=True).
        schema.coerce_input(value, allowed=graph.input_channels, strict=graph.spec.strict)
    except Exception as exc:
        return str(exc)
    if schema.kind != "typeddict" and schema.kind != "dataclass":
        return None
    try:
        from pydantic import TypeAdapter, ValidationError
    except ImportError:  # pragma: no cover
        return None
    hints = typing.get_type_hints(schema.cls, include_extras=True)
    for key, item in value.items():
        hint = hints.get(key)  # None for a key the run drops
        if hint is None:
            continue
        try:
            TypeAdapter(hint).validate_json(dumps(item), strict=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            return (
                f"input key {key!r} does not match the state schema {schema.name}: "
                f"{first['msg']} (got {item!r})"
            )
        except Exception:  # a type pydantic cannot check: accepted as is
            continue
    return None


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True

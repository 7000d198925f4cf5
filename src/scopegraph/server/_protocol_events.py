"""A run's events as the thread-centric streaming protocol's events (LangGraph's "v3"
protocol, the SDK's ``threads.stream``; :mod:`scopegraph.server._protocol` serves them).

:class:`RunEvents` reads the frames of one run's event log (the same frames
``runs.stream`` sends: ``values``, ``updates``, ``messages`` tuples, ``custom``,
``tasks``, ``checkpoints``, each under its subgraph namespace, ``<mode>|<ns>|...``) and
makes the protocol's events from them, as LangGraph's server does:

- ``lifecycle``: the root graph ``running`` when the run starts, then ``completed``,
  ``failed`` (with the error) or ``interrupted``; a subgraph's namespace ``started`` when
  its first event arrives and ``completed`` when its parent's ``updates`` name its node.
- ``values`` and ``updates`` (``params.node``: the node); an ``__interrupt__`` becomes
  ``input.requested`` (``{interrupt_id, payload}``) and the root's ``interrupted``.
- ``messages``: each chat model's message as content-block events (``message-start``,
  ``content-block-start``, ``content-block-delta``, ``content-block-finish``,
  ``message-finish``), made from the run's token chunks as LangChain's compat bridge
  makes them; a message a node returned whole is replayed the same way.
- ``tools`` (``tool-started``, ``tool-output-delta``, ``tool-finished``, ``tool-error``)
  as they are, and a finished tool's output again on ``messages`` as a ``tool`` message
  (under ``[..., "tools:<tool_call_id>"]``); ``custom`` (``{"payload": ...}``), ``tasks``
  as they are, ``checkpoints`` as ``{id, parent_id, step, source}``.

Each event has a ``seq`` (one counter per connection, shared by the runs it follows) and
an ``event_id`` made from the run id and the log's own event id, so that a client that
sees a run's events again (another connection, a reconnect) recognises them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

__all__ = ("RunEvents", "lifecycle_status", "parse_frames")

LIFECYCLE = {"success": "completed", "error": "failed", "timeout": "failed"}
"""A run's status as the root's terminal lifecycle event (``interrupted`` is itself)."""


def lifecycle_status(status: str) -> str:
    return LIFECYCLE.get(status, status)


def parse_frames(chunk: bytes) -> Iterator[tuple[str, Any, str | None]]:
    """``(event, data, id)`` of each SSE frame in ``chunk`` (frames made by
    :func:`scopegraph.server._wire.sse_frame`: one ``data`` line of JSON each)."""
    for frame in chunk.split(b"\n\n"):
        name: str | None = None
        data: Any = None
        frame_id: str | None = None
        for line in frame.split(b"\n"):
            field, _, value = line.partition(b": ")
            if field == b"event":
                name = value.decode()
            elif field == b"data":
                data = json.loads(value)
            elif field == b"id":
                frame_id = value.decode()
        if name is not None:
            yield name, data, frame_id


def _key(namespace: list[str]) -> str:
    return "|".join(namespace)


class RunEvents:
    """One run's protocol events, made from its log's frames (see the module docstring).

    ``counter``: the connection's ``seq`` counter (a one-item list), shared by the runs
    one connection follows so that ``seq`` only grows."""

    def __init__(self, run_id: str, graph_name: str, counter: list[int]) -> None:
        self.run_id = run_id
        self.graph_name = graph_name
        self.counter = counter
        self.open: dict[str, list[str]] = {}
        """The subgraph namespaces that started and have not completed."""
        self.interrupts: set[str] = set()
        self.terminal = False
        self.messages = _Messages()
        self._frame_id: str | None = None
        self._in_frame = 0

    # -- the envelope ----------------------------------------------------------------

    def _event(
        self,
        method: str,
        namespace: list[str],
        data: Any,
        *,
        node: str | None = None,
        synthetic: str | None = None,
    ) -> dict[str, Any]:
        self.counter[0] += 1
        if synthetic is not None:
            event_id = f"synth:{self.run_id}:{synthetic}"
        else:
            event_id = f"{self.run_id}:{self._frame_id}"
            if self._in_frame:
                event_id += f".{self._in_frame}"
            self._in_frame += 1
        params: dict[str, Any] = {
            "namespace": namespace,
            "timestamp": int(time.time() * 1000),
            "data": data,
        }
        if node is not None:
            params["node"] = node
        return {
            "type": "event",
            "event_id": event_id,
            "seq": self.counter[0],
            "method": method,
            "params": params,
        }

    def _lifecycle(
        self, namespace: list[str], status: str, error: str | None = None
    ) -> dict[str, Any]:
        graph_name = namespace[-1].partition(":")[0] if namespace else self.graph_name
        data: dict[str, Any] = {"event": status, "graph_name": graph_name}
        if error is not None:
            data["error"] = error
        return self._event("lifecycle", namespace, data, synthetic=f"lc|{_key(namespace)}|{status}")

    # -- the run's course ---------------------------------------------------------------

    def started(self) -> list[dict[str, Any]]:
        """The root graph's ``running``, before the run's first event."""
        return [self._lifecycle([], "running")]

    def ended(self, status: str, error: str | None = None) -> list[dict[str, Any]]:
        """After the run's last frame: the messages still open finish, then (unless an
        interrupt or an error said it already) the namespaces and the root end."""
        out = [
            self._event("messages", ns, d, synthetic=f"msg|{i}")
            for i, (ns, d) in enumerate(self.messages.finish_all())
        ]
        if self.terminal:
            return out
        self.terminal = True
        final = lifecycle_status(status)
        if final == "completed" and self.interrupts:
            final = "interrupted"
        for namespace in sorted(self.open.values(), key=len, reverse=True):
            out.append(self._lifecycle(namespace, "completed"))
        self.open.clear()
        out.append(self._lifecycle([], final, error))
        return out

    def frame(self, name: str, data: Any, frame_id: str | None) -> list[dict[str, Any]]:
        """The protocol events of one frame of the run's log."""
        self._frame_id, self._in_frame = frame_id or "x", 0
        if name == "error":
            message = data.get("message", str(data)) if isinstance(data, dict) else str(data)
            return self.ended("error", message)
        mode, *namespace = name.split("|")
        out: list[dict[str, Any]] = []
        if namespace:
            out += self._opened(namespace)
        if mode == "values":
            out += self._values(namespace, data)
        elif mode == "updates":
            out += self._updates(namespace, data)
        elif mode == "messages" and isinstance(data, list) and len(data) == 2:
            for event in self.messages.feed(namespace, data[0], data[1]):
                out.append(self._event("messages", namespace, event))
        elif mode == "custom":
            out.append(self._event("custom", namespace, {"payload": data}))
        elif mode == "tasks":
            out.append(self._event("tasks", namespace, data))
        elif mode == "checkpoints" and isinstance(data, dict):
            out.append(self._event("checkpoints", namespace, _checkpoint(data)))
        elif mode == "tools" and isinstance(data, dict):
            node = data.pop("__node", None)
            out.append(self._event("tools", namespace, data, node=node))
            out += self._tool_message(namespace, data)
        return out

    def _tool_message(self, namespace: list[str], data: dict[str, Any]) -> list[dict[str, Any]]:
        """A finished tool's output again on ``messages``, as a ``tool`` message under
        ``[*namespace, "tools:<tool_call_id>"]``: what LangGraph's server adds."""
        output = data.get("output")
        if data.get("event") != "tool-finished" or not isinstance(output, dict):
            return []
        call_id = data.get("tool_call_id") or output.get("tool_call_id")
        message_id = output.get("id") or (f"tool-{call_id}" if call_id else None)
        if message_id is None:
            return []
        content = output.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        start: dict[str, Any] = {"event": "message-start", "role": "tool", "id": message_id}
        where = namespace
        if call_id is not None:
            start["tool_call_id"] = call_id
            where = [*namespace, f"tools:{call_id}"]
        block = {"type": "text", "text": text}
        events = [
            start,
            {"event": "content-block-start", "index": 0, "content": {"type": "text", "text": ""}},
            {"event": "content-block-delta", "index": 0, "content": block},
            {"event": "content-block-finish", "index": 0, "content": block},
            {"event": "message-finish", "metadata": {}},
        ]
        return [self._event("messages", where, event) for event in events]

    def _opened(self, namespace: list[str]) -> list[dict[str, Any]]:
        out = []
        for length in range(1, len(namespace) + 1):
            prefix = namespace[:length]
            if _key(prefix) not in self.open:
                self.open[_key(prefix)] = prefix
                out.append(self._lifecycle(prefix, "started"))
        return out

    def _interrupted(self, namespace: list[str], entries: Any) -> list[dict[str, Any]]:
        out = []
        for entry in entries if isinstance(entries, list) else []:
            interrupt_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(interrupt_id, str) or interrupt_id in self.interrupts:
                continue
            self.interrupts.add(interrupt_id)
            request: dict[str, Any] = {"interrupt_id": interrupt_id}
            if "value" in entry:
                request["payload"] = entry["value"]
            out.append(
                self._event(
                    "input.requested",
                    namespace,
                    request,
                    synthetic=f"input|{_key(namespace)}|{interrupt_id}",
                )
            )
        if out and not self.terminal:
            self.terminal = True
            out.append(self._lifecycle([], "interrupted"))
        return out

    def _values(self, namespace: list[str], data: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if isinstance(data, dict) and "__interrupt__" in data:
            out += self._interrupted(namespace, data["__interrupt__"])
            data = {k: v for k, v in data.items() if k != "__interrupt__"}
        if data != {}:  # as LangGraph's server: an empty state is not sent
            out.insert(0, self._event("values", namespace, data))
        return out

    def _updates(self, namespace: list[str], data: Any) -> list[dict[str, Any]]:
        if not (isinstance(data, dict) and len(data) == 1):
            return [self._event("updates", namespace, {"values": data})]
        ((node, values),) = data.items()
        if node == "__interrupt__":
            return self._interrupted(namespace, values)
        if not isinstance(values, dict):
            values = {"value": values}
        out = [self._event("updates", namespace, values, node=node)] if values else []
        for event in self.messages.finish_node(namespace, node):
            out.append(self._event("messages", namespace, event))
        prefix = f"{node}:"
        for key, child in list(self.open.items()):
            if (
                len(child) == len(namespace) + 1
                and child[:-1] == namespace
                and (child[-1] == node or child[-1].startswith(prefix))
            ):
                del self.open[key]
                out.append(self._lifecycle(child, "completed"))
                break
        return out


def _checkpoint(data: dict[str, Any]) -> dict[str, Any]:
    """A ``checkpoints`` chunk as the protocol's checkpoint (``{id, parent_id, step,
    source}``)."""
    configurable = (data.get("config") or {}).get("configurable") or {}
    metadata = data.get("metadata") or {}
    out: dict[str, Any] = {
        "id": configurable.get("checkpoint_id"),
        "step": metadata.get("step", -1),
        "source": metadata.get("source", "loop"),
    }
    parent = ((data.get("parent_config") or {}).get("configurable") or {}).get("checkpoint_id")
    if parent:
        out["parent_id"] = parent
    return out


# -- messages as content blocks --------------------------------------------------------


class _Message:
    def __init__(self, namespace: list[str], node: Any) -> None:
        self.namespace = namespace
        self.node = node
        self.blocks: dict[Any, tuple[int, dict[str, Any]]] = {}
        self.usage: dict[str, int] = {}
        self.response_metadata: dict[str, Any] = {}


class _Messages:
    """The content-block events of the chat models' messages of one run, made from the
    ``messages`` mode's ``(message, metadata)`` chunks (dicts, as the log holds them)."""

    def __init__(self) -> None:
        self.open: dict[str, _Message] = {}
        self.seen: set[str] = set()
        self.pending: list[tuple[list[str], dict[str, Any]]] = []

    def feed(self, namespace: list[str], message: Any, metadata: Any) -> list[dict[str, Any]]:
        if not isinstance(message, dict):
            return []
        kind = str(message.get("type", ""))
        metadata = metadata if isinstance(metadata, dict) else {}
        node = metadata.get("langgraph_node")
        message_id = str(message.get("id") or metadata.get("run_id") or "")
        if kind == "AIMessageChunk":
            out = self._chunk(namespace, message_id, message, node)
            if message.get("chunk_position") == "last":
                out += self._finish(message_id)
            return out
        if kind == "ai" and message_id not in self.seen:
            self.seen.add(message_id)
            self.open[message_id] = _Message(namespace, node)
            out = [_start(message_id, message)]
            out += self._blocks(self.open[message_id], message, whole=True)
            return out + self._finish(message_id)
        if kind == "ai" and message_id in self.open:  # the whole of a streamed message
            return self._finish(message_id)
        return []

    def _chunk(
        self, namespace: list[str], message_id: str, chunk: dict[str, Any], node: Any
    ) -> list[dict[str, Any]]:
        out = []
        state = self.open.get(message_id)
        if state is None:
            if message_id in self.seen:
                return []  # finished already
            self.seen.add(message_id)
            state = self.open[message_id] = _Message(namespace, node)
            out.append(_start(message_id, chunk))
        out += self._blocks(state, chunk, whole=False)
        for name, count in (chunk.get("usage_metadata") or {}).items():
            if isinstance(count, int):
                state.usage[name] = state.usage.get(name, 0) + count
        state.response_metadata.update(chunk.get("response_metadata") or {})
        return out

    def _blocks(self, state: _Message, message: dict[str, Any], *, whole: bool) -> list[Any]:
        out: list[dict[str, Any]] = []
        for key, block in _content_blocks(message, whole=whole):
            if key not in state.blocks:
                index = len(state.blocks)
                state.blocks[key] = (index, dict(block))
                out.append(
                    {"event": "content-block-start", "index": index, "content": _skeleton(block)}
                )
            else:
                index, so_far = state.blocks[key]
                state.blocks[key] = (index, _accumulate(so_far, block))
            delta = _delta(block)
            if delta is not None:
                out.append({"event": "content-block-delta", "index": index, "delta": delta})
        return out

    def _finish(self, message_id: str) -> list[dict[str, Any]]:
        state = self.open.pop(message_id, None)
        if state is None:
            return []
        out: list[dict[str, Any]] = [
            {"event": "content-block-finish", "index": index, "content": _finalized(block)}
            for index, block in state.blocks.values()
        ]
        finish: dict[str, Any] = {"event": "message-finish"}
        if state.usage:
            finish["usage"] = state.usage
        if state.response_metadata:
            finish["metadata"] = state.response_metadata
        out.append(finish)
        return out

    def finish_node(self, namespace: list[str], node: str) -> list[dict[str, Any]]:
        """A node ended (its ``updates``): its messages still open are finished."""
        ids = [
            mid
            for mid, state in self.open.items()
            if state.node == node and state.namespace == namespace
        ]
        return [event for mid in ids for event in self._finish(mid)]

    def finish_all(self) -> list[tuple[list[str], dict[str, Any]]]:
        out = []
        for mid, state in list(self.open.items()):
            out += [(state.namespace, event) for event in self._finish(mid)]
        return out


def _start(message_id: str, message: dict[str, Any]) -> dict[str, Any]:
    start: dict[str, Any] = {"event": "message-start", "role": "ai", "id": message_id}
    metadata: dict[str, Any] = {}
    for name in ("model_provider", "model_name"):
        value = (message.get("response_metadata") or {}).get(name)
        if isinstance(value, str):
            metadata["provider" if name == "model_provider" else "model"] = value
    if metadata:
        start["metadata"] = metadata
    return start


def _content_blocks(message: dict[str, Any], *, whole: bool) -> list[tuple[Any, dict[str, Any]]]:
    """``(key, block)`` of a message's text, reasoning and tool-call blocks."""
    out: list[tuple[Any, dict[str, Any]]] = []
    content = message.get("content")
    if isinstance(content, str):
        if content:
            out.append((("content", 0), {"type": "text", "text": content}))
    elif isinstance(content, list):
        for i, block in enumerate(content):
            if isinstance(block, str):
                out.append((("content", i), {"type": "text", "text": block}))
            elif isinstance(block, dict) and block.get("type") in ("text", "reasoning"):
                key = ("content", block.get("index", i))
                out.append((key, {k: v for k, v in block.items() if k != "index"}))
    if whole:
        for i, call in enumerate(message.get("tool_calls") or []):
            block = {"type": "tool_call", "id": call.get("id"), "name": call.get("name")}
            out.append((("tool", i), {**block, "args": call.get("args") or {}}))
    else:
        for i, call in enumerate(message.get("tool_call_chunks") or []):
            block = {"type": "tool_call_chunk", "id": call.get("id"), "name": call.get("name")}
            key = ("tool", call.get("index", i) if call.get("index") is not None else i)
            out.append((key, {**block, "args": call.get("args") or ""}))
    return out


def _skeleton(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {**block, "text": ""}
    if kind == "reasoning":
        return {**block, "reasoning": ""}
    if kind == "tool_call_chunk":
        return {**block, "args": ""}
    return {**block, "args": {}}


def _delta(block: dict[str, Any]) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text" and block.get("text"):
        return {"type": "text-delta", "text": block["text"]}
    if kind == "reasoning" and block.get("reasoning"):
        return {"type": "reasoning-delta", "reasoning": block["reasoning"]}
    if kind == "tool_call_chunk" and block.get("args"):
        return {"type": "tool-call-delta", "args": block["args"]}
    return None


def _accumulate(so_far: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    merged = dict(so_far)
    for field in ("text", "reasoning", "args"):
        if isinstance(block.get(field), str) and isinstance(merged.get(field), str):
            merged[field] += block[field]
    for field in ("id", "name"):
        if merged.get(field) is None and block.get(field) is not None:
            merged[field] = block[field]
    return merged


def _finalized(block: dict[str, Any]) -> dict[str, Any]:
    if block.get("type") != "tool_call_chunk":
        return block
    text = block.get("args") or ""
    try:
        args = json.loads(text) if text else {}
    except ValueError:
        args = None
    if not isinstance(args, dict):
        return {
            "type": "invalid_tool_call",
            "id": block.get("id"),
            "name": block.get("name"),
            "args": text,
            "error": None,
        }
    name = block.get("name") or ""
    return {"type": "tool_call", "id": block.get("id"), "name": name, "args": args}

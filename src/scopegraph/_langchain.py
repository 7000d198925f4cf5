"""LangChain callbacks for nodes: what makes langchain_core objects inside nodes work.

Loaded only when the user's program has imported langchain_core (the core never imports
it). A node's config then carries ``callbacks``: an ``AsyncCallbackManager`` whose parent
run is the node, with one handler, :class:`NodeCallbacks`, which turns LangChain's
callbacks into scopegraph's streams, with LangChain's and LangGraph's shapes:

- ``adispatch_custom_event`` / ``dispatch_custom_event`` from langchain_core become
  ``on_custom_event`` events of ``astream_events`` (as in LangGraph, they do not go to
  the ``custom`` stream mode, which is for ``get_stream_writer()``);
- chat models stream their tokens into ``stream_mode="messages"`` as
  ``(AIMessageChunk, metadata)``; a model that was invoked without streaming is made to
  stream (the handler is a streaming handler, as LangGraph's is);
- ``astream_events`` gets ``on_chat_model_*``, ``on_llm_*``, ``on_tool_*``,
  ``on_retriever_*`` and ``on_chain_*`` / ``on_prompt_*`` / ``on_parser_*`` events of
  the runnables called inside nodes, with parent ids that continue the graph's.

The handler is synchronous and runs inline: called on the event loop thread it emits at
once; called from a sync node's worker thread it hands the emission to the loop thread.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar

import anyio.from_thread
import anyio.lowlevel
from langchain_core.callbacks import (
    AsyncCallbackManager,
    BaseCallbackHandler,
    CallbackManager,
    CallbackManagerForChainRun,
)
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, GenerationChunk, LLMResult
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tracers._streaming import _StreamingCallbackHandler
from langchain_core.tracers.base import BaseTracer

from ._func import task_caller
from ._ids import new_id
from ._langgraph_nodes import call_runnable as _call_runnable
from ._langgraph_nodes import extend_configurable
from ._pregel import NodeContext, _algo
from ._types import TracePolicy
from .callbacks import GraphInterruptEvent, GraphResumeEvent, adispatch, graph_handlers
from .errors import GraphDrained, GraphInterrupt

__all__ = (
    "NodeCallbacks",
    "call_runnable",
    "callbacks_for",
    "emit_output_messages",
    "enter_node",
    "enter_run",
    "exit_node",
    "exit_run",
    "extend_configurable",
    "graph_lifecycle",
    "is_runnable",
    "new_messages",
)

T = TypeVar("T")
M = TypeVar("M", CallbackManager, CallbackManagerForChainRun)

logger = logging.getLogger("scopegraph")


def _name(name: str | None, serialized: dict[str, Any] | None) -> str:
    if name:
        return name
    if serialized:
        if serialized.get("name"):
            return str(serialized["name"])
        if serialized.get("id"):
            return str(serialized["id"][-1])
    return "Unnamed"


_NOTHING: Any = object()


class _Child:
    __slots__ = ("inputs", "kind", "metadata", "name", "parent_ids", "streamed", "tags")

    def __init__(
        self, kind: str, name: str, tags: list[str], metadata: dict[str, Any], inputs: Any
    ) -> None:
        self.kind = kind
        self.name = name
        self.tags = tags
        self.metadata = metadata
        self.inputs = inputs
        self.streamed = False
        self.parent_ids: list[str] | None = None
        """Its events' ``parent_ids``, fixed at its start: by its end its parent may
        have ended too (its link is dropped then)."""


def _first_message(response: LLMResult) -> Any:
    """A chat model's answer: the message of its first generation (``{}`` if none)."""
    for generations in response.generations:
        if generations:
            return getattr(generations[0], "message", {})
    return {}


def _llm_result_v1(response: LLMResult) -> dict[str, Any]:
    """``astream_events`` v1's model output: the ``LLMResult`` as a dict, each chat
    generation's message the message itself (LangChain's tracer dumps and loads it)."""
    result = response.model_dump()
    for row, generations in zip(result["generations"], response.generations, strict=True):
        for dumped, generation in zip(row, generations, strict=True):
            if "message" in dumped:
                dumped["message"] = generation.message  # type: ignore[attr-defined]
    return result


class ToolCallStream:
    """One tool call's ``stream_mode="tools"`` events: ``tool-started`` now,
    ``tool-output-delta`` for each ``ToolRuntime.emit_output_delta(delta)`` of the tool
    body, then ``tool-finished`` or ``tool-error`` (LangGraph 1.2's payloads).

    ``emit_output_delta`` (LangGraph's prebuilt ``ToolRuntime``) finds its writer in a
    context variable of LangGraph's that its own handler sets when a tool starts; this
    sets the same variable, in the tool's context (the callback runs inline, before the
    tool body), when LangGraph is installed (without it there is no ``ToolRuntime``).
    """

    __slots__ = ("call_id", "handler", "token", "writer_var")

    def __init__(self, handler: NodeCallbacks, call_id: str, name: str, inputs: Any) -> None:
        self.handler = handler
        self.call_id = call_id
        started: dict[str, Any] = {"event": "tool-started", "tool_call_id": call_id}
        started["tool_name"] = name
        if inputs is not None:
            started["input"] = inputs
        self.writer_var = _langgraph_tool_writer()
        self.token = None if self.writer_var is None else self.writer_var.set(self.delta)
        handler.emit_tool_event(started)

    def delta(self, delta: Any) -> None:
        event = {"event": "tool-output-delta", "tool_call_id": self.call_id, "delta": delta}
        self.handler.emit_tool_event(event)

    def finish(self, payload: dict[str, Any] | None) -> None:
        """The call ended: reset the writer; stream ``payload`` (none for a pause)."""
        if self.writer_var is not None and self.token is not None:
            # The end may come in another context than the start (a worker thread
            # LangChain did not copy the context to): the variable then dies with it.
            with contextlib.suppress(ValueError):
                self.writer_var.reset(self.token)
        if payload is not None:
            event = {"event": payload.pop("event"), "tool_call_id": self.call_id, **payload}
            self.handler.emit_tool_event(event)


def _langgraph_tool_writer() -> Any:
    """LangGraph's ``_tool_call_writer`` context variable, if LangGraph is installed."""
    try:
        from langgraph.pregel._tools import _tool_call_writer
    except ImportError:
        return None
    return _tool_call_writer


class NodeCallbacks(BaseCallbackHandler):
    """LangChain callbacks of the runnables one node calls; see the module docstring."""

    run_inline = True
    raise_error = False

    def __new__(cls, ctx: NodeContext) -> NodeCallbacks:
        """A :class:`StreamingNodeCallbacks` when the run streams ``messages`` or events
        (chat models then stream, as on LangGraph), else a plain one."""
        if cls is NodeCallbacks:
            stream = ctx.run.stream
            if stream.events or "messages" in stream.modes:
                cls = StreamingNodeCallbacks
        return super().__new__(cls)

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.children: dict[uuid.UUID, _Child] = {}
        self.parents: dict[uuid.UUID, uuid.UUID] = {}
        self.node_run = uuid.UUID(ctx.run_id) if ctx.run_id else uuid.uuid4()
        self.seen: set[str] = set()
        """Ids of messages already sent to the ``messages`` stream by this node."""
        self.pushed: list[tuple[int, str, Any]] = []
        """``(attempt, key, message)``: a retried node keeps its last attempt's."""
        self.returned: Any = _NOTHING
        """The node's update without its pushed writes, once they were added."""
        """``push_message()``'s writes, added to the node's writes when it returns."""
        self.tool_calls: dict[uuid.UUID, ToolCallStream] = {}
        """The tool calls running under this node, for ``stream_mode="tools"``."""
        self.loop: Any = None
        """The event loop's token, for callbacks from threads anyio did not start (sync
        tools run in asyncio's executor)."""
        if threading.get_ident() == ctx.run.loop_thread:
            self.loop = anyio.lowlevel.current_token()
        else:  # made in such a thread (a sync tool's ainvoke runs in asyncio's executor)
            self.loop = getattr(ctx.run, _LOOP, None)

    # -- plumbing ------------------------------------------------------------------------

    def _on_loop(self, fn: Any, *args: Any) -> None:
        run = self.ctx.run
        if threading.get_ident() == run.loop_thread:
            fn(*args)
        else:
            anyio.from_thread.run_sync(fn, *args, token=self.loop)

    @property
    def _events(self) -> bool:
        stream = self.ctx.run.stream
        return stream.events and stream.output is not None

    def _parent_ids(self, run_id: uuid.UUID) -> list[str]:
        chain: list[str] = []
        current = self.parents.get(run_id)
        while current is not None and current != self.node_run:
            chain.append(str(current))
            current = self.parents.get(current)
        return [*self.ctx.parent_ids, str(self.node_run), *reversed(chain)]

    def _start(
        self,
        kind: str,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None,
        name: str,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        inputs: Any,
        data: dict[str, Any] | None,
    ) -> _Child:
        child = _Child(kind, name, list(tags or ()), dict(metadata or {}), inputs)
        self.children[run_id] = child
        if parent_run_id is not None:
            self.parents[run_id] = parent_run_id
        if self._events:
            child.parent_ids = self._parent_ids(run_id)
        if data is not None and self._events:
            self._send(f"on_{kind}_start", run_id, child, data)
        return child

    def _open(
        self,
        kind: str,
        inputs: Any,
        serialized: dict[str, Any] | None,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        """A model, tool or retriever run starts: ``on_<kind>_start`` with its input."""
        name = _name(kwargs.get("name"), serialized)
        self._start(kind, run_id, parent_run_id, name, tags, metadata, inputs, {"input": inputs})

    def _send(self, event: str, run_id: uuid.UUID, child: _Child, data: dict[str, Any]) -> None:
        item = {
            "event": event,
            "data": data,
            "name": child.name,
            "tags": child.tags,
            "run_id": str(run_id),
            "metadata": child.metadata,
            "parent_ids": (
                child.parent_ids if child.parent_ids is not None else self._parent_ids(run_id)
            ),
        }
        output = self.ctx.run.stream.output
        assert output is not None
        self._on_loop(output.put, item)

    def _end(self, run_id: uuid.UUID) -> _Child | None:
        self.parents.pop(run_id, None)
        return self.children.pop(run_id, None)

    def _message(self, message: BaseMessage, child: _Child) -> None:
        stream = self.ctx.run.stream
        if "messages" not in stream.modes:
            return
        if message.id is not None:
            self.seen.add(message.id)
        metadata = child.metadata
        # As LangGraph: the model's own tags, without the internal seq:step ones.
        tags = [t for t in child.tags if not t.startswith("seq:step")]
        if tags:
            metadata = {**metadata, "tags": tags}
        if threading.get_ident() != self.ctx.run.loop_thread:
            # The node's thread goes on while the stream writes the message out, and may
            # change it first (create_agent names the model's reply): send it as it is now.
            message = message.model_copy()
        self._on_loop(stream.sink, stream.ns, "messages", (message, metadata))

    def push_message(self, message: BaseMessage, state_key: str | None) -> None:
        """``push_message()``: the message goes to the ``messages`` stream now and, with a
        ``state_key``, becomes a write of the node (before the writes it returns)."""
        if message.id is not None:
            self.seen.add(message.id)  # streamed: not again when the node returns it
        stream = self.ctx.run.stream
        if "messages" in stream.modes:
            metadata = self.ctx.metadata  # LangGraph's: the node config's metadata
            self._on_loop(stream.sink, stream.ns, "messages", (message, metadata))
        if state_key:
            attempt = self.ctx.attempt
            self.pushed.append((0 if attempt is None else attempt.number, state_key, message))

    # -- models --------------------------------------------------------------------------

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open(
            "chat_model",
            {"messages": messages},
            serialized,
            run_id,
            parent_run_id,
            tags,
            metadata,
            kwargs,
        )

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open(
            "llm", {"prompts": prompts}, serialized, run_id, parent_run_id, tags, metadata, kwargs
        )

    def on_llm_new_token(
        self,
        token: Any,
        *,
        chunk: GenerationChunk | ChatGenerationChunk | None = None,
        run_id: uuid.UUID,
        **kwargs: Any,
    ) -> None:
        child = self.children.get(run_id)
        if child is None:
            return
        self.ctx.output_progress()  # a token is progress for an idle_timeout
        child.streamed = True
        if child.kind == "chat_model":
            message = (
                chunk.message
                if isinstance(chunk, ChatGenerationChunk)
                else AIMessageChunk(content=token)
            )
            if self._events:
                self._send("on_chat_model_stream", run_id, child, {"chunk": message})
            if "nostream" not in child.tags:
                self._message(message, child)
        elif self._events:
            piece = chunk if chunk is not None else GenerationChunk(text=token)
            self._send("on_llm_stream", run_id, child, {"chunk": piece})

    def on_llm_end(self, response: LLMResult, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        child = self._end(run_id)
        if child is None:
            return
        if self._events and self.ctx.run.stream.events_v1:
            # v1 (LangChain's tracer's record): the whole LLMResult, messages as objects.
            self._send(
                f"on_{child.kind}_end",
                run_id,
                child,
                {"input": child.inputs, "output": _llm_result_v1(response)},
            )
            if child.kind == "chat_model":
                self._message_unless_streamed(response, child)
            return
        if child.kind == "chat_model":
            output = _first_message(response)
            if self._events:
                self._send(
                    "on_chat_model_end", run_id, child, {"output": output, "input": child.inputs}
                )
            self._message_unless_streamed(response, child)
        elif self._events:
            output = {
                "generations": [
                    [
                        {"text": g.text, "generation_info": g.generation_info, "type": g.type}
                        for g in generations
                    ]
                    for generations in response.generations
                ],
                "llm_output": response.llm_output,
            }
            self._send("on_llm_end", run_id, child, {"output": output, "input": child.inputs})

    def _message_unless_streamed(self, response: LLMResult, child: _Child) -> None:
        """A chat model that did not stream: its message goes to ``messages`` whole."""
        output = _first_message(response)
        streamable = "nostream" not in child.tags
        if streamable and not child.streamed and isinstance(output, BaseMessage):
            self._message(output, child)

    def on_llm_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id)

    # -- chains, tools, retrievers ---------------------------------------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kind = kwargs.get("run_type") or "chain"
        data = {} if inputs == {"input": ""} else {"input": inputs}
        self._start(
            kind,
            run_id,
            parent_run_id,
            _name(kwargs.get("name"), serialized),
            tags,
            metadata,
            data.get("input", {}),
            data,
        )

    def on_chain_end(self, outputs: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        child = self._end(run_id)
        if child is not None and self._events:
            inputs = kwargs.get("inputs") or child.inputs or {}
            self._send(f"on_{child.kind}_end", run_id, child, {"output": outputs, "input": inputs})

    def on_chain_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open("tool", inputs, serialized, run_id, parent_run_id, tags, metadata, kwargs)
        if "tools" in self.ctx.run.stream.modes and "nostream" not in (tags or ()):
            call_id = kwargs.get("tool_call_id") or str(run_id)
            name = (serialized or {}).get("name") or kwargs.get("name") or ""
            self.tool_calls[run_id] = ToolCallStream(self, call_id, name, inputs)

    def on_tool_end(self, output: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        child = self._end(run_id)
        if child is not None and self._events:
            self._send("on_tool_end", run_id, child, {"output": output, "input": child.inputs})
        if self.tool_calls and (call := self.tool_calls.pop(run_id, None)) is not None:
            call.finish({"event": "tool-finished", "output": output})

    def on_tool_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        child = self._end(run_id)
        if child is not None and self._events:
            self._send("on_tool_error", run_id, child, {"error": error, "input": child.inputs})
        if self.tool_calls and (call := self.tool_calls.pop(run_id, None)) is not None:
            # A tool stopped by interrupt() or a drain is paused, not failed (LangGraph):
            # it runs again on resume, and reports its start and end then.
            paused = isinstance(error, GraphInterrupt | GraphDrained)
            call.finish(None if paused else {"event": "tool-error", "message": str(error)})

    def emit_tool_event(self, payload: dict[str, Any]) -> None:
        """A ``tools`` stream chunk of this node's graph (LangGraph's payloads)."""
        stream = self.ctx.run.stream
        self._on_loop(stream.sink, stream.ns, "tools", payload)

    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: uuid.UUID,
        parent_run_id: uuid.UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._open(
            "retriever", {"query": query}, serialized, run_id, parent_run_id, tags, metadata, kwargs
        )

    def on_retriever_end(self, documents: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        child = self._end(run_id)
        if child is not None and self._events:
            output = {"documents": documents} if self.ctx.run.stream.events_v1 else documents
            self._send("on_retriever_end", run_id, child, {"output": output, "input": child.inputs})

    def on_retriever_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id)

    # -- custom events -------------------------------------------------------------------

    def on_custom_event(self, name: str, data: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._on_loop(self.ctx.custom_event, name, data)


class _NodeManager(AsyncCallbackManager):
    """The node's callback manager, built on first use.

    Most nodes never call a LangChain object, so the handler, its lists and the node's
    run id as a UUID are made only when LangChain reads the manager (LangChain's
    ``configure`` reads its attributes; ``ensure_config`` copies it).
    """

    def __init__(self, ctx: NodeContext, user_callbacks: Any) -> None:  # no super().__init__
        self._ctx = ctx
        self._user_callbacks = user_callbacks

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self.__dict__.update(_manager_state(self._ctx, self._user_callbacks))
        return self.__dict__[name] if name in self.__dict__ else super().__getattribute__(name)

    def copy(self) -> AsyncCallbackManager:  # type: ignore[override]
        state = _manager_state(self._ctx, self._user_callbacks)
        return AsyncCallbackManager(**state)


class StreamingNodeCallbacks(NodeCallbacks, _StreamingCallbackHandler[Any]):
    """:class:`NodeCallbacks` that make chat models stream (LangChain streams a model
    when a handler of this kind is attached): used when the run streams ``messages`` or
    events, as LangGraph attaches its streaming handlers then only. Otherwise a model is
    called with ``ainvoke`` unstreamed, as on LangGraph (some models give other results
    when streamed: a fake chat model streams no tool calls)."""

    # -- streaming handler protocol (outputs pass through unchanged) ----------------------

    def tap_output_aiter(self, run_id: uuid.UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        return output

    def tap_output_iter(self, run_id: uuid.UUID, output: Iterator[T]) -> Iterator[T]:
        return output


def _manager_state(ctx: NodeContext, user_callbacks: Any) -> dict[str, Any]:
    handler = ctx.langchain
    if handler is None:
        if ctx.run_id is None:
            ctx.run_id = new_id()
        handler = ctx.langchain = NodeCallbacks(ctx)
    tags = ["seq:step:1", *ctx.run.opts.cfg.user_tags]
    metadata = ctx.event_metadata()  # checkpoint_ns: copied from configurable by ensure_config
    inherited: list[Any] = []
    if isinstance(user_callbacks, Sequence):
        inherited = [h for h in user_callbacks if isinstance(h, BaseCallbackHandler)]
    elif user_callbacks is not None and hasattr(user_callbacks, "handlers"):
        inherited = list(user_callbacks.handlers)
    # A subgraph's node inherits the handler of the node that runs the subgraph: this
    # node's handler takes its place (it streams to the same output, under the
    # subgraph's namespace), else every token, tool event and astream_events event of
    # a runnable inside a subgraph would be sent twice, once with the parent's namespace.
    handlers: list[Any] = [handler, *(h for h in inherited if not isinstance(h, NodeCallbacks))]
    return {
        "handlers": handlers,
        "inheritable_handlers": list(handlers),
        "parent_run_id": handler.node_run,
        "tags": tags,
        "inheritable_tags": list(ctx.run.opts.cfg.user_tags),  # seq:step:1 is the node's own
        "metadata": metadata,
        "inheritable_metadata": dict(metadata),
    }


def is_runnable(value: Any) -> bool:
    """Whether a node's result is a LangChain ``Runnable`` (LangGraph invokes it)."""
    return isinstance(value, Runnable)


async def call_runnable(runnable: Any, node_input: Any, ctx: NodeContext) -> Any:
    """Run a node that is a Runnable (:func:`._langgraph_nodes.call_runnable`), its
    callback handler made first, on the event loop's thread: the threads LangChain
    starts (``ToolNode``'s executor) are not anyio's and reach the loop through it."""
    if ctx.langchain is None:
        if ctx.run_id is None:
            ctx.run_id = new_id()
        ctx.langchain = NodeCallbacks(ctx)
    return await _call_runnable(runnable, node_input, ctx)


def callbacks_for(ctx: NodeContext, user_callbacks: Any = None) -> AsyncCallbackManager:
    """The ``callbacks`` of a node's config: a manager whose parent run is the node."""
    return _NodeManager(ctx, user_callbacks)


def _state_fields(item: Any) -> list[Any] | None:
    """The field values of a pydantic model or a dataclass instance, else None."""
    model_fields = getattr(type(item), "model_fields", None)
    if isinstance(model_fields, dict):
        return [getattr(item, k, None) for k in model_fields]
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return [getattr(item, f.name) for f in dataclasses.fields(item)]
    return None


def new_messages(value: Any, seen: set[str], *, assign_ids: bool = False) -> list[BaseMessage]:
    """The messages in a node's input or output (top level, or in a list or dict value, or
    in a field of a pydantic or dataclass state) whose ids are not in ``seen``; their ids
    are added to ``seen``.

    ``assign_ids`` (a node's output, about to be streamed): a message without an id gets
    one first, as LangGraph's handler gives it: the state then holds the message with that
    id, so the subgraph node that returns it again does not stream it a second time."""
    found: list[BaseMessage] = []

    def visit(item: Any, depth: int) -> None:
        if isinstance(item, BaseMessage):
            if item.id is None and assign_ids:
                item.id = str(uuid.uuid4())
            if item.id is None or item.id not in seen:
                found.append(item)
                if item.id is not None:
                    seen.add(item.id)
        elif depth < 2 and isinstance(item, dict):
            for v in item.values():
                visit(v, depth + 1)
        elif depth < 2 and isinstance(item, list | tuple):
            for v in item:
                visit(v, depth + 1)
        elif depth == 0 and (fields := _state_fields(item)) is not None:
            for v in fields:
                visit(v, depth + 1)

    visit(value, 0)
    return found


class _NodeConfig(dict[str, Any]):
    """The node's config as LangChain's context variable holds it: filled from
    ``ctx.config`` on first read, so nodes that call no LangChain object never build it."""

    __slots__ = ("_ctx",)

    _ctx: NodeContext | None
    """The node whose config fills it (set right after ``_NodeConfig()``: no Python
    ``__init__`` on this per-node path); None once filled."""

    def _fill(self) -> None:
        ctx = self._ctx
        if ctx is not None:
            self._ctx = None
            dict.update(self, ctx.config)

    def __len__(self) -> int:
        self._fill()
        return dict.__len__(self)

    def __iter__(self) -> Iterator[str]:
        self._fill()
        return dict.__iter__(self)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return dict.__contains__(self, key)

    def __getitem__(self, key: str) -> Any:
        self._fill()
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        self._fill()
        return dict.get(self, key, default)

    def items(self) -> Any:
        self._fill()
        return dict.items(self)

    def keys(self) -> Any:
        self._fill()
        return dict.keys(self)

    def values(self) -> Any:
        self._fill()
        return dict.values(self)

    def copy(self) -> dict[str, Any]:
        self._fill()
        return dict(self)


def enter_node(ctx: NodeContext, node_input: Any) -> tuple[Any, set[str] | None]:
    """Make the node's config the one LangChain runnables inherit (as LangGraph does), and
    note the ids of the messages the node got, which are not new when it returns them.

    With ``callbacks`` in the run's config (a tracer, a handler), the node is a chain run
    of theirs, as in LangGraph: its start and end (or error) reach them, and the runs of
    the LangChain objects it calls are its children."""
    config = _NodeConfig()
    config._ctx = ctx
    token = var_child_runnable_config.set(config)  # type: ignore[arg-type]
    run = ctx.run
    stream = run.stream
    if stream.output is not None and getattr(run, _LOOP, None) is None:
        setattr(run, _LOOP, anyio.lowlevel.current_token())
    seen: set[str] | None = None
    if "messages" in stream.modes:
        seen = _seen_in_run(run)
        new_messages(node_input, seen)
    policy = ctx.task.node.trace_policy
    if not run.opts.cfg.has_callbacks:
        if policy is not None:  # as LangGraph: the processors run, with nobody to tell
            _recorded(node_input, policy.process_inputs)
        return (token, None, policy, ctx), seen  # no handler to tell: the common case
    return (token, _start_node_run(ctx, node_input, policy), policy, ctx), seen


_LOOP = "_scopegraph_loop_token"
"""The attribute of a streamed ``Run`` holding its event loop's token, taken on the
loop's thread when its first node starts: a node's handler made in a thread anyio did
not start (LangChain runs a sync tool's ``ainvoke`` in asyncio's executor) emits
through it."""

_SEEN = "_scopegraph_seen_messages"
"""The attribute of a root ``Run`` holding the ids of the messages its nodes (and its
subgraphs' nodes) got or streamed: a node's returned message is new to the ``messages``
stream only if none of them did (LangGraph's handler keeps one such set per run)."""


def _seen_in_run(run: Any) -> set[str]:
    parent = run.opts.parent
    while parent is not None:
        run = parent.run
        parent = run.opts.parent
    seen: set[str] | None = getattr(run, _SEEN, None)
    if seen is None:
        seen = set()
        setattr(run, _SEEN, seen)
    return seen


def _recorded(value: Any, process: Any) -> Any:
    """What a tracer records of ``value`` under a ``TracePolicy`` processor: its result,
    or ``value`` itself when there is none or it raised (fail-open, as LangGraph)."""
    if process is None:
        return value
    try:
        return process(value)
    except Exception:
        logger.exception("TracePolicy processor raised; the tracer records the real value")
        return value


def _split_handlers(manager: M) -> tuple[M, M]:
    """``manager`` as two: its tracers (which record what a ``TracePolicy`` makes of a
    node's payloads) and every other handler (which gets the real payloads). A streaming
    tracer (``astream_events``, ``astream_log``) feeds the caller's own stream: not a
    tracer here, as in LangGraph."""
    tracers, others = copy.copy(manager), copy.copy(manager)
    tracers.handlers = [
        h
        for h in manager.handlers
        if isinstance(h, BaseTracer) and _StreamingCallbackHandler not in type(h).__mro__
    ]
    others.handlers = [h for h in manager.handlers if h not in tracers.handlers]
    return others, tracers


_GRAPH_RUN = "_scopegraph_callback_run"
"""The attribute of a root ``Run`` holding its chain run (the node runs' parent)."""


def _user_callbacks(run: Any) -> Any:
    callbacks = run.opts.cfg.config.get("callbacks")
    if isinstance(callbacks, _NodeManager):  # a subgraph's: its parent node's manager
        callbacks = callbacks._user_callbacks
    return callbacks


def _start_node_run(
    ctx: NodeContext, node_input: Any, policy: TracePolicy | None
) -> CallbackManagerForChainRun | None:
    user_callbacks = _user_callbacks(ctx.run)
    if not user_callbacks:
        return None
    if ctx.run_id is None:
        ctx.run_id = new_id()
    manager = CallbackManager.configure(
        inheritable_callbacks=user_callbacks,
        inheritable_tags=list(ctx.run.opts.cfg.user_tags),
        local_tags=[f"graph:step:{ctx.run.step}"],
        inheritable_metadata=ctx.metadata,
    )
    parent = ctx.run.opts.parent
    graph_run = getattr(ctx.run, _GRAPH_RUN, None)
    caller = task_caller.get()
    if caller is not None and caller.run_id is not None:
        manager.parent_run_id = uuid.UUID(caller.run_id)  # a task call: under its caller
    elif parent is not None and parent.run_id is not None:
        manager.parent_run_id = uuid.UUID(parent.run_id)  # a subgraph's node: under its node
    elif graph_run is not None:
        manager.parent_run_id = graph_run.run_id
    run_id = uuid.UUID(ctx.run_id)
    name = ctx.task.name
    recorded = node_input if policy is None else _recorded(node_input, policy.process_inputs)
    if recorded is node_input:
        return manager.on_chain_start(None, node_input, run_id=run_id, name=name)
    others, tracers = _split_handlers(manager)
    node_run = others.on_chain_start(None, node_input, run_id=run_id, name=name)
    tracers.on_chain_start(None, recorded, run_id=run_id, name=name)
    node_run.handlers = manager.handlers
    return node_run


def enter_run(run: Any) -> CallbackManagerForChainRun | None:
    """A root run is a chain run of the config's callbacks (the graph's, as in
    LangGraph), whose children are its nodes."""
    user_callbacks = _user_callbacks(run)
    if not user_callbacks:
        return None
    cfg = run.opts.cfg
    manager = CallbackManager.configure(
        inheritable_callbacks=user_callbacks,
        inheritable_tags=list(cfg.user_tags),
        inheritable_metadata=dict(cfg.user_metadata),
    )
    graph_run = manager.on_chain_start(
        None, run.input, run_id=uuid.UUID(run.run_id), name=cfg.run_name
    )
    setattr(run, _GRAPH_RUN, graph_run)
    return graph_run


async def graph_lifecycle(run: Any, kind: str) -> None:
    """A root run with ``callbacks`` resumes (``kind="resume"``) or stops at interrupts
    (``"interrupt"``): the config's graph callback handlers hear of it (LangGraph's
    ``on_resume`` / ``on_interrupt``)."""
    handlers = graph_handlers(_user_callbacks(run))
    if not handlers:
        return
    persistence = run.persistence
    checkpoint_id = "" if persistence is None else persistence.checkpoint_id or ""
    run_id = uuid.UUID(run.run_id)
    event: GraphInterruptEvent | GraphResumeEvent
    ns = run.opts.checkpoint_ns
    if kind == "resume":  # a subgraph's too, under its namespace path
        event = GraphResumeEvent(
            run_id, "pending", checkpoint_id, tuple(ns.split("|")) if ns else ()
        )
        method = "on_resume"
    else:
        status: Any = run.interrupt_status
        event = GraphInterruptEvent(run_id, status, checkpoint_id, (), tuple(run.interrupts))
        method = "on_interrupt"
    await adispatch(handlers, method, event)


def exit_run(token: Any, output: Any, error: BaseException | None) -> None:
    """The root run's chain run ends."""
    if token is None:
        return
    if error is not None:
        token.on_chain_error(error)
    else:
        token.on_chain_end(output)


def exit_node(token: Any, output: Any = None, error: BaseException | None = None) -> None:
    """Called after the node ran, on every path: the node's chain run ends."""
    context_token, node_run, policy, ctx = token
    var_child_runnable_config.reset(context_token)
    if error is not None:
        if node_run is not None:
            node_run.on_chain_error(error)
        return
    handler = ctx.langchain
    if handler is not None and handler.pushed:
        _add_pushed_writes(ctx, handler.pushed)
    recorded = output if policy is None else _recorded(output, policy.process_outputs)
    if node_run is None:
        return
    if recorded is output:
        node_run.on_chain_end(output)
        return
    others, tracers = _split_handlers(node_run)
    tracers.on_chain_end(recorded)  # tracers first, as LangGraph: no tracer run left open
    others.on_chain_end(output)


def _add_pushed_writes(ctx: NodeContext, pushed: list[tuple[int, str, Any]]) -> None:
    """The node's ``push_message()`` writes come first among its writes (LangGraph sends
    them as they are pushed); those of a failed attempt of a retried node are dropped with
    its other writes, and so is a key the state does not have, as a returned write to it
    is."""
    task = ctx.task
    spec = ctx.run.opts.spec
    last = 0 if ctx.attempt is None else ctx.attempt.number
    writes = [(k, v) for n, k, v in pushed if n == last and k in spec.reducers]
    pushed.clear()
    if writes:
        handler = ctx.langchain
        assert handler is not None
        handler.returned = task.update  # the node's own update, for the messages stream
        task.writes = [*writes, *task.writes]
        task.update = _algo.updates_chunk(spec, task.writes)


def emit_output_messages(ctx: NodeContext, output: Any, seen: set[str]) -> None:
    """The ``messages`` stream gets the messages a node returned that no model streamed."""
    handler = ctx.langchain
    if handler is not None:
        seen |= handler.seen
        if handler.returned is not _NOTHING:  # the node pushed messages: what it returned
            output = handler.returned
    found = new_messages(output, seen, assign_ids=True)
    if found:
        stream = ctx.run.stream
        metadata = ctx.event_metadata()
        for message in found:
            stream.sink(stream.ns, "messages", (message, metadata))

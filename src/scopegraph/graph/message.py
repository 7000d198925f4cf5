"""``add_messages`` and ``MessagesState``: LangGraph's message list reducer and state.

Needs langchain_core (``pip install 'scopegraph[langchain]'``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypedDict

from .._context import current_node

try:
    from langchain_core.messages import (
        AnyMessage,
        BaseMessage,
        BaseMessageChunk,
        RemoveMessage,
        convert_to_messages,
        convert_to_openai_messages,
        message_chunk_to_message,
    )
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "add_messages and MessagesState need langchain_core: pip install 'scopegraph[langchain]'"
    ) from exc

__all__ = ("REMOVE_ALL_MESSAGES", "MessagesState", "add_messages", "push_message")

REMOVE_ALL_MESSAGES = "__remove_all__"
"""``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` clears the list (then appends what follows)."""

Messages = list[AnyMessage] | AnyMessage | Sequence[Any] | Any


def _as_messages(value: Messages) -> list[BaseMessage]:
    items: Any = value if isinstance(value, list | tuple) else [value]
    messages = []
    for message in convert_to_messages(items):
        if isinstance(message, BaseMessageChunk):
            message = message_chunk_to_message(message)
        messages.append(message)
    return messages


def add_messages(
    left: Messages | None = None,
    right: Messages | None = None,
    *,
    format: Literal["langchain-openai"] | None = None,
) -> Any:
    """Merge ``right`` into ``left`` by message id, as LangGraph does.

    Messages (or dicts, tuples and strings LangChain can convert) without an id get a new
    one; a message whose id is already in ``left`` replaces it; ``RemoveMessage(id=...)``
    deletes that message (an unknown id is an error, a later message with that id brings
    it back); ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` drops everything before it.

    ``format="langchain-openai"`` returns the messages with their content in OpenAI's
    format. Called with only ``format=``, it returns the reducer to annotate a key with::

        messages: Annotated[list, add_messages(format="langchain-openai")]
    """
    if left is None and right is None:
        return functools.partial(_merge, format=format)
    if left is None or right is None:
        raise ValueError(
            "Must specify non-null arguments for both 'left' and 'right'. Only "
            f"received: '{'left' if left is not None else 'right'}'."
        )
    return _merge(left, right, format=format)


def _merge(left: Messages, right: Messages, *, format: str | None = None) -> list[BaseMessage]:
    old = _as_messages(left)
    new = _as_messages(right)
    for message in old:
        if message.id is None:
            message.id = str(uuid.uuid4())
    start = 0
    for index, message in enumerate(new):
        if message.id is None:
            message.id = str(uuid.uuid4())
        elif isinstance(message, RemoveMessage) and message.id == REMOVE_ALL_MESSAGES:
            start = index + 1
    if start:
        return _formatted(new[start:], format)
    merged = list(old)
    position = {m.id: i for i, m in enumerate(merged)}
    removed: set[Any] = set()
    for message in new:
        at = position.get(message.id)
        if at is not None:
            if isinstance(message, RemoveMessage):
                removed.add(message.id)
            else:
                removed.discard(message.id)
                merged[at] = message
        elif isinstance(message, RemoveMessage):
            raise ValueError(
                f"Attempting to delete a message with an ID that doesn't exist ('{message.id}')"
            )
        else:
            position[message.id] = len(merged)
            merged.append(message)
    if removed:
        merged = [m for m in merged if m.id not in removed]
    return _formatted(merged, format)


def _formatted(messages: list[BaseMessage], format: str | None) -> list[BaseMessage]:
    if format is None:
        return messages
    if format == "langchain-openai":
        return list(convert_to_messages(convert_to_openai_messages(messages)))
    raise ValueError(f"Unrecognized {format=}. Expected one of 'langchain-openai', None.")


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged with :func:`add_messages`."""

    messages: Annotated[list[AnyMessage], add_messages]


def push_message(
    message: BaseMessage | BaseMessageChunk | Any, *, state_key: str | None = "messages"
) -> BaseMessage:
    """Send a message to the ``messages`` stream now, from inside a node (LangGraph's).

    With a ``state_key`` (``"messages"`` by default) the message is also written to that
    key of the state, through its reducer, when the node returns (before the node's own
    writes); ``state_key=None`` only streams it. The message needs an id (it is how the
    stream and ``add_messages`` tell messages apart). Returns the message, converted
    (a dict, a tuple or a string becomes a LangChain message).

    Raises:
        ValueError: the message has no id: give it one (``AIMessage(..., id="...")``).
        ContextError: called outside a node.
    """
    ctx = current_node(what="push_message()")
    converted: BaseMessage = next(iter(convert_to_messages([message])))
    if converted.id is None:
        raise ValueError("Message ID is required")
    callbacks = ctx.config.get("callbacks")
    handler = ctx.langchain
    if handler is None and callbacks is not None:
        callbacks.handlers  # noqa: B018 - builds the node's LangChain handler
        handler = ctx.langchain
    if handler is None:  # pragma: no cover - the LangChain integration is loaded here
        raise RuntimeError("push_message() needs scopegraph's LangChain integration")
    handler.push_message(converted, state_key)
    return converted

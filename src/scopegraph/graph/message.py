"""``add_messages`` and ``MessagesState``: LangGraph's message list reducer and state.

Needs langchain_core (``pip install 'scopegraph[langchain]'``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, TypedDict

try:
    from langchain_core.messages import (
        AnyMessage,
        BaseMessage,
        BaseMessageChunk,
        RemoveMessage,
        convert_to_messages,
        message_chunk_to_message,
    )
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "add_messages and MessagesState need langchain_core: pip install 'scopegraph[langchain]'"
    ) from exc

__all__ = ("REMOVE_ALL_MESSAGES", "MessagesState", "add_messages")

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


def add_messages(left: Messages, right: Messages) -> list[BaseMessage]:
    """Merge ``right`` into ``left`` by message id, as LangGraph does.

    Messages (or dicts, tuples and strings LangChain can convert) without an id get a new
    one; a message whose id is already in ``left`` replaces it; ``RemoveMessage(id=...)``
    deletes that message (an unknown id is an error); ``RemoveMessage(id=REMOVE_ALL_MESSAGES)``
    drops everything before it.
    """
    old = _as_messages(left)
    new = _as_messages(right)
    for message in old + new:
        if message.id is None:
            message.id = str(uuid.uuid4())
    for index in range(len(new) - 1, -1, -1):
        message = new[index]
        if isinstance(message, RemoveMessage) and message.id == REMOVE_ALL_MESSAGES:
            return new[index + 1 :]
    merged = list(old)
    position = {m.id: i for i, m in enumerate(merged)}
    removed: set[str] = set()
    for message in new:
        at = position.get(message.id)
        if isinstance(message, RemoveMessage):
            if at is None:
                raise ValueError(
                    f"RemoveMessage(id={message.id!r}): no message with that id in the list"
                )
            removed.add(str(message.id))
            continue
        if at is None:
            position[message.id] = len(merged)
            merged.append(message)
        else:
            merged[at] = message
    return [m for m in merged if m.id not in removed]


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged with :func:`add_messages`."""

    messages: Annotated[list[AnyMessage], add_messages]

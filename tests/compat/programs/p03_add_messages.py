"""The ``add_messages`` reducer: appends, converts dicts / tuples / strings, assigns ids,
replaces a message with the same id, deletes with ``RemoveMessage`` and clears with
``REMOVE_ALL_MESSAGES``; on its own and as the reducer of a graph's state (LangGraph
docs: "Working with messages", "Delete messages")."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict, cast

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.graph import END, START, StateGraph, add_messages
from langgraph.graph.message import REMOVE_ALL_MESSAGES

FEATURE = "add_messages: append, convert, replace by id, RemoveMessage, REMOVE_ALL_MESSAGES"


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def merge(left: Any, right: Any) -> list[Any]:
    """``add_messages(left, right)``, typed loosely: it takes lists of message-like values."""
    return cast(list[Any], add_messages(left, right))


def brief(messages: Any) -> list[tuple[str, Any, Any]]:
    return [(m.type, m.content, m.id) for m in messages]


async def reply(state: State) -> dict[str, Any]:
    return {"messages": [AIMessage(f"{len(state['messages'])} messages so far")]}


async def trim(state: State) -> dict[str, Any]:
    # Keep the last two messages (LangGraph docs: "Delete messages").
    return {"messages": [RemoveMessage(id=str(m.id)) for m in state["messages"][:-2]]}


async def main() -> Any:
    history = merge([HumanMessage("hi", id="1")], [AIMessage("hello", id="2")])
    converted = merge(
        history,
        [
            {"role": "user", "content": "as a dict", "id": "3"},
            ("ai", "as a tuple"),
        ],
    )
    single = merge(converted, HumanMessage("one message, not a list", id="4"))
    replaced = merge(single, [AIMessage("hello again", id="2")])
    removed = merge(replaced, [RemoveMessage(id="1")])
    cleared = merge(removed, [RemoveMessage(id=REMOVE_ALL_MESSAGES), HumanMessage("new")])
    try:
        merge(cleared, [RemoveMessage(id="no-such-id")])
        unknown: Any = "no error"
    except ValueError as exc:
        unknown = type(exc).__name__

    builder = StateGraph(State)
    builder.add_node("reply", reply)
    builder.add_node("trim", trim)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", "trim")
    builder.add_edge("trim", END)
    graph = builder.compile()
    inputs: Any = {"messages": [("user", "one"), ("ai", "two"), ("user", "three")]}
    return {
        "history": brief(history),
        "converted": brief(converted),
        "single": brief(single),
        "replaced": brief(replaced),
        "removed": brief(removed),
        "cleared": [(m.type, m.content) for m in cleared],
        "remove_unknown_id": unknown,
        "graph": brief((await graph.ainvoke(inputs))["messages"]),
        "graph_updates": [c async for c in graph.astream(inputs)],
    }

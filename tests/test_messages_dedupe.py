"""The ``messages`` stream sends a message a node returns only if no node of the run
(its subgraphs' included) got it as input or streamed it already: LangGraph keeps one
such set per run. A subgraph with an interrupt, resumed: the parent's subgraph node ends
with the subgraph's whole state, whose earlier messages must not come again. asyncio
and trio."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.graph import START, StateGraph
from scopegraph.graph.message import add_messages
from scopegraph.types import Command, interrupt

pytestmark = pytest.mark.anyio


class State(pydantic.BaseModel):
    messages: Annotated[list[AnyMessage], add_messages] = pydantic.Field(default_factory=list)


def _graph() -> Any:
    saver = InMemorySaver()

    def proposal(state: State) -> Command[Literal["approval"]]:
        return Command(goto="approval", update={"messages": [AIMessage("Proposal", id="p")]})

    def approval(state: State) -> dict[str, Any]:
        answer = interrupt("approve?")
        return {"messages": [HumanMessage(answer, id="answer")]}

    sub = (
        StateGraph(State)
        .add_node("proposal", proposal)
        .add_node("approval", approval)
        .add_edge(START, "proposal")
        .compile(checkpointer=saver)
    )

    def finalize(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage("Final", id="final")]}

    return (
        StateGraph(State)
        .add_node("sub", sub)
        .add_node("finalize", finalize)
        .add_edge(START, "sub")
        .add_edge("sub", "finalize")
        .compile(checkpointer=saver)
    )


async def _ids(graph: Any, value: Any, config: Any) -> list[str]:
    return [
        chunk[0].id
        async for _, chunk in graph.astream(value, config, stream_mode="messages", subgraphs=True)
    ]


async def test_a_resumed_subgraph_does_not_stream_its_earlier_messages_again(
    anyio_backend: str,
) -> None:
    graph = _graph()
    config: Any = {"configurable": {"thread_id": "t"}}
    first = await _ids(graph, {"messages": [HumanMessage("go", id="go")]}, config)
    assert first == ["p"]
    second = await _ids(graph, Command(resume="yes"), config)
    assert second == ["answer", "final"]  # "p" was in the subgraph node's input

"""A compiled graph composed with LangChain runnables (``graph | runnable``,
``{...} | graph``), as LangGraph's graphs are: the chain's ``invoke`` returns the graph's
result, its ``stream`` the graph's chunks. The async forms run on asyncio only: a
LangChain chain's ``ainvoke`` uses asyncio's event loop itself (it fails on trio with or
without scopegraph, see tests/test_langchain_dropin.py)."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from scopegraph.graph import START, StateGraph


class State(TypedDict):
    text: str


def _graph() -> Any:
    def first(state: State) -> State:
        return {"text": state["text"] + " one"}

    def second(state: State) -> State:
        return {"text": state["text"] + " two"}

    return (
        StateGraph(State)
        .add_node("first", first)
        .add_node("second", second)
        .add_edge(START, "first")
        .add_edge("first", "second")
        .compile()
    )


def test_graph_then_runnable() -> None:
    chain = _graph() | RunnableLambda(lambda out: out["text"].upper())
    assert chain.invoke({"text": "go"}) == "GO ONE TWO"
    passthrough = _graph() | RunnablePassthrough()
    assert list(passthrough.stream({"text": "go"})) == [
        {"first": {"text": "go one"}},
        {"second": {"text": "go one two"}},
    ]


def test_dict_then_graph() -> None:
    chain = {"text": RunnableLambda(lambda s: s.strip())} | _graph()
    assert chain.invoke("  go  ") == {"text": "go one two"}


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_chain(anyio_backend: str) -> None:
    chain = _graph() | RunnablePassthrough()
    assert await chain.ainvoke({"text": "go"}) == {"text": "go one two"}
    chunks = [chunk async for chunk in chain.astream({"text": "go"})]
    assert chunks == [{"first": {"text": "go one"}}, {"second": {"text": "go one two"}}]

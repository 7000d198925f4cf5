"""``astream_events(version="v1")``: LangChain's deprecated event format, as LangGraph
serves it (it is LangChain's ``Runnable.astream_events``, built on ``astream_log``).

The events are v2's with these differences: a ``LangChainDeprecationWarning``; no event
has ``parent_ids``; the root's events carry the config's own ``metadata`` (not
``ls_integration``, not the thread id); the root's end output is its streamed chunks
summed with ``+`` where they add, else the last one; a chat model's or LLM's end output
is the whole ``LLMResult`` and a retriever's ``{"documents": [...]}``. The compat program
``p62_astream_events_v1`` compares a graph's v1 events with LangGraph's, field by field.
"""

from __future__ import annotations

import warnings
from typing import Any, TypedDict

import pytest
from langchain_core._api.deprecation import LangChainDeprecationWarning
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever

from scopegraph import START, StateGraph, get_stream_writer
from scopegraph.func import entrypoint, task

pytestmark = pytest.mark.anyio

ASYNCIO_ONLY = pytest.mark.parametrize("anyio_backend", ["asyncio"])
"""LangChain's async chat models and retrievers gather with asyncio."""


class State(TypedDict):
    out: int


@task
async def double(x: int) -> int:
    return x * 2


async def node(state: State) -> State:
    get_stream_writer()("a")
    get_stream_writer()("b")
    return {"out": await double(state["out"])}


def _inner() -> Any:
    return StateGraph(State).add_node("node", node).add_edge(START, "node").compile()


def _outer() -> Any:
    return StateGraph(State).add_node("inner", _inner()).add_edge(START, "inner").compile()


async def _events(graph: Any, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LangChainDeprecationWarning)
        return [e async for e in graph.astream_events(*args, **kwargs)]


async def test_v1_warns_as_langchain_does() -> None:
    with pytest.warns(LangChainDeprecationWarning, match="version='v1' is deprecated"):
        events = [e async for e in _inner().astream_events({"out": 1}, version="v1")]
    assert events[-1]["event"] == "on_chain_end"


async def test_v1_events_have_no_parent_ids_and_the_root_its_own_metadata() -> None:
    config: Any = {"metadata": {"m": 1}, "configurable": {"thread_id": "t"}, "tags": ["x"]}
    v1 = await _events(_outer(), {"out": 1}, config, version="v1")
    v2 = await _events(_outer(), {"out": 1}, config, version="v2")
    assert [(e["event"], e["name"]) for e in v1] == [(e["event"], e["name"]) for e in v2]
    names = {e["name"] for e in v1}
    assert {"LangGraph", "inner", "node", "double"} <= names
    assert all(e["parent_ids"] == [] for e in v1)
    assert any(e["parent_ids"] for e in v2)  # (v2 nests the subgraph, node and task)
    roots = [e for e in v1 if e["run_id"] == v1[0]["run_id"]]
    assert [e["event"] for e in roots] == ["on_chain_start", "on_chain_stream", "on_chain_end"]
    assert all(e["metadata"] == {"m": 1} and e["tags"] == ["x"] for e in roots)
    # The subgraph's own run is not the root: its metadata is its node's.
    nested = [e for e in v1 if e["name"] == "LangGraph" and e not in roots]
    assert nested
    assert all(e["metadata"]["langgraph_node"] == "inner" for e in nested)
    v2_root = next(e for e in v2 if e["name"] == "LangGraph")
    assert v2_root["metadata"]["thread_id"] == "t"
    # Below the root, v1 carries v2's data unchanged.
    assert [e["data"] for e in v1 if e["name"] == "node"] == [
        e["data"] for e in v2 if e["name"] == "node"
    ]


async def test_v1_root_output_is_its_chunks_summed_or_the_last() -> None:
    updates = await _events(_inner(), {"out": 1}, version="v1")
    chunks = [e["data"]["chunk"] for e in updates if e["event"] == "on_chain_stream"]
    chunks = [c for c in chunks if isinstance(c, dict) and "node" in c]
    assert updates[-1]["data"] == {"output": chunks[-1]} == {"output": {"node": {"out": 2}}}
    custom = await _events(_inner(), {"out": 1}, version="v1", stream_mode="custom")
    assert custom[-1]["data"] == {"output": "ab"}


async def test_v1_of_an_entrypoint(anyio_backend: str) -> None:
    @entrypoint()
    async def workflow(x: int) -> int:
        return await double(x) + 1

    events = await _events(workflow, 3, version="v1")
    expected = [
        ("on_chain_start", "LangGraph"),
        ("on_chain_start", "workflow"),
        ("on_chain_start", "double"),
        ("on_chain_stream", "double"),
        ("on_chain_end", "double"),
        ("on_chain_stream", "workflow"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "workflow"),
        ("on_chain_stream", "LangGraph"),
        ("on_chain_end", "LangGraph"),
    ]
    seen = [(e["event"], e["name"]) for e in events]
    if anyio_backend == "asyncio":
        assert seen == expected
    else:  # trio runs the woken entrypoint and the finished task in either order
        assert sorted(seen) == sorted(expected)
    assert events[-1]["data"] == {"output": {"workflow": 7}}


class _Docs(BaseRetriever):
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [Document(page_content=query)]


@ASYNCIO_ONLY
async def test_v1_model_and_retriever_outputs_are_langchains_records() -> None:
    async def ask(state: State) -> State:
        model = GenericFakeChatModel(messages=iter([AIMessage(content="hi there")]))
        await model.ainvoke("hi")
        await _Docs().ainvoke("q")
        return {"out": 1}

    graph = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile()
    v1 = await _events(graph, {"out": 0}, version="v1")
    v2 = await _events(graph, {"out": 0}, version="v2")
    (model_end,) = [e for e in v1 if e["event"] == "on_chat_model_end"]
    output = model_end["data"]["output"]
    assert output["type"] == "LLMResult"
    assert output["llm_output"] is None
    (generation,) = output["generations"][0]
    assert generation["type"] == "ChatGeneration"
    assert generation["text"] == "hi there"
    assert isinstance(generation["message"], AIMessage)
    assert generation["message"].content == "hi there"
    (v2_end,) = [e for e in v2 if e["event"] == "on_chat_model_end"]
    assert isinstance(v2_end["data"]["output"], AIMessage)
    (retriever_end,) = [e for e in v1 if e["event"] == "on_retriever_end"]
    assert retriever_end["data"]["output"] == {"documents": [Document(page_content="q")]}
    (v2_retriever_end,) = [e for e in v2 if e["event"] == "on_retriever_end"]
    assert v2_retriever_end["data"]["output"] == [Document(page_content="q")]


async def test_another_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"version='v3'\) is not supported.*'v2'.*'v1'"):
        _inner().astream_events({"out": 1}, version="v3")

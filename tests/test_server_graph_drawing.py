"""``GET /assistants/{id}/graph``: the drawable graph, with LangGraph's conditional edges.

LangGraph's server draws a conditional edge from its ``path_map``, else from the
``Literal[...]`` its path function returns, else to every other node and END, each
``conditional: true`` (``data`` carries a path_map key that differs from its node).
"""

from __future__ import annotations

from typing import Literal, TypedDict

import httpx
import pytest

from scopegraph import END, START, StateGraph
from scopegraph.server import create_app

pytestmark = pytest.mark.anyio


class State(TypedDict, total=False):
    x: int


def step(state: State) -> State:
    return {"x": 1}


def route(state: State) -> str:
    return END


def route_literal(state: State) -> Literal["b", "__end__"]:
    return END


def edges_of(drawn: dict[str, object]) -> list[dict[str, object]]:
    edges = drawn["edges"]
    assert isinstance(edges, list)
    return sorted(edges, key=lambda e: (e["source"], e["target"]))


def three_nodes() -> StateGraph:
    builder = StateGraph(State)
    for name in ("a", "b", "c"):
        builder.add_node(name, step)
    builder.add_edge(START, "a")
    builder.add_edge("b", END)
    builder.add_edge("c", END)
    return builder


async def draw(builder: StateGraph) -> dict[str, object]:
    app = create_app({"g": builder.compile()})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/assistants/g/graph")
    assert response.status_code == 200, response.text
    drawn: dict[str, object] = response.json()
    return drawn


async def test_a_conditional_edge_without_path_map_goes_to_every_other_node_and_end() -> None:
    builder = three_nodes()
    builder.add_conditional_edges("a", route)
    assert edges_of(await draw(builder)) == [
        {"source": "__start__", "target": "a"},
        {"source": "a", "target": "__end__", "conditional": True},
        {"source": "a", "target": "b", "conditional": True},
        {"source": "a", "target": "c", "conditional": True},
        {"source": "b", "target": "__end__"},
        {"source": "c", "target": "__end__"},
    ]


async def test_a_conditional_edge_follows_the_literal_its_path_returns() -> None:
    builder = three_nodes()
    builder.add_conditional_edges("a", route_literal)
    drawn = edges_of(await draw(builder))
    assert [e for e in drawn if e["source"] == "a"] == [
        {"source": "a", "target": "__end__", "conditional": True},
        {"source": "a", "target": "b", "conditional": True},
    ]


async def test_a_path_map_labels_its_edges_with_keys_that_differ_from_the_node() -> None:
    builder = three_nodes()
    builder.add_conditional_edges("a", route, {"again": "b", "c": "c", "stop": END})
    drawn = edges_of(await draw(builder))
    assert [e for e in drawn if e["source"] == "a"] == [
        {"source": "a", "target": "__end__", "conditional": True, "data": "stop"},
        {"source": "a", "target": "b", "conditional": True, "data": "again"},
        {"source": "a", "target": "c", "conditional": True},
    ]


def nested(state_graph: type) -> object:
    """A graph whose node ``sub`` runs a two-node subgraph (built with ``state_graph``:
    scopegraph's StateGraph, or LangGraph's for the reference drawing)."""
    inner = state_graph(State)
    inner.add_node("x", step)
    inner.add_node("y", step)
    inner.add_edge(START, "x")
    inner.add_edge("x", "y")
    inner.add_edge("y", END)
    outer = state_graph(State)
    outer.add_node("sub", inner.compile())
    outer.add_node("after", step)
    outer.add_edge(START, "sub")
    outer.add_edge("sub", "after")
    outer.add_edge("after", END)
    return outer


def shape(drawn: dict[str, object]) -> tuple[list[object], list[tuple[object, object]]]:
    nodes, edges = drawn["nodes"], drawn["edges"]
    assert isinstance(nodes, list)
    assert isinstance(edges, list)
    return sorted(n["id"] for n in nodes), sorted((e["source"], e["target"]) for e in edges)


async def test_xray_draws_the_subgraphs_nodes_as_langgraph_does() -> None:
    from langgraph.graph import StateGraph as LangGraphStateGraph

    app = create_app({"g": nested(StateGraph).compile()})  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        flat = (await http.get("/assistants/g/graph")).json()
        deep = {x: (await http.get(f"/assistants/g/graph?xray={x}")).json() for x in ("true", "1")}
        bad = [(await http.get(f"/assistants/g/graph?xray={x}")).status_code for x in ("0", "y")]
    reference = nested(LangGraphStateGraph).compile()  # type: ignore[attr-defined]
    assert shape(flat)[0] == ["__end__", "__start__", "after", "sub"]
    for x, drawn in deep.items():
        expected = reference.get_graph(xray=True if x == "true" else int(x)).to_json()
        assert shape(drawn) == shape(expected)
        assert "sub:x" in shape(drawn)[0]
    assert bad == [422, 422]

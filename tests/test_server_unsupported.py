"""Issue 13 item 8: a request field the server does not implement is refused, never
accepted and silently ignored.

A field of LangGraph's API that would change what happens (a run's ``feedback_keys``,
a subgraph's history by ``checkpoint``...) gets 422 naming it ("not
supported by this server") unless it holds its default or null, which the SDKs send; the
OpenAPI schema marks these fields ``x-scopegraph-supported: false``. A field LangGraph's API
does not know is ignored, as LangGraph's server ignores it. ``checkpoint_during`` (which
LangGraph deprecated for ``durability``) is implemented: ``false`` is ``durability="exit"``.

A real ``scopegraph serve`` process, driven over HTTP and through ``langgraph_sdk``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client

from _server import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("unsupported"), interval=0.001) as s:
        yield s


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def thread_id(http: httpx.Client) -> str:
    return str(http.post("/threads", json={}).json()["thread_id"])


RUN = {"assistant_id": "agent", "input": {"prompt": "hi"}}

REFUSED: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/threads/{tid}/runs/stream", {**RUN, "feedback_keys": ["score"]}, "feedback_keys"),
    ("POST", "/runs/wait", {**RUN, "strict_resume": True}, "strict_resume"),
    ("POST", "/runs", {**RUN, "langsmith_tracer": {"project_name": "p"}}, "langsmith_tracer"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), REFUSED)
def test_a_field_the_server_does_not_implement_is_refused_naming_it(
    http: httpx.Client,
    thread_id: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    response = http.request(method, path.format(tid=thread_id), json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "ValidationError"
    assert f"{field} is not supported by this server" in error["message"]
    # nothing was created or changed by the refused request
    assert http.get(f"/threads/{thread_id}/runs").json() == []


def test_defaults_and_nulls_are_accepted(http: httpx.Client, thread_id: str) -> None:
    nulls: dict[str, Any] = {
        "webhook": None,
        "after_seconds": None,
        "feedback_keys": [],
        "strict_resume": False,
        "langsmith_tracer": None,
        "checkpoint_during": True,
        "a_field_langgraph_does_not_know": {"x": 1},
    }
    response = http.post(f"/threads/{thread_id}/runs/wait", json={**RUN, **nulls})
    assert response.status_code == 200, response.text
    thread = http.post("/threads", json={"ttl": None, "supersteps": [], "if_exists": "raise"})
    assert thread.status_code == 200, thread.text
    search = {"sort_by": "created_at", "sort_order": "desc", "values": None, "select": None}
    assert http.post("/threads/search", json=search).status_code == 200
    history = {"limit": 3, "checkpoint": None, "select": None}
    assert http.post(f"/threads/{thread_id}/history", json=history).status_code == 200
    assert http.patch(f"/threads/{thread_id}", json={"metadata": {}, "ttl": None}).is_success
    state = http.get(f"/threads/{thread_id}/state", params={"subgraphs": "false"})
    assert state.status_code == 200, state.text


def test_checkpoint_during_false_is_durability_exit(http: httpx.Client, thread_id: str) -> None:
    body = {**RUN, "checkpoint_during": False}
    run = http.post(f"/threads/{thread_id}/runs", json=body).json()
    assert run["kwargs"]["durability"] == "exit"
    http.get(f"/threads/{thread_id}/runs/{run['run_id']}/join").raise_for_status()
    sources = [s["metadata"]["source"] for s in http.get(f"/threads/{thread_id}/history").json()]
    assert sources == ["loop"]  # only the last checkpoint is written with durability=exit


def test_the_openapi_schema_says_which_fields_are_not_supported(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    run = schemas["RunCreate"]["properties"]
    assert run["feedback_keys"]["x-scopegraph-supported"] is False
    assert "not supported by this server" in run["feedback_keys"]["description"].lower()
    assert "x-scopegraph-supported" not in run["webhook"]
    assert "x-scopegraph-supported" not in run["input"]
    assert "x-scopegraph-supported" not in schemas["HistoryQuery"]["properties"]["checkpoint"]
    assert "x-scopegraph-supported" not in schemas["ThreadSearch"]["properties"]["values"]
    assert "x-scopegraph-supported" not in schemas["ThreadCreate"]["properties"]["ttl"]


def test_the_sdk_gets_the_refusal_and_its_defaults_work(server: Server) -> None:
    client = get_sync_client(url=server.url, timeout=30)
    try:
        tid = client.threads.create()["thread_id"]
        with pytest.raises(httpx.HTTPStatusError) as refused:
            client.runs.create(
                tid, "agent", input={"prompt": "hi"}, langsmith_tracing={"project_name": "p"}
            )
        assert refused.value.response.status_code == 422
        assert "langsmith_tracer is not supported" in refused.value.response.text
        values = client.runs.wait(tid, "agent", input={"prompt": "hi"})
        assert isinstance(values, dict)
        assert client.runs.list(tid, limit=5)
        assert client.threads.search(limit=5)
        assert client.threads.get_history(tid, limit=2)
        chunks = list(client.runs.stream(tid, "agent", input={"prompt": "hi"}))
        assert chunks[-1].event != "error"
    finally:
        client.close()

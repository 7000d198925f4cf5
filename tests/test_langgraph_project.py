"""A LangGraph project, laid out as LangGraph's docs lay it out (``langgraph new``'s
template with the custom-routes how-to's ``webapp.py``), served unchanged by
``scopegraph serve`` in its folder: ``langgraph.json`` with ``graphs`` (a file and a
module path), ``env`` (a ``.env`` file), ``dependencies`` (folders on ``sys.path``; nothing
is installed), ``http.app`` (a FastAPI app with routes, middleware and a lifespan) and
``http.cors``; a ``langgraph build`` key (``image_distro``) is ignored as ``langgraph dev``
ignores it. The graph is LangGraph's (``from langgraph.graph import ...``): it runs
through the bridge."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import _pg
import _redis
from _cluster import as_url
from _server import running_server

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

GRAPH = '''\
"""The agent: one node that greets, with a prompt from the agent package."""

import os
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from agent.prompts import greeting_for  # found through "dependencies": ["./src"]


class State(TypedDict, total=False):
    name: str
    reply: str


async def respond(state: State) -> State:
    return {"reply": greeting_for(state["name"], os.environ["AGENT_MOOD"])}


builder = StateGraph(State)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()
'''

PROMPTS = """\
def greeting_for(name: str, mood: str) -> str:
    return f"{mood} hello, {name}"
"""

WEBAPP = '''\
"""Custom routes served beside the LangGraph API (http.app)."""

import contextlib

from fastapi import FastAPI, Request

started = []


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI):
    started.append("yes")
    yield


app = FastAPI(lifespan=lifespan)


@app.middleware("http")
async def tag(request: Request, call_next):
    response = await call_next(request)
    response.headers["x-project"] = "demo"
    return response


@app.get("/hello")
def hello() -> dict[str, object]:
    return {"hello": "world", "started": started}


@app.get("/info")
def info() -> dict[str, str]:
    return {"served_by": "webapp"}
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    agent = tmp_path / "src" / "agent"
    agent.mkdir(parents=True)
    (agent / "__init__.py").write_text("")
    (agent / "graph.py").write_text(GRAPH)
    (agent / "prompts.py").write_text(PROMPTS)
    (agent / "webapp.py").write_text(WEBAPP)
    (tmp_path / ".env").write_text("AGENT_MOOD=cheerful\n")
    config = {
        "$schema": "https://langgra.ph/schema.json",
        "dependencies": [".", "./src"],
        "graphs": {"agent": "./src/agent/graph.py:graph", "by_module": "agent.graph:graph"},
        "env": ".env",
        "image_distro": "wolfi",
        "http": {
            "app": "./src/agent/webapp.py:app",
            "cors": {"allow_origins": ["https://ui.example"], "allow_methods": ["*"]},
        },
    }
    (tmp_path / "langgraph.json").write_text(json.dumps(config, indent=2))
    return tmp_path


def test_a_langgraph_dev_project_runs_unchanged(project: Path) -> None:
    with (
        running_server(project, graphs=()) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        found = http.post("/assistants/search", json={}).json()
        assert sorted(a["graph_id"] for a in found) == ["agent", "by_module"]
        for graph in ("agent", "by_module"):
            done = http.post("/runs/wait", json={"assistant_id": graph, "input": {"name": "ada"}})
            assert done.status_code == 200, done.text
            assert done.json()["reply"] == "cheerful hello, ada"  # .env and the prompts module
        # http.app: its routes, its lifespan ran, its middleware around them
        hello = http.get("/hello")
        assert hello.json() == {"hello": "world", "started": ["yes"]}
        assert hello.headers["x-project"] == "demo"
        # ...and around the API's routes too, as on LangGraph's server
        ok = http.get("/ok")
        assert ok.json() == {"ok": True}
        assert ok.headers["x-project"] == "demo"
        # a route of the app shadows the API's route of the same path, as on LangGraph's
        assert http.get("/info").json() == {"served_by": "webapp"}
        # the API documents the app's routes beside its own
        paths = http.get("/openapi.json").json()["paths"]
        assert "/hello" in paths
        assert "/threads/{thread_id}/runs/wait" in paths
        # http.cors: the allowed origin's preflight is answered, another's is not
        headers = {"Origin": "https://ui.example", "Access-Control-Request-Method": "POST"}
        preflight = http.options("/threads", headers=headers)
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
        other = http.options("/threads", headers={**headers, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        # the API's errors keep their bodies (FastAPI's default handlers are not taken)
        missing = http.get("/threads/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        assert set(missing.json()) == {"detail", "error", "message"}


@pytest.mark.timeout(180)
def test_the_project_in_scale_out_with_worker_processes(
    project: Path, pg_dsn: str, redis_url: str
) -> None:
    """``--workers`` starts worker processes that read the same langgraph.json (its
    dependencies and env): the bridged graph is refused in scale-out, so the project
    serves a scopegraph graph there."""
    graph = (project / "src" / "agent" / "graph.py").read_text()
    (project / "src" / "agent" / "graph.py").write_text(
        graph.replace("from langgraph.graph import", "from scopegraph.graph import")
    )
    args = ["--redis", redis_url, "--workers", "1"]
    with (
        running_server(project, graphs=(), db=as_url(pg_dsn), extra_args=args) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        tid = http.post("/threads", json={}).json()["thread_id"]
        body = {"assistant_id": "agent", "input": {"name": "bo"}}
        done = http.post(f"/threads/{tid}/runs/wait", json=body)
        assert done.status_code == 200, done.text
        assert done.json()["reply"] == "cheerful hello, bo"
        run = http.get(done.headers["content-location"]).json()
        assert "/1-" in run["worker"]  # the worker process (host:port/1-pid) ran it
        assert http.get("/hello").json()["hello"] == "world"

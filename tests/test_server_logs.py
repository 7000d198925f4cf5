"""Structured logs (``--log-format json``): one JSON object per line, ``run_id`` and
``thread_id`` on every line emitted while a run executes (the nodes' own lines included),
``request_id`` on the lines of a request (the access log's too), echoed in
``X-Request-ID``."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path
from typing import Any, TypedDict

import httpx
import pytest

from _ops import serving
from _server import running_server
from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import JsonFormatter, ServerSettings, create_app

GRAPH = """
import logging
from typing import TypedDict

from scopegraph import END, START, StateGraph

log = logging.getLogger("app")


class State(TypedDict, total=False):
    n: int


async def talk(state: State) -> State:
    log.warning("node says hi", extra={"step_size": 3})
    return {"n": state.get("n", 0) + 1}


builder = StateGraph(State)
builder.add_node("talk", talk)
builder.add_edge(START, "talk")
builder.add_edge("talk", END)
graph = builder.compile()
"""


@pytest.mark.uvicorn
def test_serve_json_logs_name_the_run_thread_and_request(tmp_path: Path) -> None:
    app_file = tmp_path / "talk.py"
    app_file.write_text(textwrap.dedent(GRAPH))
    args = ["--log-format", "json", "--log-level", "info"]
    with running_server(tmp_path, graphs=[f"talk={app_file}:graph"], extra_args=args) as server:
        tid = httpx.post(f"{server.url}/threads", json={}).json()["thread_id"]
        response = httpx.post(
            f"{server.url}/threads/{tid}/runs/wait",
            json={"assistant_id": "talk", "input": {"n": 0}},
            headers={"X-Request-ID": "req-42"},
            timeout=30,
        )
        assert response.json() == {"n": 1}
        assert response.headers["x-request-id"] == "req-42"
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        other = httpx.get(f"{server.url}/ok")
        generated = other.headers["x-request-id"]
        assert generated
        assert generated != "req-42"
    text = [line for line in server.log().splitlines() if line.strip()]
    # every line is JSON but the two the server prints for people (the playground's URL)
    people = [line for line in text if not line.startswith("{")]
    assert all(line.startswith(("Playground:", "API docs:")) for line in people), people
    lines = [json.loads(line) for line in text if line.startswith("{")]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # "Uvicorn running on"
    assert not any("color_message" in line for line in lines)  # uvicorn's terminal copy
    (said,) = [line for line in lines if line["message"] == "node says hi"]
    assert said["run_id"] == run_id
    assert said["thread_id"] == tid
    assert said["logger"] == "app"
    assert said["level"] == "warning"
    assert said["step_size"] == 3  # a log call's extra fields are kept
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    (wait,) = [line for line in access if "/runs/wait" in line["message"]]
    assert wait["request_id"] == "req-42"
    assert wait["thread_id"] == tid
    oks = [line for line in access if "/ok" in line["message"]]
    assert oks
    assert all(line["request_id"] and "run_id" not in line for line in oks)
    assert generated in [line["request_id"] for line in oks]


class State(TypedDict, total=False):
    n: int


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning")
async def test_run_ids_reach_the_nodes_lines_on_both_backends(
    anyio_backend: str, tmp_path: Path
) -> None:
    """The ids travel in context variables: into the run's task and the nodes' tasks,
    on asyncio and on trio; a line logged outside any run or request has none."""
    log = logging.getLogger("test_server_logs.node")

    async def talk(state: State) -> State:
        log.warning("inside")
        return {"n": state.get("n", 0) + 1}

    builder = StateGraph(State)
    builder.add_node("talk", talk)
    builder.add_edge(START, "talk")
    builder.add_edge("talk", END)
    handler = _Lines()
    log.addHandler(handler)
    try:
        app = create_app(
            {"talk": builder.compile()},
            SqliteSaver(tmp_path / "cp.db"),
            settings=ServerSettings(log_format="json"),
        )
        async with serving(app, anyio_backend) as http:
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            runs = []
            for _ in range(2):
                response = await http.post(
                    f"/threads/{tid}/runs/wait", json={"assistant_id": "talk", "input": {}}
                )
                runs.append(response.headers["content-location"].rsplit("/", 1)[1])
            stateless = await http.post("/runs/wait", json={"assistant_id": "talk", "input": {}})
            assert stateless.json() == {"n": 1}
        log.warning("outside")
    finally:
        log.removeHandler(handler)
    inside = [line for line in handler.lines if line["message"] == "inside"]
    assert [(line["run_id"], line.get("thread_id")) for line in inside[:2]] == [
        (runs[0], tid),
        (runs[1], tid),
    ]
    assert "thread_id" not in inside[2]  # a stateless run has no thread of its own
    assert all(line["request_id"] for line in inside)
    (outside,) = [line for line in handler.lines if line["message"] == "outside"]
    assert not {"run_id", "thread_id", "request_id"} & set(outside)

"""Bad input to the run server: always a 4xx JSON ``{"error", "message"}``, never a 5xx.

One ``scopegraph serve`` process with an API key; plain httpx requests for the named
cases, then a bounded schemathesis run over the server's OpenAPI schema. Synchronous
tests: the server is another process, and nothing here depends on an event loop.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _server import Server, running_server

KEY = "test-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("errors"), api_key=KEY, interval=0.001) as s:
        yield s


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"x-api-key": KEY}, timeout=30) as client:
        yield client


@pytest.fixture
def thread_id(http: httpx.Client) -> str:
    return str(http.post("/threads", json={}).json()["thread_id"])


def expect_error(response: httpx.Response, status: int, error: str, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    # LangGraph's `detail` (what its SDKs show) beside scopegraph's `error` and `message`
    assert set(body) == {"detail", "error", "message"}, body
    assert body["detail"] == body["message"], body
    assert body["error"] == error, body
    for word in words:
        assert word in body["message"], body


def run_body(**overrides: Any) -> dict[str, Any]:
    return {"assistant_id": "agent", "input": {"prompt": "hi"}, **overrides}


def test_api_key_missing_or_wrong(server: Server) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        expect_error(anonymous.post("/threads", json={}), 401, "Unauthorized", "x-api-key")
        expect_error(
            anonymous.post("/threads", json={}, headers={"x-api-key": "nope"}),
            401,
            "Unauthorized",
            "wrong API key",
        )
        assert anonymous.get("/ok").json() == {"ok": True}  # health checks stay open
        assert anonymous.get("/").status_code == 200  # so does the playground page


def test_malformed_json(http: httpx.Client, thread_id: str) -> None:
    response = http.post(
        f"/threads/{thread_id}/runs/wait",
        content=b'{"assistant_id": "agent", ',
        headers={"content-type": "application/json"},
    )
    expect_error(response, 422, "InvalidJSON", "not valid JSON")  # 422 as on LangGraph


def test_unknown_assistant_thread_and_run(http: httpx.Client, thread_id: str) -> None:
    missing = str(uuid.uuid4())
    expect_error(http.get(f"/assistants/{missing}"), 404, "NotFound", missing)
    expect_error(
        http.post(f"/threads/{thread_id}/runs/wait", json=run_body(assistant_id="nope")),
        422,  # neither a graph nor a UUID: 422 as on LangGraph
        "InvalidAssistant",
        "'agent'",  # the message lists the graphs there are
    )
    expect_error(
        http.post(f"/threads/{thread_id}/runs/wait", json=run_body(assistant_id=missing)),
        404,  # an assistant id that names no assistant: 404 as on LangGraph
        "NotFound",
        missing,
    )
    expect_error(http.get(f"/threads/{missing}"), 404, "NotFound", missing)
    expect_error(
        http.post(f"/threads/{missing}/runs/wait", json=run_body()),
        404,
        "NotFound",
        "if_not_exists",
    )
    expect_error(http.get(f"/threads/{thread_id}/runs/{missing}"), 404, "NotFound", missing)
    expect_error(http.post(f"/threads/{thread_id}/runs/{missing}/cancel"), 404, "NotFound", missing)
    expect_error(http.get("/no/such/path"), 404, "NotFound")


def test_non_uuid_ids(http: httpx.Client, thread_id: str) -> None:
    expect_error(http.get("/threads/not-a-uuid"), 422, "InvalidId", "not a UUID")
    expect_error(http.get(f"/threads/{thread_id}/runs/42"), 422, "InvalidId", "not a UUID")
    expect_error(http.post("/threads", json={"thread_id": "abc"}), 422, "InvalidId", "not a UUID")


def test_invalid_stream_mode(http: httpx.Client, thread_id: str) -> None:
    response = http.post(f"/threads/{thread_id}/runs/stream", json=run_body(stream_mode="tokens"))
    expect_error(response, 422, "ValidationError", "stream_mode")
    response = http.post(
        f"/threads/{thread_id}/runs/stream", json=run_body(stream_mode=["values", "nope"])
    )
    expect_error(response, 422, "ValidationError", "stream_mode")


def test_input_failing_the_schema(http: httpx.Client, thread_id: str) -> None:
    expect_error(
        http.post(f"/threads/{thread_id}/runs/wait", json=run_body(input={"prompt": 5})),
        422,
        "InvalidInput",
        "'prompt'",
    )
    expect_error(http.post("/runs/wait", json=run_body(input=None)), 422, "InvalidInput", "null")
    # Nothing was stored by the refused runs.
    assert http.get(f"/threads/{thread_id}/runs").json() == []
    assert http.get(f"/threads/{thread_id}").json()["values"] is None


def test_input_key_not_in_the_schema_is_dropped_as_in_langgraph(
    http: httpx.Client, thread_id: str
) -> None:
    # compile(strict=True) refuses it instead (tests/test_validation.py).
    body = run_body(input={"prompt": "hi", "colour": "red"})
    response = http.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert response.status_code == 200, response.text
    values = http.get(f"/threads/{thread_id}").json()["values"]
    assert values["prompt"] == "hi"
    assert "colour" not in values


def test_oversized_body(http: httpx.Client) -> None:
    big = {"assistant_id": "agent", "input": {"prompt": "x" * (11 * 1024 * 1024)}}
    expect_error(http.post("/runs/wait", json=big), 413, "PayloadTooLarge", "bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"assistant_id": "agent", "input": {"prompt": "'
        for _ in range(11):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    response = http.post(
        "/runs/wait", content=chunks(), headers={"content-type": "application/json"}
    )
    expect_error(response, 413, "PayloadTooLarge", "bytes")


def test_good_requests_still_work(http: httpx.Client, thread_id: str) -> None:
    result = http.post(f"/threads/{thread_id}/runs/wait", json=run_body())
    assert result.status_code == 200
    assert len(result.json()["tokens"]) == 32


@pytest.mark.timeout(600)  # 48 operations: about 45 s alone, more on a busy machine
def test_schemathesis_no_server_errors(server: Server, tmp_path: Path) -> None:
    """A bounded, deterministic fuzz of every operation in /openapi.json (schemathesis'
    examples, coverage and fuzzing phases): no response is a 5xx."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "10",
        "--generation-deterministic",
        "--request-timeout",
        "30",
        "--workers",
        "1",
        "--no-color",
        "--header",
        f"x-api-key: {KEY}",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counts is not None, done.stdout[-3000:]
    assert int(counts[1]) == int(counts[2]) > 500, counts[0]

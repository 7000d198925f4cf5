"""The LangGraph shielded-cleanup bug report, ported to scopegraph.

A FastAPI app streams a graph's custom events to the browser over Server-Sent Events.
The node and the SSE generator both run shielded cleanup when the client goes away
(the "Stop" button, a closed tab, a dropped connection). Under LangGraph the node's
shielded cleanup died with ``CancelledError``; under scopegraph every session prints,
in this order::

    [abc123] Detected Cancel (Inside LangGraph)
    [abc123] Finalize (Inside LangGraph)
    [abc123] Finalize complete (Inside LangGraph)
    [abc123] Detected Cancel (Outside LangGraph)
    [abc123] Finalize (Outside LangGraph)
    [abc123] Finalize Completed (Outside Graph)

Run it with ``python examples/fastapi_sse.py --host 127.0.0.1 --port 8000`` (with the
``server`` extra installed) and open http://127.0.0.1:8000/. Every line is prefixed with
the session id, which the ``/stream`` response also carries in its ``X-Session-Id``
header.

``--server hypercorn-trio`` serves the same app with hypercorn's trio worker instead
(``pip install hypercorn``).

Environment variables (seconds), so that tests can run the demo fast:

- ``SCOPEGRAPH_DEMO_INTERVAL``: pause between two events of the node (default 1.0).
- ``SCOPEGRAPH_DEMO_CLEANUP``: duration of each shielded cleanup (default 1.0).
"""

from __future__ import annotations

import argparse
import os
import pprint
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, TypedDict, cast

import anyio
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sse_starlette import EventSourceResponse

from scopegraph import END, START, RunnableConfig, StateGraph, adispatch_custom_event

INTERVAL = float(os.environ.get("SCOPEGRAPH_DEMO_INTERVAL", "1.0"))
CLEANUP = float(os.environ.get("SCOPEGRAPH_DEMO_CLEANUP", "1.0"))


def say(session_id: str, message: str) -> None:
    """One line of the demo's output, tagged with its session so lines can be grouped."""
    print(f"[{session_id}] {message}", flush=True)


class GraphState(TypedDict):
    session_id: str


async def node(state: GraphState, config: RunnableConfig) -> None:
    session_id = state["session_id"]
    try:
        for i in range(100):
            await adispatch_custom_event(
                name="my_custom_chunk", data={"text": f"Node {i}"}, config=config
            )
            await anyio.sleep(INTERVAL)
    except anyio.get_cancelled_exc_class():
        say(session_id, "Detected Cancel (Inside LangGraph)")
        raise
    finally:
        say(session_id, "Finalize (Inside LangGraph)")

        with anyio.CancelScope(shield=True):
            try:
                await anyio.sleep(CLEANUP)
                say(session_id, "Finalize complete (Inside LangGraph)")
            except BaseException as e:
                say(session_id, f"Exception await (Inside LangGraph):\n{pprint.pformat(e)}")


workflow = StateGraph(GraphState)
workflow.add_node("stream_generator", node)
workflow.add_edge(START, "stream_generator")
workflow.add_edge("stream_generator", END)
app_graph = workflow.compile()


async def sse_generator(session_id: str) -> AsyncGenerator[str, None]:
    say(session_id, f"Session ID: {session_id}")
    initial_state: GraphState = {"session_id": session_id}

    try:
        # aclosing(): when the server closes THIS generator while it is suspended at its
        # own `yield` (GeneratorExit, see below), the inner astream_events generator must
        # be closed right here too, so that the run is cancelled and its cleanup has
        # finished before this generator's own cleanup starts. Without it the inner
        # generator (and the run) would live on until garbage collection.
        async with aclosing(app_graph.astream_events(initial_state, version="v2")) as events:
            async for event in events:
                match event:
                    case {
                        "event": "on_custom_event",
                        "name": "my_custom_chunk",
                        "data": {"text": chunk_text},
                    }:
                        # EventSourceResponse adds the "data: " framing.
                        yield chunk_text
    except (anyio.get_cancelled_exc_class(), GeneratorExit):
        # The client went away. If the response was waiting for the next event, the
        # server's cancellation arrives here as the backend's cancellation exception;
        # if it was sending one, sse-starlette closes this generator with aclose(),
        # which raises GeneratorExit at the `yield`.
        say(session_id, "Detected Cancel (Outside LangGraph)")
        raise

    finally:
        with anyio.CancelScope(shield=True):
            say(session_id, "Finalize (Outside LangGraph)")
            try:
                await anyio.sleep(CLEANUP)
                say(session_id, "Finalize Completed (Outside Graph)")
            except BaseException as e:
                say(session_id, f"Exception await (Ouside LangGraph):\n{pprint.pformat(e)}")


app = FastAPI()


@app.get("/stream")
async def stream_endpoint() -> EventSourceResponse:
    session_id = uuid.uuid4().hex[:6]
    # Not Starlette's StreamingResponse: when the client disconnects while the body
    # iterator is suspended at its own `yield` (that is, while its chunk is being sent),
    # StreamingResponse cancels the send but never aclose()s the iterator, so the
    # generator's `finally:` (and the graph run's cancellation) would wait for garbage
    # collection. sse-starlette's EventSourceResponse aclose()s it under a shield.
    return EventSourceResponse(
        sse_generator(session_id),
        headers={"X-Session-Id": session_id},
        ping=0,  # no keep-alive comments: the demo's events come every second anyway
    )


INDEX_HTML = """
<!DOCTYPE html>
<html>
    <body>
        <button onclick="startStream()">Start</button>
        <button onclick="stopStream()">Stop</button>
        <div id="output"></div>
        <script>
            let eventSource;
            function startStream() {
                if (eventSource) return;
                document.getElementById('output').innerHTML = "";
                eventSource = new EventSource('/stream');
                eventSource.onmessage = function(e) {
                    document.getElementById('output').innerHTML += e.data + " ";
                };
            }
            function stopStream() {
                if (eventSource) {
                    eventSource.close();
                    eventSource = null;
                    document.getElementById('output').innerHTML +=
                        "<br><br><b style='color:red;'>[Stopped]</b>";
                }
            }
        </script>
    </body>
</html>
"""


@app.get("/")
async def index() -> HTMLResponse:
    return HTMLResponse(INDEX_HTML)


def serve_hypercorn_trio(host: str, port: int, log_level: str) -> None:
    """Serve the app with hypercorn's trio worker: the whole server side runs on trio."""
    import functools

    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve
    from hypercorn.typing import ASGIFramework

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.loglevel = log_level.upper()
    # Starlette's and hypercorn's ASGI type hints differ; the app is a plain ASGI 3 app.
    asgi_app = cast("ASGIFramework", app)
    trio.run(functools.partial(serve, asgi_app, config, mode="asgi"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The scopegraph FastAPI SSE demo.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--server",
        choices=("uvicorn", "hypercorn-trio"),
        default="uvicorn",
        help="uvicorn (asyncio), or hypercorn with its trio worker (needs `pip install hypercorn`)",
    )
    args: Any = parser.parse_args(argv)
    if args.server == "hypercorn-trio":
        serve_hypercorn_trio(args.host, args.port, args.log_level)
    else:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()

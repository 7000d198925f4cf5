"""Example graphs for ``scopegraph serve`` (``make demo`` serves them).

- ``graph``: streams tokens as custom events, one step per sentence; each node does a
  shielded cleanup when the run is cancelled (press Stop in the playground).
- ``approval``: drafts, asks a human with ``interrupt()``, then publishes; resume it with
  ``Command(resume=...)`` (``command: {"resume": "yes"}`` over HTTP).

Environment: ``SCOPEGRAPH_DEMO_INTERVAL`` (seconds per token, default 0.05),
``SCOPEGRAPH_DEMO_CLEANUP`` (seconds of shielded cleanup, default 0.2),
``SCOPEGRAPH_DEMO_TOKENS`` (tokens of the ``answer`` node, default 24),
``SCOPEGRAPH_CLEANUP_LOG`` (a file that gets a line when each cleanup starts and ends).
"""

from __future__ import annotations

import operator
import os
from typing import Annotated, TypedDict

import anyio

from scopegraph import END, START, StateGraph, get_config, get_stream_writer, interrupt

INTERVAL = float(os.environ.get("SCOPEGRAPH_DEMO_INTERVAL", "0.05"))
CLEANUP = float(os.environ.get("SCOPEGRAPH_DEMO_CLEANUP", "0.2"))
TOKENS = int(os.environ.get("SCOPEGRAPH_DEMO_TOKENS", "24"))
CLEANUP_LOG = os.environ.get("SCOPEGRAPH_CLEANUP_LOG")


def _log(line: str) -> None:
    if CLEANUP_LOG:
        with open(CLEANUP_LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class State(TypedDict, total=False):
    prompt: str
    tokens: Annotated[list[str], operator.add]
    sentences: int


async def _stream_sentence(name: str, words: list[str]) -> dict[str, list[str]]:
    write = get_stream_writer()
    run_id = get_config().get("metadata", {}).get("run_id", "-")
    sent: list[str] = []
    try:
        for word in words:
            write({"node": name, "token": word})
            sent.append(word)
            await anyio.sleep(INTERVAL)
        return {"tokens": sent}
    finally:
        with anyio.CancelScope(shield=True):
            _log(f"cleanup-start {name} {run_id}")
            await anyio.sleep(CLEANUP)  # e.g. close a model stream, release a lock
            _log(f"cleanup-done {name} {run_id}")


def _words(state: State, count: int) -> list[str]:
    prompt = state.get("prompt") or "tell me a story"
    return [f"{w}" for w in (prompt.split() * count)[: max(count, 1)]]


async def think(state: State) -> dict[str, list[str]]:
    return await _stream_sentence("think", _words(state, 8))


async def answer(state: State) -> dict[str, list[str]]:
    return await _stream_sentence("answer", _words(state, TOKENS))


builder = StateGraph(State)
builder.add_node("think", think)
builder.add_node("answer", answer)
builder.add_edge(START, "think")
builder.add_edge("think", "answer")
builder.add_edge("answer", END)
graph = builder.compile()


class Approval(TypedDict, total=False):
    draft: str
    approved: bool
    published: str


async def draft(state: Approval) -> Approval:
    return {"draft": f"draft: {state.get('draft') or 'hello'}"}


async def review(state: Approval) -> Approval:
    answer = interrupt({"question": "publish this draft?", "draft": state["draft"]})
    return {"approved": str(answer).lower() in ("yes", "y", "true", "ok")}


async def publish(state: Approval) -> Approval:
    return {"published": state["draft"] if state.get("approved") else ""}


approval_builder = StateGraph(Approval)
approval_builder.add_node("draft", draft)
approval_builder.add_node("review", review)
approval_builder.add_node("publish", publish)
approval_builder.add_edge(START, "draft")
approval_builder.add_edge("draft", "review")
approval_builder.add_edge("review", "publish")
approval_builder.add_edge("publish", END)
approval = approval_builder.compile()

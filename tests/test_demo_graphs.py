"""The demo graphs of ``examples/server_graph.py`` as ``make demo`` serves them.

- ``agent`` (``graph``) takes 10-20 s with the default delays: time to press Stop calmly.
- ``chat`` also works with the server extra alone (no langchain_core): plain dict
  messages, the tool call and its result, two turns on one thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from _server import EXAMPLE

DEFAULTS = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("server_graph", {example!r})
demo = importlib.util.module_from_spec(spec)
sys.modules["server_graph"] = demo
spec.loader.exec_module(demo)
print(json.dumps([demo.INTERVAL, demo.TOKENS, demo.CLEANUP]))
"""

WITHOUT_LANGCHAIN = """
import importlib.util, json, sys

class NoLangChain:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "langchain_core":
            raise ImportError(f"{{name}} is blocked: the server extra alone")

sys.meta_path.insert(0, NoLangChain())
import anyio
from scopegraph.checkpoint.memory import InMemorySaver

spec = importlib.util.spec_from_file_location("server_graph", {example!r})
demo = importlib.util.module_from_spec(spec)
sys.modules["server_graph"] = demo
spec.loader.exec_module(demo)
assert not demo.LANGCHAIN

async def main():
    chat = demo.chat_builder.compile(checkpointer=InMemorySaver())
    config = {{"configurable": {{"thread_id": "t"}}}}
    await chat.ainvoke({{"messages": [{{"role": "user", "content": "weather in Rome?"}}]}}, config)
    out = await chat.ainvoke({{"messages": [{{"role": "user", "content": "thanks"}}]}}, config)
    print(json.dumps(out["messages"]))

anyio.run(main)
"""


def run_python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_agent_demo_runs_between_10_and_20_seconds_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEGRAPH_DEMO_")}
    interval, tokens, cleanup = json.loads(run_python(DEFAULTS.format(example=str(EXAMPLE)), env))
    seconds = (8 + tokens) * interval + 2 * cleanup  # think, answer, and their cleanups
    assert 10 <= seconds <= 20, seconds


def test_the_chat_demo_works_without_langchain_core() -> None:
    env = {**os.environ, "SCOPEGRAPH_DEMO_INTERVAL": "0.001"}
    messages = json.loads(run_python(WITHOUT_LANGCHAIN.format(example=str(EXAMPLE)), env))
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai", "human", "ai"]
    assert messages[1]["tool_calls"] == [
        {"name": "weather", "args": {"city": "Rome"}, "id": "call_1"}
    ]
    assert messages[2]["content"] == "sunny and 21 °C in Rome"
    assert messages[3]["content"].startswith("The weather tool says: sunny and 21 °C in Rome")
    assert messages[5]["content"].startswith("You said: thanks. This is turn 2 of our chat")

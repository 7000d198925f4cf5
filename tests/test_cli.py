"""The ``scopegraph`` command, run as a user runs it: a real process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

import scopegraph
from _server import ROOT, running_server

GRAPH_FILE = """\
import os
from typing import TypedDict

from scopegraph import END, START, StateGraph


class State(TypedDict, total=False):
    name: str
    greeting: str


def greet(state: State) -> State:
    return {"greeting": os.environ["GREETING"] + ", " + state["name"] + "!"}


builder = StateGraph(State)
builder.add_node("greet", greet)
builder.add_edge(START, "greet")
builder.add_edge("greet", END)
graph = builder.compile()
"""


def scopegraph_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scopegraph._cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def greeting(url: str, assistant: str, name: str) -> str:
    response = httpx.post(
        f"{url}/runs/wait", json={"assistant_id": assistant, "input": {"name": name}}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["greeting"])


def test_version_prints_the_package_version() -> None:
    result = scopegraph_cli("--version")
    assert result.returncode == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert result.stdout.strip() == f"scopegraph {scopegraph.__version__}"
    assert scopegraph.__version__ == project["version"]


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ((), ["serve", "worker", "examples:", "scopegraph serve app.py:graph"]),
        (
            ("serve",),
            [
                "(default: 127.0.0.1)",
                "(default: 8000)",
                "(default: .scopegraph/scopegraph.db)",
                "(default: 10.0)",
                "{critical,error,warning,info,debug,trace}",
                "(default: info)",
                "examples:",
                "scopegraph serve --graph agent=app.py:graph",
                "langgraph.json",
            ],
        ),
        (("worker",), ["(default: 10.0)", "(default: 100)", "examples:", "scopegraph worker"]),
    ],
)
def test_help_shows_defaults_choices_and_an_example(
    command: tuple[str, ...], shown: list[str]
) -> None:
    result = scopegraph_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for part in shown:
        assert " ".join(part.split()) in text, f"{part!r} missing from:\n{result.stdout}"


def test_serve_prints_the_playground_and_docs_links_with_the_real_port(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(GRAPH_FILE)
    with running_server(tmp_path, graphs=[f"hello={tmp_path / 'hello.py'}:graph"]) as server:
        port = server.url.rsplit(":", 1)[1]
        log = server.log()
    lines = log.splitlines()
    assert f"Playground: http://127.0.0.1:{port}/" in lines
    assert f"API docs:   http://127.0.0.1:{port}/docs" in lines


def test_serve_without_a_graph_serves_the_graphs_of_langgraph_json(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(GRAPH_FILE)
    package = tmp_path / "my_agent"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "graph.py").write_text(GRAPH_FILE)
    (tmp_path / "langgraph.json").write_text(
        json.dumps(
            {
                "graphs": {"from_file": "./hello.py:graph", "from_module": "my_agent.graph:graph"},
                "env": {"GREETING": "Hello"},
            }
        )
    )
    with running_server(tmp_path, graphs=()) as server:
        found = httpx.post(f"{server.url}/assistants/search", json={}, timeout=10).json()
        assert sorted(a["graph_id"] for a in found) == ["from_file", "from_module"]
        assert greeting(server.url, "from_file", "otter") == "Hello, otter!"
        assert greeting(server.url, "from_module", "seal") == "Hello, seal!"


def test_langgraph_json_env_may_name_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(GRAPH_FILE)
    (tmp_path / ".env").write_text(
        "# greetings\nexport OTHER='x'\nGREETING=\"Good day\"  \nUNUSED=1 # comment\n"
    )
    (tmp_path / "langgraph.json").write_text(
        json.dumps({"graphs": {"hello": "./hello.py:graph"}, "env": ".env"})
    )
    with running_server(tmp_path, graphs=()) as server:
        assert greeting(server.url, "hello", "otter") == "Good day, otter!"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"dependencies": ["."], "graphs": {"a": "./hello.py:graph"}},
            r"^scopegraph serve: langgraph\.json: key 'dependencies' not supported yet "
            r"\(scopegraph reads 'graphs' and 'env'\)",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "store": {}, "http": {}},
            r"key 'store', 'http' not supported yet",
        ),
        (
            {"graphs": {"a": "./missing.py:graph"}},
            r"^scopegraph serve: langgraph\.json: graph 'a': no file '.*missing\.py'$",
        ),
        (
            {"graphs": {"a": "no_such_module.graph:graph"}},
            r"graph 'a': .*no_such_module",
        ),
        ({"graphs": {}}, r'"graphs" should map names to graphs'),
        ({"graphs": {"a": "./hello.py:graph"}, "env": "missing.env"}, r"env file .*missing\.env"),
    ],
)
def test_langgraph_json_keys_it_cannot_serve_get_a_one_line_error(
    tmp_path: Path, config: dict[str, object], message: str
) -> None:
    (tmp_path / "hello.py").write_text(GRAPH_FILE)
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    result = scopegraph_cli("serve", "--port", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_an_invalid_langgraph_json_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "langgraph.json").write_text('{"graphs": {"a": "./hello.py:graph",}}\n')
    result = scopegraph_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "scopegraph serve: langgraph.json: invalid JSON at line 1, column 37: "
        "Expecting property name enclosed in double quotes"
    ]


def test_serve_without_a_graph_or_langgraph_json_says_what_to_pass(tmp_path: Path) -> None:
    result = scopegraph_cli("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "scopegraph serve: no graph to serve: scopegraph serve path/to/file.py:graph, "
        "or run it in a folder with a langgraph.json"
    ]

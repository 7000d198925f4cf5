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


def test_python_dash_m_scopegraph_is_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scopegraph", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"scopegraph {scopegraph.__version__}"


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
            {"graphs": {"a": "./hello.py:graph"}, "webhooks": {}, "node_version": "20"},
            r"^scopegraph serve: langgraph\.json: key 'webhooks', 'node_version' not supported "
            r"by scopegraph serve \(it reads graphs, env, dependencies, http, auth, store, "
            r"checkpointer\)",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "auth": {"path": "./auth.py:auth"}},
            r"langgraph\.json: auth\.path: no file '.*auth\.py'$",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "auth": {"path": "./hello.py:graph"}},
            r"auth '.*hello\.py:graph' is a CompiledStateGraph; expected a langgraph_sdk Auth",
        ),
        (
            {
                "graphs": {"a": "./hello.py:graph"},
                "auth": {"path": "./hello.py:graph", "openapi": {}, "cache": {}},
            },
            r"auth\.openapi, auth\.cache not supported by scopegraph serve \(it reads "
            r"auth\.path, auth\.disable_studio_auth\)",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "http": {"disable_store": True}},
            r"http\.disable_store not supported by scopegraph serve \(it reads http\.app and "
            r"http\.cors\)",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "http": {"cors": {"origins": ["x"]}}},
            r"http\.cors\.origins not supported; the keys are allow_credentials",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "dependencies": ["no-such-package-4f1e"]},
            r"dependency 'no-such-package-4f1e' is not installed, and scopegraph serve installs "
            r"nothing: pip install 'no-such-package-4f1e'$",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "dependencies": ["./libs"]},
            r"dependency './libs': no folder '.*libs'$",
        ),
        (
            {"graphs": {"a": {"path": "./hello.py:graph", "description": "x"}}},
            r"graph 'a': key 'description' not supported yet",
        ),
        (
            {"graphs": {"a": "./hello.py:graph"}, "http": {"app": "./hello.py:graph"}},
            r"http\.app '.*hello\.py:graph' is a CompiledStateGraph; expected a Starlette or "
            r"FastAPI app",
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


def test_custom_auth_given_twice_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(GRAPH_FILE)
    (tmp_path / "auth.py").write_text("auth = None\n")
    config = {"graphs": {"a": "./hello.py:graph"}, "auth": {"path": "./auth.py:auth"}}
    (tmp_path / "langgraph.json").write_text(json.dumps(config))
    result = scopegraph_cli("serve", "--auth", "auth.py:auth", cwd=tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(
        r"scopegraph serve: custom auth is set twice: by --auth and by auth\.path of "
        r".*langgraph\.json; keep one\n",
        result.stderr,
    ), result.stderr


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
        "or run it in a folder with a langgraph.json (or pass --config FILE)"
    ]


def test_config_names_another_langgraph_json_and_excludes_graph_arguments(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "hello.py").write_text(GRAPH_FILE)
    (project / "deploy.json").write_text(
        json.dumps({"graphs": {"hello": "./hello.py:graph"}, "env": {"GREETING": "Hi"}})
    )
    with running_server(
        tmp_path, graphs=(), extra_args=["--config", str(project / "deploy.json")]
    ) as server:
        assert greeting(server.url, "hello", "otter") == "Hi, otter!"
    both = scopegraph_cli("serve", "hello.py:graph", "--config", "deploy.json", cwd=project)
    assert both.returncode == 2
    assert both.stderr.splitlines() == [
        "scopegraph serve: pass either graphs (FILE.py:GRAPH, --graph) or --config FILE, not both"
    ]
    missing = scopegraph_cli("serve", "--config", "nope.json", cwd=project)
    assert missing.stderr.splitlines() == ["scopegraph serve: --config 'nope.json': no such file"]


def test_worker_reads_langgraph_json_too(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(GRAPH_FILE)
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"hello": "./hello.py:graph"}}))
    result = scopegraph_cli("worker", cwd=tmp_path)
    assert result.returncode == 2
    # it found the graphs: what it lacks is the scale-out database
    assert result.stderr.splitlines() == [
        "scopegraph worker: a worker needs --db postgresql://... (or SCOPEGRAPH_DB / "
        "SCOPEGRAPH_REDIS)"
    ]
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"a": "./missing.py:g"}}))
    result = scopegraph_cli("worker", cwd=tmp_path)
    assert "langgraph.json: graph 'a': no file" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = scopegraph_cli("worker", cwd=empty)
    assert result.stderr.splitlines() == [
        "scopegraph worker: no graph to run: scopegraph worker path/to/file.py:graph, or run "
        "it in a folder with a langgraph.json (or pass --config FILE)"
    ]

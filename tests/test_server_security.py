"""Security hygiene of ``scopegraph serve`` (issue 13, item 10).

- the API key can come from ``SCOPEGRAPH_API_KEY`` or ``--api-key-file``, so that ``ps``
  (``/proc/PID/cmdline``) does not show it; it is compared in constant time;
- ``--workers`` children get the database and Redis URLs through their environment, not
  their command line;
- without an API key, a request whose ``Host`` is not the bound host, a loopback name or
  one given with ``--allow-host`` is refused (421): a web page cannot reach a loopback
  server through DNS rebinding;
- CORS is off by default (no ``Access-Control-Allow-Origin``); ``--cors-origin`` allows
  an origin;
- a database's error text never reaches a client (see ``tests/test_faults.py``: the
  response names a request id, the server's log has the text).

Real ``scopegraph serve`` processes on loopback.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import httpx
from psycopg.conninfo import conninfo_to_dict

import _pg
import _redis
from _server import running_server
from scopegraph.server import _guard

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

KEY = "s3cret-key-for-the-test"


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def test_the_api_key_from_the_environment_is_required_and_not_on_the_command_line(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, env={"SCOPEGRAPH_API_KEY": KEY}) as server:
        assert KEY not in cmdline(server.process.pid)
        assert httpx.get(f"{server.url}/threads/x").status_code == 401
        wrong = httpx.post(f"{server.url}/threads", json={}, headers={"x-api-key": KEY[:-1]})
        assert wrong.status_code == 401
        right = httpx.post(f"{server.url}/threads", json={}, headers={"x-api-key": KEY})
        assert right.status_code == 200, right.text


def test_the_api_key_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n")
    with running_server(tmp_path, extra_args=["--api-key-file", str(key_file)]) as server:
        assert KEY not in cmdline(server.process.pid)
        assert httpx.post(f"{server.url}/threads", json={}).status_code == 401
        right = httpx.post(f"{server.url}/threads", json={}, headers={"x-api-key": KEY})
        assert right.status_code == 200, right.text


def test_the_api_key_is_compared_in_constant_time() -> None:
    source = inspect.getsource(_guard.Guard._key_refusal)
    assert "hmac.compare_digest" in source
    assert "!=" not in source


def test_workers_get_the_database_and_redis_urls_through_their_environment(
    tmp_path: Path, pg_dsn: str, redis_url: str
) -> None:
    p = conninfo_to_dict(pg_dsn)
    db = f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"
    env = {"SCOPEGRAPH_DB": db, "SCOPEGRAPH_REDIS": redis_url}
    with running_server(
        tmp_path, db=db, env=env, extra_args=["--redis", redis_url, "--workers", "1"]
    ) as server:
        deadline = time.monotonic() + 30
        while not children(server.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = children(server.process.pid)
        assert workers
        for pid in workers:
            line = cmdline(pid)
            assert "worker" in line
            assert db not in line
            assert redis_url not in line
            assert "postgresql://" not in line
        # and the worker runs runs, with the URLs from its environment
        body = {"assistant_id": "agent", "input": {"prompt": "hello"}}
        done = httpx.post(f"{server.url}/runs/wait", json=body, timeout=60)
        assert done.status_code == 200, done.text
        assert done.json()["tokens"]


HOSTS = {
    "evil.example": 421,
    "evil.example:8000": 421,
    "127.0.0.1.evil.example": 421,
    "localhost": 200,
    "127.0.0.1:1234": 200,
    "[::1]:8000": 200,
}


def test_without_an_api_key_a_request_for_another_host_is_refused(tmp_path: Path) -> None:
    """DNS rebinding: a web page whose name now points at 127.0.0.1 sends its own name as
    ``Host``; the server (no API key, no flag) refuses it and serves loopback names."""
    with running_server(tmp_path) as server:
        for host, status in HOSTS.items():
            response = httpx.get(f"{server.url}/info", headers={"host": host})
            assert response.status_code == status, (host, response.text)
            if status == 421:
                assert "--allow-host" in response.json()["message"]


def test_allow_host_serves_one_more_host(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_args=["--allow-host", "studio.internal"]) as server:
        for host, status in {**HOSTS, "studio.internal": 200}.items():
            response = httpx.get(f"{server.url}/info", headers={"host": host})
            assert response.status_code == status, (host, response.text)


def test_with_an_api_key_any_host_is_served(tmp_path: Path) -> None:
    with running_server(tmp_path, api_key=KEY) as server:
        headers = {"host": "evil.example", "x-api-key": KEY}
        assert httpx.get(f"{server.url}/info", headers=headers).status_code == 200


ORIGIN = "https://studio.example"
PREFLIGHT = {
    "origin": ORIGIN,
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        response = httpx.get(f"{server.url}/info", headers={"origin": ORIGIN})
        assert "access-control-allow-origin" not in response.headers
        response = httpx.options(f"{server.url}/threads", headers=PREFLIGHT)
        assert "access-control-allow-origin" not in response.headers


def test_cors_origin_allows_that_origin_only(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_args=["--cors-origin", ORIGIN]) as server:
        response = httpx.get(f"{server.url}/info", headers={"origin": ORIGIN})
        assert response.headers["access-control-allow-origin"] == ORIGIN
        response = httpx.options(f"{server.url}/threads", headers=PREFLIGHT)
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == ORIGIN
        other = httpx.get(f"{server.url}/info", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers

"""A webhook receiver on loopback for the server tests: ``with receiving() as receiver:``
serves ``receiver.url`` from a thread of the test process; ``receiver.wait_for(n)``
(blocking: call it in a worker thread) returns the first ``n`` JSON bodies POSTed to it."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import orjson

__all__ = ("Receiver", "receiving")


class Receiver:
    """A webhook receiver on loopback (a thread of this process): it records each POSTed
    body, and answers 500 to the first ``failures`` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.failures = failures
        self.changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.changed:
                    receiver.bodies.append(body)
                    failing = len(receiver.bodies) <= receiver.failures
                    receiver.changed.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until ``count`` requests came (call it in a worker thread)."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.bodies) >= count, timeout):
                raise AssertionError(f"{len(self.bodies)} webhook requests, not {count}")
            return list(self.bodies)


@contextlib.contextmanager
def receiving(failures: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(failures)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join()

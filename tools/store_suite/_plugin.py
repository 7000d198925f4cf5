"""pytest plugin of the store suite: LangGraph's store tests use pytest-asyncio's auto
mode; here their coroutine tests and async fixtures run on anyio's plugin, on asyncio."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flaky: retried by LangGraph's CI (not here)")
    config.addinivalue_line("markers", "asyncio: pytest-asyncio's mark (anyio runs them here)")

"""pytest plugin of the store suite: LangGraph's store tests use pytest-asyncio's auto
mode; here their coroutine tests and async fixtures run on anyio's plugin, on asyncio."""

from __future__ import annotations

import gc
import sys

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flaky: retried by LangGraph's CI (not here)")
    config.addinivalue_line("markers", "asyncio: pytest-asyncio's mark (anyio runs them here)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Free a failed test's traceback (pytest keeps it in ``sys.last_traceback`` for
    post-mortem debugging) and collect it now: a test that fails on trio because it
    calls ``asyncio.gather`` leaves never-awaited coroutines in that traceback, whose
    warnings would otherwise fail whichever later test the collection falls in."""
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)
    gc.collect()

"""The playground page (``GET /``) in headless Chromium, against a real ``scopegraph serve``.

Start a run of the demo graph, watch its custom events arrive, press Stop, and see the
run end ``interrupted`` with its shielded cleanup finished and its checkpoint saved; and
resume an ``interrupt()`` of the approval graph from the thread panel.

The screenshot goes to ``$SCOPEGRAPH_ARTIFACTS/playground.png`` (default
``test-artifacts/``); ``SCOPEGRAPH_UPDATE_SCREENSHOT=1`` also copies it to
``docs/playground.png`` (written anyway when that file is missing).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from _server import ROOT, Server, running_server

CHROMIUM = Path(os.environ.get("SCOPEGRAPH_CHROMIUM", "/usr/bin/chromium"))
TIMEOUT = 15_000  # milliseconds, for each wait on the page


def _artifacts() -> Path:
    path = Path(os.environ.get("SCOPEGRAPH_ARTIFACTS", "test-artifacts"))
    path = path if path.is_absolute() else ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def chromium() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        message = (
            f"Chromium is missing ({CHROMIUM} is not an executable): run `make install` "
            "(the Debian package chromium), or set SCOPEGRAPH_CHROMIUM"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # 400 answer tokens at 0.05 s: the run is still streaming when Stop is pressed.
    with running_server(tmp_path, interval=0.05, env={"SCOPEGRAPH_DEMO_TOKENS": "400"}) as server:
        yield server


@pytest.fixture
def page(chromium: Path, server: Server) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(TIMEOUT)
            expect.set_options(timeout=TIMEOUT)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{server.url}/")
            expect(page.locator("#graph option")).to_have_count(2)
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
            expect(page.locator("#error")).to_be_hidden()
        finally:
            browser.close()


def test_start_stream_stop_shows_the_cleanup(page: Page, server: Server) -> None:
    page.select_option("#graph", "agent")
    expect(page.locator("#input")).to_have_value(re.compile("tell me a story"))
    expect(page.locator("#mode-custom")).to_be_checked()
    expect(page.locator("#mode-updates")).to_be_checked()

    page.click("#start")
    page.wait_for_function(
        "document.querySelectorAll('#events .event[data-mode=custom]').length >= 12"
    )
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("#tab-custom .count")).not_to_have_text("0")
    run_id = page.locator("#run-info").get_attribute("data-run-id")
    thread_id = page.locator("#run-info").get_attribute("data-thread-id")
    assert run_id
    assert thread_id

    page.click("#stop")
    expect(page.locator("#status")).to_have_text("interrupted")
    lifecycle = page.locator("#lifecycle")
    expect(lifecycle).to_contain_text("cancel requested")
    expect(lifecycle).to_contain_text("cleanup finished")
    expect(lifecycle).to_contain_text("checkpoint saved")
    expect(page.locator("#start")).to_be_enabled()
    expect(page.locator("#stop")).to_be_disabled()
    # The thread panel catches up: the thread is interrupted, and so is its run.
    expect(page.locator("#threads li.selected")).to_contain_text("interrupted")
    expect(page.locator("#runs")).to_contain_text("interrupted")

    shot = _artifacts() / "playground.png"
    page.screenshot(path=str(shot))
    docs = ROOT / "docs" / "playground.png"
    if os.environ.get("SCOPEGRAPH_UPDATE_SCREENSHOT") == "1" or not docs.exists():
        docs.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs)

    # The server agrees: the run was cancelled mid-stream and its cleanup ran to the end.
    run = httpx.get(
        f"{server.url}/threads/{thread_id}/runs/{run_id}", headers=server.headers()
    ).json()
    assert run["status"] == "interrupted"
    events = [e["event"] for e in run["lifecycle"]]
    assert events.index("cleanup finished") < events.index("checkpoint saved"), events
    assert f"cleanup-start answer {run_id}" in server.cleanups()
    assert f"cleanup-done answer {run_id}" in server.cleanups()
    info = httpx.get(f"{server.url}/info", headers=server.headers()).json()
    assert info["cleanups_finished"] == 1
    shown = int(page.locator("#tab-custom .count").inner_text())
    assert 12 <= shown < 8 + 400, "Stop did not stop the stream"


def test_resume_an_interrupt_from_the_thread_panel(page: Page, server: Server) -> None:
    page.select_option("#graph", "approval")
    expect(page.locator("#input")).to_have_value(re.compile("hello"))
    page.click("#start")
    expect(page.locator("#status")).to_have_text("success")
    expect(page.locator("#interrupts")).to_be_visible()
    expect(page.locator("#interrupt-values")).to_contain_text("publish this draft?")

    page.fill("#resume-value", '"yes"')
    page.click("#resume")
    expect(page.locator("#interrupts")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("success")
    expect(page.locator("#thread-state")).to_contain_text('"published": "draft: hello"')
    expect(page.locator("#runs > div")).to_have_count(2)

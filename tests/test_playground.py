"""The playground page (``GET /``) in headless Chromium, against a real ``scopegraph serve``.

Each test drives the page as a person would: start a run of a demo graph of
``examples/server_graph.py`` and watch the highlighted node move on the graph, press Stop
and see the node's cleanup run and finish, Continue the stopped thread, answer an
``interrupt()``, chat two turns, open the thread's history and fork from a checkpoint, and
run a graph with a subgraph. The page may not load anything but the server (requests
elsewhere are aborted and fail the test), so it works without network access.

The demo graphs' delays are set per test (``SCOPEGRAPH_DEMO_*``): nothing here sleeps; a
test waits on the page's state. The order in which nodes were highlighted is recorded in
the page (the diagram's ``nodestate`` events), so a node that ran for a moment is seen too.

Screenshots go to ``$SCOPEGRAPH_ARTIFACTS/playground-*.png`` (default ``test-artifacts/``);
``SCOPEGRAPH_UPDATE_SCREENSHOT=1`` also copies them to ``docs/`` (written anyway when a
file there is missing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from _server import EXAMPLE, ROOT, Server, running_server

CHROMIUM = Path(os.environ.get("SCOPEGRAPH_CHROMIUM", "/usr/bin/chromium"))
TIMEOUT = 20_000  # milliseconds, for each wait on the page
GRAPHS = (
    f"agent={EXAMPLE}:graph",
    f"approval={EXAMPLE}:approval",
    f"chat={EXAMPLE}:chat",
    f"pipeline={EXAMPLE}:pipeline",
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records each change of a diagram node's state (and of the subgraph node running in it).
WATCH_NODES = """() => {
  window.seen = [];
  document.getElementById("diagram").addEventListener("nodestate", (e) => {
    window.seen.push([e.detail.node, e.detail.state, e.detail.sub]);
  });
}"""


def _artifacts() -> Path:
    path = Path(os.environ.get("SCOPEGRAPH_ARTIFACTS", "test-artifacts"))
    path = path if path.is_absolute() else ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot(page: Page, name: str) -> None:
    """``test-artifacts/<name>``, and ``docs/<name>`` when asked for or missing."""
    shot = _artifacts() / name
    page.screenshot(path=str(shot), full_page=True)
    docs = ROOT / "docs" / name
    if os.environ.get("SCOPEGRAPH_UPDATE_SCREENSHOT") == "1" or not docs.exists():
        docs.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs)


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


@contextmanager
def playground(chromium: Path, server: Server) -> Iterator[Page]:
    """The playground page of ``server``, loaded, with no JavaScript error at the end."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT)
            expect.set_options(timeout=TIMEOUT)
            errors: list[str] = []
            offsite: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))

            def local_only(route: Route) -> None:
                if route.request.url.startswith(server.url):
                    route.continue_()
                else:
                    offsite.append(route.request.url)
                    route.abort()

            page.route("**/*", local_only)
            page.goto(f"{server.url}/")
            expect(page.locator("#graph option")).to_have_count(len(GRAPHS))
            expect(page.locator("#diagram svg")).to_be_visible()
            page.evaluate(WATCH_NODES)
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
            assert not offsite, f"the page asked for something off the server: {offsite}"
            expect(page.locator("#error")).to_be_hidden()
        finally:
            browser.close()


def node(page: Page, name: str) -> Any:
    return page.locator(f"#diagram g.node[data-node='{name}']")


def seen(page: Page) -> list[tuple[str, str, str]]:
    """(node, state, subgraph node) for each change on the diagram, in order."""
    return [tuple(change) for change in page.evaluate("window.seen")]


def state_of(server: Server, thread_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/threads/{thread_id}/state", headers=server.headers())
    state: dict[str, Any] = response.json()
    return state


def test_start_watch_the_node_move_stop_see_the_cleanup_then_continue(
    chromium: Path, tmp_path: Path
) -> None:
    # 400 answer tokens at 0.02 s: the run is still streaming when Stop is pressed; a
    # cleanup of 1.5 s is long enough to be seen running.
    env = {"SCOPEGRAPH_DEMO_TOKENS": "400"}
    with (
        running_server(tmp_path, graphs=GRAPHS, interval=0.02, cleanup=1.5, env=env) as server,
        playground(chromium, server) as page,
    ):
        page.select_option("#graph", "agent")
        expect(page.locator("#input")).to_have_value(re.compile("tell me a story"))
        expect(page.locator("#mode-custom")).to_be_checked()
        expect(page.locator("#mode-updates")).to_be_checked()
        expect(node(page, "think")).to_be_visible()
        expect(node(page, "answer")).to_be_visible()

        page.click("#start")
        page.wait_for_function(
            "document.querySelectorAll('#events .event[data-mode=custom]').length >= 12"
        )
        expect(node(page, "answer")).to_have_class(re.compile(r"\brunning\b"))
        expect(node(page, "answer")).to_contain_text(re.compile(r"running\u2026 \d+"))  # progress
        expect(node(page, "think")).to_have_class(re.compile(r"\bdone\b"))
        expect(page.locator("#status")).to_have_text("running")
        expect(page.locator("#tab-custom .count")).not_to_have_text("0")
        # The highlight moved: think ran, then finished, then answer ran.
        changes = seen(page)
        assert changes.index(("think", "running", "")) < changes.index(("think", "done", ""))
        assert changes.index(("think", "done", "")) < changes.index(("answer", "running", ""))
        # The thread panel follows the run: think's tokens are in its state already.
        expect(page.locator("#thread-status")).to_have_text("busy")
        expect(page.locator("#thread-state")).to_contain_text('"next": [\n    "answer"')
        run_id = page.locator("#run-info").get_attribute("data-run-id")
        thread_id = page.locator("#run-info").get_attribute("data-thread-id")
        assert run_id
        assert thread_id
        screenshot(page, "playground-running.png")

        page.click("#stop")
        # Stop pressed: the node that was running is cleaning up until its cleanup ends.
        expect(node(page, "answer")).to_have_class(re.compile(r"\bcleanup\b"))
        expect(node(page, "answer")).to_contain_text("cleaning up")
        screenshot(page, "playground-cleanup.png")
        expect(page.locator("#status")).to_have_text("stopped")
        expect(node(page, "answer")).to_have_class(re.compile(r"\bstopped\b"))
        expect(node(page, "answer")).to_contain_text("cleanup done")
        expect(node(page, "think")).to_have_class(re.compile(r"\bdone\b"))
        lifecycle = page.locator("#lifecycle")
        expect(lifecycle).to_contain_text("cancel requested")
        expect(lifecycle).to_contain_text("cleanup finished")
        expect(lifecycle).to_contain_text("checkpoint saved")
        expect(page.locator("#run-info")).to_contain_text("interrupted")
        expect(page.locator("#start")).to_be_enabled()
        expect(page.locator("#stop")).to_be_disabled()
        # The thread panel catches up: the thread is stopped, its run interrupted.
        expect(page.locator("#threads li.selected")).to_contain_text("stopped")
        expect(page.locator("#thread-status")).to_have_text("stopped")
        expect(page.locator("#runs")).to_contain_text("interrupted")
        expect(page.locator("#stopped")).to_be_visible()
        expect(page.locator("#stopped-next")).to_have_text("answer")
        expect(page.locator("#interrupts")).to_be_hidden()
        screenshot(page, "playground-stopped.png")
        screenshot(page, "playground.png")

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

        # Continue: a run with input null goes on from the checkpoint, with answer.
        page.click("#continue")
        expect(page.locator("#status")).to_have_text("running")
        expect(node(page, "answer")).to_have_class(re.compile(r"\brunning\b"))
        expect(page.locator("#status")).to_have_text("success")
        expect(node(page, "answer")).to_have_class(re.compile(r"\bdone\b"))
        expect(page.locator("#thread-status")).to_have_text("success")
        expect(page.locator("#stopped")).to_be_hidden()
        expect(page.locator("#runs > div")).to_have_count(2)
        state = state_of(server, thread_id)
        assert state["next"] == []
        assert len(state["values"]["tokens"]) == 8 + 400
        # The long state scrolls in its box: not cut, not stretching the page.
        scrolls = page.evaluate(
            "(() => { const s = document.getElementById('thread-state');"
            " return [getComputedStyle(s).overflowY, s.scrollHeight > s.clientHeight]; })()"
        )
        assert scrolls == ["auto", True]


def test_an_interrupt_waits_for_input_and_is_resumed(chromium: Path, tmp_path: Path) -> None:
    with (
        running_server(tmp_path, graphs=GRAPHS, interval=0.02) as server,
        playground(chromium, server) as page,
    ):
        # Switching graphs resets the input to that graph's example, even when edited.
        page.select_option("#graph", "agent")
        page.fill("#input", '{"prompt": "edited"}')
        page.select_option("#graph", "approval")
        expect(page.locator("#input")).to_have_value(re.compile('"draft": "hello"'))
        expect(node(page, "review")).to_be_visible()

        page.click("#start")
        expect(page.locator("#status")).to_have_text("waiting for input")
        expect(page.locator("#run-info")).to_contain_text("success")
        expect(node(page, "review")).to_have_class(re.compile(r"\bwaiting\b"))
        expect(node(page, "draft")).to_have_class(re.compile(r"\bdone\b"))
        # approval streams no custom events: the tab shown is the one with events.
        expect(page.locator("#tab-updates")).to_have_class("active")
        expect(page.locator("#threads li.selected")).to_contain_text("waiting for input")
        expect(page.locator("#interrupts")).to_be_visible()
        expect(page.locator("#stopped")).to_be_hidden()
        expect(page.locator("#interrupt-values")).to_contain_text("publish this draft?")
        screenshot(page, "playground-interrupt.png")

        page.fill("#resume-value", '"yes"')
        page.click("#resume")
        expect(page.locator("#interrupts")).to_be_hidden()
        expect(page.locator("#status")).to_have_text("success")
        expect(node(page, "publish")).to_have_class(re.compile(r"\bdone\b"))
        expect(page.locator("#thread-state")).to_contain_text('"published": "draft: hello"')
        expect(page.locator("#runs > div")).to_have_count(2)


# Records the text of the chat's last assistant message each time the chat changes.
WATCH_CHAT = """() => {
  window.replies = [];
  const log = document.getElementById("chat-log");
  new MutationObserver(() => {
    const texts = log.querySelectorAll(".msg.ai .text");
    if (texts.length) window.replies.push(texts[texts.length - 1].textContent);
  }).observe(log, { subtree: true, childList: true, characterData: true });
}"""


def test_chat_two_turns_with_a_tool_call(chromium: Path, tmp_path: Path) -> None:
    # 0.1 s an interval: a token every 25 ms.
    with (
        running_server(tmp_path, graphs=GRAPHS, interval=0.1) as server,
        playground(chromium, server) as page,
    ):
        page.select_option("#graph", "chat")
        expect(page.locator("#panel-chat")).to_be_visible()
        expect(page.locator("#input")).to_have_value(re.compile("weather in Paris"))
        # The conditional edge without a path_map is drawn, to tools and to end.
        expect(page.locator("#diagram path.edge.conditional")).to_have_count(2)
        page.check("#mode-messages-tuple")
        page.evaluate(WATCH_CHAT)

        page.click("#start")
        log = page.locator("#chat-log")
        expect(page.locator("#status")).to_have_text("success")
        expect(log.locator(".msg.human")).to_have_text(re.compile("What is the weather in Paris"))
        expect(log.locator(".tool-call")).to_have_text('tool call weather({"city":"Paris"})')
        expect(log.locator(".msg.tool")).to_have_text(re.compile("sunny and 21 °C in Paris"))
        reply = "The weather tool says: sunny and 21 °C in Paris. Anything else?"
        expect(log.locator(".msg.ai .text").last).to_have_text(reply)
        # The reply came token by token on the messages-tuple stream, joined as it came.
        assert int(page.locator("#tab-messages-tuple .count").inner_text()) >= len(reply.split())
        partial = {t for t in page.evaluate("window.replies") if t and reply.startswith(t)}
        assert len(partial - {reply}) >= 3, partial
        thread_id = page.locator("#run-info").get_attribute("data-thread-id")
        assert thread_id

        page.fill("#chat-input", "thanks, that helps")
        page.click("#chat-send")
        expect(log.locator(".msg.human").last).to_have_text(re.compile("thanks, that helps"))
        expect(log.locator(".msg.ai .text").last).to_have_text(
            re.compile(r"^You said: thanks, that helps\. This is turn 2 of our chat")
        )
        expect(page.locator("#status")).to_have_text("success")
        expect(log.locator(".msg")).to_have_count(6)
        screenshot(page, "playground-chat.png")
        messages = state_of(server, thread_id)["values"]["messages"]
        assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai", "human", "ai"]


def test_history_shows_each_step_and_forks_from_a_checkpoint(
    chromium: Path, tmp_path: Path
) -> None:
    with (
        running_server(tmp_path, graphs=GRAPHS, interval=0.005) as server,
        playground(chromium, server) as page,
    ):
        page.select_option("#graph", "agent")
        page.fill("#input", '{"prompt": "first"}')
        page.click("#start")
        expect(page.locator("#status")).to_have_text("success")
        thread_id = page.locator("#run-info").get_attribute("data-thread-id")
        assert thread_id

        page.click("#view-history")
        timeline = page.locator("#timeline li")
        expect(timeline).to_have_count(4)  # input, start, think, answer
        expect(timeline.nth(0)).to_contain_text("answer")
        expect(timeline.nth(3)).to_contain_text("input")
        after_think = page.locator("#timeline li[data-step='1']")
        expect(after_think).to_contain_text("think")
        after_think.click()
        expect(page.locator("#checkpoint")).to_be_visible()
        expect(page.locator("#checkpoint-diff")).to_contain_text('+ tokens … + ["first"')
        expect(page.locator("#checkpoint-state")).to_contain_text('"prompt": "first"')
        screenshot(page, "playground-history.png")

        page.click("#fork")
        values = json.loads(page.locator("#fork-values").input_value())
        assert values["prompt"] == "first"
        values["prompt"] = "forked"
        page.fill("#fork-values", json.dumps(values))
        page.click("#fork-run")
        expect(page.locator("#status")).to_have_text("running")
        expect(page.locator("#status")).to_have_text("success")
        # The fork: an update_state checkpoint, and answer ran again from it.
        expect(page.locator("#timeline li")).to_have_count(6)
        expect(page.locator("#timeline li").nth(1)).to_contain_text("update_state")
        expect(page.locator("#timeline li").nth(0)).to_contain_text("answer")
        page.locator("#timeline li").nth(0).click()
        expect(page.locator("#checkpoint-diff")).to_contain_text('+ tokens … + ["forked"')
        screenshot(page, "playground-fork.png")
        tokens = state_of(server, thread_id)["values"]["tokens"]
        assert tokens == ["first"] * 8 + ["forked"] * 24


def test_a_subgraph_runs_inside_its_node(chromium: Path, tmp_path: Path) -> None:
    # 0.3 s a step: each subgraph node shows for about a second.
    with (
        running_server(tmp_path, graphs=GRAPHS, interval=0.3) as server,
        playground(chromium, server) as page,
    ):
        page.select_option("#graph", "pipeline")
        expect(page.locator("#input")).to_have_value(re.compile("structured concurrency"))
        for name in ("gather", "summarise", "report"):
            expect(node(page, name)).to_be_visible()

        page.click("#start")
        summarise = node(page, "summarise")
        expect(summarise).to_have_attribute("data-sub", "condense")
        expect(summarise).to_have_class(re.compile(r"\brunning\b"))
        expect(summarise).to_contain_text("\u203a condense")  # the sub-label
        screenshot(page, "playground-subgraph.png")
        expect(page.locator("#status")).to_have_text("success")
        for name in ("gather", "summarise", "report"):
            expect(node(page, name)).to_have_class(re.compile(r"\bdone\b"))
        changes = seen(page)
        order = [
            ("gather", "running", ""),
            ("gather", "done", ""),
            ("summarise", "running", "split"),
            ("summarise", "running", "condense"),
            ("summarise", "done", ""),
            ("report", "running", ""),
            ("report", "done", ""),
        ]
        positions = [changes.index(change) for change in order]
        assert positions == sorted(positions), changes
        thread_id = page.locator("#run-info").get_attribute("data-thread-id")
        assert thread_id
        report = state_of(server, thread_id)["values"]["report"]
        assert report == "report on structured concurrency: 6 notes condensed into one"


def test_a_server_with_custom_auth_is_used_with_the_users_token(
    chromium: Path, tmp_path: Path
) -> None:
    """Without a token the page shows the server's 401; with one in "Authorization" it
    lists the graphs and runs as that user (the run's thread is theirs, not another's)."""
    app = ROOT / "tests" / "_auth_app.py"
    args = ["--auth", f"{app}:auth"]
    with (
        running_server(tmp_path, graphs=GRAPHS, interval=0.01, extra_args=args) as server,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{server.url}/")
            expect(page.locator("#error")).to_contain_text("401", timeout=TIMEOUT)
            page.fill("#authorization", "Bearer alice-token")
            page.dispatch_event("#authorization", "change")
            expect(page.locator("#graph option")).to_have_count(len(GRAPHS), timeout=TIMEOUT)
            expect(page.locator("#error")).to_be_hidden(timeout=TIMEOUT)
            page.select_option("#graph", "pipeline")
            expect(page.locator("#input")).to_have_value(
                re.compile("structured concurrency"), timeout=TIMEOUT
            )
            page.click("#start")
            expect(page.locator("#status")).to_have_text("success", timeout=TIMEOUT)
            thread_id = page.locator("#run-info").get_attribute("data-thread-id")
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()
        url = f"{server.url}/threads/{thread_id}"
        alice = httpx.get(url, headers={"Authorization": "Bearer alice-token"})
        assert alice.json()["metadata"]["owner"] == "alice"
        assert httpx.get(url, headers={"Authorization": "Bearer bob-token"}).status_code == 404

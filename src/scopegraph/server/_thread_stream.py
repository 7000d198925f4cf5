"""A thread's stream (``GET /threads/{thread_id}/stream``, the SDK's
``threads.join_stream``): the events of the thread's runs, one run after another, for as
long as the client stays.

As LangGraph's server: ``stream_modes`` (comma-separated) ``run_modes`` (the default:
every event of each run) or ``lifecycle`` (only each run's start, its ``metadata``
``{run_id, attempt}``, and its end); after each run, ``metadata``
``{"status": "run_done", "run_id": ...}``. The stream ends when the thread is deleted or
the server drains (shutdown): the client joins again, at another process in scale-out.

How it follows the thread, with what every backend offers: it asks for the thread's
runs that have not ended every :data:`POLL` seconds and joins each new one as
``runs.join_stream`` without ``Last-Event-ID`` does (what the run sends from then on; a
resumable run that has ended, all of it; a run that is not resumable and starts and ends
between two looks is not seen), first sending the run's ``metadata`` event itself, and
waits for its end. A thread with several runs at once (``interrupt``,
``rollback``) has them followed in turn. Not implemented, and refused (422) rather than
ignored: ``state_update`` (LangGraph's events of state updates) and resuming with
``Last-Event-ID``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING

import anyio

from ._errors import InvalidRequestError, NotFoundError
from ._wire import dumps, sse_frame

if TYPE_CHECKING:
    from ._domain import Backend, RunRecord

__all__ = ("POLL", "new_runs", "thread_frames", "thread_stream_modes")

POLL = 0.1
"""Seconds between two looks for the thread's new runs."""

_MODES = ("run_modes", "lifecycle", "state_update")


def thread_stream_modes(value: str | None, last_event_id: str | None) -> bool:
    """Whether only the runs' lifecycle is asked for (``stream_modes``, as LangGraph's
    server reads it); 422 for what this server does not implement."""
    if last_event_id:
        raise InvalidRequestError(
            "resuming a thread's stream (Last-Event-ID) is not supported by this server: "
            "join the stream without it, or resume a run's stream with runs.join_stream",
            code="NotSupported",
        )
    modes = {m.strip() for m in (value or "run_modes").split(",") if m.strip()}
    unknown = modes - set(_MODES)
    if unknown:
        raise InvalidRequestError(f"Invalid stream mode: {sorted(unknown)}; use {list(_MODES)}")
    if "state_update" in modes:
        raise InvalidRequestError(
            "stream_modes=state_update (a thread's state updates) is not supported by this "
            "server; use run_modes or lifecycle",
            code="NotSupported",
        )
    return modes == {"lifecycle"}


async def new_runs(
    backend: Backend, thread_id: str, *, live_only: bool = False, wait_for_thread: bool = False
) -> AsyncGenerator[RunRecord, None]:
    """Each run of the thread not given before, oldest first, looked for every
    :data:`POLL` seconds for as long as the server takes runs (the caller reads a run's
    events before asking for the next). It ends when the thread is deleted; a thread
    that does not exist yet ends it at once, or with ``wait_for_thread`` is waited for.
    ``live_only``: the pending and running runs only."""
    seen: set[str] = set()
    existed = not wait_for_thread
    while backend.info().get("accepting_runs", True):
        try:
            runs = await backend.list_runs(thread_id, 100, 0, None)  # newest first
        except NotFoundError:
            if existed:
                return  # the thread was deleted
            runs = []
        else:
            existed = True
        fresh = [
            r
            for r in reversed(runs)
            if r["run_id"] not in seen and (not live_only or r["status"] in ("pending", "running"))
        ]
        if not fresh:
            await anyio.sleep(POLL)
            continue
        for run in fresh:
            seen.add(run["run_id"])
            yield run


async def thread_frames(
    backend: Backend, thread_id: str, *, lifecycle: bool
) -> AsyncIterator[bytes]:
    """The thread's stream as SSE frames (see the module docstring); it ends when the
    thread is deleted or the server drains (or the client leaves)."""
    async with contextlib.aclosing(new_runs(backend, thread_id, live_only=True)) as runs:
        async for run in runs:
            run_id = str(run["run_id"])
            yield sse_frame("metadata", dumps({"run_id": run_id, "attempt": 1}), None)
            try:
                if lifecycle:
                    await backend.join_run(thread_id, run_id)
                else:
                    stream = await backend.join_stream(
                        thread_id,
                        run_id,
                        cancel_on_disconnect=False,
                        modes=None,
                        last_event_id=None,
                    )
                    try:
                        async for chunk in stream.frames:
                            yield chunk
                    finally:  # the run's stream lets go of what it holds
                        close = getattr(stream.frames, "aclose", None)
                        if close is not None:
                            with anyio.CancelScope(shield=True):
                                await close()
            except NotFoundError:
                pass  # deleted meanwhile: it is done
            done = {"status": "run_done", "run_id": run_id}
            yield sse_frame("metadata", dumps(done), None)

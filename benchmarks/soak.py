"""``python -m benchmarks.soak [--runs N] [--threads T] [--every K] [--concurrency C]``
(``make soak``).

A memory soak of one ``scopegraph serve`` process (SQLite database in a temporary
directory, serving :mod:`benchmarks.server_graph` as ``bench``): it creates ``--threads``
threads, then sends ``--runs`` runs round-robin over them (``POST
/threads/{id}/runs/wait``, one custom event each, ``--concurrency`` at a time), and prints
the server's RSS (``VmRSS``) after a warm-up run, after every ``--every`` runs and at the
end, with the growth after the first ``--every`` runs (the warm-up: caches, pools and
code paths are loaded by then). A server that holds every finished run and thread in
memory grows with the run count; the target is flat (within 20 MB) after warm-up.

A benchmark, not a test: it prints numbers and exits 0 unless the server fails. Linux
only (``/proc``). The defaults are the ones the README's figure comes from: 20,000 runs
over 2,000 threads, RSS every 5,000.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import anyio.abc
import httpx

from .server import QUICK, TARGETS, _start, _warm_up, rss_mb

__all__ = ("main",)


async def _soak(url: str, pid: int, args: argparse.Namespace) -> list[tuple[int, float, float]]:
    """(runs done, RSS MB, seconds) at the start, every ``args.every`` runs and the end."""
    samples = [(0, rss_mb(pid), 0.0)]
    print(f"  {0:>7,} runs  RSS {samples[0][1]:7.1f} MB")
    started = time.monotonic()
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        threads = []
        for _ in range(args.threads):
            response = await client.post("/threads", json={})
            response.raise_for_status()
            threads.append(response.json()["thread_id"])
        done = 0
        body = {"assistant_id": "bench", "input": {"events": 1, "interval": 0, "cleanup": 0}}

        async def one(n: int) -> None:
            thread = threads[n % len(threads)]
            response = await client.post(f"/threads/{thread}/runs/wait", json=body)
            response.raise_for_status()

        for batch_start in range(0, args.runs, args.every):
            batch = range(batch_start, min(batch_start + args.every, args.runs))
            send, receive = anyio.create_memory_object_stream[int](len(batch))
            for n in batch:
                send.send_nowait(n)
            send.close()

            async with receive, anyio.create_task_group() as tg:
                for _ in range(args.concurrency):
                    tg.start_soon(_drain, receive, one)
            done += len(batch)
            samples.append((done, rss_mb(pid), time.monotonic() - started))
            print(f"  {done:>7,} runs  RSS {samples[-1][1]:7.1f} MB  {samples[-1][2]:6.1f} s")
    return samples


async def _drain(
    receive: anyio.abc.ObjectReceiveStream[int], call: Callable[[int], Awaitable[None]]
) -> None:
    async for n in receive:
        await call(n)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--runs", type=int, default=20_000, help="runs in all (20000)")
    parser.add_argument("--threads", type=int, default=2_000, help="threads (2000)")
    parser.add_argument("--every", type=int, default=5_000, help="RSS every N runs (5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="runs at once (16)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if min(args.runs, args.threads, args.every, args.concurrency) < 1:
        raise SystemExit("--runs, --threads, --every and --concurrency must be at least 1")
    with tempfile.TemporaryDirectory(prefix="scopegraph-soak-") as tmp:
        server = _start(TARGETS[0], Path(tmp), QUICK)
        try:
            _warm_up(server)
            print(
                f"scopegraph serve (SQLite), {args.runs:,} runs over {args.threads:,} threads, "
                f"{args.concurrency} at once; RSS after a warm-up run:"
            )
            samples = anyio.run(_soak, server.url, server.process.pid, args)
        finally:
            server.stop()
    first, last = samples[1] if len(samples) > 2 else samples[0], samples[-1]
    print(
        f"growth after the first {first[0]:,} runs: {last[1] - first[1]:+.1f} MB "
        f"({first[1]:.1f} -> {last[1]:.1f} MB); whole run {last[1] - samples[0][1]:+.1f} MB; "
        f"{last[0] / last[2]:.0f} runs/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

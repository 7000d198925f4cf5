"""Benchmarks: scopegraph against LangGraph, side by side in one run.

Run ``python -m benchmarks`` (or ``make bench``) for the full suite, ``--quick`` for a
smoke-sized run, ``--json PATH`` to keep the numbers, ``--only KEY`` for one benchmark
and ``--profile`` to profile scopegraph's side of the selected benchmarks.

Every graph is written once (:mod:`benchmarks._graphs`), parametrised by a
:class:`~benchmarks._libs.Lib`, so both libraries do identical work with identical async
nodes. LangGraph runs on asyncio only; scopegraph runs on asyncio and, in an extra
column, on trio.
"""

from __future__ import annotations

"""Cheap, unique, time-ordered UUIDv7 strings for run and task ids."""

from __future__ import annotations

import itertools
import os
import time

__all__ = ("new_id",)

_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))
_node = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF


def new_id() -> str:
    """A UUIDv7-formatted id: 48-bit milliseconds, then a counter and random node bits."""
    ms = time.time_ns() // 1_000_000
    seq = next(_counter) & 0xFFF
    tail = (_node ^ (next(_counter) << 20)) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | tail
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

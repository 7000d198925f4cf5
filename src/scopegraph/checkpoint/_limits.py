"""What a stored value may hold: the one place that knows the limits of the encoders and
stores, and finds the path of a value past them.

Every store keeps integers in 64 bits (-2**63 .. 2**64-1, what orjson and msgpack
encode) and text as UTF-8 (an unpaired surrogate has no UTF-8 form). The checkpoint
encoder (:mod:`._serde`) refuses values past those limits, and the run server refuses
them at its HTTP boundary (``wire=True``) along with what its JSON stores cannot keep or
give back unchanged:

- nesting deeper than :data:`MAX_DEPTH` levels (the server's JSON encoder stops at 253,
  and the server's responses wrap a client's value in a few levels of their own);
- NaN and Infinity (not JSON: PostgreSQL refuses them, the server's encoder writes null);
- floats that PostgreSQL's ``jsonb`` changes: ``-0.0`` (read back as ``0.0``) and those
  of magnitude 1e16 or more (written with an exponent, read back as integers);
- the NUL character (PostgreSQL's ``jsonb`` refuses ``\\u0000``).

:func:`unstorable` walks a value without recursion (any depth) and returns the path of
the first such part, as ``input.messages[2].content``, and the reason.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ("MAX_DEPTH", "MAX_INT", "MIN_INT", "describe_path", "unstorable")

MIN_INT = -(2**63)
MAX_INT = 2**64 - 1
MAX_DEPTH = 200
"""Levels of nesting the run server takes in a client's value."""
_PG_EXPONENT = 1e16
"""From this magnitude on a float is written with an exponent, which jsonb reads back as
an integer (``1e+16`` -> ``10000000000000000``)."""
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_Trail = tuple[Any, "_Trail"] | None
"""The keys from the root to a value, innermost first (a linked list: paths are built
only for the value that is refused)."""


def describe_path(keys: list[Any], root: str = "") -> str:
    """``["input", "messages", 2]`` -> ``input.messages[2]`` (``root`` first if given)."""
    out = root
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        elif isinstance(key, str) and _NAME.match(key):
            out += f".{key}" if out else key
        else:
            out += f"[{_quoted(key)}]"
    return out or "the value"


def _shortened(path: str) -> str:
    return path if len(path) <= 120 else f"{path[:50]}...{path[-50:]}"


def _quoted(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _path(trail: _Trail, root: str) -> str:
    keys: list[Any] = []
    while trail is not None:
        key, trail = trail
        keys.append(key)
    keys.reverse()
    return _shortened(describe_path(keys, root))


def _text_problem(text: str, wire: bool) -> str | None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(text[exc.start])
            return f"text with an unpaired surrogate (\\u{code:04x}) has no UTF-8 form"
    if wire and "\x00" in text:
        return "text with a NUL character (\\u0000) cannot be stored (PostgreSQL refuses it)"
    return None


def _number_problem(value: Any, wire: bool) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if MIN_INT <= value <= MAX_INT:
            return None
        return (
            f"integer {_quoted(value)} is outside the 64-bit range that can be stored "
            "(-2**63 .. 2**64-1); send it as a string"
        )
    if not wire or not isinstance(value, float):
        return None
    if not math.isfinite(value):
        return f"{value!r} is not a JSON number (NaN and Infinity cannot be stored)"
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return "-0.0 cannot be stored as is (PostgreSQL keeps it as 0.0); send 0.0"
    if abs(value) >= _PG_EXPONENT:
        return (
            f"float {value!r} cannot be stored as is (PostgreSQL gives numbers of 1e16 or "
            "more back as integers); send it as a string"
        )
    return None


def unstorable(
    value: Any, *, wire: bool = False, root: str = "", max_depth: int | None = None
) -> tuple[str, str] | None:
    """``(path, reason)`` of the first part of ``value`` that cannot be stored, or None.

    ``wire``: apply the run server's limits too (see the module docstring); without it,
    only the limits of every store (64-bit integers, UTF-8 text). ``max_depth``: levels
    of nesting allowed (default: :data:`MAX_DEPTH` with ``wire``, else any).
    ``root`` starts every path (e.g. ``"input"``)."""
    if max_depth is None and wire:
        max_depth = MAX_DEPTH
    stack: list[tuple[Any, _Trail, int]] = [(value, None, 0)]
    while stack:
        item, trail, depth = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item, wire)
        elif isinstance(item, int | float):
            problem = _number_problem(item, wire)
        else:
            children = _children(item)
            if children is None:
                continue
            if max_depth is not None and depth >= max_depth:
                return _path(trail, root), f"nested deeper than {max_depth} levels"
            for key, _ in children:
                if isinstance(key, str) and (reason := _text_problem(key, wire)):
                    return _path((key, trail), root), f"a key: {reason}"
            stack.extend((child, (key, trail), depth + 1) for key, child in reversed(children))
            continue
        if problem is not None:
            return _path(trail, root), problem
    return None


def _children(item: Any) -> list[tuple[Any, Any]] | None:
    """(key, value) of what a container holds, in order; None for a leaf."""
    if isinstance(item, dict):
        return list(item.items())
    if isinstance(item, list | tuple | set | frozenset):
        return list(enumerate(item))
    fields = getattr(type(item), "__dataclass_fields__", None)
    if fields is None:
        fields = getattr(type(item), "model_fields", None)  # a pydantic model
    if isinstance(fields, dict) and not isinstance(item, type):
        return [(name, getattr(item, name, None)) for name in fields]
    value = getattr(item, "value", None) if hasattr(type(item), "__members__") else None
    return None if value is None else [("value", value)]  # an Enum

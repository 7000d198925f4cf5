"""Encoding of stored values: JSON with typed extensions. Never pickle.

JSON keeps what it can represent natively (None, bool, int, float, str, lists and dicts
with string keys). Every other supported value becomes an object tagged with ``"$t"``:

==============  ================================================================
``tuple``        ``{"$t": "tuple", "v": [...]}``
``set``          ``{"$t": "set", "v": [...]}`` (and ``frozenset``)
``bytes``        ``{"$t": "bytes", "v": "<base64>"}``
``datetime``     ``{"$t": "datetime", "v": "<ISO 8601>"}`` (also date, time); a ``ZoneInfo``
                 zone is kept by name (``"z": "Europe/Paris"``), ``fold=1`` as ``"f": 1``
``timedelta``    ``{"$t": "timedelta", "v": [days, seconds, microseconds]}``
``UUID``         ``{"$t": "uuid", "v": "<hex>"}``; ``Decimal`` likewise
``Enum``         ``{"$t": "enum", "c": "module:Qualname", "v": <value>}``
dataclass        ``{"$t": "dataclass", "c": "module:Qualname", "v": {field: value}}``
pydantic model   ``{"$t": "pydantic", "c": "module:Qualname", "v": {field: value}}``
other dicts      ``{"$t": "dict", "v": [[key, value], ...]}`` (non-str keys, or a ``"$t"`` key)
==============  ================================================================

More types are added with :func:`register_type`. Classes are looked up by name only in
modules that are already imported, and only if they are a dataclass, a pydantic model, an
Enum or a registered type: stored data cannot make scopegraph import or call anything else.
For the same reason such classes must be defined at module level: a class defined inside a
function cannot be found again, so storing its instances fails at write time.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import functools
import inspect
import json
import sys
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from .._types import Send
from ._limits import MAX_DEPTH, MAX_INT, MIN_INT, unstorable
from ._model import CorruptCheckpointError, SerializationError

__all__ = ("decode", "dumps", "encode", "loads", "register_type")

_TAG = "$t"

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]
_registry: dict[type, tuple[str, Encoder]] = {}
_decoders: dict[str, Decoder] = {}


def register_type(cls: type, tag: str, encode: Encoder, decode: Decoder) -> None:
    """Teach the serializer a type: ``encode(obj)`` returns a JSON-able value (which may
    itself contain supported types), ``decode(value)`` rebuilds the object.

    The tag is stored with every value, so it must stay the same across releases of your
    code. Instances of exactly ``cls`` use it (not of its subclasses). Registering the same
    class again replaces its functions; a tag taken by another class is refused.

    Example::

        register_type(Money, "myapp.Money", lambda m: [m.cents, m.currency],
                      lambda v: Money(*v))
    """
    if not isinstance(tag, str) or not tag:
        raise ValueError(f"the tag for {cls.__qualname__} must be a non-empty string")
    if tag in _BUILTIN_TAGS:
        raise ValueError(f"tag {tag!r} is reserved; choose another tag for {cls.__qualname__}")
    if cls in _NATIVE_TYPES:
        raise ValueError(
            f"{cls.__qualname__} is serialized natively and cannot be registered; wrap it in "
            "your own class to store it differently"
        )
    for other, (other_tag, _) in _registry.items():
        if other_tag == tag and other is not cls:
            raise ValueError(
                f"tag {tag!r} is already registered for {_class_path(other)}; choose another "
                f"tag for {_class_path(cls)}"
            )
    previous = _registry.get(cls)
    if previous is not None and previous[0] != tag:
        del _decoders[previous[0]]
    _registry[cls] = (tag, encode)
    _decoders[tag] = decode


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _stored_class_path(cls: type, where: str) -> str:
    # Decoding looks the class up by name: fail now, not when the checkpoint is read back.
    if "<locals>" in cls.__qualname__:
        raise SerializationError(
            f"cannot store {where}: {cls.__module__}.{cls.__qualname__} is defined inside a "
            "function, so it could not be found again when the checkpoint is read; define it "
            "at module level"
        )
    return _class_path(cls)


@functools.cache
def _validates_by_name(cls: type) -> bool:
    # pydantic >= 2.11 can validate by field name even when a field has an alias.
    return "by_name" in inspect.signature(cls.model_validate).parameters  # type: ignore[attr-defined]


class _Unstorable(Exception):
    """A part of the value is past the stores' limits (:mod:`._limits`); :func:`encode`
    finds its path (only then: the common case pays nothing for paths)."""


def _encode(value: Any, where: str) -> Any:
    t = type(value)
    if value is None or t is float or t is bool:
        return value
    if t is str:
        if not value.isascii():
            _check_text(value)
        return value
    if t is int:
        if MIN_INT <= value <= MAX_INT:
            return value
        raise _Unstorable
    if t is list:
        return [_encode(v, where) for v in value]
    if t is dict:
        if all(type(k) is str for k in value) and _TAG not in value:
            for k in value:
                if not k.isascii():
                    _check_text(k)
            return {k: _encode(v, where) for k, v in value.items()}
        return {
            _TAG: "dict",
            "v": [[_encode(k, where), _encode(v, where)] for k, v in value.items()],
        }
    if t is tuple:
        return {_TAG: "tuple", "v": [_encode(v, where) for v in value]}
    if t is set or t is frozenset:
        return {_TAG: t.__name__, "v": [_encode(v, where) for v in value]}
    if t is bytes or t is bytearray:
        return {_TAG: "bytes", "v": base64.b64encode(value).decode("ascii")}
    if t is datetime.datetime or t is datetime.time:
        tz = value.tzinfo
        if type(tz) is datetime.timezone:
            # A fixed offset, stored exactly: ISO 8601 text cannot carry every offset
            # (fromisoformat drops sub-second ones).
            offset = tz.utcoffset(None)
            doc = {
                _TAG: t.__name__,
                "v": value.replace(tzinfo=None).isoformat(),
                "o": [offset.days, offset.seconds, offset.microseconds],
            }
        elif type(tz) is zoneinfo.ZoneInfo and tz.key is not None and t is datetime.datetime:
            # The wall time and the zone name, not an offset: a wall time in a zone's
            # daylight-saving gap or overlap then comes back as it was.
            doc = {_TAG: t.__name__, "v": value.replace(tzinfo=None).isoformat(), "z": tz.key}
        else:
            doc = {_TAG: t.__name__, "v": value.isoformat()}
        if value.fold:  # ISO 8601 has no fold: the second of two repeated wall times
            doc["f"] = 1
        return doc
    if t is datetime.date:
        return {_TAG: "date", "v": value.isoformat()}
    if t is datetime.timedelta:
        return {_TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if t is uuid.UUID:
        return {_TAG: "uuid", "v": value.hex}
    if t is decimal.Decimal:
        return {_TAG: "decimal", "v": str(value)}
    if t is Send:
        return {_TAG: "send", "node": value.node, "v": _encode(value.arg, where)}
    registered = _registry.get(t)
    if registered is not None:
        tag, encode = registered
        return {_TAG: tag, "v": _encode(encode(value), where)}
    if isinstance(value, enum.Enum):
        return {_TAG: "enum", "c": _stored_class_path(t, where), "v": _encode(value.value, where)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        path = _stored_class_path(t, where)
        fields = {f.name: _encode(getattr(value, f.name), where) for f in dataclasses.fields(value)}
        return {_TAG: "dataclass", "c": path, "v": fields}
    if hasattr(t, "model_dump") and hasattr(t, "model_validate"):
        path = _stored_class_path(t, where)
        fields = {k: _encode(getattr(value, k), where) for k in t.model_fields}
        # Extra fields of a model with ``extra="allow"`` are part of its value.
        extra = getattr(value, "__pydantic_extra__", None)
        if extra:
            fields.update((k, _encode(v, where)) for k, v in extra.items())
        return {_TAG: "pydantic", "c": path, "v": fields}
    # Subclasses of the plain containers (e.g. a str Enum was handled above).
    for base in _CONTAINER_BASES:
        if isinstance(value, base):
            return _encode(base(value), where)
    raise SerializationError(
        f"cannot store {where}: values of type {t.__module__}.{t.__qualname__} are not "
        "serializable. Use JSON types, a dataclass, a pydantic model, an Enum, or register "
        "the type with scopegraph.checkpoint.register_type()"
    )


def _load_class(path: str, kind: str) -> Any:
    module_name, _, qualname = path.partition(":")
    module = sys.modules.get(module_name)
    if module is None:
        raise CorruptCheckpointError(
            f"stored {kind} {path} cannot be loaded: module {module_name!r} is not imported; "
            "import it before reading the checkpoint"
        )
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise CorruptCheckpointError(f"stored {kind} {path} no longer exists")
    return obj


def _fixed_offset(parts: list[int]) -> datetime.timezone:
    days, seconds, microseconds = parts
    offset = datetime.timedelta(days=days, seconds=seconds, microseconds=microseconds)
    return datetime.UTC if not offset else datetime.timezone(offset)


def _decode(value: Any) -> Any:
    t = type(value)
    if t is list:
        return [_decode(v) for v in value]
    if t is not dict:
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: _decode(v) for k, v in value.items()}
    v = value.get("v")
    if tag == "tuple":
        return tuple(_decode(x) for x in v)
    if tag == "dict":
        return {_decode(k): _decode(x) for k, x in v}
    if tag == "set":
        return {_decode(x) for x in v}
    if tag == "frozenset":
        return frozenset(_decode(x) for x in v)
    if tag == "bytes":
        return base64.b64decode(v)
    if tag == "datetime":
        dt = datetime.datetime.fromisoformat(v)
        if "o" in value:
            dt = dt.replace(tzinfo=_fixed_offset(value["o"]))
        zone = value.get("z")
        if zone is not None:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=zoneinfo.ZoneInfo(zone))
            else:  # written by an earlier layout: an offset; the same instant in the zone
                dt = dt.astimezone(zoneinfo.ZoneInfo(zone))
        return dt.replace(fold=1) if value.get("f") else dt
    if tag == "date":
        return datetime.date.fromisoformat(v)
    if tag == "time":
        tm = datetime.time.fromisoformat(v)
        if "o" in value:
            tm = tm.replace(tzinfo=_fixed_offset(value["o"]))
        return tm.replace(fold=1) if value.get("f") else tm
    if tag == "timedelta":
        return datetime.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
    if tag == "uuid":
        return uuid.UUID(hex=v)
    if tag == "decimal":
        return decimal.Decimal(v)
    if tag == "send":
        return Send(value["node"], _decode(v))
    if tag == "enum":
        cls = _load_class(value["c"], "Enum")
        if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
            raise CorruptCheckpointError(f"stored Enum {value['c']} is not an Enum")
        return cls(_decode(v))
    if tag == "dataclass":
        cls = _load_class(value["c"], "dataclass")
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise CorruptCheckpointError(f"stored dataclass {value['c']} is not a dataclass")
        fields = {k: _decode(x) for k, x in v.items()}
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        obj = cls(**{k: x for k, x in fields.items() if k in init})
        for k, x in fields.items():
            if k not in init:
                object.__setattr__(obj, k, x)
        return obj
    if tag == "pydantic":
        cls = _load_class(value["c"], "pydantic model")
        if not (isinstance(cls, type) and hasattr(cls, "model_validate")):
            raise CorruptCheckpointError(f"stored model {value['c']} is not a pydantic model")
        data = {k: _decode(x) for k, x in v.items()}
        if _validates_by_name(cls):
            return cls.model_validate(data, by_alias=False, by_name=True)
        return cls.model_validate(data)
    decoder = _decoders.get(tag)
    if decoder is None:
        raise CorruptCheckpointError(f"stored value has an unknown type tag {tag!r}")
    return decoder(_decode(v))


_BUILTIN_TAGS = frozenset(
    (
        "tuple",
        "dict",
        "set",
        "frozenset",
        "bytes",
        "datetime",
        "date",
        "time",
        "timedelta",
        "uuid",
        "decimal",
        "send",
        "enum",
        "dataclass",
        "pydantic",
    )
)

_NATIVE_TYPES = frozenset(
    (
        type(None),
        bool,
        int,
        float,
        str,
        list,
        dict,
        tuple,
        set,
        frozenset,
        bytes,
        bytearray,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        uuid.UUID,
        decimal.Decimal,
        Send,
    )
)

_CONTAINER_BASES: tuple[type[Any], ...] = (str, int, float, list, dict, tuple)

_TOO_DEEP = (
    "it is nested too deeply or contains a reference cycle (a container that contains itself)"
)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unstorable from None


def encode(value: Any, where: str) -> Any:
    """``value`` as JSON-able data; SerializationError names ``where``, and the type or
    the path of the part that cannot be stored (an integer outside 64 bits, text with an
    unpaired surrogate)."""
    try:
        return _encode(value, where)
    except RecursionError as exc:
        found = unstorable(value, max_depth=MAX_DEPTH)
        at = f" (at {found[0]})" if found else ""
        raise SerializationError(f"cannot store {where}: {_TOO_DEEP}{at}") from exc
    except _Unstorable:
        found = unstorable(value, max_depth=1000)  # 1000: a cycle ends the walk too
        path, reason = found or ("a part of it", "it is past the limits of the stores")
        raise SerializationError(f"cannot store {where}: at {path}: {reason}") from None


def decode(data: Any) -> Any:
    """The inverse of :func:`encode`; CorruptCheckpointError if it cannot."""
    try:
        return _decode(data)
    except CorruptCheckpointError:
        raise
    except Exception as exc:
        raise CorruptCheckpointError(f"stored data cannot be decoded: {exc!r}") from exc


def dumps(value: Any, *, where: str = "a value") -> bytes:
    """Encode ``value``; ``where`` names it in errors (e.g. "channel 'messages'")."""
    return json.dumps(encode(value, where), separators=(",", ":"), allow_nan=True).encode()


def loads(data: bytes | str) -> Any:
    """Decode what :func:`dumps` produced. CorruptCheckpointError if it cannot."""
    try:
        raw = json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:
        raise CorruptCheckpointError(f"stored data is not valid JSON: {exc!r}") from exc
    return decode(raw)

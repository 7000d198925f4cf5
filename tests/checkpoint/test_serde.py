"""The value encoding of checkpoints: JSON with typed extensions, never pickle.

Property tests prove that ``loads(dumps(x))`` gives back ``x`` with the same types, for
nested containers of every supported type. Hypothesis runs derandomized (a fixed seed
per test, no example database), so CI sees the same examples every run.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import os
import zoneinfo
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scopegraph import Send
from scopegraph.checkpoint import CorruptCheckpointError, SerializationError, register_type
from scopegraph.checkpoint._serde import dumps, loads

INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
"""What every store keeps (a 64-bit integer); larger ones are refused."""

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    # Fixed examples in CI; SCOPEGRAPH_HYPOTHESIS_EXPLORE=1 explores new ones locally.
    derandomize=os.environ.get("SCOPEGRAPH_HYPOTHESIS_EXPLORE") != "1",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Color(enum.Enum):
    RED = "red"
    GREEN = 2


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    R = 1
    W = 2


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: float


@dataclasses.dataclass
class Box:
    label: str
    content: Any
    items: list[Any] = dataclasses.field(default_factory=list)
    computed: int = dataclasses.field(init=False, default=0)


@dataclasses.dataclass(frozen=True, slots=True)
class Slotted:
    name: str
    point: Point


class Inner(pydantic.BaseModel):
    when: datetime.datetime
    amount: decimal.Decimal


class Model(pydantic.BaseModel):
    name: str
    tags: list[str]
    inner: Inner | None = None
    payload: Any = None
    user_id: int = pydantic.Field(default=0, alias="userId")


class Flexible(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")

    name: str


class Money:
    """A class unknown to the serializer until registered."""

    def __init__(self, cents: int, currency: str) -> None:
        self.cents = cents
        self.currency = currency

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and (self.cents, self.currency) == (
            other.cents,
            other.currency,
        )

    def __hash__(self) -> int:
        return hash((self.cents, self.currency))


register_type(Money, "tests.Money", lambda m: [m.cents, m.currency], lambda v: Money(*v))


def same(a: Any, b: Any) -> bool:
    """Equal AND of the same types all the way down (``==`` alone says 1 == 1.0 == True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and repr(a) == repr(b))
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        for key, value in a.items():
            matches = [k for k in b if same(k, key)]
            if len(matches) != 1 or not same(b[matches[0]], value):
                return False
        return True
    if isinstance(a, set | frozenset):
        return len(a) == len(b) and all(any(same(x, y) for y in b) for x in a)
    if isinstance(a, datetime.datetime | datetime.time):
        return (a, a.utcoffset(), a.tzinfo, a.fold) == (b, b.utcoffset(), b.tzinfo, b.fold)
    if isinstance(a, Send):
        return same(a.node, b.node) and same(a.arg, b.arg)
    if isinstance(a, Box):
        return same(dataclasses.astuple(a), dataclasses.astuple(b))
    if isinstance(a, pydantic.BaseModel):
        return same(dict(a), dict(b))
    return bool(a == b)


# -- strategies --------------------------------------------------------------------------

offsets = st.timedeltas(
    min_value=datetime.timedelta(hours=-23, minutes=-59),
    max_value=datetime.timedelta(hours=23, minutes=59),
)
timezones = st.none() | st.builds(datetime.timezone, offsets)
zones = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]).map(
    zoneinfo.ZoneInfo
)

hashable_leaves = (
    st.none()
    | st.booleans()
    | INTS
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes(timezones=timezones)
    | st.dates()
    | st.times(timezones=timezones)
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.sampled_from([*Color, *Level, Perm.R, Perm.R | Perm.W])
    | st.builds(Point, INTS, st.floats(allow_nan=False))
    | st.builds(Money, INTS, st.text(max_size=3))
)
hashables = st.recursive(
    hashable_leaves,
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=5,
)
leaves = (
    hashable_leaves
    | st.floats()  # NaN and infinities too
    | st.decimals()
    | st.datetimes(timezones=zones)
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(hashables, inner, max_size=3)  # non-str keys
        | st.dictionaries(st.just("$t") | st.text(max_size=3), inner, min_size=1, max_size=3)
        | st.lists(inner, max_size=4).map(tuple)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
        | st.builds(Box, st.text(max_size=5), inner, st.lists(inner, max_size=2))
        | st.builds(Slotted, st.text(max_size=5), st.builds(Point, INTS, st.just(0.5)))
        | st.builds(Send, st.text(max_size=5), inner)
    )


values = st.recursive(leaves, containers, max_leaves=20)

models = st.builds(
    Model,
    name=st.text(max_size=5),
    tags=st.lists(st.text(max_size=3), max_size=3),
    inner=st.none()
    | st.builds(
        Inner,
        when=st.datetimes(timezones=timezones),
        amount=st.decimals(allow_nan=False, allow_infinity=False, places=2),
    ),
    payload=values,
    userId=INTS,
)


# -- round trips -------------------------------------------------------------------------


@PROPERTY
@given(values)
def test_nested_values_of_every_supported_type_round_trip(value: Any) -> None:
    assert same(loads(dumps(value)), value)


@PROPERTY
@given(models)
def test_pydantic_models_round_trip_even_with_aliased_fields(model: Model) -> None:
    assert same(loads(dumps(model)), model)


@PROPERTY
@given(st.dictionaries(st.text(max_size=3), values, max_size=3))
def test_dicts_with_a_tag_key_round_trip(value: dict[str, Any]) -> None:
    value["$t"] = "tuple"
    assert same(loads(dumps(value)), value)


@PROPERTY
@given(st.datetimes(timezones=zones))
def test_zoneinfo_datetimes_keep_their_zone(value: datetime.datetime) -> None:
    back = loads(dumps(value))
    assert back == value
    assert back.tzinfo is value.tzinfo
    assert back.fold == value.fold


def test_dataclass_fields_not_in_init_round_trip() -> None:
    box = Box("label", {"k": (1, 2)})
    box.computed = 7

    back = loads(dumps(box))

    assert same(back, box)
    assert back.computed == 7


def test_pydantic_extra_fields_round_trip() -> None:
    model = Flexible.model_validate({"name": "x", "extra_field": (1, 2)})

    back = loads(dumps(model))

    assert back == model
    assert back.model_extra == {"extra_field": (1, 2)}


def test_the_encoding_is_plain_json() -> None:
    assert json.loads(dumps({"a": [1, "b", None, True, 1.5]})) == {"a": [1, "b", None, True, 1.5]}
    assert json.loads(dumps((1, 2))) == {"$t": "tuple", "v": [1, 2]}


# -- errors ------------------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (object(), "builtins.object"),
        (lambda: None, "builtins.function"),
        ({"deep": [1, (2, {Opaque()})]}, "Opaque"),
        (iter([1]), "builtins.list_iterator"),
    ],
    ids=["object", "lambda", "nested", "iterator"],
)
def test_an_unsupported_type_raises_naming_where_and_the_type(value: Any, type_name: str) -> None:
    with pytest.raises(SerializationError) as raised:
        dumps(value, where="channel 'messages'")

    assert "channel 'messages'" in str(raised.value)
    assert type_name in str(raised.value)
    assert "register_type" in str(raised.value)


def test_a_class_defined_in_a_function_fails_at_write_time() -> None:
    @dataclasses.dataclass
    class Local:
        x: int

    with pytest.raises(SerializationError, match=r"channel 'c'.*module level"):
        dumps(Local(1), where="channel 'c'")


def test_a_value_that_contains_itself_raises_serialization_error() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)

    with pytest.raises(SerializationError, match=r"channel 'c'.*cycle"):
        dumps(cycle, where="channel 'c'")


@pytest.mark.parametrize("tag", ["dataclass", "enum", "pydantic"])
def test_a_stored_class_of_a_module_not_imported_raises_corrupt(tag: str) -> None:
    stored = json.dumps({"$t": tag, "c": "not_imported_module_xyz:Thing", "v": {}})

    with pytest.raises(CorruptCheckpointError, match="not_imported_module_xyz"):
        loads(stored)


@pytest.mark.parametrize(
    "stored",
    [
        b"\xff\xfe not json",
        b'{"$t": "no-such-tag", "v": 1}',
        b'{"$t": "dataclass", "c": "' + __name__.encode() + b':Opaque", "v": {}}',
        b'{"$t": "enum", "c": "' + __name__.encode() + b':Color", "v": "purple"}',
        b'{"$t": "datetime", "v": "yesterday"}',
        b"[" * 100_000,
    ],
    ids=["binary", "unknown-tag", "not-a-dataclass", "bad-enum-value", "bad-date", "deep"],
)
def test_undecodable_data_raises_corrupt(stored: bytes) -> None:
    with pytest.raises(CorruptCheckpointError):
        loads(stored)


# -- register_type -----------------------------------------------------------------------


def test_a_registered_type_round_trips_inside_other_values() -> None:
    value = {"price": Money(250, "EUR"), "history": [Money(1, "USD")]}

    back = loads(dumps(value))

    assert back == value
    assert json.loads(dumps(Money(1, "USD"))) == {"$t": "tests.Money", "v": [1, "USD"]}


@pytest.mark.parametrize("tag", ["tuple", "dict", "dataclass", "pydantic", "send"])
def test_register_type_refuses_reserved_tags(tag: str) -> None:
    class Other:
        pass

    with pytest.raises(ValueError, match=f"tag '{tag}' is reserved"):
        register_type(Other, tag, lambda o: None, lambda v: Other())


def test_register_type_refuses_a_tag_taken_by_another_class() -> None:
    class Other:
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_type(Other, "tests.Money", lambda o: None, lambda v: Other())
    assert loads(dumps(Money(3, "GBP"))) == Money(3, "GBP")


def test_register_type_refuses_natively_serialized_types() -> None:
    with pytest.raises(ValueError, match="natively"):
        register_type(tuple, "tests.tuple", list, tuple)


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({"a": [1, {"b": 2**64}]}, "a[1].b", "64-bit"),
        ({"a": -(2**63) - 1}, "a", "64-bit"),
        ({"text": ["ok", "x\ud800"]}, "text[1]", "surrogate"),
        ({"k\udfff": 1}, "['k\\udfff']", "surrogate"),
        ((1, Point(2**70, 0.5)), "[1].x", "64-bit"),
    ],
)
def test_a_value_past_the_stores_limits_raises_naming_its_path(
    value: Any, path: str, reason: str
) -> None:
    with pytest.raises(SerializationError) as raised:
        dumps(value, where="channel 'c'")
    message = str(raised.value)
    assert message.startswith(f"cannot store channel 'c': at {path}: "), message
    assert reason in message


def test_the_64_bit_bounds_are_stored() -> None:
    for value in (-(2**63), 2**64 - 1):
        assert loads(dumps({"n": value})) == {"n": value}

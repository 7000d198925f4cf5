"""State schemas: which keys a graph has, how each key is reduced, and how input is checked.

A schema is a TypedDict, a dataclass or a pydantic model. Each field becomes a channel:
last-value by default, or reduced with the function given by ``Annotated[T, reducer]``.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._errors import GraphValidationError, InvalidInputError

__all__ = ("Channel", "StateSchema", "MISSING")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

Reducer = Callable[[Any, Any], Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    """One state key: its name, its reducer (``None`` for last-value) and its initial value."""

    name: str
    reducer: Reducer | None
    initial: Callable[[], Any] | None
    """Makes the value a reducer channel starts from (``list`` for ``Annotated[list, add]``)."""


def _is_typeddict(tp: type) -> bool:
    # typing.is_typeddict misses typing_extensions.TypedDict classes on Python 3.11.
    return typing.is_typeddict(tp) or (
        issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__required_keys__")
    )


def _is_pydantic_model(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_fields") and hasattr(tp, "model_validate")


def _takes_two_positional(fn: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature, e.g. operator.add
        return True
    try:
        sig.bind(object(), object())
    except TypeError:
        return False
    return True


def _initial_for(tp: Any) -> Callable[[], Any] | None:
    origin = typing.get_origin(tp) or tp
    if isinstance(origin, type):
        try:
            origin()
        except Exception:
            return None
        return typing.cast(Callable[[], Any], origin)
    return None


def _channel_for(schema_name: str, key: str, annotation: Any) -> Channel:
    if typing.get_origin(annotation) is not typing.Annotated:
        return Channel(key, None, None)
    base, *extras = typing.get_args(annotation)
    reducers = [extra for extra in extras if callable(extra) and not isinstance(extra, type)]
    if not reducers:
        return Channel(key, None, None)
    reducer = reducers[-1]
    if not _takes_two_positional(reducer):
        raise GraphValidationError(
            f"the reducer of {schema_name}.{key} ({getattr(reducer, '__name__', reducer)!r}) "
            "must take two positional arguments (current, update), e.g. "
            f"Annotated[list, operator.add]; fix its signature or remove it"
        )
    return Channel(key, reducer, _initial_for(base))


class StateSchema:
    """The channels of one schema class, plus how to check input against it."""

    __slots__ = ("channels", "cls", "kind", "name")

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        self.name: str = getattr(cls, "__name__", repr(cls))
        if _is_pydantic_model(cls):
            self.kind = "pydantic"
        elif dataclasses.is_dataclass(cls) and isinstance(cls, type):
            self.kind = "dataclass"
        elif isinstance(cls, type) and _is_typeddict(cls):
            self.kind = "typeddict"
        elif cls is dict:
            self.kind = "dict"
        else:
            raise GraphValidationError(
                f"state schema {self.name} is not supported: use a TypedDict, a dataclass "
                "or a pydantic BaseModel, e.g. class State(TypedDict): messages: list"
            )
        self.channels: dict[str, Channel] = {}
        if self.kind == "dict":
            return
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:  # forward references that cannot be resolved
            raise GraphValidationError(
                f"cannot read the annotations of state schema {self.name}: {exc}; "
                "define the types it refers to before the schema"
            ) from exc
        if self.kind == "pydantic":
            names = list(cls.model_fields)
        elif self.kind == "dataclass":
            names = [f.name for f in dataclasses.fields(cls)]
        else:
            names = list(hints)
        for key in names:
            self.channels[key] = _channel_for(self.name, key, hints.get(key, Any))

    # -- input ---------------------------------------------------------------------------

    def coerce_input(
        self, value: Any, *, allowed: Mapping[str, Channel], strict: bool = False
    ) -> dict[str, Any]:
        """Turn run input into a ``{key: value}`` update, or raise InvalidInputError.

        Keys that are not in the schema are dropped, as LangGraph does; with ``strict``
        (``compile(strict=True)``) they raise InvalidInputError naming them.
        """
        if self.kind == "pydantic":
            if isinstance(value, self.cls):
                return {k: getattr(value, k) for k in value.model_fields_set}
            if not isinstance(value, Mapping):
                raise InvalidInputError(
                    f"the input must be a {self.name} or a dict of its fields, "
                    f"not {type(value).__name__}"
                )
            try:
                model = self.cls.model_validate(dict(value))
            except Exception as exc:
                raise InvalidInputError(
                    f"the input does not match the state schema {self.name}: {exc}"
                ) from exc
            return {k: getattr(model, k) for k in model.model_fields_set}
        if self.kind == "dataclass" and isinstance(value, self.cls):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if not isinstance(value, Mapping):
            raise InvalidInputError(
                f"the input must be a dict with keys of {self.name}, "
                f"not {type(value).__name__}: pass e.g. graph.ainvoke({{...}})"
            )
        if self.kind != "dict":
            unknown = [k for k in value if k not in allowed]
            if unknown and not strict:
                return {k: v for k, v in value.items() if k in allowed}
            if unknown:
                raise InvalidInputError(
                    f"the input has keys that are not in the state schema {self.name}: "
                    f"{', '.join(map(repr, unknown))}; the schema's keys are "
                    f"{', '.join(map(repr, allowed))}. Remove them or add them to the schema"
                )
        return dict(value)

    # -- node input ----------------------------------------------------------------------

    def view(self, values: dict[str, Any]) -> Any:
        """What a node whose input schema is this one receives."""
        if self.kind == "pydantic" or self.kind == "dataclass":
            return self.cls(**{k: values[k] for k in self.channels if k in values})
        if self.kind == "dict":
            return dict(values)
        return {k: values[k] for k in self.channels if k in values}

    def object_to_update(self, value: Any) -> dict[str, Any] | None:
        """The update carried by a schema instance a node returned, else ``None``."""
        if self.kind == "pydantic" and isinstance(value, self.cls):
            return {k: getattr(value, k) for k in value.model_fields_set}
        if self.kind == "dataclass" and isinstance(value, self.cls):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return None

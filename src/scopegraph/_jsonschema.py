"""JSON schemas of a graph's input, output and context, as LangGraph's
``get_input_jsonschema()`` / ``get_output_jsonschema()`` / ``get_context_jsonschema()``
(an integration: it needs pydantic, which the core never imports; registered as
``"json schema"`` in :mod:`scopegraph._lazy`).

A pydantic model describes itself; a TypedDict is described by pydantic's
``TypeAdapter``; a dataclass (or a TypedDict pydantic refuses) becomes a model of its
fields, each required unless it has a default, is optional, or is ``NotRequired``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pydantic

__all__ = ("context_jsonschema", "state_jsonschema", "value_jsonschema")


def _base(hint: Any) -> Any:
    """``Annotated[T, reducer]`` is T, ``Required[T]`` / ``NotRequired[T]`` are T."""
    while typing.get_origin(hint) is typing.Annotated or getattr(hint, "__origin__", None) in (
        typing.Required,
        typing.NotRequired,
    ):
        hint = typing.get_args(hint)[0]
    return hint


def _default(name: str, hint: Any, cls: Any) -> Any:
    """A field's default as LangGraph gives it: ``...`` for a required field."""
    if name in getattr(cls, "__optional_keys__", ()):
        return None
    if dataclasses.is_dataclass(cls):
        field = next((f for f in dataclasses.fields(cls) if f.name == name), None)
        if field is not None and field.default is not dataclasses.MISSING:
            return field.default
        if field is not None and field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
    base = _base(hint)
    args = typing.get_args(base)
    if type(None) in args or base is None or base is Any:
        return None
    return ...


def _is_typeddict(cls: Any) -> bool:
    # typing.is_typeddict misses typing_extensions.TypedDict classes on Python 3.11.
    return typing.is_typeddict(cls) or hasattr(cls, "__required_keys__")


def state_jsonschema(cls: Any, name: str) -> dict[str, Any]:
    """The JSON schema of a state, input or output schema class."""
    if isinstance(cls, type) and issubclass(cls, pydantic.BaseModel):
        return cls.model_json_schema()
    if _is_typeddict(cls):
        try:
            return pydantic.TypeAdapter(cls).json_schema()
        except pydantic.PydanticUserError:  # typing.TypedDict before Python 3.12
            pass
    hints = typing.get_type_hints(cls, include_extras=True) if cls is not dict else {}
    fields: dict[str, Any] = {k: (_base(h), _default(k, h, cls)) for k, h in hints.items()}
    model: type[pydantic.BaseModel] = pydantic.create_model(name, **fields)
    return model.model_json_schema()


def value_jsonschema(tp: Any, title: str) -> dict[str, Any]:
    """The JSON schema of any type (an entrypoint's input or output), titled ``title``
    (LangGraph's root model schema)."""
    schema: dict[str, Any] = pydantic.TypeAdapter(tp).json_schema()
    return {**schema, "title": title}


def context_jsonschema(schema: Any) -> dict[str, Any] | None:
    """The JSON schema of a ``context_schema`` (None without one)."""
    if schema is None:
        return None
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema.model_json_schema()
    if _is_typeddict(schema) or dataclasses.is_dataclass(schema):
        return pydantic.TypeAdapter(schema).json_schema()
    raise ValueError(
        f"Invalid context schema type: {schema}. Must be a BaseModel, TypedDict or dataclass."
    )

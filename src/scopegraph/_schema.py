"""State schemas: which keys a graph has, how each key is reduced, and how input is checked.

A schema is a TypedDict, a dataclass or a pydantic model. Each field becomes a channel:
last-value by default, or reduced with the function given by ``Annotated[T, reducer]``.
A key annotated ``RemainingSteps`` or ``IsLastStep`` is a *managed value*: no channel,
nodes read it (the steps left before the recursion limit, whether this is the last one).
Any other type (``list``, ``Annotated[list, operator.add]``, ``str``) is a *root* state,
as in LangGraph: one channel, ``__root__``, whose value is the whole state; nodes get
it and return its new value, and the run's output is that value.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import typing
import weakref
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final

from ._errors import GraphValidationError, InvalidInputError

__all__ = (
    "MISSING",
    "ROOT",
    "Channel",
    "IsLastStep",
    "IsLastStepManager",
    "RemainingSteps",
    "RemainingStepsManager",
    "StateSchema",
    "fields_of",
    "is_keyed_schema",
    "managed_values",
)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

ROOT: Final = "__root__"
"""The one channel of a root state (LangGraph's name for it)."""

Reducer = Callable[[Any, Any], Any]


class RemainingStepsManager:
    """Marks a managed key: the steps this run may still take (LangGraph's
    ``RemainingStepsManager``)."""


class IsLastStepManager:
    """Marks a managed key: whether this step is the last the recursion limit allows."""


RemainingSteps = Annotated[int, RemainingStepsManager]
"""``remaining_steps: RemainingSteps``: nodes read how many steps the run has left."""

IsLastStep = Annotated[bool, IsLastStepManager]
"""``is_last_step: IsLastStep``: nodes read whether this step is the run's last."""

_MANAGERS: Final = {"RemainingStepsManager": "remaining", "IsLastStepManager": "last"}
"""Managed markers by class name: scopegraph's, and LangGraph's own for graphs that keep
their ``langgraph.managed`` imports."""


def _managed_kind(annotation: Any) -> str | None:
    while typing.get_origin(annotation) in (typing.Required, typing.NotRequired):
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    for extra in typing.get_args(annotation)[1:]:
        if isinstance(extra, type) and extra.__name__ in _MANAGERS:
            return _MANAGERS[extra.__name__]
    return None


def managed_values(managed: Mapping[str, str], remaining: int) -> dict[str, Any]:
    """The values of managed keys for a step that leaves ``remaining`` steps."""
    return {
        key: remaining if kind == "remaining" else remaining == 1 for key, kind in managed.items()
    }


@dataclasses.dataclass(frozen=True, slots=True)
class Channel:
    """One state key: its name, its reducer (``None`` for last-value) and its initial value."""

    name: str
    reducer: Reducer | None
    initial: Callable[[], Any] | None
    """Makes the value a reducer channel starts from (``list`` for ``Annotated[list, add]``)."""
    untracked: bool = False
    """LangGraph's ``Annotated[T, UntrackedValue]``: a last value that is never stored."""
    ephemeral: bool = False
    """LangGraph's ``Annotated[T, EphemeralValue]``: a last value that the step after the
    one that wrote it sees, cleared after any step that does not write it (the input
    counts as a step): ``create_agent``'s ``jump_to``, read once by the edge it routes."""


_FIELD_KEYS: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _annotated_keys(cls: type) -> tuple[str, ...]:
    keys = _FIELD_KEYS.get(cls)
    if keys is None:
        if _is_pydantic_model(cls):
            keys = tuple(cls.model_fields)  # type: ignore[attr-defined]
        elif dataclasses.is_dataclass(cls):
            keys = tuple(f.name for f in dataclasses.fields(cls))
        else:
            found: dict[str, None] = {}
            for base in reversed(cls.__mro__):
                try:
                    found.update(dict.fromkeys(inspect.get_annotations(base)))
                except TypeError:  # not a class, module or callable
                    continue
            keys = tuple(found)
        keys = _FIELD_KEYS.setdefault(cls, keys)
    return keys


def fields_of(value: Any) -> list[tuple[str, Any]] | None:
    """The writes carried by an object whose class declares fields (a pydantic model, a
    dataclass, any annotated class), or None for other objects.

    As LangGraph reads them: a field is written when its value is not None, its default
    is not None, or (pydantic) it was set explicitly; so a node may return its state
    object, changed in place, and a nested model left at its default is kept.
    """
    keys = _annotated_keys(type(value))
    if not keys:
        return None
    if _is_pydantic_model(type(value)):
        keep: Any = value.model_fields_set
        defaults = {k: f.default for k, f in type(value).model_fields.items()}
    else:
        keep, defaults = (), {}
    writes = []
    for key in keys:
        item = getattr(value, key, MISSING)
        if item is MISSING:
            continue
        if item is not None or defaults.get(key, MISSING) is not None or key in keep:
            writes.append((key, item))
    return writes


def _is_typeddict(tp: type) -> bool:
    # typing.is_typeddict misses typing_extensions.TypedDict classes on Python 3.11.
    return typing.is_typeddict(tp) or (
        issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__required_keys__")
    )


def is_keyed_schema(tp: Any) -> bool:
    """Whether ``tp`` is a schema with keys: a TypedDict (``typing`` or
    ``typing_extensions``), a dataclass or a pydantic model."""
    return isinstance(tp, type) and (
        _is_typeddict(tp) or dataclasses.is_dataclass(tp) or _is_pydantic_model(tp)
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


_ABSTRACT_INITIAL: Final[dict[Any, type]] = {
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: set,
    collections.abc.MutableSet: set,
    collections.abc.Mapping: dict,
    collections.abc.MutableMapping: dict,
}
"""What a reducer channel of an abstract collection type starts from (as LangGraph)."""


def _initial_for(tp: Any) -> Callable[[], Any] | None:
    origin = typing.get_origin(tp) or tp
    origin = _ABSTRACT_INITIAL.get(origin, origin)
    if isinstance(origin, type):
        try:
            origin()
        except Exception:
            return None
        return typing.cast(Callable[[], Any], origin)
    return None


def _is_untracked_value(extra: Any) -> bool:
    """LangGraph's ``UntrackedValue`` channel class (recognized without importing it)."""
    return (
        isinstance(extra, type)
        and extra.__name__ == "UntrackedValue"
        and extra.__module__.startswith("langgraph.")
    )


def _is_ephemeral_value(extra: Any) -> bool:
    """LangGraph's ``EphemeralValue`` (the class, or an instance with one value per step),
    recognized without importing it."""
    if isinstance(extra, type):
        return extra.__name__ == "EphemeralValue" and extra.__module__.startswith("langgraph.")
    return _langgraph_channel(extra, "EphemeralValue") and extra.guard is True


_QUALIFIERS = (typing.Required, typing.NotRequired)


def _langgraph_channel(extra: Any, name: str) -> bool:
    """Whether ``extra`` is an instance of LangGraph's channel class ``name`` (recognized
    without importing LangGraph)."""
    cls = type(extra)
    return cls.__name__ == name and cls.__module__.startswith("langgraph.")


class _BatchReducer:
    """LangGraph's ``DeltaChannel(reducer)``: ``reducer(state, [writes])``, folded one
    write at a time (the same result: LangGraph requires the reducer to be
    batching-invariant). Stored as a plain value, as every reducer channel's."""

    __slots__ = ("reducer",)

    def __init__(self, reducer: Callable[[Any, list[Any]], Any]) -> None:
        self.reducer = reducer

    def __call__(self, current: Any, update: Any) -> Any:
        return self.reducer(current, [update])


def _channel_for(schema_name: str, key: str, annotation: Any) -> Channel:
    while typing.get_origin(annotation) in _QUALIFIERS:  # Required[Annotated[list, add]]
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is not typing.Annotated:
        return Channel(key, None, None)
    base, *extras = typing.get_args(annotation)
    if any(_is_untracked_value(extra) for extra in extras):
        return Channel(key, None, None, untracked=True)
    if any(_is_ephemeral_value(extra) for extra in extras):
        return Channel(key, None, None, ephemeral=True)
    for extra in reversed(extras):  # LangGraph's reducer channels, given as instances
        if _langgraph_channel(extra, "DeltaChannel"):
            return Channel(key, _BatchReducer(extra.reducer), _initial_for(base))
        if _langgraph_channel(extra, "BinaryOperatorAggregate"):
            return Channel(key, extra.operator, _initial_for(base))
    reducers = [extra for extra in extras if callable(extra) and not isinstance(extra, type)]
    if not reducers:
        return Channel(key, None, None)
    reducer = reducers[-1]
    if not _takes_two_positional(reducer):
        raise GraphValidationError(
            "Invalid reducer signature. Expected (a, b) -> c. "
            f"The reducer of {schema_name}.{key} ({getattr(reducer, '__name__', reducer)!r}) "
            "must take two positional arguments (current, update), e.g. "
            f"Annotated[list, operator.add]; fix its signature or remove it"
        )
    return Channel(key, reducer, _initial_for(base))


class StateSchema:
    """The channels of one schema class, plus how to check input against it."""

    __slots__ = ("channels", "cls", "keys", "kind", "managed", "name")

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        self.name: str = getattr(cls, "__name__", repr(cls))
        self.channels: dict[str, Channel] = {}
        self.managed: dict[str, str] = {}
        """Managed keys (``RemainingSteps``, ``IsLastStep``): key -> kind."""
        self.keys: tuple[str, ...] = ()
        """What a node with this input schema reads: its channels and managed keys."""
        if _is_pydantic_model(cls):
            self.kind = "pydantic"
        elif dataclasses.is_dataclass(cls) and isinstance(cls, type):
            self.kind = "dataclass"
        elif isinstance(cls, type) and _is_typeddict(cls):
            self.kind = "typeddict"
        elif cls is dict:
            self.kind = "dict"
        elif not isinstance(cls, type) or not hasattr(cls, "__annotations__"):
            # LangGraph's rule: a type without annotated keys is the state itself.
            self.kind = "root"
            self.channels[ROOT] = _channel_for(self.name, ROOT, cls)
            return
        else:
            # A plain class with annotations: its annotations are the keys and the state
            # is a dict, as for a TypedDict (LangGraph's reading).
            self.kind = "typeddict"
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
            annotation = hints.get(key, Any)
            kind = _managed_kind(annotation)
            if kind is not None:
                self.managed[key] = kind
            else:
                self.channels[key] = _channel_for(self.name, key, annotation)
        self.keys = (*self.channels, *self.managed)

    # -- input ---------------------------------------------------------------------------

    def coerce_input(
        self, value: Any, *, allowed: Mapping[str, Channel], strict: bool = False
    ) -> dict[str, Any]:
        """Turn run input into a ``{key: value}`` update, or raise InvalidInputError.

        Keys that are not in the schema are dropped, as LangGraph does; with ``strict``
        (``compile(strict=True)``) they raise InvalidInputError naming them.

        A dict input to a pydantic state is written as it is, as in LangGraph: it goes
        through the keys' reducers first, and the model validates it when a node reads
        the state (pydantic's ``ValidationError``). With ``strict`` it is validated here
        (InvalidInputError naming the schema).
        """
        if self.kind == "root":
            return {} if value is None else {ROOT: value}
        if self.kind == "pydantic":
            if isinstance(value, self.cls):
                return dict(fields_of(value) or ())
            if not isinstance(value, Mapping):
                raise InvalidInputError(
                    f"the input must be a {self.name} or a dict of its fields, "
                    f"not {type(value).__name__}"
                )
            if strict:
                try:
                    self.cls.model_validate(dict(value))
                except Exception as exc:
                    raise InvalidInputError(
                        f"the input does not match the state schema {self.name}: {exc}"
                    ) from exc
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
            return self.cls(**{k: values[k] for k in self.keys if k in values})
        if self.kind == "dict":
            return dict(values)
        if self.kind == "root":
            return values.get(ROOT)
        return {k: values[k] for k in self.keys if k in values}

    def object_to_update(self, value: Any) -> dict[str, Any] | None:
        """The update carried by a schema instance a node returned, else ``None``."""
        if self.kind == "pydantic" and isinstance(value, self.cls):
            return {k: getattr(value, k) for k in value.model_fields_set}
        if self.kind == "dataclass" and isinstance(value, self.cls):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return None

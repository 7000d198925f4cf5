"""The store's data: items, the four operations, the TTL and index configs, and the
namespace rules (LangGraph's ``langgraph.store.base`` names and semantics)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypedDict

__all__ = (
    "NOT_PROVIDED",
    "AEmbeddingsFunc",
    "EmbeddingsFunc",
    "GetOp",
    "IndexConfig",
    "InvalidNamespaceError",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "TTLConfig",
    "coerce_ops",
    "ensure_refresh",
    "ensure_ttl",
    "validate_namespace",
    "validate_namespace_labels",
    "validate_op_namespace",
)


class NotProvided:
    """The type of :data:`NOT_PROVIDED`: "argument not given" where None means something."""

    __slots__ = ()

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_PROVIDED = NotProvided()


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Item:
    """A stored value with its place (``namespace``, ``key``) and its timestamps.

    Two items are equal when all five fields are; an item hashes by its place.
    """

    __slots__ = ("created_at", "key", "namespace", "updated_at", "value")

    def __init__(
        self,
        *,
        value: dict[str, Any],
        key: str,
        namespace: tuple[str, ...],
        created_at: datetime | str,
        updated_at: datetime | str,
    ) -> None:
        self.value = value
        self.key = key
        self.namespace = tuple(namespace)
        self.created_at = _as_datetime(created_at)
        self.updated_at = _as_datetime(updated_at)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Item):
            return False
        return (
            self.value == other.value
            and self.key == other.key
            and self.namespace == other.namespace
            and self.created_at == other.created_at
            and self.updated_at == other.updated_at
        )

    def __hash__(self) -> int:
        return hash((self.namespace, self.key))

    def dict(self) -> dict[str, Any]:
        """The item as JSON-ready data (timestamps in ISO 8601)."""
        return {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.dict().items())
        return f"{type(self).__name__}({fields})"


class SearchItem(Item):
    """An item found by a search, with its similarity ``score`` (None without a query)."""

    __slots__ = ("score",)

    def __init__(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: dict[str, Any],
        created_at: datetime | str,
        updated_at: datetime | str,
        score: float | None = None,
    ) -> None:
        super().__init__(
            value=value, key=key, namespace=namespace, created_at=created_at, updated_at=updated_at
        )
        self.score = score

    def dict(self) -> dict[str, Any]:
        result = super().dict()
        result["score"] = self.score
        return result


class GetOp(NamedTuple):
    """Read one item by ``namespace`` and ``key``."""

    namespace: tuple[str, ...]
    key: str
    refresh_ttl: bool = True
    """Restart the item's TTL (if it has one)."""


class SearchOp(NamedTuple):
    """Items under ``namespace_prefix`` that match ``filter``, ranked by similarity to
    ``query`` when the store has an index, paginated by ``limit`` and ``offset``."""

    namespace_prefix: tuple[str, ...]
    filter: dict[str, Any] | None = None
    """Exact values, or operators: ``{"score": {"$gt": 4.99}}`` (``$eq``, ``$ne``, ``$gt``,
    ``$gte``, ``$lt``, ``$lte``); nested dicts match nested values."""
    limit: int = 10
    offset: int = 0
    query: str | None = None
    """Natural-language query for semantic search (needs the store's ``index``)."""
    refresh_ttl: bool = True


NamespacePath = tuple[str | Literal["*"], ...]
"""A namespace pattern; ``"*"`` matches any one label."""

NamespaceMatchType = Literal["prefix", "suffix"]


class MatchCondition(NamedTuple):
    """Namespaces that start (``"prefix"``) or end (``"suffix"``) with ``path``."""

    match_type: NamespaceMatchType
    path: NamespacePath


class ListNamespacesOp(NamedTuple):
    """The namespaces that meet every condition, cut to ``max_depth`` labels, sorted."""

    match_conditions: tuple[MatchCondition, ...] | None = None
    max_depth: int | None = None
    limit: int = 100
    offset: int = 0


class PutOp(NamedTuple):
    """Store ``value`` at ``namespace``/``key`` (``value=None`` deletes the item)."""

    namespace: tuple[str, ...]
    key: str
    value: Mapping[str, Any] | None
    index: Literal[False] | list[str] | None = None  # type: ignore[assignment]
    """The fields to embed: None the store's ``index["fields"]``, False none."""
    ttl: float | None = None
    """Minutes until the item expires (restarted by reads with ``refresh_ttl``)."""


Op = GetOp | SearchOp | PutOp | ListNamespacesOp
Result = Item | list[Item] | list[SearchItem] | list[tuple[str, ...]] | None

EmbeddingsFunc = Callable[[Sequence[str]], list[list[float]]]
"""A function that embeds texts: one vector of ``dims`` floats per text."""
AEmbeddingsFunc = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
"""The async form of :data:`EmbeddingsFunc`."""


class InvalidNamespaceError(ValueError):
    """A namespace the store cannot hold (empty, a label with ``.``, a label not a str)."""


class TTLConfig(TypedDict, total=False):
    """A store's TTL settings (``InMemoryStore(ttl=...)``, ``SqliteStore(..., ttl=...)``)."""

    refresh_on_read: bool
    """Reads restart an item's TTL unless they pass ``refresh_ttl=False`` (default True)."""
    omit_expired: bool
    """Reads skip expired items the sweeper has not deleted yet (default False)."""
    default_ttl: float | None
    """Minutes until a new item expires, when ``put`` passes no ``ttl`` (default None)."""
    sweep_interval_minutes: int | None
    """How often the sweeper deletes expired items (None: no sweeper)."""


class IndexConfig(TypedDict, total=False):
    """Semantic search: how items are embedded (``InMemoryStore(index=...)``)."""

    dims: int
    """The number of floats in each vector."""
    embed: Any
    """A LangChain ``Embeddings``, an :data:`EmbeddingsFunc` or :data:`AEmbeddingsFunc`,
    or a ``"provider:model"`` string (needs ``langchain``)."""
    fields: list[str] | None
    """JSON paths of the value to embed (default ``["$"]``, the whole value)."""


def validate_namespace_labels(namespace: tuple[str, ...]) -> None:
    """Raise InvalidNamespaceError for a label that is not a non-empty str without
    ``.`` or NUL."""
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels "
                f"must be strings, but got {type(label).__name__}."
            )
        if "." in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels "
                "cannot contain periods ('.')."
            )
        if "\x00" in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label '{label}' found in {namespace}. Namespace labels "
                "cannot contain NUL bytes ('\\x00')."
            )
        if not label:
            raise InvalidNamespaceError(
                f"Namespace labels cannot be empty strings. Got {label} in {namespace}"
            )


def validate_namespace(namespace: tuple[str, ...]) -> None:
    """The rules of a namespace written to: not empty, valid labels, not under
    ``"langgraph"`` (reserved)."""
    if not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    validate_namespace_labels(namespace)
    if namespace[0] == "langgraph":
        raise InvalidNamespaceError(
            f'Root label for namespace cannot be "langgraph". Got: {namespace}'
        )


def validate_op_namespace(op: Op) -> None:
    """Check the labels of an operation's namespace (prefixes may be empty)."""
    if isinstance(op, GetOp | PutOp):
        validate_namespace_labels(op.namespace)
    elif isinstance(op, SearchOp):
        validate_namespace_labels(op.namespace_prefix)
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            validate_namespace_labels(condition.path)


_OP_TYPES: dict[str, type[Any]] = {}


def coerce_ops(ops: Iterable[Any]) -> list[Op]:
    """The operations of a batch, checked: LangGraph's own op tuples (``langgraph.store.
    base.PutOp``...) are taken as ours; namespace labels are validated."""
    if not _OP_TYPES:
        _OP_TYPES.update(
            GetOp=GetOp, PutOp=PutOp, SearchOp=SearchOp, ListNamespacesOp=ListNamespacesOp
        )
    out: list[Op] = []
    for op in ops:
        if not isinstance(op, GetOp | PutOp | SearchOp | ListNamespacesOp):
            kind = _OP_TYPES.get(type(op).__name__)
            if kind is None or not isinstance(op, tuple):
                raise TypeError(
                    f"Unknown operation type: {type(op).__name__}; a store takes GetOp, "
                    "PutOp, SearchOp and ListNamespacesOp"
                )
            op = kind(*op)
            if isinstance(op, ListNamespacesOp) and op.match_conditions:
                conditions = tuple(MatchCondition(*c) for c in op.match_conditions)
                op = op._replace(match_conditions=conditions)
        validate_op_namespace(op)
        out.append(op)
    return out


def ensure_refresh(ttl_config: TTLConfig | None, refresh_ttl: bool | None = None) -> bool:
    """Whether a read restarts TTLs: the call's choice, else the store's, else True."""
    if refresh_ttl is not None:
        return refresh_ttl
    if ttl_config is not None:
        return ttl_config.get("refresh_on_read", True)
    return True


def ensure_ttl(
    ttl_config: TTLConfig | None, ttl: float | NotProvided | None = NOT_PROVIDED
) -> float | None:
    """A put's TTL: the call's, else the store's ``default_ttl``."""
    if isinstance(ttl, NotProvided):
        return ttl_config.get("default_ttl") if ttl_config else None
    return ttl

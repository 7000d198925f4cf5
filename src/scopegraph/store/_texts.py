"""Which texts a batch embeds: the indexed fields of its puts and its search queries."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ._embed import get_text_at_path, tokenize_path
from ._types import IndexConfig, Op, PutOp, SearchOp

__all__ = ("Texts", "texts_to_embed")


@dataclasses.dataclass(slots=True)
class Texts:
    """The texts to embed for one batch, and whose they are."""

    documents: list[str] = dataclasses.field(default_factory=list)
    owners: list[tuple[tuple[str, ...], str, str]] = dataclasses.field(default_factory=list)
    """``(namespace, key, field path)`` of each document, in the same order."""
    queries: list[str] = dataclasses.field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.documents and not self.queries

    def vectors_by_item(
        self, vectors: Sequence[Sequence[float]]
    ) -> dict[tuple[tuple[str, ...], str], dict[str, list[float]]]:
        """``{(namespace, key): {field path: vector}}`` for the embedded documents."""
        if len(vectors) != len(self.documents):
            raise ValueError(
                f"the embedding function returned {len(vectors)} vectors for "
                f"{len(self.documents)} texts; it must return one vector per text"
            )
        out: dict[tuple[tuple[str, ...], str], dict[str, list[float]]] = {}
        for (namespace, key, path), vector in zip(self.owners, vectors, strict=True):
            out.setdefault((namespace, key), {})[path] = [float(x) for x in vector]
        return out


def _fields(index: IndexConfig, put: PutOp) -> list[tuple[str, Any]]:
    if put.index is None:
        return [(f, f if f == "$" else tokenize_path(f)) for f in index.get("fields") or ["$"]]
    fields = put.index if isinstance(put.index, list) else []
    return [(f, f if f == "$" else tokenize_path(f)) for f in fields]


def texts_to_embed(ops: Sequence[Op], index: IndexConfig | None, embeddings: Any) -> Texts:
    """The documents of the batch's last put per item, and its distinct queries."""
    texts = Texts()
    if index is None or embeddings is None:
        return texts
    puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
    queries: dict[str, None] = {}
    for op in ops:
        if isinstance(op, PutOp):
            puts[op.namespace, op.key] = op
        elif isinstance(op, SearchOp) and op.query:
            queries[op.query] = None
    for (namespace, key), put in puts.items():
        if put.value is None or put.index is False:
            continue
        for path, tokens in _fields(index, put):
            found = get_text_at_path(put.value, tokens)
            for i, text in enumerate(found):
                texts.documents.append(text)
                texts.owners.append((namespace, key, f"{path}.{i}" if len(found) > 1 else path))
    texts.queries = list(queries)
    return texts


_INDEX_KEYS = frozenset(
    {"dims", "embed", "fields", "text_fields", "distance_type", "ann_index_config"}
)


def normalize_index(index: Any, store: str) -> IndexConfig | None:
    """``index=`` as the stores use it (``fields`` set), or a ValueError naming the
    problem. LangGraph's SQLite key ``text_fields`` is taken for ``fields``; similarity
    is cosine (``distance_type="cosine"``, the default, is the only one)."""
    if not index:
        return None
    if not isinstance(index, dict):
        raise TypeError(f"{store}(index=...) must be a dict, not {type(index).__name__}")
    unknown = set(index) - _INDEX_KEYS
    if unknown:
        raise ValueError(
            f"{store}(index=...) got unknown keys {sorted(unknown)}; it takes 'dims', "
            "'embed' and 'fields'"
        )
    if "embed" not in index:
        raise ValueError(f"{store}(index=...) needs 'embed': an Embeddings or a function")
    distance = index.get("distance_type", "cosine")
    if distance != "cosine":
        raise ValueError(
            f"{store}(index=...) distance_type={distance!r} is not supported: scopegraph's "
            "stores rank by cosine similarity; remove distance_type or set it to 'cosine'"
        )
    dims = index.get("dims")
    if dims is not None and (not isinstance(dims, int) or dims < 1):
        raise ValueError(f"{store}(index=...) dims must be a positive int, got {dims!r}")
    fields = index.get("fields") or index.get("text_fields") or ["$"]
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ValueError(f"{store}(index=...) fields must be a list of paths, got {fields!r}")
    config: IndexConfig = {"embed": index["embed"], "fields": list(fields)}
    if dims is not None:
        config["dims"] = dims
    return config

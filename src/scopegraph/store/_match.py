"""What every store decides the same way, in Python: filters, namespace conditions,
similarity ranking, and the listing of namespaces."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from typing import Any

from ._types import Item, ListNamespacesOp, MatchCondition, SearchItem, SearchOp

__all__ = (
    "COMBINATORS",
    "cosine_similarity",
    "list_namespaces",
    "matches_condition",
    "matches_filter",
    "rank",
    "validate_filter",
)

_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})


COMBINATORS = frozenset({"$or", "$and"})
"""Top-level keys of a filter whose value is a list of filters: any (``$or``) or all
(``$and``) of them must match. scopegraph's: LangGraph's stores compare a key of that
name; the server's store search uses them for custom auth's filters."""


def validate_filter(filter: dict[str, Any] | None) -> None:
    """Raise ValueError for an operator the stores do not know (anywhere in the filter)."""
    if not filter:
        return
    if not isinstance(filter, dict):
        raise TypeError(f"filter must be a dict, not {type(filter).__name__}")
    for key, value in filter.items():
        if key in COMBINATORS:
            if not isinstance(value, list) or not all(isinstance(f, dict) for f in value):
                raise ValueError(f"{key} takes a list of filters (dicts), got {value!r}")
            for each in value:
                validate_filter(each)
            continue
        if isinstance(value, dict):
            for op in value:
                if isinstance(op, str) and op.startswith("$") and op not in _OPERATORS:
                    raise ValueError(
                        f"Unsupported operator: {op}; use one of {', '.join(sorted(_OPERATORS))}"
                    )
            validate_filter({k: v for k, v in value.items() if not str(k).startswith("$")})


def _apply_operator(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    try:
        left, right = float(value), float(operand)
    except (TypeError, ValueError):
        return False  # a missing or non-numeric value is not in any range
    if operator == "$gt":
        return left > right
    if operator == "$gte":
        return left >= right
    if operator == "$lt":
        return left < right
    if operator == "$lte":
        return left <= right
    raise ValueError(f"Unsupported operator: {operator}")


def _compare(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            return all(_apply_operator(value, op, operand) for op, operand in wanted.items())
        if not isinstance(value, dict):
            return False
        return all(_compare(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list | tuple):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(wanted)
            and all(_compare(v, w) for v, w in zip(value, wanted, strict=True))
        )
    return bool(value == wanted)


_MISSING = object()


def _lookup(value: dict[str, Any], key: str) -> Any:
    """``value[key]``; a key not found that has dots is a path (``"user.name"``)."""
    found = value.get(key, _MISSING)
    if found is not _MISSING or "." not in key:
        return None if found is _MISSING else found
    current: Any = value
    for part in key.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def matches_filter(value: dict[str, Any], filter: dict[str, Any] | None) -> bool:
    """Whether a stored value meets every condition of ``filter``."""
    if not filter:
        return True
    for key, wanted in filter.items():
        if key == "$or":
            if not any(matches_filter(value, each) for each in wanted):
                return False
        elif key == "$and":
            if not all(matches_filter(value, each) for each in wanted):
                return False
        elif not _compare(_lookup(value, key), wanted):
            return False
    return True


def matches_condition(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """Whether ``namespace`` starts (or ends) with the condition's path; ``*`` is any label."""
    path = condition.path
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(
            f"Unsupported match type: {condition.match_type!r}; use 'prefix' or 'suffix'"
        )
    return all(p == "*" or n == p for n, p in pairs)


def list_namespaces(namespaces: Iterable[tuple[str, ...]], op: ListNamespacesOp) -> list[Any]:
    """The namespaces that meet ``op``'s conditions, cut to ``max_depth``, sorted, paged."""
    found = [
        ns for ns in namespaces if all(matches_condition(c, ns) for c in op.match_conditions or ())
    ]
    if op.max_depth is not None:
        unique = sorted({ns[: op.max_depth] for ns in found})
    else:
        unique = sorted(set(found))
    return unique[op.offset : op.offset + op.limit]


def _norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(map(operator.mul, vector, vector)))


def cosine_similarity(query: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """The cosine similarity of ``query`` with each vector (0.0 for a zero vector)."""
    qnorm = _norm(query)
    out: list[float] = []
    for vector in vectors:
        norm = _norm(vector)
        if qnorm == 0 or norm == 0:
            out.append(0.0)
        else:
            out.append(sum(map(operator.mul, query, vector)) / (qnorm * norm))
    return out


def rank(
    op: SearchOp,
    query_vector: Sequence[float],
    candidates: Sequence[tuple[Item, Sequence[Sequence[float]]]],
) -> list[SearchItem]:
    """A page of ``candidates`` ranked by their best vector's similarity to the query;
    items without vectors follow, unscored, to fill the page (LangGraph's order)."""
    scored: list[tuple[float, int, Item]] = []
    unscored: list[Item] = []
    qnorm = _norm(query_vector)
    for position, (item, vectors) in enumerate(candidates):
        if not vectors:
            unscored.append(item)
            continue
        best = 0.0 if qnorm == 0 else -math.inf
        for vector in vectors:
            norm = _norm(vector)
            score = (
                0.0
                if qnorm == 0 or norm == 0
                else (sum(map(operator.mul, query_vector, vector)) / (qnorm * norm))
            )
            best = max(best, score)
        scored.append((best, position, item))
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    page: list[SearchItem] = [
        _search_item(item, score) for score, _, item in scored[op.offset : op.offset + op.limit]
    ]
    if unscored and len(page) < op.limit:
        page.extend(_search_item(item, None) for item in unscored[: op.limit - len(page)])
    return page


def _search_item(item: Item, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=item.value,
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )


def page(op: SearchOp, items: Sequence[Item]) -> list[SearchItem]:
    """``items[offset:offset + limit]`` as unscored search results."""
    return [_search_item(item, None) for item in items[op.offset : op.offset + op.limit]]

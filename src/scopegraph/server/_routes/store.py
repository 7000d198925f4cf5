"""``/store/...``: the server's long-term memory (LangGraph's store API, the SDKs'
``client.store``): the store the served graphs get as ``runtime.store``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...store import BaseStore, InvalidNamespaceError, StoreError
from .._errors import InvalidRequestError, UnavailableError
from .._http import JSONResponse
from .._models import StoreDelete, StoreNamespaces, StorePut, StoreSearch
from ._deps import access_of

__all__ = ("router",)

router = APIRouter(prefix="/store", default_response_class=JSONResponse)


def _store(request: Request) -> BaseStore:
    store: BaseStore = request.app.state.store
    return store


def _namespace(text: str) -> tuple[str, ...]:
    namespace = tuple(text.split("."))
    if not text or any(not label for label in namespace):
        raise InvalidRequestError(
            f"namespace {text!r} is not a namespace: give its labels joined by dots, "
            "e.g. namespace=users.u1 (labels cannot be empty)"
        )
    return namespace


async def _call(call: Any) -> Any:
    try:
        return await call
    except StoreError as exc:  # its database failed: the request may succeed later
        raise UnavailableError(f"the store's database failed ({type(exc).__name__})") from exc
    except (InvalidNamespaceError, ValueError, TypeError, NotImplementedError) as exc:
        raise InvalidRequestError(str(exc)) from None


async def _authorized(request: Request, action: str, value: dict[str, Any]) -> Any:
    """Custom auth, when the app has it: the ``store.<action>`` handler may rewrite
    ``value`` (its namespace, as the docs' example scopes it to the user) or refuse (403);
    what it returns is a filter (``search`` uses it). The namespace it leaves must be a
    namespace (422)."""
    access = access_of(request)
    if access is None:
        return None
    result = await access.store(action, value)
    for key in ("namespace", "suffix"):
        if value.get(key) is not None:
            value[key] = _labels(value[key])
    return result


def _labels(namespace: Any) -> tuple[str, ...]:
    if not isinstance(namespace, (list, tuple)) or not all(
        isinstance(label, str) and label and "." not in label for label in namespace
    ):
        raise InvalidRequestError(
            f"the store auth handler left namespace {namespace!r}: it must be a tuple of "
            "non-empty labels without dots"
        )
    return tuple(namespace)


@router.put("/items", status_code=204)
async def put_item(body: StorePut, request: Request) -> Response:
    store = _store(request)
    value: dict[str, Any] = {
        "namespace": tuple(body.namespace),
        "key": body.key,
        "value": body.value,
        "index": body.index,
        "ttl": body.ttl,
    }
    await _authorized(request, "put", value)
    namespace, key, item, index = value["namespace"], value["key"], value["value"], value["index"]
    if "ttl" in body.model_fields_set or value["ttl"] != body.ttl:
        await _call(store.aput(namespace, key, item, index, ttl=value["ttl"]))
    else:
        await _call(store.aput(namespace, key, item, index))
    return Response(status_code=204)


@router.get("/items")
async def get_item(
    request: Request,
    namespace: Annotated[str, Query()],
    key: Annotated[str, Query(min_length=1)],
    refresh_ttl: Annotated[bool | None, Query()] = None,
) -> dict[str, Any] | None:
    value: dict[str, Any] = {"namespace": _namespace(namespace), "key": key}
    value["refresh_ttl"] = refresh_ttl
    await _authorized(request, "get", value)
    item = await _call(
        _store(request).aget(value["namespace"], value["key"], refresh_ttl=value["refresh_ttl"])
    )
    return None if item is None else item.dict()  # as LangGraph's server: 200 null


@router.delete("/items", status_code=204)
async def delete_item(body: StoreDelete, request: Request) -> Response:
    value: dict[str, Any] = {"namespace": tuple(body.namespace), "key": body.key}
    await _authorized(request, "delete", value)
    await _call(_store(request).adelete(value["namespace"], value["key"]))
    return Response(status_code=204)


@router.post("/items/search")
async def search_items(body: StoreSearch, request: Request) -> dict[str, Any]:
    value: dict[str, Any] = {
        "namespace": tuple(body.namespace_prefix),
        "filter": body.filter,
        "limit": body.limit,
        "offset": body.offset,
        "query": body.query,
        "refresh_ttl": body.refresh_ttl,
    }
    scope = await _authorized(request, "search", value)
    wanted = value["filter"]
    if scope and wanted and scope.keys() & wanted.keys():
        wanted = {"$and": [wanted, scope]}  # both: as LangGraph's server combines them
    elif scope:  # one filter, whose plain keys the SQL stores can pre-filter on
        wanted = {**(wanted or {}), **scope}
    items = await _call(
        _store(request).asearch(
            value["namespace"],
            query=value["query"],
            filter=wanted,
            limit=value["limit"],
            offset=value["offset"],
            refresh_ttl=value["refresh_ttl"],
        )
    )
    return {"items": [item.dict() for item in items]}


@router.post("/namespaces")
async def list_namespaces(body: StoreNamespaces, request: Request) -> dict[str, Any]:
    value: dict[str, Any] = {
        "namespace": tuple(body.prefix) if body.prefix else None,
        "suffix": tuple(body.suffix) if body.suffix else None,
        "max_depth": body.max_depth,
        "limit": body.limit,
        "offset": body.offset,
    }
    await _authorized(request, "list_namespaces", value)
    namespaces = await _call(
        _store(request).alist_namespaces(
            prefix=value["namespace"] or None,
            suffix=value["suffix"] or None,
            max_depth=value["max_depth"],
            limit=value["limit"],
            offset=value["offset"],
        )
    )
    return {"namespaces": [list(ns) for ns in namespaces]}

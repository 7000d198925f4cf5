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


@router.put("/items", status_code=204)
async def put_item(body: StorePut, request: Request) -> Response:
    store = _store(request)
    namespace = tuple(body.namespace)
    if "ttl" in body.model_fields_set:
        await _call(store.aput(namespace, body.key, body.value, body.index, ttl=body.ttl))
    else:
        await _call(store.aput(namespace, body.key, body.value, body.index))
    return Response(status_code=204)


@router.get("/items")
async def get_item(
    request: Request,
    namespace: Annotated[str, Query()],
    key: Annotated[str, Query(min_length=1)],
    refresh_ttl: Annotated[bool | None, Query()] = None,
) -> dict[str, Any] | None:
    item = await _call(_store(request).aget(_namespace(namespace), key, refresh_ttl=refresh_ttl))
    return None if item is None else item.dict()  # as LangGraph's server: 200 null


@router.delete("/items", status_code=204)
async def delete_item(body: StoreDelete, request: Request) -> Response:
    await _call(_store(request).adelete(tuple(body.namespace), body.key))
    return Response(status_code=204)


@router.post("/items/search")
async def search_items(body: StoreSearch, request: Request) -> dict[str, Any]:
    items = await _call(
        _store(request).asearch(
            tuple(body.namespace_prefix),
            query=body.query,
            filter=body.filter,
            limit=body.limit,
            offset=body.offset,
            refresh_ttl=body.refresh_ttl,
        )
    )
    return {"items": [item.dict() for item in items]}


@router.post("/namespaces")
async def list_namespaces(body: StoreNamespaces, request: Request) -> dict[str, Any]:
    namespaces = await _call(
        _store(request).alist_namespaces(
            prefix=tuple(body.prefix) if body.prefix else None,
            suffix=tuple(body.suffix) if body.suffix else None,
            max_depth=body.max_depth,
            limit=body.limit,
            offset=body.offset,
        )
    )
    return {"namespaces": [list(ns) for ns in namespaces]}

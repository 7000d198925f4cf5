"""Custom auth: handlers written with ``langgraph_sdk.Auth``, as LangGraph's server runs them.

A ``langgraph.json``'s ``auth.path`` (or ``scopegraph serve --auth FILE.py:auth``:
``scopegraph.server._serve.load_auth``), or ``create_app(auth=...)``, gives an ``Auth``
object. Then:

- **authentication** (:class:`AuthMiddleware`): every request to the API's resources
  (``/threads``, ``/runs``, ``/assistants``, ``/store``; not ``/ok``, ``/info``,
  ``/docs``, ``/metrics``, the playground, nor an ``http.app``'s routes) goes through the
  ``@auth.authenticate`` handler, its parameters injected by name (``request``, ``path``,
  ``method``, ``path_params``, ``query_params``, ``headers``, ``authorization``,
  ``scope``, ``scopes``, ``user``). What it returns (a string, a dict with ``identity``,
  an object with ``identity``, or ``(permissions, user)``) becomes the request's user
  (:class:`AuthUser`). ``Auth.exceptions.HTTPException`` answers with its status and
  detail; any other exception is a 500.
- **authorization** (:class:`Access`, one per request): before each read, search, change
  or run, the most specific ``@auth.on`` handler (``resource.action``, else
  ``resource``, else ``*.action``, else the global one) is called with the request's
  value, which it may change (a create handler stamps ``metadata.owner``). It returns
  None or True (allowed), False (403), or a filter on the resource's metadata
  (:class:`Visible`): a search only finds, and a read, change or run only reaches, what
  matches; what does not is answered as missing (404), as LangGraph's server does.

The filter language is LangGraph's: ``{key: value}`` and ``{key: {"$eq": value}}``
(equality of a string, number, boolean or null), ``{key: {"$contains": value}}`` (the
metadata's list holds the value, or every value of a list), ``{"$and": [...]}`` (all)
and ``{"$or": [...]}`` (any), nested at most two deep. A filter becomes the JSON
containments (PostgreSQL's ``@>``, which the SQLite store implements the same way) of
which a record must match one (one containment without ``$or``), so a search pushes it
into its query (``metadata @> a OR metadata @> b``: counts and pages are right). Any
other operator is refused (500, naming it, as LangGraph's server does) rather than
ignored.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from ._auth_user import AuthUser
from ._domain import Backend
from ._errors import AccessError, ConflictError, InvalidRequestError, NotFoundError
from ._http import refuse
from ._models import CRON_RUN_FIELDS, AssistantCreate, AssistantPatch, CronCreate, RunCreate
from ._store import AnyOf, MetadataFilter
from ._store import json_contains as contains

__all__ = (
    "NOTHING",
    "Searched",
    "Access",
    "AuthMiddleware",
    "CustomAuth",
    "Visible",
    "auth_configurable",
)

log = logging.getLogger("scopegraph.server")

_PROTECTED = ("/threads", "/runs", "/assistants", "/store")
"""The API's resources: what LangGraph's server authenticates (its meta routes, docs and
custom routes are not)."""

_PARAMETERS = (
    "request",
    "scope",
    "user",
    "scopes",
    "path",
    "method",
    "path_params",
    "query_params",
    "headers",
    "authorization",
)
"""What an ``@auth.authenticate`` handler may ask for, by name (LangGraph's list, but
``body``, which LangGraph's server lists and never passes)."""

# -- the user ----------------------------------------------------------------------------


def _user_of(result: Any) -> tuple[AuthUser, list[str]]:
    """(user, permissions) of what an authenticate handler returned (LangGraph's forms)."""
    if isinstance(result, tuple):
        if len(result) != 2:
            raise ValueError(
                f"the authenticate handler returned a tuple of {len(result)}; expected "
                "(permissions, user)"
            )
        permissions, user = result
    elif isinstance(result, Mapping):
        permissions, user = result.get("permissions") or [], result
    else:
        permissions, user = getattr(result, "permissions", None) or [], result
    if isinstance(user, str):
        fields: dict[str, Any] = {"identity": user}
    elif isinstance(user, Mapping) and "identity" in user:
        fields = dict(user)
    elif hasattr(user, "identity"):
        fields = {}
        model_dump = getattr(user, "model_dump", None)
        as_dict = getattr(user, "dict", None)
        if callable(model_dump):  # a pydantic model: its fields as JSON values
            fields = dict(model_dump(mode="json"))
        elif callable(as_dict):
            fields = dict(as_dict())
        fields["identity"] = user.identity
        for name in ("is_authenticated", "display_name"):
            if hasattr(user, name):
                fields[name] = getattr(user, name)
    else:
        raise ValueError(
            "the authenticate handler returned a "
            f"{type(user).__name__}; expected a user id (str), a dict with 'identity' "
            "(and optionally 'permissions', 'display_name'), or an object with .identity"
        )
    permissions = [str(p) for p in permissions]
    fields["permissions"] = permissions
    return AuthUser(fields), permissions


# -- filters -----------------------------------------------------------------------------

_SCALARS = (str, int, float, bool, type(None))


@dataclasses.dataclass(frozen=True)
class Visible:
    """What an authorization handler lets the request reach: the records whose metadata
    contains one of ``alternatives`` (JSON containments; one unless the filter has
    ``$or``; see the module docstring)."""

    alternatives: tuple[dict[str, Any], ...]

    def allows(self, metadata: Mapping[str, Any] | None) -> bool:
        have = dict(metadata or {})
        return any(contains(have, wanted) for wanted in self.alternatives)

    def narrow(self, metadata: Mapping[str, Any] | None) -> MetadataFilter | None:
        """A search's metadata filter and this one, as one filter (None: no record can
        match both, e.g. ``owner`` asked to be another user)."""
        narrowed = _any_of(_and([dict(metadata or {})], list(self.alternatives)))
        if not narrowed:
            return None
        return narrowed[0] if len(narrowed) == 1 else AnyOf(tuple(narrowed))


class _Nothing(enum.Enum):
    NOTHING = "nothing"


NOTHING: Final = _Nothing.NOTHING
"""A filter that nothing matches (what :meth:`Access.search` returns when the search can
find nothing)."""
Filter = Visible | None | Literal[_Nothing.NOTHING]
"""What an authorization handler lets a request reach: everything (None), what matches a
:class:`Visible`, or nothing."""
Searched = MetadataFilter | Literal[_Nothing.NOTHING] | None
"""A search's metadata filter after custom auth (:data:`NOTHING`: it can find nothing)."""


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """One containment equal to containing both ``a`` and ``b`` (None: impossible)."""
    out = dict(a)
    for key, want in b.items():
        if key not in out:
            out[key] = want
            continue
        have = out[key]
        if isinstance(have, dict) and isinstance(want, dict):
            merged = _merge(have, want)
            if merged is None:
                return None
            out[key] = merged
        elif isinstance(have, list) and isinstance(want, list):
            out[key] = have + want
        elif isinstance(have, _SCALARS) and isinstance(want, _SCALARS):
            if type(have) is not type(want) and (isinstance(have, bool) or isinstance(want, bool)):
                return None
            if have != want:
                return None
        else:
            return None
    return out


_MAX_DEPTH = 2
"""How deep ``$or`` and ``$and`` may nest (LangGraph's server's limit)."""
_MAX_ALTERNATIVES = 500
"""How many containments a filter may become (``$and`` of ``$or``s multiplies them)."""


def compile_filter(filters: Mapping[str, Any]) -> Visible | None:
    """The :class:`Visible` of a handler's filter (None: it can match nothing)."""
    alternatives = _alternatives(filters, 0)
    return Visible(tuple(alternatives)) if alternatives else None


def _alternatives(filters: Mapping[str, Any], depth: int) -> list[dict[str, Any]]:
    """The containments a record's metadata must match one of (the filter's disjunctive
    form): its keys are all required; ``$or`` gives its groups' alternatives, ``$and``
    requires all its groups, as LangGraph's server reads them."""
    found: list[dict[str, Any]] = [{}]
    for key, value in filters.items():
        if key in ("$or", "$and"):
            groups = [_alternatives(group, depth + 1) for group in _groups(key, value, depth)]
            if key == "$or":
                part = [wanted for group in groups for wanted in group]
            else:
                part = [{}]
                for group in groups:
                    part = _any_of(_and(part, group))
        elif key.startswith("$"):
            raise _bad_filter(
                f"operator {key!r} is not supported by scopegraph (it supports {{key: "
                "value}, $eq, $contains, $and and $or); write the filter with those"
            )
        else:
            part = [{key: _leaf(key, value)}]
        found = _any_of(_and(found, part))
    return found


def _groups(operator: str, value: Any, depth: int) -> list[Mapping[str, Any]]:
    """The filters of an ``$or`` or ``$and`` (LangGraph's server's refusals, its words)."""
    if depth >= _MAX_DEPTH:
        raise AccessError(
            500,
            "Your auth handler returned a filter with too much nesting. Maximum nesting "
            f"depth is {_MAX_DEPTH}. Check the filter returned by your auth handler.",
        )
    if not isinstance(value, list) or len(value) < 2:
        raise AccessError(
            500,
            f"Your auth handler returned a filter with an invalid {operator} operator. The "
            f"{operator} operator must be a list of at least 2 filter objects. Check the "
            "filter returned by your auth handler.",
        )
    for group in value:
        if not isinstance(group, Mapping):
            raise _bad_filter(f"each filter of {operator} must be an object, not {group!r}")
    return value


def _and(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The containments of both (each pair merged; the impossible pairs dropped)."""
    merged = (_merge(a, b) for a in left for b in right)
    return [one for one in merged if one is not None]


def _any_of(alternatives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``alternatives`` without repeats (``[{}]`` when one matches anything)."""
    unique: list[dict[str, Any]] = []
    for wanted in alternatives:
        if not wanted:
            return [{}]
        if wanted not in unique:
            unique.append(wanted)
    if len(unique) > _MAX_ALTERNATIVES:
        raise _bad_filter(
            f"it is {len(unique)} alternatives once its $or are expanded (at most "
            f"{_MAX_ALTERNATIVES}); simplify the filter"
        )
    return unique


def _leaf(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise _bad_filter(f"{key!r}: an operator object has one key ($eq or $contains)")
        ((op, operand),) = value.items()
        if op == "$eq":
            value = operand
        elif op == "$contains":
            return list(operand) if isinstance(operand, list) else [operand]
        else:
            raise AccessError(  # LangGraph's server's words, naming what it got
                500,
                "Your auth handler returned a filter with an invalid key. The key must be "
                "one of $eq or $contains. Check the filter returned by your auth handler "
                f"(it gave {op!r} for {key!r}).",
            )
    if not isinstance(value, _SCALARS):
        raise _bad_filter(
            f"{key!r}: equality with a {type(value).__name__} is not supported by "
            "scopegraph (a string, number, boolean or null; use $contains for a list)"
        )
    return value


def _bad_filter(problem: str) -> AccessError:
    return AccessError(500, f"Your auth handler returned an invalid filter: {problem}")


# -- the handlers ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Context:
    """The request's authenticated user and permissions (LangGraph's BaseAuthContext)."""

    user: AuthUser
    permissions: list[str]


class CustomAuth:
    """An ``Auth`` object's handlers, called as LangGraph's server calls them."""

    def __init__(self, auth: Any, *, where: str = "auth") -> None:
        from langgraph_sdk import Auth
        from langgraph_sdk.auth.exceptions import HTTPException
        from langgraph_sdk.auth.types import AuthContext

        if not isinstance(auth, Auth):
            raise ValueError(
                f"{where} is a {type(auth).__name__}; expected a langgraph_sdk Auth object: "
                "auth = Auth() (from langgraph_sdk import Auth)"
            )
        handler = auth._authenticate_handler
        if handler is None:
            raise ValueError(
                f"{where} has no authenticate handler; define one: @auth.authenticate "
                "async def authenticate(authorization: str | None) -> str: ..."
            )
        self.auth = auth
        self._http_exception = HTTPException
        self._auth_context = AuthContext
        self._authenticate: Callable[..., Any] = handler
        self._is_async = inspect.iscoroutinefunction(handler)
        self._params = _parameters(handler, where)
        self._handlers: dict[tuple[str, str], Callable[..., Awaitable[Any]] | None] = {}

    # -- authentication ----------------------------------------------------------------

    @property
    def wants_path_params(self) -> bool:
        """The authenticate handler asks for ``path_params`` (found by matching routes)."""
        return "path_params" in self._params

    async def authenticate(self, scope: Scope, path_params: dict[str, str]) -> Context:
        """The request's user (``AccessError`` with the status to answer)."""
        args = _arguments(scope, self._params, path_params)
        try:
            if self._is_async:
                result = await self._authenticate(**args)
            else:
                result = await anyio.to_thread.run_sync(
                    functools.partial(self._authenticate, **args)
                )
        except self._http_exception as exc:
            raise AccessError(exc.status_code, str(exc.detail), headers=exc.headers) from None
        except AccessError:
            raise
        except Exception as exc:
            from starlette.authentication import AuthenticationError

            if isinstance(exc, AuthenticationError):  # Starlette's, as LangGraph answers it
                raise AccessError(403, str(exc)) from None
            raise
        user, permissions = _user_of(result)
        return Context(user, permissions)

    # -- authorization -----------------------------------------------------------------

    def _handler(self, resource: str, action: str) -> Callable[..., Awaitable[Any]] | None:
        """The most specific handler: resource.action, resource, *.action, global."""
        key = (resource, action)
        if key not in self._handlers:
            handlers: dict[tuple[str, str], list[Any]] = self.auth._handlers
            found = None
            for candidate in (key, (resource, "*"), ("*", action), ("*", "*")):
                if candidate in handlers:
                    found = handlers[candidate][-1]
                    break
            if found is None and self.auth._global_handlers:
                found = self.auth._global_handlers[-1]
            self._handlers[key] = found
        return self._handlers[key]

    async def authorize(
        self, ctx: Context, resource: str, action: str, value: dict[str, Any]
    ) -> Filter:
        """Call the handler of ``resource.action`` with ``value`` (which it may change):
        None (no filter), a :class:`Visible`, :data:`NOTHING` (a filter nothing matches),
        or ``AccessError`` (403, or the status the handler raised)."""
        result = await self._call(ctx, resource, action, value)
        if result is None:
            return None
        visible = compile_filter(result)
        return NOTHING if visible is None else visible

    async def authorize_store(
        self, ctx: Context, action: str, value: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The ``store.<action>`` handler: its filter as it returned it (a store search
        applies it to the items' values, with the store's own filter operators)."""
        return await self._call(ctx, "store", action, value)

    async def _call(
        self, ctx: Context, resource: str, action: str, value: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The handler's filter (None: allowed without one; ``AccessError``: refused)."""
        handler = self._handler(resource, action)
        if handler is None:
            return None
        context = self._auth_context(
            permissions=ctx.permissions,
            user=ctx.user,
            resource=resource,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
        )
        try:
            result = await handler(ctx=context, value=value)
        except self._http_exception as exc:
            raise AccessError(exc.status_code, str(exc.detail), headers=exc.headers) from None
        except AssertionError as exc:
            raise AccessError(403, str(exc) or "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise AccessError(403, "Forbidden")
        if not isinstance(result, Mapping):
            raise AccessError(
                500,
                "Auth handler returned invalid result. Expected filter dict, None, or "
                f"boolean. Got {type(result)} instead.",
            )
        return dict(result) or None


def _parameters(handler: Callable[..., Any], where: str) -> frozenset[str]:
    signature = inspect.signature(handler)
    unsupported = [
        name
        for name, p in signature.parameters.items()
        if name not in _PARAMETERS
        and p.default is p.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if unsupported:
        raise ValueError(
            f"{where}: the authenticate handler asks for {', '.join(map(repr, unsupported))}; "
            f"it may ask for {', '.join(_PARAMETERS)} (by name)"
        )
    return frozenset(name for name in signature.parameters if name in _PARAMETERS)


def _arguments(scope: Scope, names: frozenset[str], path_params: dict[str, str]) -> dict[str, Any]:
    from starlette.datastructures import QueryParams

    headers = dict(scope.get("headers") or [])
    available: dict[str, Callable[[], Any]] = {
        "request": lambda: _request(scope),
        "scope": lambda: scope,
        "user": lambda: scope.get("user"),
        "scopes": lambda: [],
        "path": lambda: scope["path"],
        "method": lambda: scope.get("method", "GET"),  # a WebSocket's handshake is a GET
        "path_params": lambda: path_params,
        "query_params": lambda: QueryParams(scope.get("query_string") or b""),
        "headers": lambda: headers,
        "authorization": lambda: (
            headers[b"authorization"].decode("latin-1") if b"authorization" in headers else None
        ),
    }
    return {name: available[name]() for name in names}


def _request(scope: Scope) -> Any:
    from starlette.requests import Request

    if scope["type"] != "http":  # LangGraph's answer: a Request is an HTTP request's
        raise AccessError(
            403,
            "the authenticate handler asks for `request: Request`, which a WebSocket "
            "connection does not have: ask for headers, authorization, scope or path instead",
        )
    return Request(scope)


# -- the middleware ----------------------------------------------------------------------

CONTEXT_KEY = "scopegraph.auth"
"""Where the middleware leaves the request's :class:`Context` in the ASGI scope."""


class AuthMiddleware:
    """ASGI middleware: authenticates each request to the API's resources with the
    ``@auth.authenticate`` handler (401/403, or the handler's status, before routing),
    and leaves the user in the scope for :class:`Access`."""

    def __init__(self, app: ASGIApp, auth: CustomAuth, routes: Callable[[], list[Any]]) -> None:
        self.app = app
        self.auth = auth
        self._routes = routes

    def _path_params(self, scope: Scope) -> dict[str, str]:
        from starlette.routing import Match

        for route in self._routes():
            match, child = route.matches(scope)
            if match is Match.FULL:
                return {k: str(v) for k, v in child.get("path_params", {}).items()}
        return {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(_PROTECTED):
            await self.app(scope, receive, send)
            return
        try:
            params = self._path_params(scope) if self.auth.wants_path_params else {}
            ctx = await self.auth.authenticate(scope, params)
        except AccessError as exc:
            await refuse(scope, receive, send, exc.status, exc.code, exc.message, exc.headers)
            return
        except Exception:
            log.exception("the authenticate handler failed")
            message = "the authenticate handler failed (see the server log)"
            await refuse(scope, receive, send, 500, "InternalServerError", message)
            return
        scope[CONTEXT_KEY] = ctx
        scope["user"] = ctx.user
        await self.app(scope, receive, send)


# -- authorization of a request ----------------------------------------------------------


def hides(visible: Filter, record: Mapping[str, Any] | None) -> bool:
    """Whether a handler's filter keeps ``record`` (its metadata) from the request (None:
    no record; nothing to hide)."""
    if visible is None or record is None:
        return False
    return visible is NOTHING or not visible.allows(record.get("metadata"))


def auth_configurable(ctx: Context) -> dict[str, Any]:
    """The configurable keys a run gets for its user (LangGraph's), as JSON values."""
    return {
        "langgraph_auth_user": ctx.user.dict(),
        "langgraph_auth_user_id": ctx.user.identity,
        "langgraph_auth_permissions": list(ctx.permissions),
    }


class Access:
    """The authorization of one request: its user and the app's handlers.

    Routes ask it before they act: :meth:`check` runs the handler and returns its filter,
    :meth:`record` checks a record the route found against it (404 when it does not
    match: a record the user may not see is missing to them), :meth:`search` folds the
    filter into a search's metadata filter."""

    __slots__ = ("auth", "ctx")

    def __init__(self, auth: CustomAuth, ctx: Context) -> None:
        self.auth = auth
        self.ctx = ctx

    async def check(self, resource: str, action: str, value: dict[str, Any]) -> Filter:
        return await self.auth.authorize(self.ctx, resource, action, value)

    async def record(
        self,
        resource: str,
        action: str,
        value: dict[str, Any],
        found: Callable[[], Awaitable[Mapping[str, Any]]],
        what: str,
    ) -> Filter:
        """Authorize ``action`` on the record ``found()`` returns (which raises
        NotFoundError when there is none): NotFoundError naming ``what`` if the
        handler's filter does not match its metadata."""
        visible = await self.check(resource, action, value)
        if visible is not None and hides(visible, await found()):
            raise NotFoundError(f"{what} not found")
        return visible

    async def store(self, action: str, value: dict[str, Any]) -> dict[str, Any] | None:
        """The ``store.<action>`` handler: it may rewrite ``value`` (the namespace...) or
        refuse; its filter, as it returned it, is for a store search."""
        return await self.auth.authorize_store(self.ctx, action, value)

    async def search(
        self, resource: str, value: dict[str, Any], *, action: str = "search"
    ) -> Searched:
        """The metadata filter of a search (``value["metadata"]`` after the handler, and
        its filter), or :data:`NOTHING`."""
        visible = await self.check(resource, action, value)
        metadata = value.get("metadata")
        if visible is None:
            return metadata or None
        if visible is NOTHING:
            return NOTHING
        narrowed = visible.narrow(metadata)
        return NOTHING if narrowed is None else narrowed

    async def on(self, backend: Backend, resource: str, record_id: str, action: str) -> None:
        """Authorize ``action`` on a thread (also for its runs, state and history), an
        assistant or a cron: 404 when it is not the user's to see."""
        if resource == "threads":
            await self.thread(backend, record_id, action)
        elif resource == "assistants":
            await self.assistant(backend, record_id, action)
        else:
            await self.cron(backend, record_id, action)

    # -- threads -------------------------------------------------------------------------

    async def thread(
        self, backend: Backend, thread_id: str, action: str, value: dict[str, Any] | None = None
    ) -> Filter:
        """Authorize ``action`` on the thread (and its runs, state and history): 404 when
        it is not the user's to see."""
        value = {"thread_id": thread_id} if value is None else value
        return await self.record(
            "threads", action, value, lambda: backend.thread(thread_id), f"thread {thread_id}"
        )

    async def create_thread(
        self,
        backend: Backend,
        thread_id: str | None,
        metadata: dict[str, Any] | None,
        if_exists: str | None,
    ) -> dict[str, Any]:
        """The new thread's metadata, after the ``threads.create`` handler; an existing
        thread of that id that the user may not see is a conflict (409), as LangGraph's."""
        value: dict[str, Any] = {
            "thread_id": thread_id,
            "metadata": dict(metadata or {}),
            "if_exists": if_exists or "raise",
        }
        visible = await self.check("threads", "create", value)
        if visible is not None and thread_id is not None:
            existing = await _existing(backend.thread(thread_id))
            if hides(visible, existing):
                raise ConflictError(f"thread {thread_id} already exists")
        return dict(value.get("metadata") or {})

    async def update_state(self, backend: Backend, thread_id: str) -> None:
        """A state update: the thread must be visible (404), and its ``threads.update``
        filter must match (403), as LangGraph's server answers."""
        await self.thread(backend, thread_id, "read")
        visible = await self.check("threads", "update", {"thread_id": thread_id})
        if visible is not None:
            thread = await backend.thread(thread_id)
            if hides(visible, thread):
                raise AccessError(403, "Forbidden")

    async def prune(self, backend: Backend, thread_ids: list[str]) -> None:
        """Pruning: every thread must be the user's (``threads.delete``; 404 if not)."""
        visible = await self.check("threads", "delete", {"thread_ids": list(thread_ids)})
        if visible is None:
            return
        for thread_id in thread_ids:  # missing ones are skipped, as prune skips them
            if hides(visible, await _existing(backend.thread(thread_id))):
                raise NotFoundError(f"thread {thread_id} not found")

    # -- runs ----------------------------------------------------------------------------

    async def on_run(self, backend: Backend, thread_id: str, run_id: str, action: str) -> None:
        """Authorize ``action`` on a run through its thread (404 when it is hidden). A
        stateless run's temporary thread is not stored: then the run's own metadata (the
        owner its create handler stamped, as LangGraph's temporary thread carries it)."""
        visible = await self.check("threads", action, {"thread_id": thread_id, "run_id": run_id})
        if visible is None:
            return
        record = await _existing(backend.thread(thread_id))
        if record is None:
            record = await _existing(backend.get_run(thread_id, run_id))
        if record is None or hides(visible, record):
            raise NotFoundError(f"run {run_id} not found in thread {thread_id}")

    async def run(self, backend: Backend, thread_id: str | None, body: RunCreate) -> RunCreate:
        """A new run, after the ``threads.create_run`` handler (which may change its
        metadata and kwargs): on a thread the user sees (404), of an assistant they see
        (404, unless it is a graph's default one), with the user in its config."""
        kwargs: dict[str, Any] = {
            "input": body.input,
            "command": body.command,
            "config": body.config,
            "context": body.context,
            "stream_mode": body.stream_mode,
            "interrupt_before": body.interrupt_before,
            "interrupt_after": body.interrupt_after,
            "webhook": body.webhook,
        }
        value: dict[str, Any] = {
            "thread_id": thread_id,
            "assistant_id": body.assistant_id,
            "run_id": None,
            "status": "pending",
            "metadata": dict(body.metadata or {}),
            "prevent_insert_if_inflight": True,
            "multitask_strategy": body.multitask_strategy or "reject",
            "if_not_exists": body.if_not_exists or "reject",
            "after_seconds": body.after_seconds or 0,
            "kwargs": kwargs,
        }
        visible = await self.check("threads", "create_run", value)
        if visible is not None and thread_id is not None:
            thread = await _existing(backend.thread(thread_id))  # None: the backend answers
            if hides(visible, thread):
                raise NotFoundError(f"thread {thread_id} not found")
        await self._readable_assistant(backend, body.assistant_id)
        # what the handler left in value["kwargs"] and value["metadata"] is the run's, as
        # on LangGraph's server (which stores those two objects)
        given = body.model_dump(exclude_unset=True)
        for key, kwarg in (value.get("kwargs") or {}).items():
            if key in RunCreate.model_fields and kwarg is not getattr(body, key, None):
                given[key] = kwarg.model_dump() if hasattr(kwarg, "model_dump") else kwarg
        given["metadata"] = value.get("metadata")
        run = RunCreate.model_validate(given)  # drops reserved keys: the user is set after
        return run.model_copy(update={"config": self._with_user(run.config)})

    async def _readable_assistant(self, backend: Backend, assistant_id: str) -> None:
        """A run or cron names an assistant: one the user made must be readable to them
        (``assistants.read``; 404 otherwise); the graphs' default assistants always are."""
        assistant = await backend.assistants.get(assistant_id)
        if (assistant.get("metadata") or {}).get("created_by") != "system":
            await self.record(
                "assistants",
                "read",
                {"assistant_id": assistant["assistant_id"]},
                _value(assistant),
                f"assistant {assistant_id}",
            )

    def _with_user(self, config: dict[str, Any] | None) -> dict[str, Any]:
        """``config`` with the request's user in its configurable (LangGraph's keys)."""
        config = dict(config or {})
        config["configurable"] = {
            **(config.get("configurable") or {}),
            **auth_configurable(self.ctx),
        }
        return config

    async def cancel_many(
        self, backend: Backend, thread_id: str | None, value: dict[str, Any]
    ) -> None:
        """``POST /runs/cancel`` (``threads.update``): on the thread, which must be the
        user's; without a thread, only when the handler sets no filter (422 otherwise:
        which runs are the user's is known through their thread)."""
        if thread_id is not None:
            await self.thread(backend, thread_id, "update", value)
            return
        if await self.check("threads", "update", value) is not None:
            raise InvalidRequestError(
                "the auth handler of threads.update returned a filter: cancelling runs "
                "needs their thread_id (POST /runs/cancel with thread_id, or "
                "POST /threads/{thread_id}/runs/{run_id}/cancel)"
            )

    # -- assistants and crons ------------------------------------------------------------

    async def assistant(
        self, backend: Backend, assistant_id: str, action: str, value: dict[str, Any] | None = None
    ) -> None:
        """Authorize ``action`` on the assistant: 404 unless its metadata matches."""
        value = {"assistant_id": assistant_id} if value is None else value
        await self.record(
            "assistants",
            action,
            value,
            lambda: backend.assistants.get(assistant_id),
            f"assistant {assistant_id}",
        )

    async def create_assistant(self, backend: Backend, body: AssistantCreate) -> AssistantCreate:
        """A new assistant, after the ``assistants.create`` handler: what it leaves in the
        value's ``config``, ``context`` and ``metadata`` is the assistant's (LangGraph's
        server stores those objects); an existing one of that id that the user may not
        see is a conflict (409)."""
        value: dict[str, Any] = {
            "assistant_id": body.assistant_id,
            "graph_id": body.graph_id,
            "config": dict(body.config or {}),
            "context": dict(body.context or {}),
            "metadata": dict(body.metadata or {}),
            "if_exists": body.if_exists or "raise",
            "name": body.name,
        }
        visible = await self.check("assistants", "create", value)
        if visible is not None and body.assistant_id is not None:
            existing = await _existing(backend.assistants.get(body.assistant_id))
            if hides(visible, existing):
                raise ConflictError(f"assistant {body.assistant_id} already exists")
        return body.model_copy(update=_kept(body, value, ("config", "context", "metadata")))

    async def update_assistant(
        self, backend: Backend, assistant_id: str, body: AssistantPatch
    ) -> AssistantPatch:
        """An assistant's update, after the ``assistants.update`` handler (404 unless the
        assistant is the user's to see; its changes to ``config``, ``context`` and
        ``metadata`` are the update's)."""
        value: dict[str, Any] = {
            "assistant_id": assistant_id,
            "graph_id": body.graph_id,
            "config": dict(body.config or {}),
            "context": dict(body.context or {}),
            "metadata": dict(body.metadata or {}),
            "name": body.name,
        }
        await self.assistant(backend, assistant_id, "update", value)
        return body.model_copy(update=_kept(body, value, ("config", "context", "metadata")))

    async def cron(
        self, backend: Backend, cron_id: str, action: str, value: dict[str, Any] | None = None
    ) -> None:
        """Authorize ``action`` on the cron: 404 unless its metadata matches."""
        value = {"cron_id": cron_id} if value is None else value
        await self.record(
            "crons", action, value, lambda: backend.crons.get(cron_id), f"cron {cron_id}"
        )

    async def create_cron(
        self, backend: Backend, body: CronCreate, thread_id: str | None
    ) -> CronCreate:
        """A new cron, after the ``crons.create`` handler (what it leaves in the value's
        ``payload`` and ``metadata`` is the cron's, as on LangGraph's server), of an
        assistant and on a thread the user sees (404); its runs carry the user in their
        config, as they would have if the user had made them."""
        payload = body.model_dump(include={*CRON_RUN_FIELDS, "assistant_id"}, exclude_none=True)
        payload["metadata"] = dict(body.metadata or {})
        value: dict[str, Any] = {
            "payload": payload,
            "schedule": body.schedule,
            "cron_id": None,
            "thread_id": thread_id,
            "user_id": self.ctx.user.identity,
            "end_time": body.end_time,
            "metadata": payload["metadata"],  # one object, as the cron's and its runs' are
        }
        await self.check("crons", "create", value)
        await self._readable_assistant(backend, body.assistant_id)
        if thread_id is not None:
            await self.thread(backend, thread_id, "read")
        given = {
            **body.model_dump(exclude_unset=True, exclude=set(payload)),
            **(value.get("payload") or {}),
            "metadata": value.get("metadata"),
        }
        cron = CronCreate.model_validate(given)  # drops reserved keys: the user is set after
        return cron.model_copy(update={"config": self._with_user(cron.config)})


def _kept(body: Any, value: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``keys`` a handler changed in ``value`` (a copy of the body's, where
    an absent one is empty): what the request keeps of the handler's changes."""
    return {
        key: value.get(key)
        for key in keys
        if value.get(key) != (getattr(body, key) or {}) or getattr(body, key) is not None
    }


async def _existing(found: Awaitable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The record ``found`` gives, or None when there is none (NotFoundError)."""
    try:
        return await found
    except NotFoundError:
        return None


def _value(record: Mapping[str, Any]) -> Callable[[], Awaitable[Mapping[str, Any]]]:
    async def found() -> Mapping[str, Any]:
        return record

    return found

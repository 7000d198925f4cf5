"""Custom auth for the server's auth tests: LangGraph's documented "resource authorization"
example (bearer tokens; a global ``@auth.on`` handler stamps ``metadata.owner`` on what a
user creates and filters every read and search by it), plus a few handlers that refuse:

- reads and searches (``threads.read``, ``assistants.search``...) also reach what is
  shared with the user: an ``$or`` filter, owner or ``metadata.shared_with`` (or, for
  assistants, the graphs' default ones: the playground lists the graphs);
- ``alice-token`` and ``bob-token``: users ``alice`` and ``bob``, with permission
  ``delete``; ``carol-token``: ``carol`` (display name ``Carol C.``), no permissions;
- ``teapot-token``: the authenticate handler raises ``HTTPException(418)`` with a header;
  no or another token: 401 ``Invalid token``;
- ``threads.delete`` returns False (403) for a user without ``delete``; carol's cron
  searches get a filter with an unknown operator (``$ne``: 500, LangGraph's message);
  ``assistants.delete`` raises ``HTTPException(451)`` for one;
- ``threads.create_run`` and ``crons.create`` replace an input ``{"note": "stamp"}``;
- ``store``: each user's items live under their identity (the namespace is rewritten),
  but in ``team``, where a search finds one's own and the public items (an ``$or``).

``whoami`` is a graph whose node returns what ``config["configurable"]`` says of the user.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph_sdk import Auth

from scopegraph import END, START, RunnableConfig, StateGraph

auth = Auth()

USERS: dict[str, dict[str, Any]] = {
    "alice-token": {"identity": "alice", "permissions": ["delete"]},
    "bob-token": {"identity": "bob", "permissions": ["delete"]},
    "carol-token": {"identity": "carol", "display_name": "Carol C."},
}


@auth.authenticate
async def get_current_user(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if token == "teapot-token":
        raise Auth.exceptions.HTTPException(
            status_code=418, detail="I'm a teapot", headers={"X-Teapot": "short and stout"}
        )
    if scheme.lower() != "bearer" or token not in USERS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid token")
    user: Auth.types.MinimalUserDict = USERS[token]  # type: ignore[assignment]
    return user


@auth.on
async def add_owner(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> dict[str, Any]:
    """Make resources private to their creator (the docs' example), and readable by the
    users they are shared with: a read or a search gets an ``$or`` filter (the owner, or
    ``metadata.shared_with`` lists the user; for assistants, or a graph's own)."""
    if (ctx.resource, ctx.action, ctx.user.identity) == ("crons", "search", "carol"):
        return {"owner": {"$ne": "carol"}}  # an operator LangGraph's filters do not have
    if ctx.action in ("read", "search"):
        me = ctx.user.identity
        mine: list[dict[str, Any]] = [{"owner": me}, {"shared_with": {"$contains": me}}]
        if ctx.resource == "assistants":  # and the graphs' own, for everyone
            mine.append({"created_by": "system"})
        return {"$or": mine}
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    metadata.update(filters)
    return filters


@auth.on.threads.create_run
async def stamp_runs(ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate) -> Any:
    """The owner, as for everything else; and an input ``{"note": "stamp"}`` is replaced
    (a handler's changes to the run's kwargs are the run's)."""
    if (value["kwargs"].get("input") or {}).get("note") == "stamp":
        value["kwargs"]["input"] = {"note": f"stamped for {ctx.user.identity}"}
    return await add_owner(ctx, value)  # type: ignore[arg-type]


@auth.on.crons.create
async def stamp_crons(ctx: Auth.types.AuthContext, value: Auth.types.CronsCreate) -> Any:
    """The owner; and a payload input ``{"note": "stamp"}`` is replaced (a handler's
    changes to the cron's payload are the cron's)."""
    if (value["payload"].get("input") or {}).get("note") == "stamp":
        value["payload"]["input"] = {"note": f"stamped for {ctx.user.identity}"}
    return await add_owner(ctx, value)  # type: ignore[arg-type]


@auth.on.threads.delete
async def delete_own_threads(ctx: Auth.types.AuthContext, value: Any) -> Any:
    if "delete" not in ctx.permissions:
        return False
    return {"owner": ctx.user.identity}


@auth.on.assistants.delete
async def keep_assistants(ctx: Auth.types.AuthContext, value: Any) -> Any:
    if "delete" not in ctx.permissions:
        raise Auth.exceptions.HTTPException(
            status_code=451, detail="assistants are kept for audit", headers={"X-Audit": "1"}
        )
    return {"owner": {"$eq": ctx.user.identity}}


@auth.on.store
async def scope_store(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """The SDK's example: each user's items under their identity (but under ``team``)."""
    namespace = tuple(value["namespace"]) if value.get("namespace") else ()
    if namespace[:1] == ("team",):
        return
    if not namespace or namespace[0] != ctx.user.identity:
        namespace = (ctx.user.identity, *namespace)
    value["namespace"] = namespace


@auth.on.store.search
async def search_store(ctx: Auth.types.AuthContext, value: Auth.types.StoreSearch) -> Any:
    """In ``team``, shared by all, a user finds their own items and the public ones (an
    ``$or`` filter on the items' values); elsewhere, their own namespace."""
    if tuple(value["namespace"])[:1] == ("team",):
        return {"$or": [{"author": ctx.user.identity}, {"public": True}]}
    await scope_store(ctx, value)  # type: ignore[arg-type]
    return None


class State(TypedDict, total=False):
    seen: dict[str, Any]
    note: str


def whoami(state: State, config: RunnableConfig) -> State:
    configurable = config["configurable"]
    user = configurable["langgraph_auth_user"]
    return {
        "seen": {
            "identity": user.identity,
            "item": user["identity"],
            "display_name": user.display_name,
            "user_id": configurable["langgraph_auth_user_id"],
            "permissions": list(configurable["langgraph_auth_permissions"]),
            "note": state.get("note"),
        }
    }


builder = StateGraph(State)
builder.add_node("whoami", whoami)
builder.add_edge(START, "whoami")
builder.add_edge("whoami", END)
graph = builder.compile()


def peek(state: State, config: RunnableConfig) -> State:
    """What a run's configurable holds of the user keys, and of a key of the client's own
    (``custom``): the graph of the reserved-keys tests, served with or without auth."""
    configurable = config["configurable"]
    return {
        "seen": {
            "auth_keys": sorted(k for k in configurable if k.startswith("langgraph_auth")),
            "user_id": configurable.get("langgraph_auth_user_id"),
            "custom": configurable.get("custom"),
        }
    }


peek_builder = StateGraph(State)
peek_builder.add_node("peek", peek)
peek_builder.add_edge(START, "peek")
peek_builder.add_edge("peek", END)
peek_graph = peek_builder.compile()

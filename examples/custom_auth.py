"""Custom auth for `scopegraph serve` (LangGraph's "resource authorization" example):
bearer tokens, every resource private to its creator, store items under their user.

    scopegraph serve agent.py:graph --auth custom_auth.py:auth
    (or "auth": {"path": "./custom_auth.py:auth"} in langgraph.json)
"""

from typing import Any

from langgraph_sdk import Auth

auth = Auth()

VALID_TOKENS = {
    "user1-token": {"id": "user1", "name": "Alice"},
    "user2-token": {"id": "user2", "name": "Bob"},
}


@auth.authenticate
async def get_current_user(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in VALID_TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid token")
    return {"identity": VALID_TOKENS[token]["id"]}


@auth.on
async def add_owner(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> dict[str, Any]:
    """Make resources private to their creator."""
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    metadata.update(filters)
    return filters


@auth.on.store
async def scope_store(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Each user's items under their identity."""
    namespace = tuple(value["namespace"]) if value.get("namespace") else ()
    if not namespace or namespace[0] != ctx.user.identity:
        namespace = (ctx.user.identity, *namespace)
    value["namespace"] = namespace

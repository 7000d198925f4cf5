"""Custom auth's user (:class:`AuthUser`), as handlers and a run's graph see it.

Apart from :mod:`._auth` so that the executor, which gives a run its user back from the
run's stored config (:func:`restore_user`), needs nothing of the HTTP edge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ("AuthUser", "restore_user")


class AuthUser(Mapping[str, Any]):
    """The authenticated user, as LangGraph's server shows it to handlers and graphs:
    ``user.identity`` and ``user["identity"]``, ``is_authenticated`` (default True),
    ``display_name`` (default the identity), ``permissions``, and every other field the
    authenticate handler returned (as attributes and items). It is a plain mapping of
    JSON values, so a run's config carries it through the queue (:func:`restore_user`)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any]) -> None:
        identity = fields.get("identity")
        if not isinstance(identity, str):
            raise TypeError(f"a user's identity must be a string, got {type(identity).__name__}")
        self._fields = {
            "identity": identity,
            "is_authenticated": True,
            "display_name": identity,
            "permissions": [],
            **fields,
        }

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not a field: copying looks these up before _fields
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"the user has no {name!r}") from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (AuthUser, (self._fields,))

    def dict(self) -> dict[str, Any]:
        """The user's fields (what LangGraph's ``BaseUser.dict()`` gives)."""
        return dict(self._fields)

    def __repr__(self) -> str:
        return f"AuthUser({self._fields!r})"


def restore_user(configurable: dict[str, Any]) -> dict[str, Any]:
    """The run's configurable with its ``langgraph_auth_user`` (a JSON mapping, as stored)
    as an :class:`AuthUser` again: what the graph's nodes read."""
    user = configurable.get("langgraph_auth_user")
    if isinstance(user, Mapping) and not isinstance(user, AuthUser) and "identity" in user:
        return {**configurable, "langgraph_auth_user": AuthUser(user)}
    return configurable

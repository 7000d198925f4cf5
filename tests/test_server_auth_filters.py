"""Custom auth's pieces without a server: the filter language of authorization handlers
(LangGraph's, as JSON containment), the user an authenticate handler's result becomes,
and the refusals when loading an ``Auth`` object."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import Auth
from pydantic import BaseModel

from scopegraph.server._auth import CustomAuth, Visible, _user_of, compile_filter
from scopegraph.server._auth_user import AuthUser, restore_user
from scopegraph.server._errors import AccessError
from scopegraph.server._serve import load_auth
from scopegraph.server._store import AnyOf

# -- filters ------------------------------------------------------------------------------

SHARED = {"$or": [{"owner": "a"}, {"shared": {"$contains": "a"}}]}
"""Owner or shared with: the ``$or`` filter LangGraph's docs show."""


@pytest.mark.parametrize(
    ("filters", "metadata", "matches"),
    [
        ({"owner": "a"}, {"owner": "a", "x": 1}, True),
        ({"owner": "a"}, {"owner": "b"}, False),
        ({"owner": "a"}, {}, False),
        ({"owner": {"$eq": "a"}}, {"owner": "a"}, True),
        ({"owner": {"$eq": 1}}, {"owner": True}, False),  # JSON types: 1 is not true
        ({"tags": {"$contains": "x"}}, {"tags": ["y", "x"]}, True),
        ({"tags": {"$contains": "x"}}, {"tags": "x"}, False),  # not a list
        ({"tags": {"$contains": ["x", "z"]}}, {"tags": ["x", "y"]}, False),
        ({"tags": {"$contains": ["x", "z"]}}, {"tags": ["z", "x", "y"]}, True),
        ({"$and": [{"owner": "a"}, {"team": "t"}]}, {"owner": "a", "team": "t"}, True),
        ({"$and": [{"owner": "a"}, {"team": "t"}]}, {"owner": "a"}, False),
        ({"owner": "a", "team": {"$eq": None}}, {"owner": "a", "team": None}, True),
        (SHARED, {"owner": "a"}, True),
        (SHARED, {"owner": "b", "shared": ["c", "a"]}, True),
        (SHARED, {"owner": "b", "shared": ["c"]}, False),
        ({"org": "o", **SHARED}, {"org": "o", "owner": "a"}, True),  # $or with a key: both
        ({"org": "o", **SHARED}, {"org": "p", "owner": "a"}, False),
        ({"$and": [SHARED, {"$or": [{"t": 1}, {"t": 2}]}]}, {"owner": "a", "t": 2}, True),
        ({"$and": [SHARED, {"$or": [{"t": 1}, {"t": 2}]}]}, {"owner": "a", "t": 3}, False),
        ({"$or": [{"$and": [{"x": 1}, {"y": 1}]}, {"z": 1}]}, {"x": 1}, False),
        ({"$or": [{"$and": [{"x": 1}, {"y": 1}]}, {"z": 1}]}, {"x": 1, "y": 1}, True),
    ],
)
def test_a_filter_matches_as_langgraph_matches_metadata(
    filters: dict[str, Any], metadata: dict[str, Any], matches: bool
) -> None:
    visible = compile_filter(filters)
    assert visible is not None
    assert visible.allows(metadata) is matches


def test_filters_that_contradict_match_nothing() -> None:
    assert compile_filter({"$and": [{"owner": "a"}, {"owner": "b"}]}) is None
    assert compile_filter({"$and": [{"k": 1}, {"k": {"$contains": 1}}]}) is None


def test_a_search_filter_and_a_handler_filter_narrow_to_one() -> None:
    visible = Visible(({"owner": "a", "tags": ["x"]},))
    assert visible.narrow({"topic": "t", "tags": ["y"]}) == {
        "topic": "t",
        "tags": ["y", "x"],
        "owner": "a",
    }
    assert visible.narrow({"owner": "b"}) is None  # another user's: nothing
    assert visible.narrow(None) == {"owner": "a", "tags": ["x"]}


def test_an_or_filter_narrows_a_search_to_its_alternatives_that_can_match() -> None:
    visible = compile_filter(SHARED)
    assert visible is not None
    assert visible.narrow({"topic": "t"}) == AnyOf(
        ({"topic": "t", "owner": "a"}, {"topic": "t", "shared": ["a"]})
    )
    # asking for another owner leaves the shared alternative only: one containment
    assert visible.narrow({"owner": "b"}) == {"owner": "b", "shared": ["a"]}
    both = compile_filter({"$and": [{"owner": "a"}, {"$or": [{"owner": "b"}, {"owner": "c"}]}]})
    assert both is None  # no alternative can match
    assert compile_filter({"$or": [{}, {"owner": "a"}]}) == Visible(({},))  # any record


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"$nor": [{"a": 1}, {"b": 2}]}, "operator '$nor' is not supported"),
        ({"a": {"$eq": 1, "$contains": 2}}, "one key"),
        ({"a": {"$eq": {"b": 1}}}, "equality with a dict"),
        ({"$or": [{"a": 1}, 2]}, "each filter of $or must be an object"),
    ],
)
def test_a_filter_scopegraph_cannot_apply_is_refused_naming_it(
    filters: dict[str, Any], named: str
) -> None:
    with pytest.raises(AccessError, match="invalid filter") as refused:
        compile_filter(filters)
    assert named in refused.value.message
    assert refused.value.status == 500


@pytest.mark.parametrize(
    ("filters", "langgraph_says"),
    [
        (
            {"a": {"$ne": 1}},
            "invalid key. The key must be one of $eq or $contains",
        ),
        (
            {"$or": [{"a": 1}]},
            "invalid $or operator. The $or operator must be a list of at least 2 filter",
        ),
        ({"$and": [{"a": 1}]}, "invalid $and operator"),
        ({"$or": {"a": 1}}, "invalid $or operator"),
        (
            {"$or": [{"$and": [{"$or": [{"a": 1}, {"b": 1}]}, {"c": 1}]}, {"d": 1}]},
            "too much nesting. Maximum nesting depth is 2",
        ),
    ],
)
def test_a_filter_langgraph_refuses_is_refused_in_its_words(
    filters: dict[str, Any], langgraph_says: str
) -> None:
    with pytest.raises(AccessError, match="Your auth handler returned a filter") as refused:
        compile_filter(filters)
    assert langgraph_says in refused.value.message
    assert refused.value.status == 500


def test_or_and_and_nest_two_deep_as_on_langgraph() -> None:
    visible = compile_filter({"$or": [{"$and": [{"a": 1}, {"b": 1}]}, {"c": 1}]})
    assert visible == Visible(({"a": 1, "b": 1}, {"c": 1}))


def test_a_filter_of_too_many_alternatives_is_refused() -> None:
    many = {"$or": [{"a": i} for i in range(30)]}
    with pytest.raises(AccessError, match="900 alternatives"):
        compile_filter({"$and": [many, {"$or": [{"b": i} for i in range(30)]}]})


# -- users --------------------------------------------------------------------------------


class Member:
    identity = "m1"
    display_name = "Member One"
    permissions = ("read",)


class ModelUser(BaseModel):
    identity: str
    joined: datetime.date
    permissions: list[str] = ["write"]


@pytest.mark.parametrize(
    ("result", "identity", "permissions", "display_name"),
    [
        ("u1", "u1", [], "u1"),
        ({"identity": "u2", "permissions": ["w"]}, "u2", ["w"], "u2"),
        ({"identity": "u3", "display_name": "U Three"}, "u3", [], "U Three"),
        ((["p"], "u4"), "u4", ["p"], "u4"),
        (Member(), "m1", ["read"], "Member One"),
        (ModelUser(identity="p1", joined=datetime.date(2026, 1, 2)), "p1", ["write"], "p1"),
    ],
)
def test_what_an_authenticate_handler_returns_becomes_a_user(
    result: Any, identity: str, permissions: list[str], display_name: str
) -> None:
    user, perms = _user_of(result)
    assert (user.identity, user["identity"]) == (identity, identity)
    assert perms == permissions == user.permissions
    assert user.display_name == display_name
    assert user.is_authenticated is True
    if isinstance(result, ModelUser):  # JSON values: the run's record can keep them
        assert user.joined == "2026-01-02"


def test_an_authenticate_result_without_identity_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a user id"):
        _user_of({"name": "no identity"})


def test_a_stored_user_is_a_user_again() -> None:
    user, _ = _user_of({"identity": "u", "org": "o"})
    configurable = restore_user({"langgraph_auth_user": user.dict(), "x": 1})
    again = configurable["langgraph_auth_user"]
    assert isinstance(again, AuthUser)
    assert (again.identity, again.org, configurable["x"]) == ("u", "o", 1)
    with pytest.raises(AttributeError):
        _ = again.missing


# -- loading ------------------------------------------------------------------------------


def test_an_auth_object_without_authenticate_is_refused() -> None:
    with pytest.raises(ValueError, match="has no authenticate handler"):
        CustomAuth(Auth())


def test_an_authenticate_handler_asking_for_an_unknown_parameter_is_refused() -> None:
    auth = Auth()

    @auth.authenticate
    async def authenticate(body: dict[str, Any]) -> str:
        return "u"

    with pytest.raises(ValueError, match="asks for 'body'; it may ask for request"):
        CustomAuth(auth)


def test_load_auth_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no file"):
        load_auth(f"{tmp_path}/missing.py:auth")
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match="defines no 'auth'"):
        load_auth(f"{tmp_path}/a.py:auth")
    with pytest.raises(ValueError, match="is a int; expected a langgraph_sdk Auth"):
        load_auth(f"{tmp_path}/a.py:x")
    with pytest.raises(ValueError, match=r"expected path/to/file\.py:variable"):
        load_auth("no_colon")

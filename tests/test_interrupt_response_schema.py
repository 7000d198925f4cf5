"""``interrupt(response_schema=SomeClass)``: the Interrupt carries the class's JSON schema
(no class is stored), the answer is validated into the class, and an answer that does
not match raises pydantic's ValidationError while the interrupt keeps waiting."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, TypedDict

import anyio
import pydantic
import pytest

from scopegraph import START, Command, StateGraph, interrupt
from scopegraph.checkpoint import InMemorySaver
from scopegraph.errors import is_invalid_resume

pytestmark = pytest.mark.anyio


class Decision(pydantic.BaseModel):
    approved: bool


@dataclasses.dataclass
class DecisionData:
    approved: bool


class State(TypedDict):
    answer: Any


def _graph(schema: Any) -> Any:
    async def node(state: State) -> dict[str, Any]:
        return {"answer": interrupt("approve?", response_schema=schema)}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize(
    ("schema", "answer"),
    [(Decision, Decision(approved=True)), (DecisionData, DecisionData(approved=True))],
)
async def test_a_class_schema_is_sent_as_json_schema_and_validates_the_answer(
    schema: Any, answer: Any
) -> None:
    graph = _graph(schema)
    config: Any = {"configurable": {"thread_id": "t"}}
    first = await graph.ainvoke({"answer": None}, config)
    [pending] = first["__interrupt__"]
    assert pending.response_schema["properties"] == {
        "approved": {"title": "Approved", "type": "boolean"}
    }
    assert await graph.ainvoke(Command(resume={"approved": True}), config) == {"answer": answer}


async def test_an_answer_that_does_not_match_raises_and_the_interrupt_keeps_waiting() -> None:
    graph = _graph(Decision)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"answer": None}, config)
    with pytest.raises(pydantic.ValidationError, match="approved") as info:
        await graph.ainvoke(Command(resume={"approved": "nope"}), config)
    assert is_invalid_resume(info.value)
    assert [i.value for i in (await graph.aget_state(config)).interrupts] == ["approve?"]
    assert await graph.ainvoke(Command(resume={"approved": False}), config) == {
        "answer": Decision(approved=False)
    }


async def test_an_invalid_answer_lets_the_other_answered_tasks_of_the_step_finish() -> None:
    sent: list[str] = []
    checked = anyio.Event()

    class Log(TypedDict):
        log: Annotated[list[str], lambda a, b: a + b]

    async def send(state: Log) -> dict[str, Any]:
        interrupt("send?", response_schema=Decision)
        sent.append("email")
        await checked.wait()  # the sibling fails meanwhile: this task is not cut off
        return {"log": ["sent"]}

    async def check(state: Log) -> dict[str, Any]:
        try:
            interrupt("check?", response_schema=Decision)
        finally:
            checked.set()
        return {"log": ["checked"]}

    builder = StateGraph(Log)
    builder.add_node("send", send)
    builder.add_node("check", check)
    builder.add_edge(START, "send")
    builder.add_edge(START, "check")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    ids = {i.value: i.id for i in (await graph.aget_state(config)).interrupts}
    checked = anyio.Event()
    answers = {ids["send?"]: {"approved": True}, ids["check?"]: {"approved": "nope"}}
    with pytest.raises(pydantic.ValidationError, match="approved"):
        await graph.ainvoke(Command(resume=answers), config)
    assert [i.value for i in (await graph.aget_state(config)).interrupts] == ["check?"]
    assert sent == ["email"]
    result = await graph.ainvoke(Command(resume={ids["check?"]: {"approved": True}}), config)
    assert (sorted(result["log"]), sent) == (["checked", "sent"], ["email"])

"""``Command(graph=Command.PARENT)`` returned by a node of a root graph: the run raises
``ParentCommand`` carrying the command (what a caller embedding the graph catches)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.errors import ParentCommand
from langgraph.graph import START, StateGraph
from langgraph.types import Command

FEATURE = "Command.PARENT from a root graph raises ParentCommand"


class State(TypedDict):
    value: str


async def main() -> Any:
    async def hand_off(state: State) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="elsewhere", update={"value": "x"})

    graph = StateGraph(State).add_node("hand_off", hand_off).add_edge(START, "hand_off").compile()
    try:
        await graph.ainvoke({"value": "start"})
    except ParentCommand as error:
        command = error.args[0]
        return {"raised": "ParentCommand", "goto": command.goto, "update": command.update}
    return {"raised": None}

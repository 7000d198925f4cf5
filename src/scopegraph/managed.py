"""LangGraph's ``langgraph.managed`` names: state keys the run fills in, not the nodes.

Example::

    class State(TypedDict):
        messages: Annotated[list, add_messages]
        remaining_steps: RemainingSteps

    def agent(state: State) -> dict:
        if state["remaining_steps"] <= 2:
            return {"messages": [AIMessage("Sorry, need more steps to finish.")]}
        ...

A managed key is not part of the state: it is not in the output, the ``values`` stream or
checkpoints, and writes to it are dropped.
"""

from __future__ import annotations

from ._schema import IsLastStep as IsLastStep
from ._schema import RemainingSteps as RemainingSteps

__all__ = ("IsLastStep", "RemainingSteps")

"""LangGraph's prebuilt ``create_react_agent`` with a checkpointer and a store: a tool
that writes long-term memory (``InjectedStore``), a human-in-the-loop pause before the
tools (``interrupt_before=["tools"]``) resumed with ``None``, then a second turn on the
same thread that reads the memory back (LangGraph docs: "Agents", "Memory", "Human in
the loop"). The chat model is LangChain's fake, scripted; the agent's nodes are sync, so
the program also runs on trio. On scopegraph, ``create_react_agent`` is LangGraph's own,
adopted onto scopegraph's engine."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import InjectedStore, create_react_agent
from langgraph.store.memory import InMemoryStore

FEATURE = (
    "prebuilt create_react_agent: checkpointer, store (InjectedStore), "
    "interrupt_before tools and resume, memory across turns"
)


class ScriptedModel(FakeMessagesListChatModel):
    """LangChain's fake chat model, which replies from its script; ``bind_tools`` keeps
    it (the script already holds the tool calls)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


@tool
def remember(fact: str, store: Annotated[Any, InjectedStore()]) -> str:
    """Remember a fact about the user."""
    store.put(("memories",), "fact", {"text": fact})
    return f"remembered {fact}"


@tool
def recall(store: Annotated[Any, InjectedStore()]) -> str:
    """Recall what is known about the user."""
    item = store.get(("memories",), "fact")
    return "nothing" if item is None else str(item.value["text"])


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


async def main() -> Any:
    model = ScriptedModel(
        responses=[
            AIMessage("", id="ai-1", tool_calls=[call("remember", "c1", fact="likes tea")]),
            AIMessage("noted", id="ai-2"),
            AIMessage("", id="ai-3", tool_calls=[call("recall", "c2")]),
            AIMessage("you like tea", id="ai-4"),
        ]
    )
    with warnings.catch_warnings():  # LangGraph 1.x deprecates it for create_agent
        warnings.simplefilter("ignore")
        agent = create_react_agent(
            model,
            [remember, recall],
            checkpointer=InMemorySaver(),
            store=InMemoryStore(),
            interrupt_before=["tools"],
        )
    config: Any = {"configurable": {"thread_id": "t"}}

    def plain(message: Any) -> Any:
        calls = [(c["name"], c["args"]) for c in getattr(message, "tool_calls", [])]
        return (type(message).__name__, message.content, calls)

    first = [
        {node: [plain(m) for m in (update or {}).get("messages", [])] for node, update in c.items()}
        async for c in agent.astream(
            {"messages": [HumanMessage("I like tea", id="h-1")]}, config, stream_mode="updates"
        )
        if "__interrupt__" not in c
    ]
    paused = await agent.aget_state(config)
    resumed = await agent.ainvoke(None, config)
    second = await agent.ainvoke({"messages": [HumanMessage("what do I like?", id="h-2")]}, config)
    await agent.ainvoke(None, config)  # the second pause, before recall
    final = await agent.aget_state(config)
    return {
        "first": first,
        "paused_next": list(paused.next),
        "resumed": [plain(m) for m in resumed["messages"]],
        "second_paused": [plain(m) for m in second["messages"]],
        "final": [plain(m) for m in final.values["messages"]],
        "final_next": list(final.next),
    }

"""The Functional API on scopegraph: tasks in parallel, a human in the loop, a Stop."""

import anyio

from scopegraph import RunnableConfig
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.func import entrypoint, task  # on LangGraph: from langgraph.func import ...
from scopegraph.types import Command, interrupt

calls: list[str] = []


@task
async def draft(topic: str) -> str:
    calls.append(topic)
    await anyio.sleep(0.01)  # a model call
    return f"{topic}: draft"


@entrypoint(checkpointer=InMemorySaver())
async def review(topics: list[str]) -> dict[str, str]:
    drafts = [await f for f in [draft(t) for t in topics]]  # the tasks run at once
    verdict = interrupt({"drafts": drafts})  # the run stops here until resumed
    return {"verdict": verdict, "first": drafts[0]}


@task
async def slow() -> str:
    try:
        await anyio.sleep(10)
        return "done"
    finally:
        with anyio.CancelScope(shield=True):  # must complete: release a lock, flush a log
            await anyio.sleep(0.01)
        print("task cleanup finished")


@entrypoint()
async def stoppable(_: str) -> str:
    return await slow()


async def main() -> None:
    config: RunnableConfig = {"configurable": {"thread_id": "1"}}
    first = await review.ainvoke(["otters", "beavers"], config)
    print(first["__interrupt__"][0].value)
    print(await review.ainvoke(Command(resume="publish"), config))
    print("tasks called:", calls)  # the resumed run did not call them again

    with anyio.move_on_after(0.1):
        await stoppable.ainvoke("go")
    print("stopped; nothing left running")


anyio.run(main)

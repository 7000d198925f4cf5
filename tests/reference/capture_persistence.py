"""Capture exact LangGraph 1.2.24 persistence shapes (InMemorySaver) for scopegraph reference.

Run: /work/main/.venv/bin/python tests/reference/capture_persistence.py [sections...] > tests/reference/persistence_output.txt
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import operator
import pprint
import sys
import traceback
from typing import Annotated, Any

from typing_extensions import TypedDict
from xxhash import xxh3_128_hexdigest

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

SECTIONS: list[str] = sys.argv[1:]
COUNT: dict[str, int] = {}


def hdr(t: str) -> None:
    print("\n" + "=" * 100 + f"\n## {t}\n" + "=" * 100, flush=True)


def show(label: str, obj: Any) -> None:
    print(f"--- {label}:")
    print(pprint.pformat(obj, width=150, sort_dicts=False), flush=True)


def exc_info(e: BaseException) -> str:
    notes = getattr(e, "__notes__", None)
    return f"{type(e).__module__}.{type(e).__qualname__}: {e!s}" + (
        f"  NOTES={notes}" if notes else ""
    )


async def collect(agen) -> list:
    out = []
    async for c in agen:
        out.append(c)
    return out


async def try_(label: str, coro_or_fn):
    try:
        r = coro_or_fn() if callable(coro_or_fn) else coro_or_fn
        if asyncio.iscoroutine(r):
            r = await r
        show(label + " -> OK", r)
        return r
    except BaseException as e:  # noqa
        print(f"--- {label} -> RAISES {exc_info(e)}", flush=True)
        return e


def want(n: str) -> bool:
    return not SECTIONS or n in SECTIONS


def cfg(tid: str, **extra) -> dict:
    return {"configurable": {"thread_id": tid, **extra}}


def reset():
    COUNT.clear()


def bump(n: str):
    COUNT[n] = COUNT.get(n, 0) + 1


def cid(c):
    return c["configurable"]["checkpoint_id"] if c else None


async def hist(g, c, label="history"):
    """Compact history: newest first as returned."""
    h = [s async for s in g.aget_state_history(c)]
    ids = {s.config["configurable"]["checkpoint_id"]: i for i, s in enumerate(h)}
    rows = []
    for i, s in enumerate(h):
        p = cid(s.parent_config)
        rows.append(
            {
                "i": i,
                "step": s.metadata.get("step"),
                "source": s.metadata.get("source"),
                "meta_keys": sorted(s.metadata),
                "next": s.next,
                "values": s.values,
                "parent": f"#{ids[p]}" if p in ids else p,
                "tasks": [
                    (
                        t.name,
                        t.error and repr(t.error),
                        t.interrupts and [iv.value for iv in t.interrupts],
                        t.result,
                    )
                    for t in s.tasks
                ],
                "interrupts": [iv.value for iv in s.interrupts],
            }
        )
    show(f"{label} ({len(h)} checkpoints, newest first)", rows)
    return h


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


INP = {"x": 0, "log": []}


def chain_builder():
    async def a(s: S):
        bump("a")
        return {"x": s["x"] + 1, "log": ["a"]}

    async def b(s: S):
        bump("b")
        return {"x": s["x"] + 1, "log": ["b"]}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", END)
    return g


def chain(**kw):
    return chain_builder().compile(checkpointer=InMemorySaver(), **kw)


def snapshot_full(s) -> None:
    print(f"--- StateSnapshot type: {type(s)!r}  fields={getattr(s, '_fields', None)}")
    print(f"    repr: {s!r}")
    for f in s._fields:
        v = getattr(s, f)
        print(f"    .{f}: type={type(v).__name__} value={v!r}")


# ---------------------------------------------------------------- 1
async def sec1():
    hdr("1. chain a->b with checkpointer: checkpoints/debug stream, get_state, history")
    g = chain()
    show(
        "astream(stream_mode='checkpoints') thread t1",
        await collect(g.astream(INP, cfg("t1"), stream_mode="checkpoints")),
    )
    s = await g.aget_state(cfg("t1"))
    snapshot_full(s)
    print("    metadata types:", {k: type(v).__name__ for k, v in s.metadata.items()})
    print("    created_at type:", type(s.created_at))
    await hist(g, cfg("t1"))
    h = [x async for x in g.aget_state_history(cfg("t1"))]
    print("--- full repr of each history StateSnapshot (newest first):")
    for x in h:
        print("   ", repr(x))
    show("sync get_state_history is a generator? type", type(g.get_state_history(cfg("t1"))))
    g2 = chain()
    show(
        "astream(stream_mode='debug') thread t2",
        await collect(g2.astream(INP, cfg("t2"), stream_mode="debug")),
    )
    show(
        "astream(stream_mode=['checkpoints','updates']) thread t3",
        await collect(g2.astream(INP, cfg("t3"), stream_mode=["checkpoints", "updates"])),
    )
    await try_("aget_state unknown thread_id", lambda: g.aget_state(cfg("nope")))
    await try_(
        "aget_state unknown checkpoint_id",
        lambda: g.aget_state(cfg("t1", checkpoint_id="1f000000-0000-6000-8000-000000000000")),
    )
    await try_("aget_state no thread_id (config={})", lambda: g.aget_state({}))
    await try_(
        "aget_state_history unknown thread", lambda: collect(g.aget_state_history(cfg("nope")))
    )
    await try_("ainvoke with checkpointer but no thread_id", lambda: g.ainvoke(INP))
    await try_(
        "aget_state_history(limit=2)", lambda: collect(g.aget_state_history(cfg("t1"), limit=2))
    )
    await try_(
        "aget_state_history(filter={'source':'loop'}) -> steps",
        lambda: collect(g.aget_state_history(cfg("t1"), filter={"source": "loop"})),
    )
    # raw checkpoint tuple
    tup = await g.checkpointer.aget_tuple(cfg("t1"))
    show("checkpointer.aget_tuple(thread t1) raw CheckpointTuple", tup)
    await try_("aget_state(subgraphs=True) t1", lambda: g.aget_state(cfg("t1"), subgraphs=True))
    # get_state on specific older checkpoint
    old = h[-2]  # input checkpoint's child: step 0
    await try_("aget_state(config of step-0 checkpoint)", lambda: g.aget_state(old.config))
    # no checkpointer
    await try_(
        "get_state on graph without checkpointer",
        lambda: chain_builder().compile().aget_state(cfg("t1")),
    )


# ---------------------------------------------------------------- 2
def ask_builder(two=False):
    async def pre(s: S):
        bump("pre")
        return {"x": s["x"] + 1, "log": ["pre"]}

    async def ask(s: S):
        bump("ask_start")
        answer = interrupt({"question": "q?"})
        bump("ask_after_1")
        out = [answer]
        if two:
            a2 = interrupt({"question": "q2?"})
            bump("ask_after_2")
            out.append(a2)
        return {"log": out}

    async def post(s: S):
        bump("post")
        return {"log": ["post"]}

    g = StateGraph(S)
    g.add_node("pre", pre)
    g.add_node("ask", ask)
    g.add_node("post", post)
    g.add_edge(START, "pre")
    g.add_edge("pre", "ask")
    g.add_edge("ask", "post")
    g.add_edge("post", END)
    return g


def par_builder():
    def mk(name):
        async def f(s: S):
            bump(name + "_start")
            ans = interrupt({"q": name})
            bump(name + "_done")
            return {"log": [f"{name}:{ans}"]}

        return f

    g = StateGraph(S)
    g.add_node("p", mk("p"))
    g.add_node("q", mk("q"))
    g.add_edge(START, "p")
    g.add_edge(START, "q")
    g.add_edge("p", END)
    g.add_edge("q", END)
    return g


async def sec2():
    hdr("2. interrupt()")
    reset()
    g = ask_builder().compile(checkpointer=InMemorySaver())
    r = await try_("ainvoke (interrupted) thread i1", lambda: g.ainvoke(INP, cfg("i1")))
    if isinstance(r, dict) and "__interrupt__" in r:
        intr = r["__interrupt__"]
        print(
            f"    type(__interrupt__)={type(intr).__name__} len={len(intr)}; item type={type(intr[0])!r}"
        )
        it = intr[0]
        print(
            f"    Interrupt fields: {[f.name for f in dataclasses.fields(it)]}; value={it.value!r} id={it.id!r} response_schema={it.response_schema!r}"
        )
    show("counts after interrupted run", dict(COUNT))
    s = await g.aget_state(cfg("i1"))
    snapshot_full(s)
    print("    task[0] fields:", s.tasks[0]._fields, "task repr:", repr(s.tasks[0]))
    tid = s.tasks[0].id
    print(
        f"    xxh3_128('ask:'+task_id) = {xxh3_128_hexdigest(('ask:' + tid).encode())}  (matches id? {xxh3_128_hexdigest(('ask:' + tid).encode()) == s.interrupts[0].id})"
    )
    print(f"    s.tasks[0].path={s.tasks[0].path!r}")
    await hist(g, cfg("i1"), "history after interrupt")
    tup = await g.checkpointer.aget_tuple(cfg("i1"))
    show("raw pending_writes after interrupt", tup.pending_writes)
    reset()
    r = await try_(
        "ainvoke(Command(resume='yes')) thread i1",
        lambda: g.ainvoke(Command(resume="yes"), cfg("i1")),
    )
    show("counts during resume (ask re-runs from the beginning => ask_start)", dict(COUNT))
    await hist(g, cfg("i1"), "history after resume")
    s = await g.aget_state(cfg("i1"))
    show("get_state after resume: next/tasks/interrupts", (s.next, s.tasks, s.interrupts))

    # streamed versions
    g = ask_builder().compile(checkpointer=InMemorySaver())
    show(
        "astream updates (interrupted) thread i2",
        await collect(g.astream(INP, cfg("i2"), stream_mode="updates")),
    )
    show(
        "astream updates resume Command(resume='yes') i2",
        await collect(g.astream(Command(resume="yes"), cfg("i2"), stream_mode="updates")),
    )
    show(
        "astream values (interrupted) thread i3",
        await collect(g.astream(INP, cfg("i3"), stream_mode="values")),
    )
    show(
        "astream values resume Command(resume='yes') i3",
        await collect(g.astream(Command(resume="yes"), cfg("i3"), stream_mode="values")),
    )
    show(
        "astream ['values','updates'] interrupted i4",
        await collect(g.astream(INP, cfg("i4"), stream_mode=["values", "updates"])),
    )
    show(
        "astream ['values','updates'] resume i4",
        await collect(
            g.astream(Command(resume="yes"), cfg("i4"), stream_mode=["values", "updates"])
        ),
    )
    show(
        "astream updates subgraphs=True interrupted i5",
        await collect(g.astream(INP, cfg("i5"), stream_mode="updates", subgraphs=True)),
    )
    show(
        "astream tasks interrupted i6",
        await collect(g.astream(INP, cfg("i6"), stream_mode="tasks")),
    )
    show(
        "astream tasks resume i6",
        await collect(g.astream(Command(resume="yes"), cfg("i6"), stream_mode="tasks")),
    )
    await try_(
        "ainvoke(stream_mode='values'... default) output_keys: ainvoke interrupted with print of keys",
        lambda: g.ainvoke(INP, cfg("i7")),
    )
    # resuming with plain None on an interrupt() thread
    reset()
    await try_(
        "ainvoke(None) on interrupt()-paused thread i7 (no Command)",
        lambda: g.ainvoke(None, cfg("i7")),
    )
    show("counts", dict(COUNT))
    s = await g.aget_state(cfg("i7"))
    show("get_state i7 next/interrupts after ainvoke(None)", (s.next, s.interrupts))
    # new input on interrupted thread
    reset()
    await try_(
        "ainvoke NEW INPUT {'x':5,'log':['new']} on interrupted thread i7",
        lambda: g.ainvoke({"x": 5, "log": ["new"]}, cfg("i7")),
    )
    show("counts", dict(COUNT))
    await hist(g, cfg("i7"), "history i7")
    # Command(resume) on a fresh thread
    await try_(
        "ainvoke(Command(resume='x')) on fresh thread i8",
        lambda: g.ainvoke(Command(resume="x"), cfg("i8")),
    )
    # resume with dict keyed by interrupt id (single interrupt)
    r = await g.ainvoke(INP, cfg("i9"))
    iid = r["__interrupt__"][0].id
    await try_(
        "resume i9 with Command(resume={iid: 'byid'})",
        lambda: g.ainvoke(Command(resume={iid: "byid"}), cfg("i9")),
    )

    hdr("2b. two interrupt() calls in one node")
    reset()
    g = ask_builder(two=True).compile(checkpointer=InMemorySaver())
    r1 = await try_("ainvoke -> first interrupt", lambda: g.ainvoke(INP, cfg("d1")))
    show("counts", dict(COUNT))
    reset()
    r2 = await try_(
        "resume 'A1' -> second interrupt", lambda: g.ainvoke(Command(resume="A1"), cfg("d1"))
    )
    show("counts", dict(COUNT))
    print(
        f"    second interrupt id == first? {r1['__interrupt__'][0].id == r2['__interrupt__'][0].id}"
    )
    s = await g.aget_state(cfg("d1"))
    show("get_state after 2nd interrupt: tasks, interrupts", (s.tasks, s.interrupts))
    tid = s.tasks[0].id
    print(f"    xxh3_128('ask:<tid>|1') = {xxh3_128_hexdigest(('ask:' + tid + '|1').encode())}")
    tup = await g.checkpointer.aget_tuple(cfg("d1"))
    show("raw pending_writes after 2nd interrupt", tup.pending_writes)
    reset()
    await try_("resume 'A2' -> done", lambda: g.ainvoke(Command(resume="A2"), cfg("d1")))
    show("counts", dict(COUNT))

    hdr("2c. two parallel nodes that both interrupt")
    reset()
    g = par_builder().compile(checkpointer=InMemorySaver())
    r = await try_("ainvoke parallel p,q thread pq1", lambda: g.ainvoke(INP, cfg("pq1")))
    show("counts", dict(COUNT))
    s = await g.aget_state(cfg("pq1"))
    show("state.next, state.interrupts, tasks", (s.next, s.interrupts, s.tasks))
    tup = await g.checkpointer.aget_tuple(cfg("pq1"))
    show("raw pending_writes", tup.pending_writes)
    reset()
    await try_(
        "resume single value Command(resume='one') on pq1",
        lambda: g.ainvoke(Command(resume="one"), cfg("pq1")),
    )
    show("counts", dict(COUNT))
    s = await g.aget_state(cfg("pq1"))
    show(
        "state after single-value resume: next, interrupts, values",
        (s.next, s.interrupts, s.values),
    )
    reset()
    await try_(
        "resume again Command(resume='two') on pq1",
        lambda: g.ainvoke(Command(resume="two"), cfg("pq1")),
    )
    show("counts", dict(COUNT))
    # map resume
    reset()
    r = await g.ainvoke(INP, cfg("pq2"))
    m = {i.id: f"ans-{i.value['q']}" for i in r["__interrupt__"]}
    await try_(f"resume map {m}", lambda: g.ainvoke(Command(resume=m), cfg("pq2")))
    show("counts (incl. initial)", dict(COUNT))
    # partial map
    reset()
    r = await g.ainvoke(INP, cfg("pq3"))
    first = r["__interrupt__"][0]
    await try_(
        f"resume partial map only {first.value}",
        lambda: g.ainvoke(Command(resume={first.id: "only"}), cfg("pq3")),
    )
    s = await g.aget_state(cfg("pq3"))
    show("state after partial map: next, interrupts, values", (s.next, s.interrupts, s.values))
    show("counts", dict(COUNT))
    await try_(
        "resume map with unknown id",
        lambda: g.ainvoke(Command(resume={"deadbeef": "x"}), cfg("pq3")),
    )
    s = await g.aget_state(cfg("pq3"))
    show("state after unknown-id map: next, interrupts, values", (s.next, s.interrupts, s.values))
    await try_(
        "astream updates parallel interrupted pq4",
        lambda: collect(g.astream(INP, cfg("pq4"), stream_mode="updates")),
    )

    hdr("2d. interrupt() without checkpointer")
    g = ask_builder().compile()
    await try_("ainvoke no checkpointer", lambda: g.ainvoke(INP))
    await try_(
        "astream updates no checkpointer", lambda: collect(g.astream(INP, stream_mode="updates"))
    )
    await try_("interrupt() outside graph", lambda: interrupt("x"))


# ---------------------------------------------------------------- 3
async def sec3():
    hdr("3. interrupt_before / interrupt_after")
    for kind, kw in [
        ("compile interrupt_before=['b']", dict(interrupt_before=["b"])),
        ("compile interrupt_after=['a']", dict(interrupt_after=["a"])),
    ]:
        print(f"\n### {kind}")
        reset()
        g = chain(**kw)
        show("astream updates", await collect(g.astream(INP, cfg("u"), stream_mode="updates")))
        show("astream values", await collect(g.astream(INP, cfg("v"), stream_mode="values")))
        show(
            "astream ['updates','values']",
            await collect(g.astream(INP, cfg("uv"), stream_mode=["updates", "values"])),
        )
        await try_("ainvoke", lambda: g.ainvoke(INP, cfg("i")))
        s = await g.aget_state(cfg("i"))
        show(
            "get_state next / tasks / interrupts / metadata",
            (s.next, s.tasks, s.interrupts, s.metadata),
        )
        show("counts so far", dict(COUNT))
        reset()
        await try_("resume ainvoke(None, config)", lambda: g.ainvoke(None, cfg("i")))
        show("counts on resume", dict(COUNT))
        show(
            "resume astream(None) updates",
            await collect(g.astream(None, cfg("u"), stream_mode="updates")),
        )
        show(
            "resume astream(None) values",
            await collect(g.astream(None, cfg("v"), stream_mode="values")),
        )
        await hist(g, cfg("i"))
        await try_(
            "resume with Command(resume='x') instead of None (thread uv)",
            lambda: g.ainvoke(Command(resume="x"), cfg("uv")),
        )
    print("\n### kwargs on ainvoke/astream")
    g = chain()
    await try_(
        "ainvoke(interrupt_before=['b'])", lambda: g.ainvoke(INP, cfg("k1"), interrupt_before=["b"])
    )
    show("  next", (await g.aget_state(cfg("k1"))).next)
    await try_("  resume ainvoke(None) without kwarg", lambda: g.ainvoke(None, cfg("k1")))
    await try_(
        "ainvoke(interrupt_after=['a'])", lambda: g.ainvoke(INP, cfg("k2"), interrupt_after=["a"])
    )
    show("  next", (await g.aget_state(cfg("k2"))).next)
    await try_(
        "  resume ainvoke(None, interrupt_after=['a']) again (does it re-interrupt?)",
        lambda: g.ainvoke(None, cfg("k2"), interrupt_after=["a"]),
    )
    await try_(
        "astream(updates, interrupt_before=['b'])",
        lambda: collect(g.astream(INP, cfg("k3"), stream_mode="updates", interrupt_before=["b"])),
    )
    await try_(
        "astream(updates, interrupt_after=['a'])",
        lambda: collect(g.astream(INP, cfg("k4"), stream_mode="updates", interrupt_after=["a"])),
    )
    await try_(
        "ainvoke(interrupt_before='*')", lambda: g.ainvoke(INP, cfg("k5"), interrupt_before="*")
    )
    show("  next", (await g.aget_state(cfg("k5"))).next)
    await try_(
        "ainvoke(interrupt_before=['a']) (first node)",
        lambda: g.ainvoke(INP, cfg("k6"), interrupt_before=["a"]),
    )
    s = await g.aget_state(cfg("k6"))
    show("  next/values/metadata", (s.next, s.values, s.metadata))
    await try_(
        "ainvoke(interrupt_after=['b']) (last node)",
        lambda: g.ainvoke(INP, cfg("k7"), interrupt_after=["b"]),
    )
    s = await g.aget_state(cfg("k7"))
    show("  next/values", (s.next, s.values))
    await try_(
        "ainvoke(interrupt_before=['zzz']) unknown node",
        lambda: g.ainvoke(INP, cfg("k8"), interrupt_before=["zzz"]),
    )
    await try_(
        "compile(interrupt_before=['zzz']) unknown node", lambda: chain(interrupt_before=["zzz"])
    )
    await try_(
        "interrupt_before without checkpointer (ainvoke)",
        lambda: chain_builder().compile(interrupt_before=["b"]).ainvoke(INP),
    )
    await try_(
        "interrupt_before without checkpointer (astream updates)",
        lambda: collect(
            chain_builder().compile(interrupt_before=["b"]).astream(INP, stream_mode="updates")
        ),
    )
    await try_(
        "astream debug interrupt_before b",
        lambda: collect(g.astream(INP, cfg("k9"), stream_mode="debug", interrupt_before=["b"])),
    )


# ---------------------------------------------------------------- 4
async def sec4():
    hdr("4. update_state")
    g = chain()
    await g.ainvoke(INP, cfg("u1"))
    r = await try_(
        "aupdate_state(cfg, {'x': 10}) on finished thread (no as_node)",
        lambda: g.aupdate_state(cfg("u1"), {"x": 10}),
    )
    s = await g.aget_state(cfg("u1"))
    show(
        "  state: values/next/metadata/config/parent_config",
        (s.values, s.next, s.metadata, s.config, s.parent_config),
    )
    print(f"  returned config == state.config? {r == s.config}")
    reset()
    await try_(
        "  ainvoke(None) after update_state on finished thread", lambda: g.ainvoke(None, cfg("u1"))
    )
    show("  counts", dict(COUNT))
    r = await try_(
        "aupdate_state(cfg, {'log': ['u']}) reducer key",
        lambda: g.aupdate_state(cfg("u1"), {"log": ["u"]}),
    )
    show("  values", (await g.aget_state(cfg("u1"))).values)
    await try_(
        "aupdate_state(cfg, {'x': 20}, as_node='a') on finished thread",
        lambda: g.aupdate_state(cfg("u1"), {"x": 20}, as_node="a"),
    )
    s = await g.aget_state(cfg("u1"))
    show("  state: values/next/metadata", (s.values, s.next, s.metadata))
    reset()
    await try_("  ainvoke(None) after as_node='a'", lambda: g.ainvoke(None, cfg("u1")))
    show("  counts", dict(COUNT))
    await hist(g, cfg("u1"))
    await try_(
        "aupdate_state(cfg, {'x': 1}, as_node='b')",
        lambda: g.aupdate_state(cfg("u1"), {"x": 1}, as_node="b"),
    )
    show("  next", (await g.aget_state(cfg("u1"))).next)
    await try_("aupdate_state(cfg, None) (values None)", lambda: g.aupdate_state(cfg("u1"), None))
    s = await g.aget_state(cfg("u1"))
    show("  state values/next/metadata", (s.values, s.next, s.metadata))
    await try_(
        "aupdate_state unknown key {'zzz':1}", lambda: g.aupdate_state(cfg("u1"), {"zzz": 1})
    )
    await try_(
        "aupdate_state as_node='zzz'", lambda: g.aupdate_state(cfg("u1"), {"x": 1}, as_node="zzz")
    )
    await try_(
        "aupdate_state as_node='__start__'",
        lambda: g.aupdate_state(cfg("u1"), {"x": 1}, as_node="__start__"),
    )
    s = await g.aget_state(cfg("u1"))
    show("  state values/next/metadata", (s.values, s.next, s.metadata))
    await try_(
        "aupdate_state as_node='__end__'",
        lambda: g.aupdate_state(cfg("u1"), {"x": 1}, as_node="__end__"),
    )
    await try_(
        "aupdate_state with Command(update=...) as values",
        lambda: g.aupdate_state(cfg("u1"), Command(update={"x": 3})),
    )

    print("\n### fresh thread")
    g = chain()
    r = await try_(
        "aupdate_state on FRESH thread {'x': 5} no as_node",
        lambda: g.aupdate_state(cfg("f1"), {"x": 5}),
    )
    s = await g.aget_state(cfg("f1"))
    show("  values/next/metadata/parent_config", (s.values, s.next, s.metadata, s.parent_config))
    await try_(
        "aupdate_state on FRESH thread {'x': 5, 'log': []} as_node='a'",
        lambda: g.aupdate_state(cfg("f2"), {"x": 5, "log": []}, as_node="a"),
    )
    s = await g.aget_state(cfg("f2"))
    show("  values/next/metadata", (s.values, s.next, s.metadata))
    reset()
    await try_("  ainvoke(None) f2", lambda: g.ainvoke(None, cfg("f2")))
    show("  counts", dict(COUNT))
    await hist(g, cfg("f2"))
    await try_(
        "aupdate_state FRESH as_node='__start__' {'x':7,'log':[]}",
        lambda: g.aupdate_state(cfg("f3"), {"x": 7, "log": []}, as_node="__start__"),
    )
    s = await g.aget_state(cfg("f3"))
    show("  values/next/metadata", (s.values, s.next, s.metadata))

    print("\n### during interrupt_before=['b']")
    g = chain(interrupt_before=["b"])
    await g.ainvoke(INP, cfg("ib"))
    await try_(
        "aupdate_state({'x': 10}) while paused before b (no as_node)",
        lambda: g.aupdate_state(cfg("ib"), {"x": 10}),
    )
    s = await g.aget_state(cfg("ib"))
    show("  values/next/metadata", (s.values, s.next, s.metadata))
    reset()
    await try_("  ainvoke(None)", lambda: g.ainvoke(None, cfg("ib")))
    show("  counts", dict(COUNT))
    await hist(g, cfg("ib"))
    await g.ainvoke(INP, cfg("ib2"))
    await try_(
        "aupdate_state({'x': 10}, as_node='a') while paused before b",
        lambda: g.aupdate_state(cfg("ib2"), {"x": 10}, as_node="a"),
    )
    s = await g.aget_state(cfg("ib2"))
    show("  values/next/metadata", (s.values, s.next, s.metadata))
    reset()
    await try_("  ainvoke(None)", lambda: g.ainvoke(None, cfg("ib2")))
    show("  counts", dict(COUNT))
    await g.ainvoke(INP, cfg("ib3"))
    await try_(
        "aupdate_state(None, as_node='b') while paused before b (skip b)",
        lambda: g.aupdate_state(cfg("ib3"), None, as_node="b"),
    )
    s = await g.aget_state(cfg("ib3"))
    show("  values/next/metadata", (s.values, s.next, s.metadata))

    print("\n### update_state on interrupt()-paused thread")
    g = ask_builder().compile(checkpointer=InMemorySaver())
    await g.ainvoke(INP, cfg("iu"))
    await try_(
        "aupdate_state({'x': 99}) while paused in interrupt()",
        lambda: g.aupdate_state(cfg("iu"), {"x": 99}),
    )
    s = await g.aget_state(cfg("iu"))
    show(
        "  values/next/interrupts/tasks/metadata",
        (s.values, s.next, s.interrupts, s.tasks, s.metadata),
    )
    reset()
    await try_(
        "  resume Command(resume='yes')", lambda: g.ainvoke(Command(resume="yes"), cfg("iu"))
    )
    show("  counts", dict(COUNT))
    print("\n### bulk_update_state / aupdate_state signature")
    print("   aupdate_state signature:", inspect.signature(g.aupdate_state))
    print("   has abulk_update_state:", hasattr(g, "abulk_update_state"))


# ---------------------------------------------------------------- 5
async def sec5():
    hdr("5. time travel / fork / new input on existing thread")
    g = chain()
    await g.ainvoke(INP, cfg("tt"))
    h = await hist(g, cfg("tt"), "initial history")
    after_a = next(s for s in h if s.next == ("b",))
    show("chosen checkpoint (after a) config", after_a.config)
    reset()
    await try_(
        "ainvoke(None, {thread_id, checkpoint_id=after_a})", lambda: g.ainvoke(None, after_a.config)
    )
    show("counts", dict(COUNT))
    h2 = await hist(g, cfg("tt"), "history after replay")
    print(
        "   new checkpoint parent == after_a?",
        cid(h2[1].parent_config) == cid(after_a.config),
        "| h2[0].parent==h2[1]?",
        cid(h2[0].parent_config) == cid(h2[1].config),
    )
    print("   h2[1] is after_a itself?", cid(h2[1].config) == cid(after_a.config))
    show(
        "astream updates replay from after_a",
        await collect(g.astream(None, after_a.config, stream_mode="updates")),
    )
    show(
        "astream values replay from after_a",
        await collect(g.astream(None, after_a.config, stream_mode="values")),
    )
    show(
        "astream checkpoints replay from after_a (thread_id + checkpoint_id only)",
        await collect(
            g.astream(
                None,
                {"configurable": {"thread_id": "tt", "checkpoint_id": cid(after_a.config)}},
                stream_mode="checkpoints",
            )
        ),
    )
    # replay from final checkpoint
    final = h[0]
    reset()
    await try_(
        "ainvoke(None, final checkpoint config) (nothing next)",
        lambda: g.ainvoke(None, final.config),
    )
    show("counts", dict(COUNT))
    # input checkpoint (step -1)
    inp_cp = h[-1]
    reset()
    await try_("ainvoke(None, step -1 input checkpoint)", lambda: g.ainvoke(None, inp_cp.config))
    show("counts", dict(COUNT))
    # fork by update_state on old checkpoint
    r = await try_(
        "aupdate_state(after_a.config, {'x': 100}) (fork)",
        lambda: g.aupdate_state(after_a.config, {"x": 100}),
    )
    s = await g.aget_state(r)
    show(
        "  forked snapshot values/next/metadata/parent",
        (s.values, s.next, s.metadata, cid(s.parent_config) == cid(after_a.config)),
    )
    reset()
    await try_("  ainvoke(None, forked config)", lambda: g.ainvoke(None, r))
    show("  counts", dict(COUNT))
    await hist(g, cfg("tt"), "history after fork")

    print("\n### new input on a thread that already finished")
    g = chain()
    await g.ainvoke(INP, cfg("ni"))
    reset()
    await try_(
        "ainvoke({'x': 100, 'log': ['new']}) second time",
        lambda: g.ainvoke({"x": 100, "log": ["new"]}, cfg("ni")),
    )
    show("counts", dict(COUNT))
    await hist(g, cfg("ni"))
    reset()
    show(
        "astream values with new input (third)",
        await collect(g.astream({"log": ["third"]}, cfg("ni"), stream_mode="values")),
    )
    print("\n### new input + checkpoint_id of old checkpoint")
    g = chain()
    await g.ainvoke(INP, cfg("nc"))
    h = [x async for x in g.aget_state_history(cfg("nc"))]
    after_a = next(s for s in h if s.next == ("b",))
    reset()
    await try_(
        "ainvoke({'x': 50, 'log': ['in']}, after_a.config)",
        lambda: g.ainvoke({"x": 50, "log": ["in"]}, after_a.config),
    )
    show("counts", dict(COUNT))
    await hist(g, cfg("nc"))
    print("\n### replay a checkpoint that was an interrupt() pause")
    g = ask_builder().compile(checkpointer=InMemorySaver())
    await g.ainvoke(INP, cfg("ri"))
    await g.ainvoke(Command(resume="yes"), cfg("ri"))
    h = await hist(g, cfg("ri"))
    paused = next(s for s in h if s.next == ("ask",))
    reset()
    await try_(
        "ainvoke(None, paused checkpoint config) -> re-interrupt?",
        lambda: g.ainvoke(None, paused.config),
    )
    show("counts", dict(COUNT))
    reset()
    await try_(
        "ainvoke(Command(resume='again'), paused checkpoint config)",
        lambda: g.ainvoke(Command(resume="again"), paused.config),
    )
    show("counts", dict(COUNT))


# ---------------------------------------------------------------- 6
async def sec6():
    hdr("6. durability")
    g = chain()
    print("ainvoke signature:", inspect.signature(g.ainvoke))
    print("astream signature:", inspect.signature(g.astream))
    for d in [None, "sync", "async", "exit"]:
        g = chain()
        kw = {} if d is None else {"durability": d}
        r = await g.ainvoke(INP, cfg("d"), **kw)
        h = [x async for x in g.aget_state_history(cfg("d"))]
        print(
            f"durability={d!r}: result={r} history_len={len(h)} steps/sources={[(x.metadata['step'], x.metadata['source'], x.next) for x in h]}"
        )
    for d in ["sync", "exit"]:
        g = ask_builder().compile(checkpointer=InMemorySaver())
        r = await g.ainvoke(INP, cfg("d"), durability=d)
        h = [x async for x in g.aget_state_history(cfg("d"))]
        print(
            f"interrupt graph durability={d!r}: history_len={len(h)} steps={[(x.metadata['step'], x.metadata['source'], x.next) for x in h]}"
        )
        s = await g.aget_state(cfg("d"))
        print("   state.next/interrupts:", s.next, s.interrupts)
        r = await g.ainvoke(Command(resume="y"), cfg("d"), durability=d)
        h = [x async for x in g.aget_state_history(cfg("d"))]
        print(
            f"   after resume: {r} history_len={len(h)} steps={[(x.metadata['step'], x.metadata['source'], x.next) for x in h]}"
        )
    g = chain()
    await try_("durability='foo'", lambda: g.ainvoke(INP, cfg("df"), durability="foo"))
    await try_("  history after durability='foo'", lambda: hist(g, cfg("df")))
    await try_(
        "durability='exit' no checkpointer",
        lambda: chain_builder().compile().ainvoke(INP, durability="exit"),
    )
    await try_(
        "astream checkpoints durability='exit'",
        lambda: collect(
            chain().astream(INP, cfg("dx"), stream_mode="checkpoints", durability="exit")
        ),
    )
    # error with exit
    g = err_builder().compile(checkpointer=InMemorySaver())
    ERR["fail"] = True
    await try_(
        "error node with durability='exit'", lambda: g.ainvoke(INP, cfg("de"), durability="exit")
    )
    await try_("  history", lambda: hist(g, cfg("de")))


# ---------------------------------------------------------------- 7
GATE: dict[str, Any] = {}


def cancel_builder():
    async def s1(s: S):
        bump("s1")
        return {"x": s["x"] + 1, "log": ["s1"]}

    async def fast(s: S):
        bump("fast")
        GATE["fast_done"].set()
        return {"log": ["fast"]}

    async def slow(s: S):
        bump("slow_start")
        if GATE.get("block", True):
            await asyncio.Event().wait()
        bump("slow_done")
        return {"log": ["slow"]}

    g = StateGraph(S)
    g.add_node("s1", s1)
    g.add_node("fast", fast)
    g.add_node("slow", slow)
    g.add_edge(START, "s1")
    g.add_edge("s1", "fast")
    g.add_edge("s1", "slow")
    g.add_edge("fast", END)
    g.add_edge("slow", END)
    return g


async def sec7():
    hdr("7. cancellation mid-step")
    for d in [None, "sync", "exit"]:
        print(f"\n### durability={d!r}")
        reset()
        GATE.clear()
        GATE["fast_done"] = asyncio.Event()
        g = cancel_builder().compile(checkpointer=InMemorySaver())
        kw = {} if d is None else {"durability": d}
        t = asyncio.create_task(g.ainvoke(INP, cfg("c"), **kw))
        await GATE["fast_done"].wait()
        await asyncio.sleep(0.05)
        t.cancel()
        try:
            await t
            print("task finished?!")
        except asyncio.CancelledError:
            print("task raised CancelledError")
        except BaseException as e:
            print("task raised", exc_info(e))
        show("counts", dict(COUNT))
        s = await g.aget_state(cfg("c"))
        show("get_state: values/next/tasks/metadata", (s.values, s.next, s.tasks, s.metadata))
        tup = await g.checkpointer.aget_tuple(cfg("c"))
        show("raw pending_writes", tup.pending_writes if tup else None)
        await try_("history", lambda: hist(g, cfg("c")))
        GATE["block"] = False
        reset()
        await try_("ainvoke(None) after unblocking slow", lambda: g.ainvoke(None, cfg("c")))
        show("counts on resume (fast re-run?)", dict(COUNT))
    # cancel astream consumer instead
    print("\n### cancel an astream consumer (aclose via task cancel), default durability")
    reset()
    GATE.clear()
    GATE["fast_done"] = asyncio.Event()
    g = cancel_builder().compile(checkpointer=InMemorySaver())
    got = []

    async def consume():
        async for c in g.astream(INP, cfg("c2"), stream_mode="updates"):
            got.append(c)

    t = asyncio.create_task(consume())
    await GATE["fast_done"].wait()
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("consumer CancelledError")
    show("chunks received before cancel", got)
    tup = await g.checkpointer.aget_tuple(cfg("c2"))
    show("raw pending_writes", tup.pending_writes)
    GATE["block"] = False
    reset()
    show(
        "resume astream(None) updates",
        await collect(g.astream(None, cfg("c2"), stream_mode="updates")),
    )
    show("counts", dict(COUNT))


# ---------------------------------------------------------------- 8
ERR: dict[str, Any] = {}


def err_builder(parallel=False):
    async def a(s: S):
        bump("a")
        return {"x": s["x"] + 1, "log": ["a"]}

    async def b(s: S):
        bump("b")
        if ERR.get("fail"):
            raise ValueError("boom")
        return {"log": ["b"]}

    async def c(s: S):
        bump("c")
        await asyncio.sleep(0)
        return {"log": ["c"]}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", END)
    if parallel:
        g.add_node("c", c)
        g.add_edge("a", "c")
        g.add_edge("c", END)
    return g


async def sec8():
    hdr("8. error in node with checkpointer")
    for par in [False, True]:
        print(f"\n### parallel sibling c: {par}")
        reset()
        ERR["fail"] = True
        g = err_builder(par).compile(checkpointer=InMemorySaver())
        await try_("ainvoke (b raises)", lambda: g.ainvoke(INP, cfg("e")))
        s = await g.aget_state(cfg("e"))
        snapshot_full(s)
        tup = await g.checkpointer.aget_tuple(cfg("e"))
        show("raw pending_writes", tup.pending_writes)
        await hist(g, cfg("e"))
        reset()
        await try_("ainvoke(None) still failing", lambda: g.ainvoke(None, cfg("e")))
        show("counts", dict(COUNT))
        ERR["fail"] = False
        reset()
        await try_("ainvoke(None) after fix", lambda: g.ainvoke(None, cfg("e")))
        show("counts (a re-run? c re-run?)", dict(COUNT))
        await hist(g, cfg("e"))
    ERR["fail"] = True
    g = err_builder().compile(checkpointer=InMemorySaver())
    await try_(
        "astream updates (b raises)",
        lambda: collect(g.astream(INP, cfg("e2"), stream_mode="updates")),
    )
    ERR["fail"] = True
    await try_(
        "astream debug (b raises)", lambda: collect(g.astream(INP, cfg("e3"), stream_mode="debug"))
    )
    ERR["fail"] = False
    show(
        "resume astream values after error",
        await collect(g.astream(None, cfg("e3"), stream_mode="values")),
    )


# ---------------------------------------------------------------- 9
async def sec9():
    hdr("9. values/updates on resume")
    g = chain(interrupt_before=["b"])
    await g.ainvoke(INP, cfg("r1"))
    show(
        "resume astream(None, values) after interrupt_before b",
        await collect(g.astream(None, cfg("r1"), stream_mode="values")),
    )
    show(
        "astream(None, values) again on finished thread",
        await collect(g.astream(None, cfg("r1"), stream_mode="values")),
    )
    show(
        "astream(None, updates) again on finished thread",
        await collect(g.astream(None, cfg("r1"), stream_mode="updates")),
    )
    await try_("ainvoke(None) on finished thread", lambda: g.ainvoke(None, cfg("r1")))
    await try_("ainvoke(None) on fresh thread", lambda: g.ainvoke(None, cfg("fresh")))
    await try_(
        "astream(None, values) on fresh thread",
        lambda: collect(g.astream(None, cfg("fresh2"), stream_mode="values")),
    )
    g = chain(interrupt_after=["a"])
    await g.ainvoke(INP, cfg("r2"))
    show(
        "resume astream(None, values) after interrupt_after a",
        await collect(g.astream(None, cfg("r2"), stream_mode="values")),
    )
    await g.ainvoke(INP, cfg("r3"))
    show(
        "resume astream(None, ['values','updates','debug']) after interrupt_after a",
        await collect(g.astream(None, cfg("r3"), stream_mode=["values", "updates", "debug"])),
    )
    g = ask_builder().compile(checkpointer=InMemorySaver())
    await g.ainvoke(INP, cfg("r4"))
    show(
        "resume Command astream(values) after interrupt()",
        await collect(g.astream(Command(resume="y"), cfg("r4"), stream_mode="values")),
    )
    await g.ainvoke(INP, cfg("r5"))
    show(
        "resume Command astream(['values','updates']) after interrupt()",
        await collect(g.astream(Command(resume="y"), cfg("r5"), stream_mode=["values", "updates"])),
    )
    await g.ainvoke(INP, cfg("r6"))
    show(
        "resume Command astream(debug) after interrupt()",
        await collect(g.astream(Command(resume="y"), cfg("r6"), stream_mode="debug")),
    )
    show(
        "ainvoke(stream_mode='updates') interrupted thread r7",
        await g.ainvoke(INP, cfg("r7"), stream_mode="updates"),
    )
    show(
        "ainvoke(stream_mode='updates') resume r7",
        await g.ainvoke(Command(resume="y"), cfg("r7"), stream_mode="updates"),
    )
    # Command(goto) / update on resume
    await g.ainvoke(INP, cfg("r8"))
    await try_(
        "resume Command(resume='y', update={'x': 42})",
        lambda: g.ainvoke(Command(resume="y", update={"x": 42}), cfg("r8")),
    )
    g2 = chain()
    await g2.ainvoke(INP, cfg("r9"))
    await try_(
        "Command(goto='b') on finished thread", lambda: g2.ainvoke(Command(goto="b"), cfg("r9"))
    )
    await try_(
        "Command(update={'x': 7}) on finished thread",
        lambda: g2.ainvoke(Command(update={"x": 7}), cfg("r9")),
    )
    await hist(g2, cfg("r9"))


# ---------------------------------------------------------------- 10
async def sec10():
    hdr("10. checkpoints / debug payload after interrupt")
    g = ask_builder().compile(checkpointer=InMemorySaver())
    show(
        "astream checkpoints (interrupted)",
        await collect(g.astream(INP, cfg("c1"), stream_mode="checkpoints")),
    )
    show(
        "astream checkpoints resume",
        await collect(g.astream(Command(resume="yes"), cfg("c1"), stream_mode="checkpoints")),
    )
    show(
        "astream debug (interrupted)", await collect(g.astream(INP, cfg("c2"), stream_mode="debug"))
    )
    g = chain(interrupt_before=["b"])
    show(
        "astream checkpoints interrupt_before b",
        await collect(g.astream(INP, cfg("c3"), stream_mode="checkpoints")),
    )
    show(
        "astream checkpoints resume None",
        await collect(g.astream(None, cfg("c3"), stream_mode="checkpoints")),
    )
    g = par_builder().compile(checkpointer=InMemorySaver())
    show(
        "astream checkpoints parallel interrupts",
        await collect(g.astream(INP, cfg("c4"), stream_mode="checkpoints")),
    )
    ERR["fail"] = True
    g = err_builder().compile(checkpointer=InMemorySaver())
    await try_(
        "astream checkpoints with error in b",
        lambda: collect(g.astream(INP, cfg("c5"), stream_mode="checkpoints")),
    )
    g = chain()
    await g.ainvoke(INP, cfg("c6"))
    await g.aupdate_state(cfg("c6"), {"x": 10})
    show(
        "astream checkpoints after update_state then None",
        await collect(g.astream(None, cfg("c6"), stream_mode="checkpoints")),
    )
    await try_(
        "astream checkpoints without checkpointer",
        lambda: collect(chain_builder().compile().astream(INP, stream_mode="checkpoints")),
    )


# ---------------------------------------------------------------- 11
async def sec11():
    hdr("11. step numbering")
    g = ask_builder().compile(checkpointer=InMemorySaver())
    await g.ainvoke(INP, cfg("s"))
    await hist(g, cfg("s"), "after interrupted run")
    await g.ainvoke(Command(resume="y"), cfg("s"))
    await hist(g, cfg("s"), "after resume")
    await g.aupdate_state(cfg("s"), {"x": 1})
    await g.aupdate_state(cfg("s"), {"x": 2}, as_node="pre")
    await hist(g, cfg("s"), "after 2 update_state")
    await g.ainvoke(Command(resume="y2"), cfg("s"))  # ask pending? whatever happens
    await hist(g, cfg("s"), "after ainvoke(Command(resume)) (post update as pre -> ask)")
    await g.ainvoke({"x": 0, "log": ["second"]}, cfg("s"))
    await hist(g, cfg("s"), "after second input")


# ---------------------------------------------------------------- 12
async def sec12():
    hdr(
        "12. extras: live get_state vs history, goto on finished thread, partial resume ids, as_node inference, metadata"
    )
    # live vs record snapshot after cancellation-like partial step: use error with parallel sibling
    ERR["fail"] = True
    g = err_builder(True).compile(checkpointer=InMemorySaver())
    await try_("ainvoke (b raises, c ok)", lambda: g.ainvoke(INP, cfg("lv")))
    live = await g.aget_state(cfg("lv"))
    rec = await g.aget_state(live.config)
    show("LIVE get_state(thread only): values/next/tasks", (live.values, live.next, live.tasks))
    show(
        "RECORD get_state(with checkpoint_id): values/next/tasks", (rec.values, rec.next, rec.tasks)
    )
    # interrupts live vs record (two interrupts in one node, after first answered)
    g = ask_builder(two=True).compile(checkpointer=InMemorySaver())
    await g.ainvoke(INP, cfg("lv2"))
    await g.ainvoke(Command(resume="A1"), cfg("lv2"))
    live = await g.aget_state(cfg("lv2"))
    rec = await g.aget_state(live.config)
    show("two-interrupt node after A1: LIVE interrupts / tasks", (live.interrupts, live.tasks))
    show("two-interrupt node after A1: RECORD interrupts / tasks", (rec.interrupts, rec.tasks))
    # partial resume ids
    reset()
    g = par_builder().compile(checkpointer=InMemorySaver())
    r = await g.ainvoke(INP, cfg("pr"))
    show("initial interrupts", r["__interrupt__"])
    first = r["__interrupt__"][0]
    r2 = await g.ainvoke(Command(resume={first.id: "only"}), cfg("pr"))
    show("after partial resume result", r2)
    await hist(g, cfg("pr"), "history after partial resume")
    tup = await g.checkpointer.aget_tuple(cfg("pr"))
    show("raw pending_writes after partial resume", tup.pending_writes)
    show("counts", dict(COUNT))
    # Command(goto) on finished thread
    reset()
    g = chain()
    await g.ainvoke(INP, cfg("gt"))
    await try_(
        "Command(goto='b') on finished thread", lambda: g.ainvoke(Command(goto="b"), cfg("gt"))
    )
    show("counts", dict(COUNT))
    s = await g.aget_state(cfg("gt"))
    show("get_state after goto: values/next/metadata", (s.values, s.next, s.metadata))
    await hist(g, cfg("gt"), "history after goto")
    tup = await g.checkpointer.aget_tuple(cfg("gt"))
    show("raw pending_writes", tup.pending_writes)
    show(
        "astream updates Command(goto='a') on finished thread",
        await collect(g.astream(Command(goto="a"), cfg("gt"), stream_mode="updates")),
    )
    # Command(resume) on a past interrupt checkpoint (never replayed with None)
    g = ask_builder().compile(checkpointer=InMemorySaver())
    await g.ainvoke(INP, cfg("pc"))
    await g.ainvoke(Command(resume="yes"), cfg("pc"))
    h = [x async for x in g.aget_state_history(cfg("pc"))]
    paused = next(x for x in h if x.next == ("ask",))
    tup = await g.checkpointer.aget_tuple(paused.config)
    show("pending_writes on the past paused checkpoint", tup.pending_writes)
    reset()
    await try_(
        "ainvoke(Command(resume='again'), past paused config)",
        lambda: g.ainvoke(Command(resume="again"), paused.config),
    )
    show("counts", dict(COUNT))
    # Command(update) on finished / paused threads: stored as NULL-task pending writes
    g = chain()
    await g.ainvoke(INP, cfg("cu"))
    await try_(
        "Command(update={'x': 7}) on finished thread",
        lambda: g.ainvoke(Command(update={"x": 7}), cfg("cu")),
    )
    await hist(g, cfg("cu"), "history after Command(update) on finished thread (no new checkpoint)")
    tup = await g.checkpointer.aget_tuple(cfg("cu"))
    show("raw pending_writes on latest checkpoint", tup.pending_writes)
    g = chain(interrupt_before=["b"])
    await g.ainvoke(INP, cfg("cu2"))
    await try_(
        "Command(update={'x': 7}) while paused before b",
        lambda: g.ainvoke(Command(update={"x": 7}), cfg("cu2")),
    )
    await hist(
        g, cfg("cu2"), "history (note step-1 record shows x=7: null writes applied in snapshots)"
    )
    # as_node inference
    g = par_builder().compile(checkpointer=InMemorySaver())
    r = await g.ainvoke(INP, cfg("amb"))
    m = {i.id: "v" for i in r["__interrupt__"]}
    await g.ainvoke(Command(resume=m), cfg("amb"))
    await try_(
        "update_state no as_node after parallel p,q wrote (ambiguous?)",
        lambda: g.aupdate_state(cfg("amb"), {"x": 1}),
    )
    await try_(
        "update_state on FRESH thread of p/q graph no as_node",
        lambda: g.aupdate_state(cfg("amb2"), {"x": 1}),
    )
    # single node graph
    sg = StateGraph(S)
    sg.add_node("only", lambda s: {"x": 1})
    sg.add_edge(START, "only")
    sg = sg.compile(checkpointer=InMemorySaver())
    await try_(
        "single-node graph update_state fresh no as_node",
        lambda: sg.aupdate_state(cfg("one"), {"x": 3}),
    )
    s = await sg.aget_state(cfg("one"))
    show("  next/metadata", (s.next, s.metadata))
    # metadata from config
    g = chain()
    await g.ainvoke(
        INP,
        {
            "configurable": {"thread_id": "md", "user_id": "u1", "__private": 1},
            "metadata": {"foo": "bar"},
            "tags": ["t"],
            "run_name": "rn",
        },
    )
    s = await g.aget_state(cfg("md"))
    show("checkpoint metadata with config metadata+extra configurable keys", s.metadata)
    await g.aupdate_state(
        {"configurable": {"thread_id": "md", "user_id": "u2"}, "metadata": {"m": 1}}, {"x": 5}
    )
    s = await g.aget_state(cfg("md"))
    show("update_state metadata with config metadata", s.metadata)
    # update_state values=None as_node=END
    await try_(
        "aupdate_state(None, as_node='__end__') on paused interrupt_before thread",
        lambda: _end_update(),
    )
    # interrupt id determinism across re-runs
    g = ask_builder().compile(checkpointer=InMemorySaver())
    r1 = await g.ainvoke(INP, cfg("det"))
    r2 = await g.ainvoke(None, cfg("det"))
    print(
        "   interrupt id stable across ainvoke(None) re-run:",
        r1["__interrupt__"][0].id == r2["__interrupt__"][0].id,
    )
    # Interrupt equality / hash / to dict
    it = r1["__interrupt__"][0]
    print(
        "   Interrupt eq same value/id:",
        it == type(it)(value=it.value, id=it.id),
        " asdict:",
        dataclasses.asdict(it),
    )
    # sync get_state on async graph
    show("sync get_state works for async-node graph", g.get_state(cfg("det")).next)
    # checkpoint_ns config key
    await try_(
        "aget_state with checkpoint_ns='' explicitly",
        lambda: g.aget_state({"configurable": {"thread_id": "det", "checkpoint_ns": ""}}),
    )


async def _end_update():
    g = chain(interrupt_before=["b"])
    await g.ainvoke(INP, cfg("end"))
    r = await g.aupdate_state(cfg("end"), None, as_node="__end__")
    s = await g.aget_state(cfg("end"))
    return r, s.values, s.next, s.metadata, s.tasks


async def main():
    for n, f in [
        ("1", sec1),
        ("2", sec2),
        ("3", sec3),
        ("4", sec4),
        ("5", sec5),
        ("6", sec6),
        ("7", sec7),
        ("8", sec8),
        ("9", sec9),
        ("10", sec10),
        ("11", sec11),
        ("12", sec12),
    ]:
        if want(n):
            try:
                await f()
            except BaseException:
                print(f"!!! section {n} crashed")
                traceback.print_exc(file=sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())

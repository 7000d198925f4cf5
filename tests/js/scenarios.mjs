// LangGraph's official JS SDK (@langchain/langgraph-sdk, the client of its React
// `useStream` hook) against a running `scopegraph serve`.
//
//   [JOIN_URL=<another API process>] node scenarios.mjs <server url> [scenario ...]
//
// The server serves the example graphs `agent` (32 custom tokens `{node, token}`) and
// `approval` (an interrupt), and `boom` (a node that raises), as tests/test_server_js_sdk.py
// starts it. Each scenario prints one JSON line `{"scenario", "ok", "error"?}`; the exit
// status is 1 if one failed. Nothing sleeps to order events: a scenario waits for an event
// of the stream, or joins the run.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";

const url = process.argv[2];
if (!url) {
  console.error("usage: node scenarios.mjs <server url> [scenario ...]");
  process.exit(2);
}
const client = new Client({ apiUrl: url, defaultHeaders: {} });
// Joins go to JOIN_URL when it is set: in scale-out, another API process than the one
// that created the run.
const joiner = new Client({ apiUrl: process.env.JOIN_URL || url });
const TOKENS = 32; // 8 in `think`, 24 in `answer`

async function collect(parts) {
  const out = [];
  for await (const part of parts) out.push(part);
  return out;
}

const events = (parts) => parts.map((p) => p.event);
const tokens = (parts) => parts.filter((p) => p.event === "custom").map((p) => p.data.token);

function noEnd(parts) {
  // LangGraph's server closes a stream after the run's last event: no `end` event is
  // handed to user code.
  assert.deepEqual(events(parts).filter((e) => e === "end" || e === "error"), []);
}

async function rejects(promise, status) {
  try {
    await promise;
  } catch (err) {
    assert.equal(err.status, status, String(err));
    const body = JSON.parse(err.text);
    assert.equal(typeof body.detail, "string", err.text); // what LangGraph sends
    assert.equal(body.detail, body.message, err.text); // and scopegraph's own fields
    return body;
  }
  assert.fail(`expected HTTP ${status}`);
}

const scenarios = {
  async stream_closes_without_end() {
    const thread = await client.threads.create();
    const parts = await collect(
      client.runs.stream(thread.thread_id, "agent", {
        input: { prompt: "one two" },
        streamMode: ["custom", "updates", "values"],
      }),
    );
    assert.equal(parts[0].event, "metadata");
    noEnd(parts);
    assert.equal(tokens(parts).length, TOKENS);
    assert.equal(parts.at(-1).event, "values");
    const run = await client.runs.get(thread.thread_id, parts[0].data.run_id);
    assert.equal(run.status, "success");
  },

  async stateless_stream() {
    const parts = await collect(
      client.runs.stream(null, "agent", { input: { prompt: "x" }, streamMode: "custom" }),
    );
    assert.equal(parts[0].event, "metadata");
    noEnd(parts);
    assert.equal(tokens(parts).length, TOKENS);
  },

  // useStream's rejoin on remount: joinStream(..., { lastEventId: "-1" }) replays the run.
  async use_stream_rejoin_minus_one() {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "agent", {
      input: { prompt: "rejoin" },
      streamMode: ["custom", "values"],
      streamResumable: true,
    });
    const parts = await collect(
      joiner.runs.joinStream(thread.thread_id, run.run_id, { lastEventId: "-1" }),
    );
    assert.equal(parts[0].event, "metadata");
    assert.equal(parts[0].data.run_id, run.run_id);
    noEnd(parts);
    assert.deepEqual(tokens(parts), Array(TOKENS).fill("rejoin"));
    const ids = parts.map((p) => p.id);
    assert.ok(ids.every((id) => id !== undefined), "a resumable run's events carry ids");
    assert.equal(new Set(ids).size, ids.length);
  },

  // useStream's queued submit: a run queued behind another (enqueue), joined from its
  // start while it waits.
  async queued_run_rejoin() {
    const thread = await client.threads.create();
    const body = { streamMode: ["custom"], streamResumable: true, multitaskStrategy: "enqueue" };
    const first = await client.runs.create(thread.thread_id, "agent", {
      ...body,
      input: { prompt: "first" },
    });
    const queued = await client.runs.create(thread.thread_id, "agent", {
      ...body,
      input: { prompt: "second" },
    });
    assert.equal((await client.runs.get(thread.thread_id, queued.run_id)).status, "pending");
    const parts = await collect(
      joiner.runs.joinStream(thread.thread_id, queued.run_id, { lastEventId: "-1" }),
    );
    assert.equal(parts[0].data.run_id, queued.run_id);
    noEnd(parts);
    assert.deepEqual(tokens(parts), Array(TOKENS).fill("second"));
    assert.equal((await client.runs.get(thread.thread_id, first.run_id)).status, "success");
    assert.equal((await client.runs.get(thread.thread_id, queued.run_id)).status, "success");
  },

  async join_finished_resumable_run_replays() {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "agent", {
      input: { prompt: "again" },
      streamMode: ["custom"],
      streamResumable: true,
    });
    await client.runs.join(thread.thread_id, run.run_id);
    const parts = await collect(joiner.runs.joinStream(thread.thread_id, run.run_id));
    assert.equal(parts[0].event, "metadata");
    noEnd(parts);
    assert.deepEqual(tokens(parts), Array(TOKENS).fill("again"));
  },

  async join_finished_plain_run_closes() {
    const thread = await client.threads.create();
    const run = await client.runs.create(thread.thread_id, "agent", { input: { prompt: "p" } });
    await client.runs.join(thread.thread_id, run.run_id);
    const parts = await collect(joiner.runs.joinStream(thread.thread_id, run.run_id));
    assert.deepEqual(events(parts), []);
  },

  async error_bodies() {
    const missing = randomUUID();
    const body = await rejects(client.threads.get(missing), 404);
    assert.ok(body.detail.includes(missing), body.detail);
    const thread = await client.threads.create();
    // a graph name that is not served: 422, as LangGraph's server answers
    const unknown = await rejects(client.runs.create(thread.thread_id, "no-such-graph", {}), 422);
    assert.ok(unknown.detail.includes("'agent'"), unknown.detail);
    // malformed JSON: 422, as LangGraph's server answers
    const response = await fetch(`${url}/threads`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"metadata": ',
    });
    assert.equal(response.status, 422);
    assert.equal(typeof (await response.json()).detail, "string");
    // a wrong-shaped input is refused at create (LangGraph fails the run later)
    await rejects(client.runs.create(thread.thread_id, "agent", { input: { prompt: 5 } }), 422);
  },

  async cancel_wait_then_cancel_again() {
    const thread = await client.threads.create();
    const seen = [];
    let answer;
    for await (const part of client.runs.stream(thread.thread_id, "agent", {
      input: { prompt: "stop me" },
      streamMode: ["custom", "values"],
    })) {
      seen.push(part);
      if (part.event === "custom" && answer === undefined) {
        // 200 with the run's final values once its cleanup finished (LangGraph's answer)
        answer = await client.runs.cancel(thread.thread_id, seen[0].data.run_id, true);
      }
    }
    const runId = seen[0].data.run_id;
    assert.equal(typeof answer, "object");
    assert.notEqual(answer, null);
    const run = await client.runs.get(thread.thread_id, runId);
    assert.equal(run.status, "interrupted");
    // nothing left to cancel: 404, as LangGraph's server answers
    await rejects(client.runs.cancel(thread.thread_id, runId), 404);
  },

  async metadata_flows_like_langgraph() {
    const thread = await client.threads.create({ metadata: { owner: "ada" } });
    await client.runs.wait(thread.thread_id, "agent", {
      input: { prompt: "m" },
      metadata: { tag: "t1" },
      config: { metadata: { via: "config" } },
    });
    const after = await client.threads.get(thread.thread_id);
    assert.equal(after.metadata.owner, "ada");
    assert.equal(after.metadata.graph_id, "agent");
    assert.match(after.metadata.assistant_id, /^[0-9a-f-]{36}$/);
    assert.equal(typeof after.state_updated_at, "string");
    assert.equal(after.error, null);
    const [run] = await client.runs.list(thread.thread_id);
    assert.equal(run.metadata.owner, "ada"); // the thread's metadata
    assert.equal(run.metadata.tag, "t1"); // the run's
    assert.equal(run.metadata.via, "config"); // its config's
    assert.equal(run.metadata.assistant_id, after.metadata.assistant_id);
    const state = await client.threads.getState(thread.thread_id);
    assert.equal(state.metadata.owner, "ada"); // the checkpoints carry it too
    assert.equal(state.metadata.tag, "t1");
    assert.equal(state.metadata.assistant_id, after.metadata.assistant_id);
  },

  async failed_run_sets_thread_error() {
    const thread = await client.threads.create();
    const parts = await collect(
      client.runs.stream(thread.thread_id, "boom", { input: { n: 1 }, streamMode: "values" }),
    );
    assert.equal(parts.at(-1).event, "error");
    assert.equal(parts.at(-1).data.error, "ValueError");
    const after = await client.threads.get(thread.thread_id);
    assert.equal(after.status, "error");
    assert.equal(after.error.error, "ValueError");
    assert.ok(after.error.message.includes("boom"), after.error.message);
  },

  async interrupt_and_resume() {
    const thread = await client.threads.create();
    const waiting = await client.runs.wait(thread.thread_id, "approval", {
      input: { draft: "hi" },
    });
    assert.equal(waiting.__interrupt__[0].value.question, "publish this draft?");
    assert.equal((await client.threads.get(thread.thread_id)).status, "interrupted");
    const done = await client.runs.wait(thread.thread_id, "approval", {
      command: { resume: "yes" },
    });
    assert.equal(done.published, "draft: hi");
  },

  async thread_stream_interrupt_and_respond() {
    // client.threads.stream: LangGraph's thread-centric protocol (run.start, the
    // thread's events over SSE, input.respond), the thread minted by the SDK.
    const thread = client.threads.stream({ assistantId: "approval" });
    const seen = [];
    const waitFor = (match) =>
      new Promise((resolve) => {
        const stop = thread.onEvent((event) => {
          if (match(event)) {
            stop();
            resolve(event);
          }
        });
      });
    thread.onEvent((event) => seen.push(event));
    const rootEnd = (status) => (e) =>
      e.method === "lifecycle" && e.params.namespace.length === 0 && e.params.data.event === status;
    try {
      const asked = waitFor((e) => e.method === "input.requested");
      const started = await thread.run.start({ input: { draft: "hi" } });
      assert.equal(typeof started.run_id, "string");
      const request = (await asked).params.data;
      assert.equal(request.payload.question, "publish this draft?");
      const completed = waitFor(rootEnd("completed"));
      await thread.input.respond({
        interrupt_id: request.interrupt_id,
        namespace: [],
        response: "yes",
      });
      await completed;
      const state = await joiner.threads.getState(thread.threadId);
      assert.equal(state.values.published, "draft: hi");
      assert.ok(seen.some(rootEnd("interrupted")), JSON.stringify(seen.map((e) => e.method)));
      // what LangGraph's server answers too: the JS SDK's state.* commands are not served
      await assert.rejects(
        thread.state.get({ namespace: [] }),
        /Unknown protocol command: state\.get/,
      );
    } finally {
      await thread.close();
    }
  },
};

const wanted = process.argv.slice(3);
let failed = false;
for (const [name, scenario] of Object.entries(scenarios)) {
  if (wanted.length && !wanted.includes(name)) continue;
  try {
    await scenario();
    console.log(JSON.stringify({ scenario: name, ok: true }));
  } catch (err) {
    failed = true;
    console.log(JSON.stringify({ scenario: name, ok: false, error: String(err?.stack ?? err) }));
  }
}
process.exit(failed ? 1 : 0);

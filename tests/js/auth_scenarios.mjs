// LangGraph's official JS SDK against a `scopegraph serve` with custom auth
// (tests/_auth_app.py: bearer tokens, a global handler that stamps and filters by
// `metadata.owner`, and lets reads and searches reach what `metadata.shared_with` shares
// (an `$or` filter), store namespaces scoped to the user).
//
//   node auth_scenarios.mjs <server url>
//
// The server serves the `whoami` graph, as tests/test_server_auth_js.py starts it. Each
// scenario prints one JSON line `{"scenario", "ok", "error"?}`; the exit status is 1 if one
// failed.
import assert from "node:assert/strict";
import { Client } from "@langchain/langgraph-sdk";

const url = process.argv[2];
if (!url) {
  console.error("usage: node auth_scenarios.mjs <server url>");
  process.exit(2);
}
const as = (token) =>
  new Client({ apiUrl: url, defaultHeaders: token ? { Authorization: `Bearer ${token}` } : {} });
const alice = as("alice-token");
const bob = as("bob-token");

async function rejects(promise, status) {
  try {
    await promise;
  } catch (err) {
    assert.equal(err.status, status, String(err));
    return JSON.parse(err.text);
  }
  assert.fail(`expected HTTP ${status}`);
}

const scenarios = {
  async two_users_apart() {
    const thread = await alice.threads.create({ metadata: { topic: "otters" } });
    assert.equal(thread.metadata.owner, "alice");
    const tid = thread.thread_id;
    const run = await alice.runs.create(tid, "whoami", { input: {} });
    const seen = (await alice.runs.join(tid, run.run_id)).seen;
    assert.deepEqual([seen.identity, seen.user_id], ["alice", "alice"]);
    const cron = await alice.crons.createForThread(tid, "whoami", { schedule: "0 0 1 1 *" });
    const assistant = await alice.assistants.create({ graphId: "whoami", name: "hers" });
    await alice.store.putItem(["notes"], "k", { v: 1 });

    for (const attempt of [
      () => bob.threads.get(tid),
      () => bob.threads.getState(tid),
      () => bob.threads.update(tid, { metadata: { topic: "seals" } }),
      () => bob.threads.delete(tid),
      () => bob.runs.get(tid, run.run_id),
      () => bob.runs.join(tid, run.run_id),
      () => bob.runs.cancel(tid, run.run_id),
      () => bob.runs.wait(tid, "whoami", { input: {} }),
      () => bob.crons.delete(cron.cron_id),
      () => bob.assistants.get(assistant.assistant_id),
    ]) {
      await rejects(attempt(), 404);
    }
    assert.deepEqual(await bob.threads.search({ metadata: { topic: "otters" } }), []);
    assert.equal(await bob.threads.count(), 0);
    assert.deepEqual(await bob.crons.search(), []);
    assert.deepEqual(await bob.assistants.search({ metadata: { owner: "alice" } }), []);
    assert.equal(await bob.store.getItem(["notes"], "k"), null);
    assert.deepEqual((await bob.store.searchItems(["notes"])).items, []);

    const mine = await alice.threads.search({ metadata: { topic: "otters" } });
    assert.deepEqual(
      mine.map((t) => t.thread_id),
      [tid],
    );
    assert.equal((await alice.store.getItem(["notes"], "k")).namespace.join("."), "alice.notes");
    const bobs = await bob.runs.wait(null, "whoami", { input: {} });
    assert.equal(bobs.seen.identity, "bob");
  },

  async shared_with() {
    // the handlers' $or for reads and searches: the owner, or metadata.shared_with
    const topic = `seals-${crypto.randomUUID()}`;
    const shared = await alice.threads.create({ metadata: { topic, shared_with: ["bob"] } });
    const kept = await alice.threads.create({ metadata: { topic } });
    const own = await bob.threads.create({ metadata: { topic } });
    assert.equal((await bob.threads.get(shared.thread_id)).metadata.owner, "alice");
    await rejects(bob.threads.get(kept.thread_id), 404);
    const found = await bob.threads.search({ metadata: { topic } });
    assert.deepEqual(
      found.map((t) => t.thread_id),
      [own.thread_id, shared.thread_id],
    );
    assert.equal(await bob.threads.count({ metadata: { topic } }), 2);
    const page = await bob.threads.search({ metadata: { topic }, limit: 1, offset: 1 });
    assert.deepEqual(
      page.map((t) => t.thread_id),
      [shared.thread_id],
    );
    await rejects(bob.runs.create(shared.thread_id, "whoami", { input: {} }), 404);
    const team = ["team", topic];
    await alice.store.putItem(team, "a-private", { author: "alice", public: false });
    await alice.store.putItem(team, "a-public", { author: "alice", public: true });
    const items = (await bob.store.searchItems(team)).items.map((i) => i.key);
    assert.deepEqual(items, ["a-public"]);
  },

  async refusals() {
    const body = await rejects(as(null).threads.create(), 401);
    assert.equal(body.detail, "Invalid token");
    const teapot = await rejects(as("teapot-token").threads.search(), 418);
    assert.equal(teapot.detail, "I'm a teapot");
    const carol = as("carol-token");
    const thread = await carol.threads.create();
    const forbidden = await rejects(carol.threads.delete(thread.thread_id), 403);
    assert.equal(forbidden.detail, "Forbidden");
  },
};

let failed = false;
for (const [name, scenario] of Object.entries(scenarios)) {
  try {
    await scenario();
    console.log(JSON.stringify({ scenario: name, ok: true }));
  } catch (err) {
    failed = true;
    console.log(JSON.stringify({ scenario: name, ok: false, error: String(err?.stack ?? err) }));
  }
}
process.exit(failed ? 1 : 0);

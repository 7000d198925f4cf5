// The served agent of examples/agent/ driven with LangGraph's official JS SDK.
//
//   AGENT_CLEANUP_LOG=<file> node agent.mjs <server url> '<steps as JSON>'
//
// tests/test_agent_served.py gives the steps and runs the same ones on LangGraph in
// Python; this prints one JSON line: what the server gave for each step, in order.
// A step is {thread, user} with one of
//   input: "text"            a run with that user message: what runs.wait returned
//   resume: {...}            a run with Command(resume=...): what runs.wait returned
//   stop: "runs.cancel"      approve the pending tool call, and cancel the run once the
//                            tool reports that it started: {cleanup, status, lifecycle,
//                            running, next, messages} (cleanup: the cleanup log's lines
//                            when runs.cancel returned)
// Nothing sleeps: the stop waits for the tool's custom event, and cancel waits for the run.
import { readFileSync, existsSync } from "node:fs";
import { Client } from "@langchain/langgraph-sdk";

const [url, stepsJson] = process.argv.slice(2);
if (!url || !stepsJson) {
  console.error("usage: node agent.mjs <server url> '<steps as JSON>'");
  process.exit(2);
}
const client = new Client({ apiUrl: url });
const ASSISTANT = "assistant";
const APPROVE = { decisions: [{ type: "approve" }] };
const threads = {};

function cleanupLines() {
  const path = process.env.AGENT_CLEANUP_LOG;
  return path && existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [];
}

async function threadOf(name) {
  threads[name] ??= (await client.threads.create()).thread_id;
  return threads[name];
}

async function stop(tid, context) {
  const parts = client.runs.stream(tid, ASSISTANT, {
    command: { resume: APPROVE },
    context,
    streamMode: "custom",
  });
  let runId = null;
  let cleanup = null;
  for await (const part of parts) {
    if (part.event === "metadata") runId = part.data.run_id;
    else if (part.event === "custom" && part.data.research === "started") {
      await client.runs.cancel(tid, runId, true);
      cleanup = cleanupLines();
    }
  }
  const run = await client.runs.get(tid, runId);
  const running = [
    ...(await client.runs.list(tid, { status: "running" })),
    ...(await client.runs.list(tid, { status: "pending" })),
  ];
  const state = await client.threads.getState(tid);
  return {
    cleanup,
    status: run.status,
    lifecycle: run.lifecycle.map((e) => e.event),
    running: running.length,
    next: state.next,
    messages: state.values.messages,
  };
}

const results = [];
for (const step of JSON.parse(stepsJson)) {
  const tid = await threadOf(step.thread);
  const context = { user_id: step.user };
  if (step.stop) {
    results.push(await stop(tid, context));
    continue;
  }
  const payload = step.resume
    ? { command: { resume: step.resume }, context }
    : { input: { messages: [{ role: "user", content: step.input }] }, context };
  results.push(await client.runs.wait(tid, ASSISTANT, payload));
}
console.log(JSON.stringify(results));

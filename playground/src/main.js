// The scopegraph playground: start a run, watch it on the graph and in its streams, stop
// and continue it, chat with a graph that has messages, travel through a thread's history.
import { Chat } from "./chat.js";
import { Diagram } from "./diagram.js";
import { History } from "./history.js";
import { $, el, json, short, sleep } from "./util.js";

const MODES = ["values", "updates", "custom", "messages-tuple", "events", "debug", "tasks", "checkpoints"];
const DEFAULT_MODES = ["updates", "custom"];
const TERMINAL = ["success", "error", "timeout", "interrupted"];
const EXAMPLES = {
  agent: { prompt: "tell me a story" },
  approval: { draft: "hello" },
  chat: { messages: [{ role: "user", content: "What is the weather in Paris?" }] },
  pipeline: { topic: "structured concurrency" },
};
const MAX_ROWS = 1000;

let run = null;           // {threadId, runId, controller, started, stopping, modes, ...}
let selected = null;      // the selected thread id
let selectedGraph = null; // ... and its graph
let inputEdited = false;
let activeMode = "custom";
let tabPicked = false;    // the user chose a tab: do not switch to the one with events
let view = "events";      // events | chat | history
let graphInfo = { id: null, messages: false };
const counts = {};
const diagram = new Diagram($("diagram"));
const chat = new Chat($("chat-log"));

// -- HTTP -------------------------------------------------------------------------------
function headers() {
  const h = { "content-type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["x-api-key"] = key;
  const authorization = $("authorization").value.trim();  // for the server's custom auth
  if (authorization) h["authorization"] = authorization;
  return h;
}
async function api(method, path, body, signal) {
  const res = await fetch(path, {
    method, headers: headers(), signal,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) await fail(res, method, path);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}
async function fail(res, method, path) {
  let detail = await res.text();
  try { const e = JSON.parse(detail); detail = `${e.error}: ${e.message}`; } catch (_) { /* text */ }
  throw new Error(`${method} ${path} → ${res.status} ${detail}`);
}
function showError(err) {
  $("error").textContent = err ? String(err.message || err) : "";
  $("error").style.display = err ? "block" : "none";
}

// POST that answers with SSE: call onEvent(name, data) for each frame.
async function streamSSE(path, body, signal, onEvent) {
  const res = await fetch(path, { method: "POST", headers: headers(), body: json(body), signal });
  if (!res.ok) await fail(res, "POST", path);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const keep = buffer.endsWith("\r") ? "\r" : "";  // a CRLF split across chunks
    buffer = buffer.slice(0, buffer.length - keep.length).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) continue;  // heartbeat comment
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) onEvent(event, JSON.parse(data.join("\n")));
    }
    buffer += keep;
  }
}

// -- graphs, input, modes ---------------------------------------------------------------
async function loadGraphs() {
  const assistants = await api("POST", "/assistants/search", { limit: 100 });
  const select = $("graph");
  const current = select.value;
  select.replaceChildren(...assistants.map((a) => el("option", { value: a.graph_id }, a.graph_id)));
  if (assistants.some((a) => a.graph_id === current)) select.value = current;
  await showGraph();
}
// The selected graph: its diagram, whether it chats, and its example input.
async function showGraph() {
  const graph = $("graph").value;
  if (!graph || graphInfo.id === graph) return prefillInput();
  const [drawn, schemas] = await Promise.all([
    api("GET", `/assistants/${encodeURIComponent(graph)}/graph`),
    api("GET", `/assistants/${encodeURIComponent(graph)}/schemas`),
  ]);
  if ($("graph").value !== graph) return;
  const props = ((schemas.state_schema || schemas.input_schema || {}).properties) || {};
  graphInfo = { id: graph, messages: "messages" in props, props };
  diagram.draw(drawn);
  $("diagram-title").textContent = graph;
  $("view-chat").hidden = !graphInfo.messages;
  if (graphInfo.messages) setView("chat");
  else if (view === "chat") setView("events");
  await prefillInput();
}
async function prefillInput() {
  if (inputEdited) return;
  const graph = $("graph").value;
  let value = EXAMPLES[graph];
  if (!value && graphInfo.messages) value = { messages: [{ role: "user", content: "hello" }] };
  if (!value) {
    value = {};
    for (const [k, p] of Object.entries(graphInfo.props || {})) if (p.type === "string") value[k] = "";
  }
  $("input").value = json(value, 2);
}
function renderModes() {
  $("modes").replaceChildren(el("span", { className: "muted" }, "Stream modes"),
    ...MODES.map((m) => el("label", {},
      el("input", { type: "checkbox", name: "mode", value: m, id: `mode-${m}`,
                    checked: DEFAULT_MODES.includes(m) }), ` ${m}`)));
}
const chosenModes = () => MODES.filter((m) => $(`mode-${m}`).checked);
const eventMode = (event) => {
  const mode = event.split("|")[0];
  return mode === "messages" ? "messages-tuple" : mode;
};

// -- views ------------------------------------------------------------------------------
function setView(name) {
  view = name;
  for (const v of ["events", "chat", "history"]) {
    $(`view-${v}`).classList.toggle("active", v === name);
    $(`panel-${v}`).hidden = v !== name;
  }
  if (name === "history") history.load().catch(showError);
}

// -- events -----------------------------------------------------------------------------
function resetEvents(modes) {
  for (const m of MODES) delete counts[m];
  for (const m of modes) counts[m] = 0;
  tabPicked = false;
  if (!modes.includes(activeMode)) activeMode = modes.includes("custom") ? "custom" : modes[0];
  $("events").replaceChildren();
  renderTabs();
}
function renderTabs() {
  $("tabs").replaceChildren(...Object.keys(counts).map((m) => {
    const b = el("button", { id: `tab-${m}`, className: m === activeMode ? "active" : "" },
      m, el("span", { className: "count" }, String(counts[m])));
    b.onclick = () => { tabPicked = true; activeMode = m; renderTabs(); filterEvents(); };
    return b;
  }));
}
function filterEvents() {
  for (const row of $("events").children) row.hidden = row.dataset.mode !== activeMode;
}
function addEvent(mode, event, data) {
  counts[mode] = (counts[mode] || 0) + 1;
  if (!tabPicked && !counts[activeMode] && mode !== activeMode) {
    activeMode = mode;  // the tab shown is one that has events
    renderTabs();
    filterEvents();
  }
  const tab = $(`tab-${mode}`);
  if (tab) tab.querySelector(".count").textContent = String(counts[mode]);
  else renderTabs();
  if (counts[mode] > MAX_ROWS) return;
  const box = $("events");
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  const secs = ((performance.now() - run.started) / 1000).toFixed(2);
  const ns = event.includes("|") ? event.slice(event.indexOf("|") + 1) : "";
  const row = el("div", { className: "event", hidden: mode !== activeMode },
    el("span", { className: "t" }, `+${secs}s`),
    el("code", {}, (ns ? `[${ns.split(":")[0]}] ` : "") + json(data)));
  row.dataset.mode = mode;
  box.append(row);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// -- live graph -------------------------------------------------------------------------
// A `tasks` event: a task started (it has `input`) or finished (`result` / `error`). A
// subgraph's tasks (namespace "parent:<id>") show on their parent node.
function onTask(event, data) {
  const ns = event.includes("|") ? event.slice(event.indexOf("|") + 1) : "";
  const node = ns ? ns.split("|")[0].split(":")[0] : data.name;
  const started = "input" in data || "triggers" in data;
  if (ns) {
    if (diagram.states.get(node) !== "running") diagram.set(node, "running");
    diagram.set(node, "running", started ? data.name : "");
    return;
  }
  if (started) diagram.set(node, "running", "");
  else if (data.error) diagram.set(node, "error", "");
  else if ((data.interrupts || []).length) diagram.set(node, "waiting", "");
  else diagram.set(node, "done", "");
}

// A custom event is progress of the node it names (the demo graphs' `node` key), of the
// subgraph node it came from, or of the one node running.
function onCustom(current, event, data) {
  const ns = event.includes("|") ? event.slice(event.indexOf("|") + 1).split(":")[0] : "";
  let node = ns;
  if (!node && data && typeof data === "object" && diagram.has(data.node)) node = data.node;
  if (!node) {
    const running = [...diagram.states].filter(([, state]) => state === "running");
    if (running.length === 1) node = running[0][0];
  }
  if (!node) return;
  current.progress[node] = (current.progress[node] || 0) + 1;
  const step = data && typeof data === "object" && typeof data.progress === "string" ? data.progress : "";
  diagram.progress(node, step && !ns ? step : String(current.progress[node]));
}

// -- runs -------------------------------------------------------------------------------
function setStatus(status, info) {
  $("status").textContent = status;
  $("status").className = status.replace(/ /g, "-");
  if (info !== undefined) $("run-info").textContent = info;
}
const lcName = (e) => e.event.replace(/^(.*) \(\1\)$/, "$1");  // "x (x)" → "x"
function renderLifecycle(record) {
  const events = record.lifecycle || [];
  const t0 = events.length ? Date.parse(events[0].at) : 0;
  $("lifecycle").replaceChildren(...events.map((e) => el("span", { className: "lc" }, lcName(e),
    el("small", {}, ` +${((Date.parse(e.at) - t0) / 1000).toFixed(2)}s`))));
}
const lifecycleText = (record) => (record.lifecycle || []).map(lcName).join(" → ");

// What a thread's state says about it: waiting for input (an interrupt), error, stopped
// (a run was cancelled with nodes still to run), or done.
function threadState(state, status) {
  if ((state.interrupts || []).length) return "waiting for input";
  if (status === "error") return "error";
  if ((state.next || []).length) return "stopped";
  return "success";
}

async function start(extra) {
  showError(null);
  const shown = chosenModes();
  if (!shown.length) return showError("choose at least one stream mode");
  // tasks drive the live graph; messages-tuple the chat: asked for even when not shown.
  const modes = [...shown];
  if (!modes.includes("tasks")) modes.push("tasks");
  if (graphInfo.messages && !modes.includes("messages-tuple")) modes.push("messages-tuple");
  const body = { assistant_id: $("graph").value, stream_mode: modes, stream_subgraphs: true,
                 on_disconnect: "cancel" };
  if (extra) Object.assign(body, extra);
  else {
    try { body.input = JSON.parse($("input").value || "null"); } catch (e) {
      return showError(`the input is not valid JSON: ${e.message}`);
    }
  }
  const current = { controller: new AbortController(), started: performance.now(), shown,
                    progress: {} };
  run = current;
  $("start").disabled = true;
  $("stop").disabled = false;
  $("continue").disabled = true;
  $("chat-send").disabled = true;
  $("lifecycle").replaceChildren();
  resetEvents(shown);
  diagram.clear();
  setStatus("starting", "");
  delete $("run-info").dataset.runId;
  try {
    current.threadId = selected || (await api("POST", "/threads", {})).thread_id;
    if (!selected) await selectThread(current.threadId, false);
    if (current.stopping) throw Object.assign(new Error("stopped"), { name: "AbortError" });
    await streamSSE(`/threads/${current.threadId}/runs/stream`, body, current.controller.signal,
      (event, data) => {
        const mode = eventMode(event);
        if (event === "metadata") {
          current.runId = data.run_id;
          Object.assign($("run-info").dataset, { runId: data.run_id, threadId: current.threadId });
          setStatus(current.stopping ? "stopping" : "running",
            `run ${short(data.run_id)} · thread ${short(current.threadId)}`);
          poll(current);
          if (current.stopping) cancel(current);  // Stop was pressed before the run existed
          return;
        }
        if (event === "error") return showError(`${data.error}: ${data.message}`);
        if (event === "end") return;
        if (mode === "tasks" && !current.stopping) onTask(event, data);
        if (mode === "custom" && !current.stopping) onCustom(current, event, data);
        if (mode === "messages-tuple" && graphInfo.messages && !event.includes("|")) chat.onEvent(data);
        if (mode === "updates" || mode === "values") current.changed = true;
        if (shown.includes(mode)) addEvent(mode, event, data);
      });
  } catch (err) {
    if (err.name !== "AbortError") showError(err);
  }
  if (!current.runId) {  // no run was created: an error, or stopped before the request
    setStatus(current.stopping ? "stopped" : "idle");
    finish(current);
  }
}

function stop() {
  const current = run;
  if (!current || current.stopping) return;
  current.stopping = true;
  $("stop").disabled = true;
  setStatus("stopping");
  diagram.move("running", "cleanup");  // cleanup runs now; marked when it has finished
  if (current.runId) cancel(current);  // else: as soon as the run's metadata event arrives
}
// Cancel the run (the answer comes when its cleanup has finished), then drop the stream.
async function cancel(current) {
  try {
    await api("POST", `/threads/${current.threadId}/runs/${current.runId}/cancel?wait=1&action=interrupt`);
  } catch (err) {
    if (!String(err.message).includes("404")) showError(err);  // 404: it had already ended
  }
  current.controller.abort();
}

// Follow the run record until its status is terminal; meanwhile keep the thread panel
// current; at the end show the thread's state.
async function poll(current) {
  if (current.polling) return;
  current.polling = true;
  const path = `/threads/${current.threadId}/runs/${current.runId}`;
  let record = null;
  for (let i = 0; ; i++) {
    try {
      record = await api("GET", path);
      renderLifecycle(record);
      if (TERMINAL.includes(record.status)) break;
      if (!current.stopping) setStatus(record.status);
      if (i % 4 === 3 || current.changed) {
        current.changed = false;
        await selectThread(selected, false);
      }
    } catch (err) { showError(err); break; }
    await sleep(250);
  }
  if (record && TERMINAL.includes(record.status)) {
    if ((record.lifecycle || []).some((e) => e.event === "cleanup finished")) {
      diagram.move("cleanup", "stopped");
    }
    diagram.move("running", record.status === "success" ? "done" : "stopped");
    diagram.move("cleanup", "stopped");
    let status = record.status;
    try {
      const state = await api("GET", `/threads/${current.threadId}/state`);
      status = threadState(state, record.status);
      for (const task of state.tasks || []) {
        if ((task.interrupts || []).length) diagram.set(task.name, "waiting", "");
      }
    } catch (_) { /* a stateless server: the run's own status */ }
    setStatus(status, `run ${short(current.runId)} ${record.status} · thread ${short(current.threadId)}`);
  }
  finish(current);
}
function finish(current) {
  if (run === current) {
    run = null;
    $("start").disabled = false;
    $("stop").disabled = true;
    $("chat-send").disabled = false;
  }
  refreshAfter(current.threadId);
}
// The thread's status follows the run's by a moment: refresh until it is no longer busy.
async function refreshAfter(threadId) {
  for (let i = 0; i < 20; i++) {
    const thread = await selectThread(selected, false);
    if (!thread || thread.thread_id !== threadId || thread.status !== "busy") break;
    await sleep(250);
  }
  if (view === "history") await history.load().catch(showError);
}

// -- threads ----------------------------------------------------------------------------
function threadLabel(thread) {
  const interrupts = Object.values(thread.interrupts || {}).flat();
  if (thread.status === "interrupted") return interrupts.length ? "waiting for input" : "stopped";
  return thread.status;
}
async function loadThreads() {
  const threads = await api("POST", "/threads/search", { limit: 30 });
  $("threads").replaceChildren(...threads.map((t) => {
    const li = el("li", { className: t.thread_id === selected ? "selected" : "" },
      el("code", {}, short(t.thread_id)),
      el("span", { className: "muted" }, `${(t.metadata || {}).graph_id || ""} · ${threadLabel(t)}`));
    li.dataset.threadId = t.thread_id;
    li.dataset.status = t.status;
    li.onclick = () => selectThread(t.thread_id === selected ? null : t.thread_id, true);
    return li;
  }));
}
async function selectThread(threadId, pickGraph) {
  const changed = threadId !== selected;
  if (changed) selectedGraph = null;
  if (changed && !run) diagram.clear();  // the marks were another thread's
  selected = threadId;
  $("target").textContent = threadId ? `on thread ${short(threadId)}` : "on a new thread";
  $("thread-detail").hidden = !threadId;
  try {
    if (!threadId) {
      if (changed && graphInfo.messages) chat.reset([]);
      if (changed) await history.load();
      return await loadThreads();
    }
    const [thread, state, runs] = await Promise.all([
      api("GET", `/threads/${threadId}`),
      api("GET", `/threads/${threadId}/state`),
      api("GET", `/threads/${threadId}/runs?limit=20`),
    ]);
    await loadThreads();  // after the thread: the list is never older than the details
    if (selected !== threadId) return;
    const graph = (thread.metadata || {}).graph_id;
    selectedGraph = graph || null;
    if (pickGraph && graph && [...$("graph").options].some((o) => o.value === graph)) {
      $("graph").value = graph;
      inputEdited = false;
      await showGraph();
    }
    const label = thread.status === "busy" ? "busy" : threadState(state, thread.status);
    $("thread-title").textContent = `${short(threadId)} · ${label}`;
    $("thread-status").textContent = label;
    $("thread-status").className = `pill ${label.replace(/ /g, "-")}`;
    $("thread-state").textContent = json({ values: state.values, next: state.next }, 2);
    const interrupts = state.interrupts || [];
    $("interrupts").style.display = interrupts.length ? "block" : "none";
    $("interrupt-values").textContent = json(interrupts.map((i) => i.value), 2);
    const stopped = label === "stopped";
    $("stopped").style.display = stopped ? "block" : "none";
    $("stopped-next").textContent = (state.next || []).join(", ");
    $("continue").disabled = !!run;
    $("runs").replaceChildren(...runs.map((r) => el("div", {},
      el("code", {}, short(r.run_id)), ` ${r.status} `,
      el("span", { className: "muted" }, lifecycleText(r)))));
    if (!run && graph === graphInfo.id && thread.status !== "busy") markPending(state);
    const messages = (state.values || {}).messages;
    if (graphInfo.messages && graph === graphInfo.id && !run && Array.isArray(messages)) {
      chat.reset(messages);
    }
    if (changed) await history.load();
    return thread;
  } catch (err) { showError(err); }
}

// A thread at rest: the nodes it would run next are waiting (an interrupt) or stopped.
function markPending(state) {
  const waiting = new Set((state.tasks || []).filter((t) => (t.interrupts || []).length)
    .map((t) => t.name));
  for (const name of state.next || []) {
    if (waiting.has(name)) diagram.set(name, "waiting", "");
    else if (!diagram.states.get(name)) diagram.set(name, "stopped", "");
  }
}

// -- history ----------------------------------------------------------------------------
const history = new History({
  api,
  showError,
  threadId: () => selected,
  async fork(checkpointId, values) {
    const threadId = selected;
    const updated = await api("POST", `/threads/${threadId}/state`,
      { values, checkpoint_id: checkpointId });
    await history.load();
    await start({ input: null, checkpoint_id: updated.checkpoint.checkpoint_id,
                  assistant_id: selectedGraph || $("graph").value });
  },
});

// -- wiring -----------------------------------------------------------------------------
async function boot() {
  showError(null);
  try { await loadGraphs(); await selectThread(selected, false); } catch (err) { showError(err); }
}
$("api-key").value = localStorage.getItem("scopegraph.apiKey") || "";
$("api-key").onchange = () => {
  localStorage.setItem("scopegraph.apiKey", $("api-key").value.trim());
  boot();
};
// the token only for this tab's session: it is a user's credential
$("authorization").value = sessionStorage.getItem("scopegraph.authorization") || "";
$("authorization").onchange = () => {
  sessionStorage.setItem("scopegraph.authorization", $("authorization").value.trim());
  boot();
};
$("graph").onchange = () => {
  inputEdited = false;  // a new graph: its own example input
  if (selected && selectedGraph && selectedGraph !== $("graph").value) selectThread(null, false);
  showGraph().catch(showError);
};
$("input").oninput = () => { inputEdited = true; };
$("start").onclick = () => start();
$("stop").onclick = () => stop();
$("resume").onclick = () => {
  let value;
  try { value = JSON.parse($("resume-value").value); } catch (e) {
    return showError(`the resume value is not valid JSON: ${e.message}`);
  }
  start({ command: { resume: value }, assistant_id: selectedGraph || $("graph").value });
};
$("continue").onclick = () => start({ input: null, assistant_id: selectedGraph || $("graph").value });
$("chat-form").onsubmit = (e) => {
  e.preventDefault();
  const text = $("chat-input").value.trim();
  if (!text || run) return;
  $("chat-input").value = "";
  chat.addUser(text);
  start({ input: { messages: [{ role: "user", content: text }] } });
};
$("new-thread").onclick = () => selectThread(null, false);
$("refresh-threads").onclick = () => selectThread(selected, false);
for (const v of ["events", "chat", "history"]) $(`view-${v}`).onclick = () => setView(v);
renderModes();
resetEvents(DEFAULT_MODES);
setView("events");
boot();

// History and time travel: a thread's checkpoints as a timeline (step, node, time); the
// selected one's state and its diff from its parent; "fork from here" edits the state at
// that checkpoint (POST /threads/{id}/state) and runs from the fork.
import { $, el, json, same, short } from "./util.js";

// What made a checkpoint: the nodes its parent was about to run, or its source.
function madeBy(snapshot, byId) {
  const source = (snapshot.metadata || {}).source;
  if (source === "input") return "input";
  if (source === "update") return "update_state";
  if (source === "fork") return "fork";
  const parent = byId.get(snapshot.parent_checkpoint_id);
  const ran = parent ? (parent.next || []).map((n) => (n === "__start__" ? "start" : n)) : [];
  return ran.join(", ") || source || "";
}

// Key by key: what changed from `before` to `after` (lists that grew show what was added).
export function diff(before, after) {
  const rows = [];
  const a = before || {};
  const b = after || {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!(key in a)) rows.push({ op: "+", key, text: json(b[key]) });
    else if (!(key in b)) rows.push({ op: "-", key, text: json(a[key]) });
    else if (!same(a[key], b[key])) {
      const grew = Array.isArray(a[key]) && Array.isArray(b[key]) && b[key].length > a[key].length
        && same(a[key], b[key].slice(0, a[key].length));
      rows.push(grew
        ? { op: "+", key, text: `… + ${json(b[key].slice(a[key].length))}` }
        : { op: "~", key, text: `${json(a[key])} → ${json(b[key])}` });
    }
  }
  return rows;
}

export class History {
  constructor(ctx) {
    this.ctx = ctx; // {api, threadId(), fork(checkpointId, values), showError}
    this.snapshots = [];
    this.selectedId = null;
    $("fork").onclick = () => this.openFork();
    $("fork-cancel").onclick = () => { $("fork-editor").hidden = true; };
    $("fork-run").onclick = () => this.runFork().catch(this.ctx.showError);
  }

  async load() {
    const threadId = this.ctx.threadId();
    if (!threadId) {
      this.snapshots = [];
      this.render();
      return;
    }
    this.snapshots = await this.ctx.api("GET", `/threads/${threadId}/history?limit=100`);
    if (this.ctx.threadId() !== threadId) return;
    if (!this.snapshots.some((s) => s.checkpoint_id === this.selectedId)) this.selectedId = null;
    this.render();
  }

  render() {
    const byId = new Map(this.snapshots.map((s) => [s.checkpoint_id, s]));
    $("timeline").replaceChildren(...this.snapshots.map((s) => {
      const step = (s.metadata || {}).step;
      const time = s.created_at ? new Date(s.created_at).toLocaleTimeString([], { hour12: false }) : "";
      const li = el("li", { className: s.checkpoint_id === this.selectedId ? "selected" : "" },
        el("span", { className: "step" }, `step ${step}`),
        el("span", { className: "node" }, madeBy(s, byId)),
        el("span", { className: "muted" }, (s.next || []).length ? `next: ${s.next.join(", ")}` : ""),
        el("span", { className: "time muted" }, time));
      li.dataset.checkpointId = s.checkpoint_id;
      li.dataset.step = String(step);
      li.onclick = () => { this.selectedId = s.checkpoint_id; this.render(); };
      return li;
    }));
    $("history-empty").hidden = this.snapshots.length > 0;
    const chosen = byId.get(this.selectedId);
    $("checkpoint").hidden = !chosen;
    if (!chosen) { $("fork-editor").hidden = true; return; }
    $("checkpoint-title").textContent =
      `checkpoint ${short(chosen.checkpoint_id)} · step ${(chosen.metadata || {}).step}`;
    $("checkpoint-state").textContent = json(chosen.values, 2);
    const parent = byId.get(chosen.parent_checkpoint_id);
    const rows = diff(parent ? parent.values : {}, chosen.values);
    $("checkpoint-diff").replaceChildren(...(rows.length ? rows.map((r) => el("div",
      { className: `diff ${{ "+": "add", "-": "del", "~": "chg" }[r.op]}` },
      el("b", {}, `${r.op} ${r.key}`), ` ${r.text}`)) : [el("div", { className: "muted" }, "no change")]));
  }

  openFork() {
    const chosen = this.snapshots.find((s) => s.checkpoint_id === this.selectedId);
    if (!chosen) return;
    $("fork-values").value = json(chosen.values, 2);
    $("fork-editor").hidden = false;
  }

  // Update the state at the selected checkpoint with the keys that were edited, then run
  // from the new checkpoint (input null, as LangGraph resumes).
  async runFork() {
    const chosen = this.snapshots.find((s) => s.checkpoint_id === this.selectedId);
    if (!chosen) return;
    let edited;
    try { edited = JSON.parse($("fork-values").value); } catch (e) {
      throw new Error(`the forked state is not valid JSON: ${e.message}`);
    }
    if (!edited || typeof edited !== "object" || Array.isArray(edited)) {
      throw new Error("the forked state must be a JSON object of state keys");
    }
    const changed = {};
    for (const [k, v] of Object.entries(edited)) if (!same(v, (chosen.values || {})[k])) changed[k] = v;
    $("fork-editor").hidden = true;
    await this.ctx.fork(chosen.checkpoint_id, changed);
  }
}

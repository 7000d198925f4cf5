// The chat view of a graph whose state has `messages`: user messages, the assistant's
// tokens joined as they stream (`messages-tuple` chunks), tool calls and tool results.
import { el, json } from "./util.js";

// human, ai or tool: a LangChain message's type, a chunk's ("AIMessageChunk"), or a role.
export function kindOf(message) {
  const raw = String(message.type || message.role || "human").toLowerCase()
    .replace(/messagechunk$|message$/, "");
  return { user: "human", assistant: "ai", aimessagechunk: "ai" }[raw] || raw;
}

const textOf = (content) => {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : part.text || "")).join("");
  }
  return content == null ? "" : json(content);
};

export class Chat {
  constructor(log) {
    this.log = log;
    this.bubbles = new Map(); // message id -> {box, text, calls, callChunks}
  }

  // Show `messages` (a thread's state) and nothing else.
  reset(messages) {
    this.bubbles.clear();
    this.log.replaceChildren();
    for (const message of messages || []) this.add(message);
    this.scroll();
  }

  add(message) {
    const kind = kindOf(message);
    const bubble = this.bubble(message.id, kind);
    bubble.text.textContent = textOf(message.content);
    if (kind === "tool") bubble.text.textContent = `${message.name || "tool"} → ${textOf(message.content)}`;
    this.showCalls(bubble, message.tool_calls || []);
    return bubble;
  }

  // A user's message, shown at once (the stream does not echo the input).
  addUser(text) {
    this.add({ type: "human", content: text, id: `local-${Date.now()}` });
    this.scroll();
  }

  // One `messages` event: [chunk or message, metadata].
  onEvent(data) {
    const [message] = Array.isArray(data) ? data : [data];
    if (!message || typeof message !== "object") return;
    const isChunk = /chunk$/i.test(String(message.type || ""));
    if (!isChunk) {
      this.add(message);
    } else {
      const bubble = this.bubble(message.id, kindOf(message));
      bubble.text.textContent += textOf(message.content);
      for (const c of message.tool_call_chunks || []) {
        const key = c.index ?? c.id ?? bubble.callChunks.size;
        const call = bubble.callChunks.get(key) || { name: "", args: "", id: c.id };
        call.name += c.name || "";
        call.args += c.args || "";
        bubble.callChunks.set(key, call);
      }
      if (bubble.callChunks.size) {
        this.showCalls(bubble, [...bubble.callChunks.values()].map((c) => {
          let args = c.args;
          try { args = JSON.parse(c.args); } catch (_) { /* still streaming */ }
          return { name: c.name, args };
        }));
      }
      bubble.box.classList.add("streaming");
    }
    this.scroll();
  }

  bubble(id, kind) {
    let bubble = id ? this.bubbles.get(id) : undefined;
    if (!bubble) {
      const text = el("div", { className: "text" });
      const calls = el("div", { className: "calls" });
      const box = el("div", { className: `msg ${kind}` },
        el("div", { className: "who" }, { human: "you", ai: "assistant", tool: "tool" }[kind] || kind),
        text, calls);
      if (id) box.dataset.id = id;
      this.log.append(box);
      bubble = { box, text, calls, callChunks: new Map() };
      if (id) this.bubbles.set(id, bubble);
    }
    return bubble;
  }

  showCalls(bubble, calls) {
    bubble.calls.replaceChildren(...calls.map((c) => el("div", { className: "tool-call" },
      `tool call ${c.name}(${typeof c.args === "string" ? c.args : json(c.args)})`)));
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}

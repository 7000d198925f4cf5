// The graph diagram: `/assistants/{id}/graph` laid out with dagre, drawn as SVG, with
// each node's live state as a class (running, done, cleanup, stopped, waiting, error);
// each change is also a `nodestate` event on the host element.
import dagre from "@dagrejs/dagre";

const SVG = "http://www.w3.org/2000/svg";
const START = "__start__";
const END = "__end__";
const STATES = ["running", "done", "cleanup", "stopped", "waiting", "error"];
const BADGES = {
  running: "running…",
  done: "✓ done",
  cleanup: "cleaning up…",
  stopped: "✕ stopped · cleanup done",
  waiting: "waiting for input",
  error: "error",
};

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const labelOf = (id) => (id === START ? "start" : id === END ? "end" : String(id));

export class Diagram {
  constructor(host) {
    this.host = host;
    this.nodes = new Map(); // id -> {group, badge, sub}
    this.states = new Map(); // id -> state
  }

  // Draw `drawn` ({nodes, edges} as the server returns it); states are cleared.
  draw(drawn) {
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 46, edgesep: 14, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of drawn.nodes || []) {
      const label = labelOf(n.id);
      const terminal = n.id === START || n.id === END;
      g.setNode(n.id, { label, width: Math.max(terminal ? 56 : 150, label.length * 8 + 28),
                        height: terminal ? 28 : 44, terminal });
    }
    (drawn.edges || []).forEach((e, i) => {
      if (!g.hasNode(e.source) || !g.hasNode(e.target)) return;
      const label = e.data === undefined || e.data === null ? "" : String(e.data);
      g.setEdge(e.source, e.target, { label, conditional: !!e.conditional,
        width: label ? label.length * 7 + 6 : 0, height: label ? 14 : 0, labelpos: "c" }, `e${i}`);
    });
    dagre.layout(g);
    const { width, height } = g.graph();
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width, height,
                               role: "img", "aria-label": "graph diagram" });
    const defs = svgEl("defs");
    const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(svgEl("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
    defs.append(marker);
    svg.append(defs);
    for (const e of g.edges()) {
      const edge = g.edge(e);
      const pts = edge.points;
      let d = `M ${pts[0].x} ${pts[0].y}`;
      for (let i = 1; i < pts.length - 1; i++) {
        const mx = (pts[i].x + pts[i + 1].x) / 2;
        const my = (pts[i].y + pts[i + 1].y) / 2;
        d += ` Q ${pts[i].x} ${pts[i].y} ${i === pts.length - 2 ? pts[i + 1].x : mx} ${i === pts.length - 2 ? pts[i + 1].y : my}`;
      }
      if (pts.length === 2) d += ` L ${pts[1].x} ${pts[1].y}`;
      const path = svgEl("path", { d, class: `edge${edge.conditional ? " conditional" : ""}`,
                                   "marker-end": "url(#arrow)" });
      path.dataset.source = e.v;
      path.dataset.target = e.w;
      svg.append(path);
      if (edge.label) {
        svg.append(svgEl("text", { x: edge.x, y: edge.y + 4, class: "edge-label" }, edge.label));
      }
    }
    this.nodes.clear();
    for (const id of g.nodes()) {
      const n = g.node(id);
      const group = svgEl("g", { class: `node${n.terminal ? " terminal" : ""}`,
        transform: `translate(${n.x - n.width / 2}, ${n.y - n.height / 2})` });
      group.dataset.node = id;
      group.append(svgEl("rect", { width: n.width, height: n.height, rx: n.terminal ? 14 : 8 }));
      group.append(svgEl("text", { x: n.width / 2, y: n.terminal ? 18 : 19, class: "label" },
                         n.label));
      const badge = svgEl("text", { x: n.width / 2, y: 35, class: "badge" }, "");
      const sub = svgEl("text", { x: n.width + 6, y: 19, class: "sub" }, "");
      group.append(badge, sub);
      svg.append(group);
      this.nodes.set(id, { group, badge, sub });
    }
    this.host.replaceChildren(svg);
    this.states.clear();
  }

  // Set one node's state ("running", "done", ... or null to clear); `sub` names the node
  // running inside it (a subgraph's).
  set(id, state, sub) {
    const node = this.nodes.get(id);
    if (!node) return;
    for (const s of STATES) node.group.classList.toggle(s, s === state);
    if (state) this.states.set(id, state);
    else this.states.delete(id);
    node.badge.textContent = state ? BADGES[state] : "";
    if (sub !== undefined) {
      node.sub.textContent = sub ? `› ${sub}` : "";
      node.group.dataset.sub = sub || "";
    }
    node.group.dataset.state = state || "";
    // for whoever watches the diagram (the tests record the order of the highlights)
    this.host.dispatchEvent(new CustomEvent("nodestate",
      { detail: { node: id, state: state || "", sub: node.group.dataset.sub || "" } }));
  }

  // A running node's progress ("running… 12"), from its custom events.
  progress(id, text) {
    const node = this.nodes.get(id);
    if (node && this.states.get(id) === "running") node.badge.textContent = `running… ${text}`;
  }

  // Every node in `from` state goes to state `to`.
  move(from, to) {
    for (const [id, state] of [...this.states]) if (state === from) this.set(id, to, "");
  }

  clear() {
    for (const id of [...this.states.keys()]) this.set(id, null, "");
  }

  has(id) {
    return this.nodes.has(id);
  }
}

// Small DOM and formatting helpers shared by the playground's modules.
export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...kids) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...kids);
  return node;
}

export const short = (id) => (id ? String(id).slice(0, 8) : "");
export const json = (v, indent) => JSON.stringify(v, null, indent);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const same = (a, b) => json(a) === json(b);

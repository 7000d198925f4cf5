// Build the playground page: bundle src/main.js (with dagre) with esbuild and inline it
// and src/style.css into src/index.html, written to the package as
// src/scopegraph/server/playground.html (one file: the page needs no network and no Node
// at run time). `npm ci && npm run build` in this folder; commit the output.
//
// The page carries the sha256 of its sources (playground/src/*, sorted by name), so a
// test can tell, without Node, that the committed page was built from these sources.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const out = join(here, "..", "src", "scopegraph", "server", "playground.html");

export function sourceDigest() {
  const hash = createHash("sha256");
  for (const name of readdirSync(src).sort()) {
    hash.update(name + "\0");
    hash.update(readFileSync(join(src, name)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const bundle = await esbuild.build({
  entryPoints: [join(src, "main.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "inline",
  write: false,
});
const script = bundle.outputFiles[0].text.replace(/<\/(script)/gi, "<\\/$1");
const style = readFileSync(join(src, "style.css"), "utf8");
const template = readFileSync(join(src, "index.html"), "utf8");
const page = template
  .replace("<head>", () => `<head>\n<!-- Built by playground/build.mjs from playground/src: edit those, then npm run build. -->\n<meta name="scopegraph-playground-source" content="${sourceDigest()}">`)
  .replace("/*STYLE*/", () => style)
  .replace("/*SCRIPT*/", () => script);
writeFileSync(out, page);
console.log(`wrote ${out} (${page.length} bytes)`);

"""The committed playground page is the build of ``playground/src`` and needs no network.

``playground/build.mjs`` bundles ``playground/src`` (with dagre, from npm) into one file,
``src/scopegraph/server/playground.html``, stamped with the sha256 of its sources; this
test recomputes it, so a change to the sources without a rebuild fails here, without Node.
"""

from __future__ import annotations

import hashlib
import json
import re

from _server import ROOT

SOURCES = ROOT / "playground" / "src"
PAGE = ROOT / "src" / "scopegraph" / "server" / "playground.html"
REMOTE = r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?https?:"""
REBUILD = "run `npm ci && npm run build` in playground/ and commit the page"


def source_digest() -> str:
    """As ``sourceDigest()`` in playground/build.mjs: each file's name and bytes, by name."""
    digest = hashlib.sha256()
    for path in sorted(SOURCES.iterdir(), key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def test_the_page_is_built_from_the_current_sources() -> None:
    page = PAGE.read_text("utf-8")
    stamp = re.search(r'<meta name="scopegraph-playground-source" content="([0-9a-f]{64})">', page)
    assert stamp, f"{PAGE} is not the output of playground/build.mjs: {REBUILD}"
    assert stamp.group(1) == source_digest(), f"playground/src changed since the build: {REBUILD}"
    assert "/*SCRIPT*/" not in page
    assert "/*STYLE*/" not in page


def test_the_page_loads_nothing_from_the_network() -> None:
    page = PAGE.read_text("utf-8")
    remote = re.findall(REMOTE, page)
    assert not remote, f"the page loads something from the network: {remote}"


def test_the_build_pins_its_npm_packages() -> None:
    lock = json.loads((ROOT / "playground" / "package-lock.json").read_text("utf-8"))
    packages = lock["packages"]
    assert packages["node_modules/@dagrejs/dagre"]["version"]
    assert packages["node_modules/esbuild"]["version"]

"""``python -m tools.langgraph_suite [--files F ...] [--update] [--report-only]``

Runs LangGraph's suite on LangGraph and on scopegraph and prints the per-file table;
writes ``docs/langgraph-suite.md`` (the generated block) and ``docs/langgraph-suite.json``.
``--update`` also adds the public-API tests that now pass on scopegraph to the ratchet
list, and refuses (exit 1) if a listed test no longer passes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys

from . import FILES
from ._classify import Classifier
from ._collect import measure
from ._ratchet import PASSING, grow, read_passing, write_passing
from ._report import build, markdown, write_markdown
from ._rewrite import ImportMap
from ._sdist import CACHE, REPO, SuiteError, prepare

DOC = REPO / "docs" / "langgraph-suite.md"
JSON = REPO / "docs" / "langgraph-suite.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.langgraph_suite")
    parser.add_argument("--files", nargs="+", choices=FILES, default=list(FILES))
    parser.add_argument("--update", action="store_true", help="grow the ratchet list")
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the report from the last run"
    )
    args = parser.parse_args(argv)
    try:
        trees = prepare()
    except SuiteError as exc:
        print(f"langgraph-suite: {exc}", file=sys.stderr)
        return 2
    raw_path = CACHE / trees.version / "outcomes.json"
    if args.report_only:
        raw = json.loads(raw_path.read_text(encoding="utf-8"))
    else:
        print(f"LangGraph {trees.version}'s suite: {len(args.files)} files", flush=True)
        raw = measure(trees, args.files, raw_path)
    report = build(raw, Classifier(trees.langgraph, ImportMap.from_scopegraph()))
    date = datetime.datetime.now(datetime.UTC).date().isoformat()
    generated = markdown(report, "make langgraph-suite", date)
    print(generated)
    if set(args.files) == set(FILES):
        write_markdown(DOC, generated)
        JSON.write_text(report.json_text(), encoding="utf-8")
    listed = read_passing()
    grown, lost = grow(listed, report.passing_public(), report.tests)
    new = len(grown) - len(listed)
    print(f"ratchet ({PASSING.relative_to(REPO)}): {len(listed)} listed, {new} newly passing")
    if lost:
        print("listed tests that no longer pass:\n  " + "\n  ".join(lost), file=sys.stderr)
    if args.update:
        if lost:
            print("--update refuses to drop tests from the list: fix them first", file=sys.stderr)
            return 1
        write_passing(grown)
        print(f"added {new} tests to {PASSING.relative_to(REPO)}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())

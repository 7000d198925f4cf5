"""``python -m tools.langgraph_suite [--prebuilt] [--files F ...] [--update] [--report-only]``

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

from . import FILES, PREBUILT_FILES
from ._classify import Classifier
from ._collect import measure
from ._prebuilt import PREBUILT_PASSING, PrebuiltClassifier
from ._ratchet import PASSING, grow, read_passing, write_passing
from ._report import build, markdown, write_markdown
from ._rewrite import ImportMap
from ._sdist import REPO, SuiteError, prepare

DOC = REPO / "docs" / "langgraph-suite.md"
JSON = REPO / "docs" / "langgraph-suite.json"
PREBUILT_DOC = REPO / "docs" / "langgraph-prebuilt-suite.md"
PREBUILT_JSON = REPO / "docs" / "langgraph-prebuilt-suite.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.langgraph_suite")
    parser.add_argument(
        "--prebuilt",
        action="store_true",
        help="the langgraph-prebuilt sdist's tests instead of LangGraph's",
    )
    parser.add_argument("--files", nargs="+", choices=FILES + PREBUILT_FILES)
    parser.add_argument("--update", action="store_true", help="grow the ratchet list")
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild the report from the last run"
    )
    args = parser.parse_args(argv)
    every = PREBUILT_FILES if args.prebuilt else FILES
    files = args.files or list(every)
    if not set(files) <= set(every):
        parser.error(f"--files: {sorted(set(files) - set(every))} are not files of this suite")
    package = "langgraph-prebuilt" if args.prebuilt else "langgraph"
    try:
        trees = prepare(package=package)
    except SuiteError as exc:
        print(f"langgraph-suite: {exc}", file=sys.stderr)
        return 2
    raw_path = trees.langgraph.parent / "outcomes.json"
    if args.report_only:
        raw = json.loads(raw_path.read_text(encoding="utf-8"))
    else:
        print(f"{package} {trees.version}'s suite: {len(files)} files", flush=True)
        raw = measure(trees, files, raw_path)
    imports = ImportMap.from_scopegraph()
    classifier = (
        PrebuiltClassifier(trees.langgraph, imports)
        if args.prebuilt
        else Classifier(trees.langgraph, imports)
    )
    report = build(raw, classifier)
    date = datetime.datetime.now(datetime.UTC).date().isoformat()
    command = "make langgraph-suite" if not args.prebuilt else "make langgraph-suite (--prebuilt)"
    generated = markdown(report, command, date, package=package)
    print(generated)
    if set(files) == set(every):
        doc, doc_json = (PREBUILT_DOC, PREBUILT_JSON) if args.prebuilt else (DOC, JSON)
        write_markdown(doc, generated)
        doc_json.write_text(report.json_text(), encoding="utf-8")
    passing_path = PREBUILT_PASSING if args.prebuilt else PASSING
    listed = read_passing(passing_path)
    grown, lost = grow(listed, report.passing_public(), report.tests)
    new = len(grown) - len(listed)
    where = passing_path.relative_to(REPO)
    print(f"ratchet ({where}): {len(listed)} listed, {new} newly passing")
    if lost:
        print("listed tests that no longer pass:\n  " + "\n  ".join(lost), file=sys.stderr)
    if args.update:
        if lost:
            print("--update refuses to drop tests from the list: fix them first", file=sys.stderr)
            return 1
        write_passing(grown, passing_path)
        print(f"added {new} tests to {where}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())

"""From raw outcomes to the per-file table, the causes of failure, JSON and markdown."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._classify import Classifier

__all__ = ("Report", "build", "cause_of", "markdown")

ISSUE14_MODULES = frozenset(
    {
        "langgraph.types",
        "langgraph.runtime",
        "langgraph.errors",
        "langgraph.config",
        "langgraph.constants",
        "langgraph.graph",
        "langgraph.graph.state",
        "langgraph.graph.message",
        "langgraph.managed",
        "langgraph.cache.base",
        "langgraph.cache.memory",
        "langgraph.cache.sqlite",
    }
)
"""Public LangGraph modules whose missing names issue 14 asks scopegraph to add (its
``langgraph.func`` belongs to the next issue, stores and channels to none yet)."""

_KEEP_QUOTES = re.compile(
    r"unexpected keyword argument|has no attribute|cannot import name|not subscriptable"
    r"|is not a valid|missing \d+ required|got multiple values"
)


def cause_of(entry: dict[str, Any]) -> str:
    """A failure's group: its exception type and its message with the particulars
    (quoted names, numbers, addresses, long literals) blanked out."""
    kind = entry.get("type", "?")
    message: str = entry.get("message", "")
    if kind == "AssertionError" and message.startswith("assert"):
        return "AssertionError: a result differs from LangGraph's (assert ...)"
    if not _KEEP_QUOTES.search(message):
        message = re.sub(r"'[^']*'", "'…'", message)
        message = re.sub(r'"[^"]*"', '"…"', message)
    message = re.sub(r"0x[0-9a-fA-F]+", "0x…", message)
    message = re.sub(r"\b\d+\b", "N", message)
    message = re.sub(r"[\[{].{40,}", "[…]", message)
    return f"{kind}: {message[:140]}" if message else kind


def _is_public_name(label: str) -> bool:
    """``langgraph.pregel.Pregel`` is, ``langgraph._internal._constants.PULL`` is not."""
    return not any(part.startswith("_") for part in label.split("."))


def _is_issue14(label: str) -> bool:
    module, _, name = label.rpartition(".")
    return module in ISSUE14_MODULES and not name.startswith("_")


@dataclass
class TestRecord:
    file: str
    public: bool
    needs: list[str]
    langgraph: str
    scopegraph: str
    cause: str = ""
    where: str = ""


@dataclass
class FileRow:
    file: str
    tests: int = 0
    public: int = 0
    langgraph_passed: int = 0
    """public-API tests that pass on LangGraph"""
    scopegraph_passed: int = 0
    """public-API tests that pass on LangGraph and on scopegraph"""
    collection_error: str = ""
    causes: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Report:
    version: str
    tests: dict[str, TestRecord]
    files: list[FileRow]
    causes: list[tuple[str, int]]
    apis: list[tuple[str, int, int]]
    """(API, tests that need it, tests that need only it)"""

    def passing_public(self) -> set[str]:
        """The public-API tests that pass on scopegraph (what the ratchet may list)."""
        return {
            nodeid
            for nodeid, record in self.tests.items()
            if record.public and record.scopegraph == "passed"
        }

    def totals(self) -> dict[str, int]:
        records = self.tests.values()
        issue14 = [r for r in records if r.needs and all(_is_issue14(label) for label in r.needs)]
        public_names = [
            r for r in records if r.needs and all(_is_public_name(label) for label in r.needs)
        ]
        return {
            "tests": len(self.tests),
            "public": sum(r.public for r in records),
            "public_langgraph_passed": sum(r.public and r.langgraph == "passed" for r in records),
            "public_scopegraph_passed": sum(
                r.public and r.langgraph == "passed" and r.scopegraph == "passed" for r in records
            ),
            "public_names_only": len(public_names),
            "public_names_only_without_func": sum(
                not any(label.startswith("langgraph.func.") for label in r.needs)
                for r in public_names
            ),
            "issue14_api": len(issue14),
            "issue14_api_langgraph_passed": sum(r.langgraph == "passed" for r in issue14),
        }

    def json_text(self) -> str:
        """The report as JSON, one line per test (so that a diff shows which changed)."""
        head = {
            "version": self.version,
            "totals": self.totals(),
            "files": [asdict(row) for row in self.files],
            "causes": self.causes,
            "apis": self.apis,
        }
        tests = ",\n".join(
            f"  {json.dumps(nodeid)}: {json.dumps(asdict(record), ensure_ascii=False)}"
            for nodeid, record in sorted(self.tests.items())
        )
        return (
            json.dumps(head, indent=1, ensure_ascii=False)[:-2]
            + ',\n "tests": {\n'
            + tests
            + "\n }\n}\n"
        )


def _relative(where: str) -> str:
    """``src/scopegraph/_graph.py:472``, ``tests/test_pregel.py:10`` (the suite's file),
    ``langchain_core/...`` (an installed package): no machine-specific prefix."""
    for marker in ("/site-packages/", "/scopegraph/tests/", "/langgraph/tests/"):
        if marker in where:
            head = "tests/" if marker.endswith("/tests/") else ""
            return head + where.split(marker, 1)[1]
    if "/src/scopegraph/" in where:
        return "src/scopegraph/" + where.split("/src/scopegraph/", 1)[1]
    return where


def build(raw: dict[str, Any], classifier: Classifier) -> Report:
    """Join both runs of every file; LangGraph's run defines which tests exist."""
    tests: dict[str, TestRecord] = {}
    rows: list[FileRow] = []
    needs_count: Counter[str] = Counter()
    only_count: Counter[str] = Counter()
    all_causes: Counter[str] = Counter()
    for name, sides in raw["files"].items():
        lg, sg = sides["langgraph"], sides["scopegraph"]
        row = FileRow(name)
        sg_error = next(iter(sg["collection_errors"].values()), None)
        lg_error = next(iter(lg["collection_errors"].values()), None)
        if lg_error:
            row.collection_error = f"LangGraph: {lg_error['message']}"
        elif sg_error:
            row.collection_error = f"scopegraph: {sg_error['message']}"
        causes: Counter[str] = Counter()
        for nodeid, lg_entry in lg["tests"].items():
            needs = sorted(classifier.needs(nodeid))
            sg_entry = sg["tests"].get(nodeid)
            if sg_entry is None:
                sg_entry = {"outcome": "error", **(sg_error or {"type": "NotRun"})}
            record = TestRecord(
                file=name,
                public=not needs,
                needs=needs,
                langgraph=lg_entry["outcome"],
                scopegraph=sg_entry["outcome"],
            )
            if record.scopegraph in ("failed", "error"):
                record.cause = cause_of(sg_entry)
                record.where = _relative(sg_entry.get("where", ""))
            tests[nodeid] = record
            row.tests += 1
            needs_count.update(needs)
            if len(needs) == 1:
                only_count.update(needs)
            if not record.public:
                continue
            row.public += 1
            if record.langgraph == "passed":
                row.langgraph_passed += 1
                if record.scopegraph == "passed":
                    row.scopegraph_passed += 1
                elif record.cause:
                    causes[record.cause] += 1
        row.causes = causes.most_common(3)
        all_causes.update(causes)
        rows.append(row)
    apis = [(api, n, only_count[api]) for api, n in needs_count.most_common()]
    return Report(raw["version"], tests, rows, all_causes.most_common(), apis)


def _short(cause: str, width: int = 90) -> str:
    return cause if len(cause) <= width else cause[: width - 1].rstrip() + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report, command: str, date: str, package: str = "langgraph") -> str:
    """The generated part of ``docs/langgraph-suite.md`` (``docs/langgraph-prebuilt-suite.md``
    for ``package="langgraph-prebuilt"``)."""
    totals = report.totals()
    title = "LangGraph" if package == "langgraph" else package
    lines = [
        f"{title} {report.version}'s own tests, run on LangGraph and on scopegraph with the",
        f"public-API imports rewritten; measured {date} with `{command}`.",
        "",
        "| file | tests | public-API | pass on LangGraph | pass on scopegraph | top causes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in report.files:
        causes = "; ".join(f"{_cell(_short(c))} ({n})" for c, n in row.causes)
        if row.collection_error:
            causes = f"collection: {_cell(_short(row.collection_error))}" + (
                f"; {causes}" if causes else ""
            )
        lines.append(
            f"| `{row.file}` | {row.tests} | {row.public} | {row.langgraph_passed} "
            f"| {row.scopegraph_passed} | {causes} |"
        )
    lg, sg = totals["public_langgraph_passed"], totals["public_scopegraph_passed"]
    share = f"{100 * sg / lg:.0f}%" if lg else "n/a"
    lines += [
        f"| **total** | {totals['tests']} | {totals['public']} | {lg} | {sg} ({share}) | |",
        "",
        "*tests*: collected with the in-memory fixtures only. *public-API*: the tests that",
        "reach no LangGraph name the rewrite leaves LangGraph's (see",
        "`tools/langgraph_suite/_classify.py`). *pass on LangGraph* / *pass on scopegraph*:",
        "public-API tests passing on LangGraph / on both.",
        "",
        "### Causes of failure (public-API tests that pass on LangGraph)",
        "",
        "| # | cause | tests |",
        "|---:|---|---:|",
    ]
    lines += [f"| {i} | {_cell(c)} | {n} |" for i, (c, n) in enumerate(report.causes, 1)]
    lines += [
        "",
        "### LangGraph APIs the tests need that scopegraph lacks",
        "",
        f"{totals['tests'] - totals['public']} tests need at least one. "
        f"{totals['public_names_only']} need only public LangGraph names (no `_` in the "
        f"module path or the name), {totals['public_names_only_without_func']} of them "
        "none from `langgraph.func`; "
        f"{totals['issue14_api']} need only public names of the modules issue 14 covers "
        "(`langgraph.types`, `.runtime`, `.errors`, `.config`, `.graph*`, `.managed`, "
        f"`.cache*`; LangGraph passes {totals['issue14_api_langgraph_passed']} of them).",
        "",
        "| API | tests needing it | needing only it |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{api}` | {n} | {only} |" for api, n, only in report.apis]
    return "\n".join(lines) + "\n"


START, END = "<!-- langgraph-suite:start -->", "<!-- langgraph-suite:end -->"


def write_markdown(path: Path, generated: str) -> None:
    """Replace the generated block of ``path`` (the text around it is kept)."""
    block = f"{START}\n{generated}{END}"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if START in text and END in text:
            before, rest = text.split(START, 1)
            after = rest.split(END, 1)[1]
            path.write_text(before + block + after, encoding="utf-8")
            return
    path.write_text(f"# LangGraph's test suite on scopegraph\n\n{block}\n", encoding="utf-8")

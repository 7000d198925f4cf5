"""LangGraph's test suite from its PyPI sdist, in a cache outside git, in two trees.

``<cache>/langgraph-<version>.tar.gz`` is what ``pip download`` fetched;
``<cache>/<version>/langgraph/`` holds its ``tests/`` and ``pyproject.toml`` as shipped;
``<cache>/<version>/scopegraph/`` the same with the imports rewritten (:mod:`._rewrite`),
brought up to date on every run because what is mapped depends on what scopegraph
exports today.
The sdist's ``langgraph/`` sources are not extracted: the installed LangGraph (which must
be the pinned version) is the one the suite runs on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ._rewrite import ImportMap, patch_memory_checkpointer, rewrite_source

__all__ = ("REPO", "SuiteError", "SuiteTrees", "pinned_version", "prepare")

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "langgraph-suite"


class SuiteError(RuntimeError):
    """The suite could not be prepared (download, version or layout); the message says why."""


def pinned_version(pyproject: Path = REPO / "pyproject.toml", package: str = "langgraph") -> str:
    """The ``<package>==X`` pin of the ``dev`` extra (``langgraph`` by default)."""
    extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    for requirement in extras["optional-dependencies"]["dev"]:
        if match := re.fullmatch(rf"{re.escape(package)}\s*==\s*([\w.]+)", requirement.strip()):
            return match.group(1)
    raise SuiteError(f"{pyproject} pins no '{package}==X' in the dev extra; add one")


@dataclass(frozen=True)
class SuiteTrees:
    version: str
    langgraph: Path
    """LangGraph's tests as shipped."""
    scopegraph: Path
    """The same tests with the public-API imports taken from scopegraph."""


def _sdist_name(package: str, version: str) -> str:
    """The sdist's file name without ``.tar.gz`` (PyPI normalizes ``-`` to ``_``)."""
    return f"{package.replace('-', '_') if package != 'langgraph' else package}-{version}"


def _download(version: str, package: str = "langgraph") -> Path:
    archive = CACHE / f"{_sdist_name(package, version)}.tar.gz"
    if archive.exists():
        return archive
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--no-binary", ":all:", f"{package}=={version}", "--dest", str(CACHE),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not archive.exists():
        raise SuiteError(
            f"could not download the sdist of {package}=={version} "
            f"({' '.join(command)}): {done.stderr.strip()[-800:]}"
        )
    return archive


def _extract(archive: Path, prefix: str, target: Path) -> None:
    with tarfile.open(archive) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith(prefix + "tests/") or m.name == prefix + "pyproject.toml"
        ]
        for member in members:
            member.name = member.name.removeprefix(prefix)
        tar.extractall(target, members=members, filter="data")


def prepare(version: str | None = None, package: str = "langgraph") -> SuiteTrees:
    """Download (once) and lay out both trees; check the installed package's version.

    ``package``: ``langgraph`` (the Graph API suite) or ``langgraph-prebuilt`` (the tests
    of ``ToolNode``, ``ValidationNode``, ``create_react_agent``: their graphs become
    scopegraph's, the prebuilt objects run unchanged inside them), in ``<cache>/<version>``
    and ``<cache>/prebuilt-<version>``.
    """
    version = version or pinned_version(package=package)
    installed = metadata.version(package)
    if installed != version:
        raise SuiteError(
            f"{package} {installed} is installed but pyproject.toml pins {version}: "
            "run `make install` (or pip install -e '.[dev]') first"
        )
    archive = _download(version, package)
    base = CACHE / (version if package == "langgraph" else f"prebuilt-{version}")
    pristine, rewritten = base / "langgraph", base / "scopegraph"
    if not (pristine / "tests").exists():
        shutil.rmtree(pristine, ignore_errors=True)
        _extract(archive, _sdist_name(package, version) + "/", pristine)
    imports = ImportMap.from_scopegraph()
    for path in pristine.rglob("*"):
        if path.is_dir():
            continue
        target = rewritten / path.relative_to(pristine)
        content = path.read_bytes()
        if path.suffix == ".py":
            source = content.decode("utf-8")
            if path.name == "conftest_checkpointer.py":
                source = patch_memory_checkpointer(source)
            content = rewrite_source(source, imports).encode("utf-8")
        # Only what changed is written: a run in progress in the tree is not disturbed.
        if not target.exists() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return SuiteTrees(version, pristine, rewritten)

"""What each make target installs, read from ``make -n`` (a dry run) against a virtual
environment that does not exist yet, as on a fresh clone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from _server import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(target: str, tmp_path: Path) -> str:
    result = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_demo_installs_only_the_server_extra_and_never_chromium(tmp_path: Path) -> None:
    commands = dry_run("demo", tmp_path)
    assert "pip install --quiet -e '.[server,langchain]'" in commands
    assert ".[dev]" not in commands
    assert "chromium" not in commands.lower()
    assert "scopegraph serve --host 127.0.0.1 --port 8000" in commands


def test_install_keeps_the_development_set_without_chromium(tmp_path: Path) -> None:
    commands = dry_run("install", tmp_path)
    assert "pip install --quiet -e '.[dev]'" in commands
    assert "chromium" not in commands.lower()


def test_test_builds_the_docs_strictly_and_checks_for_chromium(tmp_path: Path) -> None:
    commands = dry_run("test", tmp_path)
    assert "mkdocs build --strict" in commands
    assert "/usr/bin/chromium" in commands
    assert "pytest" in commands


def test_demo_and_install_have_their_own_stamp_files(tmp_path: Path) -> None:
    demo = dry_run("demo", tmp_path)
    install = dry_run("install", tmp_path)
    assert f"touch {tmp_path / 'venv' / '.installed-demo'}" in demo
    assert f"touch {tmp_path / 'venv' / '.installed'}\n" in install


def test_install_installs_the_js_sdk_from_its_lock_file(tmp_path: Path) -> None:
    stamp = tmp_path / "js" / ".installed"  # as on a fresh clone: no stamp yet
    result = subprocess.run(
        ["make", "-n", "install", f"VENV={tmp_path / 'venv'}", f"JS_STAMP={stamp}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "cd tests/js && npm ci" in result.stdout
    assert f"touch {stamp}" in result.stdout
    assert "npm ci" not in dry_run("demo", tmp_path)  # the demo needs no Node

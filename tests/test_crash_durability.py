"""A run killed with SIGKILL in the middle of a step resumes in a new process.

The worker (tests/_crash_worker.py) runs a 4-step graph whose third step has two nodes:
``quick`` finishes, ``stuck`` blocks. The test kills the process once ``stuck`` runs and
``quick``'s record is stored, resumes the thread in a new process, and checks that no
completed step ran again and that the final state equals an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _pg
from scopegraph.checkpoint import BaseCheckpointSaver, SqliteSaver

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

WORKER = Path(__file__).with_name("_crash_worker.py")
ROOT = Path(__file__).parent.parent
DEADLINE = 30.0


def run_worker(mode: str, db: str, log: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(WORKER), mode, db, str(log)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ran(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def quick_is_stored(saver: BaseCheckpointSaver) -> bool:
    tup = saver.get_tuple("crash-test")
    return tup is not None and any(r.name == "quick" and r.status == "done" for r in tup.tasks)


def crash_and_resume(
    db: str, tmp_path: Path, open_saver: Callable[[], BaseCheckpointSaver]
) -> None:
    reference = run_worker("reference", db, tmp_path / "reference.log")

    log = tmp_path / "crash.log"
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "start", db, str(log)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        saver = open_saver()
        deadline = time.monotonic() + DEADLINE
        while not (ran(log)["stuck"] and quick_is_stored(saver)):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, f"the worker never reached 'stuck': {ran(log)}"
            time.sleep(0.02)
        saver.close()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL
    before = ran(log)
    assert before == Counter({"first": 1, "second": 1, "quick": 1, "stuck": 1})

    resumed = run_worker("resume", db, log)

    after = ran(log)
    # Completed steps (first, second) and the finished half of the step (quick) did not
    # run again; the killed node ran again (at-least-once), then the rest.
    assert after - before == Counter({"stuck": 1, "last": 1})
    assert resumed == reference


def test_sigkill_mid_step_resumes_from_sqlite_without_rerunning_completed_steps(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "state.db")
    crash_and_resume(db, tmp_path, lambda: SqliteSaver(db))


def test_sigkill_mid_step_resumes_from_postgres_without_rerunning_completed_steps(
    tmp_path: Path, pg_dsn: str
) -> None:
    from scopegraph.checkpoint import PostgresSaver

    crash_and_resume(pg_dsn, tmp_path, lambda: PostgresSaver(pg_dsn))

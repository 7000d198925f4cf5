"""``python -m benchmarks.soak`` keeps working: a tiny soak (40 runs over 4 threads) against
a real ``scopegraph serve``. No memory figure is asserted (that is the benchmark's job):
only that every sample is printed and the server answered every run."""

from __future__ import annotations

import re

import pytest
from benchmarks.soak import main

pytestmark = pytest.mark.uvicorn


def test_tiny_soak_prints_a_sample_per_batch_and_the_growth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--runs", "40", "--threads", "4", "--every", "20", "--concurrency", "4"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.findall(r"^\s+([\d,]+) runs  RSS\s+[\d.]+ MB", out, re.MULTILINE) == ["0", "20", "40"]
    assert re.search(r"^growth after the first 20 runs: [+-][\d.]+ MB", out, re.MULTILINE)


def test_bad_arguments_exit_with_the_reason() -> None:
    with pytest.raises(SystemExit, match="must be at least 1"):
        main(["--runs", "0"])

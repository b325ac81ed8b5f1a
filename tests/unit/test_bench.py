"""The benchmark runs end to end as a smoke test: a small site, one cold and one warm
watcher cycle, both as `watcher check` and inside a long-lived process (urlwatch and the
latency probe are left out to stay fast). No timing is asserted; the counts are: the cold
cycle reads every page, the warm one asks conditionally and is answered 304 for every
unchanged page, which it does not parse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def test_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--n", "50", "--rounds", "1",
         "--no-urlwatch", "--no-probe", "--no-compile", "--json", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "one full cycle" in result.stdout
    assert "WATCHER_PER_HOST_DELAY_S=0" in result.stdout  # politeness off is said
    assert "WATCHER_FETCH_ALLOW=127.0.0.0/8" in result.stdout  # and loopback allowed
    figures = json.loads(out.read_text())["results"]
    assert {f["tool"] for f in figures} == {"watcher", "watcher daemon"}
    for tool in ("watcher", "watcher daemon"):
        check_figures([f for f in figures if f["tool"] == tool])
    assert "unconditional" in result.stdout and "MISSED" not in result.stdout


def check_figures(figures: list[dict[str, Any]]) -> None:
    cold, warm = figures
    assert (cold["phase"], warm["phase"]) == ("cold", "warm 1")
    assert cold["requests"] == 51 and cold["parsed"] == 50 and cold["not_modified"] == 0
    assert cold["store_bytes"] > 0
    # Warm: every request conditional; unchanged pages answer 304 and are not parsed.
    changed = warm["changed_pages"]
    assert changed == 2  # 5% of 50, rounded
    assert warm["requests"] == 51 and warm["conditional"] == 51
    assert warm["not_modified"] == 50 - changed
    assert warm["parsed"] == changed

"""Run code in a new Python interpreter, for checks about a whole process (which modules
an import pulls in): this test process has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def last_json_of(code: str, *, env: dict[str, str] | None = None) -> Any:
    """Run ``code`` in a new interpreter from the project root (``env``: its whole
    environment, else this process's); the JSON value on the last line it printed."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])

"""Whether the browser test can run: it drives Debian's Chromium at /usr/bin/chromium
(never a browser Playwright downloads), which a developer's machine may lack.

Without it the test is skipped, with a one-line reason that says how to install it. Under
CI it is a failure instead: .ci/run installs Chromium, so a missing browser there means
the run is not testing what it claims, and a skip would hide that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Missing:
    """What to do about a missing browser: ``fail`` (under CI) or skip, and why."""

    fail: bool
    reason: str


def in_ci(environ: Mapping[str, str]) -> bool:
    """``CI`` is set, as CI services set it (``true``); empty, ``0`` or ``false`` is not."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_browser(environ: Mapping[str, str], chromium: Path = CHROMIUM) -> Missing | None:
    """None when ``chromium`` is there to run; otherwise whether to fail and the reason."""
    if chromium.is_file():
        return None
    install = "install it with `apt-get install chromium`"
    if in_ci(environ):
        return Missing(True, f"{chromium} is missing under CI: .ci/run should {install}")
    return Missing(False, f"the browser test needs {chromium}: {install} (Debian, Ubuntu)")

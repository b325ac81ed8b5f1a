"""Load only the Apprise plugins that watcher's targets use.

Apprise imports every notification plugin (about 190 modules) the first time any URL is
looked up. Measured with Apprise 2.3.0, a fresh interpreter that imports
watcher.service.runtime and loads one ``mailto://`` target goes from 72.0 to 88.9 MB RSS with
that full load, and to 79.0 MB with only the email plugin loaded here: 10 MB less, held
for the daemon's whole life.

``prepare_apprise(urls)`` runs before watcher looks up any URL. When every URL's scheme
is one of the common services in ``PLUGIN_MODULES``, only those plugin modules are
loaded; otherwise (an unknown scheme, a native ``https://hooks.slack.com/...`` URL,
which only a scan of every plugin recognises) Apprise is left to, or made to, do its
normal full load. Either way each URL then reaches the same plugin class as before.

The daemon prepares all its targets when it loads them, before any sending thread
starts, so the switch from a partial to the full load (which resets Apprise's plugin
table) never happens while another thread is looking a URL up.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Scheme -> module under apprise.plugins. Every scheme here is checked against the
# plugin's own protocol/secure_protocol by tests/unit/test_apprise_plugins.py.
PLUGIN_MODULES: dict[str, str] = {
    "mailto": "email", "mailtos": "email",
    "slack": "slack",
    "json": "custom_json", "jsons": "custom_json",
    "form": "custom_form", "forms": "custom_form",
    "xml": "custom_xml", "xmls": "custom_xml",
    "discord": "discord",
    "workflow": "workflows", "workflows": "workflows",
    "tgram": "telegram",
    "ntfy": "ntfy", "ntfys": "ntfy",
    "gotify": "gotify", "gotifys": "gotify",
    "matrix": "matrix", "matrixs": "matrix",
    "pover": "pushover",
    "mmost": "mattermost", "mmosts": "mattermost",
    "rocket": "rocketchat", "rockets": "rocketchat",
    "gchat": "google_chat",
    "webex": "webexteams", "wxteams": "webexteams",
    "zulip": "zulip",
    "pagerduty": "pagerduty",
    "opsgenie": "opsgenie",
    "signal": "signal_api", "signals": "signal_api",
    "apprise": "apprise_api", "apprises": "apprise_api",
    "hassio": "home_assistant", "hassios": "home_assistant",
    "pbul": "pushbullet",
    "twilio": "twilio",
}

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")
_lock = threading.RLock()
# True while the plugin manager holds only modules loaded here, so that a scheme it
# lacks means "load that plugin too", not "Apprise has no such service".
_partial = False


def prepare_apprise(urls: Iterable[str]) -> None:
    """Make sure Apprise can look up each of ``urls``, loading as few plugins as it
    can. Call it before the first ``Apprise.instantiate``/``add`` of any of them."""
    from apprise.apprise import N_MGR

    global _partial
    schemes = {_scheme(url) for url in urls}
    with _lock:
        if N_MGR and not _partial:
            return  # Apprise has loaded every plugin already
        if not N_MGR:
            _partial = False  # never loaded, or unloaded since
            missing = schemes
        else:  # ``in`` on a loaded manager is a plain lookup, never a full load
            missing = {scheme for scheme in schemes if scheme not in N_MGR}
        if not missing:
            return
        modules = {PLUGIN_MODULES.get(scheme or "") for scheme in missing}
        if None in modules or not _load_only(N_MGR, {m for m in modules if m}, missing):
            require_all_plugins()


def require_all_plugins() -> None:
    """Let Apprise load every plugin on its next lookup, as it does by default: for
    Apprise YAML files and for URLs whose scheme is not in ``PLUGIN_MODULES``."""
    from apprise.apprise import N_MGR

    global _partial
    with _lock:
        if _partial and N_MGR:
            # Forget the partial load; its modules stay imported and are reused.
            N_MGR.unload_modules()  # type: ignore[no-untyped-call]
        _partial = False


def _load_only(manager: Any, modules: set[str], schemes: set[str | None]) -> bool:
    """Load ``modules`` with the plugin manager's own loader; True if every scheme is
    then known. This is the one place that relies on Apprise internals (a test fails
    if they change): ``load_modules`` takes module names from a directory listing and
    imports each as ``apprise.plugins.<name>``, so a directory of empty files named
    like the modules we want loads exactly those, registered as a full load would."""
    global _partial
    _partial = True  # from here on the manager may hold a subset of the plugins
    try:
        with tempfile.TemporaryDirectory(prefix="watcher-apprise-") as listing:
            for module in modules:
                (Path(listing) / module).touch()
            manager.load_modules(path=listing, name=manager.module_name_prefix)
        return bool(manager) and all(scheme in manager for scheme in schemes)
    except Exception:  # any surprise falls back to the full load
        return False


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None

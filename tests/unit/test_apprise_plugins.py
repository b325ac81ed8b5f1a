"""Only the Apprise plugins the targets name are loaded, and anything else still works.

Which modules are imported is a property of the whole process, so each check runs in a
fresh interpreter (this test process may have loaded every plugin already). A failure of
``test_mailto_and_slack_load_only_their_plugins`` after an Apprise upgrade means its
plugin loader changed: watcher still works then (it falls back to the full load), but
``watcher.delivery.apprise_plugins._load_only`` needs a new look.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tests.helpers.interpreter import last_json_of

SECRET = "Sup3rSecretPw"
MAILTO = f"mailto://u:{SECRET}@127.0.0.1:2525?from=a@example.org&to=b@example.org"
SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
NATIVE_SLACK = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"

# Appended to each probe: the plugin modules imported (apprise.plugins.base is Apprise's
# own, not a plugin) and what the check computed, as JSON on the last line.
REPORT = """
import json as _json, sys as _sys
print(_json.dumps({
    "plugins": sorted({m.split(".")[2] for m in _sys.modules
                       if m.startswith("apprise.plugins.")} - {"base"}),
    "result": result,
}))
"""


def probe(code: str) -> dict[str, Any]:
    """Run ``code`` (which sets ``result``) in a new interpreter; the plugin modules it
    imported and its result."""
    report: dict[str, Any] = last_json_of(textwrap.dedent(code) + REPORT)
    return report


def test_every_mapped_scheme_is_its_plugins_own() -> None:
    # Against a full load: each scheme reaches a plugin of the module the map names,
    # and each mapped plugin's schemes are all in the map (mailtos as well as mailto).
    report = probe("""
        from apprise.apprise import N_MGR
        from watcher.delivery.apprise_plugins import PLUGIN_MODULES
        result = {}
        for scheme in PLUGIN_MODULES:
            plugin = N_MGR[scheme] if scheme in N_MGR else None
            result[scheme] = None if plugin is None else {
                "module": plugin.__module__.split(".")[2],
                "schemes": sorted(plugin.schemas(plugin))}
    """)
    from watcher.delivery.apprise_plugins import PLUGIN_MODULES

    found = report["result"]
    for scheme, module in PLUGIN_MODULES.items():
        assert found[scheme] is not None, f"{scheme}:// is no Apprise scheme"
        assert found[scheme]["module"] == module, scheme
        assert set(found[scheme]["schemes"]) <= set(PLUGIN_MODULES), scheme


def test_mailto_and_slack_load_only_their_plugins() -> None:
    report = probe(f"""
        from watcher.config.targets import load_targets
        from watcher.delivery.pace import interval_for
        from watcher.delivery.notify import format_for, privacy_url
        targets = load_targets({MAILTO + " " + SLACK!r})
        result = {{
            "names": [t.name for t in targets],
            "privacy": [privacy_url(t.url) for t in targets],
            "formats": [format_for(t.url) for t in targets],
            "paced": [interval_for(t.url) is not None for t in targets],
        }}
    """)
    assert report["plugins"] == ["email", "slack"]
    result = report["result"]
    assert result["names"] == ["mailto://u:****@127.0.0.1:2525/b%40example.org",
                               "slack://T...2/A...D/T...Q"]
    assert [url.split("?")[0].rstrip("/") for url in result["privacy"]] == result["names"]
    assert SECRET not in json.dumps(result)
    assert result["formats"] == ["html", "markdown"]
    assert result["paced"] == [False, True]


def test_a_url_first_seen_later_loads_its_plugin_too() -> None:
    # notify and pace prepare their URL as well, so a target that did not come through
    # load_targets (a test, a future caller) is still found.
    report = probe(f"""
        from watcher.config.targets import load_targets
        from watcher.delivery.notify import privacy_url
        load_targets({MAILTO!r})
        result = [privacy_url("json://127.0.0.1:8080/hook"), privacy_url("tgram://1:x/2")]
    """)
    assert report["plugins"] == ["custom_json", "email", "telegram"]
    assert report["result"][0].startswith("json://127.0.0.1:8080/hook?method=POST")
    assert report["result"][1].startswith("tgram://1")  # parsed, not the stand-in


def test_native_and_unknown_urls_get_the_full_load() -> None:
    report = probe(f"""
        from watcher.config.targets import load_targets
        from watcher.errors import ConfigError
        load_targets({MAILTO!r})
        native = [t.name for t in load_targets({NATIVE_SLACK!r})]
        try:
            load_targets("nosuchscheme://user:{SECRET}@host")
        except ConfigError as error:
            result = [native, str(error)]
    """)
    assert "discord" in report["plugins"] and len(report["plugins"]) > 100
    assert report["result"] == [
        ["slack://T...2/A...D/T...Q"],
        "WATCHER_NOTIFY: target 1 (nosuchscheme): Apprise cannot use this URL",
    ]


def test_bad_url_of_a_known_service_gives_the_same_error() -> None:
    report = probe(f"""
        from watcher.config.targets import load_targets
        from watcher.errors import ConfigError
        try:
            load_targets("json://127.0.0.1/hook mailto://user:{SECRET}@")
        except ConfigError as error:
            result = str(error)
    """)
    assert report["plugins"] == ["custom_json", "email"]
    assert report["result"] == ("WATCHER_NOTIFY: target 2 (mailto): Apprise cannot use this "
                                "URL: Invalid From email specified")


def test_yaml_file_after_urls_gets_every_plugin(tmp_path: Path) -> None:
    config = tmp_path / "notify.yaml"
    config.write_text(f"urls:\n  - {SLACK}:\n      tag: slack\n  - {NATIVE_SLACK}\n",
                      encoding="utf-8")
    report = probe(f"""
        from watcher.config.targets import load_targets
        load_targets({MAILTO!r})
        result = [(t.name, t.tags) for t in load_targets({str(config)!r})]
        result.append([t.name for t in load_targets({MAILTO!r})])
    """)
    assert len(report["plugins"]) > 100
    assert report["result"] == [["slack://T...2/A...D/T...Q", ["slack"]],
                                ["slack://T...2/A...D/T...Q #2", []],
                                ["mailto://u:****@127.0.0.1:2525/b%40example.org"]]


def test_loader_failure_falls_back_to_the_full_load() -> None:
    # A map entry Apprise cannot load (as after a plugin is renamed upstream).
    report = probe(f"""
        from watcher.delivery import apprise_plugins
        apprise_plugins.PLUGIN_MODULES["mailto"] = "no_such_plugin"
        from watcher.config.targets import load_targets
        result = [t.name for t in load_targets({MAILTO!r})]
    """)
    assert len(report["plugins"]) > 100
    assert report["result"] == ["mailto://u:****@127.0.0.1:2525/b%40example.org"]

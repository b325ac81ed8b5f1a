"""watcher.config.targets: WATCHER_NOTIFY as URLs or an Apprise YAML file; secrets hidden."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from watcher.config.targets import Target, load_targets
from watcher.errors import ConfigError, ConfigErrors

SECRET = "Sup3rSecretPw"
SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_empty_setting_means_no_targets() -> None:
    assert load_targets("") == []
    assert load_targets("   ") == []


def test_urls_separated_by_spaces_and_commas() -> None:
    mailto = f"mailto://bot:{SECRET}@smtp.example.org?to=ops@example.org,boss@example.org"
    targets = load_targets(f"{mailto}, json://127.0.0.1:8080/hook  {SLACK}")
    assert [t.url for t in targets] == [mailto, "json://127.0.0.1:8080/hook", SLACK]
    assert [t.name.split("://")[0] for t in targets] == ["mailto", "json", "slack"]
    assert targets[0].name.startswith("mailto://bot:****@smtp.example.org")
    assert targets[1].name == "json://127.0.0.1:8080/hook"
    assert all(t.tags == () for t in targets)
    for target in targets:  # names are safe to print; repr leaves the URL out
        assert SECRET not in target.name and SECRET not in repr(target)
        assert "TIiajkdnlazkcOXrIdevi7FQ" not in target.name + repr(target)


def test_bad_url_is_named_by_position_and_scheme_without_its_secret() -> None:
    with pytest.raises(ConfigError) as info:
        load_targets(f"json://127.0.0.1/hook mailto://user:{SECRET}@")
    assert str(info.value) == ("WATCHER_NOTIFY: target 2 (mailto): Apprise cannot use this "
                               "URL: Invalid From email specified")  # Apprise's reason
    assert SECRET not in str(info.value)


def test_every_bad_url_is_reported() -> None:
    with pytest.raises(ConfigErrors) as info:
        load_targets(f"nosuchscheme://user:{SECRET}@host, json://ok.local, discord://")
    assert str(info.value).splitlines() == [
        "WATCHER_NOTIFY: target 1 (nosuchscheme): Apprise cannot use this URL",
        "WATCHER_NOTIFY: target 3 (discord): Apprise cannot use this URL: An invalid "
        "Discord Webhook ID () was specified",
    ]


def test_yaml_file_with_tags(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
        version: 1
        urls:
          - mailto://bot:{SECRET}@smtp.example.org:
              to: ops@example.org
              tag: email
          - {SLACK}:
              tag: slack, urgent
          - json://127.0.0.1:8080/hook
        """)
    targets = load_targets(str(path))
    assert [(t.name.split("://")[0], t.tags) for t in targets] == [
        ("mailto", ("email",)), ("slack", ("slack", "urgent")), ("json", ()),
    ]
    assert SECRET in targets[0].url and SECRET not in targets[0].name
    assert "ops%40example.org" in targets[0].url  # the entry's options travel in the URL


def test_yaml_global_tag_and_same_masked_name_are_told_apart(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        tag: everyone
        urls:
          - json://127.0.0.1:8080/hook?method=POST
          - json://127.0.0.1:8080/hook?method=PUT
        """)
    targets = load_targets(str(path))
    assert [t.name for t in targets] == [
        "json://127.0.0.1:8080/hook", "json://127.0.0.1:8080/hook #2",
    ]
    assert all(t.tags == ("everyone",) for t in targets)


def test_yaml_bad_url_names_file_line_and_hides_secret(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
        urls:
          - json://127.0.0.1/hook
          - mailto://user:{SECRET}@:
              tag: email
        """)
    with pytest.raises(ConfigError) as info:
        load_targets(str(path))
    assert str(info.value) == f"{path}:3:5: target 2 (mailto): Apprise cannot use this URL"
    assert SECRET not in str(info.value)


def test_yaml_syntax_error_and_layout_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "urls:\n  - json://x\n - json://y\n")
    with pytest.raises(ConfigError, match=r"notify\.yaml:3:2: YAML: "):
        load_targets(str(path))
    path = write(tmp_path, "urls: json://x\n")
    with pytest.raises(ConfigError) as info:
        load_targets(str(path))
    assert str(info.value) == f"{path}:1:7: urls: expected a list, got the string 'json://x'"
    path = write(tmp_path, "include: https://example.org/more.yaml\nurls: []\n")
    with pytest.raises(ConfigError) as info:
        load_targets(str(path))
    assert str(info.value) == (
        f"{path}:1:1: include is not followed by watcher: list the URLs in this file"
    )
    path = write(tmp_path, "urls:\n  - 42\n")
    with pytest.raises(ConfigError) as info:
        load_targets(str(path))
    assert str(info.value) == (
        f"{path}:2:5: target 1: expected a URL, or a URL with its options "
        "(URL: {tag: ...}), got the number 42"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_targets(str(tmp_path / "nope.yaml"))
    assert str(info.value).startswith(f"WATCHER_NOTIFY: no such file '{tmp_path}/nope.yaml'")


def test_target_fits_what_the_runtime_builds() -> None:
    console = Target(name="console", url="", tags=())
    assert (console.name, console.url, console.tags) == ("console", "", ())

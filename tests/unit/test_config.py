"""watcher.config: YAML with positions, source loading, and exact file:line:col messages."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter

from watcher.config import load_source_file, load_sources
from watcher.config.sources import HtmlSource, RssSource, Source
from watcher.config.yamlload import MAX_NODES, load_documents, parse_documents, validate
from watcher.errors import ConfigError, ConfigErrors

REPO = Path(__file__).resolve().parents[2]
SOURCE_KEYS = (
    "kind, name, url, interval, cron, jitter, tags, language, enabled, max_items, description"
)

# The example users are told to copy (sources/gia.yaml, first block, minus extras).
DOCUMENTED_EXAMPLE = """\
name: gia-press-releases-en
kind: rss
url: https://www.info.gov.hk/gia/rss/general_en.xml
interval: 15m
tags: [gov, en]
follow:
  title: "span#PRHeadlineSpan"
  body: "span#pressrelease"
  drop: ["div.mB15.f15"]
"""


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty sources/ directory; the working directory is its parent, so messages
    read ``sources/<file>:line:col: ...`` as a user would see them."""
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "sources"
    directory.mkdir()
    return directory


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(directory: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_sources(directory)
    return str(info.value)


# --- what ships ------------------------------------------------------------------------


def test_shipped_sources_load() -> None:
    loaded = {s.name: s for s in load_sources(REPO / "sources")}
    # The whole catalogue is checked source by source in tests/unit/test_catalogue.py.
    assert set(loaded) >= {
        "gia-press-releases-en", "gia-press-releases-zh", "itf-whats-new", "itf-nias",
    }
    en = loaded["gia-press-releases-en"]
    assert isinstance(en, RssSource)
    assert str(en.url) == "https://www.info.gov.hk/gia/rss/general_en.xml"
    assert en.interval == timedelta(minutes=15)
    assert en.tags == ("gov", "en")
    assert en.follow is not None
    assert en.follow.title == "span#PRHeadlineSpan"
    assert en.follow.body == "span#pressrelease"
    assert "div.mB15.f15" in en.follow.drop
    zh = loaded["gia-press-releases-zh"]
    assert str(zh.url).endswith("/general_zh.xml")
    assert (zh.language, zh.tags) == ("zh", ("gov", "zh"))
    whats_new = loaded["itf-whats-new"]
    assert isinstance(whats_new, HtmlSource) and whats_new.entries is not None
    assert whats_new.interval == timedelta(hours=1)
    assert whats_new.tags == ("gov", "itf", "en")
    assert whats_new.entries.link == "a"
    nias = loaded["itf-nias"]
    assert isinstance(nias, HtmlSource)
    assert (nias.items, nias.entries) == (None, None)
    assert nias.interval == timedelta(hours=6)
    assert str(nias.url).endswith("/promoting-new-industrialisation/nias/index.html")


def test_documented_example_loads_as_written(sources: Path) -> None:
    [source] = load_source_file(write(sources, "example.yaml", DOCUMENTED_EXAMPLE))
    assert isinstance(source, RssSource)
    assert source.name == "gia-press-releases-en"
    assert source.interval == timedelta(minutes=15)
    assert source.follow is not None and source.follow.drop == ("div.mB15.f15",)


def test_list_form_and_default_interval(sources: Path) -> None:
    write(sources, "b.yml", """\
        - name: daily
          kind: html
          url: https://example.org/
          cron: "0 9 * * mon-fri"
        - name: hourly
          kind: html
          url: https://example.org/list
          items: "ul.news a"
          follow: {body: main}
        """)
    write(sources, "a.yaml", "name: first\nkind: rss\nurl: https://example.org/feed\n")
    write(sources, "notes.txt", "not: [yaml")  # other suffixes are not read
    write(sources, ".editor-swap.yaml", "broken: [")
    loaded = load_sources(sources)
    assert [s.name for s in loaded] == ["first", "daily", "hourly"]  # file name order
    assert loaded[0].interval == timedelta(hours=1)  # neither interval nor cron
    assert (loaded[1].interval, loaded[1].cron) == (None, "0 9 * * mon-fri")


def test_empty_directory_and_empty_file_give_no_sources(sources: Path) -> None:
    assert load_sources(sources) == []
    write(sources, "empty.yaml", "# only a comment\n")
    assert load_sources(sources) == []


def test_missing_directory_is_an_error(sources: Path) -> None:
    assert error_of(sources / "nope") == "sources/nope: sources directory does not exist"


# --- exact messages --------------------------------------------------------------------


def test_unknown_key_lists_allowed_keys(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: html
        url: https://example.org/
        selectr: "td"
        """)
    assert error_of(sources) == (
        f"sources/shop.yaml:4:1: unknown key 'selectr' (allowed: {SOURCE_KEYS}, items, "
        "follow, entries, page)"
    )


def test_missing_url(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        # a comment first, so the mapping starts on line 2
        name: shop
        kind: rss
        """)
    assert error_of(sources) == "sources/shop.yaml:2:1: missing key 'url'"


def test_bad_kind(sources: Path) -> None:
    write(sources, "shop.yaml", "name: shop\nkind: atom\nurl: https://example.org/\n")
    assert error_of(sources) == "sources/shop.yaml:2:7: kind must be one of: rss, html (got 'atom')"


def test_missing_kind(sources: Path) -> None:
    write(sources, "shop.yaml", "name: shop\nurl: https://example.org/\n")
    assert error_of(sources) == (
        "sources/shop.yaml:1:1: missing key 'kind' (must be one of: rss, html)"
    )


def test_bad_interval(sources: Path) -> None:
    write(sources, "shop.yaml", "name: shop\nkind: rss\nurl: https://e.org/\ninterval: abc\n")
    assert error_of(sources) == (
        "sources/shop.yaml:4:11: interval: invalid duration 'abc': use a number and a unit "
        "s, m, h, d or w, e.g. 15m"
    )


def test_bad_cron(sources: Path) -> None:
    write(sources, "shop.yaml", 'name: shop\nkind: rss\nurl: https://e.org/\ncron: "0 9 * *"\n')
    assert error_of(sources) == (
        "sources/shop.yaml:4:7: cron: invalid cron '0 9 * *': Wrong number of fields; got 4, "
        "expected 5 (five fields: minute hour day month weekday)"
    )


def test_cron_out_of_range(sources: Path) -> None:
    write(sources, "shop.yaml", "name: shop\nkind: rss\nurl: https://e.org/\ncron: 61 * * * *\n")
    assert error_of(sources).startswith(
        "sources/shop.yaml:4:7: cron: invalid cron '61 * * * *': Error validating expression"
    )


def test_interval_and_cron_exclude_each_other(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: rss
        url: https://e.org/
        interval: 1h
        cron: "0 9 * * *"
        """)
    assert error_of(sources) == (
        "sources/shop.yaml:5:7: cron: give either interval or cron, not both"
    )


def test_duplicate_name_across_files_names_both(sources: Path) -> None:
    write(sources, "a.yaml", "name: shop\nkind: rss\nurl: https://e.org/a\n")
    write(sources, "b.yaml", """\
        - name: other
          kind: rss
          url: https://e.org/b
        - name: shop
          kind: rss
          url: https://e.org/c
        """)
    assert error_of(sources) == (
        "sources/b.yaml:4:9: duplicate source name 'shop' (first defined at sources/a.yaml:1:7)"
    )


def test_yaml_syntax_error_points_at_the_problem(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: rss
        url: https://e.org/
        tags: [gov, en
        interval: 1h
        """)
    assert error_of(sources) == (
        "sources/shop.yaml:5:9: YAML: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 4)"
    )


def test_yaml_bad_indentation(sources: Path) -> None:
    write(sources, "shop.yaml", "name: shop\n  kind: rss\n")
    assert error_of(sources) == (
        "sources/shop.yaml:2:7: YAML: mapping values are not allowed here"
    )


def test_duplicate_key_names_the_second(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: rss
        url: https://e.org/
        follow:
          body: main
          body: article
        """)
    assert error_of(sources) == (
        "sources/shop.yaml:6:3: duplicate key 'body' (first given at line 5)"
    )


def test_error_in_third_item_of_a_list_points_into_it(sources: Path) -> None:
    write(sources, "many.yaml", """\
        - name: one
          kind: rss
          url: https://e.org/1
        - name: two
          kind: rss
          url: https://e.org/2
        - name: three
          kind: rss
          url: https://e.org/3
          interval: soon
        """)
    assert error_of(sources) == (
        "sources/many.yaml:10:13: interval: invalid duration 'soon': use a number and a unit "
        "s, m, h, d or w, e.g. 15m"
    )


def test_missing_key_in_third_item_points_at_that_item(sources: Path) -> None:
    write(sources, "many.yaml", """\
        - {name: one, kind: rss, url: "https://e.org/1"}
        - {name: two, kind: rss, url: "https://e.org/2"}
        -
          name: three
          kind: rss
        """)
    assert error_of(sources) == "sources/many.yaml:4:3: missing key 'url'"


def test_nested_unknown_key_inside_follow(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: rss
        url: https://e.org/
        follow:
          titel: h1
        """)
    assert error_of(sources) == (
        "sources/shop.yaml:5:3: follow: unknown key 'titel' "
        "(allowed: title, body, date, drop, cite)"
    )


def test_nested_missing_key_inside_entries(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: html
        url: https://e.org/
        entries:
          title: td
        """)
    assert error_of(sources) == "sources/shop.yaml:5:3: entries: missing key 'select'"


def test_follow_needs_items_on_html(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: html
        url: https://e.org/
        follow:
          body: main
        """)
    assert error_of(sources) == (
        "sources/shop.yaml:4:1: follow: follow reads the pages that items links to; give items "
        "too (or use page to read this page itself)"
    )


def test_entries_and_items_exclude_each_other(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: html
        url: https://e.org/
        items: "ul a"
        entries: {select: tr}
        """)
    assert error_of(sources) == (
        "sources/shop.yaml:5:10: entries: give either items (links to follow) or entries, "
        "not both"
    )


def test_follow_is_not_a_key_of_entries_rss(sources: Path) -> None:
    write(sources, "shop.yaml", "name: shop\nkind: rss\nurl: https://e.org/\nitems: a\n")
    assert error_of(sources).startswith("sources/shop.yaml:4:1: unknown key 'items' (allowed: ")


def test_wrong_types_are_named(sources: Path) -> None:
    write(sources, "shop.yaml", """\
        name: shop
        kind: rss
        url: https://e.org/
        tags: gov
        language: fr
        max_items: 5000
        """)
    assert error_of(sources).splitlines() == [
        "sources/shop.yaml:4:7: tags: expected a list, got the string 'gov'",
        "sources/shop.yaml:5:11: language: must be 'en' or 'zh' (got 'fr')",
        "sources/shop.yaml:6:12: max_items: must be less than or equal to 1000 (got 5000)",
    ]


def test_top_level_must_be_a_mapping_or_list(sources: Path) -> None:
    write(sources, "shop.yaml", "just words\n")
    assert error_of(sources) == (
        "sources/shop.yaml:1:1: expected a source (a mapping with name, kind, url...) or a "
        "list of them, got the string 'just words'"
    )


def test_every_problem_in_every_file_is_reported_at_once(sources: Path) -> None:
    write(sources, "a.yaml", "name: a\nkind: rss\nurl: https://e.org/\ninterval: x\n")
    write(sources, "b.yaml", "name: b\nkind: rss\n  oops: [\n")
    write(sources, "c.yaml", "- name: c\n  kind: rss\n- name: d\n  kind: html\n  url: nope\n")
    with pytest.raises(ConfigErrors) as info:
        load_sources(sources)
    lines = str(info.value).splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        "sources/a.yaml:4:11", "sources/b.yaml:3:7", "sources/c.yaml:1:3", "sources/c.yaml:5:8",
    ]
    assert lines[3] == "sources/c.yaml:5:8: url: invalid URL 'nope': relative URL without a base"
    assert [(e.path, e.line) for e in info.value.errors] == [
        ("sources/a.yaml", 4), ("sources/b.yaml", 3), ("sources/c.yaml", 1), ("sources/c.yaml", 5),
    ]


# --- the generic YAML layer ------------------------------------------------------------


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    when: dict[str, list[int]] = {}


def test_locator_maps_pydantic_locs_to_lines() -> None:
    [doc] = parse_documents("rules:\n  - name: a\n    when:\n      x: [1, two]\n", "r.yaml")
    assert doc.locator.locate(("rules", 0, "when", "x", 1)) == (4, 14)
    assert doc.locator.locate_key(("rules", 0, "when")) == (3, 5)
    # a union tag pydantic adds ('rss') names no value and is skipped
    assert doc.locator.locate(("rules", 0, "rss", "name")) == (2, 11)
    with pytest.raises(ConfigError) as info:
        doc.validate(dict[str, list[Rule]])
    assert str(info.value) == (
        "r.yaml:4:14: rules[0].when.x[1]: must be a valid integer, unable to parse string as "
        "an integer (got 'two')"
    )


def test_validate_accepts_a_type_adapter_and_own_errors_are_located() -> None:
    [doc] = parse_documents("- name: a\n- name: b\n  then: x\n", "r.yaml")
    with pytest.raises(ConfigError) as info:
        validate(TypeAdapter(list[Rule]), doc.data, doc.locator)
    assert str(info.value) == "r.yaml:3:3: unknown key 'then' (allowed: name, when)"
    assert str(doc.error("clash", (1, "name"))) == "r.yaml:2:9: clash"
    assert str(doc.error("clash", (1, "name"), key=True)) == "r.yaml:2:3: clash"


def test_several_documents_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text("a: 1\n---\n# only a comment\n---\nb: [x]\n", encoding="utf-8")
    docs = load_documents(path)
    assert [d.data for d in docs] == [{"a": 1}, {"b": ["x"]}]
    assert docs[1].locator.locate(("b", 0)) == (5, 5)


def test_merge_keys_may_be_overridden_without_a_duplicate_error() -> None:
    [doc] = parse_documents("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n", "m.yaml")
    assert doc.data["use"] == {"x": 1, "y": 3}
    assert doc.locator.locate(("use", "y")) == (4, 6)


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_documents("a: !!python/object/apply:os.system ['true']\n", "evil.yaml")
    assert str(info.value).startswith("evil.yaml:1:4: YAML: could not determine a constructor")


def test_alias_bombs_are_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ConfigError) as info:
        parse_documents("\n".join(lines) + "\n", "bomb.yaml")
    assert f"YAML expands to more than {MAX_NODES} values" in str(info.value)


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_documents("a: &a [*a]\n", "loop.yaml")
    assert str(info.value) == (
        "loop.yaml:1:1: YAML nests too deeply (or an alias refers to itself)"
    )


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_documents(tmp_path / "absent.yaml", shown_as="absent.yaml")
    assert str(info.value) == "absent.yaml: cannot read file: No such file or directory"


def test_undecodable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_documents(path, shown_as="latin1.yaml")
    assert str(info.value).startswith("latin1.yaml: YAML: cannot decode the file")


@pytest.mark.parametrize(("text", "expected"), [
    ("name: a\n1: x\nkind: rss\nurl: https://e.org/\n",
     "odd.yaml:2:1: keys must be strings (got 1)"),
    ("name: 2020-01-01\nkind: rss\nurl: https://e.org/\n",
     "odd.yaml:1:7: name: expected a string, got the date 2020-01-01"),
    ("kind:\nname: a\nurl: https://e.org/\n",
     "odd.yaml:1:6: kind must be one of: rss, html (got nothing)"),
    ("[" * 5000 + "]" * 5000, "odd.yaml: YAML nests too deeply"),
])
def test_odd_input_gives_one_clear_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        for doc in parse_documents(text, "odd.yaml"):
            doc.validate(Source)
    assert str(info.value) == expected

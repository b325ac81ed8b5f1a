"""Known names: every spelling of a fund, facility or organisation -> one canonical key.

A :class:`Gazetteer` is built once from the baseline entries plus the packaged
``gazetteer.yaml`` (further known entities and their English abbreviations and Traditional
Chinese names). It compiles every alias into one regular expression, longest alias first,
so "second AMC" wins over "AMC" and "將軍澳創新園" over "創新園" at the same place.

Matching is forgiving where writers vary and strict where a mistake would merge two
things: multi-word names ignore case, curly apostrophes, hyphens ("Re-industrialisation"), "&"
for "and",
British/American spelling ("Centre"/"Center") and take plurals and possessives;
abbreviations such as ``AMC`` or ``InnoHK`` must be written in their own case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from watcher.errors import ConfigError
from watcher.extract.scan import has_cjk, lowered
from watcher.extract.spelling import normalise
from watcher.models import FactKind

if TYPE_CHECKING:
    from watcher.extract.baseline import Baseline

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
             "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "sixth": 6, "6th": 6}
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
_ZH_ORDINALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_ORDINAL_BEFORE = re.compile(
    r"(?:\b(?P<en>first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|6th)\s+"
    r"|第(?P<zh>[一二三四五六])(?:所|個|間|座|家|期)?)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Entity:
    key: str
    kind: FactKind
    name: str  # canonical English name
    aliases: tuple[str, ...] = ()
    amount_hkd: int | None = None  # the amount the baseline knows, if any
    # False for a thing watcher knows so as to leave it out: a government account (the
    # Capital Works Reserve Fund), a welfare fund. Its name still takes the amounts and
    # back-references ("the Fund") near it, so they never fall to a scheme that is watched.
    watched: bool = True
    topics: tuple[str, ...] = ()  # see BaselineEntry.topics


@dataclass(frozen=True, slots=True)
class Mention:
    """A known name found in a text at ``[start, end)``."""

    entity: Entity
    text: str
    start: int
    end: int


class _EntityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    kind: FactKind
    name: str
    aliases: tuple[str, ...] = ()
    note: str = ""


_CASELESS_WORD_END = r"(?:e?s)?(?:['’]s?)?(?![A-Za-z0-9])"
_AND = r"\s+(?:[aA][nN][dD]|&)\s+"
_FOLDED_WORD_END = r"(?:e?s)?(?:['’]s?)?(?![a-z0-9])"


def _spellings(alias: str) -> list[str]:
    """The alias and its other spellings ("Centre" -> also "Center")."""
    out = [alias]
    for word, variant in (("Centre", "Center"), ("centre", "center"),
                          ("Programme", "Program"), ("programme", "program")):
        out += [a.replace(word, variant) for a in out if word in a]
    return out


def _units(alias: str) -> list[str]:
    """An alias as regex pieces, one per character: flexible spaces, quotes and hyphens;
    abbreviations (AMC, InnoHK, RAISe+) keep their case, names ignore it."""
    exact = " " not in alias and sum(c.isupper() for c in alias) >= 2
    units = []
    skip = 0
    for index, char in enumerate(alias):
        if skip:
            skip -= 1
            continue
        if alias[index:index + 5].lower() == " and " and not exact:
            units.append(_AND)  # "Science & Technology Parks"
            skip = 4
        elif char.isspace():
            units.append(r"\s+")
        elif char in "'’":
            units.append("['’]")
        elif char == "-":
            units.append("[-‐‑–]?")
        elif char.isascii() and char.isalpha() and not exact:
            units.append(f"[{char.lower()}{char.upper()}]")
        else:
            units.append(re.escape(char))
    if alias[-1].isascii() and (alias[-1].isalnum() or alias[-1] in "+)"):
        units.append(_CASELESS_WORD_END)  # plural, possessive, then a word boundary
    return units


def _folded_units(alias: str) -> list[str] | None:
    """The units of ``alias`` (see ``_units``) as they read in ``lowered()`` text: every
    letter in lower case. Wherever the alias matches a text, these match its lowered form
    (and more: "amc" for the case-exact "AMC"), so they show where the alias may be; None
    when a character has no one-character lower case."""
    out = []
    for unit in _units(alias):
        if unit == _CASELESS_WORD_END:
            out.append(_FOLDED_WORD_END)
        elif unit == _AND:
            out.append(r"\s+(?:and|&)\s+")
        elif unit in (r"\s+", "['’]", "[-‐‑–]?"):
            out.append(unit)
        elif len(unit) == 4 and unit[0] == "[" and unit[3] == "]":
            out.append(unit[1])  # "[aA]" -> "a"
        elif len(unit) == 1 or (len(unit) == 2 and unit[0] == "\\"):
            lower = unit[-1].lower()  # the character, or the one re.escape() guarded
            if len(lower) != 1:
                return None
            out.append(re.escape(lower))
        else:  # pragma: no cover - _units makes no other unit
            return None
    return out


def _first_characters(aliases: Iterable[str]) -> set[str] | None:
    """Every character that can open one of ``aliases`` as matched (see ``_units``), or
    None when some alias opens with a unit that is not one character (a space, a hyphen)."""
    chars: set[str] = set()
    for alias in aliases:
        unit = _units(alias)[0]
        if unit == "['’]":
            chars.update("'’")
        elif len(unit) == 1 or (len(unit) == 2 and unit[0] == "\\"):
            chars.add(unit[-1])  # the character, or the one re.escape() guarded
        elif len(unit) == 4 and unit[0] == "[" and unit[3] == "]":
            chars.update(unit[1:3])  # "[aA]"
        else:
            return None
    return chars


def _trie_pattern(aliases: Iterable[str],
                  units: Callable[[str], list[str] | None] = _units,
                  word_end: str = _CASELESS_WORD_END) -> str:
    """One regex for many aliases, factored as a trie so that matching costs about one
    step per character of text rather than one per alias. Longer aliases win: at each
    node the branches are tried before the end."""
    trie: dict[str, Any] = {}
    for alias in aliases:
        node = trie
        for unit in units(alias) or ():
            node = node.setdefault(unit, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        # The word-end unit goes last: "Science Park" must not win over "Science Park
        # Expansion Programme" just because it was listed first.
        keys = sorted((u for u in node if u), key=lambda u: u == word_end)
        branches = [unit + render(node[unit]) for unit in keys]
        if "" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return render(trie)


class Gazetteer:
    """Resolves names to entities and finds known names in text. Build it once."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self._entities: dict[str, Entity] = {}
        self._by_alias: dict[str, str] = {}
        for entity in entities:
            if entity.key in self._entities:
                entity = _merge(self._entities[entity.key], entity)
            self._entities[entity.key] = entity
        for entity in self._entities.values():
            for alias in (entity.name, *entity.aliases):
                norm = normalise(alias)
                other = self._by_alias.setdefault(norm, entity.key)
                if other != entity.key:
                    raise ValueError(
                        f"alias {alias!r} names both {other!r} and {entity.key!r}"
                    )
        spellings = {v for e in self._entities.values() for a in (e.name, *e.aliases)
                     for v in _spellings(a)}
        # Most matches are an alias exactly as listed: look those up without normalising.
        self._exact: dict[str, Entity] = {}
        for spelling in spellings:
            known = self.resolve(spelling)
            if known is not None:
                self._exact[spelling] = known
        ascii_start = sorted(a for a in spellings if a[0].isascii() and a[0].isalnum())
        other_start = sorted(a for a in spellings if a not in set(ascii_start))
        ascii_pattern = r"(?<![A-Za-z0-9])" + _trie_pattern(ascii_start)
        self._regex = re.compile(ascii_pattern + "|" + _trie_pattern(other_start))
        # Most pages hold no character that can open a Chinese alias: for them the
        # Chinese half of the pattern, tried at every position, can never match, and the
        # English half alone finds the same mentions in half the time.
        firsts = _first_characters(other_start)
        self._ascii_regex = re.compile(ascii_pattern) if firsts is not None else None
        self._other_first = (re.compile("[" + "".join(map(re.escape, sorted(firsts))) + "]")
                             if firsts else None)
        # ... and a page with no Chinese at all has none of those characters when they are
        # all Chinese: no need to look for them one by one.
        self._other_first_cjk = bool(firsts) and all("\u3400" <= c <= "\u9fff"
                                                     for c in firsts or ())
        # Where the English half may match, found in lowered() text: its top level is one
        # character per alias opening rather than a class per case, so the engine rejects
        # a word start in a few steps. Consuming the character before the alias (a space
        # is put before the text) lets the engine skip to word starts by itself.
        folded = [_folded_units(a) for a in ascii_start]
        self._folded = (re.compile("[^a-z0-9](?:" + _trie_pattern(
            ascii_start, _folded_units, _FOLDED_WORD_END) + ")")
            if ascii_start and all(u is not None for u in folded) else None)

    @classmethod
    def from_baseline(cls, baseline: Baseline | None = None, *, packaged: bool = True
                      ) -> Gazetteer:
        """The baseline's entries plus (unless ``packaged=False``) the packaged entities.
        An entity in both keeps the baseline's name and amount and gains both alias sets."""
        entities: list[Entity] = []
        if baseline is not None:
            entities += [
                Entity(e.key, e.kind, e.name, tuple(e.aliases), e.amount_hkd,
                       topics=tuple(e.topics))
                for e in baseline.entries
                if e.kind is not FactKind.FIGURE
            ]
        if packaged:
            entities += packaged_entities()
        return cls(entities)

    @property
    def entities(self) -> list[Entity]:
        return list(self._entities.values())

    def get(self, key: str) -> Entity | None:
        return self._entities.get(key)

    def resolve(self, name: str) -> Entity | None:
        """The entity a name refers to, forgiving case, "the", plurals and possessives;
        "third InnoHK research cluster" resolves through its ordinal when not an alias."""
        norm = normalise(name)
        for candidate in (norm, norm[:-1] if norm.endswith("s") else None,
                          norm[:-2] if norm.endswith("es") else None):
            if candidate and candidate in self._by_alias:
                return self._entities[self._by_alias[candidate]]
        head, _, rest = norm.partition(" ")
        if head in _ORDINALS and rest:
            base = self.resolve(rest)
            if base is not None:
                return self._ordinal(base, _ORDINALS[head])
        return None

    def by_amount(self, kind: FactKind, amount_hkd: int, sentence: str) -> Entity | None:
        """The one known entity of ``kind`` with this amount whose topics ``sentence``
        speaks of, if exactly one (how "a fund of HK$10 billion ... production facilities"
        finds the scheme the baseline knows)."""
        low = sentence.lower()
        found = [e for e in self._entities.values()
                 if e.kind is kind and e.amount_hkd == amount_hkd
                 and any(topic.lower() in low for topic in e.topics)]
        return found[0] if len(found) == 1 else None

    def find(self, text: str) -> list[Mention]:
        """Every known name in ``text``, longest first where names overlap."""
        return list(self._iter_mentions(text))

    def _ascii_only(self, text: str) -> bool:
        """Whether no alias of the other half can open anywhere in ``text``."""
        if self._ascii_regex is None:
            return False
        if self._other_first is None or (self._other_first_cjk and not has_cjk(text)):
            return True
        return self._other_first.search(text) is None

    def _ascii_matches(self, text: str) -> Iterator[re.Match[str]]:
        """``self._ascii_regex.finditer(text)``, trying the pattern only where the folded
        pattern says an alias may start (most pages have a few such places, or none)."""
        low = lowered(text)
        if low is None or self._folded is None or self._ascii_regex is None:
            yield from (self._ascii_regex or self._regex).finditer(text)
            return
        padded = " " + low  # padded[i] is the character before text[i]
        pos = 0
        while (hit := self._folded.search(padded, pos)) is not None:
            match = self._ascii_regex.match(text, hit.start())
            if match is None:
                pos = hit.start() + 1  # the next place an alias may start
                continue
            yield match
            pos = match.end()

    def _iter_mentions(self, text: str) -> Iterator[Mention]:
        matches = (self._ascii_matches(text) if self._ascii_only(text)
                   else self._regex.finditer(text))
        for match in matches:
            entity = self._exact.get(match.group()) or self.resolve(match.group())
            if entity is None:  # pragma: no cover - every alternative is an alias
                continue
            start = match.start()
            ordinal = _ORDINAL_BEFORE.search(text, max(0, start - 12), start)
            if ordinal and entity.kind is not FactKind.FUNDING:
                number = (_ORDINALS[ordinal.group("en").lower()] if ordinal.group("en")
                          else _ZH_ORDINALS[ordinal.group("zh")])
                entity = self._ordinal(entity, number)
                start = ordinal.start()
            yield Mention(entity, text[start:match.end()], start, match.end())

    def _ordinal(self, base: Entity, number: int) -> Entity:
        """"Third" + InnoHK research cluster -> the third cluster (a known key when the
        baseline has it). Numbers already in the key ("second-...") are left alone."""
        if number == 1 or any(base.key.startswith(w + "-") for w in _ORDINAL_WORDS.values()):
            return base
        word = _ORDINAL_WORDS[number]
        key = f"{word}-{base.key}"
        known = self._entities.get(key)
        if known is not None:
            return known
        return Entity(key, base.kind, f"{word.capitalize()} {base.name}")


def _merge(first: Entity, second: Entity) -> Entity:
    aliases = tuple(dict.fromkeys((*first.aliases, *second.aliases, second.name)))
    return Entity(first.key, first.kind, first.name, aliases,
                  first.amount_hkd if first.amount_hkd is not None else second.amount_hkd,
                  first.watched and second.watched, first.topics or second.topics)


@cache
def packaged_entities() -> tuple[Entity, ...]:
    """The entities of the packaged ``gazetteer.yaml``, read once per process."""
    source = resources.files("watcher.extract").joinpath("gazetteer.yaml")
    data: Any = yaml.safe_load(source.read_text(encoding="utf-8"))
    entities = []
    for section, watched in (("entities", True), ("unwatched", False)):
        for index, item in enumerate(data.get(section, [])):
            try:
                model = _EntityModel.model_validate(item)
            except ValidationError as exc:
                raise ConfigError(f"{section} {index}: {exc.errors()[0]['msg']}",
                                  str(source)) from exc
            entities.append(Entity(model.key, model.kind, model.name, model.aliases,
                                   watched=watched))
    return tuple(entities)

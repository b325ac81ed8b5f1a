"""Sentence splitting keeps sentences as written and knows abbreviations."""

from __future__ import annotations

from watcher.extract.sentences import split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_english_sentences_and_offsets() -> None:
    text = "  The Office will be set up. It will help firms!  Is it new? Yes."
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "The Office will be set up.", "It will help firms!", "Is it new?", "Yes."]
    assert all(text[s.start:s.end] == s.text for s in sentences)


def test_abbreviations_initials_and_decimals_do_not_split() -> None:
    assert texts("Mr. Sun and Prof. Lee met Dr. Wong. John S. Lee spoke of $2.84 million.") == [
        "Mr. Sun and Prof. Lee met Dr. Wong.", "John S. Lee spoke of $2.84 million."]
    assert texts("Funds, e.g. the ITF, help. Next.") == ["Funds, e.g. the ITF, help.", "Next."]


def test_closing_quote_stays_with_its_sentence() -> None:
    assert texts("He said, “It will use I&T.” Furthermore, a fund was set aside.") == [
        "He said, “It will use I&T.”", "Furthermore, a fund was set aside."]


def test_chinese_punctuation() -> None:
    assert texts("政府已預留100億元。計劃明年推出！是否足夠？另見附件；完") == [
        "政府已預留100億元。", "計劃明年推出！", "是否足夠？", "另見附件；", "完"]
    assert texts("他說：「中心今日開幕。」其後參觀。") == ["他說：「中心今日開幕。」", "其後參觀。"]


def test_blank_lines_end_sentences_single_breaks_do_not() -> None:
    assert texts("Headline without stop\n\nBody line one\nwraps here. Next one.") == [
        "Headline without stop", "Body line one\nwraps here.", "Next one."]


def test_empty_and_whitespace() -> None:
    assert texts("") == []
    assert texts(" \n\n \t ") == []

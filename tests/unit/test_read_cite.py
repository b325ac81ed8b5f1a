"""read.cite: the page or numbered paragraph a sentence sits in, and the label in front
of the evidence."""

from __future__ import annotations

from watcher.read.cite import cite, cited_page, locate, split_citation

SPEECH = ("Hong Kong AI Research and Development Institute\n\n"
          "39. To spearhead AI, I have set aside $1 billion for the Institute.\n\n"
          "Smart Manufacturing\n\n"
          "46. We also launched the Scheme in September last year.  It funds lines.\n\n"
          "47. We plan to launch the Manufacturing+ scheme.\n"
          "I have earmarked $100 million for the Scheme.")


def test_the_paragraph_of_a_sentence_is_the_last_number_before_it() -> None:
    assert locate(SPEECH, "It funds lines.", paragraphs=True) == "¶46"
    assert locate(SPEECH, "I have earmarked $100 million for the Scheme.",
                  paragraphs=True) == "¶47"
    assert locate(SPEECH, "39. To spearhead AI, I have set aside $1 billion for the "
                  "Institute.", paragraphs=True) == "¶39"
    # Before the first numbered paragraph there is none to tell; nor without paragraphs.
    assert locate(SPEECH, "Hong Kong AI Research and Development Institute",
                  paragraphs=True) is None
    assert locate(SPEECH, "It funds lines.", paragraphs=False) is None
    assert locate("39.   為引領人工智能，我預留10億元。", "我預留10億元。",
                  paragraphs=True) == "¶39"


def test_a_year_or_an_amount_is_no_paragraph_number() -> None:
    text = "12. First.\n\n2024. A year line.\n$3.5 billion in 2025."
    assert locate(text, "$3.5 billion in 2025.", paragraphs=True) == "¶12"


def test_the_page_of_a_sentence_counts_form_feeds() -> None:
    text = "FCR(2024-25)31\n\nPROBLEM\fPROPOSAL\n\n2. Members are invited.\fEnd."
    assert locate(text, "2. Members are invited.", paragraphs=False) == "p. 2"
    assert locate(text, "End.", paragraphs=True) == "p. 3"  # pages win over paragraphs
    assert locate(text, "Not there.", paragraphs=False) is None


def test_the_label_goes_in_front_and_comes_off_again() -> None:
    evidence = cite("Members are\finvited.", "p. 2")
    assert evidence == "[p. 2] Members are invited."
    assert split_citation(evidence) == ("p. 2", "Members are invited.")
    assert cited_page(evidence) == 2
    assert split_citation("[¶47] I have earmarked.") == ("¶47", "I have earmarked.")
    assert cited_page("[¶47] I have earmarked.") is None
    assert split_citation("Plain [p. 2] sentence.") == (None, "Plain [p. 2] sentence.")
    assert cite("Plain.", None) == "Plain."

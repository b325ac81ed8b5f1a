"""Shared by the extraction tests: a tiny GIA page -> Document reader (the real reader is
another module's job; these tests only need the headline and the body text)."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from watcher.models import Document

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# The article whose facts are the baseline (db/baseline.yaml cites it).
SEED_ARTICLE = ROOT / "db" / "seed-article.txt"


def gia_document(path: Path, language: str | None = None) -> Document:
    soup = BeautifulSoup(path.read_bytes(), "lxml")
    headline = soup.select_one("span#PRHeadlineSpan")
    body = soup.select_one("span#pressrelease")
    assert body is not None, f"{path} has no span#pressrelease"
    for footer in body.select("div.mB15.f15"):
        footer.decompose()
    for br in body.find_all("br"):
        br.replace_with("\n")
    lines = [line.strip() for line in body.get_text().split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    text = re.sub(r"\n\s*NNNN\s*$", "", text)
    title = headline.get_text(strip=True) if headline else ""
    if language is None:
        language = "zh" if re.search(r"[\u4e00-\u9fff]", title + text) else "en"
    return Document(url=path.resolve().as_uri(), source="test", title=title, text=text,
                    language=language)

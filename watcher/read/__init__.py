"""Readers: turn fetched bytes into documents and feed items.

Every function here is pure and total: whatever bytes a server sends, a reader returns a
value or raises :class:`watcher.errors.ReadError` with one clear line; it never hangs and
never lets another exception escape.

    decode.py    bytes -> str (BOM, HTTP charset, <meta>, UTF-8, Big5-HKSCS, guess)
    text.py      HTML element -> plain text with paragraph breaks
    dates.py     English, Chinese and ISO dates -> aware datetimes (Asia/Hong_Kong)
    language.py  "en" or "zh" from the share of CJK characters
    feed.py      RSS / Atom -> FeedItem
    html.py      a page -> Document; list page -> FeedItem links; table rows -> Documents
"""

from watcher.read.decode import decode, ensure_readable
from watcher.read.feed import read_feed
from watcher.read.html import read_entries, read_links, read_page

__all__ = ["decode", "ensure_readable", "read_entries", "read_feed", "read_links", "read_page"]

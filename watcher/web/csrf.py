"""Cross-site request forgery protection for the one form that writes: a change's "This is
wrong" button (POST /changes/ID/dismiss).

Another site can make a visitor's browser post to watcher (on loopback no token is asked
for, and beyond it the token cookie travels with the post), but it cannot read watcher's
pages. So the form carries a token that only a page watcher served can hold: an HMAC of
the form's action under this app's key. The key is random per app, or derived from
``WATCHER_WEB_TOKEN`` when one is set, so that replicas behind one address accept each
other's forms. A post that the browser says came from elsewhere is refused as well:
``Sec-Fetch-Site`` other than ``same-origin``, or an ``Origin`` naming another site. (The
pages' ``Referrer-Policy: no-referrer`` makes browsers send ``Origin: null`` even for a
post from the page itself, so ``null`` proves nothing either way: the token decides.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request


def new_key(web_token: str | None) -> bytes:
    if web_token:
        return hashlib.sha256(b"watcher csrf\0" + web_token.encode()).digest()
    return secrets.token_bytes(32)


def form_token(key: bytes, action: str) -> str:
    """The token a form posting to ``action`` carries."""
    return hmac.new(key, action.encode(), hashlib.sha256).hexdigest()


def valid(key: bytes, action: str, presented: str) -> bool:
    return hmac.compare_digest(form_token(key, action), presented)


def same_origin(request: Request) -> bool:
    """Whether the browser lets the post pass as coming from a page of this very address;
    a client that says nothing (curl, a test) is judged by the token alone."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    claimed = request.headers.get("origin")
    if not claimed or claimed == "null":
        return True
    origin = urlsplit(claimed)
    return f"{origin.scheme}://{origin.netloc}" == f"{request.url.scheme}://{request.url.netloc}"

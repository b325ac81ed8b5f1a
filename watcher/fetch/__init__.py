"""Fetching: the only network reads.

    client.py   polite, conditional, size-capped HTTP GETs (httpx2); never raises for
                a network problem; follows redirects hop by hop
    address.py  which addresses may be fetched: public ones, plus WATCHER_FETCH_ALLOW
    connect.py  every connection through the address policy, after DNS
    failures.py network error text: one bounded line
    budget.py   how many fetched pages all polls together hold before they are stored,
                and the turns polls that follow links take per host
"""

from watcher.fetch.budget import HostTurns, PageBudget
from watcher.fetch.client import Fetcher, FetchPolicy, content_hash

__all__ = ["FetchPolicy", "Fetcher", "HostTurns", "PageBudget", "content_hash"]

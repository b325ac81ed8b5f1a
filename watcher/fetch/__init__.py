"""Fetching: the only network reads.

    client.py   polite, conditional, size-capped HTTP GETs (aiohttp); never raises for
                a network problem
    budget.py   how many fetched pages all polls together hold before they are stored,
                and the turns polls that follow links take per host
"""

from watcher.fetch.budget import HostTurns, PageBudget
from watcher.fetch.client import Fetcher, FetchPolicy, content_hash

__all__ = ["FetchPolicy", "Fetcher", "HostTurns", "PageBudget", "content_hash"]

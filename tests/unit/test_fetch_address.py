"""fetch refuses addresses that are not public: after DNS, on every redirect hop and for
every followed link; WATCHER_FETCH_ALLOW lets them through.

Real servers on loopback play both sides: 127.0.0.1 and 127.0.0.2 are two machines, and
a test resolver names hosts (the one edge replaced: DNS). Refused addresses outside
loopback (10.x, 169.254.169.254) are never contacted: the refusal comes first.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.http_server import LocalServer
from watcher.errors import ConfigError
from watcher.fetch import Fetcher, FetchPolicy
from watcher.fetch.address import AddressPolicy, refusal
from watcher.fetch.poll import PollReport
from watcher.models import FetchResult
from watcher.pipeline import poll_source
from watcher.service.runtime import Config, Runtime
from watcher.service.settings import Settings
from watcher.store import sources as source_store
from watcher.store import transaction

HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = b"<html><head><title>t</title></head><body><p>hello</p></body></html>"
ALLOW_HINT = "(WATCHER_FETCH_ALLOW can allow it)"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


def policy(allow: str = "", **overrides: Any) -> FetchPolicy:
    values: dict[str, Any] = {"per_host_delay_s": 0.0, "retries": 2,
                              "retry_base_delay_s": 0.01, "obey_robots": False,
                              "allow": AddressPolicy.parse(allow)}
    values.update(overrides)
    return FetchPolicy(**values)


def names(table: dict[str, list[str]]) -> Any:
    """A resolver that knows only ``table`` (no system DNS in these tests)."""
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"no such name: {host}")
        return table[host]
    return resolve


def fetch(url: str, pol: FetchPolicy, resolver: Any = None) -> FetchResult:
    async def run() -> FetchResult:
        fetcher = Fetcher(pol, resolver=resolver) if resolver else Fetcher(pol)
        async with fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(run())


# -- the policy ------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"),
    ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("172.31.255.254", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("fe80::1", "link-local (cloud metadata)"),
    ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata)"),  # NAT64
    ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ("100.64.0.1", "reserved"), ("224.0.0.1", "multicast"),
])
def test_addresses_that_are_not_public_are_refused(address: str, kind: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "203.119.1.1", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
    AddressPolicy().check("example.org", ipaddress.ip_address(address))


def test_the_allow_list_takes_networks_and_host_names() -> None:
    allow = AddressPolicy.parse(" 127.0.0.0/8, ::1 ,Intranet.Example., 10.0.0.7, 1password.test")
    assert [str(n) for n in allow.networks] == ["127.0.0.0/8", "::1/128", "10.0.0.7/32"]
    assert allow.hosts == {"intranet.example", "1password.test"}
    allow.check("x", ipaddress.ip_address("127.0.0.5"))
    allow.check("x", ipaddress.ip_address("10.0.0.7"))
    with pytest.raises(Exception, match=r"^address not allowed: x resolves to 10\.0\.0\.8, "):
        allow.check("x", ipaddress.ip_address("10.0.0.8"))
    assert allow.allows_name("INTRANET.example") and not allow.allows_name("example")
    assert AddressPolicy.parse("") == AddressPolicy()


def test_a_bad_allow_entry_is_one_line_when_the_configuration_loads(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^'10\.0\.0\.0/33' is neither a CIDR network"):
        AddressPolicy.parse("127.0.0.0/8,10.0.0.0/33")
    settings = Settings(fetch_allow="127.0.0.0/8, http://intranet/", sources_dir=tmp_path,
                        rules_dir=tmp_path, notify="")
    with pytest.raises(ConfigError) as raised:
        Config.load(settings)
    assert str(raised.value) == (
        "WATCHER_FETCH_ALLOW (or fetch_allow in watcher.toml): "
        "'http://intranet/' is neither a CIDR network nor a host name")


# -- the fetcher -------------------------------------------------------------------------

def test_loopback_is_refused_by_default_before_any_request(server: LocalServer) -> None:
    server.routes["/p"] = (200, HTML, PAGE)
    result = fetch(server.url("/p"), policy())
    assert result.error == f"address not allowed: 127.0.0.1 is loopback {ALLOW_HINT}"
    assert result.status is None and server.hits["/p"] == 0 and not server.requests


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/",
                                 "http://10.0.0.1/", "http://[::ffff:127.0.0.1]:9/",
                                 "http://0.0.0.0:9/", "https://[fe80::1]/"])
def test_private_and_metadata_addresses_are_refused_without_a_connection(url: str) -> None:
    result = fetch(url, policy(retries=3))
    assert result.error is not None and result.error.startswith("address not allowed: ")
    assert "\n" not in result.error and ALLOW_HINT in result.error


def test_a_name_resolving_to_loopback_is_refused_after_dns(server: LocalServer) -> None:
    server.routes["/p"] = (200, HTML, PAGE)
    url = f"http://intranet.test:{server.port}/p"
    resolver = names({"intranet.test": ["127.0.0.1"]})
    result = fetch(url, policy(), resolver)
    assert result.error == ("address not allowed: intranet.test resolves to 127.0.0.1, "
                            f"loopback {ALLOW_HINT}")
    assert server.hits["/p"] == 0


@pytest.mark.parametrize("allow", ["127.0.0.0/8", "intranet.test"])
def test_the_allow_setting_lets_a_name_or_network_through(server: LocalServer,
                                                         allow: str) -> None:
    server.routes["/p"] = (200, HTML, PAGE)
    url = f"http://intranet.test:{server.port}/p"
    result = fetch(url, policy(allow), names({"intranet.test": ["127.0.0.1"]}))
    assert result.ok and result.content == PAGE
    assert server.requests[-1].headers["Host"] == f"intranet.test:{server.port}"


def test_an_unknown_name_is_one_line(server: LocalServer) -> None:
    result = fetch("http://nowhere.test/p", policy(retries=0), names({}))
    assert result.error == "host name not found"


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(server: LocalServer) -> None:
    """public.test is allowed (by name, as a public host would be); its redirect to
    127.0.0.1 is refused like a first URL would be, and the target never sees a request."""
    server.routes["/start"] = (302, {"Location": f"http://127.0.0.1:{server.port}/secret"}, b"")
    server.routes["/secret"] = (200, HTML, b"metadata")
    result = fetch(f"http://public.test:{server.port}/start", policy("public.test"),
                   names({"public.test": ["127.0.0.1"]}))
    assert result.error == f"address not allowed: 127.0.0.1 is loopback {ALLOW_HINT}"
    assert server.hits["/start"] == 1 and server.hits["/secret"] == 0
    # Allowed, the same redirect is followed.
    allowed = fetch(f"http://public.test:{server.port}/start", policy("public.test,127.0.0.1"),
                    names({"public.test": ["127.0.0.1"]}))
    assert allowed.ok and allowed.content == b"metadata"


def test_a_redirect_hop_obeys_the_robots_txt_of_the_host_it_reaches(server: LocalServer) -> None:
    with LocalServer({"/robots.txt": (200, {}, b"User-agent: *\nDisallow: /private/\n"),
                      "/private/p": (200, HTML, PAGE)}, host="127.0.0.2") as other:
        server.routes["/go"] = (301, {"Location": other.url("/private/p")}, b"")
        result = fetch(server.url("/go"), policy("127.0.0.0/8", obey_robots=True))
        assert result.error == "disallowed by robots.txt"
        assert other.hits["/robots.txt"] == 1 and other.hits["/private/p"] == 0
        assert server.hits["/robots.txt"] == 1  # the first host's own, read for /go


# -- a poll --------------------------------------------------------------------------------

def _feed(links: list[str]) -> bytes:
    items = "".join(f"<item><title>Release {i}</title><link>{link}</link></item>"
                    for i, link in enumerate(links))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
            ).encode()


def _poll(tmp_path: Path, site: LocalServer, allow: str) -> tuple[PollReport, str | None]:
    sources = tmp_path / "sources"
    sources.mkdir(parents=True)
    (sources / "feed.yaml").write_text(
        f"name: feed\nkind: rss\nurl: {site.url('/feed.xml')}\ninterval: 15m\n"
        "follow:\n  title: \"title\"\n  body: \"body\"\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'watcher.db'}",
                        sources_dir=sources, rules_dir=Path("rules").resolve(), notify="",
                        per_host_delay_s=0, obey_robots=False, fetch_retries=0,
                        fetch_allow=allow)
    rt = Runtime.load(settings)
    rt.init_database()

    async def run() -> PollReport:
        async with rt.network():
            return await poll_source(rt, rt.sources["feed"], force=True)

    try:
        report = asyncio.run(run())
        with transaction(rt.engine) as session:
            health = {h.name: h for h in source_store.health(session)}
        return report, health["feed"].last_error
    finally:
        rt.engine.dispose()


def test_a_feed_item_linking_to_a_private_address_is_refused(tmp_path: Path,
                                                             server: LocalServer) -> None:
    """The feed's host (127.0.0.1) is allowed; its items link to another loopback machine
    (127.0.0.2) and to the metadata address, which are not: refused, and said in one line
    on the source; the item on the allowed host is read."""
    with LocalServer({"/inside.htm": (200, HTML, PAGE)}, host="127.0.0.2") as inside:
        server.routes["/ok.htm"] = (200, HTML, PAGE)
        server.routes["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, _feed(
            [server.url("/ok.htm"), inside.url("/inside.htm"),
             "http://169.254.169.254/latest/meta-data/"]))
        report, last_error = _poll(tmp_path / "refused", server, allow="127.0.0.1")
        assert inside.hits["/inside.htm"] == 0 and server.hits["/ok.htm"] == 1
        assert report.documents == 1
        assert last_error is not None and "\n" not in last_error and len(last_error) <= 300
        assert last_error.startswith(
            f"2 items failed: address not allowed: 127.0.0.2 is loopback {ALLOW_HINT} (1), "
            "address not allowed: 169.254.169.254 is link-local (cloud metadata) ")
        assert last_error.endswith(f"(1); first: {inside.url('/inside.htm')}")

        # Allowed, the same feed is read whole.
        report, last_error = _poll(tmp_path / "allowed", server, allow="127.0.0.0/8")
        assert inside.hits["/inside.htm"] == 1 and report.documents == 2
        assert last_error is not None and "169.254.169.254" in last_error  # still refused

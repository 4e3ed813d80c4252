"""SafeUrlFetcher against a real loopback HTTP server and a fake resolver: it fetches what it
should, refuses everything else before connecting, and connects only to checked addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx2
import pytest
from fastmcp import Client

from adapters.png import solid_png
from adapters.url_fetcher import SafeUrlFetcher, blocked_reason
from domain.errors import InvalidRequest
from entrypoints.container import build_container, shutdown
from entrypoints.image_inputs import ImageInputReader
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

PNG = solid_png(8, 8, (200, 30, 30, 255))
PUBLIC = "93.184.216.34"

Route = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass
class LoopbackServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that records every connection and request."""

    routes: dict[str, Route]
    port: int = 0
    connections: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            host = next(
                (line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("host:")), ""
            )
            self.requests.append((path, host))
            await self.routes.get(path, not_found)(writer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def respond(status: str, headers: dict[str, str], body: bytes = b"") -> Route:
    async def route(writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "Connection: close"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    return route


not_found = respond("404 Not Found", {"Content-Length": "0"})


async def slow_headers(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)  # cancelled at teardown; the fetcher gives up long before


async def drip_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(100):  # one byte every 20 ms: each read is quick, the whole is not
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.02)


async def endless_body(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"\x89PNG" + b"\0" * 1020
    for _ in range(64):
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    srv = LoopbackServer(
        routes={
            "/img.png": respond(
                "200 OK", {"Content-Type": "image/png", "Content-Length": str(len(PNG))}, PNG
            ),
            "/untyped": respond("200 OK", {"Content-Length": str(len(PNG))}, PNG),
            "/page": respond("200 OK", {"Content-Type": "text/html", "Content-Length": "5"}, b"<html"),
            "/declared-huge": respond("200 OK", {"Content-Type": "image/png", "Content-Length": "999999999"}),
            "/endless": endless_body,
            "/slow": slow_headers,
            "/drip": drip_body,
            "/to-private": respond("302 Found", {"Location": "https://internal.test/secret.png"}),
            "/to-loopback-name": respond("307 Temporary Redirect", {"Location": "https://evil.test/img.png"}),
            "/to-plain-http": respond("302 Found", {"Location": "http://public.test/img.png"}),
            "/hop": respond("302 Found", {"Location": "/img.png"}),
            "/loop": respond("302 Found", {"Location": "/loop"}),
        }
    )
    listener = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = listener.sockets[0].getsockname()[1]
    yield srv
    listener.close()


@dataclass
class FakeDns:
    """The running loop's resolver, replaced by a table. Each name maps to a list of answers
    given in turn (the last one repeats); IP literals resolve to themselves."""

    answers: dict[str, list[list[str]]]
    lookups: Counter[str] = field(default_factory=Counter)

    def set(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    async def getaddrinfo(self, host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        try:
            ipaddress.ip_address(host.split("%")[0])
            addresses = [host]
        except ValueError:
            self.lookups[host] += 1
            queue = self.answers.get(host)
            if not queue:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]


@pytest.fixture
async def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns(
        answers={
            "img.test": [["127.0.0.1"]],
            "evil.test": [["127.0.0.1"]],
            "internal.test": [["10.1.2.3"]],
            "public.test": [[PUBLIC]],
            "mixed.test": [[PUBLIC, "192.168.0.10"]],
        }
    )
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake.getaddrinfo)
    return fake


def fetcher(server: LoopbackServer | None = None, **kwargs: object) -> SafeUrlFetcher:
    # The allow-list matches host and port: the loopback server's port must be named.
    allowed = f"img.test:{server.port}" if server else "img.test"
    options: dict = {"timeout_s": 2.0, "max_bytes": 4096, "allowed_hosts": allowed}
    options.update(kwargs)
    return SafeUrlFetcher(**options)


async def refused(fetch: SafeUrlFetcher, url: str, reason: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        await fetch(url, "images[0]")
    error = caught.value
    assert error.details["option"] == "images[0]"
    assert error.details["reason"] == reason, error.message
    assert error.message.startswith("could not fetch images[0]: ")
    return error


# -- what it should fetch -----------------------------------------------------------------


async def test_allow_listed_host_is_fetched_from_the_pinned_address(server, dns) -> None:
    fetch = fetcher(server)
    body = await fetch(f"http://img.test:{server.port}/img.png")
    await fetch.aclose()
    assert body == PNG
    # img.test exists in no real DNS: the connection went to the address we resolved and
    # checked, and the server still saw the name.
    assert server.requests == [("/img.png", f"img.test:{server.port}")]
    assert dns.lookups["img.test"] == 1


async def test_missing_content_type_is_accepted_and_relative_redirects_followed(server, dns) -> None:
    fetch = fetcher(server)
    assert await fetch(f"http://img.test:{server.port}/untyped") == PNG
    assert await fetch(f"http://img.test:{server.port}/hop") == PNG
    await fetch.aclose()
    assert [path for path, _ in server.requests] == ["/untyped", "/hop", "/img.png"]


# -- addresses refused before any connection ----------------------------------------------

BLOCKED = [
    "127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254",
    "100.64.1.1", "0.0.0.0", "224.0.0.1",  # noqa: S104 -- addresses to refuse, not to bind "240.0.0.1", "198.18.0.1", "255.255.255.255",
    "::1", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::127.0.0.1",
    "fd00:ec2::254", "fc00::1", "fe80::1", "fe80::1%1", "ff02::1", "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::", "2002:a9fe:a9fe::1", "2001:0:4136:e378::1", "2001:db8::1", "64:ff9b:1::1",
]  # fmt: skip


@pytest.mark.parametrize("address", BLOCKED)
async def test_non_public_addresses_are_refused_without_connecting(server, dns, address: str) -> None:
    dns.set("target.test", [address])
    fetch = fetcher()
    error = await refused(fetch, f"https://target.test:{server.port}/img.png", "blocked_address")
    assert address.split("%")[0] not in error.message  # internal DNS is not mapped for callers
    assert server.connections == 0


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_reason_names_each_range(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", [PUBLIC, "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


async def test_ip_literals_and_numeric_tricks_are_checked_after_resolution(server) -> None:
    # The real resolver turns these spellings into 127.0.0.1 / the metadata address.
    fetch = fetcher()
    for url in (
        f"https://127.0.0.1:{server.port}/img.png",
        f"https://2130706433:{server.port}/img.png",
        f"https://0x7f.1:{server.port}/img.png",
        f"https://[::ffff:127.0.0.1]:{server.port}/img.png",
        "https://169.254.169.254/latest/meta-data/",
        f"https://localhost:{server.port}/img.png",
    ):
        await refused(fetch, url, "blocked_address")
    assert server.connections == 0


async def test_one_private_address_among_public_ones_is_refused(server, dns) -> None:
    await refused(fetcher(), "https://mixed.test/img.png", "blocked_address")


async def test_allow_list_does_not_open_multicast_or_unspecified(dns) -> None:
    dns.set("zero.test", ["0.0.0.0"])  # noqa: S104 -- an address to refuse, not to bind
    await refused(fetcher(allowed_hosts="zero.test"), "http://zero.test/img.png", "blocked_address")


# -- redirects ----------------------------------------------------------------------------


async def test_redirect_to_a_private_address_is_refused(server, dns) -> None:
    fetch = fetcher(server)
    await refused(fetch, f"http://img.test:{server.port}/to-private", "blocked_address")
    assert dns.lookups["internal.test"] == 1 and server.connections == 1


async def test_redirect_to_a_name_resolving_to_loopback_is_refused(server, dns) -> None:
    # The first hop is allow-listed; the second (another name for the same loopback) is not.
    await refused(fetcher(server), f"http://img.test:{server.port}/to-loopback-name", "blocked_address")
    assert server.connections == 1


async def test_redirect_to_plain_http_is_refused(server, dns) -> None:
    await refused(fetcher(server), f"http://img.test:{server.port}/to-plain-http", "scheme")
    assert dns.lookups["public.test"] == 0


async def test_redirects_are_bounded(server, dns) -> None:
    error = await refused(fetcher(server, max_redirects=3), f"http://img.test:{server.port}/loop", "redirect")
    assert "more than 3 redirects" in error.message
    assert server.connections == 4


# -- body, type and time limits -----------------------------------------------------------


async def test_declared_oversized_body_is_refused_before_reading(server, dns) -> None:
    await refused(fetcher(server), f"http://img.test:{server.port}/declared-huge", "too_large")


async def test_oversized_streamed_body_is_cut_off(server, dns) -> None:
    error = await refused(fetcher(server, max_bytes=4096), f"http://img.test:{server.port}/endless", "too_large")
    assert "4096" in error.message


async def test_non_image_content_type_is_refused_and_body_not_echoed(server, dns) -> None:
    error = await refused(fetcher(server), f"http://img.test:{server.port}/page", "content_type")
    assert "<html" not in str(error.to_payload())


async def test_slow_server_times_out(server, dns) -> None:
    started = time.monotonic()
    error = await refused(fetcher(server, timeout_s=0.2), f"http://img.test:{server.port}/slow", "timeout")
    assert time.monotonic() - started < 1.0
    assert error.message == "could not fetch images[0]: timed out after 0.2 s."


async def test_trickling_body_hits_the_overall_deadline(server, dns) -> None:
    started = time.monotonic()
    await refused(fetcher(server, timeout_s=0.2), f"http://img.test:{server.port}/drip", "timeout")
    assert time.monotonic() - started < 1.0


async def test_http_error_status_is_refused_with_the_status(server, dns) -> None:
    error = await refused(fetcher(server), f"http://img.test:{server.port}/missing", "http_status")
    assert error.details["status"] == 404


async def test_unresolvable_and_unreachable_hosts_are_coded(dns) -> None:
    await refused(fetcher(), "https://nowhere.test/img.png", "dns")
    await refused(fetcher(allowed_hosts="img.test:1"), "http://img.test:1/img.png", "network")


# -- schemes and local files --------------------------------------------------------------


REFUSED_SCHEMES = [
    "http://public.test/img.png", "file:///etc/passwd", "file://localhost/etc/hostname",
    "ftp://public.test/a.png", "gopher://public.test/", "/etc/passwd", "//public.test/a.png",
]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED_SCHEMES)
async def test_plain_http_files_and_other_schemes_are_refused(server, dns, url: str) -> None:
    await refused(fetcher(), url, "scheme")
    assert dns.lookups["public.test"] == 0 and server.connections == 0


@pytest.mark.parametrize(
    "url", ["https://user:pw@public.test/a.png", "https:///a.png", "https://exa mple.test/", "x" * 5000]
)
async def test_malformed_urls_are_refused(dns, url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await fetcher()(url, "mask")
    assert caught.value.details["option"] == "mask"
    assert caught.value.details["reason"] in {"url", "scheme", "dns"}


async def test_reader_refuses_local_paths_and_file_urls_without_an_opt_in(dns) -> None:
    reader = ImageInputReader(store=None, max_bytes=4096, fetch=fetcher())  # type: ignore[arg-type]
    for value in ("file:///etc/passwd", "/etc/passwd", "../../etc/passwd", "~/.ssh/id_rsa"):
        with pytest.raises(InvalidRequest, match="local files are not read"):
            await reader.read(value, "images[0]")
    with pytest.raises(InvalidRequest, match="only https URLs"):
        await reader.read("ftp://public.test/a.png", "images[0]")


# -- DNS rebinding and pinning, on a recording transport ----------------------------------


def recording_transport(
    seen: list[httpx2.Request], *, redirect_to: str | None = None
) -> httpx2.MockTransport:
    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if redirect_to and len(seen) == 1:
            return httpx2.Response(302, headers={"Location": redirect_to})
        return httpx2.Response(
            200, headers={"Content-Type": "image/png", "Set-Cookie": "session=abc; Path=/"}, content=PNG
        )

    return httpx2.MockTransport(answer)


async def test_dns_rebinding_cannot_swap_the_checked_address(server, dns) -> None:
    """First answer public, every later one loopback: the request still goes to the public
    address that was checked, with the name only in Host and SNI, and the next fetch (which
    resolves afresh) is refused."""
    dns.set("rebind.test", [PUBLIC], ["127.0.0.1"])
    seen: list[httpx2.Request] = []
    fetch = fetcher(transport=recording_transport(seen))
    assert await fetch(f"https://rebind.test:{server.port}/img.png") == PNG
    assert len(seen) == 1
    assert seen[0].url.host == PUBLIC and seen[0].url.port == server.port
    assert seen[0].headers["host"] == f"rebind.test:{server.port}"
    assert seen[0].extensions["sni_hostname"] == "rebind.test"
    assert dns.lookups["rebind.test"] == 1  # resolved once per hop, never again by the transport

    await refused(fetch, f"https://rebind.test:{server.port}/img.png", "blocked_address")
    assert len(seen) == 1 and server.connections == 0
    assert dns.lookups["rebind.test"] == 2


async def test_redirect_hop_is_pinned_and_rechecked(dns) -> None:
    dns.set("cdn.test", ["203.0.114.7"])
    seen: list[httpx2.Request] = []
    fetch = fetcher(transport=recording_transport(seen, redirect_to="https://cdn.test/final.png"))
    assert await fetch("https://public.test/start.png") == PNG
    assert [(r.url.host, r.headers["host"]) for r in seen] == [
        (PUBLIC, "public.test"),
        ("203.0.114.7", "cdn.test"),
    ]
    assert "cookie" not in seen[1].headers  # cookies set by one hop are never replayed

    seen.clear()
    fetch = fetcher(transport=recording_transport(seen, redirect_to="https://internal.test/x.png"))
    await refused(fetch, "https://public.test/start.png", "blocked_address")
    assert len(seen) == 1


# -- wired through the container and the edit tool ------------------------------------------


@pytest.mark.parametrize(
    ("allow", "expected"), [(True, "resolves to a private address"), (False, "switched off")]
)
async def test_edit_tool_fetches_through_the_container_fetcher(
    output_root, allow: bool, expected: str
) -> None:
    container = build_container(make_settings(output_root, IMAGE_GEN_MCP_ALLOW_URLS=allow))
    assert isinstance(container.url_fetcher(), SafeUrlFetcher)
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool(
            "edit_image",
            {"prompt": "x", "provider": "fake", "images": ["https://10.9.8.7/cat.png"]},
            raise_on_error=False,
        )
    await shutdown(container)
    assert result.structured_content["code"] == "invalid_request"
    assert result.structured_content["details"]["option"] == "images[0]"
    assert expected in result.structured_content["message"]


# -- IPv6 forms embedding an IPv4 address, and the allow-list's ports --------------------

EMBEDDING_PRIVATE = [
    "::ffff:0:7f00:1",  # IPv4-translated (SIIT) 127.0.0.1
    "::ffff:0:a9fe:a9fe",  # IPv4-translated metadata address
    "::ffff:0:a00:1",  # IPv4-translated 10.0.0.1
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b:1::a00:1",  # NAT64 local-use prefix
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
    "2a00:1450::5efe:a9fe:a9fe",  # ISATAP interface id around the metadata address
    "fe80::200:5efe:a00:1",  # ISATAP link-local
]


@pytest.mark.parametrize("address", EMBEDDING_PRIVATE)
def test_ipv6_forms_are_judged_by_the_embedded_ipv4(address: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    embedded = ipaddress.ip_address(address)
    assert reason in {"loopback", "private", "link-local"}, (embedded, reason)


def test_translated_range_with_a_public_address_follows_the_embedded_address() -> None:
    # Before, ::ffff:0:0:0/96 was not recognised at all: ::ffff:0:7f00:1 passed as public.
    assert blocked_reason(ipaddress.ip_address("::ffff:0:808:808")) is None
    assert blocked_reason(ipaddress.ip_address("::ffff:0:7f00:1")) == "loopback"


async def test_allow_list_matches_host_and_port(server, dns) -> None:
    other = f"http://img.test:{server.port}/img.png"
    # A bare host means the scheme's default port only, not every service on that host.
    await refused(fetcher(allowed_hosts="img.test"), other, "scheme")
    await refused(fetcher(allowed_hosts=f"img.test:{server.port + 1}"), other, "scheme")
    fetch = fetcher(allowed_hosts=f"IMG.test:{server.port}")
    assert await fetch(other) == PNG
    await fetch.aclose()
    # A https URL on a non-default port of an allow-listed bare host may not reach a private address.
    await refused(fetcher(allowed_hosts="img.test"), f"https://img.test:{server.port}/img.png", "blocked_address")


def test_allow_list_entries_parse_ports_and_ipv6_literals() -> None:
    fetch = SafeUrlFetcher(allowed_hosts="a.test, b.test:8080, [fd00::1]:8443, [fd00::2], fd00::3, c.test:²")
    assert fetch.allowed_hosts == {
        ("a.test", None), ("b.test", 8080), ("fd00::1", 8443), ("fd00::2", None), ("fd00::3", None),
        ("c.test:²", None),  # not a port (a superscript digit): matches no URL host
    }  # fmt: skip

"""Download user-supplied image URLs without letting them reach into the server's network.

The rules, checked for the first request and again for every redirect hop:

* Only ``https``. Plain ``http`` is allowed for hosts in the operator's allow-list
  (``IMAGE_GEN_MCP_URL_ALLOWED_HOSTS``); ``file://`` and every other scheme are always refused
  (local files are a separate, folder-based opt-in: ``IMAGE_GEN_MCP_LOCAL_INPUT_DIR``).
* The host name is resolved once and *every* address it resolves to must be public unicast:
  loopback, private, link-local (cloud metadata included), carrier-grade NAT, multicast,
  reserved and unspecified addresses are refused. Every IPv6 form that embeds an IPv4 address
  (mapped ``::ffff:0:0/96``, translated ``::ffff:0:0:0/96``, compatible ``::/96``, 6to4,
  NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, Teredo, ISATAP) is judged by the embedded
  address; the tunnelling ranges among them stay refused even when it is public, since the
  relay that would carry the packets is not ours to judge. An allow-listed ``host[:port]`` may resolve
  to private or loopback addresses (that is what the allow-list is for: an internal image
  server); multicast and unspecified addresses stay refused even then.
* The connection goes to the address that was checked: the URL's host is replaced by that
  address, and the original name is sent in ``Host`` and as the TLS SNI name (certificates are
  still verified against the name). A second DNS answer therefore cannot swap in another
  address between check and connect (DNS rebinding).
* One deadline covers DNS, every hop and the body; the body is cut off at the byte cap (the
  ``Content-Length`` is checked first); a ``Content-Type`` other than ``image/*`` is refused.
  The magic bytes are checked by the caller.

Errors are ``InvalidRequest`` (the URL is the caller's input) with ``details.option`` and a
machine-readable ``details.reason``; the response body is never echoed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

from domain.errors import InvalidRequest

if TYPE_CHECKING:
    import httpx2

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_URL_CHARS = 4096


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Named explicitly rather than trusting ``is_global`` alone, whose tables change between
# Python releases; ``is_global`` is still applied last as a catch-all.
_BLOCKED: tuple[tuple[str, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]], ...] = (
    ("unspecified", _nets("0.0.0.0/8", "::/128")),
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("link-local", _nets("169.254.0.0/16", "fe80::/10")),  # 169.254.169.254 = cloud metadata
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")),
    ("carrier-grade NAT", _nets("100.64.0.0/10")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    (
        "reserved",
        _nets(
            "192.0.0.0/24",
            "192.0.2.0/24",
            "192.88.99.0/24",
            "198.18.0.0/15",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "240.0.0.0/4",
            "64:ff9b:1::/48",
            "100::/64",
            "2001::/23",
            "2001:db8::/32",
            "3fff::/20",
        ),
    ),
)
# Still refused for allow-listed hosts: there is no sensible image server there.
_NEVER = frozenset({"unspecified", "multicast"})
# Ranges whose low 32 bits are an IPv4 address: NAT64 (well-known and local-use, RFC 6052 /
# 8215), SIIT's IPv4-translated ::ffff:0:a.b.c.d (RFC 2765), and the deprecated compatible ::/96.
_LOW32 = _nets("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96", "::/96")
_ISATAP_IID = (0x00005EFE, 0x02005EFE)  # interface id ...:0:5efe:a.b.c.d (RFC 5214)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, or None when it embeds none."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client; the server half is a public relay
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in _LOW32) and int(address) > 1:
        return low
    if (int(address) >> 32) & 0xFFFFFFFF in _ISATAP_IID:
        return low
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched from (e.g. ``"loopback"``), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "link-local"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # The embedded address decides first; a public one still has to pass the IPv6
            # checks below (Teredo, local-use NAT64 and the translated range are not global).
            reason = blocked_reason(embedded)
            if reason is not None or address.ipv4_mapped or address.sixtofour or address in _LOW32[0]:
                return reason
    for reason, networks in _BLOCKED:
        if any(address in net for net in networks if net.version == address.version):
            return reason
    if not address.is_global:
        return "reserved"
    return None


class SafeUrlFetcher:
    """Async callable: ``await fetcher(url, field)`` returns the body bytes of an image URL.

    ``allowed_hosts`` (comma-separated ``host`` or ``host:port`` entries, IPv6 literals in
    brackets, matched exactly and case-insensitively) may be fetched over plain http and may
    resolve to private addresses. A bare ``host`` allows only the scheme's default port (443
    for https, 80 for http): allowing an internal name must not open every service on it.
    ``transport`` replaces the network, for tests. Call :meth:`aclose` on shutdown.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 20.0,
        max_bytes: int = 25 * 1024 * 1024,
        allowed_hosts: str | None = None,
        max_redirects: int = 3,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.allowed_hosts = frozenset(
            _host_port(entry) for entry in (allowed_hosts or "").split(",") if entry.strip()
        )
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None

    async def __call__(self, url: str, field: str = "url") -> bytes:
        """Raises InvalidRequest (``details.option`` = ``field``) for anything it refuses."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url, field)
        except TimeoutError:
            raise self._refuse(field, f"timed out after {self.timeout_s:g} s", "timeout") from None

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- one hop at a time --------------------------------------------------------------

    async def _follow(self, url: str, field: str) -> bytes:
        import httpx2

        if len(url) > _MAX_URL_CHARS:
            raise self._refuse(field, f"the URL is longer than {_MAX_URL_CHARS} characters", "url")
        try:
            current = httpx2.URL(url.strip())
        except (httpx2.InvalidURL, TypeError, ValueError):
            raise self._refuse(field, "the URL cannot be parsed", "url") from None
        for _hop in range(self.max_redirects + 1):
            status, location, body = await self._get(current, field)
            if location is None:
                return body
            try:
                current = current.join(location)
            except (httpx2.InvalidURL, TypeError, ValueError):
                raise self._refuse(field, f"HTTP {status} redirect to an invalid URL", "redirect") from None
        raise self._refuse(field, f"more than {self.max_redirects} redirects", "redirect")

    async def _get(self, url: httpx2.URL, field: str) -> tuple[int, str | None, bytes]:
        """One request to a checked, pinned address: (status, redirect location, body)."""
        import httpx2

        host, address = await self._checked_address(url, field)
        pinned = url.copy_with(host=str(address))
        headers = {"Host": host if url.port is None else f"{_bracketed(host)}:{url.port}"}
        extensions: dict[str, Any] = {"sni_hostname": host} if url.scheme == "https" else {}
        client = self._http()
        try:
            request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
            response = await client.send(request, stream=True)
        except httpx2.TimeoutException:
            raise self._refuse(field, f"timed out after {self.timeout_s:g} s", "timeout") from None
        except (httpx2.HTTPError, OSError) as exc:
            raise self._refuse(
                field, f"the server could not be reached ({type(exc).__name__})", "network"
            ) from None
        try:
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise self._refuse(field, f"HTTP {response.status_code} without a Location", "redirect")
                return response.status_code, location, b""
            if response.status_code not in (200, 203):
                raise self._refuse(
                    field,
                    f"the server answered HTTP {response.status_code}",
                    "http_status",
                    status=response.status_code,
                )
            self._check_headers(response, field)
            return response.status_code, None, await self._read_capped(response, field)
        except httpx2.TimeoutException:
            raise self._refuse(field, f"timed out after {self.timeout_s:g} s", "timeout") from None
        except (httpx2.HTTPError, OSError) as exc:
            raise self._refuse(field, f"the download failed ({type(exc).__name__})", "network") from None
        finally:
            await response.aclose()

    async def _checked_address(self, url: httpx2.URL, field: str) -> tuple[str, IPAddress]:
        """Refuse the scheme or host, resolve the name once, check every address."""
        scheme = url.scheme.lower()
        host = url.raw_host.decode("ascii").lower().rstrip(".")
        port = url.port or (443 if scheme == "https" else 80)
        bare = host.strip("[]")
        default = port == (443 if scheme == "https" else 80)
        allowed = (bare, port) in self.allowed_hosts or (default and (bare, None) in self.allowed_hosts)
        if scheme not in ("https", "http") or (scheme == "http" and not allowed):
            hint = "" if scheme in ("http", "https") else " (local files and other schemes are not fetched)"
            raise self._refuse(field, f"only https URLs are fetched{hint}", "scheme")
        if not host:
            raise self._refuse(field, "the URL has no host", "url")
        if url.userinfo:
            raise self._refuse(field, "URLs with a user name or password are not fetched", "url")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, UnicodeError):
            raise self._refuse(field, "the host name does not resolve", "dns") from None
        try:
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        except ValueError:
            addresses = []
        if not addresses:
            raise self._refuse(field, "the host name does not resolve", "dns")
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None and (not allowed or reason in _NEVER):
                # The address itself is not echoed: that would map internal DNS for a caller.
                raise self._refuse(
                    field,
                    f"the host resolves to a {reason} address; only public addresses are fetched",
                    "blocked_address",
                )
        return host, addresses[0]

    def _check_headers(self, response: httpx2.Response, field: str) -> None:
        content_type = response.headers.get("content-type")
        if content_type is not None:
            media_type = content_type.split(";")[0].strip().lower()
            if not media_type.startswith("image/"):
                sent = media_type[:60] or "no media type"
                raise self._refuse(field, f"the server sent {sent}, not an image", "content_type")
        length = response.headers.get("content-length")
        if length is not None and _ascii_digits(length.strip()) and int(length) > self.max_bytes:
            raise self._refuse(field, f"the image is larger than {self.max_bytes} bytes", "too_large")

    async def _read_capped(self, response: httpx2.Response, field: str) -> bytes:
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > self.max_bytes:
                raise self._refuse(field, f"the image is larger than {self.max_bytes} bytes", "too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    def _http(self) -> httpx2.AsyncClient:
        if self._client is None:
            import httpx2

            self._client = httpx2.AsyncClient(
                transport=self._transport,
                timeout=httpx2.Timeout(self.timeout_s),
                follow_redirects=False,  # every hop is re-checked by _follow
                trust_env=False,  # no proxy from the environment: it would connect for us
                # No reuse: a pooled connection is keyed by address, not by the SNI name.
                limits=httpx2.Limits(max_keepalive_connections=0),
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
                headers={
                    "User-Agent": "image-gen-mcp",
                    "Accept": "image/*",
                    "Accept-Encoding": "identity",
                },
            )
        return self._client

    @staticmethod
    def _refuse(field: str, reason: str, code: str, **details: Any) -> InvalidRequest:
        return InvalidRequest(f"could not fetch {field}: {reason}.", option=field, reason=code, **details)


def _host_port(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port or None); a bare IPv6
    literal (several colons, no brackets) has no port."""
    text = entry.strip().lower()
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":") and _ascii_digits(rest[1:]):
            port = int(rest[1:])
    elif text.count(":") == 1:
        name, _, digits = text.partition(":")
        if _ascii_digits(digits):
            host, port = name, int(digits)
    return host.rstrip("."), port


def _ascii_digits(text: str) -> bool:
    # str.isdigit() is true for "²" or "٣", which int() then refuses or reads as a number.
    return text.isascii() and text.isdigit()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host

"""The layers every HTTP request crosses before it reaches MCP or the REST API.

Pure ASGI middleware (no ``BaseHTTPMiddleware``, which would buffer the MCP SSE streams), each
refusing with the one public error shape ``{code, message, details, retryable}``:

* :class:`HostOriginGuard` — DNS-rebinding protection: the ``Host`` must name this server and
  a browser ``Origin`` must be this server's own or an allowed one.
* :class:`BearerAuth` — static bearer tokens compared in constant time.
* :class:`BodyLimit` — one configurable cap on request bodies, sized for images.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections import deque
from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import AppError
from entrypoints.error_payload import HTTP_STATUS, error_payload
from entrypoints.settings import Settings

REALM = "image-gen-mcp"
MCP_PATHS = ("/mcp", "/sse", "/messages")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class Unauthorized(AppError):
    """No bearer token, or one this server does not know."""

    code = "unauthorized"


class Forbidden(AppError):
    """The request came from a browser origin this server does not trust."""

    code = "forbidden"


class MisdirectedRequest(AppError):
    """The ``Host`` header names another server (a DNS-rebinding attempt or a misrouted proxy)."""

    code = "misdirected_request"


class PayloadTooLarge(AppError):
    """The request body is larger than ``IMAGE_GEN_MCP_MAX_BODY_BYTES``."""

    code = "payload_too_large"


def _response_headers(payload: dict[str, Any], headers: dict[str, str] | None) -> dict[str, str]:
    extra = {"Cache-Control": "no-store", **(headers or {})}
    retry_after = payload["details"].get("retry_after")
    if isinstance(retry_after, int | float) and retry_after >= 0:
        extra["Retry-After"] = str(math.ceil(retry_after))
    return extra


def error_response(
    exc: BaseException, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The coded JSON error for ``exc``; ``Retry-After`` when its details carry ``retry_after``."""
    payload = error_payload(exc)
    status = status or HTTP_STATUS.get(payload["code"], 500)
    return JSONResponse(payload, status_code=status, headers=_response_headers(payload, headers))


async def refuse(
    exc: AppError, scope: Scope, receive: Receive, send: Send, headers: dict[str, str] | None = None
) -> None:
    """Send the coded refusal. On the MCP endpoints it is wrapped as a JSON-RPC error (our
    payload in ``error.data``), which MCP clients surface instead of a bare HTTP status."""
    payload = error_payload(exc)
    body: dict[str, Any] = payload
    if _request_path(scope).startswith(MCP_PATHS):
        message = f"[{payload['code']}] {payload['message']}"
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message, "data": payload}}
    status = HTTP_STATUS.get(payload["code"], 500)
    response = JSONResponse(body, status_code=status, headers=_response_headers(payload, headers))
    await response(scope, receive, send)


def split_list(raw: str | None) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _request_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


# -- Host and Origin -----------------------------------------------------------------------


def host_name(host: str) -> str:
    """``"[::1]:8000"`` → ``"::1"``; ``"Example.com:80"`` → ``"example.com"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(host: str) -> bool:
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _normalized_origin(origin: str) -> str:
    """``scheme://host:port`` with the default port made explicit, for exact comparison."""
    try:
        parts = urlsplit(origin.strip().rstrip("/"))
        port = parts.port
    except ValueError:
        return origin.lower()
    if not parts.scheme or not parts.hostname:
        return origin.lower()
    port = port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    name = parts.hostname.lower()
    name = f"[{name}]" if ":" in name else name
    return f"{parts.scheme.lower()}://{name}:{port}"


class HostOriginGuard:
    """Refuses a ``Host`` that is not loopback, the bound address or an allowed pattern (421),
    and an ``Origin`` that is neither this server's own, loopback-to-loopback, nor allowed (403).

    Requests without an ``Origin`` (every non-browser client) pass the origin check: a browser
    always sends one on the cross-origin requests DNS rebinding relies on. ``open_paths`` (the
    health probes, which load balancers call by IP) skip both checks.
    """

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
        open_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.allowed_hosts = tuple(host_name(h) if h != "*" else h for h in allowed_hosts)
        self.allowed_origins = tuple(_normalized_origin(o) if o != "*" else o for o in allowed_origins)
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _request_path(scope) in self.open_paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        refusal: AppError | None = None
        if not self._host_allowed(host, scope):
            refusal = MisdirectedRequest("The Host header does not name this server.")
        elif (origin := headers.get("origin")) is not None and not self._origin_allowed(origin, host, scope):
            refusal = Forbidden(
                "Requests from this Origin are not allowed; add it to IMAGE_GEN_MCP_ALLOWED_ORIGINS.",
            )
        if refusal is not None:
            await refuse(refusal, scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _host_allowed(self, host: str, scope: Scope) -> bool:
        if not host:
            return False
        name = host_name(host)
        # The same loopback names as FastMCP's own guard on /mcp, so both layers agree.
        if name in LOOPBACK_NAMES or any(fnmatchcase(name, p) for p in self.allowed_hosts):
            return True
        server = scope.get("server")
        if server and server[0]:
            bound = host_name(str(server[0]))
            try:
                unspecified = ipaddress.ip_address(bound).is_unspecified
            except ValueError:
                unspecified = False
            return not unspecified and name == bound
        return False

    def _origin_allowed(self, origin: str, host: str, scope: Scope) -> bool:
        normalized = _normalized_origin(origin)
        if any(p == "*" or fnmatchcase(normalized, p) for p in self.allowed_origins):
            return True
        origin_host = urlsplit(normalized).hostname or ""
        if origin_host and is_loopback(origin_host) and is_loopback(host):
            return True
        own = _normalized_origin(f"{scope.get('scheme', 'http')}://{host}")
        return normalized == own


# -- bearer tokens -------------------------------------------------------------------------


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps compare_digest's time independent of token length.
    return hashlib.sha256(token.encode("utf-8")).digest()


class BearerAuth:
    """Requires ``Authorization: Bearer <token>`` with one of ``tokens`` on every path except
    ``open_paths``. With no tokens configured it lets everything through (loopback use)."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str], open_paths: Collection[str] = ()) -> None:
        self.app = app
        self.digests = tuple(_digest(t) for t in tokens if t)
        self.open_paths = frozenset(open_paths)

    def accepts(self, presented: str) -> bool:
        candidate = _digest(presented)
        matched = False
        for known in self.digests:  # no early exit: every token is compared every time
            matched |= hmac.compare_digest(candidate, known)
        return matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.digests or _request_path(scope) in self.open_paths:
            await self.app(scope, receive, send)
            return
        scheme, _, presented = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = presented.strip()
        if scheme.lower() == "bearer" and presented and self.accepts(presented):
            await self.app(scope, receive, send)
            return
        if not presented:
            error = Unauthorized("A bearer token is required (Authorization: Bearer <token>).")
            challenge = f'Bearer realm="{REALM}"'
        else:
            error = Unauthorized("The bearer token is not valid for this server.")
            challenge = f'Bearer realm="{REALM}", error="invalid_token"'
        await refuse(error, scope, receive, send, headers={"WWW-Authenticate": challenge})


# -- body size -----------------------------------------------------------------------------


class BodyLimit:
    """Refuses a body over ``max_bytes`` with 413 ``payload_too_large``. The body is buffered
    and replayed, as the MCP SDK's own limit does, so the app sees it unchanged.

    Before refusing, up to another ``max_bytes`` of the body is read and dropped: a client
    still sending when the server closes gets a connection reset instead of the coded 413, so
    a photo slightly over the cap would otherwise fail with no explanation.
    """

    METHODS = frozenset({"POST", "PUT", "PATCH"})

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, received: int, more: bool) -> None:
        while more and received <= 2 * self.max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            received += len(message.get("body", b""))
            more = message.get("more_body", False)
        error = PayloadTooLarge(
            f"The request body is larger than {self.max_bytes} bytes (IMAGE_GEN_MCP_MAX_BODY_BYTES).",
            limit=self.max_bytes,
        )
        await refuse(error, scope, receive, send, headers={"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in self.METHODS:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send, 0, more=int(declared) <= 2 * self.max_bytes)
            return
        body = bytearray()
        pending: deque[Message] = deque()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                pending.append(message)
                break
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(scope, receive, send, len(body), more)
                return
            if not more:
                break
        pending.appendleft({"type": "http.request", "body": bytes(body), "more_body": False})

        async def replay() -> Message:
            return pending.popleft() if pending else await receive()

        await self.app(scope, replay, send)


def configured_tokens(settings: Settings) -> list[str]:
    """The bearer tokens of ``IMAGE_GEN_MCP_AUTH_TOKENS`` (blank entries ignored)."""
    return split_list(settings.auth_tokens.get_secret_value()) if settings.auth_tokens else []

"""The layers every HTTP request crosses before it reaches MCP or the REST API.

Pure ASGI middleware (no ``BaseHTTPMiddleware``, which would buffer the MCP SSE streams), each
refusing with the one public error shape ``{code, message, details, retryable}``:

* :class:`HostOriginGuard` — DNS-rebinding protection: the ``Host`` must name this server and
  a browser ``Origin`` must be this server's own or an allowed one.
* :class:`BearerAuth` — static bearer tokens compared in constant time; each names the tenant
  the request then acts for.
* :class:`entrypoints.http.body_limit.BodyLimit` — one configurable cap on request bodies, read against
  an idle and an overall deadline (uvicorn has neither, so a stalled body would hold its
  connection and buffer forever).

No endpoint speaks WebSocket, so the first two layers close every WebSocket scope outright
rather than wave it through unchecked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.errors import AppError
from domain.tenants import UNNAMED
from entrypoints.http.openai_errors import OPENAI_PREFIX, openai_envelope, should_retry
from entrypoints.mcp.error_payload import HTTP_STATUS, error_payload
from entrypoints.settings import Settings, parse_auth_tokens
from entrypoints.tenancy import TENANT_HEADER, acting_as, tenant_header_value

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


class RequestTimeout(AppError):
    """The client stopped sending its body, or sent it too slowly (answered 408)."""

    code = "request_timeout"
    retryable = True


def _response_headers(payload: dict[str, Any], headers: dict[str, str] | None) -> dict[str, str]:
    extra = {"Cache-Control": "no-store", **(headers or {})}
    retry_after = payload["details"].get("retry_after")
    if isinstance(retry_after, int | float) and retry_after >= 0:
        extra["Retry-After"] = str(math.ceil(retry_after))
    return extra


def error_response(
    exc: BaseException,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    *,
    jsonrpc: bool = False,
    openai: bool = False,
) -> JSONResponse:
    """The coded JSON error for ``exc``; ``Retry-After`` when its details carry ``retry_after``.
    ``jsonrpc`` wraps it as a JSON-RPC error (our payload in ``error.data``); ``openai`` puts
    it in OpenAI's envelope, with OpenAI's statuses, for the gateway."""
    payload = error_payload(exc)
    body: dict[str, Any] = payload
    if jsonrpc:
        message = f"[{payload['code']}] {payload['message']}"
        body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message, "data": payload}}
    if openai:
        body, status = openai_envelope(payload, status)
        headers = {"x-should-retry": should_retry(payload), **(headers or {})}
    status = status or HTTP_STATUS.get(payload["code"], 500)
    return JSONResponse(body, status_code=status, headers=_response_headers(payload, headers))


def openai_error_response(
    exc: BaseException, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """:func:`error_response` in OpenAI's envelope (the gateway's handlers use this one)."""
    return error_response(exc, status, headers, openai=True)


async def refuse(
    exc: AppError,
    scope: Scope,
    receive: Receive,
    send: Send,
    headers: dict[str, str] | None = None,
    status: int | None = None,
) -> None:
    """Send the coded refusal. On the MCP endpoints it is wrapped as a JSON-RPC error (our
    payload in ``error.data``), which MCP clients surface instead of a bare HTTP status; on
    the OpenAI gateway it is in OpenAI's envelope, which its SDKs raise as their own errors."""
    mcp = _request_path(scope).startswith(MCP_PATHS)
    openai = on_gateway(scope)
    await error_response(exc, status, headers, jsonrpc=mcp, openai=openai)(scope, receive, send)


def on_gateway(scope: Scope) -> bool:
    """Whether the request is for the OpenAI-compatible gateway (its errors use OpenAI's envelope).
    Inside a mount ``root_path`` includes the mount's prefix; ``app_root_path`` is the server's."""
    path: str = scope.get("path", "")
    root: str = scope.get("app_root_path", scope.get("root_path", ""))
    path = path[len(root) :] if root and path.startswith(root) else path
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


async def close_websocket(receive: Receive, send: Send) -> None:
    """Refuse a WebSocket handshake (the server answers it with 403)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008, "reason": ""})


def _request_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


# -- Host and Origin -----------------------------------------------------------------------


def host_name(host: str) -> str:
    """``"[::1]:8000"`` → ``"::1"``; ``"Example.com:80"`` → ``"example.com"``; ``""`` for a
    malformed value (``"[::1]evil"``, ``"localhost:abc"``), which then matches nothing."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return ""
        name, rest = host[1:end], host[end + 1 :]
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
        rest = ":" + port
    else:  # a name without a port, or a bare IPv6 address
        name, rest = host, ""
    if rest and not (rest[1:].isascii() and rest[1:].isdigit() and rest.startswith(":")):
        return ""
    return name


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
        if scope["type"] == "websocket":
            await close_websocket(receive, send)
            return
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
        name = host_name(host)
        if not name:
            return False
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
    ``open_paths``, and runs the request as the token's tenant (see :mod:`entrypoints.tenancy`).
    ``tokens`` holds ``(tenant, token)`` pairs, or bare tokens for the unnamed tenant. With no
    tokens configured it lets everything through as the unnamed tenant (loopback use)."""

    def __init__(
        self, app: ASGIApp, tokens: Sequence[str | tuple[str, str]], open_paths: Collection[str] = ()
    ) -> None:
        self.app = app
        pairs = [(UNNAMED, t) if isinstance(t, str) else t for t in tokens]
        self.digests = tuple((_digest(token), tenant) for tenant, token in pairs if token)
        self.open_paths = frozenset(open_paths)

    def tenant_of(self, presented: str) -> str | None:
        """The tenant whose token ``presented`` is, or None for an unknown token."""
        candidate = _digest(presented)
        found: str | None = None
        for known, tenant in self.digests:  # no early exit: every token is compared every time
            if hmac.compare_digest(candidate, known):
                found = tenant
        return found

    def accepts(self, presented: str) -> bool:
        return self.tenant_of(presented) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await close_websocket(receive, send)
            return
        if scope["type"] != "http":  # lifespan: no request, no tenant (the store then refuses)
            await self.app(scope, receive, send)
            return
        if not self.digests or _request_path(scope) in self.open_paths:
            # No token names a tenant: the unnamed one (loopback use without tokens, probes).
            with acting_as(UNNAMED):
                await self.app(as_seen_behind(scope, UNNAMED), receive, send)
            return
        scheme, _, presented = Headers(scope=scope).get("authorization", "").partition(" ")
        presented = presented.strip()
        tenant = self.tenant_of(presented) if scheme.lower() == "bearer" and presented else None
        if tenant is not None:
            with acting_as(tenant):
                await self.app(as_seen_behind(scope, tenant), receive, send)
            return
        if not presented:
            error = Unauthorized("A bearer token is required (Authorization: Bearer <token>).")
            challenge = f'Bearer realm="{REALM}"'
        else:
            error = Unauthorized("The bearer token is not valid for this server.")
            challenge = f'Bearer realm="{REALM}", error="invalid_token"'
        await refuse(error, scope, receive, send, headers={"WWW-Authenticate": challenge})


def as_seen_behind(scope: Scope, tenant: str) -> Scope:
    """The request as the app behind the check sees it: without its token, and with the tenant
    it acts for in :data:`TENANT_HEADER` (any such header the client sent is dropped first).

    Nothing behind the check needs the token, and an MCP background task keeps its request's
    headers in the task backend (Redis) for the worker that runs it, where a bearer token has no
    business being. The worker has no request, so the tenant travels with those headers. The
    tenant is also the request's ``user`` (see :func:`_caller`), which keeps task ids apart."""
    dropped = (b"authorization", TENANT_HEADER.encode())
    headers = [(name, value) for name, value in scope["headers"] if name.lower() not in dropped]
    headers.append((TENANT_HEADER.encode(), tenant_header_value(tenant).encode()))
    return {**scope, "headers": headers, "user": _caller(tenant)}


def _caller(tenant: str) -> Any:
    """The request's user as FastMCP sees it: an access token whose client id names the tenant.

    FastMCP's tasks runtime scopes task ids by that client id (``get_task_scope``), so a task
    one tenant started is "not found" for every other, exactly as a task id that does not
    exist. The token string is the same tenant marker, never the bearer token: the runtime
    keeps a snapshot of the caller with each task, in Redis when tasks are shared."""
    from fastmcp.server.auth import AccessToken
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

    marker = tenant_header_value(tenant)
    return AuthenticatedUser(AccessToken(token=marker, client_id=marker, scopes=[]))


def configured_tokens(settings: Settings) -> list[tuple[str, str]]:
    """The ``(tenant, token)`` pairs of ``IMAGE_GEN_MCP_AUTH_TOKENS`` (see
    :func:`entrypoints.settings.parse_auth_tokens`)."""
    return parse_auth_tokens(settings.auth_tokens.get_secret_value()) if settings.auth_tokens else []

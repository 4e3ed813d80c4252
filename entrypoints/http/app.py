"""One ASGI app for HTTP: MCP streamable HTTP at ``/mcp`` (or legacy SSE), the REST API under
``/v1``, the OpenAI-compatible gateway under ``/openai/v1``, ``/openapi.json`` and the health
probes, behind one security stack.

Nothing lives per process except caches: MCP runs stateless (no session ids) and images are
read back from the shared store, so instances behind a load balancer behave as one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from mcp.server.transport_security import RequestBodyLimitMiddleware
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from domain.errors import AppError
from entrypoints.container import Container, build_container, shutdown
from entrypoints.http.body_limit import BodyLimit
from entrypoints.http.gallery import PATHS as GALLERY_PATHS
from entrypoints.http.gallery import gallery_routes
from entrypoints.http.openai_errors import OPENAI_PREFIX
from entrypoints.http.openai_gateway import OpenAIGateway
from entrypoints.http.openai_schema import gateway_openapi
from entrypoints.http.rest import RestApi
from entrypoints.http.rest_schema import openapi_document
from entrypoints.http.security import (
    BearerAuth,
    HostOriginGuard,
    configured_tokens,
    error_response,
    is_loopback,
    on_gateway,
)
from entrypoints.mcp.server import build_mcp_server
from entrypoints.settings import Settings, split_list
from entrypoints.version import server_version

log = logging.getLogger("image_gen_mcp")

Transport = Literal["http", "sse"]
PROBES = ("/healthz", "/readyz")
# The gallery's files hold no data; its script sends the token with every API call.
PUBLIC = (*PROBES, "/openapi.json", *GALLERY_PATHS, "/gallery/")

__all__ = ["build_http_app", "is_loopback", "serve_http"]


class RouteNotFound(AppError):
    code = "not_found"


class MethodNotAllowed(AppError):
    code = "method_not_allowed"


async def _coded_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, wrong method) in the coded shape (OpenAI's
    envelope under the gateway)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    openai = on_gateway(request.scope)
    if status == 405:
        error: Exception = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
    elif status == 404:
        error = RouteNotFound(f"No endpoint at {request.url.path}.")
    else:
        error = exc
    return error_response(error, openai=openai)


def _raise_mcp_body_cap(mcp_app: Starlette, limit: int) -> None:
    """Lift the MCP SDK's built-in 4 MiB request cap to ``limit``.

    FastMCP builds the SDK transport without exposing ``max_request_body_size``, and that cap
    answers a single phone photo sent as base64 with a bare 413. Our :class:`BodyLimit` in front
    already enforces ``limit`` with a coded error, so the inner cap only needs to be no lower.
    Streamable HTTP's session manager exists only once the lifespan has started; call this then.
    """
    raised = 0
    for route in mcp_app.routes:
        target: Any = getattr(route, "endpoint", None) or getattr(route, "app", None)
        target = getattr(target, "app", target)  # through an auth wrapper, if any
        manager = getattr(target, "session_manager", None)  # streamable HTTP
        if manager is not None:
            limiter = getattr(manager, "asgi_app", None)
            manager.max_request_body_size = limit
        else:  # legacy SSE: the transport behind the bound handle_post_message
            limiter = getattr(getattr(target, "__self__", None), "_post_message_app", None)
        if isinstance(limiter, RequestBodyLimitMiddleware):
            limiter.max_body_size = max(limiter.max_body_size, limit)
            raised += 1
    if raised == 0:
        # A FastMCP/SDK upgrade moved the cap: fail loudly rather than reject photos with 413.
        raise RuntimeError("Could not find the MCP SDK request body limit to raise.")


def build_http_app(container: Container, transport: Transport = "http") -> Starlette:
    """The whole HTTP surface over ``container``; serve it with any ASGI server.

    ``transport="http"`` serves MCP streamable HTTP at ``/mcp`` (both the 2026-07-28 protocol
    and legacy ``initialize`` clients); ``"sse"`` the deprecated HTTP+SSE transport at ``/sse``
    and ``/messages/`` (stateful: one instance only).
    """
    settings: Settings = container.settings()
    # Every HTTP request names its tenant (BearerAuth); a store call outside one is a bug.
    container.store().require_request_tenant()
    mcp = build_mcp_server(container, local_paths=False, shared_tasks=True)
    allowed_hosts = split_list(settings.allowed_hosts)
    allowed_origins = split_list(settings.allowed_origins)
    mcp_options: dict[str, Any] = {
        "host_origin_protection": True,
        "allowed_hosts": allowed_hosts,
        "allowed_origins": allowed_origins,
    }
    if transport == "sse":
        mcp_app = mcp.http_app(path="/sse", transport="sse", **mcp_options)
    else:
        mcp_app = mcp.http_app(path="/mcp", transport="http", stateless_http=True, **mcp_options)
    mcp_app.add_exception_handler(HTTPException, _coded_http_exception)
    rest = RestApi(container)
    tokens = configured_tokens(settings)
    bodies = (rest.generate_body, rest.edit_body)
    document = openapi_document(bodies, rest.provider_ids, auth=bool(tokens), version=server_version())
    gateway_paths, gateway_schemas = gateway_openapi()
    document["paths"].update(gateway_paths)
    document["components"]["schemas"].update(gateway_schemas)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        enabled = len(container.registry().enabled)
        checks: dict[str, Any] = {"providers": {"ok": enabled > 0, "enabled": enabled}}
        try:
            await container.store().check_ready()
            checks["store"] = {"ok": True}
        except AppError as exc:
            checks["store"] = {"ok": False, "code": exc.code, "message": exc.message}
        shared = container.shared_limits()
        if shared is not None:  # only when IMAGE_GEN_MCP_REDIS_URL is set
            try:
                await shared.ping()
                checks["redis"] = {"ok": True}
            except AppError as exc:
                checks["redis"] = {"ok": False, "code": exc.code, "message": exc.message}
        ready = all(check["ok"] for check in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A mounted app's lifespan does not run by itself: MCP's session manager starts here.
        async with mcp_app.router.lifespan_context(mcp_app):
            _raise_mcp_body_cap(mcp_app, settings.max_body_bytes)
            try:
                yield
            finally:
                await shutdown(container)

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *gallery_routes(),
            Mount("/v1", routes=rest.routes()),
            Mount(OPENAI_PREFIX, routes=OpenAIGateway(container).routes()),
            Mount("", app=mcp_app),
        ],
        middleware=[
            # Outermost first: refuse foreign hosts and origins, then strangers, and only then
            # read (up to the cap) a body.
            Middleware(
                HostOriginGuard,
                allowed_hosts=allowed_hosts,
                allowed_origins=allowed_origins,
                open_paths=PROBES,
            ),
            Middleware(BearerAuth, tokens=tokens, open_paths=PUBLIC),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers={HTTPException: _coded_http_exception},
        lifespan=lifespan,
    )
    app.state.container = container
    return app


def _security_summary(settings: Settings) -> dict[str, Any]:
    """The effective security settings for the start-up log line (no secret values)."""
    return {
        "bearer_tokens": len(configured_tokens(settings)),
        "tenants": sorted({tenant or "(unnamed)" for tenant, _ in configured_tokens(settings)}),
        "allowed_hosts": split_list(settings.allowed_hosts),
        "allowed_origins": split_list(settings.allowed_origins),
        "max_body_bytes": settings.max_body_bytes,
    }


def serve_http(settings: Settings, transport: str, host: str, port: int, insecure: bool) -> None:
    """Serve :func:`build_http_app` with uvicorn. Refuses a non-loopback bind without a token
    unless ``insecure``."""
    import uvicorn

    from entrypoints.http.connection_guard import guarded_protocol

    if not is_loopback(host) and not configured_tokens(settings):
        if not insecure:
            raise SystemExit(
                f"Refusing to serve on {host} without IMAGE_GEN_MCP_AUTH_TOKENS; "
                "set a token or pass --insecure-no-auth."
            )
        log.warning("Serving on %s WITHOUT authentication (--insecure-no-auth).", host)
    app = build_http_app(build_container(settings), "sse" if transport == "sse" else "http")
    log.info("HTTP on %s:%s (%s): %s", host, port, transport, _security_summary(settings))
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        server_header=False,
        timeout_graceful_shutdown=30,
        # Idle and slow-header connections are cut off, and their number capped (see
        # connection_guard: uvicorn alone arms no timer before a first response).
        http=guarded_protocol(settings.header_timeout_s, settings.max_connections),
        timeout_keep_alive=max(1, int(settings.header_timeout_s)),
    )

"""Serve the MCP server over streamable HTTP (or legacy SSE)."""

from __future__ import annotations

import ipaddress

from entrypoints.container import build_container
from entrypoints.mcp_server import build_mcp_server
from entrypoints.settings import Settings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_http(settings: Settings, transport: str, host: str, port: int, insecure: bool) -> None:
    """Run MCP at ``/mcp``. Refuses a non-loopback bind without a token unless ``insecure``."""
    if not is_loopback(host) and settings.auth_tokens is None and not insecure:
        raise SystemExit(
            f"Refusing to serve on {host} without IMAGE_GEN_MCP_AUTH_TOKENS; "
            "set a token or pass --insecure-no-auth."
        )
    server = build_mcp_server(build_container(settings))
    server.run(
        transport="sse" if transport == "sse" else "http",
        host=host,
        port=port,
        show_banner=False,
        host_origin_protection=True,
    )

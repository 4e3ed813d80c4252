"""Serve the MCP server over stdio."""

from __future__ import annotations

from entrypoints.container import build_container
from entrypoints.mcp_server import build_mcp_server
from entrypoints.settings import Settings


def serve_stdio(settings: Settings) -> None:
    """Run until stdin closes; logs go to stderr."""
    container = build_container(settings)
    server = build_mcp_server(container)
    server.run(transport="stdio", show_banner=False)


def create_server():
    """Factory for ``fastmcp run``: settings from the environment."""
    return build_mcp_server(build_container(Settings()))

"""The installed package's version, without importing the MCP framework (``--version`` and
the start-up report stay instant)."""

from __future__ import annotations


def server_version() -> str:
    """The installed package's version (serverInfo, the OpenAPI document, ``--version``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("image-gen-mcp")
    except PackageNotFoundError:
        return "0+unknown"

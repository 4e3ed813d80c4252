"""Serve the MCP server over stdio.

Hosts spawn a stdio server for every session, so its start-up is felt each time:
``benchmarks/cold_start.py`` times spawn → tools/list, ``tests/unit/test_lazy_imports.py``
checks that start-up imports no vendor SDK and no Pillow (adapters build clients on first call),
and ``stdio_relay`` answers the opening listings from the listing cache while the MCP framework
is still importing.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastmcp import FastMCP

    from entrypoints.settings import Settings
    from entrypoints.stdio.relay import StdioRelay

log = logging.getLogger("image_gen_mcp")


def build_stdio_server(settings: Settings) -> FastMCP:
    """The server exactly as the console script builds it at start-up."""
    # Imported here, not at module level, so that the start-up pause covers them (fastmcp and
    # mcp alone are most of a cold start) and importing this module stays cheap.
    from entrypoints.container import build_container
    from entrypoints.mcp.server import build_mcp_server

    return build_mcp_server(build_container(settings))


@contextmanager
def start_up_heap() -> Iterator[None]:
    """Pause the cyclic garbage collector while start-up builds the server, then freeze.

    Start-up creates some 120,000 objects (framework modules, pydantic schemas) that live as
    long as the process; the collector re-scans them again and again while they pile up, about
    a tenth of a cold start. Once built they are moved out of its sight (``gc.freeze``) and
    collection resumes for everything allocated afterwards. The few thousand cyclic leftovers
    of the imports are frozen with them: a one-time cost under 1 MB.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def serve_stdio(settings: Settings) -> None:
    """Run until stdin closes; logs go to stderr."""
    # py-key-value (fastmcp's session-state store, imported on the first tools/list) runs
    # beartype over its own modules at import; its checks only warn, and cost ~60 ms of every
    # cold start. An explicit setting in the environment still wins.
    os.environ.setdefault("PY_KEY_VALUE_DISABLE_BEARTYPE", "true")
    relay = start_relay(settings)
    try:
        with start_up_heap():
            server = build_stdio_server(settings)
        server.run(transport="stdio", show_banner=False)
    finally:
        if relay is not None:
            relay.finish()


def start_relay(settings: Settings) -> StdioRelay | None:
    """The listing relay in front of fds 0/1, unless turned off or not possible here."""
    if not settings.fast_start or sys.platform == "win32":
        return None
    from entrypoints.stdio.listing_cache import ListingCache
    from entrypoints.stdio.relay import StdioRelay

    try:
        from entrypoints.mcp.identity import INSTRUCTIONS, SERVER_NAME, server_version

        about = {"name": SERVER_NAME, "version": server_version()}
        identity = {"instructions": INSTRUCTIONS, "serverInfo": about}
        return StdioRelay.install(ListingCache.open(settings.cache_dir, settings), identity)
    except OSError as exc:  # no spare descriptors, a closed stdio: serve without the relay
        log.warning("stdio relay not started (%s); serving directly", exc.strerror)
        return None


def create_server() -> FastMCP:
    """Factory for ``fastmcp run``: settings from the environment."""
    from entrypoints.settings import Settings

    return build_stdio_server(Settings())

"""The short block the server writes to stderr when it starts: what is running, with which
vendors and defaults, and where images go. No secret appears in it (keys count only as set)."""

from __future__ import annotations

from urllib.parse import urlsplit

from domain.errors import AppError
from entrypoints.container import Container
from entrypoints.settings import Settings
from entrypoints.version import server_version


def startup_block(container: Container, transport: str) -> str:
    """A few lines: version and transport, enabled providers with their default models,
    providers that are off with the variable each lacks, and the output root (or store)."""
    settings: Settings = container.settings()
    registry = container.registry()
    enabled = [
        f"{pid} ({registry.default_model_id(pid, provider.catalog()) or 'no models'})"
        for pid, provider in registry.enabled.items()
    ]
    off = [
        f"{pid} (set {' and '.join(entry.missing)})" if entry.missing else pid
        for pid, entry in registry.disabled.items()
    ]
    try:
        default = registry.default_provider_id()
    except AppError:  # none enabled: said in the lines above
        default = "none"
    lines = [
        f"image-gen-mcp {server_version()} on {transport}",
        f"  enabled: {', '.join(enabled) or 'none'}; default provider {default}",
        f"  off: {', '.join(off) or 'none'}",
        f"  images: {_where(settings)}",
    ]
    return "\n".join(lines)


def _where(settings: Settings) -> str:
    store_url = getattr(settings, "store_url", None)  # the S3 store's setting, where present
    if store_url:
        # A URL may carry credentials in its user part: only scheme, host and path are shown.
        url = urlsplit(str(store_url))
        return f"store {url.scheme}://{url.hostname or ''}{url.path} (IMAGE_GEN_MCP_STORE_URL)"
    if settings.store == "memory":
        return "kept in memory only (IMAGE_GEN_MCP_STORE=memory)"
    return f"{settings.output_dir} (IMAGE_GEN_MCP_OUTPUT_DIR)"

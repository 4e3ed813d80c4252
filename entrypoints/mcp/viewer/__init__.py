"""The MCP App (``io.modelcontextprotocol/ui``) that shows generate_image/edit_image results.

Hosts with Apps support render ``ui://image-gen-mcp/viewer.html`` in a sandboxed iframe and
talk to it over postMessage JSON-RPC; hosts without it see only the tools' ``_meta.ui`` link
and the results exactly as before. The app is one self-contained HTML document (a host loads
the resource's text, so there is no origin to fetch separate files from): its script and style
are inlined here at start-up and pinned by their SHA-256 in a Content-Security-Policy, which
allows nothing else — no network at all; images arrive through the bridge (``resources/read``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib.resources import files

from fastmcp import FastMCP
from fastmcp.apps.config import UI_MIME_TYPE, AppConfig, ResourceCSP, app_config_to_meta_dict

VIEWER_URI = "ui://image-gen-mcp/viewer.html"
# What the tools carry: the link only (tools/list stays lean).
TOOL_APP = AppConfig(resource_uri=VIEWER_URI)
# The same link in the wire form a tool's _meta carries ({"ui": {"resourceUri": …}}), for tools
# built with Tool.from_function (which takes meta, not app).
TOOL_UI_META = {"ui": app_config_to_meta_dict(TOOL_APP)}


def _hash_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(script: str, style: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {_hash_source(script)}",
            f"style-src {_hash_source(style)}",
            "img-src blob: data:",
            "connect-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


@functools.cache
def viewer_html() -> str:
    """The app document: the template with its script, style and their CSP filled in."""
    static = files(__package__).joinpath("static")
    script = static.joinpath("viewer.js").read_text(encoding="utf-8")
    style = static.joinpath("viewer.css").read_text(encoding="utf-8")
    template = static.joinpath("viewer.html").read_text(encoding="utf-8")
    return (
        template.replace("{{CSP}}", content_security_policy(script, style))
        .replace("{{STYLE}}", style)
        .replace("{{SCRIPT}}", script)
    )


def register_viewer(mcp: FastMCP) -> None:
    """Register the ``ui://`` resource; an empty CSP declaration asks hosts for no domains."""

    @mcp.resource(
        VIEWER_URI,
        name="image_viewer",
        description="Interactive viewer for generate_image/edit_image results (MCP Apps).",
        mime_type=UI_MIME_TYPE,
        app=AppConfig(csp=ResourceCSP(connect_domains=[], resource_domains=[]), prefers_border=True),
    )
    def image_viewer() -> str:
        return viewer_html()

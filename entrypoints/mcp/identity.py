"""What the server says about itself in ``initialize``: name, version and instructions.

Stdlib only: the stdio relay checks cached ``initialize`` answers against these before the MCP
framework has loaded, so a cache file cannot put other instructions in front of a host.
"""

from __future__ import annotations

SERVER_NAME = "image-gen-mcp"
INSTRUCTIONS = """\
Generates and edits images on OpenAI, Azure OpenAI, Google Gemini, Vertex AI and OpenRouter
through one schema. Call get_model_capabilities to see which providers are enabled (and which
variable enables the others), and what each model supports (sizes, aspect ratios, masks,
transparency, max n). provider and model may be omitted: the server picks its default and
says which it chose. Results carry a small inline preview plus a resource link
(image://{id}) to the full image; pass image://{id} to edit_image to edit an image made
earlier without re-sending it. Every failure is an isError result whose structuredContent has
a stable `code`. Options a model cannot honour exactly are remapped and reported in
`warnings`; pass strict=true to get an error instead."""


def server_version() -> str:
    """The installed package's version (reported as serverInfo and in the OpenAPI document)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("image-gen-mcp")
    except PackageNotFoundError:
        return "0+unknown"

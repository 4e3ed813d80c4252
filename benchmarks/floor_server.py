"""The floor: a FastMCP server of a few lines that does only what any image tool must.

It makes the same OpenAI images call as the real server (the SDK honours ``OPENAI_BASE_URL``,
so against ``fake_openai`` it is the same loopback call), writes the image to
``IMAGE_GEN_MCP_OUTPUT_DIR`` and returns a resource link: no preview, no hash, no sidecar, no
checks. What it costs is what this machine, the protocol, the SDK and the client cost by
themselves; ``compare_seed.py`` shows the real server's figures above it.

Spawned over stdio by the benchmarks, on this project's interpreter and fastmcp::

    .venv/bin/python benchmarks/floor_server.py
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from pathlib import Path

from fastmcp import FastMCP
from mcp.types import ResourceLink
from openai import AsyncOpenAI

SIZES = {"square": "1024x1024", "landscape": "1536x1024", "portrait": "1024x1536"}

mcp = FastMCP("floor")
client = AsyncOpenAI()
out = Path(os.environ.get("IMAGE_GEN_MCP_OUTPUT_DIR", "out"))


@mcp.tool
async def generate_image(prompt: str, provider: str = "openai", orientation: str = "square") -> ResourceLink:
    response = await client.images.generate(
        model="gpt-image-1",
        prompt=prompt,
        size=SIZES[orientation],
        n=1,  # type: ignore[arg-type]
    )
    data = await asyncio.to_thread(base64.b64decode, response.data[0].b64_json or "")  # type: ignore[index]
    path = out / f"{uuid.uuid4().hex}.png"
    await asyncio.to_thread(path.write_bytes, data)
    return ResourceLink(type="resource_link", uri=path.as_uri(), name=path.name, mime_type="image/png")


@mcp.tool
def get_model_capabilities() -> str:
    return "openai: gpt-image-1"


if __name__ == "__main__":
    out.mkdir(parents=True, exist_ok=True)
    mcp.run(transport="stdio", show_banner=False)

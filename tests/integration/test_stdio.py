"""Spawn the real console script over stdio, as an MCP host does."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fastmcp import Client
from fastmcp.client.transports import StdioTransport


def _script() -> tuple[str, list[str]]:
    found = shutil.which("image-gen-mcp", path=str(Path(sys.executable).parent))
    assert found, "the console script is installed in the project environment"
    return found, []


async def test_console_script_serves_tools_over_stdio(tmp_path: Path) -> None:
    command, args = _script()
    transport = StdioTransport(
        command=command,
        args=args,
        env={
            "IMAGE_GEN_MCP_OUTPUT_DIR": str(tmp_path / "out"),
            "IMAGE_GEN_MCP_CACHE_DIR": str(tmp_path / "cache"),
            "PATH": "/usr/bin:/bin",
        },
        cwd=str(tmp_path),
    )
    async with Client(transport) as client:
        tools = [t.name for t in await client.list_tools()]
        result = await client.call_tool(
            "generate_image", {"prompt": "a stdio fox", "orientation": "landscape"}
        )
        failed = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "openai"}, raise_on_error=False
        )
    assert tools == ["generate_image", "edit_image", "get_model_capabilities"]
    image = result.structured_content["images"][0]
    assert image["width"] > image["height"]
    assert Path(image["path"]).exists()
    assert failed.structured_content["code"] == "provider_not_configured"
    assert "OPENAI_API_KEY" in failed.structured_content["message"]

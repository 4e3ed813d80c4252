"""Errors a person can act on: what a refused value should be, what strict would have done,
and which variable allows what was refused."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from fastmcp import Client

from adapters.png import solid_png
from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings


@pytest.fixture
def server(output_root: Path):
    return build_mcp_server(build_container(make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False)))


async def call(server, tool: str, arguments: dict) -> dict:
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments, raise_on_error=False)
    assert result.is_error
    return result.structured_content


async def test_a_pixel_size_is_answered_with_what_the_tiers_mean(server) -> None:
    error = await call(server, "generate_image", {"prompt": "x", "size": "1024x1024"})
    assert error["code"] == "invalid_request"
    assert "S ≈ 1K, M ≈ 2K, L ≈ 4K on the long edge" in error["message"]
    assert "aspect_ratio" in error["message"]


async def test_strict_says_what_would_have_been_used(server) -> None:
    error = await call(
        server, "generate_image", {"prompt": "x", "strict": True, "aspect_ratio": "7:3", "output_compression": 50}
    )
    assert error["code"] == "unsupported_option"
    message = error["message"]
    assert message.startswith("strict=true: refused, nothing was made.")
    assert "the nearest would be used, 21:9" in message and "it would be ignored" in message
    assert "used the nearest" not in message and "; ignored." not in message
    assert [w["option"] for w in error["details"]["warnings"]] == ["aspect_ratio", "output_compression"]


async def test_a_refused_local_path_names_the_variable_that_allows_it(server) -> None:
    error = await call(server, "edit_image", {"prompt": "x", "images": ["/etc/hosts"]})
    assert error["code"] == "invalid_request" and "IMAGE_GEN_MCP_LOCAL_INPUT_DIR" in error["message"]


async def test_a_good_edit_still_works_beside_them(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "x", "images": [base64.b64encode(solid_png(8, 8)).decode()]}
        )
    assert result.structured_content["ok"] is True


@pytest.mark.parametrize("local_paths", [True, False])
async def test_storage_failed_names_the_output_root_variable(tmp_path: Path, local_paths: bool) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the output root should be")
    settings = make_settings(blocked, IMAGE_GEN_MCP_FAKE_PROVIDER=False)
    server = build_mcp_server(build_container(settings), local_paths=local_paths)
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "x"}, raise_on_error=False)
    error = result.structured_content
    assert error["code"] == "storage_failed" and "IMAGE_GEN_MCP_OUTPUT_DIR" in error["message"]
    assert error["details"]["setting"] == "IMAGE_GEN_MCP_OUTPUT_DIR"
    # The path is for a local client only (stdio); an HTTP client never learns the server's folders.
    assert (error["details"].get("root") == str(blocked)) is local_paths
    assert str(blocked) not in error["message"]

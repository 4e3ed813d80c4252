"""Argument shapes real hosts send that differ from the schema, and how the tools take them."""

from __future__ import annotations

import json

import pytest
from fastmcp import Client

from entrypoints.mcp.server import build_mcp_server


@pytest.fixture
def server(container):
    return build_mcp_server(container)


async def _generated_id(client: Client) -> str:
    made = await client.call_tool("generate_image", {"prompt": "base", "provider": "fake"})
    return made.structured_content["images"][0]["id"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_images_sent_as_json_text_are_read_as_the_list(server, mode: str) -> None:
    # Claude Code / Desktop sometimes serialize an array argument into a string.
    async with Client(server, mode=mode) as client:
        image_id = await _generated_id(client)
        result = await client.call_tool(
            "edit_image",
            {"prompt": "edit", "provider": "fake", "images": json.dumps([f"image://{image_id}"])},
            raise_on_error=False,
        )
    assert not result.is_error, result.content[0].text
    assert result.structured_content["operation"] == "edit"


async def test_one_image_sent_as_a_bare_string_is_accepted(server) -> None:
    async with Client(server) as client:
        image_id = await _generated_id(client)
        result = await client.call_tool(
            "edit_image",
            {"prompt": "edit", "provider": "fake", "images": f"image://{image_id}"},
            raise_on_error=False,
        )
    assert not result.is_error, result.content[0].text


@pytest.mark.parametrize("images", ["[not json", json.dumps([1, 2]), json.dumps([])])
async def test_json_text_that_is_not_a_list_of_images_is_still_refused(server, images: str) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "edit", "provider": "fake", "images": images}, raise_on_error=False
        )
    assert result.is_error
    assert result.structured_content["code"] == "invalid_request"
    assert "images" in result.content[0].text


async def test_the_advertised_images_schema_is_still_a_plain_array(server) -> None:
    async with Client(server) as client:
        tools = {t.name: t for t in await client.list_tools()}
    images = tools["edit_image"].input_schema["properties"]["images"]
    assert images["type"] == "array"
    assert images["items"]["type"] == "string"


async def test_a_bad_list_item_is_named_by_its_full_path(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "edit", "images": ["image://x", 7]}, raise_on_error=False
        )
    assert result.structured_content["code"] == "invalid_request"
    assert [p["field"] for p in result.structured_content["details"]["problems"]] == ["images.1"]
    assert "images.1: " in result.content[0].text

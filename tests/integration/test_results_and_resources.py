"""Results that fit an agent: inline modes, resource reads, the recent listing, edit by id."""

from __future__ import annotations

import base64
import hashlib
import json
from io import BytesIO
from pathlib import Path

import pytest
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from entrypoints.mcp.server import build_mcp_server


@pytest.fixture
def server(container):
    fake = container.fake()
    fake.size = (2048, 1024)  # larger than the preview edge, so previews are re-encoded
    return build_mcp_server(container)


def images_in(result) -> list:
    return [block for block in result.content if block.type == "image"]


async def test_default_inline_is_a_bounded_webp_preview(server) -> None:
    from PIL import Image

    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake"})
    (preview,) = images_in(result)
    assert preview.mime_type == "image/jpeg"
    decoded = Image.open(BytesIO(base64.b64decode(preview.data)))
    assert max(decoded.size) <= 1568
    assert result.structured_content["images"][0]["inline"] == "preview"
    assert result.structured_content["images"][0]["width"] == 2048


async def test_inline_none_sends_links_only(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "fake", "inline": "none"}
        )
    assert images_in(result) == []
    assert [b.type for b in result.content] == ["text", "resource_link"]
    link = result.content[1]
    assert str(link.uri) == result.structured_content["images"][0]["uri"]
    assert link.size == result.structured_content["images"][0]["byte_size"]


async def test_inline_full_returns_the_original_bytes_when_they_fit(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "fake", "inline": "full"}
        )
        (full,) = images_in(result)
        stored = await client.read_resource(result.structured_content["images"][0]["uri"])
    assert full.mime_type == "image/png"
    assert full.data == stored[0].blob
    assert result.structured_content["images"][0]["inline"] == "full"


async def test_preview_resource_and_recent_listing(server) -> None:
    async with Client(server) as client:
        first = await client.call_tool("generate_image", {"prompt": "first", "provider": "fake"})
        second = await client.call_tool("generate_image", {"prompt": "second", "provider": "fake"})
        record = second.structured_content["images"][0]
        preview = await client.read_resource(record["preview_uri"])
        recent = json.loads((await client.read_resource("images://recent"))[0].text)
        templates = [t.uri_template for t in await client.list_resource_templates()]
    assert preview[0].mime_type == "image/jpeg"
    assert len(preview[0].blob) < len(base64.b64encode(Path(record["path"]).read_bytes()))
    assert [r["prompt"] for r in recent[:2]] == ["second", "first"]
    assert recent[0]["id"] == record["id"] and first.structured_content["ok"]
    assert "image://{image_id}" in templates and "image://{image_id}/preview" in templates


async def test_unknown_resource_is_not_found(server) -> None:
    async with Client(server) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource("image://" + "0" * 32)
    assert caught.value.code == -32602
    assert "not found" in str(caught.value).lower()


async def test_edit_by_bare_id_records_lineage(server) -> None:
    async with Client(server) as client:
        made = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake"})
        source_id = made.structured_content["images"][0]["id"]
        edited = await client.call_tool(
            "edit_image",
            {"prompt": "y", "provider": "fake", "images": [source_id], "mask": f"image://{source_id}"},
        )
    path = Path(edited.structured_content["images"][0]["path"])
    sidecar = json.loads(path.with_suffix(path.suffix + ".json").read_text())
    assert sidecar["metadata"]["source_images"] == [source_id]
    assert sidecar["metadata"]["mask_source"] == source_id


async def test_unknown_image_id_is_image_not_found(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image",
            {"prompt": "y", "provider": "fake", "images": ["image://" + "f" * 32]},
            raise_on_error=False,
        )
    assert result.structured_content["code"] == "image_not_found"


async def transparent_preview(output_root: Path, **env: str):
    from PIL import Image

    from entrypoints.container import build_container
    from tests.conftest import make_settings

    container = build_container(make_settings(output_root, IMAGE_GEN_MCP_PREVIEW_MAX_EDGE=256, **env))
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool(
            "generate_image",
            {"prompt": "logo", "provider": "placeholder", "background": "transparent"},
        )
    (preview,) = images_in(result)
    decoded = Image.open(BytesIO(base64.b64decode(preview.data)))
    assert max(decoded.size) <= 256
    return preview.mime_type, decoded


async def test_transparent_images_preview_on_a_checkerboard(output_root: Path) -> None:
    mime_type, decoded = await transparent_preview(output_root)
    assert mime_type == "image/jpeg" and decoded.mode == "RGB"
    # The left edge, half-way down, is background (the card's lines start further in): a
    # square of the checkerboard, white or light grey, not the colours under the alpha.
    assert all(c >= 190 for c in decoded.getpixel((1, decoded.height // 2)))


async def test_transparent_images_preview_as_webp_with_alpha_when_asked(output_root: Path) -> None:
    mime_type, decoded = await transparent_preview(output_root, IMAGE_GEN_MCP_PREVIEW_ALPHA="webp")
    assert mime_type == "image/webp"
    assert decoded.mode == "RGBA" and decoded.getpixel((1, decoded.height // 2))[3] == 0


async def test_preview_format_is_configurable(output_root: Path) -> None:
    from entrypoints.container import build_container
    from tests.conftest import make_settings

    container = build_container(make_settings(output_root, IMAGE_GEN_MCP_PREVIEW_FORMAT="webp"))
    container.fake().size = (2048, 1024)
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake"})
    assert images_in(result)[0].mime_type == "image/webp"


async def test_edit_keeps_the_shape_of_its_input(server) -> None:
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (300, 450), "teal").save(out, format="JPEG")
    photo = base64.b64encode(out.getvalue()).decode()
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image", {"prompt": "add a hat", "provider": "placeholder", "images": [photo]}
        )
        landscape = await client.call_tool(
            "generate_image",
            {"prompt": "x", "provider": "placeholder", "orientation": "landscape", "inline": "none"},
        )
        by_id = await client.call_tool(
            "edit_image",
            {
                "prompt": "y",
                "provider": "placeholder",
                "images": [landscape.structured_content["images"][0]["id"]],
            },
        )
    image = result.structured_content["images"][0]
    assert image["height"] > image["width"] and result.structured_content["used"]["aspect_ratio"] == "2:3"
    edited = by_id.structured_content["images"][0]
    assert edited["width"] > edited["height"]


async def test_remote_serving_leaves_out_server_paths(container) -> None:
    async with Client(build_mcp_server(container, local_paths=False)) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake"})
        recent = json.loads((await client.read_resource("images://recent"))[0].text)
    image = result.structured_content["images"][0]
    assert "path" not in image and image["uri"].startswith("image://")
    assert "path" not in recent[0]
    assert str(container.settings().output_dir) not in result.content[0].text


async def test_unsaved_images_come_back_inline_at_full_resolution_whatever_the_mode(
    container, monkeypatch
) -> None:
    from domain.errors import StorageFailed

    store = container.store()

    async def disk_full(*args, **kwargs):
        raise StorageFailed("The image could not be saved (ENOSPC).")

    monkeypatch.setattr(store, "save", disk_full)
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "fake", "inline": "none"}
        )
    (image,) = images_in(result)
    record = result.structured_content["images"][0]
    assert record["saved"] is False and record["storage_error"]["code"] == "storage_failed"
    assert record["inline"] == "full"
    assert hashlib.sha256(base64.b64decode(image.data)).hexdigest() == record["sha256"]


async def test_a_vendor_image_that_does_not_decode_is_still_linked(output_root: Path, monkeypatch) -> None:
    import adapters.memory as memory
    from adapters.png import solid_png
    from entrypoints.container import build_container
    from tests.conftest import make_settings

    container = build_container(make_settings(output_root, IMAGE_GEN_MCP_PREVIEW_MAX_EDGE=64))
    broken = solid_png(256, 256)[:60] + b"\x00" * 200  # a sound header, broken data
    monkeypatch.setattr(memory, "solid_png", lambda w, h, rgba=None: broken)
    async with Client(build_mcp_server(container)) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake", "size": "L"})
    assert result.structured_content["ok"] is True
    assert images_in(result) == [] and result.structured_content["images"][0]["inline"] == "none"

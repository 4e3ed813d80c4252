"""The three tools through fastmcp's in-memory Client, in both protocol eras."""

from __future__ import annotations

import base64
from io import BytesIO
from pathlib import Path

import pytest
from fastmcp import Client

from adapters.png import solid_png
from adapters.providers.prices import GPT_IMAGE_1_MINI
from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

ERAS = ["auto", "legacy"]


@pytest.fixture
def server(container):
    return build_mcp_server(container)


@pytest.mark.parametrize("mode", ERAS)
async def test_tools_list_has_three_tools_with_schemas(server, mode: str) -> None:
    async with Client(server, mode=mode) as client:
        if mode == "legacy":
            assert client.protocol_version == "2025-11-25"
        tools = {t.name: t for t in await client.list_tools()}
    assert list(tools) == ["generate_image", "edit_image", "get_model_capabilities"]
    for tool in tools.values():
        assert tool.output_schema is not None
        assert tool.input_schema["additionalProperties"] is False
    props = tools["generate_image"].input_schema["properties"]
    for seed_param in (
        "prompt",
        "provider",
        "model",
        "n",
        "size",
        "orientation",
        "quality",
        "background",
        "negative_prompt",
        "directory",
    ):
        assert seed_param in props
    assert tools["generate_image"].input_schema["required"] == ["prompt"]
    assert set(tools["edit_image"].input_schema["required"]) == {"prompt", "images"}
    assert props["size"]["enum"] == ["S", "M", "L"]


@pytest.mark.parametrize("mode", ERAS)
async def test_generate_on_placeholder_without_keys(output_root: Path, mode: str) -> None:
    server = build_mcp_server(build_container(make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False)))
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a lighthouse", "orientation": "portrait"}
        )
    data = result.structured_content
    assert data["ok"] is True and data["provider"] == "placeholder" and data["chosen_by_default"]
    image = data["images"][0]
    assert image["height"] > image["width"]
    saved = Path(image["path"])
    assert saved.is_relative_to(output_root.resolve()) and saved.exists()
    kinds = [block.type for block in result.content]
    assert kinds == ["text", "image", "resource_link"]
    assert "base64" not in str(data) and len(str(data)) < 5_000


async def test_unconfigured_vendor_is_a_coded_error(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "gemini"}, raise_on_error=False
        )
    assert result.is_error
    assert result.structured_content["code"] == "provider_not_configured"
    assert "GEMINI_API_KEY" in result.structured_content["message"]
    assert "provider_not_configured" in result.content[0].text


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"prompt": "x", "size": "XL"}, "size"),
        ({"prompt": "x", "n": 0}, "n"),
        ({}, "prompt"),
        ({"prompt": "x", "extra": 1}, "extra"),
        ({"prompt": "x", "n": "many"}, "n"),
    ],
)
async def test_bad_arguments_are_invalid_request(server, arguments: dict, field: str) -> None:
    async with Client(server) as client:
        result = await client.call_tool("generate_image", arguments, raise_on_error=False)
    assert result.is_error
    assert result.structured_content["code"] == "invalid_request"
    assert field in result.structured_content["message"]


async def test_directory_outside_root_is_refused_and_nothing_written(server, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image",
            {"prompt": "x", "provider": "fake", "directory": str(outside)},
            raise_on_error=False,
        )
    assert result.structured_content["code"] == "invalid_request"
    assert result.structured_content["details"]["option"] == "directory"
    assert not outside.exists()


async def test_capabilities_list_every_vendor_with_reason(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool("get_model_capabilities", {})
        again = await client.call_tool("get_model_capabilities", {})
    report = result.structured_content
    assert report == again.structured_content  # deterministic
    ids = [p["provider"] for p in report["providers"]]
    assert ids[:5] == ["openai", "azure", "gemini", "vertex", "openrouter"]
    off = {p["provider"]: p for p in report["providers"] if not p["enabled"]}
    assert set(off) >= {"openai", "azure", "gemini", "vertex", "openrouter"}
    assert off["openrouter"]["missing"] == ["OPENROUTER_API_KEY"]
    fake = next(p for p in report["providers"] if p["provider"] == "fake")
    single = next(m for m in fake["models"] if m["model"] == "fake-single")
    assert single["max_n"] == 1 and single["supports_mask"] is False


async def test_capabilities_for_unknown_provider_is_refused(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool("get_model_capabilities", {"provider": "dalle"}, raise_on_error=False)
    assert result.is_error and result.structured_content["code"] == "invalid_request"


async def test_edit_with_data_url_and_by_reference(server) -> None:
    png = base64.b64encode(solid_png(40, 40)).decode()
    async with Client(server) as client:
        first = await client.call_tool(
            "edit_image",
            {"prompt": "make it blue", "provider": "fake", "images": [f"data:image/png;base64,{png}"]},
        )
        image_id = first.structured_content["images"][0]["id"]
        second = await client.call_tool(
            "edit_image",
            {"prompt": "now red", "provider": "fake", "images": [f"image://{image_id}"]},
        )
        resource = await client.read_resource(f"image://{second.structured_content['images'][0]['id']}")
    assert second.structured_content["ok"]
    assert resource[0].blob  # the full image reads back


async def test_broken_image_input_is_invalid_request(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image",
            {"prompt": "x", "provider": "fake", "images": [base64.b64encode(b"not an image").decode()]},
            raise_on_error=False,
        )
        local = await client.call_tool(
            "edit_image", {"prompt": "x", "images": ["/etc/passwd"]}, raise_on_error=False
        )
    assert result.structured_content["code"] == "invalid_request"
    assert local.structured_content["code"] == "invalid_request"
    assert "root:" not in local.content[0].text


async def test_resource_read_returns_exact_stored_bytes(server, output_root: Path) -> None:
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake", "size": "L"})
        record = result.structured_content["images"][0]
        contents = await client.read_resource(record["uri"])
    data = base64.b64decode(contents[0].blob)
    assert data == Path(record["path"]).read_bytes()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == record["sha256"]


async def test_preview_fits_budget_for_large_images(output_root: Path) -> None:
    from PIL import Image

    settings = make_settings(output_root)
    container = build_container(settings)
    fake = container.fake()
    fake.size = (1536, 1024)
    # Noise does not compress: the worst case for result size.
    import os

    noise = Image.frombytes("RGB", (1536, 1024), os.urandom(1536 * 1024 * 3))
    out = BytesIO()
    noise.save(out, format="PNG")
    import adapters.memory as memory

    original = memory.solid_png
    memory.solid_png = lambda w, h, rgba=None: out.getvalue()
    try:
        async with Client(build_mcp_server(container)) as client:
            result = await client.call_tool("generate_image", {"prompt": "x", "provider": "fake", "n": 4})
    finally:
        memory.solid_png = original
    total_chars = sum(len(getattr(block, "data", "") or "") for block in result.content)
    assert total_chars <= settings.result_budget_chars
    assert len([b for b in result.content if b.type == "image"]) == 4
    assert all(i["byte_size"] > 4_000_000 for i in result.structured_content["images"])


async def test_capabilities_keep_the_seed_shape_for_enabled_providers(server) -> None:
    async with Client(server) as client:
        report = (await client.call_tool("get_model_capabilities", {"provider": "fake"})).structured_content
    (seed,) = report["capabilities"]
    assert seed["provider"] == "fake" and seed["family"] == "ar"
    single = next(m for m in seed["models"] if m["model"] == "fake-single")
    assert single == {
        "model": "fake-single",
        "supports_generation": True,
        "supports_edit": True,
        "supports_mask": False,
        "max_n": 1,
        "supports_background": False,
        "supports_negative_prompt": False,
        "supports_multi_image_edit": True,
    }


async def test_capabilities_text_is_compact_and_disabled_vendors_are_brief(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool("get_model_capabilities", {})
    text = result.content[0].text
    assert "openrouter: off. Set OPENROUTER_API_KEY" in text
    assert "fake: enabled, default model fake-image." in text
    assert "  - fake-image (default): current" in text and "  - fake-single: current" in text
    assert "{" not in text  # the JSON lives in structuredContent only
    off = next(p for p in result.structured_content["providers"] if p["provider"] == "openai")
    assert off["default_model"] == "gpt-image-2" and "default model would be gpt-image-2" in text
    assert off["models"] and set(off["models"][0]) == {
        "model", "status", "operations", "supports_mask", "max_n", "sizes", "aspect_ratios",
        "transparency",
    }
    # The price per image, [lowest, highest], straight from the price table; absent when unknown.
    prices = {m["model"]: m.get("price_per_image_usd") for m in off["models"]}
    assert prices["gpt-image-1-mini"] == GPT_IMAGE_1_MINI.range_per_image() == [0.005, 0.052]
    assert prices["gpt-image-2"] is None and "price_per_image_usd" not in off["models"][0]

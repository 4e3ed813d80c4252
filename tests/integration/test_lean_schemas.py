"""tools/list is loaded into every agent conversation: its size is a budget, checked with every
vendor configured. The capabilities report carries the model detail instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastmcp import Client

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

TOOLS_CEILING = 6_000
CAPABILITIES_CEILING = 26_000  # the report was ~33,000 (compact JSON) before it was trimmed

ALL_VENDORS = {
    "OPENAI_API_KEY": "sk-test",
    "AZURE_OPENAI_API_KEY": "az-test",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "GEMINI_API_KEY": "gm-test",
    "VERTEX_PROJECT": "proj",
    "OPENROUTER_API_KEY": "or-test",
    # Discovery would go to the network: a closed loopback port fails fast, curated list only.
    "OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1",
}


@pytest.fixture
def server(output_root: Path):
    settings = make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False, **ALL_VENDORS)
    return build_mcp_server(build_container(settings))


async def test_tools_list_fits_the_ceiling_with_every_vendor_enabled(server) -> None:
    async with Client(server) as client:
        tools = await client.list_tools()
    listing = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    text = json.dumps(listing)
    assert len(text) <= TOOLS_CEILING, len(text)
    generate = next(t for t in listing if t["name"] == "generate_image")
    assert set(generate["inputSchema"]["properties"]["provider"]["enum"]) >= {
        "openai", "azure", "gemini", "vertex", "openrouter", "placeholder",
    }
    # No model list: the model parameter points to get_model_capabilities instead.
    assert "gpt-image" not in text and "gemini-3" not in text
    assert "get_model_capabilities" in generate["inputSchema"]["properties"]["model"]["description"]


# The 1.4.0 server's parameters and enum values (/work/shared/reference/seed-tool-schemas.json).
SEED_PARAMS = {
    "generate_image": {"prompt", "provider", "model", "n", "size", "orientation", "quality",
                       "negative_prompt", "background", "directory"},
    "edit_image": {"prompt", "provider", "model", "images", "mask", "n", "size", "orientation",
                   "quality", "negative_prompt", "background", "directory"},
    "get_model_capabilities": {"provider"},
}  # fmt: skip
SEED_ENUMS = {
    "provider": {"openai", "openrouter", "azure", "gemini", "vertex"},
    "size": {"S", "M", "L"},
    "orientation": {"square", "portrait", "landscape"},
    "quality": {"draft", "standard", "high"},
    "background": {"transparent", "opaque"},
}


async def test_no_knob_or_enum_value_of_the_seed_is_lost(server) -> None:
    async with Client(server) as client:
        tools = {t.name: t.input_schema["properties"] for t in await client.list_tools()}
    for name, params in SEED_PARAMS.items():
        assert params <= set(tools[name]), name
        for param, values in SEED_ENUMS.items():
            if param in params:
                assert values <= set(tools[name][param]["enum"]), (name, param)
    # The seed's model enum is gone on purpose (any id passes); its ids are still accepted.
    assert "enum" not in tools["generate_image"]["model"]


async def test_a_null_option_is_still_accepted(server) -> None:
    # The advertised schema drops the null branches; validation still takes what 1.x clients send.
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "x", "provider": "placeholder", "size": None, "quality": None}
        )
        seed_model = await client.call_tool(
            "generate_image", {"prompt": "x", "model": "gemini-2.5-flash-image-preview"}, raise_on_error=False
        )
    assert result.structured_content["ok"] is True
    # A seed model id is understood (here: retired, and said so), not refused as unknown.
    assert seed_model.structured_content["code"] != "invalid_request"


async def test_capabilities_name_default_models_and_stay_small(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool("get_model_capabilities", {})
    report = result.structured_content
    assert len(json.dumps(report, separators=(",", ":"))) <= CAPABILITIES_CEILING
    defaults = {p["provider"]: p["default_model"] for p in report["providers"]}
    assert defaults == {
        "openai": "gpt-image-2", "azure": "gpt-image-2", "gemini": "gemini-3.1-flash-image",
        "vertex": "gemini-3.1-flash-image", "openrouter": "google/gemini-3.1-flash-image",
        "placeholder": "placeholder",
    }
    text = result.content[0].text
    assert "openai: enabled, default model gpt-image-2." in text
    assert "  - gpt-image-2 (default): current" in text
    assert "ratios 1:1 3:2 2:3" in text


async def test_capabilities_narrow_to_one_provider_and_model(server) -> None:
    async with Client(server) as client:
        one = await client.call_tool("get_model_capabilities", {"provider": "openai", "model": "gpt-image-1.5"})
        anywhere = await client.call_tool("get_model_capabilities", {"model": "gpt-image-2"})
        unknown = await client.call_tool(
            "get_model_capabilities", {"model": "no-such-model"}, raise_on_error=False
        )
    [entry] = one.structured_content["providers"]
    assert [m["model"] for m in entry["models"]] == ["gpt-image-1.5"]
    assert entry["default_model"] == "gpt-image-2"
    assert {p["provider"] for p in anywhere.structured_content["providers"]} == {"openai", "azure"}
    assert unknown.is_error and unknown.structured_content["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("arguments", "by_default"),
    [
        ({"provider": "placeholder", "model": "placeholder"}, False),
        ({"provider": "placeholder"}, True),
        ({}, True),
    ],
)
async def test_default_choice_is_reported_only_when_the_server_chose(
    output_root: Path, arguments: dict, by_default: bool
) -> None:
    server = build_mcp_server(build_container(make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False)))
    async with Client(server) as client:
        result = await client.call_tool("generate_image", {"prompt": "x", **arguments})
    assert result.structured_content["chosen_by_default"] is by_default
    assert ("(default choice)" in result.content[0].text) is by_default

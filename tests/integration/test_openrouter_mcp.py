"""OpenRouter end to end: a real MCP client, the real container, the openai SDK, and a fake
OpenRouter on the wire.

Most tests inject the fake's ``httpx2.MockTransport`` by overriding ``container.vendors`` (the
VENDORS table the registry is built from) with a factory that passes ``http_client=`` to
``build_openrouter_provider``: everything else (settings, registry, policy, retries, store,
MCP server) stays real, and transport failures (timeouts, refused connections) can be
scripted, which a socket cannot do portably. One test runs the fake on a loopback uvicorn
server and points OPENROUTER_BASE_URL at it, with no injection at all.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path

import pytest
import uvicorn
from dependency_injector import providers
from fastmcp import Client

from adapters.png import solid_png
from adapters.providers.openrouter_catalog import openrouter_catalog
from adapters.providers.openrouter_provider import build_openrouter_provider
from entrypoints.container import VENDORS, Container, build_container
from entrypoints.mcp.server import build_mcp_server
from tests.adapters.openrouter_fake import API_KEY, BASE_URL, FAILURES, FakeOpenRouter
from tests.conftest import make_settings

PNG_URL = "data:image/png;base64," + base64.b64encode(solid_png(40, 30)).decode()


def openrouter_container(output_root: Path, fake: FakeOpenRouter, **env: object) -> Container:
    settings = make_settings(
        output_root,
        OPENROUTER_API_KEY=API_KEY,
        OPENROUTER_BASE_URL=BASE_URL,
        IMAGE_GEN_MCP_RETRIES=1,  # scripted failures answer the same on every attempt
        **env,
    )
    container = build_container(settings)
    entry = (lambda s: build_openrouter_provider(s, http_client=fake.http_client()), openrouter_catalog)
    container.vendors.override(providers.Object({**VENDORS, "openrouter": entry}))
    return container


@pytest.fixture
def fake() -> FakeOpenRouter:
    return FakeOpenRouter()


@pytest.fixture
def server(output_root: Path, fake: FakeOpenRouter):
    return build_mcp_server(openrouter_container(output_root, fake))


async def test_generate_on_a_listed_model(server, fake, output_root: Path) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image",
            {"prompt": "a lighthouse", "provider": "openrouter", "model": "openai/gpt-image-2", "n": 2,
             "size": "M", "orientation": "landscape", "quality": "high", "output_format": "webp"},
        )  # fmt: skip
    data = result.structured_content
    assert data["ok"] and data["provider"] == "openrouter" and data["model"] == "openai/gpt-image-2"
    assert [(i["width"], i["height"], i["media_type"]) for i in data["images"]] == [
        (96, 64, "image/webp")
    ] * 2
    assert all(Path(i["path"]).is_relative_to(output_root.resolve()) for i in data["images"])
    assert data["used"]["route"] == "images" and data["used"]["cost"] == pytest.approx(0.08)
    assert data["usage"]["total_tokens"] == 12 + 2 * 1290
    [sent] = fake.generation_requests()
    assert sent.body["n"] == 2 and sent.body["resolution"] == "2K" and sent.body["quality"] == "high"


async def test_default_model_and_fan_out(server, fake) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a lighthouse", "provider": "openrouter", "n": 2}
        )
    data = result.structured_content
    assert data["model"] == "google/gemini-3.1-flash-image" and data["chosen_by_default"]
    assert len(data["images"]) == 2 and len(fake.generation_requests()) == 2
    assert any(w["option"] == "n" for w in data["warnings"])


async def test_edit_on_image_api_and_chat_route(server, fake) -> None:
    async with Client(server) as client:
        first = await client.call_tool(
            "edit_image",
            {"prompt": "make it night", "provider": "openrouter", "model": "google/gemini-3.1-flash-image",
             "images": [PNG_URL]},
        )  # fmt: skip
        image_id = first.structured_content["images"][0]["id"]
        second = await client.call_tool(
            "edit_image",
            {"prompt": "add a moon", "provider": "openrouter", "model": "openai/gpt-5-image",
             "images": [f"image://{image_id}"]},
        )  # fmt: skip
    assert first.structured_content["ok"] and second.structured_content["ok"]
    image_api, chat = fake.generation_requests()
    assert image_api.path == "/api/v1/images"
    assert image_api.body["input_references"] == [{"type": "image_url", "image_url": {"url": PNG_URL}}]
    assert chat.path == "/api/v1/chat/completions" and chat.body["modalities"] == ["image", "text"]
    assert chat.body["messages"][0]["content"][1]["type"] == "image_url"
    assert second.structured_content["used"]["route"] == "chat"


async def test_mask_is_refused_without_a_call(server, fake) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "edit_image",
            {"prompt": "x", "provider": "openrouter", "model": "google/gemini-3.1-flash-image",
             "images": [PNG_URL], "mask": PNG_URL},
            raise_on_error=False,
        )  # fmt: skip
    assert result.structured_content["code"] == "unsupported_option"
    assert fake.generation_requests() == []


async def test_capabilities_show_curated_and_discovered_models(server) -> None:
    async with Client(server) as client:
        result = await client.call_tool("get_model_capabilities", {"provider": "openrouter"})
    [entry] = result.structured_content["providers"]
    assert entry["enabled"] is True
    models = {m["model"]: m for m in entry["models"]}
    assert models["sourceful/riverflow-v2"]["discovered"] is True
    assert models["sourceful/riverflow-v2"]["max_n"] == 4 and models["sourceful/riverflow-v2"]["transparency"]
    assert models["bytedance-seed/seedream-4.5"]["operations"] == ["generate"]
    assert "discovered" not in models["google/gemini-3.1-flash-image"]  # said of live finds only
    assert entry["default_model"] == "google/gemini-3.1-flash-image"
    retired = models["google/gemini-2.5-flash-image-preview"]
    assert retired["status"] == "retired" and retired["replacement"] == "google/gemini-2.5-flash-image"
    assert "acme/text-only" not in models


async def test_discovered_model_generates_by_model_id_alone(server, fake) -> None:
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a cat", "model": "bytedance-seed/seedream-4.5"}
        )
    assert result.structured_content["provider"] == "openrouter"
    assert fake.generation_requests()[0].body["model"] == "bytedance-seed/seedream-4.5"


async def test_listing_down_keeps_capabilities_and_generation_working(output_root: Path) -> None:
    fake = FakeOpenRouter(listing=None)  # /images/models answers 404
    server = build_mcp_server(openrouter_container(output_root, fake))
    async with Client(server) as client:
        caps = await client.call_tool("get_model_capabilities", {"provider": "openrouter"})
        made = await client.call_tool("generate_image", {"prompt": "x", "provider": "openrouter"})
    models = [m["model"] for m in caps.structured_content["providers"][0]["models"]]
    assert models == [s.model for s in openrouter_catalog()]
    assert made.structured_content["ok"]


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_each_failure_kind_arrives_with_its_code(output_root: Path, kind: str) -> None:
    fake = FakeOpenRouter().fail_with(kind)
    server = build_mcp_server(openrouter_container(output_root, fake))
    async with Client(server) as client:
        result = await client.call_tool(
            "generate_image", {"prompt": "a red fox", "provider": "openrouter"}, raise_on_error=False
        )
    assert result.is_error
    payload = result.structured_content
    assert payload["code"] == kind
    assert payload["details"].get("provider") == "openrouter"
    assert API_KEY not in str(payload) and API_KEY not in result.content[0].text
    if kind == "rate_limited":
        assert payload["details"]["retry_after"] == 7 and payload["retryable"] is True


async def test_over_a_loopback_socket_with_only_the_environment(output_root: Path) -> None:
    fake = FakeOpenRouter()
    # A socket already listening: requests queue in its backlog until uvicorn starts accepting.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake.asgi, log_level="warning", lifespan="off", ws="none", interface="asgi3")
    web = uvicorn.Server(config)
    serving = asyncio.create_task(web.serve(sockets=[sock]))
    try:
        settings = make_settings(
            output_root,
            OPENROUTER_API_KEY=API_KEY,
            OPENROUTER_BASE_URL=f"http://127.0.0.1:{port}/api/v1",
            IMAGE_GEN_MCP_OPENROUTER_APP_URL="https://example.org/app",
        )
        container = build_container(settings)
        async with Client(build_mcp_server(container)) as client:
            made = await client.call_tool(
                "generate_image",
                {"prompt": "a kite", "provider": "openrouter", "model": "openai/gpt-5-image"},
            )
            caps = await client.call_tool("get_model_capabilities", {"provider": "openrouter"})
        await container.registry().enabled["openrouter"].aclose()
    finally:
        web.should_exit = True
        await serving
        sock.close()
    assert made.structured_content["ok"] and made.structured_content["used"]["route"] == "chat"
    assert any(m.get("discovered") for m in caps.structured_content["providers"][0]["models"])
    chat = next(r for r in fake.requests if r.method == "POST")
    assert (
        chat.path == "/api/v1/chat/completions" and chat.headers["http-referer"] == "https://example.org/app"
    )

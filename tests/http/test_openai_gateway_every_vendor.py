"""The gateway in front of the vendors not covered in test_openai_gateway_vendors: Azure (the real
adapter over HTTP to a loopback server that answers as Azure), Vertex (google-genai answered by
a transport that speaks like Google, with a service account and a loopback token endpoint) and
OpenRouter (its image API fake). The OpenAI SDK sends, the vendor's wire receives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest
from dependency_injector import providers
from openai import AsyncOpenAI

from adapters.providers.google_catalog import vertex_catalog
from adapters.providers.openrouter_catalog import openrouter_catalog
from adapters.providers.openrouter_provider import build_openrouter_provider
from adapters.providers.vertex_provider import build_vertex_provider
from entrypoints.container import build_container
from entrypoints.http.app import build_http_app
from tests.adapters.google_fakes import FakeGoogle, TokenServer, write_service_account
from tests.adapters.openai_fake import FakeImagesAPI
from tests.adapters.openrouter_fake import API_KEY as OPENROUTER_KEY
from tests.adapters.openrouter_fake import BASE_URL as OPENROUTER_URL
from tests.adapters.openrouter_fake import FakeOpenRouter
from tests.http.helpers import http_settings, sdk
from tests.http.test_openai_gateway_vendors import decoded_size, png
from tests.integration.test_openai_mcp import LoopbackVendor

AZURE_KEY = "azure-gateway-key-0123456789"


@pytest.fixture
def azure() -> Iterator[LoopbackVendor]:
    with LoopbackVendor(FakeImagesAPI("azure", deployments={"corp-images": "gpt-image-1.5"}, scale=8)) as served:
        yield served


@pytest.fixture
async def azure_client(output_root: Path, azure: LoopbackVendor) -> AsyncIterator[AsyncOpenAI]:
    container = build_container(
        http_settings(
            output_root,
            AZURE_OPENAI_ENDPOINT=azure.url,
            AZURE_OPENAI_API_KEY=AZURE_KEY,
            AZURE_OPENAI_DEPLOYMENTS="gpt-image-1.5=corp-images",
            IMAGE_GEN_MCP_RETRIES=1,
        )
    )
    async with sdk(build_http_app(container)) as (client, _):
        yield client


async def test_azure_generate_and_multipart_edit_reach_the_deployment(
    azure_client: AsyncOpenAI, azure: LoopbackVendor
) -> None:
    made = await azure_client.images.generate(
        model="azure/gpt-image-1.5", prompt="a harbour", size="1536x1024", quality="high", n=2
    )
    seen = azure.fake.last
    assert seen.path == "/openai/deployments/corp-images/images/generations"
    assert seen.headers["api-key"] == AZURE_KEY and "authorization" not in seen.headers
    assert (seen.json["size"], seen.json["quality"], seen.json["n"]) == ("1536x1024", "high", 2)
    assert len(made.data) == 2 and decoded_size(made.data[0].b64_json)[0] > decoded_size(made.data[0].b64_json)[1]
    await azure_client.images.edit(
        model="azure/gpt-image-1.5", image=("a.png", png(64, 64), "image/png"), prompt="add a boat"
    )
    assert azure.fake.last.path == "/openai/deployments/corp-images/images/edits"
    assert [p.name for p in azure.fake.last.files] == ["image"]  # one file: the SDK's single form


async def test_azure_content_filter_is_the_sdks_unprocessable_entity_without_the_key(
    azure_client: AsyncOpenAI, azure: LoopbackVendor
) -> None:
    azure.fake.fail_next("content_blocked")
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        await azure_client.images.generate(model="azure/gpt-image-1.5", prompt="x")
    assert refused.value.code == "content_blocked" and AZURE_KEY not in refused.value.response.text


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def vertex_client(
    output_root: Path, tmp_path: Path, google: FakeGoogle, token_server: TokenServer
) -> AsyncIterator[AsyncOpenAI]:
    container = build_container(
        http_settings(
            output_root,
            VERTEX_PROJECT="test-project",
            VERTEX_CREDENTIALS_PATH=str(write_service_account(tmp_path, token_server.url)),
            IMAGE_GEN_MCP_RETRIES=1,
        )
    )
    entry = (lambda s: build_vertex_provider(s, http_client=google.client()), vertex_catalog)
    container.vendors.override(providers.Object({"vertex": entry}))
    async with sdk(build_http_app(container)) as (client, _):
        yield client


async def test_vertex_generate_goes_to_the_global_endpoint_with_its_token(
    vertex_client: AsyncOpenAI, google: FakeGoogle, token_server: TokenServer
) -> None:
    made = await vertex_client.images.generate(
        model="vertex/gemini-3-pro-image", prompt="a lighthouse", size="1024x1536", output_format="jpeg"
    )
    seen = google.last
    assert "/locations/global/publishers/google/models/gemini-3-pro-image:generateContent" in seen.url
    assert seen.headers["authorization"].startswith("Bearer ") and len(token_server.exchanges) == 1
    config = seen.body["generationConfig"]["imageConfig"]
    assert config["aspectRatio"] == "2:3" and config["imageSize"] == "1K"
    assert config["imageOutputOptions"]["mimeType"] == "image/jpeg"
    # The fake answers PNG whatever was asked: the response says what the bytes really are.
    assert made.data[0].b64_json and made.output_format == "png"


async def test_vertex_retired_imagen_id_is_a_not_found_naming_its_replacement(
    vertex_client: AsyncOpenAI, google: FakeGoogle
) -> None:
    from tests.adapters.google_fakes import error_answer

    google.answer(error_answer(404, "NOT_FOUND", "Publisher model imagen-4.0-generate-001 was not found."))
    with pytest.raises(openai.NotFoundError) as refused:
        await vertex_client.images.generate(model="vertex/imagen-4.0-generate-001", prompt="x")
    assert refused.value.code == "model_not_found"
    assert "gemini-3.1-flash-image" in refused.value.message


@pytest.fixture
def openrouter() -> FakeOpenRouter:
    return FakeOpenRouter()


@pytest.fixture
async def openrouter_client(output_root: Path, openrouter: FakeOpenRouter) -> AsyncIterator[AsyncOpenAI]:
    container = build_container(
        http_settings(
            output_root, OPENROUTER_API_KEY=OPENROUTER_KEY, OPENROUTER_BASE_URL=OPENROUTER_URL, IMAGE_GEN_MCP_RETRIES=1
        )
    )
    entry = (lambda s: build_openrouter_provider(s, http_client=openrouter.http_client()), openrouter_catalog)
    container.vendors.override(providers.Object({"openrouter": entry}))
    async with sdk(build_http_app(container)) as (client, _):
        yield client


async def test_openrouter_generate_posts_its_image_api_and_lists_discovered_models(
    openrouter_client: AsyncOpenAI, openrouter: FakeOpenRouter
) -> None:
    made = await openrouter_client.images.generate(
        model="openrouter/openai/gpt-image-2", prompt="a kite", size="1792x1024", n=2
    )
    sent = openrouter.generation_requests()[-1]
    assert sent.path == "/api/v1/images" and sent.body["model"] == "openai/gpt-image-2"
    assert sent.body["n"] == 2 and sent.body["aspect_ratio"] == "16:9"
    assert len(made.data) == 2
    listed = [m.id async for m in openrouter_client.models.list()]
    assert "openrouter/openai/gpt-image-2" in listed


async def test_openrouter_out_of_credits_is_a_rate_limit_error_that_the_sdk_does_not_retry(
    openrouter_client: AsyncOpenAI, openrouter: FakeOpenRouter
) -> None:
    openrouter.fail_with("quota_exhausted")
    with pytest.raises(openai.RateLimitError) as refused:
        await openrouter_client.with_options(max_retries=2).images.generate(
            model="openrouter/openai/gpt-image-2", prompt="x"
        )
    assert refused.value.code == "quota_exhausted" and OPENROUTER_KEY not in refused.value.response.text
    assert len(openrouter.generation_requests()) == 1  # x-should-retry: false kept the SDK from retrying

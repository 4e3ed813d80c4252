"""The gateway in front of real vendor adapters: OpenAI's talking HTTP to a loopback server that
answers as OpenAI, Gemini's SDK answered by a transport that speaks like Google. The OpenAI SDK
on one side, the vendor's wire on the other, and the same adapter calls as the tools between."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import openai
import pytest
from dependency_injector import providers
from openai import AsyncOpenAI
from PIL import Image

from adapters.providers.gemini_provider import build_gemini_provider
from adapters.providers.google_catalog import gemini_catalog
from entrypoints.container import build_container
from entrypoints.http.app import build_http_app
from tests.adapters.google_fakes import FakeGoogle, failure_answers
from tests.adapters.openai_fake import FakeImagesAPI
from tests.http.helpers import http_settings, make_app, sdk
from tests.integration.test_openai_mcp import LoopbackVendor

KEY = "sk-gateway-vendor-0123456789abcdef"
GEMINI_KEY = "AIza-gateway-key-0123456789"


@pytest.fixture
def vendor() -> Iterator[LoopbackVendor]:
    with LoopbackVendor(FakeImagesAPI("openai", scale=8, serve_retired=True)) as served:
        yield served


@pytest.fixture
async def client(output_root: Path, vendor: LoopbackVendor) -> AsyncIterator[AsyncOpenAI]:
    app = make_app(
        output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{vendor.url}/v1", IMAGE_GEN_MCP_RETRIES=1
    )
    async with sdk(app) as (sdk_client, _):
        yield sdk_client


def decoded_size(b64: str | None) -> tuple[int, int]:
    return Image.open(io.BytesIO(base64.b64decode(b64 or ""))).size


def png(width: int, height: int, colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


async def test_generate_reaches_the_vendor_with_its_own_vocabulary(
    client: AsyncOpenAI, vendor: LoopbackVendor
) -> None:
    raw = await client.images.with_raw_response.generate(
        model="openai/gpt-image-1.5",
        prompt="a lighthouse",
        size="1536x1024",
        quality="hd",
        background="transparent",
        output_format="webp",
        n=2,
    )
    response = raw.parse()
    sent = vendor.fake.last.json
    assert vendor.fake.last.headers["authorization"] == f"Bearer {KEY}"
    assert {k: sent[k] for k in ("size", "quality", "background", "output_format", "n")} == {
        "size": "1536x1024",
        "quality": "high",
        "background": "transparent",
        "output_format": "webp",
        "n": 2,
    }
    assert len(response.data) == 2 and response.output_format == "webp"
    assert response.usage is not None and response.usage.total_tokens == 4210
    # The fake vendor answers at 1/8 of the size asked: the gateway reports what came back.
    assert response.size == "192x128" and raw.headers["x-image-gen-adjusted"] == "size=1536x1024->192x128"


async def test_dall_e_revised_prompt_comes_back_per_image(
    client: AsyncOpenAI, vendor: LoopbackVendor
) -> None:
    response = await client.images.generate(model="dall-e-3", prompt="a fox", size="1792x1024")
    assert vendor.fake.last.json["size"] == "1792x1024"
    assert response.data[0].revised_prompt == "A revised a fox"
    assert response.model_extra["image_gen"]["provider"] == "openai"


async def test_a_multipart_edit_becomes_the_adapters_multipart_edit(
    client: AsyncOpenAI, vendor: LoopbackVendor
) -> None:
    mask = png(300, 200, "white")
    response = await client.images.edit(
        model="openai/gpt-image-1.5",
        image=[("a.png", png(300, 200), "image/png"), ("b.png", png(64, 64, "red"), "image/png")],
        mask=("mask.png", mask, "image/png"),
        prompt="add a boat",
    )
    seen = vendor.fake.last
    assert seen.path == "/v1/images/edits" and len(seen.parts("image[]")) == 2 and seen.parts("mask")
    assert response.model_extra["image_gen"]["operation"] == "edit"
    assert base64.b64decode(response.data[0].b64_json or "").startswith(b"\x89PNG")


# A vendor's failure kind → the OpenAI SDK exception the gateway's answer raises.
FAILURES: dict[str, type[openai.APIStatusError]] = {
    "content_blocked": openai.UnprocessableEntityError,
    "rate_limited": openai.RateLimitError,
    "quota_exhausted": openai.RateLimitError,
    "model_not_found": openai.NotFoundError,
    "auth_failed": openai.InternalServerError,
    "provider_unavailable": openai.InternalServerError,
}


async def refused(client: AsyncOpenAI, model: str, kind: str, secret: str) -> openai.APIStatusError:
    """The SDK's exception for one generation the vendor refused with ``kind``; checks its class,
    our code, and that the vendor key is nowhere in the answer."""
    with pytest.raises(FAILURES[kind]) as raised:
        await client.images.generate(model=model, prompt="x")
    assert raised.value.code == kind and secret not in raised.value.response.text
    return raised.value


@pytest.mark.parametrize(
    "kind", ["content_blocked", "rate_limited", "quota_exhausted", "auth_failed", "provider_unavailable"]
)
async def test_openai_refusals_arrive_as_the_sdks_exceptions_without_our_key(
    client: AsyncOpenAI, vendor: LoopbackVendor, kind: str
) -> None:
    vendor.fake.fail_next(kind)
    error = await refused(client, "openai/gpt-image-1.5", kind, KEY)
    if kind == "rate_limited":
        assert error.response.headers["retry-after"] == "12"


# -- Gemini: the real adapter, its SDK answered by a MockTransport that speaks like Google ----


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def gemini_client(output_root: Path, google: FakeGoogle) -> AsyncIterator[AsyncOpenAI]:
    container = build_container(
        http_settings(output_root, GEMINI_API_KEY=GEMINI_KEY, IMAGE_GEN_MCP_RETRIES=1)
    )
    vendors = {"gemini": (lambda s: build_gemini_provider(s, http_client=google.client()), gemini_catalog)}
    container.vendors.override(providers.Object(vendors))
    async with sdk(build_http_app(container)) as (sdk_client, _):
        yield sdk_client


@pytest.mark.parametrize(
    ("size", "ratio", "tier"),
    [
        ("1536x1024", "3:2", "1K"),
        ("2752x1536", "16:9", "2K"),
        ("1024x1792", "9:16", "1K"),
        ("auto", "1:1", "1K"),
    ],
)
async def test_gemini_gets_the_ratio_and_tier_of_the_size(
    gemini_client: AsyncOpenAI, google: FakeGoogle, size: str, ratio: str, tier: str
) -> None:
    response = await gemini_client.images.generate(
        model="gemini/gemini-3.1-flash-image", prompt="a fox", size=size
    )
    assert google.last.body["generationConfig"]["imageConfig"] == {"aspectRatio": ratio, "imageSize": tier}
    assert decoded_size(response.data[0].b64_json) == tuple(int(x) for x in response.size.split("x"))


async def test_gemini_n2_fans_out_and_edits_take_uploaded_files(
    gemini_client: AsyncOpenAI, google: FakeGoogle
) -> None:
    made = await gemini_client.images.generate(model="gemini-3.1-flash-image", prompt="a fox", n=2)
    assert len(made.data) == 2 and len(google.seen) == 2
    assert any(w["option"] == "n" for w in made.model_extra["image_gen"]["warnings"])
    await gemini_client.images.edit(
        model="gemini/gemini-3.1-flash-image",
        image=[("a.png", png(60, 40), "image/png"), ("b.png", png(40, 40, "red"), "image/png")],
        prompt="put the fox in the boat",
    )
    parts = google.last.body["contents"][0]["parts"]
    assert sum("inlineData" in part for part in parts) == 2
    assert google.last.body["generationConfig"]["imageConfig"]["aspectRatio"] == "3:2"


@pytest.mark.parametrize(
    "kind", ["content_blocked", "quota_exhausted", "model_not_found", "provider_unavailable"]
)
async def test_gemini_refusals_arrive_as_the_sdks_exceptions_without_our_key(
    gemini_client: AsyncOpenAI, google: FakeGoogle, kind: str
) -> None:
    google.answer(failure_answers(vertex=False)[kind])
    await refused(gemini_client, "gemini/gemini-3.1-flash-image", kind, GEMINI_KEY)

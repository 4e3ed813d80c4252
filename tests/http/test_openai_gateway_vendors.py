"""The gateway in front of the real OpenAI adapter, which talks HTTP to a loopback server that
answers as OpenAI: the OpenAI SDK on one side, the vendor's wire on the other, and the same
adapter call as the tools in between."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from PIL import Image

from tests.adapters.openai_fake import FakeImagesAPI
from tests.http.helpers import make_app, sdk
from tests.integration.test_openai_mcp import LoopbackVendor

KEY = "sk-gateway-vendor-0123456789abcdef"


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


@pytest.mark.parametrize(
    ("kind", "exception", "code"),
    [
        ("content_blocked", openai.UnprocessableEntityError, "content_blocked"),
        ("rate_limited", openai.RateLimitError, "rate_limited"),
        ("quota_exhausted", openai.RateLimitError, "quota_exhausted"),
        ("auth_failed", openai.InternalServerError, "auth_failed"),
        ("provider_unavailable", openai.InternalServerError, "provider_unavailable"),
    ],
)
async def test_vendor_refusals_arrive_as_the_sdks_exceptions_without_our_key(
    client: AsyncOpenAI, vendor: LoopbackVendor, kind: str, exception: type[Any], code: str
) -> None:
    vendor.fake.fail_next(kind)
    with pytest.raises(exception) as raised:
        await client.images.generate(model="openai/gpt-image-1.5", prompt="x")
    assert raised.value.code == code
    assert KEY not in raised.value.response.text
    if kind == "rate_limited":
        assert raised.value.response.headers["retry-after"] == "12"

"""What each call cost, end to end: the real adapters and SDKs over the wire fakes, the real
price table, and the use case that adds it up. The expected figures are the tokens the fake
vendor billed × the prices in the table (or the vendor's own figure), never a constant."""

from __future__ import annotations

import json

import httpx2
import pytest

from adapters.memory import InMemoryImageStore
from adapters.png import solid_png
from adapters.providers.gemini_provider import GeminiImageProvider
from adapters.providers.openai_provider import OpenAIImageProvider
from adapters.providers.openrouter_provider import OpenRouterImageProvider
from adapters.providers.openrouter_wire import merge_results
from adapters.providers.prices import (
    GEMINI_25_FLASH_IMAGE,
    GEMINI_31_FLASH_IMAGE,
    GPT_IMAGE_1_MINI,
    PriceTable,
)
from application.create_images import CreateImages
from application.routing import ProviderRegistry
from domain.images import GeneratedImage, ImageRequest, ProviderResult
from domain.options import Quality, SizeTier
from tests.adapters.google_fakes import FakeGoogle, content_answer, image_part, png_for_ratio
from tests.adapters.openai_fake import FakeImagesAPI
from tests.adapters.openrouter_fake import API_KEY, BASE_URL, Clock, FakeOpenRouter


def run_on(provider) -> CreateImages:
    registry = ProviderRegistry(enabled={provider.provider_id: provider})
    return CreateImages(registry=registry, store=InMemoryImageStore(), prices=PriceTable())


def on_openrouter(fake: FakeOpenRouter) -> OpenRouterImageProvider:
    return OpenRouterImageProvider(
        api_key=API_KEY, base_url=BASE_URL, timeout_s=5.0, app_url=None, app_title="t",
        models_ttl_s=600.0, http_client=fake.http_client(), clock=Clock(),
    )  # fmt: skip


async def test_openai_cost_is_the_billed_tokens_times_the_model_page_prices() -> None:
    fake = FakeImagesAPI()
    provider = OpenAIImageProvider(api_key="sk-cost-test-0123456789abcdef", http_client=fake.client())
    outcome = await run_on(provider)(
        ImageRequest(prompt="a fox", provider="openai", model="gpt-image-1-mini", quality=Quality.HIGH)
    )
    await provider.aclose()
    usage = outcome.usage
    assert usage.input_tokens and usage.output_tokens  # what the fake vendor billed
    price = GPT_IMAGE_1_MINI
    expected = (usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok) / 1e6
    assert outcome.cost.as_dict() == {"cost_usd": round(expected, 6), "cost_source": "estimate"}


async def test_gemini_fan_out_adds_the_cost_of_every_call() -> None:
    fake = FakeGoogle()
    provider = GeminiImageProvider("gemini-cost-key-0123456789", timeout_s=10, http_client=fake.client())
    run = run_on(provider)
    one = await run(ImageRequest(prompt="a fox", provider="gemini", model="gemini-3.1-flash-image"))
    three = await run(ImageRequest(prompt="a fox", provider="gemini", model="gemini-3.1-flash-image", n=3))
    await provider.aclose()
    assert len(fake.seen) == 4  # one call, then three
    assert three.usage.output_tokens == 3 * one.usage.output_tokens
    assert three.cost.usd == pytest.approx(3 * one.cost.usd)


async def test_gemini_cost_is_the_billed_tokens_times_the_image_token_price() -> None:
    fake = FakeGoogle()
    provider = GeminiImageProvider("gemini-cost-key-0123456789", timeout_s=10, http_client=fake.client())
    outcome = await run_on(provider)(
        ImageRequest(prompt="a fox", provider="gemini", model="gemini-3.1-flash-image", size=SizeTier.M)
    )
    await provider.aclose()
    usage = outcome.usage
    assert usage.output_tokens and usage.input_tokens
    price = GEMINI_31_FLASH_IMAGE
    expected = (usage.input_tokens * price.input_per_mtok + usage.output_tokens * price.output_per_mtok) / 1e6
    assert outcome.cost.usd == pytest.approx(expected)
    assert outcome.cost.source.value == "estimate"


async def test_openrouter_reports_its_own_figure_summed_over_a_fan_out() -> None:
    fake = FakeOpenRouter()
    provider = on_openrouter(fake)
    outcome = await run_on(provider)(
        ImageRequest(prompt="a fox", provider="openrouter", model="google/gemini-3.1-flash-image", n=2)
    )
    await provider.aclose()
    # The fake bills 0.04 per image in usage.cost; two images, whichever way they were fanned out.
    assert outcome.cost.as_dict() == {"cost_usd": 0.08, "cost_source": "vendor"}


async def test_a_model_without_a_known_price_reports_null_not_a_guess() -> None:
    fake = FakeImagesAPI()
    provider = OpenAIImageProvider(api_key="sk-cost-test-0123456789abcdef", http_client=fake.client())
    outcome = await run_on(provider)(ImageRequest(prompt="a fox", provider="openai", model="gpt-image-2"))
    await provider.aclose()
    assert outcome.usage.output_tokens  # tokens were billed, but no price was ever read for the model
    assert outcome.cost.as_dict() == {"cost_usd": None, "cost_source": "unknown"}


async def test_openrouter_chat_route_costs_add_up_over_a_fan_out() -> None:
    fake = FakeOpenRouter()
    provider = on_openrouter(fake)
    outcome = await run_on(provider)(
        ImageRequest(prompt="a fox", provider="openrouter", model="openai/gpt-5-image", n=2)
    )
    await provider.aclose()
    # The chat fake bills 0.05 per completion; one image per completion.
    assert len(outcome.items) == 2
    assert outcome.cost.as_dict() == {"cost_usd": 0.1, "cost_source": "vendor"}


def test_merged_chat_results_sum_their_costs_and_an_unreported_one_makes_it_unknown() -> None:
    png = solid_png(8, 8)
    image = GeneratedImage(png, "image/png", 8, 8, "openrouter", "m")
    priced = [ProviderResult(images=(image,), used={"cost": c}) for c in (0.05, 0.07)]
    assert merge_results(priced, 2).used["cost"] == pytest.approx(0.12)
    unpriced = [priced[0], ProviderResult(images=(image,), used={})]
    assert "cost" not in merge_results(unpriced, 2).used


async def test_without_reported_tokens_the_images_returned_are_priced_per_image() -> None:
    answer = content_answer(image_part(png_for_ratio("1:1")))
    body = json.loads(answer.content)
    del body["usageMetadata"]  # a vendor answer that reports no usage at all
    fake = FakeGoogle().answer(httpx2.Response(200, json=body))
    provider = GeminiImageProvider("gemini-cost-key-0123456789", timeout_s=10, http_client=fake.client())
    outcome = await run_on(provider)(
        ImageRequest(prompt="a fox", provider="gemini", model="gemini-2.5-flash-image")
    )
    await provider.aclose()
    assert outcome.usage.output_tokens is None
    assert outcome.cost.usd == pytest.approx(GEMINI_25_FLASH_IMAGE.per_image["*"])
    assert outcome.cost.source.value == "estimate"

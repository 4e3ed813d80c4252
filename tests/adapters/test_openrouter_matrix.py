"""Every curated and every discovered OpenRouter model × the knob matrix (``knob_matrix``),
through the policy, the adapter and the SDK to the fake, whose image API refuses undocumented
bodies and parameters a model's listing leaves out."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.providers.openrouter_catalog import openrouter_catalog
from adapters.providers.openrouter_provider import OpenRouterImageProvider
from tests.adapters.knob_matrix import check_every_knob
from tests.adapters.openrouter_fake import API_KEY, BASE_URL, DEFAULT_LISTING, Clock, FakeOpenRouter

LISTED = [m["id"] for m in DEFAULT_LISTING if "image" in m["architecture"]["output_modalities"]]
MODELS = sorted({s.model for s in openrouter_catalog()} | set(LISTED))


def _sent(body: dict[str, Any]) -> set[str]:
    return set(body) | set(body.get("image_config") or {})


@pytest.mark.parametrize("model", MODELS)
async def test_policy_and_vendor_agree_on_every_knob(model: str) -> None:
    fake = FakeOpenRouter()
    provider = OpenRouterImageProvider(
        api_key=API_KEY, base_url=BASE_URL, timeout_s=5.0, http_client=fake.http_client(), clock=Clock()
    )
    try:
        spec = next(s for s in await provider.models() if s.model == model)
        await check_every_knob(
            spec,
            provider,
            requests_seen=lambda: len(fake.generation_requests()),
            last_sent=lambda: _sent(fake.generation_requests()[-1].body),
            wire_names={"images": "input_references"},
        )
    finally:
        await provider.aclose()

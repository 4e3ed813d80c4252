"""The OpenRouter adapter joins the ImageProvider contract, driven through the openai SDK
against a wire-level fake that answers (and fails) with OpenRouter's real body shapes."""

from __future__ import annotations

import pytest

from adapters.providers.openrouter_provider import OpenRouterImageProvider
from tests.adapters.openrouter_fake import API_KEY, BASE_URL, FakeOpenRouter
from tests.contract.provider_contract import ImageProviderContract


def make_provider(fake: FakeOpenRouter) -> OpenRouterImageProvider:
    return OpenRouterImageProvider(
        api_key=API_KEY,
        base_url=BASE_URL,
        timeout_s=5.0,
        app_title="image-gen-mcp tests",
        http_client=fake.http_client(),
    )


class TestOpenRouterImageProvider(ImageProviderContract):
    @pytest.fixture
    def provider(self) -> OpenRouterImageProvider:
        return make_provider(FakeOpenRouter())

    @pytest.fixture
    def failing_provider(self):
        return lambda kind: make_provider(FakeOpenRouter().fail_with(kind))

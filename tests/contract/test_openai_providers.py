"""The OpenAI and Azure OpenAI adapters join the ImageProvider contract, driving the real SDK
against a wire-level fake that answers with each vendor's own bodies and status codes."""

from __future__ import annotations

import pytest

from adapters.providers.azure_provider import AzureOpenAIImageProvider
from adapters.providers.openai_provider import OpenAIImageProvider
from tests.adapters.openai_fake import FakeImagesAPI
from tests.contract.provider_contract import ImageProviderContract


def openai_on(fake: FakeImagesAPI) -> OpenAIImageProvider:
    return OpenAIImageProvider(api_key="sk-contract-0123456789", http_client=fake.client())


def azure_on(fake: FakeImagesAPI) -> AzureOpenAIImageProvider:
    return AzureOpenAIImageProvider(
        endpoint="https://contoso.openai.azure.com",
        api_key="azure-contract-key-0123456789",
        http_client=fake.client(),
    )


class TestOpenAIImageProvider(ImageProviderContract):
    @pytest.fixture
    def provider(self) -> OpenAIImageProvider:
        return openai_on(FakeImagesAPI("openai"))

    @pytest.fixture
    def failing_provider(self):
        return lambda kind: openai_on(FakeImagesAPI("openai").fail_next(kind))


class TestAzureOpenAIImageProvider(ImageProviderContract):
    @pytest.fixture
    def provider(self) -> AzureOpenAIImageProvider:
        return azure_on(FakeImagesAPI("azure"))

    @pytest.fixture
    def failing_provider(self):
        return lambda kind: azure_on(FakeImagesAPI("azure").fail_next(kind))

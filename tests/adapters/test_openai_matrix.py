"""Every catalogued OpenAI and Azure OpenAI model × the knob matrix (``knob_matrix``), through
the policy, the adapter and the SDK to the fake that refuses bodies breaking a documented rule."""

from __future__ import annotations

import pytest

from adapters.providers.azure_provider import AzureOpenAIImageProvider
from adapters.providers.openai_catalog import azure_catalog, openai_catalog
from adapters.providers.openai_provider import OpenAIImageProvider
from domain.catalog import ModelSpec
from tests.adapters.knob_matrix import check_every_knob
from tests.adapters.openai_fake import FakeImagesAPI

CATALOG = [pytest.param(s, id=f"{s.provider}/{s.model}") for s in (*openai_catalog(), *azure_catalog())]


def _provider(spec: ModelSpec, fake: FakeImagesAPI):
    if spec.provider == "azure":
        return AzureOpenAIImageProvider(
            endpoint="https://contoso.openai.azure.com",
            api_key="azure-key-0123456789",
            http_client=fake.client(),
        )
    return OpenAIImageProvider(api_key="sk-matrix-0123456789", http_client=fake.client())


@pytest.mark.parametrize("spec", CATALOG)
async def test_policy_and_vendor_agree_on_every_knob(spec: ModelSpec) -> None:
    fake = FakeImagesAPI(spec.provider, serve_retired=True)
    provider = _provider(spec, fake)
    try:
        await check_every_knob(
            spec,
            provider,
            requests_seen=lambda: len(fake.seen),
            last_sent=lambda: set(fake.last.body) | {part.name for part in fake.last.files},
            wire_names={"images": "image[]"},
        )
    finally:
        await provider.aclose()

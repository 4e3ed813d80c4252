"""The OpenAI Images API adapter, on the official ``openai`` SDK (``AsyncOpenAI``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from adapters.providers.openai_catalog import openai_catalog
from adapters.providers.openai_common import OpenAIImagesAdapter
from domain.errors import ProviderNotConfigured

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI
    from pydantic import SecretStr


class OpenAISettings(Protocol):
    """The settings this adapter reads (``entrypoints.settings.Settings`` has them all)."""

    openai_api_key: SecretStr | None
    openai_base_url: str | None
    openai_organization: str | None
    request_timeout_s: float


class OpenAIImageProvider(OpenAIImagesAdapter):
    """OpenAI image models (gpt-image-*, chatgpt-image-latest; retired DALL·E still sent).

    ``base_url`` points the SDK at another server speaking the same API (``OPENAI_BASE_URL``);
    ``http_client`` injects an ``httpx2.AsyncClient`` (tests use ``httpx2.MockTransport``).
    """

    provider_id = "openai"
    vendor = "OpenAI"
    credential_hint = "OPENAI_API_KEY"
    base_url_setting = "OPENAI_BASE_URL"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        organization: str | None = None,
        timeout_s: float = 300.0,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(openai_catalog(), timeout_s=timeout_s, secrets=(api_key,))
        self._api_key = api_key
        self._base_url = base_url
        self.base_url_set = base_url is not None
        self._organization = organization
        self._http_client = http_client

    def _build_client(self) -> AsyncOpenAI:
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            organization=self._organization,
            max_retries=0,  # application.retry is the one retry policy
            timeout=self.timeout_s,
            http_client=self._http_client,
        )


def build_openai_provider(settings: OpenAISettings) -> OpenAIImageProvider:
    """The adapter from settings; the container calls this only when OPENAI_API_KEY is set."""
    if settings.openai_api_key is None:
        raise ProviderNotConfigured("Set OPENAI_API_KEY to enable OpenAI.", missing=["OPENAI_API_KEY"])
    return OpenAIImageProvider(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        organization=settings.openai_organization,
        timeout_s=settings.request_timeout_s,
    )

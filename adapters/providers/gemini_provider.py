"""The Gemini Developer API adapter: Gemini image models through google-genai's async client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from adapters.providers.google_catalog import gemini_catalog
from adapters.providers.google_common import GoogleImageProvider
from adapters.providers.google_errors import AuthHint, redacted
from domain.errors import AuthFailed

if TYPE_CHECKING:
    import httpx2
    from google import genai
    from google.genai import types
    from pydantic import SecretStr


class GeminiSettings(Protocol):
    """What this adapter reads from ``entrypoints.settings.Settings`` (adapters may not import it)."""

    gemini_api_key: SecretStr | None
    gemini_base_url: str | None
    gemini_api_version: str | None
    request_timeout_s: float


class GeminiImageProvider(GoogleImageProvider):
    """Generates and edits (mask-free, image parts) on ``generativelanguage.googleapis.com``.

    The key travels in the ``x-goog-api-key`` header (the SDK's choice), never in a URL.
    Masks and transparency never reach this adapter: the catalog marks them unsupported and the
    policy refuses them first.
    """

    provider_id = "gemini"
    vertex = False

    def __init__(
        self,
        api_key: str,
        *,
        timeout_s: float,
        base_url: str | None = None,
        api_version: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            gemini_catalog(),
            timeout_s=timeout_s,
            base_url=base_url,
            api_version=api_version,
            http_client=http_client,
            secrets=(api_key,),
        )
        self._api_key = api_key

    def _client_from(self, options: types.HttpOptions) -> genai.Client:
        from google import genai

        try:
            # vertexai=False explicitly, so GOOGLE_GENAI_USE_VERTEXAI in the environment cannot
            # silently send the Gemini key to Vertex.
            return genai.Client(vertexai=False, api_key=self._api_key, http_options=options)
        except ValueError as exc:
            error = AuthFailed(f"The Gemini client cannot start: {exc}", variable="GEMINI_API_KEY")
            raise redacted(error, self._secrets) from None

    def _auth_hint(self) -> AuthHint:
        return AuthHint(" Check GEMINI_API_KEY (or GOOGLE_API_KEY).", "GEMINI_API_KEY")


def build_gemini_provider(
    settings: GeminiSettings, http_client: httpx2.AsyncClient | None = None
) -> GeminiImageProvider:
    """The adapter from settings; ``http_client`` lets tests put a fake vendor on the wire."""
    assert settings.gemini_api_key is not None  # the container builds enabled vendors only
    return GeminiImageProvider(
        settings.gemini_api_key.get_secret_value(),
        timeout_s=settings.request_timeout_s,
        base_url=settings.gemini_base_url,
        api_version=settings.gemini_api_version,
        http_client=http_client,
    )

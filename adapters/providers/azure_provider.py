"""The Azure OpenAI image adapter, on the official ``openai`` SDK (``AsyncAzureOpenAI``).

Requests go to ``{endpoint}/openai/deployments/{deployment}/images/...?api-version=...``: the SDK
puts the ``model`` argument in the path, so the adapter sends the *deployment name*. Deployments
are mapped from ``AZURE_OPENAI_DEPLOYMENTS`` (``gpt-image-1.5=my-images,gpt-image-2=img2``); a
model not listed is sent under its own id, the name Azure suggests for a deployment.

Credentials, first match wins: Microsoft Entra ID when ``AZURE_OPENAI_USE_ENTRA_ID=true`` (needs
the ``azure`` extra: ``azure-identity``), then ``AZURE_OPENAI_AD_TOKEN``, then
``AZURE_OPENAI_API_KEY`` (sent as the ``api-key`` header).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from adapters.providers.openai_catalog import azure_catalog
from adapters.providers.openai_common import OpenAIImagesAdapter, without_openai_account_headers
from domain.catalog import ModelSpec
from domain.errors import AppError, AuthFailed, ProviderNotConfigured
from domain.secrets import register_secrets

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncAzureOpenAI
    from pydantic import SecretStr

DEFAULT_API_VERSION = "2025-04-01-preview"
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
TokenProvider = Callable[[], "str | Awaitable[str]"]


class AzureSettings(Protocol):
    """The settings this adapter reads (``entrypoints.settings.Settings`` has them all)."""

    azure_openai_endpoint: str | None
    azure_openai_api_version: str
    azure_openai_api_key: SecretStr | None
    azure_openai_ad_token: SecretStr | None
    azure_openai_use_entra_id: bool
    azure_openai_deployments: str | None
    request_timeout_s: float


def parse_deployments(raw: str | None) -> tuple[dict[str, str], list[str]]:
    """``"a=b, c=d"`` → ``({"a": "b", "c": "d"}, [])``; entries without both sides are returned
    second, so the adapter can name them instead of silently ignoring a typo."""
    pairs: dict[str, str] = {}
    malformed: list[str] = []
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        model, _, deployment = part.partition("=")
        if model.strip() and deployment.strip():
            pairs[model.strip()] = deployment.strip()
        else:
            malformed.append(part.strip())
    return pairs, malformed


class AzureOpenAIImageProvider(OpenAIImagesAdapter):
    """Azure OpenAI image deployments (png/jpeg output only; png or jpeg input images).

    ``token_provider`` supplies Entra ID tokens directly (otherwise ``use_entra_id`` builds one
    from ``azure.identity``); ``http_client`` injects an ``httpx2.AsyncClient`` for tests.
    """

    provider_id = "azure"
    vendor = "Azure OpenAI"
    credential_hint = "AZURE_OPENAI_API_KEY, AZURE_OPENAI_AD_TOKEN or AZURE_OPENAI_USE_ENTRA_ID"
    input_media_types = frozenset({"image/png", "image/jpeg"})

    def __init__(
        self,
        *,
        endpoint: str,
        api_version: str = DEFAULT_API_VERSION,
        api_key: str | None = None,
        ad_token: str | None = None,
        use_entra_id: bool = False,
        token_provider: TokenProvider | None = None,
        deployments: str | None = None,
        timeout_s: float = 300.0,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(azure_catalog(), timeout_s=timeout_s, secrets=(api_key or "", ad_token or ""))
        self._endpoint = endpoint
        self._api_version = api_version
        self._api_key = api_key
        self._ad_token = ad_token
        self._use_entra_id = use_entra_id
        self._token_provider = token_provider
        self._http_client = http_client
        self._credential: Any = None
        self.deployments, self._malformed = parse_deployments(deployments)

    def wire_model(self, spec: ModelSpec) -> str:
        return self.deployments.get(spec.model, spec.model)

    def not_found_hint(self, spec: ModelSpec) -> str:
        return (
            f" No deployment named {self.wire_model(spec)!r} answered at this endpoint; if yours has "
            f"another name, set AZURE_OPENAI_DEPLOYMENTS={spec.model}=<deployment name>."
        )

    def _build_client(self) -> AsyncAzureOpenAI:
        if self._malformed:
            raise ProviderNotConfigured(
                f"AZURE_OPENAI_DEPLOYMENTS has entries that are not model=deployment: "
                f"{', '.join(self._malformed)}.",
                provider=self.provider_id,
                missing=["AZURE_OPENAI_DEPLOYMENTS"],
            )
        from openai import AsyncAzureOpenAI

        return AsyncAzureOpenAI(
            azure_endpoint=self._endpoint,
            api_version=self._api_version,
            max_retries=0,  # application.retry is the one retry policy
            timeout=self.timeout_s,
            default_headers=without_openai_account_headers(),
            http_client=self._http_client,
            **self._credentials(),
        )

    def _credentials(self) -> dict[str, Any]:
        # Exactly one credential: the SDK refuses several (MutuallyExclusiveAuthError).
        if self._token_provider is not None or self._use_entra_id:
            return {"azure_ad_token_provider": self._guarded(self._token_provider or self._entra_id_tokens())}
        if self._ad_token:
            return {"azure_ad_token": self._ad_token}
        if self._api_key:
            return {"api_key": self._api_key}
        raise ProviderNotConfigured(
            f"Azure OpenAI needs a credential: set {self.credential_hint}.",
            provider=self.provider_id,
            missing=["AZURE_OPENAI_API_KEY"],
        )

    def _entra_id_tokens(self) -> TokenProvider:
        try:
            from azure.identity import DefaultAzureCredential, get_bearer_token_provider
        except ImportError:
            raise ProviderNotConfigured(
                "AZURE_OPENAI_USE_ENTRA_ID=true needs the azure-identity package: install the "
                "'azure' extra (pip install 'image-gen-mcp[azure]') or set AZURE_OPENAI_API_KEY.",
                provider=self.provider_id,
                missing=["azure-identity"],
            ) from None
        self._credential = DefaultAzureCredential()
        fetch = get_bearer_token_provider(self._credential, ENTRA_SCOPE)

        async def token() -> str:  # the sync credential may block on a token endpoint
            return str(await asyncio.to_thread(fetch))

        return token

    def _guarded(self, source: TokenProvider) -> Callable[[], Awaitable[str]]:
        """A token failure is an authentication failure, reported in the domain's terms."""

        async def token() -> str:
            try:
                value = source()
                issued = str(await value if inspect.isawaitable(value) else value)
            except AppError:
                raise
            except Exception as exc:  # any credential failure means there is no usable token
                raise AuthFailed(
                    f"Microsoft Entra ID gave no token ({type(exc).__name__}); check the managed "
                    "identity, `az login`, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET.",
                    provider=self.provider_id,
                ) from None
            # An Entra token is as good as a key while it lives: masked like one.
            register_secrets([issued], runtime=True)
            return issued

        return token

    async def aclose(self) -> None:
        await super().aclose()
        credential, self._credential = self._credential, None
        if credential is not None:
            credential.close()


def build_azure_provider(settings: AzureSettings) -> AzureOpenAIImageProvider:
    """The adapter from settings; the container calls this only when an endpoint and a
    credential are configured."""
    if not settings.azure_openai_endpoint:
        raise ProviderNotConfigured(
            "Set AZURE_OPENAI_ENDPOINT to enable Azure OpenAI.", missing=["AZURE_OPENAI_ENDPOINT"]
        )
    key, token = settings.azure_openai_api_key, settings.azure_openai_ad_token
    return AzureOpenAIImageProvider(
        endpoint=settings.azure_openai_endpoint,
        api_version=settings.azure_openai_api_version or DEFAULT_API_VERSION,
        api_key=key.get_secret_value() if key else None,
        ad_token=token.get_secret_value() if token else None,
        use_entra_id=settings.azure_openai_use_entra_id,
        deployments=settings.azure_openai_deployments,
        timeout_s=settings.request_timeout_s,
    )

"""The OpenRouter adapter: the dedicated image API first, the chat-completions route as fallback.

Calls go through the ``openai`` SDK (OpenRouter is OpenAI-compatible) with its retries off:
``application.retry`` is the one retry policy. ``client.images.generate`` posts to
``/images/generations``, which is not OpenRouter's path, so the image API is called with
``client.post("/images", ...)`` and parsed here.

Route choice. For known models it is data: the catalog names the models only the chat route
serves (``openrouter_catalog.ROUTES``); other curated models and every model of the live
listing (which lists image-API models) go to the image API, and a 404 there is final:
``model_not_found``, naming the replacement of a retired model. For a model id that neither
the catalog nor the listing knows, no data decides, so the image API is tried first and a 404
gets one more try on the chat route (the model may make images as chat output); when that works
the id goes straight to the chat route until the discovery TTL passes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from adapters.providers.openai_common import without_openai_account_headers
from adapters.providers.openrouter_catalog import (
    CHAT_ROUTE,
    PROVIDER_ID,
    Api,
    Route,
    openrouter_catalog,
    route_for,
)
from adapters.providers.openrouter_discovery import OpenRouterModelDiscovery, merge_catalog
from adapters.providers.openrouter_errors import ErrorContext, error_from_body, translate_sdk_error
from adapters.providers.openrouter_wire import (
    build_result,
    chat_arguments,
    image_body,
    merge_results,
    read_completion,
    read_image_payload,
)
from application.ports import ImageProvider
from domain.catalog import ModelSpec
from domain.errors import ModelNotFound, ProviderNotConfigured
from domain.images import ProviderResult
from domain.normalized import ProviderRequest
from domain.options import Background

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI
    from pydantic import SecretStr

log = logging.getLogger(__name__)

# Discovery should not hold a generation hostage: its own, shorter deadline.
_DISCOVERY_TIMEOUT_S = 15.0


DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


class OpenRouterSettings(Protocol):
    """The settings this adapter reads (``entrypoints.settings.Settings`` satisfies it)."""

    openrouter_api_key: SecretStr | None
    openrouter_base_url: str
    openrouter_app_url: str | None
    openrouter_app_title: str
    openrouter_models_ttl_s: float
    request_timeout_s: float


class OpenRouterImageProvider(ImageProvider):
    """Generates and edits images on OpenRouter; ``models()`` adds the live listing to the catalog."""

    provider_id = PROVIDER_ID

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout_s: float,
        app_url: str | None = None,
        app_title: str | None = None,
        models_ttl_s: float = 3600.0,
        http_client: httpx2.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._timeout_s = timeout_s
        self._headers = {
            k: v
            for k, v in (("HTTP-Referer", app_url), ("X-OpenRouter-Title", app_title), ("X-Title", app_title))
            if v
        }
        self._http_client = http_client
        self._client: AsyncOpenAI | None = None
        self._clock = clock
        self._ttl_s = models_ttl_s
        self._chat_until: dict[str, float] = {}  # unknown ids the image API 404'd, until when
        self._discovery = OpenRouterModelDiscovery(self._fetch_listing, ttl_s=models_ttl_s, clock=clock)

    # -- the port -------------------------------------------------------------------------
    def catalog(self) -> Sequence[ModelSpec]:
        return openrouter_catalog()

    async def models(self) -> Sequence[ModelSpec]:
        return merge_catalog(self.catalog(), await self._discovery.specs())

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        return await self._create(request)

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        return await self._create(request)

    async def probe(self) -> None:
        import httpx2

        # The model listings answer without a key; GET /key is as cheap and checks the key.
        ctx = ErrorContext(model="*", route="key", secret=self._api_key, **self._address())
        try:
            timeout = min(self._timeout_s, _DISCOVERY_TIMEOUT_S)
            await self._sdk().get("/key", cast_to=httpx2.Response, options={"timeout": timeout})
        except Exception as exc:
            raise translate_sdk_error(exc, ctx) from None

    async def aclose(self) -> None:
        await self._discovery.aclose()
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # -- calls ----------------------------------------------------------------------------
    def _sdk(self) -> AsyncOpenAI:
        """One client for every call, built on first use so that start-up never imports the SDK."""
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                max_retries=0,
                timeout=self._timeout_s,
                default_headers=without_openai_account_headers() | self._headers,
                http_client=self._http_client,
            )
        return self._client

    def _context(self, request: ProviderRequest, route: str) -> ErrorContext:
        return ErrorContext(
            model=request.model,
            route=route,
            replacement=request.spec.replacement,
            transparent=request.background is Background.TRANSPARENT,
            secret=self._api_key,
            **self._address(),
        )

    def _address(self) -> dict[str, Any]:
        return {"base_url": self._base_url, "base_url_set": self._base_url.rstrip("/") != DEFAULT_BASE_URL}

    async def _fetch_listing(self) -> object:
        import httpx2

        ctx = ErrorContext(model="*", route="images/models", secret=self._api_key, **self._address())
        try:
            response = await self._sdk().get(
                "/images/models",
                cast_to=httpx2.Response,
                options={"timeout": min(self._timeout_s, _DISCOVERY_TIMEOUT_S)},
            )
        except Exception as exc:
            raise translate_sdk_error(exc, ctx) from None
        return response.json()

    async def _create(self, request: ProviderRequest) -> ProviderResult:
        route = route_for(request.model)
        if route.api is Api.CHAT or self._chat_until.get(request.model, 0.0) > self._clock():
            return await self._via_chat(request, route if route.api is Api.CHAT else CHAT_ROUTE)
        try:
            return await self._via_images(request)
        except ModelNotFound as not_served:
            if request.spec.known or not_served.details.get("status") != 404:
                raise
            log.info("OpenRouter's image API does not serve %s; trying the chat route.", request.model)
            try:
                result = await self._via_chat(request, CHAT_ROUTE)
            except ModelNotFound:
                raise not_served from None
            self._chat_until[request.model] = self._clock() + self._ttl_s
            return result

    async def _via_images(self, request: ProviderRequest) -> ProviderResult:
        import httpx2

        ctx = self._context(request, Api.IMAGES.value)
        accepted = self._discovery.parameters_for(request.model) if request.spec.discovered else None
        body = await asyncio.to_thread(image_body, request, accepted)  # base64 of inputs: off the loop
        try:
            response = await self._sdk().post("/images", body=body, cast_to=httpx2.Response)
            payload = response.json()
        except ValueError:
            raise error_from_body({"code": 502, "message": "The image API sent invalid JSON."}, ctx) from None
        except Exception as exc:
            raise translate_sdk_error(exc, ctx) from None
        encoded, usage = read_image_payload(payload, ctx, request_id=response.headers.get("x-generation-id"))
        used = {k: body.get(k) for k in ("resolution", "aspect_ratio", "quality", "background")}
        # Decoding and inspecting megabytes of base64 is CPU work: off the event loop.
        return await asyncio.to_thread(
            build_result, request, encoded, usage, used | {"route": Api.IMAGES.value}
        )

    async def _via_chat(self, request: ProviderRequest, route: Route) -> ProviderResult:
        # Built once (base64 of every input image), whatever n: off the event loop.
        arguments = await asyncio.to_thread(chat_arguments, request, route)
        if request.n == 1:
            return await self._chat_once(request, arguments)
        # One image per chat request: n > 1 (only for a model that fell back here) runs in parallel.
        outcomes = await asyncio.gather(
            *(self._chat_once(request, arguments) for _ in range(request.n)), return_exceptions=True
        )
        return merge_results(outcomes, request.n)

    async def _chat_once(
        self, request: ProviderRequest, arguments: tuple[list[dict[str, Any]], dict[str, Any]]
    ) -> ProviderResult:
        ctx = self._context(request, Api.CHAT.value)
        messages, extra_body = arguments
        try:
            completion = await self._sdk().chat.completions.create(
                model=request.model,
                messages=messages,  # type: ignore[arg-type]
                extra_body=extra_body,
            )
        except Exception as exc:
            raise translate_sdk_error(exc, ctx) from None
        encoded, usage, upstream = read_completion(completion, ctx)
        used = {"resolution": request.size_label, "aspect_ratio": request.aspect_ratio}
        return await asyncio.to_thread(
            build_result,
            request,
            encoded,
            usage,
            used | {"route": Api.CHAT.value, "upstream_provider": upstream},
        )


def build_openrouter_provider(
    settings: OpenRouterSettings,
    *,
    http_client: httpx2.AsyncClient | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> OpenRouterImageProvider:
    """The adapter from settings. ``http_client`` (e.g. on ``httpx2.MockTransport``) is for tests."""
    if settings.openrouter_api_key is None or not settings.openrouter_api_key.get_secret_value():
        raise ProviderNotConfigured("OpenRouter needs OPENROUTER_API_KEY.", missing=["OPENROUTER_API_KEY"])
    return OpenRouterImageProvider(
        api_key=settings.openrouter_api_key.get_secret_value(),
        base_url=settings.openrouter_base_url,
        timeout_s=settings.request_timeout_s,
        app_url=settings.openrouter_app_url,
        app_title=settings.openrouter_app_title,
        models_ttl_s=settings.openrouter_models_ttl_s,
        http_client=http_client,
        clock=clock,
    )

"""Code the Gemini API and Vertex AI adapters share: both speak google-genai.

The SDK is imported inside functions only, so the server starts without loading it. Every SDK
call goes through :meth:`GoogleImageProvider._translated`, so only ``AppError`` leaves.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from adapters.imaging import as_accepted, image_size
from adapters.providers.google_catalog import VENDOR_DEFAULT_SIZE
from adapters.providers.google_errors import AuthHint, redacted, translate_error
from application.ports import ImageProvider
from domain.catalog import ModelSpec
from domain.errors import AppError, ContentBlocked, InvalidRequest, NoImage
from domain.images import GeneratedImage, ProviderResult, Usage
from domain.normalized import ProviderRequest
from domain.options import OutputFormat
from domain.secrets import shorten

if TYPE_CHECKING:
    import httpx2
    from google import genai
    from google.genai import types

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

# Finish reasons that mean the vendor's filters withheld the image (fact sheet §3.4). NO_IMAGE,
# IMAGE_OTHER, OTHER, STOP or MAX_TOKENS without an image are "no image", not a block.
BLOCKING_FINISH_REASONS = frozenset({
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR", "JAILBREAK",
})  # fmt: skip
_UNSPECIFIED = frozenset({"", "BLOCKED_REASON_UNSPECIFIED", "FINISH_REASON_UNSPECIFIED"})


def http_options(
    *, base_url: str | None, timeout_s: float, http_client: httpx2.AsyncClient, api_version: str | None = None
) -> types.HttpOptions:
    """Per-call timeout and base URL, and deliberately no ``retry_options``.

    google-genai retries nothing unless ``retry_options`` is set. The issue asks for retries
    "enabled explicitly with a bounded policy": that is application/retry.py, which wraps every
    provider call (bounded attempts, backoff, Retry-After, deadline). Turning on the SDK's
    retries too would multiply attempts and hide rate limits from that policy.
    """
    from google.genai import types

    return types.HttpOptions(
        base_url=base_url or None,  # None leaves the SDK's own choice (it also reads the env)
        # None keeps the SDK's default; an operator may move to another version (e.g. v1beta when
        # v1 refuses an image option) without a release.
        api_version=api_version or None,
        timeout=max(1, round(timeout_s * 1000)),  # milliseconds, unlike every other knob
        httpx_async_client=http_client,
    )


def native_size(request: ProviderRequest) -> str | None:
    """The size label to send, or None for models that take no size (the vendor's default)."""
    return request.size_label if request.size_label not in (None, "", VENDOR_DEFAULT_SIZE) else None


def content_config(request: ProviderRequest, *, vertex: bool) -> types.GenerateContentConfig:
    """Aspect ratio and size travel in ``image_config``, never as words in the prompt."""
    from google.genai import types

    image: dict[str, Any] = {"aspect_ratio": request.aspect_ratio, "image_size": native_size(request)}
    if vertex and request.output_format is OutputFormat.JPEG:
        # Only Vertex has an output-format knob; on the Gemini API the SDK refuses these fields.
        image["output_mime_type"] = OutputFormat.JPEG.media_type
        image["output_compression_quality"] = request.output_compression
    return types.GenerateContentConfig(
        response_modalities=["IMAGE"],
        image_config=types.ImageConfig(**{k: v for k, v in image.items() if v is not None}),
    )


def content_parts(request: ProviderRequest) -> list[Any]:
    """The instruction, then every input image as an inline part (edits describe regions in words).
    Blocking (Pillow, for a type the vendor does not take): call it in a worker thread."""
    from google.genai import types

    images = [as_accepted(image) for image in request.images]  # e.g. a GIF becomes PNG
    return [request.prompt] + [
        types.Part.from_bytes(data=image.data, mime_type=image.media_type) for image in images
    ]


def _name(value: object) -> str:
    """The wire name of an SDK enum (or a plain string), '' when unset."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def generated_image(data: bytes, request: ProviderRequest, provider: str) -> GeneratedImage | None:
    """Wrap returned bytes after proving from their magic bytes that they are an image."""
    try:
        media_type, width, height = image_size(data)
    except InvalidRequest:
        return None
    return GeneratedImage(data, media_type, width, height, provider=provider, model=request.model)


def parse_content_response(
    response: types.GenerateContentResponse, request: ProviderRequest, provider: str
) -> ProviderResult:
    """Images from a generateContent answer; a block becomes ContentBlocked, nothing NoImage.

    Safety blocks arrive as HTTP 200. Thought parts (reasoning drafts) are skipped, and of the
    final image parts the last ``request.n`` are kept.
    """
    feedback = response.prompt_feedback
    block = _name(feedback.block_reason) if feedback else ""
    if block not in _UNSPECIFIED:
        note = f": {feedback.block_reason_message}" if feedback and feedback.block_reason_message else ""
        raise ContentBlocked(
            f"{provider} blocked the prompt ({block}){note}", provider=provider, stage="input", reason=block
        )
    images: list[GeneratedImage] = []
    texts: list[str] = []
    finish, finish_message, categories = "", None, []
    for candidate in response.candidates or []:
        finish, finish_message = _name(candidate.finish_reason), candidate.finish_message
        categories = [_name(r.category) for r in candidate.safety_ratings or [] if r.blocked]
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.thought:
                continue
            if part.inline_data is not None and part.inline_data.data:
                image = generated_image(part.inline_data.data, request, provider)
                if image is not None:
                    images.append(image)
            elif part.text:
                texts.append(part.text)
    if not images:
        note = f": {finish_message}" if finish_message else ""
        if finish in BLOCKING_FINISH_REASONS:
            raise ContentBlocked(
                f"{provider} withheld the image ({finish}){note}",
                provider=provider,
                stage="output",
                reason=finish,
                categories=categories or None,
            )
        said = " ".join(texts).strip()
        raise NoImage(
            f"{provider}/{request.model} answered without an image"
            + (f" (finish reason {finish})" if finish else "")
            + (f"; it said: {shorten(said, 300)}" if said else note),
            provider=provider,
            finish_reason=finish or None,
        )
    kept = tuple(images[-request.n :])
    return ProviderResult(
        images=kept,
        usage=_usage(response.usage_metadata),
        used=_used(request, kept, response.model_version),
        warnings=_format_warnings(request, kept),
    )


def _usage(meta: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    if meta is None:
        return Usage()
    output = None
    if meta.candidates_token_count is not None or meta.thoughts_token_count is not None:
        output = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    return Usage(meta.prompt_token_count, output, meta.total_token_count)


def _used(request: ProviderRequest, images: Sequence[GeneratedImage], version: str | None) -> dict[str, Any]:
    label = request.size_label if request.size_label != VENDOR_DEFAULT_SIZE else None
    used: dict[str, Any] = {
        "aspect_ratio": request.aspect_ratio,
        "image_size": label,
        "output_format": images[0].media_type.removeprefix("image/"),
    }
    if version:
        used["model_version"] = version
    return used


def _format_warnings(request: ProviderRequest, images: Sequence[GeneratedImage]) -> tuple[str, ...]:
    wanted = request.output_format.media_type
    other = sorted({i.media_type for i in images if i.media_type != wanted})
    return (f"{wanted} was asked for; the vendor returned {', '.join(other)}.",) if other else ()


class GoogleImageProvider(ImageProvider):
    """Shared body of the Gemini API and Vertex AI adapters: one lazily built SDK client,
    reused for every call and closed by :meth:`aclose`; Gemini image models through
    ``generate_content``. Subclasses say how the client is built."""

    provider_id: str
    vertex: bool = False

    def __init__(
        self,
        catalog: Sequence[ModelSpec],
        *,
        timeout_s: float,
        base_url: str | None = None,
        api_version: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self._catalog = tuple(catalog)
        self._timeout_s = timeout_s
        self._base_url = base_url
        self._api_version = api_version
        self._http = http_client
        self._secrets = tuple(s for s in secrets if s)
        self._client: genai.Client | None = None
        self._lock = asyncio.Lock()

    def catalog(self) -> Sequence[ModelSpec]:
        return self._catalog

    async def models(self) -> Sequence[ModelSpec]:
        # The model list API has no output-modality field (fact sheet §3.2): nothing to discover.
        return self.catalog()

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        return await self._generate_content(request)

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        return await self._generate_content(request)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aio.aclose()
            client.close()  # the SDK also built a sync client; ours is the async one
        if self._http is not None:
            await self._http.aclose()

    def _new_client(self) -> genai.Client:
        """The configured ``genai.Client``. Blocking: importing google-genai and building its
        clients (SSL contexts, a sync httpx2 client, Vertex credentials) takes most of a second,
        which on the event loop would stall every other request, so :meth:`_sdk` runs it in a
        worker thread."""
        if self._http is None or self._http.is_closed:
            import httpx2

            # Always hand the SDK an httpx2 client: it would otherwise prefer aiohttp when
            # installed, which retries connection errors on its own and raises other types.
            self._http = httpx2.AsyncClient()
        options = http_options(
            base_url=self._base_url,
            timeout_s=self._timeout_s,
            http_client=self._http,
            api_version=self._api_version,
        )
        return self._client_from(options)

    @abstractmethod
    def _client_from(self, options: types.HttpOptions) -> genai.Client:
        """A configured ``genai.Client`` (blocking, in a worker thread); raises AppError for
        unusable configuration."""

    async def _sdk(self) -> genai.Client:
        async with self._lock:  # one build, even when fan-out calls arrive together
            if self._client is None:
                self._client = await asyncio.to_thread(self._new_client)
            return self._client

    async def _generate_content(self, request: ProviderRequest) -> ProviderResult:
        client = await self._sdk()
        contents = await asyncio.to_thread(content_parts, request)
        with self._translated(request):
            response = await client.aio.models.generate_content(
                model=request.model,
                contents=contents,
                config=content_config(request, vertex=self.vertex),
            )
        # Image bytes are inspected with Pillow: CPU work, off the event loop.
        return await asyncio.to_thread(parse_content_response, response, request, self.provider_id)

    def _auth_hint(self) -> AuthHint:
        """What to fix when the vendor rejects the credentials."""
        return AuthHint()

    @contextmanager
    def _translated(self, request: ProviderRequest) -> Iterator[None]:
        try:
            yield
        except AppError:
            raise
        except Exception as exc:
            error = translate_error(exc, request.spec, self.provider_id, self._auth_hint())
            if error is None:
                raise
            raise redacted(error, self._secrets) from None

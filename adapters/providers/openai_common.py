"""What the OpenAI and Azure OpenAI adapters share: the request they send, the answer they read,
and the translation of SDK exceptions into :mod:`domain.errors` (facts: providers.md §1, §2, §7).
OpenRouter, also reached through the OpenAI SDK, shares the headers it must not send.

The ``openai`` SDK (and Pillow, through the image helpers) is imported only when a call is made.
"""

from __future__ import annotations

import asyncio
import binascii
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pybase64

from adapters.imaging import COMMON_INPUT_TYPES, as_accepted, image_size
from adapters.masks import openai_mask
from adapters.providers.openai_catalog import wire_rules
from adapters.providers.openai_errors import content_block, item_block, retry_after
from adapters.vendor_errors import (
    MALFORMED,
    malformed_answer,
    model_not_found,
    retry_after_header,
    with_host,
)
from application.ports import ImageProvider
from domain import errors
from domain.catalog import ModelSpec
from domain.images import GeneratedImage, ImageData, ProviderResult, Usage
from domain.media import extension_for
from domain.normalized import ProviderRequest
from domain.options import Operation
from domain.secrets import shorten

if TYPE_CHECKING:
    from openai import AsyncOpenAI, OpenAIError
    from openai.types import ImagesResponse


def request_kwargs(request: ProviderRequest, model: str) -> dict[str, Any]:
    """The JSON fields of ``images.generate`` (and the non-file fields of ``images.edit``).

    GPT image models always answer in base64 and reject ``response_format`` and ``style``;
    retired DALL·E models answer with URLs unless ``response_format`` asks for base64 and know
    nothing of ``output_format``, ``background`` or ``output_compression``.
    """
    kwargs: dict[str, Any] = {"model": model, "prompt": request.prompt, "n": request.n}
    if request.width and request.height:
        kwargs["size"] = f"{request.width}x{request.height}"
    if request.quality is not None:
        kwargs["quality"] = request.quality
    if wire_rules(request.model).dall_e:
        kwargs["response_format"] = "b64_json"
        return kwargs
    kwargs["output_format"] = request.output_format.value
    if request.background is not None:
        kwargs["background"] = request.background.value
    if request.output_compression is not None:
        kwargs["output_compression"] = request.output_compression
    return kwargs


def edit_kwargs(request: ProviderRequest, model: str, accepted: frozenset[str]) -> dict[str, Any]:
    """``images.edit`` arguments: files as ``(filename, bytes, mime)`` so each multipart part has
    a name and type; one image goes as ``image``, several as repeated ``image[]``. Blocking
    (Pillow): run it in a thread."""
    kwargs = request_kwargs(request, model)
    files = [_input_file(image, index, accepted) for index, image in enumerate(request.images)]
    kwargs["image"] = files[0] if len(files) == 1 else files
    if request.mask is not None:
        # The vendor applies the mask to the first image and wants exactly its size.
        _, width, height = image_size(files[0][1])
        kwargs["mask"] = ("mask.png", openai_mask(request.mask.data, (width, height)), "image/png")
    # No knob asks for fidelity directly: a "high" quality edit keeps the input's faces and
    # details where the model offers it; otherwise the vendor default (low) applies.
    if request.quality == "high" and "high" in wire_rules(request.model).input_fidelity:
        kwargs["input_fidelity"] = "high"
    return kwargs


def without_openai_account_headers() -> dict[str, Any]:
    """Headers for another vendor reached through the OpenAI SDK. The SDK would add
    OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment: they are the OpenAI vendor's
    settings and must not travel anywhere else."""
    from openai import Omit

    return {"OpenAI-Organization": Omit(), "OpenAI-Project": Omit()}


def _input_file(image: ImageData, index: int, accepted: frozenset[str]) -> tuple[str, bytes, str]:
    image = as_accepted(image, accepted)  # e.g. a GIF: its first frame, as PNG
    return f"image-{index + 1}.{extension_for(image.media_type)}", image.data, image.media_type


def to_result(
    response: ImagesResponse, request: ProviderRequest, sent: Mapping[str, Any], adapter: OpenAIImagesAdapter
) -> ProviderResult:
    """Decode the base64 images and report what the vendor says it used."""
    request_id = getattr(response, "_request_id", None)
    payloads = [item.b64_json for item in response.data or () if item.b64_json]
    if not payloads:
        raise _empty_answer(response, request, adapter, request_id)
    images = tuple(_decode(payload, request, adapter, request_id) for payload in payloads)
    first = images[0]
    real_format = first.media_type.removeprefix("image/")
    used: dict[str, Any] = {
        "size": response.size or f"{first.width}x{first.height}",
        "quality": response.quality or sent.get("quality"),
        "background": response.background or sent.get("background"),
        "output_format": response.output_format or real_format,
    }
    for key in ("input_fidelity", "output_compression"):
        if key in sent:
            used[key] = sent[key]
    if sent["model"] != request.model:
        used["deployment"] = sent["model"]
    revised = next((item.revised_prompt for item in response.data or () if item.revised_prompt), None)
    if revised:
        used["revised_prompt"] = revised
    warnings = []
    if withheld := _withheld(response):
        what = ", ".join(sorted({c for b in withheld for c in b["categories"]}))
        warnings.append(f"{adapter.vendor}'s content filter withheld {len(withheld)} image(s) ({what}).")
    if response.size and "size" in sent and response.size != sent["size"]:
        warnings.append(f"{adapter.vendor} made {response.size} instead of the requested {sent['size']}.")
    if "output_format" in sent and real_format != sent["output_format"]:
        warnings.append(f"{adapter.vendor} returned {real_format} instead of {sent['output_format']}.")
    usage = response.usage
    return ProviderResult(
        images=images,
        usage=Usage(usage.input_tokens, usage.output_tokens, usage.total_tokens) if usage else Usage(),
        used=used,
        warnings=tuple(warnings),
    )


def _decode(
    payload: str, request: ProviderRequest, adapter: OpenAIImagesAdapter, rid: str | None
) -> GeneratedImage:
    try:
        data = pybase64.b64decode(payload, validate=True)
        media_type, width, height = image_size(data)
    except (binascii.Error, ValueError):
        raise errors.NoImage(
            f"{adapter.vendor} answered with data that is not an image.",
            provider=adapter.provider_id, model=request.model, request_id=rid,
        ) from None  # fmt: skip
    return GeneratedImage(data, media_type, width, height, adapter.provider_id, request.model)


def _withheld(response: ImagesResponse) -> list[dict[str, Any]]:
    """Azure's way of filtering inside an HTTP 200: data items with no image whose filter
    results are flagged (one per withheld image)."""
    items = (item for item in response.data or () if not item.b64_json)
    return [blocked for item in items if (blocked := item_block(item.model_extra or {})) is not None]


def _empty_answer(
    response: ImagesResponse, request: ProviderRequest, adapter: OpenAIImagesAdapter, rid: str | None
) -> errors.AppError:
    where = {"provider": adapter.provider_id, "model": request.model, "request_id": rid}
    error = (response.model_extra or {}).get("error")  # Azure may report a filter with HTTP 200
    if isinstance(error, dict) and (blocked := content_block(error)) is not None:
        message = adapter.scrub(str(error.get("message") or "filtered"))
        return errors.ContentBlocked(
            f"{adapter.vendor}'s safety system refused: {message}", **blocked, **where
        )
    if withheld := _withheld(response):
        blocked = withheld[0]
        what = ", ".join(blocked["categories"])
        return errors.ContentBlocked(
            f"{adapter.vendor}'s content filter withheld the image ({blocked['stage']}: {what}).",
            **blocked,
            **where,
        )
    if any(item.url for item in response.data or ()):
        return errors.NoImage(f"{adapter.vendor} answered with a URL instead of image bytes.", **where)
    return errors.NoImage(f"{adapter.vendor} answered without any image and gave no reason.", **where)


class OpenAIImagesAdapter(ImageProvider):
    """An ImageProvider over an OpenAI-shaped Images API, with one SDK client built on first use,
    reused for every call and closed by :meth:`aclose`. The SDK's retries are off
    (``max_retries=0``): ``application.retry`` is the only retry policy.

    Subclasses build the client, name the model on the wire and may add a 404 hint.
    """

    provider_id: str
    vendor: str
    credential_hint: str
    base_url_setting: str  # the variable that overrides the address (named in network errors)
    input_media_types: frozenset[str] = COMMON_INPUT_TYPES
    base_url_set = False

    def __init__(self, catalog: Sequence[ModelSpec], *, timeout_s: float, secrets: Sequence[str]) -> None:
        self._catalog = tuple(catalog)
        self.timeout_s = timeout_s
        self._secrets = tuple(s for s in secrets if s)
        self._client: AsyncOpenAI | None = None

    @abstractmethod
    def _build_client(self) -> AsyncOpenAI:
        """A new SDK client; raises AppError (ProviderNotConfigured) or openai.OpenAIError."""

    def wire_model(self, spec: ModelSpec) -> str:
        return spec.model

    def not_found_hint(self, spec: ModelSpec) -> str:
        return ""

    def scrub(self, text: str) -> str:
        """Vendors may echo a credential in an error message; it never leaves the adapter."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def catalog(self) -> Sequence[ModelSpec]:
        return self._catalog

    async def models(self) -> Sequence[ModelSpec]:
        return self._catalog

    async def generate(self, request: ProviderRequest) -> ProviderResult:
        return await self._call(request, request_kwargs(request, self.wire_model(request.spec)))

    async def edit(self, request: ProviderRequest) -> ProviderResult:
        model = self.wire_model(request.spec)
        kwargs = await asyncio.to_thread(edit_kwargs, request, model, self.input_media_types)
        return await self._call(request, kwargs)

    async def probe(self) -> None:
        import openai

        try:
            if self._client is None:
                self._client = self._build_client()
            await self._client.models.list()
        except openai.OpenAIError as exc:
            raise self.probe_error(exc) from None
        except MALFORMED as exc:
            raise malformed_answer(self.vendor, exc, provider=self.provider_id) from None

    def probe_error(self, exc: OpenAIError) -> errors.AppError:
        """A failed model listing as an AppError (no request to word it after)."""
        import openai

        where: dict[str, Any] = {"provider": self.provider_id}
        if isinstance(exc, openai.APIStatusError):
            said = self.scrub(str(exc.message))[:300]
            where["status"] = exc.status_code
            if exc.status_code == 401:
                return errors.AuthFailed(
                    f"{self.vendor} rejected the credentials: {said}", setting=self.credential_hint, **where
                )
            if exc.status_code == 403:
                return errors.PermissionDenied(f"{self.vendor} denied the model listing: {said}", **where)
            if exc.status_code == 429:
                return errors.RateLimited(f"{self.vendor} is rate limiting: {said}", **where)
            return errors.ProviderUnavailable(
                f"{self.vendor} answered the model listing with HTTP {exc.status_code}: {said} "
                f"(is {self.base_url_setting} right?)",
                **where,
            )
        return self._transport_error(exc, where) or errors.ProviderNotConfigured(
            f"The {self.vendor} client cannot be built: {self.scrub(str(exc))}", provider=self.provider_id
        )

    def _transport_error(self, exc: OpenAIError, where: dict[str, Any]) -> errors.AppError | None:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return errors.ProviderTimeout(
                f"{self.vendor} did not answer within {self.timeout_s:g} s.",
                timeout_s=self.timeout_s,
                **where,
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            error = errors.NetworkError(f"{self.vendor} could not be reached ({cause}).", **where)
            url = str(self._client.base_url) if self._client is not None else None
            return with_host(error, url, self.base_url_setting, self.base_url_set)
        return None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def _call(self, request: ProviderRequest, kwargs: dict[str, Any]) -> ProviderResult:
        import openai

        try:
            if self._client is None:
                self._client = self._build_client()
            images = self._client.images
            call = images.edit if request.operation is Operation.EDIT else images.generate
            response = await call(**kwargs)
        except openai.OpenAIError as exc:
            raise self.translate(exc, request) from None
        except MALFORMED as exc:  # e.g. an empty or non-JSON 200 body
            raise malformed_answer(self.vendor, exc, provider=self.provider_id) from None
        sent = {k: v for k, v in kwargs.items() if k not in ("image", "mask", "prompt")}
        try:
            # Decoding and inspecting megabytes of base64 is CPU work: off the event loop.
            return await asyncio.to_thread(to_result, response, request, sent, self)
        except errors.AppError:
            raise
        except MALFORMED as exc:  # a 200 whose body is not an ImagesResponse
            raise malformed_answer(self.vendor, exc, provider=self.provider_id) from None

    def translate(self, exc: OpenAIError, request: ProviderRequest) -> errors.AppError:
        """The one place SDK exceptions become domain errors. Details never hold the key."""
        import openai

        where: dict[str, Any] = {"provider": self.provider_id, "model": request.model}
        if (transport := self._transport_error(exc, where)) is not None:
            return transport
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, request, where)
        if isinstance(exc, openai.APIResponseValidationError):
            return errors.ProviderUnavailable(f"{self.vendor} answered with malformed data.", **where)
        return errors.ProviderNotConfigured(
            f"The {self.vendor} client cannot be built: {self.scrub(str(exc))}", provider=self.provider_id
        )

    def _status_error(self, exc: Any, request: ProviderRequest, where: dict[str, Any]) -> errors.AppError:
        body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
        status: int = exc.status_code
        # A proxy may send a whole page: shortened, after every secret is out.
        message = shorten(self.scrub(str(body.get("message") or exc.message)), 500)
        request_id = exc.request_id or exc.response.headers.get("apim-request-id")
        where |= {"status": status, "request_id": request_id, "vendor_code": exc.code}
        vendor, model = self.vendor, request.model
        blocked = content_block(body) if status < 500 else None
        if blocked is not None:
            return errors.ContentBlocked(f"{vendor}'s safety system refused: {message}", **blocked, **where)
        if status == 401:
            return errors.AuthFailed(
                f"{vendor} rejected the credentials: {message}", setting=self.credential_hint, **where
            )
        if status == 403:
            return errors.PermissionDenied(f"{vendor} denied access to {model}: {message}", **where)
        if status == 404:
            return model_not_found(
                request.spec, self.vendor, message, self.not_found_hint(request.spec), **where
            )
        if status == 429:
            if "insufficient_quota" in (exc.code, exc.type):
                return errors.QuotaExhausted(f"{vendor} quota is exhausted: {message}", **where)
            wait = retry_after(exc.response.headers)
            return errors.RateLimited(f"{vendor} is rate limiting: {message}", retry_after=wait, **where)
        if status == 408:
            return errors.ProviderTimeout(f"{vendor} timed out: {message}", **where)
        if status >= 500 or status == 409:
            # A 503 may say when to come back, as a 429 does; application.retry honours it.
            return errors.ProviderUnavailable(
                f"{vendor} failed on its side: {message}",
                retry_after=retry_after_header(exc.response.headers),
                **where,
            )
        if exc.param == "background" and request.background is not None:
            return errors.UnsupportedOption(
                f"{model} refused background={request.background.value}: {message}",
                option="background",
                **where,
            )
        return errors.InvalidRequest(f"{vendor} rejected the request: {message}", param=exc.param, **where)

"""OpenRouter request bodies and response parsing, for both routes. Pure functions: no I/O.

Image API: ``POST /images`` with ``model``, ``prompt`` and the knobs a model takes; the answer
is ``{"data": [{"b64_json", "media_type"}], "usage": {..., "cost"}}``. Chat route: one user
message (text, plus ``image_url`` parts for edits) with ``modalities`` and ``image_config``
in the body; images come back as data URLs in ``choices[0].message.images``. Either may carry
an ``error`` object inside an HTTP 200.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import pybase64

from adapters.imaging import as_accepted, image_size
from adapters.providers.openrouter_catalog import PROVIDER_ID as PROVIDER
from adapters.providers.openrouter_catalog import Route
from adapters.providers.openrouter_errors import ErrorContext, error_from_body
from domain.errors import AppError, ContentBlocked, InvalidRequest, NoImage
from domain.images import GeneratedImage, ImageData, ProviderResult, Usage
from domain.normalized import ProviderRequest

# Keys always sent to the image API; for a discovered model, the others only when it lists them.
ALWAYS_SENT = frozenset({"model", "prompt", "input_references"})


def data_url(image: ImageData) -> str:
    image = as_accepted(image)  # e.g. a GIF becomes PNG: providers behind OpenRouter differ
    return f"data:{image.media_type};base64,{pybase64.b64encode(image.data).decode('ascii')}"


def image_body(request: ProviderRequest, accepted: frozenset[str] | None = None) -> dict[str, Any]:
    """The ``POST /images`` body. ``accepted`` (the parameters a discovered model lists) filters it."""
    spec = request.spec
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
    if spec.max_n > 1:  # single-image providers reject n
        body["n"] = request.n
    if request.size_label:
        body["resolution"] = request.size_label
    body["aspect_ratio"] = request.aspect_ratio
    if request.quality:
        body["quality"] = request.quality
    if request.background is not None and spec.transparency:  # opaque is what the others make anyway
        body["background"] = request.background.value
    if len(spec.output_formats) > 1:  # a single-format model has no output_format knob
        body["output_format"] = request.output_format.value
        if request.output_compression is not None:
            body["output_compression"] = request.output_compression
    if request.images:
        body["input_references"] = [
            {"type": "image_url", "image_url": {"url": data_url(image)}} for image in request.images
        ]
    if accepted is not None:
        body = {k: v for k, v in body.items() if k in ALWAYS_SENT or k in accepted}
    return body


def chat_arguments(request: ProviderRequest, route: Route) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``messages`` and ``extra_body`` for ``chat.completions.create``. The SDK types
    ``modalities`` as text/audio only, so it travels in ``extra_body`` with ``image_config``."""
    content: str | list[dict[str, Any]] = request.prompt
    if request.images:
        content = [{"type": "text", "text": request.prompt}] + [
            {"type": "image_url", "image_url": {"url": data_url(image)}} for image in request.images
        ]
    image_config = {"aspect_ratio": request.aspect_ratio}
    if request.size_label:
        image_config["image_size"] = request.size_label
    extra_body = {"modalities": list(route.modalities), "image_config": image_config}
    return [{"role": "user", "content": content}], extra_body


def _error_object(error: object) -> Mapping[str, Any] | None:
    """An ``error`` found in a 200 body, as an object: some upstreams send a bare string."""
    if isinstance(error, Mapping):
        return error
    if isinstance(error, str) and error.strip():
        return {"message": error}
    return None


def read_image_payload(
    payload: object, ctx: ErrorContext, *, request_id: str | None = None
) -> tuple[list[str], Mapping[str, Any]]:
    """(base64 images, usage) of an image API answer; raises for an error inside an HTTP 200."""
    if not isinstance(payload, Mapping):
        raise NoImage("OpenRouter's image API answered without an image.", provider=PROVIDER, model=ctx.model)
    error = _error_object(payload.get("error"))
    if error is not None:
        raise error_from_body(error, ctx, request_id=request_id)
    items = payload.get("data") if isinstance(payload.get("data"), list) else []
    encoded = [item.get("b64_json") for item in items if isinstance(item, Mapping)]
    usage = payload.get("usage") if isinstance(payload.get("usage"), Mapping) else {}
    return [text for text in encoded if isinstance(text, str) and text], usage


def read_completion(completion: Any, ctx: ErrorContext) -> tuple[list[str], Mapping[str, Any], str | None]:
    """(base64 images, usage, upstream provider) of a chat completion.

    Raises the mapped error for ``error`` / ``finish_reason: "error"`` (HTTP 200),
    ``ContentBlocked`` for a refusal or content filter, ``NoImage`` for a text-only answer.
    """
    extra = completion.model_extra or {}
    choices = getattr(completion, "choices", None) or []
    choice = choices[0] if choices else None
    error = _error_object(
        ((choice.model_extra or {}) if choice is not None else {}).get("error") or extra.get("error")
    )
    finish = getattr(choice, "finish_reason", None)
    if error is not None or finish == "error":
        raise error_from_body(error or {"message": "finish_reason=error"}, ctx)
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if finish == "content_filter" or refusal:
        raise ContentBlocked(
            f"OpenRouter refused the request on content grounds: {ctx.clean(refusal or finish)}",
            provider=PROVIDER,
            model=ctx.model,
            reason="refusal" if refusal else "content_filter",
        )
    parts = ((message.model_extra or {}).get("images") if message is not None else None) or []
    urls = [_url_of(part) for part in parts if isinstance(part, Mapping)]
    encoded = [url.split(",", 1)[1] for url in urls if url and url.startswith("data:") and "," in url]
    if not encoded:
        text = ctx.clean(getattr(message, "content", None) or "")
        raise NoImage(
            "OpenRouter's chat route answered without an image" + (f": {text}" if text else "."),
            provider=PROVIDER,
            model=ctx.model,
            route="chat",
        )
    usage = completion.usage.model_dump() if getattr(completion, "usage", None) is not None else {}
    upstream = extra.get("provider")
    return encoded[:1], usage, upstream if isinstance(upstream, str) else None


def decode_images(encoded: Sequence[str], request: ProviderRequest) -> list[GeneratedImage]:
    """Bytes, real media type and pixel size of each image (at most ``request.n``)."""
    images: list[GeneratedImage] = []
    for text in encoded[: request.n]:
        try:
            data = pybase64.b64decode(text, validate=True)
            media_type, width, height = image_size(data)
        except (binascii.Error, ValueError, InvalidRequest):
            raise NoImage(
                "OpenRouter returned data that is not a readable image.",
                provider=PROVIDER,
                model=request.model,
            ) from None
        images.append(GeneratedImage(data, media_type, width, height, PROVIDER, request.model))
    if not images:
        raise NoImage(
            "OpenRouter answered without an image and gave no reason.", provider=PROVIDER, model=request.model
        )
    return images


def build_result(
    request: ProviderRequest, encoded: Sequence[str], usage: Mapping[str, Any], used: dict[str, Any]
) -> ProviderResult:
    """The images with usage (cost goes in ``used``), and warnings where OpenRouter differed."""
    images = decode_images(encoded, request)
    warnings: list[str] = []
    actual = images[0].media_type.removeprefix("image/")
    if actual != request.output_format.value:
        warnings.append(f"Asked for {request.output_format.value}; OpenRouter returned {actual}.")
    if len(images) < request.n:
        warnings.append(f"Asked for {request.n} images; OpenRouter returned {len(images)}.")
    cost = usage.get("cost")
    used |= {
        "output_format": actual,
        "size": f"{images[0].width}x{images[0].height}",
        "cost": cost if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
    }
    return ProviderResult(
        images=tuple(images),
        usage=Usage(
            input_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            total_tokens=_count(usage.get("total_tokens")),
        ),
        used={k: v for k, v in used.items() if v is not None},
        warnings=tuple(warnings),
    )


def merge_results(outcomes: Sequence[ProviderResult | BaseException], n: int) -> ProviderResult:
    """Several one-image calls as one result; the images that came back are kept when some fail."""
    results = [o for o in outcomes if isinstance(o, ProviderResult)]
    failures = [o for o in outcomes if not isinstance(o, ProviderResult)]
    unexpected = [f for f in failures if not isinstance(f, AppError)]
    if unexpected or not results:
        raise (unexpected or failures)[0]
    used = dict(results[0].used)
    costs = [r.used.get("cost") for r in results]
    # Each chat call billed its own cost: the sum is what the caller paid (unknown if one is).
    used.pop("cost", None)
    if all(isinstance(c, int | float) for c in costs):
        used["cost"] = sum(c for c in costs if isinstance(c, int | float))
    return ProviderResult(
        images=tuple(image for result in results for image in result.images),
        usage=sum((r.usage for r in results[1:]), results[0].usage),
        used=used,
        warnings=(
            *results[0].warnings,
            *(f"One of {n} chat calls failed: {f.message}" for f in failures if isinstance(f, AppError)),
        ),
    )


def _url_of(part: Mapping[str, Any]) -> str | None:
    inner = part.get("image_url")
    url = inner.get("url") if isinstance(inner, Mapping) else inner
    return url if isinstance(url, str) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

"""OpenRouter failures → ``AppError``: HTTP errors raised by the openai SDK, and errors that
arrive inside an HTTP 200 body.

OpenRouter's error body is ``{"error": {"code", "message", "metadata": {...}}}``; the HTTP
status equals ``code`` for request errors. ``metadata.error_type`` (sometimes ``error.error_type``)
is the stable field to branch on, ``metadata.reasons`` marks a moderation flag, and
``error.availability`` says why a model cannot be served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from adapters.providers.openrouter_catalog import PROVIDER_ID as PROVIDER
from adapters.vendor_errors import retry_after_header
from domain.errors import (
    AppError,
    AuthFailed,
    ContentBlocked,
    InvalidRequest,
    ModelNotFound,
    NetworkError,
    PermissionDenied,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    UnsupportedOption,
)
from domain.secrets import shorten

BLOCKED_TYPES = frozenset(
    {"content_policy_violation", "content_filter", "refusal", "moderation", "guardrail", "safety"}
)
_UNAVAILABLE_TYPES = frozenset({"provider_overloaded", "provider_unavailable", "server", "unmapped"})
_INVALID_TYPES = frozenset({"invalid_request", "invalid_image", "image_too_large", "invalid_parameter"})
_MODEL_GONE = frozenset({"model_not_found", "model_deprecated", "no_endpoints"})
_MAX_MESSAGE = 300


@frozen
class ErrorContext:
    """What the call was about, to word the error and fill ``details``; ``secret`` (the API
    key) is scrubbed from any text the vendor sends back and never shown in a repr."""

    model: str
    route: str
    replacement: str | None = None
    transparent: bool = False
    secret: str = field(default="", repr=False)

    def clean(self, text: object) -> str:
        # Secrets out before the cut: a key straddling it would otherwise leave its prefix.
        words = " ".join(str(text).split())
        words = words.replace(self.secret, "***") if self.secret else words
        return shorten(words, _MAX_MESSAGE)


def error_from_body(
    error: Mapping[str, Any],
    ctx: ErrorContext,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    request_id: str | None = None,
) -> AppError:
    """One OpenRouter ``error`` object (with the HTTP status when there was one) as an AppError."""
    metadata = error.get("metadata") if isinstance(error.get("metadata"), Mapping) else {}
    availability = error.get("availability") if isinstance(error.get("availability"), Mapping) else {}
    code = status if status and status >= 400 else _int(error.get("code")) or _int(error.get("http_status"))
    error_type = _str(metadata.get("error_type")) or _str(error.get("error_type"))
    said = ctx.clean(error.get("message") or f"HTTP {code or 'error'}")
    if retry_after is None and isinstance(availability.get("retry_after"), int | float):
        retry_after = float(availability["retry_after"])
    details: dict[str, Any] = {
        "provider": PROVIDER,
        "model": ctx.model,
        "route": ctx.route,
        "status": code,
        "request_id": request_id,
        "error_type": error_type,
        "availability": _str(availability.get("code")),
        "upstream_provider": _str(metadata.get("provider_name")),
    }
    reasons = metadata.get("reasons")
    if error_type in BLOCKED_TYPES or (isinstance(reasons, list) and reasons):
        reason_list = [ctx.clean(r) for r in reasons] if isinstance(reasons, list) else []
        return ContentBlocked(
            f"OpenRouter refused the request on content grounds: {said}",
            reason=error_type or "moderation",
            reasons=reason_list or None,
            **details,
        )
    if code == 401:
        return AuthFailed(f"OpenRouter rejected OPENROUTER_API_KEY: {said}", **details)
    if code == 402:
        return QuotaExhausted(
            f"OpenRouter says the account is out of credits (add credits, then retry): {said}", **details
        )
    if code == 403:
        return PermissionDenied(f"OpenRouter does not allow this request: {said}", **details)
    if code == 404 or (code in (400, 410) and _str(availability.get("code")) in _MODEL_GONE):
        return model_not_found(ctx, said, fallbacks=availability.get("fallback_models"), **details)
    # 524 is the edge's own timeout: the upstream took longer than the edge waits, which is a
    # timeout (a longer deadline may succeed), not a failing provider.
    if code in (408, 524) or (code is None and error_type == "timeout"):
        return ProviderTimeout(f"OpenRouter timed out: {said}", **details)
    if code == 429 or (code is None and error_type == "rate_limit_exceeded"):
        return RateLimited(f"OpenRouter is rate limiting: {said}", retry_after=retry_after, **details)
    if (code is not None and code >= 500) or (code is None and error_type in _UNAVAILABLE_TYPES):
        return ProviderUnavailable(
            f"OpenRouter or its upstream provider failed: {said}", retry_after=retry_after, **details
        )
    if ctx.transparent and "background" in said.lower():
        return UnsupportedOption(
            f"{ctx.model} refused a transparent background on OpenRouter: {said}",
            option="background",
            **details,
        )
    if code is not None or error_type in _INVALID_TYPES:
        return InvalidRequest(f"OpenRouter rejected the request: {said}", **details)
    return ProviderUnavailable(f"OpenRouter reported an error: {said}", **details)


def model_not_found(
    ctx: ErrorContext, said: str, *, fallbacks: object = None, **details: Any
) -> ModelNotFound:
    instead = ctx.replacement or (
        ", ".join(ctx.clean(f) for f in fallbacks[:3]) if isinstance(fallbacks, list) and fallbacks else None
    )
    hint = f" Use {instead} instead." if instead else " See get_model_capabilities for the models it lists."
    return ModelNotFound(
        f"OpenRouter does not serve {ctx.model}: {said}.{hint}", replacement=instead, **details
    )


def translate_sdk_error(exc: Exception, ctx: ErrorContext) -> AppError:
    """An openai SDK exception (raised while calling OpenRouter) as an AppError."""
    import openai

    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout(
            "OpenRouter did not answer in time.", provider=PROVIDER, model=ctx.model, route=ctx.route
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        return NetworkError(
            f"OpenRouter could not be reached ({cause}).", provider=PROVIDER, model=ctx.model, route=ctx.route
        )
    if isinstance(exc, openai.APIStatusError):
        headers = exc.response.headers
        body = exc.body if isinstance(exc.body, Mapping) else {}
        if not body.get("message") and isinstance(exc.body, str) and exc.body.lstrip()[:1] not in ("<", ""):
            body = {**body, "message": exc.body}  # a plain-text error; HTML pages are not worth quoting
        return error_from_body(
            body,
            ctx,
            status=exc.status_code,
            retry_after=retry_after_header(headers),
            request_id=exc.request_id or headers.get("x-generation-id"),
        )
    return ProviderUnavailable(
        f"OpenRouter answered in a way the client could not use ({type(exc).__name__}).",
        provider=PROVIDER,
        model=ctx.model,
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None

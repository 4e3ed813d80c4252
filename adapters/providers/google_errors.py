"""google-genai, google-auth and httpx2 exceptions as AppErrors, shared by the Gemini API and
Vertex AI adapters (fact sheet §7). Messages keep the vendor's words but never a key."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.vendor_errors import malformed_answer, model_not_found, retry_after_header
from domain.catalog import ModelSpec
from domain.errors import (
    AppError,
    AuthFailed,
    ContentBlocked,
    InvalidRequest,
    NetworkError,
    PermissionDenied,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
)

# Shorter "secrets" are test placeholders; replacing them would garble every message.
_MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class AuthHint:
    """What to tell the user to fix when Google rejects the credentials."""

    text: str = ""
    variable: str | None = None


# 409 ABORTED and 499 CANCELLED: Google gave up on a request we were still waiting for (a
# conflict or a server-side cancel). The request itself was fine; google.rpc says retry.
_VENDOR_SIDE_4XX = frozenset({409, 499})

_KEY_IN_QUERY = re.compile(r"([?&](?:key|api_key|access_token)=)[^&\s'\"]+", re.IGNORECASE)


def translate_error(
    exc: BaseException, spec: ModelSpec, provider: str, hint: AuthHint = AuthHint()
) -> AppError | None:
    """One vendor, SDK, auth or transport exception as an AppError; None when it is none of them."""
    import httpx2
    from google.auth import exceptions as auth_errors
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        return _api_error(exc, spec, provider, hint)
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderTimeout(
            f"{provider} did not answer in time ({type(exc).__name__}).", provider=provider
        )
    if isinstance(exc, httpx2.TransportError):
        return NetworkError(
            f"{provider} could not be reached: {type(exc).__name__}: {exc}", provider=provider
        )
    if isinstance(exc, httpx2.RequestError):  # e.g. a body that does not decode: the vendor's fault
        return ProviderUnavailable(
            f"{provider} sent an answer that could not be read ({type(exc).__name__}).", provider=provider
        )
    if isinstance(exc, auth_errors.RefreshError):
        if getattr(exc, "retryable", False):
            return ProviderUnavailable(f"Google's token endpoint failed: {exc}", provider=provider)
        said = str(exc.args[0] if exc.args else exc).rstrip(".")  # args[1] is the raw token response
        return AuthFailed(
            f"Google refused the credentials: {said}.{hint.text}", provider=provider, variable=hint.variable
        )
    if isinstance(exc, auth_errors.TransportError):
        return NetworkError(f"Google's token endpoint could not be reached: {exc}", provider=provider)
    if isinstance(exc, auth_errors.DefaultCredentialsError):
        return AuthFailed(
            f"No Google credentials were found.{hint.text}", provider=provider, variable=hint.variable
        )
    import pydantic  # loaded with the SDK already; kept off the start-up path

    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        # The vendor's 200 body is no JSON or not the documented shape: its fault, not the caller's.
        return malformed_answer(provider, exc, provider=provider)
    if isinstance(exc, ValueError):  # the SDK validates some fields before sending
        return InvalidRequest(f"{provider} SDK refused the request: {exc}", provider=provider)
    return None


_RAI_REFUSAL = re.compile(r"responsible ai|violates? .*polic|support codes?:|safety filter", re.IGNORECASE)


def _api_error(exc: Any, spec: ModelSpec, provider: str, hint: AuthHint) -> AppError:
    body = exc.details if isinstance(exc.details, Mapping) else {}
    error = body.get("error", body)
    entries = (
        [d for d in error.get("details") or [] if isinstance(d, Mapping)]
        if isinstance(error, Mapping)
        else []
    )
    reasons = {str(d.get("reason")) for d in entries if d.get("reason")}
    code, status = int(exc.code or 0), str(exc.status or "")
    vendor = str(exc.message or status or "no message").strip().rstrip(".")
    facts: dict[str, Any] = {"provider": provider, "http_status": code, "vendor_status": status or None}
    facts["reason"] = ", ".join(sorted(reasons)) or None
    said = f"{provider} answered {code} {status}: {vendor}"
    if code == 401 or reasons & {"API_KEY_INVALID", "ACCESS_TOKEN_EXPIRED", "CREDENTIALS_MISSING"}:
        return AuthFailed(f"{said}.{hint.text}", variable=hint.variable, **facts)
    if code == 403:
        return PermissionDenied(said, **facts)
    if code == 404:
        return model_not_found(spec, "Google", said, **facts)
    if code == 400 and _RAI_REFUSAL.search(vendor):
        # Imagen refuses prompts that its Responsible AI filters block with a 400 whose message
        # names them (and gives support codes): a safety block, not a malformed request.
        return ContentBlocked(said, stage="input", **facts)
    if code == 429:
        retry_after = _retry_after(entries, exc)
        if _daily_or_zero_quota(entries):
            return QuotaExhausted(f"{said} (a daily or zero quota: retrying soon will not help)", **facts)
        return RateLimited(said, retry_after=retry_after, **facts)
    # 504 DEADLINE_EXCEEDED: the request outlived Google's own deadline for it.
    if code in (408, 504) or status == "DEADLINE_EXCEEDED":
        return ProviderTimeout(said, **facts)
    if code in _VENDOR_SIDE_4XX:
        return ProviderUnavailable(said, retry_after=_retry_after(entries, exc), **facts)
    if 400 <= code < 500:
        return InvalidRequest(said, **facts)
    return ProviderUnavailable(said, retry_after=_retry_after(entries, exc), **facts)


def _retry_after(entries: Sequence[Mapping[str, Any]], exc: Any) -> float | None:
    for entry in entries:
        delay = entry.get("retryDelay")
        if str(entry.get("@type", "")).endswith("RetryInfo") and isinstance(delay, str):
            try:
                return float(delay.removesuffix("s"))
            except ValueError:
                continue
    return retry_after_header(getattr(getattr(exc, "response", None), "headers", None) or {})


def _daily_or_zero_quota(entries: Sequence[Mapping[str, Any]]) -> bool:
    for entry in entries:
        for violation in entry.get("violations") or []:
            if not isinstance(violation, Mapping):
                continue
            if "PerDay" in str(violation.get("quotaId", "")) or str(violation.get("quotaValue")) == "0":
                return True
    return False


def redacted(error: AppError, secrets: Sequence[str]) -> AppError:
    """Keys travel in headers, but scrub them (and any key= query) from text we pass on."""

    # The SDK strips whitespace off the key before sending it, so what comes back (echoed by
    # the vendor or quoted by httpx2) is the stripped form: scrub that too, longest first.
    forms = sorted({form for s in secrets for form in (s, s.strip())}, key=len, reverse=True)

    def clean(text: str) -> str:
        text = _KEY_IN_QUERY.sub(r"\1***", text)
        for secret in forms:
            if len(secret) >= _MIN_SECRET_LENGTH:
                text = text.replace(secret, "***")
        return text

    error.message = clean(error.message)
    error.args = (error.message,)
    error.details = {k: clean(v) if isinstance(v, str) else v for k, v in error.details.items()}
    return error

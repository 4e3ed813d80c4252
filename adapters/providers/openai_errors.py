"""Reading OpenAI's error answers: content-filter bodies and how long the vendor asks us to
wait (shared by the OpenAI and Azure adapters)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

_CONTENT_CODES = frozenset(
    {"moderation_blocked", "content_policy_violation", "contentfilter", "content_filter",
     "responsibleaipolicyviolation"}
)  # fmt: skip


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def content_block(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """``stage``/``categories``/``reason`` when the error body is a safety refusal, else None.

    OpenAI says ``moderation_blocked`` (with ``moderation_details``), DALL·E said
    ``content_policy_violation``, Azure says ``contentFilter`` or an ``innererror`` of
    ``ResponsibleAIPolicyViolation`` with per-category ``content_filter_results``.
    """
    inner = body.get("innererror") or body.get("inner_error") or {}
    inner = inner if isinstance(inner, dict) else {}
    codes = {str(body.get("code") or "").lower(), str(inner.get("code") or "").lower()}
    if not codes & _CONTENT_CODES:
        return None
    moderation = body.get("moderation_details") or {}
    stage = moderation.get("moderation_stage") if isinstance(moderation, dict) else None
    if stage is None and "generated image was filtered" in str(body.get("message") or "").lower():
        stage = "output"
    categories = list(moderation.get("categories") or []) if isinstance(moderation, dict) else []
    results = inner.get("content_filter_results") or inner.get("content_filter_result") or {}
    if not categories and isinstance(results, dict):
        categories = [name for name, r in results.items() if isinstance(r, dict) and r.get("filtered")]
    return {"stage": stage, "categories": categories or None, "reason": body.get("code") or inner.get("code")}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait after a 429, from :func:`server_retry_after` or else OpenAI's
    ``x-ratelimit-reset-requests`` duration (``1s``, ``6m0s``, ``20ms``)."""
    if (seconds := server_retry_after(headers)) is not None:
        return seconds
    reset = headers.get("x-ratelimit-reset-requests") or ""
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = _DURATION.findall(reset)
    return sum(float(n) * scale[unit] for n, unit in parts) if parts else None


def server_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date).

    Each header is read on its own, so a malformed one does not hide the next; values that are
    no delay (negative, ``inf``, ``nan``) count as absent, as the SDK treats them.
    """
    if (ms := _seconds(headers.get("retry-after-ms"))) is not None:
        return ms / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    if (seconds := _seconds(value)) is not None:
        return seconds
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, OverflowError):
        return None


def _seconds(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None

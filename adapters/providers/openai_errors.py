"""Reading OpenAI's error answers: content-filter bodies and how long the vendor asks us to
wait (shared by the OpenAI and Azure adapters)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.vendor_errors import retry_after_header

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
    if not categories:
        categories = filtered_categories(results)
    return {"stage": stage, "categories": categories or None, "reason": body.get("code") or inner.get("code")}


def filtered_categories(results: object) -> list[str]:
    """The categories an Azure ``*_filter_results`` object marks ``filtered``."""
    if not isinstance(results, dict):
        return []
    return [name for name, r in results.items() if isinstance(r, dict) and r.get("filtered")]


def item_block(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """``stage``/``categories``/``reason`` when an Azure data item of an HTTP 200 says its image
    was withheld: ``content_filter_results`` flag the output, ``prompt_filter_results`` the input."""
    for key, stage in (("content_filter_results", "output"), ("prompt_filter_results", "input")):
        if categories := filtered_categories(item.get(key)):
            return {"stage": stage, "categories": categories, "reason": "content_filter"}
    return None


_RESET_HEADERS = ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait after a 429, from the ``retry-after`` headers or else the later of
    OpenAI's two reset durations (``1s``, ``6m0s``, ``20ms``): a request is admitted again only
    when both the request and the token budgets have room, so the longer wait is the one that
    holds."""
    if (seconds := retry_after_header(headers)) is not None:
        return seconds
    waits = [
        sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
        for name in _RESET_HEADERS
        if (parts := _DURATION.findall(headers.get(name) or ""))
    ]
    return max(waits) if waits else None

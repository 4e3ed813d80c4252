"""Exceptions → the one public error shape, for MCP results and HTTP responses alike."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from domain.errors import AppError
from entrypoints.log_redaction import redact_value

log = logging.getLogger("image_gen_mcp")

HTTP_STATUS: dict[str, int] = {
    "invalid_request": 422,
    "unsupported_option": 422,
    "provider_not_configured": 409,
    "model_not_found": 404,
    "image_not_found": 404,
    "auth_failed": 502,
    "permission_denied": 502,
    "rate_limited": 429,
    "quota_exhausted": 402,
    "content_blocked": 422,
    "provider_unavailable": 503,
    "timeout": 504,
    "network_error": 502,
    "no_image": 502,
    "storage_failed": 507,
    "overloaded": 429,
    "backend_unavailable": 503,
    # Like quota_exhausted: a spending limit, lifted by money or time, not by retrying soon.
    "budget_exceeded": 402,
    "internal": 500,
    "request_timeout": 408,
    # Refusals of the HTTP entrypoint itself, before any use case runs.
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "misdirected_request": 421,
}


def validation_message(
    error: PydanticValidationError, subject: str = "arguments", root: str = "arguments"
) -> tuple[str, list[dict[str, Any]]]:
    """A short message and per-field problems, without echoing the input values (which may
    be megabytes of base64 or a secret). ``root`` names a problem of the whole input."""
    # The full path (images.0, not 0): FastMCP and pydantic models both start it with the
    # argument's own name.
    problems = [
        {"field": ".".join(str(p) for p in item["loc"]) or root, "problem": item["msg"]}
        for item in error.errors(include_input=False, include_url=False)
    ]
    text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
    hints = [_HINTS[p["field"]] for p in problems[:5] if p["field"] in _HINTS]
    return f"Invalid {subject}: {text}." + "".join(f" {h}" for h in hints), problems


# What a refused value should have been, where the enum alone does not say it.
_HINTS = {
    "size": "size is a tier, not pixels: S ≈ 1K, M ≈ 2K, L ≈ 4K on the long edge, mapped per "
    "model (get_model_capabilities lists each model's sizes); set the shape with orientation "
    "or aspect_ratio (e.g. size=S, aspect_ratio=16:9).",
}


def error_payload(exc: BaseException, *, local_paths: bool = False) -> dict[str, Any]:
    """``{code, message, details, retryable}`` for any exception; unexpected ones are logged
    with their traceback and masked as ``internal``. No configured secret survives in it, and
    no server folder (``details.root``) unless ``local_paths`` says the client is local."""
    payload = redact_value(_payload(exc))
    if not local_paths and isinstance(payload.get("details"), dict):
        payload["details"].pop("root", None)
    return payload


def _payload(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, AppError):
        return exc.to_payload()
    if isinstance(exc, PydanticValidationError):
        message, problems = validation_message(exc)
        return {
            "code": "invalid_request",
            "message": message,
            "details": {"problems": problems},
            "retryable": False,
        }
    log.error("unexpected error", exc_info=exc)
    return {
        "code": "internal",
        "message": "An unexpected error occurred on the server; it has been logged.",
        "details": {},
        "retryable": False,
    }

"""Our coded errors in OpenAI's envelope, for the gateway under ``/openai/v1``.

OpenAI SDKs pick their exception class from the HTTP status alone (400 ``BadRequestError``,
401, 403, 404, 409, 422, 429 ``RateLimitError``, 5xx ``InternalServerError``), and read
``{"error": {"message", "type", "param", "code"}}`` from the body. Our stable code goes in
``code``, so a client can still tell ``content_blocked`` from ``unsupported_option``.
"""

from __future__ import annotations

from typing import Any

from entrypoints.mcp.error_payload import HTTP_STATUS

OPENAI_PREFIX = "/openai/v1"

# Where OpenAI's own status differs from the native REST API's: a bad parameter is 400 there
# (clients catch BadRequestError for it) and an exhausted quota a 429. The rest keep the
# native status: a refused prompt stays 422 (UnprocessableEntityError, code content_blocked),
# a vendor that rejected our key 502, an unconfigured provider 409.
OPENAI_STATUS: dict[str, int] = {
    "invalid_request": 400,
    "unsupported_option": 400,
    "quota_exhausted": 429,
    # OpenAI answers its own spending limits (insufficient_quota) with 429: clients handle it there.
    "budget_exceeded": 429,
}

_TYPES: dict[int, str] = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
}


def openai_status(code: str) -> int:
    """The HTTP status the gateway answers ``code`` with."""
    return OPENAI_STATUS.get(code) or HTTP_STATUS.get(code, 500)


def error_type(status: int) -> str:
    """OpenAI's ``error.type`` for a status: ``invalid_request_error`` for the other 4xx."""
    if status >= 500:
        return "server_error"
    return _TYPES.get(status, "invalid_request_error")


def _param(payload: dict[str, Any]) -> str | None:
    """The request field at fault: the option the error names, else the first invalid field."""
    details = payload["details"]
    option = details.get("option")
    if isinstance(option, str):
        return option
    problems = details.get("problems") or []
    if problems and isinstance(problems[0], dict):
        field = str(problems[0].get("field", ""))
        return field.removeprefix("body.") or None
    return None


def openai_envelope(payload: dict[str, Any], status: int | None = None) -> tuple[dict[str, Any], int]:
    """``(body, status)`` for one coded ``payload`` (already redacted). ``details`` ride along
    inside ``error``: OpenAI SDKs keep unknown keys and ignore them."""
    status = status or openai_status(payload["code"])
    error: dict[str, Any] = {
        "message": payload["message"],
        "type": error_type(status),
        "param": _param(payload),
        "code": payload["code"],
    }
    if payload["details"]:
        error["details"] = payload["details"]
    return {"error": error}, status


def should_retry(payload: dict[str, Any]) -> str:
    """``x-should-retry``: OpenAI SDKs obey it over their own rule (which retries every 409,
    429 and 5xx), so an exhausted quota or an unconfigured provider is not retried in vain."""
    return "true" if payload["retryable"] else "false"

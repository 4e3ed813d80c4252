"""One error hierarchy with stable snake_case codes.

Every failure a user can see is an :class:`AppError`. Adapters translate vendor and I/O
exceptions into these at their boundary, so no SDK type ever crosses a port, and the
entrypoints serialize them with one function.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every expected failure: a stable ``code``, a readable ``message``, ``details``.

    ``details`` holds small JSON-safe facts (provider, HTTP status, request id, retry_after,
    the variable to set) and never secrets or image payloads. ``retryable`` tells a client
    whether the same call may succeed later without any change.
    """

    code: ClassVar[str] = "internal"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def to_payload(self) -> dict[str, Any]:
        """The public ``{code, message, details, retryable}`` shape."""
        return {
            "code": self.code,
            "message": self.message,
            "details": dict(self.details),
            "retryable": self.retryable,
        }


class InvalidRequest(AppError, ValueError):
    """The arguments break a rule (bad value, too large, malformed image, path outside root)."""

    code = "invalid_request"


class UnsupportedOption(InvalidRequest):
    """The chosen model cannot honour an option; the message says which and what would work."""

    code = "unsupported_option"


class ProviderNotConfigured(AppError):
    """The provider is known but its credentials are missing; ``details.missing`` names them."""

    code = "provider_not_configured"


class ModelNotFound(AppError):
    """The provider does not serve the model (or it was retired); names a replacement if known."""

    code = "model_not_found"


class ImageNotFound(AppError):
    """No stored image has the given id."""

    code = "image_not_found"


class AuthFailed(AppError):
    """The vendor rejected the credentials."""

    code = "auth_failed"


class PermissionDenied(AppError):
    """The credentials are valid but not allowed to use this model or resource."""

    code = "permission_denied"


class RateLimited(AppError):
    """The vendor asked us to slow down; ``details.retry_after`` is in seconds when known."""

    code = "rate_limited"
    retryable = True


class QuotaExhausted(AppError):
    """The account has no quota or credit left; retrying will not help until it is topped up."""

    code = "quota_exhausted"


class ContentBlocked(AppError):
    """The vendor's safety system refused the prompt or the output; ``details.reason`` says why."""

    code = "content_blocked"


class ProviderUnavailable(AppError):
    """The vendor failed on its side (5xx, overloaded)."""

    code = "provider_unavailable"
    retryable = True


class ProviderTimeout(AppError):
    """The vendor did not answer within the deadline."""

    code = "timeout"
    retryable = True


class InputTimeout(AppError):
    """Reading and checking a call's input images did not finish within its deadline."""

    code = "timeout"
    retryable = True


class NetworkError(AppError):
    """The vendor could not be reached (DNS, connection refused, TLS)."""

    code = "network_error"
    retryable = True


class NoImage(AppError):
    """The vendor answered without any image and gave no reason."""

    code = "no_image"


class StorageFailed(AppError):
    """The image could not be saved (disk full, permission denied)."""

    code = "storage_failed"


class Overloaded(AppError):
    """Too many generations are already in flight on this server."""

    code = "overloaded"
    retryable = True


class BackendUnavailable(AppError):
    """A shared engine this server depends on (Redis, for the cluster-wide limits and the
    background tasks) could not be reached or refused us. ``details.engine`` names it; never its
    address or credentials."""

    code = "backend_unavailable"
    retryable = True


class BudgetExceeded(AppError):
    """The call would cost more than the operator allows, per call or per tenant per UTC day;
    refused before any vendor is called. ``details`` has the ``estimate_usd``, the ``limit_usd``
    and, for the daily budget, ``spent_usd`` and ``retry_after`` (seconds to 00:00 UTC)."""

    code = "budget_exceeded"


class InternalError(AppError):
    """An unexpected failure; details are logged on the server, never returned."""

    code = "internal"


ERROR_CODES: tuple[str, ...] = tuple(
    cls.code
    for cls in (
        InvalidRequest,
        UnsupportedOption,
        ProviderNotConfigured,
        ModelNotFound,
        ImageNotFound,
        AuthFailed,
        PermissionDenied,
        RateLimited,
        QuotaExhausted,
        ContentBlocked,
        ProviderUnavailable,
        ProviderTimeout,
        NetworkError,
        NoImage,
        StorageFailed,
        Overloaded,
        BackendUnavailable,
        BudgetExceeded,
        InternalError,
    )
)

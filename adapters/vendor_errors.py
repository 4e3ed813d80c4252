"""Error helpers shared by the vendor adapters."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

from domain.catalog import ModelSpec
from domain.errors import ModelNotFound, ProviderUnavailable
from domain.options import ModelStatus


def model_not_found(spec: ModelSpec, vendor: str, said: str, hint: str = "", **details: Any) -> ModelNotFound:
    """A vendor's "no such model" answer. When the catalog knows the model was retired (or is
    legacy), the message and ``details.replacement`` name what to use instead."""
    details = {"model": spec.model, **details}
    if spec.replacement and not spec.known:  # an id of a line the catalog knows, newer or older
        return ModelNotFound(
            f"{vendor} does not serve {spec.model}: {said.rstrip('.')}{hint}. The closest catalogued model "
            f"is {spec.replacement} (see get_model_capabilities).",
            replacement=spec.replacement,
            **details,
        )
    if spec.replacement and spec.status is not ModelStatus.CURRENT:
        when = f" on {spec.retired_on.isoformat()}" if spec.retired_on else ""
        state = f"was retired{when}" if spec.status is ModelStatus.RETIRED else "is legacy"
        text = f"{vendor} no longer serves {spec.model}, which {state}; use {spec.replacement} instead."
        return ModelNotFound(
            f"{text} ({said}){hint}",
            replacement=spec.replacement,
            retired_on=spec.retired_on.isoformat() if spec.retired_on else None,
            **details,
        )
    return ModelNotFound(
        f"{vendor} does not serve {spec.model}: {said}{hint} (see get_model_capabilities)",
        **details,
    )


log = logging.getLogger(__name__)

# What parsing a malformed vendor body raises (an unexpected type, a missing field, bad JSON).
MALFORMED = (AttributeError, KeyError, IndexError, TypeError, ValueError)


def malformed_answer(vendor: str, exc: BaseException, **details: Any) -> ProviderUnavailable:
    """A vendor answer we cannot read: logged (without the body) and reported as a vendor-side
    failure, retryable since a second answer may well be sound."""
    log.warning("%s sent a malformed answer (%s)", vendor, type(exc).__name__)
    return ProviderUnavailable(
        f"{vendor} sent an answer that could not be read ({type(exc).__name__}).",
        reason="malformed_response",
        **details,
    )


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date).

    Each header is read on its own, so a malformed one does not hide the next; values that are
    no delay (negative, ``inf``, ``nan``) count as absent, as the vendor SDKs treat them.
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

"""Error helpers shared by the vendor adapters."""

from __future__ import annotations

import logging
from typing import Any

from domain.catalog import ModelSpec
from domain.errors import ModelNotFound, ProviderUnavailable
from domain.options import ModelStatus


def model_not_found(spec: ModelSpec, vendor: str, said: str, hint: str = "", **details: Any) -> ModelNotFound:
    """A vendor's "no such model" answer. When the catalog knows the model was retired (or is
    legacy), the message and ``details.replacement`` name what to use instead."""
    details = {"model": spec.model, **details}
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

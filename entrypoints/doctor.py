"""``image-gen-mcp check``: are the enabled vendors reachable with the configured credentials?

The settings are validated first (by :func:`entrypoints.cli.load_settings`); then each enabled
vendor gets one cheap authenticated request (``ImageProvider.probe``: a model or key listing,
never a paid generation) under a short deadline, all at once. The answer is a table on stdout
and an exit status: 0 when every vendor answered, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from application.ports import ImageProvider
from domain.errors import AppError, ProviderTimeout
from entrypoints.container import build_container, shutdown
from entrypoints.log_redaction import redact
from entrypoints.settings import Settings

CHECK_TIMEOUT_S = 10.0

# What to do about each code, for a person reading the table.
_HINTS = {
    "auth_failed": "check the key or token",
    "permission_denied": "the key works but lacks access: check the account or project",
    "network_error": "check the address, the network or the proxy",
    "timeout": "the vendor did not answer in time: check the address or the network",
    "provider_unavailable": "the vendor failed or the base URL is not its API: check the address",
    "rate_limited": "the key works; the vendor is rate limiting right now",
    "quota_exhausted": "the key works; its quota or credit is used up",
    "provider_not_configured": "a variable is missing or unusable",
}


async def probe_all(providers: dict[str, ImageProvider], timeout_s: float) -> dict[str, AppError | None]:
    """Each provider's probe outcome: None when it answered, else the coded error."""

    async def one(provider: ImageProvider) -> AppError | None:
        try:
            await asyncio.wait_for(provider.probe(), timeout_s)
        except TimeoutError:
            return ProviderTimeout(f"No answer within {timeout_s:g} s.", provider=provider.provider_id)
        except AppError as exc:
            return exc
        return None

    outcomes = await asyncio.gather(*(one(p) for p in providers.values()))
    return dict(zip(providers, outcomes, strict=True))


def render_table(outcomes: dict[str, AppError | None], off: dict[str, tuple[str, ...]]) -> str:
    """One row per vendor: ok, the coded error with its hint, or off with what it needs."""
    rows = [("vendor", "result")]
    for provider_id, error in outcomes.items():
        if error is None:
            rows.append((provider_id, "ok"))
        else:
            rows.append((provider_id, f"{error.code}: {error.message}{_hint(error)}"))
    for provider_id, missing in off.items():
        rows.append((provider_id, f"off (set {' and '.join(missing)})" if missing else "off"))
    width = max(len(vendor) for vendor, _ in rows)
    return "\n".join(f"{vendor.ljust(width)}  {result}" for vendor, result in rows)


def _hint(error: AppError) -> str:
    """What to do, naming the variable the error points at when the message does not."""
    hint = _HINTS.get(error.code, "")
    variable = error.details.get("setting") or error.details.get("variable")
    if isinstance(variable, str) and variable not in error.message:
        hint = f"{hint} ({variable})" if hint else variable
    return f" → {hint}" if hint else ""


def run_check(settings: Settings, out: TextIO | None = None) -> int:
    """Probe every enabled vendor, print the table, and return the exit status."""
    out = out or sys.stdout
    # Short deadlines for the SDK clients too, so a vendor that is down does not hold the check.
    deadline = min(settings.request_timeout_s, CHECK_TIMEOUT_S)
    quick = settings.model_copy(update={"request_timeout_s": deadline})
    container = build_container(quick)
    registry = container.registry()

    async def main() -> dict[str, AppError | None]:
        try:
            return await probe_all(dict(registry.enabled), CHECK_TIMEOUT_S)
        finally:
            await shutdown(container)

    outcomes = asyncio.run(main())
    off = {pid: entry.missing for pid, entry in registry.disabled.items()}
    # Vendor messages may echo a key: the table goes through the same scrubber as the logs.
    print(redact(render_table(outcomes, off)), file=out)
    return 0 if all(error is None for error in outcomes.values()) else 1

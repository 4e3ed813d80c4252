"""The process-wide set of secret values (configured keys, tokens obtained at run time), and the
two operations every layer needs on text that may carry one: redact, and redact-then-shorten.

It lives in the domain so that adapters can register the access tokens they obtain (Vertex
OAuth, Azure Entra ID) and shorten vendor messages safely; the log filter and the error
payloads in ``entrypoints`` use the same set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

MASK = "[REDACTED]"
# Shorter values are not credentials, and masking them would mangle ordinary text.
MIN_SECRET_CHARS = 6
# Runtime tokens are re-issued about hourly: keep the latest ones only, so a long-running
# server does not grow without limit (the oldest expired long before this many were issued).
# Configured secrets are never dropped.
_MAX_RUNTIME_TOKENS = 1024

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_configured: set[str] = set()
_order: list[str] = []  # runtime tokens, oldest first


def register_secrets(values: Iterable[str], *, runtime: bool = False) -> None:
    """Mask these values from now on (longest first, so overlapping values mask fully).
    ``runtime`` marks access tokens obtained while running (kept in a bounded window)."""
    global _secrets
    new = [v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS]
    with _lock:
        known = set(_secrets)
        added = [v for v in dict.fromkeys(new) if v not in known]
        if not added:
            return
        if runtime:
            _order.extend(added)
            del _order[:-_MAX_RUNTIME_TOKENS]
        else:
            _configured.update(added)
        _secrets = tuple(sorted(_configured | set(_order), key=len, reverse=True))


def registered_secrets() -> tuple[str, ...]:
    return _secrets


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[REDACTED]``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``, secrets removed *before* the cut: cutting first
    could leave a key's prefix that no later redaction recognises."""
    return redact(text)[:limit]

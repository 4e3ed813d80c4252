"""Keep configured secrets (API keys, bearer tokens) out of log lines and error payloads.

Adapters are written never to put a key into a message, but an SDK exception text, a vendor's
error body or a traceback can still carry one. This is the safety net: every configured secret
is replaced by ``[REDACTED]`` in each log record (message, arguments, traceback) and in every
error payload before it leaves the server.

The set of secrets is process-wide, like logging itself, and kept in ``domain.secrets`` so that
adapters can add the access tokens they obtain at run time. ``build_container`` registers the
secrets of its settings and installs the filter, so every start path (the console script,
``fastmcp run …:create_server``, the HTTP app) has it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from domain.secrets import MASK, redact, register_secrets, registered_secrets

__all__ = ["MASK", "RedactSecrets", "install_redaction", "redact", "redact_value", "register_secrets"]
_lock = threading.Lock()


def redact_value(value: Any) -> Any:
    """Redact strings inside JSON-like data (dicts, lists, tuples), leaving the rest as is."""
    if not registered_secrets():
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a broken format string: keep the raw parts, masked
        return f"{record.msg} {record.args}"


def _mask_in_place(record: logging.LogRecord) -> bool:
    """Mask the format string and string arguments, keeping ``args`` a tuple or mapping:
    formatters such as uvicorn's access log unpack them. False if a secret survives (inside a
    non-string argument, say)."""
    if not isinstance(record.msg, str):
        return False
    original = record.msg, record.args
    args = record.args
    if isinstance(args, tuple):
        args = tuple(redact(a) if isinstance(a, str) else a for a in args)
    elif isinstance(args, dict):
        args = {k: redact(v) if isinstance(v, str) else v for k, v in args.items()}
    record.msg, record.args = redact(record.msg), args
    message = _message(record)
    if redact(message) != message:
        record.msg, record.args = original
        return False
    return True


class RedactSecrets(logging.Filter):
    """Rewrites a record in place so no registered secret survives in its text.

    Secrets are masked in the format string and in string arguments, so the record keeps its
    shape; when a secret hides elsewhere (a non-string argument), the record is left with the
    masked text only. A traceback holding a secret is replaced by its masked rendering. Either
    way no later formatter can render the original.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not registered_secrets():
            return True
        message = _message(record)
        redacted = redact(message)
        if redacted != message and not _mask_in_place(record):
            record.msg, record.args = redacted, None
        if record.exc_info:
            rendered = record.exc_text or self._formatter.formatException(record.exc_info)
            masked = redact(rendered)
            if masked != rendered:
                # The exception object itself still holds the secret: drop it, keep the text.
                record.exc_text, record.exc_info = masked, None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactSecrets()
_installed = False


def install_redaction() -> RedactSecrets:
    """Mask secrets in every log record of the process, whichever logger or handler emits it.

    Wrapping the record factory catches records of loggers with their own handlers (uvicorn,
    fastmcp) as well; the filter is also put on the root handlers for records made elsewhere.
    Idempotent.
    """
    global _installed
    with _lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                _FILTER.filter(record)
                return record

            logging.setLogRecordFactory(make_record)
            _installed = True
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER

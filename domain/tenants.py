"""Tenant names: who owns an image when several bearer tokens share one server.

The unnamed tenant (``""``) is the single local user: stdio, and HTTP tokens given without a
name. Every other tenant has a strictly checked name, because the name becomes a folder (or an
object-key prefix) in every store.
"""

from __future__ import annotations

import re

from domain.errors import InvalidRequest

UNNAMED = ""
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def checked_tenant(name: str) -> str:
    """``name`` when it is ``""`` or matches :data:`TENANT_NAME`; otherwise InvalidRequest.
    The bad value is not echoed: it may be a mistyped token."""
    if name == UNNAMED or TENANT_NAME.fullmatch(name):
        return name
    raise InvalidRequest(
        "A tenant name must be 1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit."
    )

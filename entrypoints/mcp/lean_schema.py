"""Tool schemas an agent can afford: ``tools/list`` is loaded into every conversation.

Pydantic writes an optional ``X | None = None`` parameter as ``anyOf: [X, {type: null}]`` with
``default: null`` and a ``title``; all three say nothing an agent needs (a parameter left out
of ``required`` is optional). ``lean_schema`` keeps every name, type, enum and bound and drops
that repetition. Only the advertised schema changes: arguments are still validated by the
tool's signature, so a client that sends ``null`` for an option keeps working.
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}


def lean_schema(schema: Any) -> Any:
    """``schema`` without titles, null branches and ``default: null``."""
    if isinstance(schema, list):
        return [lean_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        out[key] = value if key == "enum" else lean_schema(value)
    branches = out.get("anyOf")
    if isinstance(branches, list) and _NULL in branches:
        rest = [b for b in branches if b != _NULL]
        if len(rest) == 1 and isinstance(rest[0], dict):
            del out["anyOf"]
            # The outer description (the parameter's) wins over the type's own.
            out = {**rest[0], **out}
    return out


# structuredContent of generate_image/edit_image: the main top-level keys and their types only
# (the record fields are in the README; the full schema cost every conversation ~3,500
# characters per tool). Extra keys stay allowed.
IMAGE_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "provider": {"type": "string"},
        "model": {"type": "string"},
        "images": {"type": "array"},
        "warnings": {"type": "array"},
        "code": {"type": "string"},
    },
    "required": ["ok"],
}

CAPABILITIES_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "providers": {"type": "array"}, "code": {"type": "string"}},
    "required": ["ok"],
}

"""The advertised tool schemas are pinned: a change to names, types, enums, bounds or required
fields must be deliberate. Descriptions are left out (they list catalog models and evolve).

Regenerate after an intended change with ``UPDATE_SNAPSHOTS=1 uv run pytest tests/integration/test_schema_snapshot.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastmcp import Client

from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

SNAPSHOT = Path(__file__).parent / "snapshots" / "tool_schemas.json"


def _shape(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in sorted(schema.items()) if k not in ("description", "title")}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


async def test_tool_schemas_match_the_snapshot(output_root: Path) -> None:
    settings = make_settings(output_root, IMAGE_GEN_MCP_FAKE_PROVIDER=False)
    async with Client(build_mcp_server(build_container(settings))) as client:
        tools = await client.list_tools()
    current = {
        t.name: {
            "input": _shape(t.input_schema),
            "output": _shape(t.output_schema),
            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
        }
        for t in tools
    }
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())

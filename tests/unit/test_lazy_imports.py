"""Start-up stays fast: no vendor SDK and no Pillow imported, and the collector paused while
the server is built. MCP hosts spawn the server on every session.

The import checks run in a fresh interpreter (this test process has long since imported everything)
that imports the console script's module, builds the server exactly as the stdio entrypoint
does, lists the tools through an in-memory client, and reports which heavy packages it loaded.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Each of these costs 20-700 ms to import; none is needed before a tool actually runs.
HEAVY = ("openai", "google.genai", "google.auth", "PIL", "redis", "obstore", "deflate", "pyspng", "numpy")

# Values that enable every vendor without reaching one: configured vendors must stay lazy too.
EVERY_VENDOR = {
    "OPENAI_API_KEY": "sk-test",
    "AZURE_OPENAI_API_KEY": "test",
    "AZURE_OPENAI_ENDPOINT": "https://test.openai.azure.com",
    "GEMINI_API_KEY": "test",
    "VERTEX_PROJECT": "test-project",
    "OPENROUTER_API_KEY": "sk-or-test",
}

PROBE = """
import asyncio, json, sys

import entrypoints.cli  # the console script's module, as `image-gen-mcp` imports it
from entrypoints.settings import Settings
from entrypoints.stdio.server import build_stdio_server

server = build_stdio_server(Settings(_env_file=None))


async def list_tools():
    from fastmcp import Client

    async with Client(server) as client:
        return [tool.name for tool in await client.list_tools()]


tools = asyncio.run(list_tools())
loaded = [name for name in {heavy!r} if name in sys.modules]
import PIL.Image  # positive control: the same check must see a module once it is imported

control = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"tools": tools, "loaded": loaded, "control": control}}))
"""


def start_up(tmp_path: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """Run the start-up path in a fresh interpreter; the tools it lists and the heavy modules loaded."""
    code = PROBE.format(heavy=HEAVY)
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "IMAGE_GEN_MCP_OUTPUT_DIR": str(tmp_path / "out"),
    }
    proc = subprocess.run(  # noqa: S603 -- this interpreter and our own fixed probe code
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no .env file is read
        env={**base, **env},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# The MCP background-task runtime (Docket, on redis-py) starts with the server, in memory when no
# Redis is configured; IMAGE_GEN_MCP_TASKS=false leaves it, and redis-py, out.
NO_TASKS = {"IMAGE_GEN_MCP_TASKS": "false"}


@pytest.mark.parametrize(
    "env", [{}, EVERY_VENDOR, NO_TASKS], ids=["no keys", "every vendor configured", "tasks off"]
)
def test_start_up_imports_no_vendor_sdk_or_pillow(tmp_path: Path, env: dict[str, str]) -> None:
    report = start_up(tmp_path, env)
    assert report["tools"] == ["generate_image", "edit_image", "get_model_capabilities"]
    loaded = report["loaded"] if env is NO_TASKS else [m for m in report["loaded"] if m != "redis"]
    assert loaded == [], f"imported at start-up: {report['loaded']}"
    assert "PIL" in report["control"]  # the check sees an import when there is one


def test_start_up_pauses_the_collector_then_freezes_what_it_built() -> None:
    from entrypoints.stdio.server import start_up_heap

    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        with start_up_heap():
            assert not gc.isenabled()
            built = [[i] for i in range(1000)]  # long-lived start-up objects
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(built)
    finally:
        gc.unfreeze()  # this test process keeps collecting as before


def test_start_up_leaves_a_disabled_collector_disabled() -> None:
    from entrypoints.stdio.server import start_up_heap

    gc.disable()
    try:
        with start_up_heap():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


FAST_PATH_PROBE = """
import json, sys
from pathlib import Path

import entrypoints.cli
from entrypoints.cli import load_settings
from entrypoints.stdio.listing_cache import ListingCache
from entrypoints.stdio.relay import StdioRelay

settings = load_settings()
ListingCache.open(Path(sys.argv[1]), settings)
framework = [m for m in ("fastmcp", "mcp", "mcp_types", "starlette", "httpx") if m in sys.modules]
import fastmcp  # positive control

print(json.dumps({"framework": framework, "control": "fastmcp" in sys.modules}))
"""


def test_the_relay_answers_before_the_framework_is_imported(tmp_path: Path) -> None:
    # Everything the stdio relay needs to answer from the cache (settings, fingerprint, cache
    # file, relay) loads without the MCP framework, whose import is most of a cold start.
    proc = subprocess.run(  # noqa: S603 -- this interpreter and our own fixed probe code
        [sys.executable, "-c", FAST_PATH_PROBE, str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "IMAGE_GEN_MCP_OUTPUT_DIR": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"framework": [], "control": True}

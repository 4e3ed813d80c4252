"""Fast start, end to end: the console script spawned as a host spawns it, with a listing cache.

The first start records the opening answers; later starts serve them from the cache before the
MCP framework has loaded, and still check them against the server's own answers."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

INIT = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}


def script() -> str:
    found = shutil.which("image-gen-mcp", path=str(Path(sys.executable).parent))
    assert found, "the console script is installed in the project environment"
    return found


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "IMAGE_GEN_MCP_OUTPUT_DIR": str(tmp_path / "out"),
        "IMAGE_GEN_MCP_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }


class RawSession:
    """A host speaking newline-delimited JSON-RPC to the spawned server."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 -- our own console script, fixed arguments
            [script()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, cwd=cwd,
        )  # fmt: skip
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, request_id: int, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})

    def receive(self, timeout: float = 30.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 1 << 20) if ready else b""
            assert chunk, "the server wrote nothing more"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code


@pytest.fixture
def raw_sessions(tmp_path: Path) -> Iterator[list[RawSession]]:
    sessions: list[RawSession] = []
    yield sessions
    for session in sessions:
        if session.proc.poll() is None:
            session.proc.kill()
            session.proc.wait()


def open_legacy(session: RawSession) -> tuple[dict[str, Any], dict[str, Any]]:
    session.request(1, "initialize", INIT)
    init = session.receive()
    session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    session.request(2, "tools/list")
    return init, session.receive()


def cache_file(tmp_path: Path) -> Path:
    files = list((tmp_path / "cache").glob("*.json"))
    assert len(files) == 1, files
    return files[0]


async def test_second_start_serves_the_same_listings_and_still_calls_tools(tmp_path: Path) -> None:
    async def session() -> tuple[list[Any], dict[str, Any]]:
        transport = StdioTransport(command=script(), args=[], env=server_env(tmp_path), cwd=str(tmp_path))
        async with Client(transport) as client:
            tools = [t.model_dump() for t in await client.list_tools()]
            result = await client.call_tool("generate_image", {"prompt": "a cached fox"})
        return tools, result.structured_content

    first_tools, first_call = await session()
    recorded = json.loads(cache_file(tmp_path).read_text())["entries"]
    assert any(result.get("tools") for result in recorded.values())  # tools/list was recorded
    second_tools, second_call = await session()
    assert second_tools == first_tools
    assert first_call["ok"] and second_call["ok"]
    assert second_call["images"][0]["id"] != first_call["images"][0]["id"]


def test_a_stale_cache_is_corrected_and_the_host_told(tmp_path: Path, raw_sessions: list[RawSession]) -> None:
    first = RawSession(server_env(tmp_path), tmp_path)
    raw_sessions.append(first)
    _, real = open_legacy(first)
    assert first.close() == 0

    path = cache_file(tmp_path)
    data = json.loads(path.read_text())
    for result in data["entries"].values():
        if "tools" in result:
            result["tools"] = result["tools"][:1]  # as if a tool had been added since
    path.write_text(json.dumps(data))

    second = RawSession(server_env(tmp_path), tmp_path)
    raw_sessions.append(second)
    _, stale = open_legacy(second)
    assert [t["name"] for t in stale["result"]["tools"]] == ["generate_image"]
    assert second.receive() == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
    second.request(3, "tools/list")
    assert second.receive()["result"] == real["result"]
    assert second.close() == 0
    assert json.loads(path.read_text())["entries"] != data["entries"]


def test_the_modern_era_is_cached_too(tmp_path: Path, raw_sessions: list[RawSession]) -> None:
    meta = {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    }
    answers = []
    for _ in range(2):
        session = RawSession(server_env(tmp_path), tmp_path)
        raw_sessions.append(session)
        session.request(1, "server/discover", meta)
        session.request(2, "tools/list", meta)
        answers.append(
            sorted((m["id"], json.dumps(m["result"])) for m in (session.receive(), session.receive()))
        )
        session.request(3, "tools/call", {**meta, "name": "get_model_capabilities", "arguments": {}})
        assert session.receive()["result"]["structuredContent"]["ok"] is True
        assert session.close() == 0
    assert answers[0] == answers[1]
    assert len(json.loads(cache_file(tmp_path).read_text())["entries"]) == 2


def test_fast_start_can_be_turned_off(tmp_path: Path, raw_sessions: list[RawSession]) -> None:
    session = RawSession(server_env(tmp_path, IMAGE_GEN_MCP_FAST_START="false"), tmp_path)
    raw_sessions.append(session)
    _, tools = open_legacy(session)
    assert len(tools["result"]["tools"]) == 3
    assert session.close() == 0
    assert not (tmp_path / "cache").exists()


def test_a_host_that_hangs_up_at_once_gets_a_clean_exit(tmp_path: Path) -> None:
    for fast_start in ("true", "false"):
        proc = subprocess.run(  # noqa: S603 -- our own console script, fixed arguments
            [script()],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=server_env(tmp_path, IMAGE_GEN_MCP_FAST_START=fast_start),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert (proc.returncode, proc.stdout) == (0, b""), proc.stderr[-2000:]

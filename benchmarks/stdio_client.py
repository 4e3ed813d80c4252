"""A raw JSON-RPC client over stdio, as an MCP host drives a server it spawned.

No MCP library on this side: every byte the server writes is read and timed as is, so the
same client measures this server and the older one (on another fastmcp/mcp version) alike.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

LEGACY_VERSION = "2025-06-18"
MODERN_VERSION = "2026-07-28"
CLIENT_INFO = {"name": "image-gen-mcp-bench", "version": "1"}


def modern_meta() -> dict[str, Any]:
    """The per-request envelope of protocol 2026-07-28 (no initialize handshake)."""
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


class StdioSession:
    """One spawned server. ``open()`` performs the opening exchange; ``call()`` and
    ``call_many()`` send requests and return the raw response lines (``str``) by id."""

    def __init__(
        self, command: Sequence[str], env: Mapping[str, str], cwd: str | Path, era: str = "legacy"
    ) -> None:
        self.command = list(command)
        self.era = era
        self._ids = itertools.count(1)
        # Kept for the error message if the server dies; closed in close() / __exit__.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env=dict(env),
        )
        self._pending: dict[int, str] = {}

    def open(self) -> dict[str, Any]:
        """Legacy: initialize → notifications/initialized → tools/list. Modern: tools/list with the
        envelope. Returns the tools/list result."""
        if self.era == "legacy":
            init = self._request_line(
                "initialize",
                {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
            )
            if "result" not in json.loads(init):
                raise RuntimeError(f"initialize failed: {init[:300]}")
            self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        answer = json.loads(self._request_line("tools/list", {}))
        if not answer.get("result", {}).get("tools"):
            raise RuntimeError(f"no tool list in the answer: {str(answer)[:300]}")
        return answer["result"]

    def call(self, tool: str, arguments: dict[str, Any]) -> str:
        """One tools/call; the raw JSON-RPC response line."""
        return self.call_many(tool, [arguments])[0]

    def call_many(self, tool: str, arguments: Sequence[dict[str, Any]]) -> list[str]:
        """Send every call at once (the server runs them concurrently); responses in order."""
        ids = [self._send_request("tools/call", {"name": tool, "arguments": a}) for a in arguments]
        return [self._wait_for(i) for i in ids]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server has used so far: unlike wall time, barely moved
        by other processes competing for the machine."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """The server's memory high-water mark (VmHWM) so far."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def __enter__(self) -> StdioSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            if exc[0] is None:
                self.close()
            else:
                self.proc.kill()
                self.proc.wait()
                self._stderr.close()

    # -- wire ------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def _send_request(self, method: str, params: dict[str, Any]) -> int:
        request_id = next(self._ids)
        if self.era == "modern":
            params = {**params, "_meta": {**params.get("_meta", {}), **modern_meta()}}
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        return request_id

    def _request_line(self, method: str, params: dict[str, Any]) -> str:
        return self._wait_for(self._send_request(method, params))

    def _wait_for(self, request_id: int) -> str:
        assert self.proc.stdout is not None
        while request_id not in self._pending:
            line = self.proc.stdout.readline()
            if not line:
                self._stderr.seek(0)
                tail = self._stderr.read().decode(errors="replace")[-2000:]
                raise RuntimeError(
                    f"{self.command[0]} exited (code {self.proc.wait()}) before answering:\n{tail}"
                )
            text = line.decode()
            message = json.loads(text)
            if "id" in message and ("result" in message or "error" in message):
                self._pending[message["id"]] = text.rstrip("\n")
            # Notifications (progress, logs) and server requests are read and ignored.
        return self._pending.pop(request_id)


def time_to_tools_list(
    command: Sequence[str], era: str, env: Mapping[str, str], cwd: str | Path, timeout: float = 60.0
) -> tuple[float, float, float]:
    """Wall seconds from spawn to the tools/list answer and the server's CPU seconds by then;
    then wall seconds from spawn to the answer of a first tool call (get_model_capabilities,
    which reaches no vendor), sent as soon as the list has arrived, as a host would."""
    start = time.perf_counter()
    session = StdioSession(command, env, cwd, era)
    watchdog = threading.Timer(timeout, session.proc.kill)
    watchdog.start()
    try:
        with session:
            session.open()
            listed = time.perf_counter() - start
            cpu = session.cpu_seconds()
            answer = json.loads(session.call("get_model_capabilities", {}))
            if "result" not in answer:
                raise RuntimeError(f"the first call failed: {str(answer)[:300]}")
            return listed, cpu, time.perf_counter() - start
    finally:
        watchdog.cancel()


# Variables the server reads: a child started from the caller's own environment drops them.
SERVER_PREFIXES = (
    "IMAGE_GEN_MCP_", "OPENAI_", "AZURE_OPENAI_", "GEMINI_", "GOOGLE_", "VERTEX_", "OPENROUTER_",
)  # fmt: skip


def environ_without_server_settings() -> dict[str, str]:
    """This process's environment minus every variable the server reads (keys included)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SERVER_PREFIXES)}


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """PATH/HOME/LANG and glibc's malloc settings only: no vendor key or server setting leaks
    in from the caller's shell."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    # The allocator's own knobs pass, so that their effect can be measured.
    allocator = ("MALLOC_", "GLIBC_TUNABLES")
    env.update({name: value for name, value in os.environ.items() if name.startswith(allocator)})
    env.update(extra)
    return env

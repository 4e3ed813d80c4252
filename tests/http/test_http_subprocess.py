"""The console script served by uvicorn on a free loopback port, as README says to start it,
driven by fastmcp's HTTP client in both protocol eras and by plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from tests.http.helpers import TOKEN

MAX_BODY = 2 * 1024 * 1024
READY_WITHIN_S = 60.0  # a loaded 2-core machine may take long to import the stack


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx2.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"server not ready within {READY_WITHIN_S}s:\n{log.read_text()[-3000:]}")


@contextmanager
def console_server(workdir: Path, transport: str, **extra_env: str) -> Iterator[str]:
    """``image-gen-mcp --transport <transport>`` on a free port; always terminated."""
    script = shutil.which("image-gen-mcp", path=str(Path(sys.executable).parent))
    assert script, "the console script is installed in the project environment"
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "IMAGE_GEN_MCP_AUTH_TOKENS": TOKEN,
        "IMAGE_GEN_MCP_FAKE_PROVIDER": "true",
        "IMAGE_GEN_MCP_OUTPUT_DIR": str(workdir / "out"),
        "IMAGE_GEN_MCP_MAX_BODY_BYTES": str(MAX_BODY),
        "IMAGE_GEN_MCP_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    log = workdir / f"{transport}-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 -- our own console script, fixed arguments
            [script, "--transport", transport, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_ready(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("http-server"), "http") as url:
        yield url


@pytest.mark.parametrize(("mode", "era"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_mcp_tools_and_resources_in_both_eras(server: str, mode: str, era: str) -> None:
    async with Client(f"{server}/mcp", auth=TOKEN, mode=mode) as client:
        assert client.protocol_version == era
        tools = [t.name for t in await client.list_tools()]
        result = await client.call_tool("generate_image", {"prompt": "a harbour", "provider": "fake"})
        image = result.structured_content["images"][0]
        contents = await client.read_resource(image["uri"])
    assert tools == ["generate_image", "edit_image", "get_model_capabilities"]
    assert result.structured_content["ok"] is True
    assert contents[0].mime_type == image["media_type"]
    assert hashlib.sha256(base64.b64decode(contents[0].blob)).hexdigest() == image["sha256"]


async def test_rest_generate_then_fetch(server: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(base_url=server, headers=headers, timeout=30) as http:
        made = await http.post("/v1/images/generations", json={"prompt": "a kite", "provider": "fake"})
        image = made.json()["images"][0]
        fetched = await http.get(image["href"])
    assert made.status_code == 200
    assert fetched.headers["content-type"] == image["media_type"]
    assert hashlib.sha256(fetched.content).hexdigest() == image["sha256"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("token", [None, "not-the-token"])
async def test_mcp_without_the_token_is_refused(server: str, mode: str, token: str | None) -> None:
    with pytest.raises(MCPError, match="unauthorized"):
        async with Client(f"{server}/mcp", auth=token, mode=mode) as client:
            await client.list_tools()


async def test_unauthenticated_cross_origin_and_oversized_requests_are_refused(server: str) -> None:
    mcp_headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    good = {"Authorization": f"Bearer {TOKEN}", **mcp_headers}
    async with httpx2.AsyncClient(base_url=server, timeout=30) as http:
        anonymous = await http.post("/v1/images/generations", json={"prompt": "x"})
        wrong = await http.get("/v1/images", headers={"Authorization": "Bearer nope"})
        foreign = [
            await http.post(path, json={"prompt": "x"}, headers={**good, "Origin": "https://evil.example"})
            for path in ("/mcp", "/v1/images/generations")
        ]
        rebound = await http.get("/v1/images", headers={**good, "Host": "evil.example"})
        oversized = [
            await http.post(path, content=b"{" + b" " * MAX_BODY + b"}", headers=good)
            for path in ("/mcp", "/v1/images/edits")
        ]
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert [r.status_code for r in foreign] == [403, 403]
    assert rebound.status_code == 421
    assert [r.status_code for r in oversized] == [413, 413]
    assert oversized[0].json()["error"]["data"]["code"] == "payload_too_large"
    assert oversized[1].json()["code"] == "payload_too_large"


async def test_legacy_sse_transport(tmp_path: Path) -> None:
    with console_server(tmp_path, "sse") as url:
        async with Client(f"{url}/sse", auth=TOKEN) as client:
            result = await client.call_tool("generate_image", {"prompt": "old client", "provider": "fake"})
        async with httpx2.AsyncClient(base_url=url, timeout=30) as http:
            refused = await http.get("/sse")
    assert result.structured_content["ok"] is True
    assert refused.status_code == 401


def test_openai_sdk_against_the_served_gateway(server: str, tmp_path: Path) -> None:
    """The synchronous ``openai`` client, unchanged but for base_url and api_key, over real HTTP."""
    import openai

    client = openai.OpenAI(base_url=f"{server}/openai/v1", api_key=TOKEN, max_retries=0, timeout=30)
    made = client.images.generate(prompt="a harbour", model="fake/fake-image", n=2, size="1536x1024")
    png = base64.b64decode(made.data[0].b64_json or "")
    edited = client.images.edit(
        image=[("a.png", png, "image/png"), ("b.png", png, "image/png")],
        mask=("m.png", png, "image/png"),
        prompt="add boats",
        model="fake/fake-image",
        response_format="url",
    )
    fetched = httpx2.get(edited.data[0].url or "", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    models = [m.id for m in client.models.list()]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/openai/v1", api_key="nope", max_retries=0).models.list()
    with pytest.raises(openai.APIStatusError) as oversized:
        client.images.edit(image=("big.png", b"\x89PNG" + b"\0" * MAX_BODY, "image/png"), prompt="x")
    assert len(made.data) == 2 and made.size == "64x43"
    assert edited.model_extra is not None and edited.model_extra["image_gen"]["operation"] == "edit"
    assert fetched.status_code == 200 and fetched.content.startswith(b"\x89PNG")
    assert "fake/fake-image" in models
    assert oversized.value.status_code == 413 and oversized.value.code == "payload_too_large"

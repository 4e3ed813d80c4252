"""generate_image/edit_image through a real MCP client, the container built from settings, and
the official SDK talking HTTP to a loopback server that answers as OpenAI or Azure OpenAI."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import pytest
from fastmcp import Client
from PIL import Image

from entrypoints.container import build_container, shutdown
from entrypoints.mcp.server import build_mcp_server
from tests.adapters.openai_fake import FakeImagesAPI
from tests.conftest import make_settings

KEY = "sk-integration-0123456789abcdef"
AZURE_KEY = "azure-integration-0123456789"


class LoopbackVendor:
    """Serves a :class:`FakeImagesAPI` over real HTTP on 127.0.0.1 (a thread per request)."""

    def __init__(self, fake: FakeImagesAPI) -> None:
        self.fake = fake
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                url = f"http://{self.headers['host']}{self.path}"
                request = httpx2.Request("POST", url, headers=list(self.headers.items()), content=body)
                answer = vendor.fake.handler(request)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LoopbackVendor:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def openai_vendor() -> Iterator[LoopbackVendor]:
    with LoopbackVendor(FakeImagesAPI("openai", scale=1)) as vendor:
        yield vendor


@pytest.fixture
def azure_vendor() -> Iterator[LoopbackVendor]:
    with LoopbackVendor(
        FakeImagesAPI("azure", deployments={"corp-images": "gpt-image-1.5"}, scale=4)
    ) as vendor:
        yield vendor


def data_url(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def run_tool(settings, tool: str, arguments: dict):
    container = build_container(settings)
    try:
        async with Client(build_mcp_server(container)) as client:
            return await client.call_tool(tool, arguments, raise_on_error=False)
    finally:
        await shutdown(container)


async def test_generate_on_openai_end_to_end(output_root: Path, openai_vendor: LoopbackVendor) -> None:
    settings = make_settings(output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1")
    result = await run_tool(settings, "generate_image", {
        "prompt": "a lighthouse", "provider": "openai", "model": "gpt-image-2", "size": "M",
        "orientation": "portrait", "quality": "high", "background": "transparent", "negative_prompt": "fog",
    })  # fmt: skip
    data = result.structured_content
    assert data["ok"] is True and data["provider"] == "openai" and data["model"] == "gpt-image-2"
    image = data["images"][0]
    assert (image["width"], image["height"]) == (1536, 2304) and image["media_type"] == "image/png"
    assert Path(image["path"]).exists()
    assert (
        data["used"].items() >= {"size": "1536x2304", "quality": "high", "background": "transparent"}.items()
    )
    assert data["usage"]["total_tokens"] == 4210
    assert any(w["option"] == "negative_prompt" for w in data["warnings"])
    seen = openai_vendor.fake.last
    assert seen.path == "/v1/images/generations" and seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.json["prompt"].endswith("Avoid: fog") and "response_format" not in seen.json


async def test_edit_on_openai_with_a_black_and_white_mask(
    output_root: Path, openai_vendor: LoopbackVendor
) -> None:
    settings = make_settings(output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1")
    mask = Image.new("L", (300, 200), 0)
    mask.paste(255, (100, 50, 200, 150))
    result = await run_tool(settings, "edit_image", {
        "prompt": "add a boat", "provider": "openai", "model": "gpt-image-1.5", "orientation": "landscape",
        "images": [data_url(Image.new("RGB", (300, 200), "navy")), data_url(Image.new("RGB", (64, 64), "red"))],
        "mask": data_url(mask),
    })  # fmt: skip
    assert result.structured_content["ok"] is True, result.structured_content
    seen = openai_vendor.fake.last
    assert seen.path == "/v1/images/edits" and len(seen.parts("image[]")) == 2
    sent_mask = Image.open(io.BytesIO(seen.parts("mask")[0].data))
    assert sent_mask.size == (300, 200) and sent_mask.getpixel((150, 100))[3] == 0


async def test_generate_on_azure_end_to_end(output_root: Path, azure_vendor: LoopbackVendor) -> None:
    settings = make_settings(
        output_root, AZURE_OPENAI_ENDPOINT=azure_vendor.url, AZURE_OPENAI_API_KEY=AZURE_KEY,
        AZURE_OPENAI_DEPLOYMENTS="gpt-image-1.5=corp-images",
    )  # fmt: skip
    result = await run_tool(settings, "generate_image", {
        "prompt": "a lighthouse", "provider": "azure", "model": "gpt-image-1.5", "orientation": "landscape",
    })  # fmt: skip
    data = result.structured_content
    assert data["ok"] is True and data["used"]["deployment"] == "corp-images"
    seen = azure_vendor.fake.last
    assert seen.path == "/openai/deployments/corp-images/images/generations"
    assert seen.query == {"api-version": "2025-04-01-preview"} and seen.headers["api-key"] == AZURE_KEY


@pytest.mark.parametrize(
    ("kind", "model"), [("content_blocked", "gpt-image-1.5"), ("auth_failed", "gpt-image-1.5")]
)
async def test_vendor_failures_arrive_with_their_code(
    output_root: Path, openai_vendor: LoopbackVendor, kind: str, model: str
) -> None:
    openai_vendor.fake.fail_next(kind)
    settings = make_settings(output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1")
    result = await run_tool(settings, "generate_image", {"prompt": "x", "provider": "openai", "model": model})
    assert result.is_error and result.structured_content["code"] == kind
    assert result.structured_content["details"]["status"] in (400, 401)
    assert KEY not in str(result.structured_content) and KEY not in result.content[0].text


async def test_retired_model_names_its_replacement(output_root: Path, openai_vendor: LoopbackVendor) -> None:
    settings = make_settings(output_root, OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_vendor.url}/v1")
    result = await run_tool(
        settings, "generate_image", {"prompt": "x", "provider": "openai", "model": "dall-e-3"}
    )
    assert result.structured_content["code"] == "model_not_found"
    assert "gpt-image-1.5" in result.structured_content["message"]
    assert openai_vendor.fake.last.json["model"] == "dall-e-3"  # sent, since a deployment may serve it

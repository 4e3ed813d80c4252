"""A REST client that hangs up mid-generation cancels the vendor calls and leaves no file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from entrypoints.container import build_container
from entrypoints.http.app import build_http_app
from tests.http.helpers import TOKEN, http_settings, lifespan


async def test_disconnect_cancels_the_generation(output_root: Path) -> None:
    container = build_container(http_settings(output_root, IMAGE_GEN_MCP_FAKE_LATENCY=5))
    app = build_http_app(container)
    fake = container.fake()
    body = json.dumps({"prompt": "x", "provider": "fake", "model": "fake-single", "n": 2}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/images/generations", "raw_path": b"/v1/images/generations",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), (b"authorization", f"Bearer {TOKEN}".encode()),
        ],
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    hung_up = asyncio.Event()

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await hung_up.wait()
        return {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async with lifespan(app):
        call = asyncio.create_task(app(scope, receive, send))
        for _ in range(200):  # until both vendor calls are in flight
            if len(fake.calls) == 2:
                break
            await asyncio.sleep(0.01)
        hung_up.set()
        await asyncio.wait_for(call, timeout=3)
    assert fake.cancelled == 2
    assert [p for p in output_root.rglob("*") if p.is_file()] == []

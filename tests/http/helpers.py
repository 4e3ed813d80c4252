"""Shared helpers of the HTTP tests: settings with a token, and an in-process client that runs
the app's lifespan (ASGITransport alone does not)."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx2
from openai import AsyncOpenAI
from starlette.applications import Starlette

from entrypoints.container import build_container
from entrypoints.http.app import build_http_app
from entrypoints.settings import Settings
from tests.conftest import make_settings

TOKEN = "tok-for-tests-0123456789"
OTHER_TOKEN = "another-token-0123456789"
BASE_URL = "http://127.0.0.1:8000"
GATEWAY = f"{BASE_URL}/openai/v1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def http_settings(output_root: Path, **values: Any) -> Settings:
    env: dict[str, Any] = {"IMAGE_GEN_MCP_AUTH_TOKENS": f"{OTHER_TOKEN}, {TOKEN}"}
    env.update(values)
    return make_settings(output_root, **env)


def make_app(output_root: Path, **values: Any) -> Starlette:
    return build_http_app(build_container(http_settings(output_root, **values)))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run ``app``'s lifespan in a task of its own: anyio's task groups must be left from the
    task that entered them, and pytest-asyncio tears fixtures down from another task."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    holder = asyncio.create_task(hold())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({holder, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if not started.is_set():
        waiter.cancel()
        holder.result()  # the start-up error
    try:
        yield
    finally:
        stop.set()
        await holder


@asynccontextmanager
async def serving(app: Starlette, headers: dict[str, str] | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client wired to ``app`` in process, with the lifespan running."""
    async with (
        lifespan(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app), base_url=BASE_URL, headers=headers or {}
        ) as client,
    ):
        yield client


@asynccontextmanager
async def sdk(
    app: Starlette, api_key: str = TOKEN, **options: Any
) -> AsyncIterator[tuple[AsyncOpenAI, httpx2.AsyncClient]]:
    """The OpenAI SDK pointed at the gateway of ``app`` in process (no retries unless asked),
    and a plain client with the token for the native routes."""
    options.setdefault("max_retries", 0)
    async with (
        lifespan(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app)) as transport_client,
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url=BASE_URL, headers=AUTH) as http,
    ):
        client = AsyncOpenAI(base_url=GATEWAY, api_key=api_key, http_client=transport_client, **options)
        yield client, http


def mcp_client_factory(app: Starlette) -> Any:
    """An httpx client factory for fastmcp's HTTP transport that talks to ``app`` in process."""

    def factory(**kwargs: Any) -> httpx2.AsyncClient:
        kwargs.setdefault("timeout", httpx2.Timeout(30.0))
        return httpx2.AsyncClient(transport=httpx2.ASGITransport(app), **kwargs)

    return factory


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: its size is about width*height*3 bytes."""
    from PIL import Image

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = BytesIO()
    image.save(out, format="PNG", compress_level=0)
    return out.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
